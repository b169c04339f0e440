// End-to-end tests of `crible review`, `explain` and `audit ...` on the shipped sample:
// the store holds what the decisions CSV says, explanations come from the store alone,
// tampering with the plain sqlite3 shell is detected, erasure and overrides are recorded,
// and a review killed mid-run resumes to exactly one decision per case.
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "audit/audit.h"
#include "support/run_crible.h"
#include "support/thread_refusal.h"

namespace ct = crible::testing;
namespace fs = std::filesystem;

namespace {

const std::string kSample = "rules/sample";

std::vector<std::string> review_args(const std::string& cases, const std::string& store,
                                     const std::string& dir = kSample) {
  return {"review", "rules/mali-2019.rules", "--cases", cases,
          "--table", "flows=" + dir + "/flows.csv", "--table", "languages=" + dir + "/languages.csv",
          "--audit", store, "--quiet"};
}

// Runs SQL on the store the way someone with the plain sqlite3 shell would: no triggers
// spared, no crible code involved.
void tamper(const std::string& store, const std::string& sql) {
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(store.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  BOOST_REQUIRE_MESSAGE(rc == SQLITE_OK, "tamper SQL failed: " + msg);
}

int64_t scalar(const std::string& store, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(store.c_str(), &db);
  sqlite3_stmt* st = nullptr;
  int64_t v = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

struct FixedNow {
  FixedNow() { setenv("CRIBLE_NOW", "2026-11-23T10:00:00Z", 1); }
  ~FixedNow() { unsetenv("CRIBLE_NOW"); }
};

std::string fresh_store(const std::string& name) {
  fs::path dir = ct::temp_dir("audit-" + name);
  return (dir / "audit.sqlite").string();
}

std::string reviewed_store(const std::string& name) {
  std::string store = fresh_store(name);
  ct::Run run = ct::run_crible(review_args(kSample + "/cases.csv", store));
  BOOST_REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  return store;
}

// The sample's cases `copies` times over, each copy's ids renamed (AVR -> <prefix><letter>R),
// for reviews long enough to kill or to span several batches.
std::string sample_copies(int copies, char prefix) {
  const std::string cases = ct::read_file(ct::source_dir() / kSample / "cases.csv");
  std::string big = cases.substr(0, cases.find('\n') + 1);
  const std::string body = cases.substr(cases.find('\n') + 1);
  for (int copy = 0; copy < copies; ++copy) {
    std::string renamed = body;
    for (size_t p = renamed.find("AVR"); p != std::string::npos; p = renamed.find("\nAVR", p + 1)) {
      size_t at = renamed[p] == '\n' ? p + 1 : p;
      renamed.replace(at, 3, std::string{prefix, static_cast<char>('A' + copy), 'R'});
    }
    big += renamed;
  }
  return big;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(audit_store)

BOOST_AUTO_TEST_CASE(the_run_records_the_sha256_of_every_input_file) {
  // The cases file is hashed beside the load (cli/commands.cpp), the tables after it: both
  // must be the hashes of the files' bytes.
  std::string store = reviewed_store("input-hashes");
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(store.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string inputs;
  if (sqlite3_prepare_v2(db, "SELECT inputs FROM runs", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    inputs = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  for (const auto& [file, role] : {std::pair{"cases.csv", "cases"}, std::pair{"flows.csv", "table:flows"},
                                   std::pair{"languages.csv", "table:languages"}}) {
    const std::string bytes = ct::read_file(ct::source_dir() / kSample / file);
    const std::string want = "\"path\":\"" + kSample + "/" + file + "\",\"role\":\"" + role +
                             "\",\"sha256\":\"" + crible::audit::sha256_hex(bytes) + "\"";
    BOOST_TEST(inputs.find(want) != std::string::npos, want << " not in " << inputs);
  }
}

BOOST_AUTO_TEST_CASE(export_of_a_run_without_decisions_has_the_eval_columns) {
  // Every case rejected (here: the header alone): eval still writes its header, score
  // columns included, and the export of the run must write the same.
  std::string store = fresh_store("export-empty");
  const fs::path cases = fs::path(store).parent_path() / "cases.csv";
  const std::string sample = ct::read_file(ct::source_dir() / kSample / "cases.csv");
  ct::write_file(cases, sample.substr(0, sample.find('\n') + 1));
  ct::Run review = ct::run_crible(review_args(cases.string(), store));
  BOOST_REQUIRE_MESSAGE(review.exit_code == 0, review.err);
  ct::Run eval = ct::run_crible({"eval", "rules/mali-2019.rules", "--cases", cases.string(),
                                 "--table", "flows=" + kSample + "/flows.csv", "--table",
                                 "languages=" + kSample + "/languages.csv", "--quiet"});
  BOOST_REQUIRE_EQUAL(eval.exit_code, 0);
  BOOST_TEST(eval.out == "case_id,disposition,risk,priority,fired\n");
  ct::Run exported = ct::run_crible({"audit", "export", store});
  BOOST_TEST(exported.exit_code == 0);
  BOOST_TEST(exported.out == eval.out);
}

BOOST_AUTO_TEST_CASE(a_store_in_a_missing_directory_is_refused_with_the_reason) {
  const fs::path store = fs::path(fresh_store("missing-dir")).parent_path() / "no-such-dir" / "a.sqlite";
  ct::Run review = ct::run_crible(review_args(kSample + "/cases.csv", store.string()));
  BOOST_TEST(review.exit_code == 3);
  BOOST_TEST(review.err.find("cannot create audit store " + store.string() +
                             ": No such file or directory") != std::string::npos,
             review.err);
  BOOST_TEST(!fs::exists(store.parent_path()));
}

BOOST_AUTO_TEST_CASE(a_directory_given_as_the_store_is_named_as_such) {
  const std::string dir = fs::path(fresh_store("store-is-dir")).parent_path().string();
  for (const auto& args : std::vector<std::vector<std::string>>{
           review_args(kSample + "/cases.csv", dir), {"explain", "--audit", dir, "AVR0000756"},
           {"audit", "verify", dir}}) {
    ct::Run run = ct::run_crible(args);
    BOOST_TEST(run.exit_code == 3, args[0]);
    BOOST_TEST(run.err.find("cannot open audit store " + dir + ": Is a directory") !=
                   std::string::npos,
               run.err);
  }
}

BOOST_AUTO_TEST_CASE(export_with_a_damaged_layout_is_a_clear_error) {
  std::string store = reviewed_store("export-damaged");
  tamper(store, "DROP TRIGGER runs_no_update; UPDATE runs SET detail_layout = 'garbage';");
  ct::Run exported = ct::run_crible({"audit", "export", store});
  BOOST_TEST(exported.exit_code == 3);
  BOOST_TEST(exported.out.empty());
  BOOST_TEST(exported.err.find("run 1: the run's decision layout has no list of scores") !=
                 std::string::npos,
             exported.err);
  BOOST_TEST(exported.err.find("crible audit verify") != std::string::npos, exported.err);
}

// A decision whose scores are not its run's (fewer, more or renamed) shifted the columns of its
// line in the export, with exit 0; a score value with a comma split into two columns.
BOOST_AUTO_TEST_CASE(export_of_a_decision_with_other_scores_is_a_clear_error) {
  for (const char* scores : {"[[\"risk\",\"80\"]]",
                             "[[\"risk\",\"80\"],[\"priority\",\"0\"],[\"extra\",\"1\"]]",
                             "[[\"priority\",\"0\"],[\"risk\",\"80\"]]"}) {
    BOOST_TEST_CONTEXT(scores) {
      std::string store = reviewed_store("export-scores");
      tamper(store, std::string("DROP TRIGGER decisions_erase_only; UPDATE decisions SET scores = '") +
                        scores + "' WHERE case_key = 'AVR0000756';");
      ct::Run exported = ct::run_crible({"audit", "export", store});
      BOOST_TEST(exported.exit_code == 3);
      BOOST_TEST(exported.out.empty());
      BOOST_TEST(exported.err.find("run 1: the decision about case AVR0000756 (input 755) does not "
                                   "have the run's scores; run `crible audit verify`") !=
                     std::string::npos,
                 exported.err);
    }
  }
  std::string store = reviewed_store("export-comma");
  tamper(store, "DROP TRIGGER decisions_erase_only; UPDATE decisions "
                "SET scores = '[[\"risk\",\"1,2\"],[\"priority\",\"0\"]]' "
                "WHERE case_key = 'AVR0000756';");
  ct::Run exported = ct::run_crible({"audit", "export", store});
  BOOST_TEST(exported.exit_code == 0);
  BOOST_TEST(exported.out.find("\nAVR0000756,HOLD_REVIEW,\"1,2\",0,S1;S3;S4;S8\n") !=
             std::string::npos);
  BOOST_TEST(ct::run_crible({"audit", "verify", store}).exit_code == 4);
}

// An export that stopped at a damaged decision after its first megabytes left a partial CSV in
// --out (and had already truncated the previous file). The file is now written beside its
// target and renamed over it only when whole: on failure the previous file is untouched, a
// new one never appears, and no temporary is left.
BOOST_AUTO_TEST_CASE(a_failed_export_leaves_the_previous_file_untouched) {
  std::string store = reviewed_store("export-whole");
  const fs::path dir = fs::path(store).parent_path();
  const fs::path out = dir / "run.csv";
  ct::Run to_stdout = ct::run_crible({"audit", "export", store});
  BOOST_REQUIRE_EQUAL(to_stdout.exit_code, 0);
  ct::write_file(out, "previous export\n");
  // The file replaced keeps its mode, as when it was written in place (0604: no umask gives it).
  const auto mode = fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read;
  fs::permissions(out, mode);
  ct::Run to_file = ct::run_crible({"audit", "export", store, "--out", out.string()});
  BOOST_TEST(to_file.exit_code == 0, to_file.err);
  BOOST_TEST(ct::read_file(out) == to_stdout.out);
  BOOST_TEST((fs::status(out).permissions() == mode));
  // Case ids 2,000 characters longer make the lines before the last one some 3 MB, written
  // out in 1 MB pieces before the last decision, whose scores are not its run's, stops it.
  ct::write_file(out, "previous export\n");
  tamper(store,
         "DROP TRIGGER decisions_erase_only; "
         "UPDATE decisions SET case_key = case_key || replace(hex(zeroblob(1000)), '00', 'xx'); "
         "UPDATE decisions SET scores = '[[\"risk\",\"80\"]]' WHERE input_index = 1499;");
  for (const fs::path& target : {out, dir / "new.csv"}) {
    BOOST_TEST_CONTEXT(target) {
      ct::Run failed = ct::run_crible({"audit", "export", store, "--out", target.string()});
      BOOST_TEST(failed.exit_code == 3);
      BOOST_TEST(
          failed.err.find("(input 1499) does not have the run's scores") != std::string::npos,
          failed.err);
    }
  }
  BOOST_TEST(ct::read_file(out) == "previous export\n");
  std::set<std::string> files;
  for (const auto& f : fs::directory_iterator(dir))
    if (f.path().extension() != ".sqlite" && f.path().extension() != ".sqlite-wal" &&
        f.path().extension() != ".sqlite-shm")
      files.insert(f.path().filename().string());
  BOOST_TEST((files == std::set<std::string>{"run.csv"}));
}

BOOST_AUTO_TEST_CASE(review_out_matches_eval_and_store_verifies) {
  std::string store = fresh_store("out");
  fs::path out = fs::path(store).parent_path() / "review.csv";
  fs::path review_summary = fs::path(store).parent_path() / "review.json";
  fs::path eval_summary = fs::path(store).parent_path() / "eval.json";
  auto args = review_args(kSample + "/cases.csv", store);
  args.insert(args.end(), {"--out", out.string(), "--summary-json", review_summary.string()});
  ct::Run review = ct::run_crible(args);
  BOOST_REQUIRE_MESSAGE(review.exit_code == 0, review.err);
  ct::Run eval = ct::run_crible({"eval", "rules/mali-2019.rules", "--cases", kSample + "/cases.csv",
                                 "--table", "flows=" + kSample + "/flows.csv", "--table",
                                 "languages=" + kSample + "/languages.csv", "--quiet",
                                 "--summary-json", eval_summary.string()});
  BOOST_TEST(eval.exit_code == 0);
  BOOST_TEST(ct::read_file(out) == eval.out);
  // Review decides as it records, eval all at once: the same counts (the time aside).
  auto counts = [](const fs::path& p) {
    nlohmann::json j = nlohmann::json::parse(ct::read_file(p));
    BOOST_TEST(j.contains("seconds"));
    j.erase("seconds");
    return j;
  };
  BOOST_TEST(counts(review_summary) == counts(eval_summary));
  BOOST_TEST(counts(review_summary).at("decided") == 1500);
  ct::Run exported = ct::run_crible({"audit", "export", store});
  BOOST_TEST(exported.exit_code == 0);
  BOOST_TEST(exported.out == eval.out);
  ct::Run verify = ct::run_crible({"audit", "verify", store});
  BOOST_TEST(verify.exit_code == 0);
  BOOST_TEST(verify.out.rfind("intact: ", 0) == 0);
  ct::Run runs = ct::run_crible({"audit", "runs", store});
  BOOST_TEST(runs.out.find("\n1,complete,") != std::string::npos);
  BOOST_TEST(runs.out.find(",1500,1500,0,") != std::string::npos);
  // The run records the chain head it ended on; with nothing appended since, verify ends there.
  BOOST_TEST(runs.out.rfind("run,status,", 0) == 0);
  BOOST_TEST(runs.out.find(",ruleset_sha256,head_sha256\n") != std::string::npos);
  const std::string run_line = runs.out.substr(runs.out.find('\n') + 1);
  const std::string run_head = run_line.substr(run_line.rfind(',') + 1, 64);
  BOOST_TEST(run_head.size() == 64u);
  ct::Run verified = ct::run_crible({"audit", "verify", store});
  BOOST_TEST(verified.out.find("head " + run_head) != std::string::npos, verified.out << runs.out);
  // Data minimisation: the store never holds a column the rules do not read (centre, status).
  // The run's layout names the fields kept; each detail holds one value for each, no more.
  BOOST_TEST(scalar(store, "SELECT count(*) FROM runs, json_each(detail_layout, '$.fields') f "
                           "WHERE f.value IN ('centre', 'status')") == 0);
  BOOST_TEST(scalar(store, "SELECT count(*) FROM runs, json_each(detail_layout, '$.fields') f "
                           "WHERE f.value IN ('phone', 'nationality')") == 2);
  BOOST_TEST(scalar(store, "SELECT count(*) FROM decisions d, runs r "
                           "WHERE json_array_length(d.detail, '$[6]') = "
                           "json_array_length(r.detail_layout, '$.fields')") == 1500);
  for (const char* centre_or_status : {"SOKONIKO", "\"KIDAL\"", "\"GAO\"", "\"pending\""})
    BOOST_TEST(scalar(store, std::string("SELECT count(*) FROM decisions WHERE detail LIKE '%") +
                                 centre_or_status + "%'") == 0);
  BOOST_TEST(scalar(store, "SELECT count(*) FROM decisions WHERE detail LIKE '%+223%'") > 0);
}

BOOST_AUTO_TEST_CASE(explain_golden_text_and_json_from_the_store_alone) {
  FixedNow now;
  // Review a private copy of the cases, then delete it: explanations must not change.
  fs::path dir = ct::temp_dir("explain-copy");
  fs::copy_file(ct::source_dir() / kSample / "cases.csv", dir / "cases.csv");
  std::string store = (dir / "audit.sqlite").string();
  ct::Run review = ct::run_crible(review_args((dir / "cases.csv").string(), store));
  BOOST_REQUIRE_MESSAGE(review.exit_code == 0, review.err);
  ct::Run before = ct::run_crible({"explain", "--audit", store, "AVR0000756"});
  fs::remove(dir / "cases.csv");
  ct::Run text = ct::run_crible({"explain", "--audit", store, "AVR0000756"});
  BOOST_TEST(text.exit_code == 0);
  BOOST_TEST(text.out == before.out);
  // The store path and hash-free parts are stable; the golden file is reviewed by eye.
  auto golden = [&](const std::string& name, const std::string& actual) {
    std::string diff = ct::compare_golden(ct::test_data() / "explain" / name, actual);
    BOOST_TEST(diff.empty(), diff);
  };
  golden("AVR0000756.txt", text.out);
  ct::Run json = ct::run_crible({"explain", "--audit", store, "AVR0000756", "--format", "json"});
  BOOST_TEST(json.exit_code == 0);
  golden("AVR0000756.json", json.out);
  // A case with unknown criteria names the missing fields.
  ct::Run unknown = ct::run_crible({"explain", "--audit", store, "AVR0000002"});
  BOOST_TEST(unknown.exit_code == 0);
  golden("AVR0000002.txt", unknown.out);
  ct::Run missing = ct::run_crible({"explain", "--audit", store, "NO-SUCH-CASE"});
  BOOST_TEST(missing.exit_code != 0);
  BOOST_TEST(!missing.err.empty());
}

BOOST_AUTO_TEST_CASE(tampering_is_detected_even_without_triggers) {
  struct Edit {
    const char* what;
    const char* sql;
  };
  const std::vector<Edit> edits = {
      {"edited disposition", "DROP TRIGGER decisions_erase_only; UPDATE decisions SET disposition='APPROVE' WHERE case_key='AVR0000756';"},
      {"deleted decision", "DROP TRIGGER decisions_no_delete; DELETE FROM decisions WHERE case_key='AVR0000100';"},
      {"swapped dispositions", "DROP TRIGGER decisions_erase_only; UPDATE decisions SET disposition = CASE disposition WHEN 'APPROVE' THEN 'INELIGIBLE' ELSE 'APPROVE' END WHERE case_key IN ('AVR0000001','AVR0000003');"},
      {"changed ruleset text", "DROP TRIGGER rulesets_no_update; UPDATE rulesets SET source = replace(source, 'points 25', 'points 5');"},
      {"edited evidence", "DROP TRIGGER decisions_erase_only; UPDATE decisions SET detail = replace(detail, '[1,[{},6],', '[1,[{},2],') WHERE case_key = 'AVR0000756';"},
  };
  for (const auto& e : edits) {
    BOOST_TEST_CONTEXT(e.what) {
      std::string store = reviewed_store("tamper");
      BOOST_TEST(ct::run_crible({"audit", "verify", store}).exit_code == 0);
      tamper(store, e.sql);
      ct::Run verify = ct::run_crible({"audit", "verify", store});
      BOOST_TEST(verify.exit_code == 4);
      BOOST_TEST(verify.out.find("TAMPERED") != std::string::npos);
    }
  }
}

// A decision is read with its run's layout: a damaged layout or detail makes explain fail with
// a message naming the decision and pointing to verify, never crash or print half an answer.
BOOST_AUTO_TEST_CASE(explain_of_a_damaged_detail_or_layout_is_a_clear_error) {
  const std::vector<std::pair<const char*, const char*>> damages = {
      {"DROP TRIGGER runs_no_update; UPDATE runs SET detail_layout = '{\"dispositions\":[]}';",
       "does not fit its run's layout"},
      {"DROP TRIGGER runs_no_update; UPDATE runs SET detail_layout = 'garbage';",
       "the run's decision layout is not valid JSON"},
      {"DROP TRIGGER decisions_erase_only; UPDATE decisions SET detail = '[1,2' "
       "WHERE case_key = 'AVR0000756';",
       "the decision's detail is not valid JSON"},
      // Well-formed JSON with a number where explain prints a text: the text explanation
      // died of nlohmann's exception (tests/fuzz/store_fuzzer).
      {"DROP TRIGGER runs_no_update; "
       "UPDATE runs SET detail_layout = replace(detail_layout, '\"id\":\"E1\"', '\"id\":1');",
       "a criterion's id is a number, not a string"},
      // An outcome code out of range printed as "unknown".
      {"DROP TRIGGER decisions_erase_only; UPDATE decisions "
       "SET detail = replace(detail, '[[0,0,[{}]],', '[[7,0,[{}]],') WHERE case_key = 'AVR0000756';",
       "a criterion's outcome is 7, out of range"},
  };
  for (const auto& [sql, message] : damages) {
    BOOST_TEST_CONTEXT(sql) {
      std::string store = reviewed_store("damaged");
      tamper(store, sql);
      for (const char* format : {"text", "json"}) {
        ct::Run explain = ct::run_crible({"explain", "--audit", store, "AVR0000756", "--format", format});
        BOOST_TEST(explain.exit_code == 3);
        BOOST_TEST(explain.out.empty());
        BOOST_TEST(explain.err.find(message) != std::string::npos, explain.err);
        BOOST_TEST(explain.err.find("decision #") != std::string::npos, explain.err);
        BOOST_TEST(explain.err.find("crible audit verify") != std::string::npos, explain.err);
      }
      BOOST_TEST(ct::run_crible({"audit", "verify", store}).exit_code == 4);
    }
  }
}

// A layout that still has its shape but a number where a name belongs expands fine, and the
// text explanation used to abort on it (an uncaught type error, exit 134). Now the text is a
// clear error; JSON shows the values as stored; verify names the edit.
BOOST_AUTO_TEST_CASE(explain_of_a_layout_with_numbers_for_names_is_a_clear_error) {
  // Every signal's id (AVR0000756 has fired signals), every criterion's name.
  auto all = [](const std::string& before, int n, const std::string& after) {
    std::string paths;
    for (int i = 0; i < n; ++i) paths += ", '" + before + std::to_string(i) + after + "', 7";
    return paths;
  };
  for (const std::string& paths : {all("$.signals[", 9, "].id"), all("$.criteria[", 6, "].name")}) {
    BOOST_TEST_CONTEXT(paths) {
      std::string store = reviewed_store("numbers");
      tamper(store, "DROP TRIGGER runs_no_update; UPDATE runs SET detail_layout = "
                    "json_set(detail_layout" + paths + ");");
      ct::Run text = ct::run_crible({"explain", "--audit", store, "AVR0000756"});
      BOOST_TEST(text.exit_code == 3);
      BOOST_TEST(text.out.empty());
      BOOST_TEST(text.err.find("does not fit its run's layout") != std::string::npos, text.err);
      BOOST_TEST(text.err.find("crible audit verify") != std::string::npos, text.err);
      ct::Run json = ct::run_crible({"explain", "--audit", store, "AVR0000756", "--format", "json"});
      BOOST_TEST((json.exit_code == 0 || json.exit_code == 3), json.exit_code << " " << json.err);
      BOOST_TEST(ct::run_crible({"audit", "verify", store}).exit_code == 4);
    }
  }
}

// JSON cannot carry text that is not UTF-8, and nlohmann throws on it: `explain --format json`
// died when the ruleset was read from a file named in Latin-1 (an intact store), or when a
// column was edited to such bytes. They now read with U+FFFD, as in the store's JSON columns.
BOOST_AUTO_TEST_CASE(explain_json_of_texts_not_in_utf8_replaces_them) {
  fs::path dir = ct::temp_dir("latin1-rules");
  const fs::path rules = dir / "r\xe8gles.rules";
  fs::copy_file(ct::source_dir() / "rules/mali-2019.rules", rules);
  const std::string store = (dir / "audit.sqlite").string();
  std::vector<std::string> args = review_args(kSample + "/cases.csv", store);
  args[1] = rules.string();
  ct::Run review = ct::run_crible(args);
  BOOST_REQUIRE_MESSAGE(review.exit_code == 0, review.err);
  BOOST_TEST(ct::run_crible({"audit", "verify", store}).exit_code == 0);
  ct::Run json = ct::run_crible({"explain", "--audit", store, "AVR0000756", "--format", "json"});
  BOOST_TEST(json.exit_code == 0, json.err);
  BOOST_TEST(json.out.find("r\xef\xbf\xbdgles.rules\"") != std::string::npos, json.out);

  tamper(store, "DROP TRIGGER decisions_erase_only; UPDATE decisions "
                "SET disposition_rule = CAST(x'ff' AS TEXT) WHERE case_key = 'AVR0000756';");
  json = ct::run_crible({"explain", "--audit", store, "AVR0000756", "--format", "json"});
  BOOST_TEST(json.exit_code == 0, json.err);
  BOOST_TEST(json.out.find("\"disposition_rule\": \"\xef\xbf\xbd\"") != std::string::npos, json.out);
  BOOST_TEST(ct::run_crible({"audit", "verify", store}).exit_code == 4);
}

BOOST_AUTO_TEST_CASE(triggers_refuse_edits_in_normal_use) {
  std::string store = reviewed_store("triggers");
  sqlite3* db = nullptr;
  sqlite3_open(store.c_str(), &db);
  BOOST_TEST(sqlite3_exec(db, "UPDATE decisions SET disposition='APPROVE'", nullptr, nullptr, nullptr) != SQLITE_OK);
  BOOST_TEST(sqlite3_exec(db, "DELETE FROM decisions", nullptr, nullptr, nullptr) != SQLITE_OK);
  BOOST_TEST(sqlite3_exec(db, "DELETE FROM runs", nullptr, nullptr, nullptr) != SQLITE_OK);
  BOOST_TEST(sqlite3_exec(db, "UPDATE decisions SET detail = NULL", nullptr, nullptr, nullptr) != SQLITE_OK);
  sqlite3_close(db);
  BOOST_TEST(ct::run_crible({"audit", "verify", store}).exit_code == 0);
}

BOOST_AUTO_TEST_CASE(override_then_explain_shows_it_in_order) {
  FixedNow now;
  std::string store = reviewed_store("override");
  ct::Run bad = ct::run_crible({"audit", "override", store, "AVR0000756", "--disposition", "WAVE_THROUGH",
                                "--by", "A. Diallo", "--reason", "typo test"});
  BOOST_TEST(bad.exit_code == 2);
  ct::Run first = ct::run_crible({"audit", "override", store, "AVR0000756", "--disposition", "VERIFY",
                                  "--by", "A. Diallo", "--reason", "phone belongs to the transit centre"});
  BOOST_TEST(first.exit_code == 0);
  ct::Run second = ct::run_crible({"audit", "override", store, "AVR0000756", "--disposition", "APPROVE",
                                   "--by", "M. Traore", "--reason", "verified in interview"});
  BOOST_TEST(second.exit_code == 0);
  ct::Run text = ct::run_crible({"explain", "--audit", store, "AVR0000756"});
  BOOST_TEST(text.out.rfind("case AVR0000756: APPROVE\n", 0) == 0);
  size_t a = text.out.find("by A. Diallo"), b = text.out.find("by M. Traore");
  BOOST_TEST(a != std::string::npos);
  BOOST_TEST(b != std::string::npos);
  BOOST_TEST(a < b);
  BOOST_TEST(ct::run_crible({"audit", "verify", store}).exit_code == 0);
}

// Runs are numbered from 1: any other --run is a usage error that says so, not a run number
// CLI11 would saturate (99999999999999999999 read as 9223372036854775807) or a lookup of a
// run that cannot exist. A run number that could exist but does not is a data error (3).
BOOST_AUTO_TEST_CASE(run_numbers_are_checked_before_the_store_is_read) {
  std::string store = reviewed_store("run-numbers");
  for (const std::string bad : {"0", "-1", "99999999999999999999", "last"}) {
    BOOST_TEST_CONTEXT("--run " << bad) {
      for (const auto& args : std::vector<std::vector<std::string>>{
               {"explain", "--audit", store, "AVR0000756", "--run", bad},
               {"audit", "export", store, "--run", bad},
               {"audit", "override", store, "AVR0000756", "--disposition", "VERIFY", "--by", "A",
                "--reason", "r", "--run", bad}}) {
        ct::Run run = ct::run_crible(args);
        BOOST_TEST(run.exit_code == 2);
        BOOST_TEST(run.err.find("--run: expected a run number (1, 2, ...; `crible audit runs` "
                                "lists them), got '" + bad + "'") != std::string::npos, run.err);
      }
    }
  }
  BOOST_TEST(ct::run_crible({"explain", "--audit", store, "AVR0000756", "--run", "7"}).exit_code == 3);
  BOOST_TEST(ct::run_crible({"explain", "--audit", store, "AVR0000756", "--run", "1"}).exit_code == 0);
  BOOST_TEST(ct::run_crible({"audit", "verify", store}).exit_code == 0);  // no override slipped in
}

BOOST_AUTO_TEST_CASE(erase_keeps_the_chain_verifiable) {
  std::string store = reviewed_store("erase");
  ct::Run erase = ct::run_crible({"audit", "erase", store, "AVR0000756", "--by", "DPO", "--reason", "retention period ended"});
  BOOST_TEST(erase.exit_code == 0);
  BOOST_TEST(ct::run_crible({"audit", "verify", store}).exit_code == 0);
  ct::Run text = ct::run_crible({"explain", "--audit", store, "AVR0000756"});
  BOOST_TEST(text.exit_code == 0);
  BOOST_TEST(text.out.find("+22323340928") == std::string::npos);  // the phone is gone
  BOOST_TEST(text.out.find("HOLD_REVIEW") != std::string::npos);   // the decision is not
  BOOST_TEST(text.out.find("erased") != std::string::npos);
  BOOST_TEST(scalar(store, "SELECT count(*) FROM decisions "
                           "WHERE case_key = 'AVR0000756' AND detail IS NOT NULL") == 0);
  BOOST_TEST(scalar(store, "SELECT count(*) FROM decisions WHERE detail IS NOT NULL") == 1499);
}

// A detail set to NULL or '' by hand, with no erasure covering it, explained as "evidence: not
// available" with exit 0 while verify reported the store broken: it is now an error that says
// the evidence is missing without an erasure and points to verify. An erased decision still
// explains (erase_keeps_the_chain_verifiable).
BOOST_AUTO_TEST_CASE(explain_of_a_detail_removed_without_an_erasure_is_an_error) {
  for (const char* detail : {"NULL", "''"}) {
    BOOST_TEST_CONTEXT("detail = " << detail) {
      std::string store = reviewed_store("detail-removed");
      tamper(store,
             std::string("DROP TRIGGER decisions_erase_only; UPDATE decisions SET detail = ") +
                 detail + " WHERE case_key = 'AVR0000756';");
      for (const char* format : {"text", "json"}) {
        ct::Run explain =
            ct::run_crible({"explain", "--audit", store, "AVR0000756", "--format", format});
        BOOST_TEST(explain.exit_code == 3);
        BOOST_TEST(explain.out.empty());
        BOOST_TEST(explain.err.find("decision #758 (case AVR0000756): its evidence (the personal "
                                    "detail) is missing and no erasure record covers it, so the "
                                    "store fails verification; run `crible audit verify`") !=
                       std::string::npos,
                   explain.err);
      }
      BOOST_TEST(ct::run_crible({"explain", "--audit", store, "AVR0000757"}).exit_code == 0);
      BOOST_TEST(ct::run_crible({"audit", "verify", store}).exit_code == 4);
    }
  }
}

// A detail put back by hand after its erasure (or an erasure recorded without erasing) was
// explained in full, personal data included, beside the line saying it had been erased.
BOOST_AUTO_TEST_CASE(explain_of_an_erased_detail_still_stored_is_an_error) {
  std::string store = reviewed_store("detail-back");
  BOOST_REQUIRE(ct::run_crible({"audit", "erase", store, "AVR0000756", "--by", "DPO", "--reason",
                                "retention period ended"})
                    .exit_code == 0);
  BOOST_REQUIRE(ct::run_crible({"explain", "--audit", store, "AVR0000756"}).exit_code == 0);
  tamper(store,
         "DROP TRIGGER decisions_erase_only; UPDATE decisions SET detail = (SELECT detail FROM "
         "decisions WHERE case_key = 'AVR0000757') WHERE case_key = 'AVR0000756';");
  for (const char* format : {"text", "json"}) {
    BOOST_TEST_CONTEXT(format) {
      ct::Run explain =
          ct::run_crible({"explain", "--audit", store, "AVR0000756", "--format", format});
      BOOST_TEST(explain.exit_code == 3);
      BOOST_TEST(explain.out.empty(), explain.out);
      BOOST_TEST(explain.err.find("covers its personal detail but the detail is still stored, so "
                                  "the store fails verification; run `crible audit verify`") !=
                     std::string::npos,
                 explain.err);
    }
  }
  BOOST_TEST(ct::run_crible({"explain", "--audit", store, "AVR0000757"}).exit_code == 0);
}

// `audit runs` of a store whose ruleset record was deleted by hand printed an empty sha256 with
// exit 0. The run is listed with "(missing)", a warning names it, and the exit code is 3;
// a negative count is an error instead of 18446744073709551615 (docs/decisions.md).
BOOST_AUTO_TEST_CASE(audit_runs_names_a_missing_ruleset_and_refuses_a_negative_count) {
  std::string store = reviewed_store("runs-damaged");
  tamper(store, "DROP TRIGGER rulesets_no_delete; DELETE FROM rulesets;");
  ct::Run runs = ct::run_crible({"audit", "runs", store});
  BOOST_TEST(runs.exit_code == 3);
  BOOST_TEST(runs.out.find(",1500,1500,0,(missing),") != std::string::npos, runs.out);
  BOOST_TEST(runs.err.find("warning: run 1's ruleset (ruleset 1) is not in the audit store " +
                           store + "; run `crible audit verify`") != std::string::npos,
             runs.err);
  tamper(store, "DROP TRIGGER run_ends_no_update; UPDATE run_ends SET rejected = -1;");
  runs = ct::run_crible({"audit", "runs", store});
  BOOST_TEST(runs.exit_code == 3);
  BOOST_TEST(runs.out.find("18446744073709551615") == std::string::npos, runs.out);
  BOOST_TEST(runs.err.find("run 1 has '-1' as its rejected count") != std::string::npos, runs.err);
}

BOOST_AUTO_TEST_CASE(pseudonymised_store_holds_no_raw_identifier) {
  std::string store = fresh_store("pseudo");
  fs::path key = fs::path(store).parent_path() / "key";
  ct::write_file(key, "a secret key kept by the data protection officer\n");
  auto args = review_args(kSample + "/cases.csv", store);
  args.push_back("--pseudonymise-key");
  args.push_back(key.string());
  ct::Run run = ct::run_crible(args);
  BOOST_REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  BOOST_TEST(scalar(store, "SELECT count(*) FROM decisions WHERE detail LIKE '%+22323340928%'") == 0);
  BOOST_TEST(scalar(store, "SELECT count(*) FROM decisions WHERE detail LIKE '%hmac:%'") > 0);
  ct::Run text = ct::run_crible({"explain", "--audit", store, "AVR0000756"});
  BOOST_TEST(text.out.find("is shared by 6 households") != std::string::npos);  // links survive
  BOOST_TEST(ct::run_crible({"audit", "verify", store}).exit_code == 0);
}

BOOST_AUTO_TEST_CASE(newer_schema_version_is_a_clear_error) {
  std::string store = reviewed_store("schema");
  tamper(store, "PRAGMA user_version = 99;");
  ct::Run run = ct::run_crible({"explain", "--audit", store, "AVR0000756"});
  BOOST_TEST(run.exit_code == 3);
  BOOST_TEST(run.err.find("newer") != std::string::npos);
}

// Kills a review with SIGKILL at several moments; the store must verify every time, and
// rerunning the same command must leave exactly one decision per case in that run.
BOOST_AUTO_TEST_CASE(killed_review_resumes_to_one_decision_per_case) {
  fs::path dir = ct::temp_dir("kill");
  // A larger input so that a review takes long enough to be interrupted.
  ct::write_file(dir / "cases.csv", sample_copies(20, 'K'));
  const size_t expected_cases = 1500 * 20;
  for (int delay_ms : {150, 400, 800}) {
    BOOST_TEST_CONTEXT("killed after " << delay_ms << " ms") {
      std::string store = (dir / ("audit-" + std::to_string(delay_ms) + ".sqlite")).string();
      auto args = review_args((dir / "cases.csv").string(), store);
      std::vector<std::string> argv_s{ct::crible_bin().string()};
      argv_s.insert(argv_s.end(), args.begin(), args.end());
      pid_t pid = fork();
      if (pid == 0) {
        if (chdir(ct::source_dir().c_str()) != 0) _exit(127);
        std::vector<char*> argv;
        for (auto& a : argv_s) argv.push_back(a.data());
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        _exit(127);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      kill(pid, SIGKILL);
      int status = 0;
      waitpid(pid, &status, 0);
      ct::Run verify = ct::run_crible({"audit", "verify", store});
      // A kill before the store was created leaves nothing to verify; otherwise it verifies.
      if (fs::exists(store)) BOOST_TEST(verify.exit_code == 0, verify.out + verify.err);
      ct::Run again = ct::run_crible(args);
      BOOST_TEST(again.exit_code == 0, again.err);
      BOOST_TEST(ct::run_crible({"audit", "verify", store}).exit_code == 0);
      int64_t runs = scalar(store, "SELECT count(*) FROM runs");
      int64_t latest = scalar(store, "SELECT max(run_id) FROM decisions");
      BOOST_TEST(runs >= 1);
      BOOST_TEST(scalar(store, "SELECT count(*) FROM decisions WHERE run_id = " + std::to_string(latest)) ==
                 static_cast<int64_t>(expected_cases));
      BOOST_TEST(scalar(store, "SELECT count(DISTINCT input_index) FROM decisions WHERE run_id = " +
                                   std::to_string(latest)) == static_cast<int64_t>(expected_cases));
    }
  }
}

BOOST_AUTO_TEST_CASE(two_reviews_at_once_do_not_interleave) {
  std::string store = fresh_store("concurrent");
  auto args = review_args(kSample + "/cases.csv", store);
  std::vector<std::string> argv_s{ct::crible_bin().string()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<pid_t> pids;
  for (int i = 0; i < 2; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      if (chdir(ct::source_dir().c_str()) != 0) _exit(127);
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 2);
      std::vector<char*> argv;
      for (auto& a : argv_s) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    pids.push_back(pid);
  }
  int ok = 0;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++ok;
    else BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 3));  // failed cleanly
  }
  BOOST_TEST(ok >= 1);
  BOOST_TEST(ct::run_crible({"audit", "verify", store}).exit_code == 0);
  // Every complete run holds each case exactly once.
  BOOST_TEST(scalar(store, "SELECT count(*) FROM (SELECT run_id, input_index, count(*) c FROM decisions GROUP BY 1, 2 HAVING c > 1)") == 0);
}

BOOST_AUTO_TEST_SUITE_END()

// Review builds the records of a batch on several threads while the previous batch is
// written: the store must not depend on the thread count (same chain, same head).
BOOST_AUTO_TEST_SUITE(audit_threads)

BOOST_AUTO_TEST_CASE(review_store_is_the_same_for_any_thread_count) {
  FixedNow now;
  fs::path dir = ct::temp_dir("threads");
  // 12,000 cases: three batches, so that building and writing overlap.
  ct::write_file(dir / "cases.csv", sample_copies(8, 'T'));
  std::vector<std::string> heads;
  for (const std::string threads : {"1", "2", "3"}) {
    const std::string store = (dir / ("audit-" + threads + ".sqlite")).string();
    auto args = review_args((dir / "cases.csv").string(), store);
    args.insert(args.end(), {"--threads", threads, "--out", (dir / ("out-" + threads + ".csv")).string()});
    ct::Run run = ct::run_crible(args);
    BOOST_TEST_REQUIRE(run.exit_code == 0, run.err);
    BOOST_TEST(scalar(store, "SELECT count(*) FROM decisions") == 12000);
    ct::Run runs = ct::run_crible({"audit", "runs", store});
    heads.push_back(runs.out.substr(runs.out.rfind(',') + 1));
  }
  BOOST_TEST(heads[0].size() == 65u);  // 64 hex digits and the newline
  BOOST_TEST(heads[0] == heads[1]);
  BOOST_TEST(heads[0] == heads[2]);
  BOOST_TEST(ct::read_file(dir / "out-1.csv") == ct::read_file(dir / "out-2.csv"));
}

// Runs crible where every thread's stack is 1 GiB and the address space is capped at `cap`
// bytes: below 1 GiB the system refuses crible every thread it asks for, at 2.5 GiB some
// (threads end before the next stage starts its own).
ct::Run run_with_threads_limited(const std::vector<std::string>& args, unsigned long long cap) {
  return ct::run_crible_limited(args, {cap, 1ull << 30});
}

// A thread the system refuses (`ulimit -u`, `ulimit -v`) used to end crible with
// std::terminate: "terminate called after throwing an instance of 'std::system_error'",
// SIGABRT, exit 134, whatever the stage. Now each stage goes on on the threads it is given, to
// the same bytes: review's store and decisions, eval's CSV and JSON lines (several chunks,
// rendered on threads), and warns once at the end.
BOOST_AUTO_TEST_CASE(refused_threads_give_the_same_store_and_decisions) {
  if (!ct::ThreadRefusal::available()) return;  // AddressSanitizer fails under an address cap
  FixedNow now;
  fs::path dir = ct::temp_dir("refused-threads");
  ct::write_file(dir / "cases.csv", sample_copies(3, 'T'));  // 6,000 cases: three batches
  const std::string cases = (dir / "cases.csv").string();
  auto review = [&](const std::string& name) {
    auto args = review_args(cases, (dir / (name + ".sqlite")).string());
    args.insert(args.end(), {"--threads", "4", "--out", (dir / (name + ".csv")).string()});
    return args;
  };
  auto eval = [&](const std::string& format) {
    std::vector<std::string> args = {"eval", "rules/mali-2019.rules", "--cases", cases,
                                     "--table", "flows=" + kSample + "/flows.csv",
                                     "--table", "languages=" + kSample + "/languages.csv",
                                     "--threads", "4", "--quiet", "--format", format};
    return args;
  };
  ct::Run given = ct::run_crible(review("given"));
  BOOST_TEST_REQUIRE(given.exit_code == 0, given.err);
  BOOST_TEST(given.err.find("refused") == std::string::npos, given.err);
  const ct::Run csv = ct::run_crible(eval("csv")), jsonl = ct::run_crible(eval("jsonl"));
  BOOST_TEST_REQUIRE(csv.exit_code == 0, csv.err);
  BOOST_TEST_REQUIRE(jsonl.exit_code == 0, jsonl.err);
  const std::string warning = "warning: the system refused ";
  for (const auto& [name, cap] : {std::pair{"none", 400ull << 20}, std::pair{"some", 2560ull << 20}}) {
    BOOST_TEST_CONTEXT("threads given: " << name) {
      ct::Run limited = run_with_threads_limited(review(name), cap);
      BOOST_TEST_REQUIRE(limited.exit_code == 0, limited.err);
      BOOST_TEST(limited.err.find(warning) != std::string::npos, limited.err);
      BOOST_TEST(ct::read_file(dir / (std::string(name) + ".sqlite")) == ct::read_file(dir / "given.sqlite"));
      BOOST_TEST(ct::read_file(dir / (std::string(name) + ".csv")) == ct::read_file(dir / "given.csv"));
      for (const ct::Run* unlimited : {&csv, &jsonl}) {
        const std::string format = unlimited == &csv ? "csv" : "jsonl";
        ct::Run run = run_with_threads_limited(eval(format), cap);
        BOOST_TEST(run.exit_code == 0, format << ": " << run.err);
        BOOST_TEST(run.out == unlimited->out, format);
        BOOST_TEST(run.err.find(warning) != std::string::npos, format << ": " << run.err);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// Memory runs out at any point of a run: crible stops with exit code 5 and says so, or
// finishes; never a crash. Each cap from the first crible starts under to where it has
// finished three times, 1 MiB apart, for eval (CSV and JSON lines) and review (plain and
// pseudonymised), on two threads. A review stopped leaves a store that verifies. A sweep like this one (the 100k
// bench file, 2.5 MiB steps) found three crashes: the decisions writer unwinding past its
// renderers (SIGABRT, "terminate called without an active exception": red here, every time,
// with its fix undone); libcrypto failing to allocate and the hash going on with a null
// context (SIGSEGV in SHA256_Update); OpenSSL 3.0 setting itself up on first use under the
// limit (SIGSEGV in CRYPTO_THREAD_read_lock). The last two need one of libcrypto's few small
// allocations to be the one that fails, which this sweep does not hit reliably (audit.h,
// CryptoFailure and ready_crypto): tests/unit/audit/crypto_alloc_test.cpp fails each of
// libcrypto's allocations in turn instead.
BOOST_AUTO_TEST_SUITE(memory_limits)

BOOST_AUTO_TEST_CASE(any_memory_limit_ends_in_exit_code_5_or_a_finished_run) {
  if (!ct::ThreadRefusal::available()) return;  // AddressSanitizer fails under an address cap
  fs::path dir = ct::temp_dir("memory-limits");
  ct::write_file(dir / "cases.csv", sample_copies(5, 'M'));  // 10,000 cases: four batches
  ct::write_file(dir / "key", std::string(64, 'a'));
  const std::string cases = (dir / "cases.csv").string();
  const std::string store = (dir / "audit.sqlite").string();
  struct Kind {
    std::string name;
    std::vector<std::string> args;
  };
  std::vector<std::string> eval = {"eval", "rules/mali-2019.rules", "--cases", cases,
                                   "--table", "flows=" + kSample + "/flows.csv",
                                   "--table", "languages=" + kSample + "/languages.csv",
                                   "--threads", "2", "--quiet", "--out", (dir / "out").string()};
  std::vector<Kind> kinds = {{"eval", eval}, {"eval jsonl", eval}, {"review", review_args(cases, store)},
                             {"review pseudonymised", review_args(cases, store)}};
  kinds[1].args.insert(kinds[1].args.end(), {"--format", "jsonl"});
  kinds[2].args.insert(kinds[2].args.end(), {"--threads", "2"});
  kinds[3].args.insert(kinds[3].args.end(), {"--threads", "2", "--pseudonymise-key", (dir / "key").string()});
  // One malloc arena: a thread's own arena reserves 64 MiB of address space that it never
  // uses, and the cap would then measure reservations, not memory (and make glibc retry its
  // failing reservations on every allocation, 1-2 s a run).
  struct OneArena {
    OneArena() { setenv("MALLOC_ARENA_MAX", "1", 1); }
    ~OneArena() { unsetenv("MALLOC_ARENA_MAX"); }
  } one_arena;
  // Below some cap crible cannot start at all: the parser ANTLR generates sets itself up
  // before main (static initialisation), where std::bad_alloc can only abort. The sweep
  // starts at the first cap `crible --version` runs under.
  unsigned long long start = 4;
  while (start < 256 && ct::run_crible_limited({"--version"}, {start << 20, 8ull << 20}).exit_code != 0) ++start;
  BOOST_TEST_REQUIRE(start < 256u);
  for (const Kind& kind : kinds) {
    size_t finished = 0, stopped = 0;
    for (unsigned long long mib = start; mib <= 256 && finished < 3; ++mib) {
      BOOST_TEST_CONTEXT(kind.name << " under " << mib << " MiB") {
        fs::remove(store);
        fs::remove(store + "-wal");
        fs::remove(store + "-shm");
        const ct::Run run = ct::run_crible_limited(kind.args, {mib << 20, 8ull << 20});
        BOOST_TEST((run.exit_code == 0 || run.exit_code == 5), "exit " << run.exit_code << ": " << run.err);
        if (run.exit_code == 0) ++finished;
        if (run.exit_code != 5) continue;
        ++stopped;
        BOOST_TEST(run.err.find("out of memory") != std::string::npos, run.err);
        if (kind.name.rfind("review", 0) == 0 && fs::exists(store)) {
          const ct::Run verify = ct::run_crible({"audit", "verify", store});
          BOOST_TEST(verify.exit_code == 0, verify.out << verify.err);
        }
      }
    }
    // The caps spanned both outcomes: a sweep that never stopped or never finished tests nothing.
    BOOST_TEST(stopped > 0u, kind.name);
    BOOST_TEST(finished == 3u, kind.name);
  }
}

BOOST_AUTO_TEST_SUITE_END()
