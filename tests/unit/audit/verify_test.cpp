// Store::verify(): an intact store verifies; each kind of tampering, done with a raw sqlite3
// connection (or the sqlite3 shell) after dropping the triggers, is found and the first
// broken record named.
#include <boost/test/unit_test.hpp>
#include <cstdlib>

#include "audit/audit.h"
#include "audit/detail/canonical.h"
#include "audit/detail/store_impl.h"
#include "unit/audit/audit_test_util.h"

namespace crible::audit {
namespace {

using test::open_store;
using test::Raw;
using test::sample_decision;
using test::sample_ruleset;
using test::sample_start;

// The store every test tampers with:
//   #1 ruleset 1, #2 run 1, #3..#7 decisions AVR100000..AVR100004 of run 1, #8 run_end 1,
//   #9 override of AVR100000, #10 run 2, #11..#13 decisions AVR100000..AVR100002, #14 run_end 2.
struct Tampered {
  test::TempDir tmp;
  std::string path = tmp.file("audit.sqlite");

  Tampered() {
    Store store = open_store(path);
    for (int r = 0; r < 2; ++r) {
      auto run = store.begin_run(sample_ruleset(), sample_start("fp-" + std::to_string(r)));
      BOOST_REQUIRE(run.ok());
      const uint64_t n = r == 0 ? 5 : 3;
      std::vector<DecisionRecord> batch;
      for (uint64_t i = 0; i < n; ++i) batch.push_back(sample_decision(i));
      BOOST_REQUIRE(store.append_decisions(*run, batch).ok());
      BOOST_REQUIRE(store.finish_run(*run, n, n, {}).ok());
      if (r == 0)
        BOOST_REQUIRE(store.add_override("AVR100000", *run, "ELIGIBLE", "A", "checked").ok());
    }
    Raw raw(path);
    BOOST_REQUIRE(raw.text("SELECT group_concat(kind, ' ') FROM (SELECT kind FROM " +
                           test::kChain + " ORDER BY seq)") ==
                  "ruleset run decision decision decision decision decision run_end override "
                  "run decision decision decision run_end");
  }

  VerifyReport verify() {
    Store store = open_store(path);
    auto v = store.verify();
    BOOST_REQUIRE_MESSAGE(v.ok(), (v.ok() ? "" : v.error().message));
    return *v;
  }

