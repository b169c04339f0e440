// audit::Store: creating and reopening, schema versions, round trips of runs and decisions,
// overrides, erasure, resume, the append-only triggers and a second writer.
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <fstream>
#include <functional>

#include "audit/audit.h"
#include "unit/audit/audit_test_util.h"

namespace crible::audit {
namespace {

using test::FixedNow;
using test::open_store;
using test::Raw;
using test::sample_decision;
using test::sample_decisions;
using test::sample_ruleset;
using test::sample_start;
using test::TempDir;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// `result` is an Error whose message says `why`.
template <typename T>
void check_error(const Result<T>& result, const std::string& why) {
  BOOST_REQUIRE(!result.ok());
  BOOST_TEST(contains(result.error().message, why), result.error().message);
}

void check_same(const DecisionRecord& a, const DecisionRecord& b) {
  BOOST_TEST(a.input_index == b.input_index);
  BOOST_TEST(a.case_key == b.case_key);
  BOOST_TEST(a.disposition == b.disposition);
  BOOST_TEST(a.disposition_rule == b.disposition_rule);
  BOOST_TEST((a.scores == b.scores));
  BOOST_TEST(a.fired == b.fired);
  BOOST_REQUIRE(a.findings.size() == b.findings.size());
  for (size_t i = 0; i < a.findings.size(); ++i) {
    BOOST_TEST(a.findings[i].rule_id == b.findings[i].rule_id);
    BOOST_TEST(a.findings[i].name == b.findings[i].name);
    BOOST_TEST(a.findings[i].kind == b.findings[i].kind);
    BOOST_TEST(a.findings[i].outcome == b.findings[i].outcome);
    BOOST_TEST(a.findings[i].points == b.findings[i].points);
  }
  BOOST_TEST(a.outcomes == b.outcomes);
  BOOST_TEST(a.detail_json == b.detail_json);
}

// A complete run of `n` decisions; returns its id.
int64_t complete_run(Store& store, uint64_t n, const std::string& fingerprint = "fp-1",
                     const std::string& source = "criterion E1 CONSENT: consent_signed\n") {
  auto run = store.begin_run(sample_ruleset(source), sample_start(fingerprint));
  BOOST_REQUIRE(run.ok());
  std::vector<DecisionRecord> batch;
  for (uint64_t i = 0; i < n; ++i) batch.push_back(sample_decision(i));
  BOOST_REQUIRE(store.append_decisions(*run, batch).ok());
  BOOST_REQUIRE(store.finish_run(*run, n + 1, n, {{7, "age", "not a number: 'x'"}}).ok());
  return *run;
}

void check_intact(Store& store) {
  auto v = store.verify();
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v->intact, v->first_broken);
  BOOST_TEST(v->warnings.empty());
}

BOOST_AUTO_TEST_SUITE(audit_store)

BOOST_AUTO_TEST_CASE(creates_a_wal_store_with_its_schema_version) {
  TempDir tmp;
  const std::string path = tmp.file("audit.sqlite");
  {
    Store store = open_store(path);
    BOOST_TEST(store.runs()->empty());
    check_intact(store);
  }
  Raw raw(path);
  BOOST_TEST(raw.integer("PRAGMA user_version") == kSchemaVersion);
  BOOST_TEST(raw.text("SELECT value FROM meta WHERE key = 'schema_version'") ==
             std::to_string(kSchemaVersion));
  BOOST_TEST(raw.text("PRAGMA journal_mode") == "wal");
  OpenOptions existing;
  existing.create = false;
  BOOST_TEST(Store::open(path, existing).ok());
}

BOOST_AUTO_TEST_CASE(opening_a_missing_store_without_create_is_an_error) {
  TempDir tmp;
  OpenOptions existing;
  existing.create = false;
  auto s = Store::open(tmp.file("absent.sqlite"), existing);
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST(s.error().message == "no audit store at " + tmp.file("absent.sqlite"));
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_a_store_is_an_error) {
  TempDir tmp;
  std::ofstream(tmp.file("cases.csv")) << "case_id,phone\nAVR1,+223\n";
  auto s = Store::open(tmp.file("cases.csv"));
  check_error(s, "is not an audit store");

  {
    Raw other(tmp.file("other.sqlite"));
    other.exec("CREATE TABLE t(x)");
  }
  auto o = Store::open(tmp.file("other.sqlite"));
  check_error(o, "is not a crible audit store");
}

// Decision rows are ~750 bytes: 16 KB pages waste less and split less than SQLite's 4 KB.
BOOST_AUTO_TEST_CASE(a_new_store_has_16_kb_pages_in_wal_mode) {
  TempDir tmp;
  for (const bool empty_file_first : {false, true}) {
    const std::string path = tmp.file(empty_file_first ? "empty.sqlite" : "new.sqlite");
    if (empty_file_first) {
      Raw raw(path);  // an empty database file already there
    }
    { Store store = open_store(path); }
    Raw raw(path);
    BOOST_TEST(raw.integer("PRAGMA page_size") == 16384, path);
    BOOST_TEST(raw.text("PRAGMA journal_mode") == "wal", path);
  }
}

BOOST_AUTO_TEST_CASE(a_newer_schema_version_is_an_error) {
  TempDir tmp;
  const std::string path = tmp.file("audit.sqlite");
  { Store store = open_store(path); }
  {
    Raw raw(path);
    raw.exec("PRAGMA user_version = 7");
  }
  auto s = Store::open(path);
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST(s.error().message ==
             "audit store schema version 7 is newer than this crible supports (3); upgrade crible");
}

BOOST_AUTO_TEST_CASE(a_newer_version_in_the_meta_table_is_an_error) {
  TempDir tmp;
  const std::string path = tmp.file("audit.sqlite");
  { Store store = open_store(path); }
  {
    Raw raw(path);
    raw.exec("DROP TRIGGER meta_no_update");
    raw.exec("UPDATE meta SET value = '4' WHERE key = 'schema_version'");
  }
  auto s = Store::open(path);
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST(s.error().message ==
             "audit store schema version 4 is newer than this crible supports (3); upgrade crible");
}

// Version 1 stores (development builds) kept every decision's detail in full; this crible
// does not read them, and says so instead of misreading them.
BOOST_AUTO_TEST_CASE(an_older_schema_version_is_an_error) {
  TempDir tmp;
  const std::string path = tmp.file("audit.sqlite");
  { Store store = open_store(path); }
  {
    Raw raw(path);
    raw.exec("DROP TRIGGER meta_no_update");
    raw.exec("UPDATE meta SET value = '1' WHERE key = 'schema_version'");
    raw.exec("PRAGMA user_version = 1");
  }
  auto s = Store::open(path);
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST(s.error().message ==
             "audit store " + path +
                 " has schema version 1, written by a development version of crible before the "
                 "first release; this crible reads version 3 (review the cases again into a new "
                 "store)");
}

// A decision stores only its outcomes, so it must list exactly the run's rules; one that does
// not is refused, with nothing of its batch stored.
BOOST_AUTO_TEST_CASE(a_decision_with_other_rules_than_its_run_is_refused) {
  TempDir tmp;
  Store store = open_store(tmp.file("audit.sqlite"));
  auto run = store.begin_run(sample_ruleset(), sample_start());
  BOOST_REQUIRE(run.ok());
  for (const std::string outcomes : {"pyn", "p", "", "px", "yp", "pp", "yy", "Py"}) {
    DecisionRecord bad = sample_decision(1);
    bad.outcomes = outcomes;
    auto st = store.append_decisions(*run, {sample_decision(0), bad});
    BOOST_REQUIRE_MESSAGE(!st.ok(), "outcomes '" << outcomes << "' were accepted");
    BOOST_TEST(st.error().message ==
               "the decision for input 1 does not give one outcome for each criterion and signal "
               "of run 1");
  }
  BOOST_TEST(store.already_decided(*run).empty());
  check_intact(store);
}

BOOST_AUTO_TEST_CASE(decisions_round_trip_in_input_order) {
  TempDir tmp;
  Store store = open_store(tmp.file("audit.sqlite"));
  auto run = store.begin_run(sample_ruleset(), sample_start());
  BOOST_REQUIRE(run.ok());
  std::vector<DecisionRecord> all = sample_decisions(5);
  all[4].case_key = "AVR \"quoted\" \\ é";
  // Appended out of input order, in two batches (as threads may finish them).
  BOOST_REQUIRE(store.append_decisions(*run, {all[3], all[1]}).ok());
  BOOST_REQUIRE(store.append_decisions(*run, {all[4], all[0], all[2]}).ok());
  auto back = store.decisions(*run);
  BOOST_REQUIRE(back.ok());
  BOOST_REQUIRE(back->size() == all.size());
  for (size_t i = 0; i < all.size(); ++i) check_same((*back)[i], all[i]);
  BOOST_TEST(store.already_decided(*run) == (std::vector<uint64_t>{0, 1, 2, 3, 4}));
  check_intact(store);
}

// A decision appended with an empty detail read back as erased with no erasure record: the
// chain committed to it and verify passed the store, but `crible explain` reported a broken
// store (store fuzzer, a run built from decisions read back, one of them erased). Empty is
// what only an erasure leaves: the append refuses it, and verify takes an empty detail for a
// missing one, as the reader does.
BOOST_AUTO_TEST_CASE(a_decision_without_detail_is_refused) {
  TempDir tmp;
  Store store = open_store(tmp.file("audit.sqlite"));
  auto run = store.begin_run(sample_ruleset(), sample_start());
  BOOST_REQUIRE(run.ok());
  for (const bool sealed : {false, true}) {
    std::vector<DecisionRecord> batch = sample_decisions(2);
    batch[1].detail_json.clear();
    if (sealed) {
      auto sealer = store.decision_sealer(*run);
      BOOST_REQUIRE(sealer.ok());
      for (auto& d : batch) sealer->prepare(d);
      sealer->seal(batch);
      BOOST_TEST(batch[1].seal.seq == 0);
    }
    auto st = store.append_decisions(*run, batch);
    BOOST_REQUIRE_MESSAGE(!st.ok(), "an empty detail was accepted");
    BOOST_TEST(st.error().message ==
               "the decision for input 1 has no detail (only an erasure empties one)");
    BOOST_TEST(store.already_decided(*run).empty());
  }
  check_intact(store);
}

// Export walks a run one decision at a time: in input order, brief records without detail,
// and stops at the first Error its callback returns.
BOOST_AUTO_TEST_CASE(for_each_decision_walks_a_run_in_input_order) {
  TempDir tmp;
  Store store = open_store(tmp.file("audit.sqlite"));
  auto run = store.begin_run(sample_ruleset(), sample_start());
  BOOST_REQUIRE(run.ok());
  const std::vector<DecisionRecord> all = sample_decisions(4);
  BOOST_REQUIRE(store.append_decisions(*run, {all[2], all[0]}).ok());
  BOOST_REQUIRE(store.append_decisions(*run, {all[3], all[1]}).ok());
  for (const bool brief : {false, true}) {
    std::vector<std::string> keys;
    Status walked = store.for_each_decision(
        *run,
        [&](const DecisionRecord& d) {
          keys.push_back(d.case_key);
          const DecisionRecord& want = all[d.input_index];
          BOOST_TEST(d.disposition == want.disposition);
          BOOST_TEST(d.outcomes == want.outcomes);
          BOOST_TEST((d.scores == want.scores));
          BOOST_TEST(d.detail_json == (brief ? std::string() : want.detail_json));
          BOOST_TEST(d.findings.size() == (brief ? 0u : want.outcomes.size()));
          return ok_status();
        },
        brief);
    BOOST_REQUIRE(walked.ok());
    BOOST_TEST((keys == std::vector<std::string>{"AVR100000", "AVR100001", "AVR100002", "AVR100003"}));
  }
  size_t seen = 0;
  Status stopped = store.for_each_decision(*run, [&](const DecisionRecord&) -> Status {
    return ++seen == 2 ? Status(Error{"enough"}) : ok_status();
  });
  BOOST_TEST(!stopped.ok());
  BOOST_TEST(seen == 2u);
  BOOST_TEST(!store.for_each_decision(99, [](const DecisionRecord&) { return ok_status(); }).ok());
}

// Review hashes each detail on the threads that build the records (hash_detail); the store
// holds the same hash, and the same chain, as when it hashes the detail itself.
BOOST_AUTO_TEST_CASE(a_detail_hashed_beforehand_gives_the_same_store) {
  TempDir tmp;
  FixedNow now("2026-11-23T14:35:51Z");
  std::vector<DecisionRecord> plain, hashed;
  for (uint64_t i = 0; i < 3; ++i) {
    plain.push_back(sample_decision(i));
    hashed.push_back(sample_decision(i));
    hash_detail(hashed.back());
  }
  BOOST_TEST(hashed[1].detail_hash == sha256_hex(hashed[1].detail_json));
  std::string heads[2];
  for (int k = 0; k < 2; ++k) {
    Store store = open_store(tmp.file("audit" + std::to_string(k) + ".sqlite"));
    auto run = store.begin_run(sample_ruleset(), sample_start());
    BOOST_REQUIRE(run.ok());
    BOOST_REQUIRE(store.append_decisions(*run, k == 0 ? plain : hashed).ok());
    auto back = store.decisions(*run);
    BOOST_REQUIRE(back.ok());
    BOOST_TEST((*back)[2].detail_hash == hashed[2].detail_hash);
    auto v = store.verify();
    BOOST_REQUIRE(v.ok());
    BOOST_TEST(v->intact, v->first_broken);
    heads[k] = v->head_hash;
  }
  BOOST_TEST(heads[0] == heads[1]);

  Store store = open_store(tmp.file("bad.sqlite"));
  auto run = store.begin_run(sample_ruleset(), sample_start());
  BOOST_REQUIRE(run.ok());
  for (const std::string& bad : {std::string(64, 'A'), std::string(63, 'a'), std::string("xyz")}) {
    DecisionRecord d = sample_decision(1);
    d.detail_hash = bad;
    auto st = store.append_decisions(*run, {sample_decision(0), d});
    BOOST_REQUIRE_MESSAGE(!st.ok(), "detail hash '" << bad << "' was accepted");
    BOOST_TEST(st.error().message == "the decision for input 1 has a malformed detail hash");
  }
  BOOST_TEST(store.already_decided(*run).empty());
}

// Review seals its decisions ahead of the append, on the building threads (DecisionSealer):
// the store must hold the very chain it holds when append_decisions hashes every record.
namespace {

std::vector<DecisionRecord> sealed_copies(DecisionSealer& sealer, uint64_t first, uint64_t n) {
  std::vector<DecisionRecord> batch;
  for (uint64_t i = first; i < first + n; ++i) {
    batch.push_back(sample_decision(i));
    sealer.prepare(batch.back());
  }
  sealer.seal(batch);
  return batch;
}

// A new store with the sample run begun, and a sealer for it.
struct SampleRun {
  Store store;
  int64_t run;
};

SampleRun begun_run(const TempDir& tmp, const std::string& name) {
  Store store = open_store(tmp.file(name));
  auto run = store.begin_run(sample_ruleset(), sample_start());
  BOOST_REQUIRE(run.ok());
  return {std::move(store), *run};
}

DecisionSealer sealer_for(SampleRun& r) {
  auto sealer = r.store.decision_sealer(r.run);
  BOOST_REQUIRE(sealer.ok());
  return std::move(sealer.value());
}

std::string verified_head(Store& store) {
  auto v = store.verify();
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v->intact, v->first_broken);
  return v->head_hash;
}

}  // namespace