  void expect_broken(const std::string& first_broken) {
    const VerifyReport v = verify();
    BOOST_TEST(!v.intact);
    BOOST_TEST(v.first_broken == first_broken);
  }
};

// Recomputes the chain hashes from `from` on, as a forger who knows the algorithm would.
void rechain(Raw& raw, int64_t from) {
  detail::Sha256 sha;
  auto prev = detail::digest_from_hex(
      raw.text("SELECT hash FROM " + test::kChain + " WHERE seq = " + std::to_string(from - 1)));
  BOOST_REQUIRE(prev.has_value());
  const int64_t last = raw.integer("SELECT max(seq) FROM " + test::kChain);
  for (int64_t seq = from; seq <= last; ++seq) {
    const std::string kind =
        raw.text("SELECT kind FROM " + test::kChain + " WHERE seq = " + std::to_string(seq));
    const detail::Kind* k = nullptr;
    for (const detail::Kind* candidate : detail::kKinds)
      if (kind == candidate->name) k = candidate;
    BOOST_REQUIRE(k);
    sqlite3_stmt* st = nullptr;
    const std::string sql = std::string("SELECT ") + k->columns + " FROM " + k->table +
                            " WHERE seq = " + std::to_string(seq);
    BOOST_REQUIRE(sqlite3_prepare_v2(raw.get(), sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    BOOST_REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    detail::Canonical c;
    c.text(kind);
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      if (sqlite3_column_type(st, i) == SQLITE_INTEGER) {
        c.integer(sqlite3_column_int64(st, i));
      } else {
        c.text(reinterpret_cast<const char*>(sqlite3_column_text(st, i)));
      }
    }
    sqlite3_finalize(st);
    *prev = sha.chain(*prev, c.bytes());
    raw.exec(std::string("UPDATE ") + k->table + " SET hash = x'" + detail::to_hex(*prev) +
             "' WHERE seq = " + std::to_string(seq));
  }
}

BOOST_AUTO_TEST_SUITE(audit_verify)

BOOST_FIXTURE_TEST_CASE(an_intact_store_verifies, Tampered) {
  const VerifyReport v = verify();
  BOOST_TEST(v.intact, v.first_broken);
  BOOST_TEST(v.records == 14u);
  BOOST_TEST(v.warnings.empty());
  Raw raw(path);
  BOOST_TEST(v.head_hash == raw.text("SELECT lower(hex(hash)) FROM run_ends WHERE seq = 14"));
}

BOOST_FIXTURE_TEST_CASE(an_edited_disposition_is_found, Tampered) {
  {
    Raw raw(path);
    raw.drop_triggers();
    raw.exec("UPDATE decisions SET disposition = 'ELIGIBLE' WHERE seq = 6");
  }
  const VerifyReport v = verify();
  BOOST_TEST(!v.intact);
  BOOST_TEST(v.first_broken ==
             "record #6 (decision, run 1, case AVR100003): its content does not match its hash "
             "(edited, replaced or moved)");
  BOOST_TEST(v.records == 5u);
  BOOST_TEST(!v.warnings.empty());  // and it says the triggers were dropped
}

BOOST_FIXTURE_TEST_CASE(an_edit_with_the_sqlite3_shell_is_found, Tampered) {
  if (std::system("command -v sqlite3 >/dev/null 2>&1") != 0) {
    BOOST_TEST_MESSAGE("no sqlite3 shell on PATH; skipped");
    return;
  }
  const std::string cmd = "sqlite3 '" + path +
                          "' \"DROP TRIGGER overrides_no_update; "
                          "UPDATE overrides SET who = 'someone else' WHERE seq = 9;\"";
  BOOST_REQUIRE(std::system(cmd.c_str()) == 0);
  expect_broken(
      "record #9 (override, run 1, case AVR100000): its content does not match its hash "
      "(edited, replaced or moved)");
}

BOOST_FIXTURE_TEST_CASE(a_deleted_decision_leaves_a_gap, Tampered) {
  {
    Raw raw(path);
    raw.drop_triggers();
    raw.exec("DELETE FROM decisions WHERE seq = 5");
  }
  expect_broken("record #5 is missing: the chain goes from #4 to #6");
}

BOOST_FIXTURE_TEST_CASE(a_deleted_first_record_leaves_a_gap, Tampered) {
  {
    Raw raw(path);
    raw.drop_triggers();
    raw.exec("DELETE FROM rulesets WHERE seq = 1");
  }
  expect_broken("record #1 is missing: the chain goes from #0 to #2");
}

BOOST_FIXTURE_TEST_CASE(a_deleted_and_renumbered_record_breaks_the_next_hash, Tampered) {
  {
    Raw raw(path);
    raw.drop_triggers();
    raw.exec("DELETE FROM run_ends WHERE seq = 8");
    for (const char* t : {"overrides", "runs", "decisions", "run_ends"})
      raw.exec(std::string("UPDATE ") + t + " SET seq = seq - 1 WHERE seq > 8");
  }
  expect_broken(
      "record #8 (override, run 1, case AVR100000): its content does not match its hash "
      "(edited, replaced or moved)");
}

BOOST_FIXTURE_TEST_CASE(swapped_rows_are_found, Tampered) {
  {
    Raw raw(path);
    raw.drop_triggers();
    const char* cols =
        "input_index, case_key, disposition, disposition_rule, scores, fired, "
        "findings, detail_hash";
    raw.exec(std::string("CREATE TEMP TABLE a AS SELECT ") + cols +
             " FROM decisions WHERE seq = 4");
    raw.exec(std::string("CREATE TEMP TABLE b AS SELECT ") + cols +
             " FROM decisions WHERE seq = 5");
    raw.exec("UPDATE decisions SET input_index = -1 WHERE seq = 4");  // free the unique index
    raw.exec(
        "UPDATE decisions SET (input_index, case_key, disposition, disposition_rule, scores, "
        "fired, findings, detail_hash) = (SELECT * FROM a) WHERE seq = 5");
    raw.exec(
        "UPDATE decisions SET (input_index, case_key, disposition, disposition_rule, scores, "
        "fired, findings, detail_hash) = (SELECT * FROM b) WHERE seq = 4");
    raw.exec("CREATE TEMP TABLE da AS SELECT detail FROM decisions WHERE seq = 4");
    raw.exec(
        "UPDATE decisions SET detail = (SELECT detail FROM decisions WHERE seq = 5) "
        "WHERE seq = 4");
    raw.exec("UPDATE decisions SET detail = (SELECT detail FROM da) WHERE seq = 5");
    BOOST_REQUIRE(raw.text("SELECT case_key FROM decisions WHERE seq = 4") == "AVR100002");
  }
  expect_broken(
      "record #4 (decision, run 1, case AVR100002): its content does not match its hash "
      "(edited, replaced or moved)");
}

BOOST_FIXTURE_TEST_CASE(reordered_chain_hashes_are_found, Tampered) {
  {
    Raw raw(path);
    raw.drop_triggers();
    raw.exec("CREATE TEMP TABLE h AS SELECT seq, hash FROM decisions WHERE seq IN (11, 12)");
    raw.exec(
        "UPDATE decisions SET hash = (SELECT hash FROM h WHERE h.seq = 23 - decisions.seq) "
        "WHERE seq IN (11, 12)");
  }
  expect_broken(
      "record #11 (decision, run 2, case AVR100000): its content does not match its hash "
      "(edited, replaced or moved)");
}

BOOST_FIXTURE_TEST_CASE(a_changed_ruleset_text_is_found, Tampered) {
  {
    Raw raw(path);
    raw.drop_triggers();
    raw.exec("UPDATE rulesets SET source = replace(source, 'consent_signed', 'true')");
  }
  expect_broken(
      "record #1 (ruleset 1): its source text does not match its sha256 (the ruleset was "
      "changed)");
}

BOOST_FIXTURE_TEST_CASE(a_changed_ruleset_text_with_its_sha256_is_found, Tampered) {
  {
    Raw raw(path);
    raw.drop_triggers();
    const std::string source = "criterion E1 CONSENT: true\n";
    raw.exec("UPDATE rulesets SET source = '" + source + "', sha256 = '" + sha256_hex(source) +
             "'");
  }
  expect_broken(
      "record #1 (ruleset 1): its content does not match its hash (edited, replaced or moved)");
}

BOOST_FIXTURE_TEST_CASE(an_edited_detail_is_found, Tampered) {
  {
    Raw raw(path);
    raw.drop_triggers();
    raw.exec("UPDATE decisions SET detail = replace(detail, '+223', '+224') WHERE seq = 5");
  }
  expect_broken(
      "record #5 (decision, run 1, case AVR100002): its personal detail does not match its "
      "detail_hash (the detail was changed)");
}

BOOST_FIXTURE_TEST_CASE(a_detail_removed_without_erasure_is_found, Tampered) {
  {
    Raw raw(path);
    raw.drop_triggers();
    raw.exec("UPDATE decisions SET detail = NULL WHERE seq = 12");
  }
  expect_broken(
      "record #12 (decision, run 2, case AVR100001): its personal detail is missing and no "
      "erasure record covers it");
}

BOOST_FIXTURE_TEST_CASE(a_row_appended_by_hand_is_found, Tampered) {
  {
    Raw raw(path);
    raw.exec(
        "INSERT INTO decisions SELECT 15, run_id, 99, 'AVR999', disposition, "
        "disposition_rule, scores, fired, findings, detail_hash, hash, detail FROM decisions "
        "WHERE seq = 3");
  }
  expect_broken(
      "record #15 (decision, run 1, case AVR999): its content does not match its hash "
      "(edited, replaced or moved)");
}

BOOST_FIXTURE_TEST_CASE(a_row_slipped_between_records_is_found, Tampered) {
  {
    Raw raw(path);
    // An override with the seq of a decision: two records claim #5.
    raw.exec(
        "INSERT INTO overrides SELECT 5, 4, run_id, case_key, 'ELIGIBLE', previous, who, "
        "why, at, hash FROM overrides WHERE seq = 9");
  }
  expect_broken("record #5 appears twice: in table decisions and in table overrides");
}

BOOST_FIXTURE_TEST_CASE(a_row_numbered_before_the_chain_is_found, Tampered) {
  {
    Raw raw(path);
    raw.exec(
        "INSERT INTO overrides SELECT 0, 4, run_id, case_key, 'ELIGIBLE', previous, who, "
        "why, at, hash FROM overrides WHERE seq = 9");
  }
  expect_broken("table overrides holds a record numbered #0: the chain starts at #1");
}

BOOST_FIXTURE_TEST_CASE(a_row_with_a_malformed_hash_is_found, Tampered) {
  {
    Raw raw(path);
    raw.drop_triggers();
    raw.exec("UPDATE decisions SET hash = substr(hash, 2) WHERE seq = 4");  // 31 bytes
  }
  expect_broken(
      "record #4 (decision, run 1, case AVR100001): its content does not match its hash "
      "(edited, replaced or moved)");
}

BOOST_FIXTURE_TEST_CASE(a_rehashed_chain_is_caught_by_the_run_head_hash, Tampered) {
  {
    Raw raw(path);
    raw.drop_triggers();
    raw.exec("UPDATE decisions SET disposition = 'ELIGIBLE' WHERE seq = 6");
    rechain(raw, 6);
  }
  expect_broken(
      "record #8 (run_end, run 1): its head hash is not the hash of the record before it");
}

BOOST_FIXTURE_TEST_CASE(an_erasure_then_an_edit_of_its_list_is_found, Tampered) {
  {
    Store store = open_store(path);
    BOOST_REQUIRE(*store.erase("AVR100001", "D", "retention") == 2u);  // #4 and #12; erasure #15
    auto v = store.verify();
    BOOST_REQUIRE(v.ok());
    BOOST_TEST(v->intact, v->first_broken);
  }
  {
    Raw raw(path);
    raw.drop_triggers();
    // Erase another person's detail and slip that decision into the erasure's list.
    raw.exec("UPDATE decisions SET detail = NULL WHERE seq = 5");
    raw.exec("UPDATE erasures SET decisions = '[4,5,12]' WHERE seq = 15");
  }
  // The list no longer covers AVR100002 (its case is not the erasure's), and the edit is seen.
  expect_broken(
      "record #5 (decision, run 1, case AVR100002): its personal detail is missing and no "
      "erasure record covers it");
  {
    Raw raw(path);
    raw.exec("UPDATE erasures SET case_key = 'AVR100002' WHERE seq = 15");
    raw.exec("UPDATE decisions SET case_key = 'AVR100002' WHERE seq IN (4, 12)");
  }
  expect_broken(
      "record #4 (decision, run 1, case AVR100002): its content does not match its hash "
      "(edited, replaced or moved)");
}

BOOST_FIXTURE_TEST_CASE(an_erased_detail_put_back_is_found, Tampered) {
  const std::string detail = sample_decision(1).detail_json;
  {
    Store store = open_store(path);
    BOOST_REQUIRE(store.erase("AVR100001", "D", "retention").ok());
  }
  {
    Raw raw(path);
    raw.drop_triggers();
    raw.exec("UPDATE decisions SET detail = '" + detail + "' WHERE seq = 4");
  }
  expect_broken(
      "record #4 (decision, run 1, case AVR100001): its personal detail is present although "
      "erasure #15 erased it");
}

BOOST_FIXTURE_TEST_CASE(a_malformed_column_is_an_error_when_read, Tampered) {
  {
    Raw raw(path);
    raw.drop_triggers();
    raw.exec("UPDATE decisions SET findings = '[[\"E1\"' WHERE seq = 4");
  }
  {
    Store store = open_store(path);
    auto all = store.decisions(1);
    BOOST_REQUIRE(!all.ok());
    BOOST_TEST(all.error().message == "audit store " + path +
                                          ": decision #4 has a malformed findings column; run "
                                          "`crible audit verify`");
    BOOST_TEST(!store.decision("AVR100001", 1).ok());
    BOOST_TEST(store.decision("AVR100002", 1).ok());
  }
  expect_broken(
      "record #4 (decision, run 1, case AVR100001): its content does not match its hash "
      "(edited, replaced or moved)");
}

BOOST_FIXTURE_TEST_CASE(a_dropped_table_is_found, Tampered) {
  {
    Raw raw(path);
    raw.exec("DROP TABLE overrides");
  }
  const VerifyReport v = verify();
  BOOST_TEST(!v.intact);
  BOOST_TEST(v.first_broken.find("table overrides is missing or altered") == 0u, v.first_broken);
}

BOOST_FIXTURE_TEST_CASE(dropped_triggers_alone_are_a_warning, Tampered) {
  {
    Raw raw(path);
    raw.exec("DROP TRIGGER decisions_erase_only");
  }
  const VerifyReport v = verify();
  BOOST_TEST(v.intact, v.first_broken);
  BOOST_REQUIRE(v.warnings.size() == 1u);
  BOOST_TEST(v.warnings[0] ==
             "protective trigger decisions_erase_only is missing: the store was altered outside "
             "crible");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace crible::audit