BOOST_AUTO_TEST_CASE(sealed_decisions_make_the_same_chain_as_plain_ones) {
  TempDir tmp;
  FixedNow now("2026-11-23T14:35:51Z");
  SampleRun plain = begun_run(tmp, "plain.sqlite");
  std::vector<DecisionRecord> first, second;
  for (uint64_t i = 0; i < 3; ++i) first.push_back(sample_decision(i));
  for (uint64_t i = 3; i < 5; ++i) second.push_back(sample_decision(i));
  BOOST_REQUIRE(plain.store.append_decisions(plain.run, first).ok());
  BOOST_REQUIRE(plain.store.append_decisions(plain.run, second).ok());

  SampleRun sealed = begun_run(tmp, "sealed.sqlite");
  DecisionSealer sealer = sealer_for(sealed);
  // Both batches are sealed before either is appended, as review's builder runs ahead.
  auto a = sealed_copies(sealer, 0, 3);
  auto b = sealed_copies(sealer, 3, 2);
  BOOST_TEST(a[0].seal.seq == 3);  // after the ruleset and the run
  BOOST_TEST(b[1].seal.seq == 7);
  BOOST_TEST(b[0].seal.prev == a[2].seal.hash);
  BOOST_REQUIRE(sealed.store.append_decisions(sealed.run, a).ok());
  BOOST_REQUIRE(sealed.store.append_decisions(sealed.run, b).ok());
  BOOST_TEST(verified_head(sealed.store) == verified_head(plain.store));
  auto back = sealed.store.decisions(sealed.run);
  BOOST_REQUIRE(back.ok());
  BOOST_REQUIRE(back->size() == 5u);
  BOOST_TEST((*back)[4].detail_hash == sha256_hex(b[1].detail_json));
  BOOST_TEST(((*back)[4].scores == b[1].scores));
}

BOOST_AUTO_TEST_CASE(a_seal_from_a_head_that_moved_is_not_used) {
  // Another record reached the chain between sealing and appending (here a plain batch):
  // the seals no longer follow the head, so the store hashes the records itself.
  TempDir tmp;
  FixedNow now("2026-11-23T14:35:51Z");
  SampleRun plain = begun_run(tmp, "plain.sqlite");
  BOOST_REQUIRE(plain.store.append_decisions(plain.run, {sample_decision(9)}).ok());
  BOOST_REQUIRE(plain.store.append_decisions(plain.run, {sample_decision(0), sample_decision(1)}).ok());

  SampleRun moved = begun_run(tmp, "moved.sqlite");
  DecisionSealer sealer = sealer_for(moved);
  auto batch = sealed_copies(sealer, 0, 2);
  BOOST_REQUIRE(moved.store.append_decisions(moved.run, {sample_decision(9)}).ok());
  BOOST_REQUIRE(moved.store.append_decisions(moved.run, batch).ok());
  BOOST_TEST(verified_head(moved.store) == verified_head(plain.store));
}

BOOST_AUTO_TEST_CASE(an_unfit_record_is_not_sealed_and_the_append_says_why) {
  TempDir tmp;
  FixedNow now("2026-11-23T14:35:51Z");
  SampleRun r = begun_run(tmp, "audit.sqlite");
  DecisionSealer sealer = sealer_for(r);
  std::vector<DecisionRecord> batch{sample_decision(0), sample_decision(1), sample_decision(2)};
  batch[1].outcomes += 'p';  // one outcome too many for the run
  for (auto& d : batch) sealer.prepare(d);
  sealer.seal(batch);
  BOOST_TEST(batch[0].seal.seq == 3);
  BOOST_TEST(batch[1].seal.seq == 0);
  BOOST_TEST(batch[2].seal.seq == 0);  // nothing after an unfit record is sealed
  auto st = r.store.append_decisions(r.run, batch);
  BOOST_REQUIRE(!st.ok());
  BOOST_TEST(st.error().message ==
             "the decision for input 1 does not give one outcome for each criterion and signal of run " +
                 std::to_string(r.run));
  BOOST_TEST(r.store.already_decided(r.run).empty());

  // A detail hash given by the caller is checked; one the sealer computes needs no check.
  DecisionSealer fresh = sealer_for(r);
  std::vector<DecisionRecord> given{sample_decision(0), sample_decision(1)};
  given[1].detail_hash = std::string(64, 'G');
  for (auto& d : given) fresh.prepare(d);
  BOOST_TEST(given[0].detail_hash == sha256_hex(given[0].detail_json));
  fresh.seal(given);
  BOOST_TEST(given[0].seal.seq == 3);
  BOOST_TEST(given[1].seal.seq == 0);
  auto bad = r.store.append_decisions(r.run, given);
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.error().message == "the decision for input 1 has a malformed detail hash");
}

BOOST_AUTO_TEST_CASE(a_record_changed_after_sealing_fails_verification) {
  // The contract of DecisionRecord::seal: the append trusts a seal that follows the head, so
  // a record changed after it was sealed is stored with a hash that does not match it, and
  // verify says so.
  TempDir tmp;
  FixedNow now("2026-11-23T14:35:51Z");
  SampleRun r = begun_run(tmp, "audit.sqlite");
  DecisionSealer sealer = sealer_for(r);
  auto batch = sealed_copies(sealer, 0, 2);
  batch[1].disposition = "ELIGIBLE_CHANGED";
  BOOST_REQUIRE(r.store.append_decisions(r.run, batch).ok());
  auto v = r.store.verify();
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(!v->intact);
  BOOST_TEST(v->first_broken.find("#4") != std::string::npos, v->first_broken);
}

BOOST_AUTO_TEST_CASE(runs_report_counts_inputs_rejects_and_head_hash) {
  TempDir tmp;
  FixedNow now("2026-11-23T14:35:51Z");
  const std::string path = tmp.file("audit.sqlite");
  Store store = open_store(path);
  const int64_t first = complete_run(store, 4);
  auto second = store.begin_run(sample_ruleset(), sample_start("fp-2"));
  BOOST_REQUIRE(second.ok());
  BOOST_REQUIRE(store.append_decisions(*second, {sample_decision(0), sample_decision(1)}).ok());

  auto runs = store.runs();
  BOOST_REQUIRE(runs.ok());
  BOOST_REQUIRE(runs->size() == 2u);
  const RunSummary& r = (*runs)[0];
  BOOST_TEST(r.run_id == first);
  BOOST_TEST(r.status == "complete");
  BOOST_TEST(r.read == 5u);
  BOOST_TEST(r.decided == 4u);
  BOOST_TEST(r.rejected == 1u);
  BOOST_REQUIRE(r.rejects.size() == 1u);
  BOOST_TEST(r.rejects[0].line == 7u);
  BOOST_TEST(r.rejects[0].column == "age");
  BOOST_TEST(r.rejects[0].reason == "not a number: 'x'");
  BOOST_TEST(r.started_at == "2026-11-23T14:35:51Z");
  BOOST_TEST(r.finished_at == "2026-11-23T14:35:51Z");
  BOOST_TEST(r.as_of == "2019-01-15");
  BOOST_TEST(r.ruleset_sha256 == sample_ruleset().sha256);
  BOOST_TEST(r.command == sample_start().command);
  BOOST_REQUIRE(r.inputs.size() == 2u);
  BOOST_TEST(r.inputs[1].role == "table:flows");
  BOOST_TEST(r.inputs[1].path == "flows.csv");
  BOOST_TEST(r.inputs[1].sha256 == sha256_hex("flows"));
  {
    // Head hash: the hash of the run's closing record (records 1..2+4 = #6, run_end = #7),
    // i.e. the chain as the run left it.
    Raw raw(path);
    BOOST_TEST(r.head_hash == raw.text("SELECT hash FROM " + test::kChain + " WHERE seq = 7"));
    BOOST_TEST(raw.text("SELECT kind FROM " + test::kChain + " WHERE seq = 7") == "run_end");
  }
  const RunSummary& open = (*runs)[1];
  BOOST_TEST(open.status == "incomplete");
  BOOST_TEST(open.decided == 2u);
  BOOST_TEST(open.finished_at.empty());
  BOOST_TEST(open.ruleset_id == r.ruleset_id);  // the same ruleset, stored once
  Raw raw(path);
  BOOST_TEST(raw.integer("SELECT count(*) FROM rulesets") == 1);
}

BOOST_AUTO_TEST_CASE(decision_of_the_latest_run_unless_one_is_given) {
  TempDir tmp;
  Store store = open_store(tmp.file("audit.sqlite"));
  const int64_t r1 = complete_run(store, 3, "fp-1", "criterion E1 CONSENT: consent_signed\n");
  const int64_t r2 = complete_run(store, 2, "fp-2", "criterion E1 CONSENT: consent_signed\n# v2\n");
  auto latest = store.decision("AVR100001", std::nullopt);
  BOOST_REQUIRE(latest.ok());
  BOOST_TEST(latest->run.run_id == r2);
  BOOST_TEST(latest->ruleset.source == "criterion E1 CONSENT: consent_signed\n# v2\n");
  BOOST_TEST(latest->ruleset.sha256 == sha256_hex(latest->ruleset.source));
  BOOST_TEST(latest->ruleset.path == "rules/sample.rules");
  BOOST_TEST((latest->params == sample_start().params));
  BOOST_TEST(latest->decision.case_key == "AVR100001");
  BOOST_TEST(latest->decision.detail_json == sample_decision(1).detail_json);
  BOOST_TEST(!latest->erased.has_value());
  BOOST_TEST(latest->overrides.empty());

  auto older = store.decision("AVR100001", r1);
  BOOST_REQUIRE(older.ok());
  BOOST_TEST(older->run.run_id == r1);
  BOOST_TEST(older->ruleset.source == "criterion E1 CONSENT: consent_signed\n");
  BOOST_TEST(older->seq != latest->seq);

  // Only run 1 decided AVR100002.
  BOOST_TEST(store.decision("AVR100002", std::nullopt)->run.run_id == r1);
  auto none = store.decision("AVR100002", r2);
  BOOST_REQUIRE(!none.ok());
  BOOST_TEST(none.error().message ==
             "no decision about case AVR100002 in the audit store for run 2");
  BOOST_TEST(!store.decision("NOPE", std::nullopt).ok());
  BOOST_TEST(!store.decisions(99).ok());
}

BOOST_AUTO_TEST_CASE(overrides_are_recorded_and_returned_in_order) {
  TempDir tmp;
  Store store = open_store(tmp.file("audit.sqlite"));
  const int64_t r1 = complete_run(store, 3);
  const int64_t r2 = complete_run(store, 3, "fp-2");
  // AVR100000 is REFER_PROTECTION (index 0).
  auto o1 =
      store.add_override("AVR100000", std::nullopt, "ELIGIBLE", "A. Traoré", "documents checked");
  BOOST_REQUIRE(o1.ok());
  BOOST_TEST(o1->previous == "REFER_PROTECTION");
  BOOST_TEST(o1->run_id == r2);
  auto o2 = store.add_override("AVR100000", std::nullopt, "SUSPEND", "B. Diallo", "new report");
  BOOST_REQUIRE(o2.ok());
  BOOST_TEST(o2->previous == "ELIGIBLE");
  BOOST_TEST(o2->decision_seq == o1->decision_seq);
  auto o2b = store.add_override("AVR100000", std::nullopt, "REFER_PROTECTION", "A. Traoré",
                                "suspension lifted");
  BOOST_REQUIRE(o2b.ok());
  BOOST_TEST(o2b->previous == "SUSPEND");  // the disposition in force, i.e. the last override's
  // An override of the older run's decision stays with that decision.
  auto o3 = store.add_override("AVR100000", r1, "ELIGIBLE", "C. Keita", "older run");
  BOOST_REQUIRE(o3.ok());
  BOOST_TEST(o3->run_id == r1);

  auto d = store.decision("AVR100000", std::nullopt);
  BOOST_REQUIRE(d.ok());
  BOOST_REQUIRE(d->overrides.size() == 3u);
  BOOST_TEST(d->overrides[0].disposition == "ELIGIBLE");
  BOOST_TEST(d->overrides[0].by == "A. Traoré");
  BOOST_TEST(d->overrides[0].reason == "documents checked");
  BOOST_TEST(d->overrides[1].disposition == "SUSPEND");
  BOOST_TEST(d->overrides[1].previous == "ELIGIBLE");
  BOOST_TEST(d->overrides[1].decision_seq == d->seq);
  BOOST_TEST(d->overrides[2].previous == "SUSPEND");
  BOOST_TEST(d->decision.disposition == "REFER_PROTECTION");  // the decision itself is unchanged
  BOOST_TEST(store.decision("AVR100000", r1)->overrides.size() == 1u);
  check_intact(store);

  BOOST_TEST(!store.add_override("NOPE", std::nullopt, "ELIGIBLE", "A", "r").ok());
  BOOST_TEST(!store.add_override("AVR100000", std::nullopt, "ELIGIBLE", "", "r").ok());
  BOOST_TEST(!store.add_override("AVR100000", std::nullopt, "ELIGIBLE", "A", "").ok());
  BOOST_TEST(!store.add_override("AVR100000", std::nullopt, "", "A", "r").ok());
}

BOOST_AUTO_TEST_CASE(override_time_comes_from_crible_now) {
  TempDir tmp;
  Store store = open_store(tmp.file("audit.sqlite"));
  complete_run(store, 1);
  FixedNow now("2027-01-02T03:04:05Z");
  auto o = store.add_override("AVR100000", std::nullopt, "ELIGIBLE", "A", "r");
  BOOST_REQUIRE(o.ok());
  BOOST_TEST(o->at == "2027-01-02T03:04:05Z");
}

BOOST_AUTO_TEST_CASE(erase_removes_the_detail_and_the_chain_still_verifies) {
  TempDir tmp;
  FixedNow now("2026-11-23T14:35:51Z");
  const std::string path = tmp.file("audit.sqlite");
  Store store = open_store(path);
  complete_run(store, 3);
  complete_run(store, 3, "fp-2");
  auto n = store.erase("AVR100001", "D. Coulibaly", "retention period ended");
  BOOST_REQUIRE(n.ok());
  BOOST_TEST(*n == 2u);  // one decision in each run
  check_intact(store);

  auto d = store.decision("AVR100001", std::nullopt);
  BOOST_REQUIRE(d.ok());
  BOOST_TEST(d->decision.detail_json.empty());
  BOOST_REQUIRE(d->erased.has_value());
  BOOST_TEST(*d->erased == "on 2026-11-23T14:35:51Z by D. Coulibaly: retention period ended");
  BOOST_TEST(d->decision.disposition == "ELIGIBLE");  // the chained decision stays
  BOOST_TEST(store.decision("AVR100000", std::nullopt)->decision.detail_json ==
             sample_decision(0).detail_json);
  {
    Raw raw(path);
    BOOST_TEST(raw.integer("SELECT count(*) FROM decisions WHERE case_key = 'AVR100001' "
                           "AND detail IS NOT NULL") == 0);
    BOOST_TEST(raw.integer("SELECT count(*) FROM decisions WHERE detail LIKE "
                           "'%00 00 1\"%'") == 0);
  }
  auto again = store.erase("AVR100001", "D. Coulibaly", "again");
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(*again == 0u);
  BOOST_TEST(!store.erase("NOPE", "D", "r").ok());
  BOOST_TEST(!store.erase("AVR100000", "", "r").ok());
  check_intact(store);
}

BOOST_AUTO_TEST_CASE(triggers_refuse_update_and_delete) {
  TempDir tmp;
  const std::string path = tmp.file("audit.sqlite");
  {
    Store store = open_store(path);
    complete_run(store, 2);
    BOOST_REQUIRE(store.add_override("AVR100000", std::nullopt, "ELIGIBLE", "A", "r").ok());
    BOOST_REQUIRE(store.erase("AVR100001", "A", "r").ok());
  }
  Raw raw(path);
  for (const char* table : {"rulesets", "runs", "decisions", "run_ends", "overrides", "erasures"}) {
    BOOST_TEST(contains(raw.fails(std::string("UPDATE ") + table + " SET seq = seq"),
                        "audit store is append-only"),
               table);
    BOOST_TEST(contains(raw.fails(std::string("DELETE FROM ") + table), "append-only"), table);
  }
  BOOST_TEST(contains(raw.fails("UPDATE meta SET value = 'x'"), "append-only"));
  BOOST_TEST(contains(raw.fails("DELETE FROM meta"), "append-only"));
  BOOST_TEST(contains(raw.fails("UPDATE decisions SET detail = 'x' WHERE seq = 3"), "append-only"));
  // Setting a detail to NULL needs an erasure record listing that decision, and nothing else
  // of the decision may change with it, even for an erased one (#4 is AVR100001's).
  BOOST_TEST(contains(raw.fails("UPDATE decisions SET detail = NULL WHERE seq = 3"),
                      "erasure record"));
  BOOST_TEST(contains(raw.fails("UPDATE decisions SET detail = NULL, disposition = 'X' WHERE seq = 4"),
                      "erasure record"));
  BOOST_TEST(contains(raw.fails("UPDATE decisions SET hash = x'00' WHERE seq = 4"),
                      "erasure record"));
  BOOST_TEST(raw.integer("SELECT count(*) FROM decisions WHERE detail IS NULL") == 1);
  BOOST_TEST(raw.integer("SELECT count(*) FROM decisions WHERE seq = 4 AND detail IS NULL") == 1);
}

// An index holds no record: one dropped with the sqlite3 shell must not make a decision
// unreadable ("no such index: decisions_by_case_run" from explain and override while verify
// said the store was intact; found by tests/fuzz/store_fuzzer). Verify warns of it.
BOOST_AUTO_TEST_CASE(a_dropped_index_is_a_warning_not_a_failed_lookup) {
  TempDir tmp;
  const std::string path = tmp.file("audit.sqlite");
  {
    Store store = open_store(path);
    complete_run(store, 3);
  }
  {
    Raw raw(path);
    raw.exec("DROP INDEX decisions_by_case_run");
  }
  Store store = open_store(path);
  auto found = store.decision("AVR100001", std::nullopt);
  BOOST_REQUIRE_MESSAGE(found.ok(), (found.ok() ? "" : found.error().message));
  BOOST_TEST(found->decision.case_key == "AVR100001");
  BOOST_TEST(store.decision("AVR100001", found->run.run_id).ok());
  BOOST_TEST(!store.decision("NOPE", std::nullopt).ok());
  BOOST_TEST(store.add_override("AVR100001", std::nullopt, "ELIGIBLE", "A", "r").ok());
  auto v = store.verify();
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v->intact, v->first_broken);
  BOOST_REQUIRE(v->warnings.size() == 1u);
  BOOST_TEST(v->warnings[0] ==
             "index decisions_by_case_run is missing: the store was altered outside crible");
}

// A store (tmp's audit.sqlite) with one complete run of two decisions (and what `more` adds),
// edited by hand with the protective triggers dropped, as someone with the sqlite3 shell
// would, then opened again.
Store edit_by_hand(const TempDir& tmp, const std::string& sql,
                   const std::function<void(Store&)>& more = {}) {
  const std::string path = tmp.file("audit.sqlite");
  {
    Store store = open_store(path);
    complete_run(store, 2);
    if (more) more(store);
  }
  {
    Raw raw(path);
    raw.drop_triggers();
    raw.exec(sql);
  }
  return open_store(path);
}

// Verify took an empty detail for a present one, which the reader takes for an erased one.
BOOST_AUTO_TEST_CASE(an_empty_detail_is_a_missing_one) {
  TempDir tmp;
  Store store = edit_by_hand(tmp, "UPDATE decisions SET detail = '' WHERE seq = 4");
  auto v = store.verify();
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(!v->intact);
  BOOST_TEST(v->first_broken ==
             "record #4 (decision, run 1, case AVR100001): its personal detail is missing and "
             "no erasure record covers it");
}

// Outcomes read back as append_decisions takes them: "pass" for a signal (S4 here) was read as
// the signal's outcome and printed by explain.
BOOST_AUTO_TEST_CASE(an_outcome_of_the_wrong_kind_is_damage) {
  TempDir tmp;
  Store store =
      edit_by_hand(tmp, "UPDATE decisions SET findings = 'pp' WHERE case_key = 'AVR100001'");
  auto d = store.decision("AVR100001", std::nullopt);
  check_error(d, ": decision #4 has a malformed findings column; run `crible audit verify`");
  BOOST_TEST(store.decision("AVR100000", std::nullopt).ok());
}

// An erasure's list of decisions that is not JSON made SQLite's json_each() fail with "cannot
// read: malformed JSON"; the message now names the record and the column.
BOOST_AUTO_TEST_CASE(a_malformed_erasure_list_is_named) {
  TempDir tmp;
  Store store = edit_by_hand(tmp, "UPDATE erasures SET decisions = '[4,'", [](Store& before) {
    BOOST_REQUIRE(before.erase("AVR100001", "A", "r").ok());
  });
  auto d = store.decision("AVR100001", std::nullopt);
  check_error(d,
              ": an erasure record about case AVR100001 has a malformed "
              "decisions column; run `crible audit verify`");
}

// A decision whose run row was deleted by hand was "no run 1 in the audit store": it now
// names the decision and points to verify.
BOOST_AUTO_TEST_CASE(a_decision_whose_run_is_gone_is_named) {
  TempDir tmp;
  Store store = edit_by_hand(tmp, "DELETE FROM runs");
  auto d = store.decision("AVR100001", std::nullopt);
  check_error(d,
              ": decision #4 (case AVR100001) belongs to run 1, which "
              "is not in the store; run `crible audit verify`");
}

// add_override appended an override to a decision whose run was gone (the CLI reads the
// decision first and stopped there; the store itself did not check).
BOOST_AUTO_TEST_CASE(no_override_on_a_decision_whose_run_is_gone) {
  TempDir tmp;
  Store store = edit_by_hand(tmp, "DELETE FROM runs");
  auto o = store.add_override("AVR100001", std::nullopt, "REFER", "A. Officer", "reviewed");
  check_error(o,
              ": decision #4 (case AVR100001) belongs to run 1, which "
              "is not in the store; run `crible audit verify`");
  BOOST_TEST(Raw(tmp.file("audit.sqlite")).integer("SELECT count(*) FROM overrides") == 0);
}

// A count edited to a negative number was read as unsigned: `audit runs` printed -1 as
// 18446744073709551615. It is now an error naming the run and the count.
BOOST_AUTO_TEST_CASE(a_count_that_is_not_a_number_of_cases_is_an_error) {
  for (const char* count : {"read", "decided", "rejected"}) {
    // (The tables are STRICT: another type than an integer needs the table rewritten, which
    // the store fuzzer does; the check is the same.)
    for (const char* value : {"-1", "-9223372036854775808"}) {
      BOOST_TEST_CONTEXT(count << " = " << value) {
        TempDir tmp;
        Store store =
            edit_by_hand(tmp, std::string("UPDATE run_ends SET ") + count + " = " + value);
        auto runs = store.runs();
        check_error(runs, std::string(": run 1 has '") + value + "' as its " + count +
                              " count, not a number of cases; run "
                              "`crible audit verify`");
      }
    }
  }
}

// `audit runs` listed a finished run whose counts had been edited so that they no longer add
// up (read = decided + rejected, rejected = the rejects listed); finish_run never writes such
// counts either.
BOOST_AUTO_TEST_CASE(counts_that_do_not_add_up_are_an_error) {
  for (const char* edit : {"UPDATE run_ends SET read = read + 1",
                           "UPDATE run_ends SET decided = decided - 1",
                           "UPDATE run_ends SET rejected = rejected + 1, read = read + 1"}) {
    BOOST_TEST_CONTEXT(edit) {
      TempDir tmp;
      Store store = edit_by_hand(tmp, edit);
      auto runs = store.runs();
      BOOST_REQUIRE(!runs.ok());
      BOOST_TEST(runs.error().message.find("which do not add up; run `crible audit verify`") !=
                     std::string::npos,
                 runs.error().message);
    }
  }
  TempDir tmp;
  Store store = open_store(tmp.file("audit.sqlite"));
  auto run = store.begin_run(sample_ruleset(), sample_start());
  BOOST_REQUIRE(run.ok());
  const Status wrong = store.finish_run(*run, 3, 0, {{7, "age", "not a number: 'x'"}});
  BOOST_REQUIRE(!wrong.ok());
  BOOST_TEST(wrong.error().message == "run 1: 3 cases read, but 0 decided and 1 rejected");
}

// A run whose ruleset record was deleted by hand listed an empty sha256: it is listed, and
// says its ruleset is not stored (cli/ prints "(missing)" and a warning).
BOOST_AUTO_TEST_CASE(a_run_whose_ruleset_is_gone_says_so) {
  TempDir tmp;
  Store store = edit_by_hand(tmp, "DELETE FROM rulesets");
  auto runs = store.runs();
  BOOST_REQUIRE(runs.ok());
  BOOST_REQUIRE(runs->size() == 1u);
  BOOST_TEST(!runs->front().ruleset_stored);
  BOOST_TEST(runs->front().ruleset_sha256.empty());
}

// A finding whose kind was edited to neither "criterion" nor "signal" was read as a criterion:
// a criterion so edited read back as if whole, and a signal failed as a "malformed findings
// column" of each decision. It is now an error naming the decision and the kind; export,
// which reads the same list, names the run.
BOOST_AUTO_TEST_CASE(a_finding_of_another_kind_is_an_error) {
  for (const auto& [kind, finding] :
       {std::pair{"criterion", "E1 CONSENT"}, std::pair{"signal", "S4 SHARED_PHONE"}}) {
    BOOST_TEST_CONTEXT(kind) {
      TempDir tmp;
      Store store =
          edit_by_hand(tmp, std::string("UPDATE runs SET findings = replace(findings, '\"") + kind +
                                "\"', '\"rule\"')");
      const std::string why = std::string("run 1 lists ") + finding +
                              " as a 'rule', neither a criterion nor a signal; run `crible audit "
                              "verify`";
      auto d = store.decision("AVR100001", std::nullopt);
      check_error(d, ": decision #4 (case AVR100001): " + why);
      Status each = store.for_each_decision(1, [](const DecisionRecord&) { return ok_status(); });
      check_error(each, ".sqlite: " + why);
    }
  }
}

// A record renumbered #9223372036854775807 with the sqlite3 shell: the next append computed
// its number as head + 1, a signed overflow, and stored an override as #-9223372036854775808
// (found by tests/fuzz/store_fuzzer). Appending is now refused with the reason.
BOOST_AUTO_TEST_CASE(nothing_is_appended_after_the_last_record_number) {
  TempDir tmp;
  Store store = edit_by_hand(tmp, "UPDATE rulesets SET seq = 9223372036854775807");
  const std::string why =
      ": the chain head is record #9223372036854775807, the last number a record can have: "
      "nothing can be appended after it; run `crible audit verify`";
  auto o = store.add_override("AVR100000", std::nullopt, "ELIGIBLE", "A", "r");
  check_error(o, why);
  auto e = store.erase("AVR100000", "A", "r");
  check_error(e, why);
  auto r = store.begin_run(sample_ruleset("criterion E1 CONSENT: consent_signed\n# v2\n"),
                           sample_start("fp-2"));
  check_error(r, why);
  Raw raw(tmp.file("audit.sqlite"));
  BOOST_TEST(raw.integer("SELECT count(*) FROM overrides") == 0);
  BOOST_TEST(raw.integer("SELECT count(*) FROM erasures") == 0);
  BOOST_TEST(raw.integer("SELECT min(seq) FROM decisions") > 0);
}

BOOST_AUTO_TEST_CASE(resume_an_incomplete_run_with_the_same_fingerprint) {
  TempDir tmp;
  Store store = open_store(tmp.file("audit.sqlite"));
  auto run = store.begin_run(sample_ruleset(), sample_start("fp-same"));
  BOOST_REQUIRE(run.ok());
  BOOST_REQUIRE(store.append_decisions(*run, {sample_decision(0), sample_decision(2)}).ok());
  // The same command again (after a crash): the same run, with what it already decided.
  auto again = store.begin_run(sample_ruleset(), sample_start("fp-same"));
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(*again == *run);
  BOOST_TEST(store.already_decided(*again) == (std::vector<uint64_t>{0, 2}));
  BOOST_REQUIRE(store.append_decisions(*again, {sample_decision(1), sample_decision(3)}).ok());
  // Another fingerprint is another run.
  auto other = store.begin_run(sample_ruleset(), sample_start("fp-other"));
  BOOST_REQUIRE(other.ok());
  BOOST_TEST(*other != *run);
  BOOST_REQUIRE(store.finish_run(*run, 4, 4, {}).ok());
  // Once complete, the same command starts a new run.
  auto next = store.begin_run(sample_ruleset(), sample_start("fp-same"));
  BOOST_REQUIRE(next.ok());
  BOOST_TEST(*next != *run);
  BOOST_TEST(*next != *other);
  BOOST_TEST(store.already_decided(*next).empty());
  // No fingerprint: never resumed.
  auto a = store.begin_run(sample_ruleset(), sample_start(""));
  auto b = store.begin_run(sample_ruleset(), sample_start(""));
  BOOST_TEST(*a != *b);
  check_intact(store);
}

BOOST_AUTO_TEST_CASE(a_duplicate_decision_rolls_back_the_whole_batch) {
  TempDir tmp;
  Store store = open_store(tmp.file("audit.sqlite"));
  auto run = store.begin_run(sample_ruleset(), sample_start());
  BOOST_REQUIRE(store.append_decisions(*run, {sample_decision(0)}).ok());
  auto s = store.append_decisions(*run, {sample_decision(1), sample_decision(0)});
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST(s.error().message == "run 1 already has a decision for input 0");
  BOOST_TEST(store.already_decided(*run) == (std::vector<uint64_t>{0}));
  check_intact(store);
}

BOOST_AUTO_TEST_CASE(finish_checks_the_count_and_closes_the_run) {
  TempDir tmp;
  Store store = open_store(tmp.file("audit.sqlite"));
  auto run = store.begin_run(sample_ruleset(), sample_start());
  BOOST_REQUIRE(store.append_decisions(*run, {sample_decision(0), sample_decision(1)}).ok());
  auto wrong = store.finish_run(*run, 2, 3, {});
  BOOST_REQUIRE(!wrong.ok());
  BOOST_TEST(wrong.error().message == "run 1 has 2 decisions stored but 3 were reported decided");
  BOOST_REQUIRE(store.finish_run(*run, 2, 2, {}).ok());
  BOOST_TEST(!store.finish_run(*run, 2, 2, {}).ok());
  auto late = store.append_decisions(*run, {sample_decision(2)});
  BOOST_REQUIRE(!late.ok());
  BOOST_TEST(late.error().message == "run 1 is finished; it takes no more decisions");
  BOOST_TEST(!store.append_decisions(42, {sample_decision(0)}).ok());
  check_intact(store);
}

BOOST_AUTO_TEST_CASE(a_ruleset_hash_that_is_not_its_source_is_refused) {
  TempDir tmp;
  Store store = open_store(tmp.file("audit.sqlite"));
  RulesetVersion rs = sample_ruleset();
  rs.sha256 = sha256_hex("something else");
  BOOST_TEST(!store.begin_run(rs, sample_start()).ok());
}

BOOST_AUTO_TEST_CASE(a_second_writer_waits_then_fails_cleanly) {
  TempDir tmp;
  const std::string path = tmp.file("audit.sqlite");
  OpenOptions quick;
  quick.busy_timeout_ms = 300;
  Store store = open_store(path, quick);
  auto run = store.begin_run(sample_ruleset(), sample_start());
  BOOST_REQUIRE(run.ok());
  Raw other(path);
  other.exec("BEGIN IMMEDIATE");  // another process holds the write lock
  const auto t0 = std::chrono::steady_clock::now();
  auto s = store.append_decisions(*run, {sample_decision(0)});
  const auto waited = std::chrono::steady_clock::now() - t0;
  check_error(s, "is being written by another crible process");
  BOOST_TEST(waited >= std::chrono::milliseconds(250));
  // Readers are not blocked by the writer.
  BOOST_TEST(store.runs().ok());
  other.exec("COMMIT");
  BOOST_REQUIRE(store.append_decisions(*run, {sample_decision(0)}).ok());
  check_intact(store);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace crible::audit
