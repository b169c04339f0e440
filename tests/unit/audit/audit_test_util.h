// Shared helpers of the audit unit tests: a temporary directory per test, sample rulesets,
// runs and decisions, and raw sqlite3 access for playing the part of someone editing the
// store by hand.
#pragma once
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "audit/audit.h"

namespace crible::audit::test {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("crible-audit-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }

 private:
  fs::path dir_;
};

// Sets CRIBLE_NOW for the scope of a test.
class FixedNow {
 public:
  explicit FixedNow(const char* now) { ::setenv("CRIBLE_NOW", now, 1); }
  ~FixedNow() { ::unsetenv("CRIBLE_NOW"); }
};

inline RulesetVersion sample_ruleset(
    const std::string& source = "criterion E1 CONSENT: consent_signed\n") {
  return RulesetVersion{"rules/sample.rules", source, sha256_hex(source), "0.1.0"};
}

inline RunStart sample_start(const std::string& fingerprint = "fp-1") {
  RunStart s;
  s.params = {{"max_share", "3"}, {"region", "Gao"}};
  s.inputs = {{"cases", "cases.csv", sha256_hex("cases")},
              {"table:flows", "flows.csv", sha256_hex("flows")}};
  s.as_of = "2019-01-15";
  s.command = "crible review rules/sample.rules --cases cases.csv";
  s.fingerprint = fingerprint;
  // The rules every decision of the run lists (sample_decision's findings), stored once.
  s.findings = {{"E1", "CONSENT", "criterion", "", 0}, {"S4", "SHARED_PHONE", "signal", "", 2.5}};
  s.detail_layout = "{\"fields\":[\"phone\"]}";
  return s;
}

inline DecisionRecord sample_decision(uint64_t index, const std::string& case_key = "",
                                      size_t detail_bytes = 0) {
  DecisionRecord d;
  d.input_index = index;
  d.case_key = case_key.empty() ? "AVR" + std::to_string(100000 + index) : case_key;
  d.disposition = index % 3 == 0 ? "REFER_PROTECTION" : "ELIGIBLE";
  d.disposition_rule = "1: REFER_PROTECTION when vulnerable";
  d.scores = {{"risk", std::to_string(index % 7) + ".5"}};
  d.fired = index % 2 ? "S4" : "";
  d.outcomes = index % 2 ? "py" : "pn";
  d.findings = {{"E1", "CONSENT", "criterion", "pass", 0},
                {"S4", "SHARED_PHONE", "signal", index % 2 ? "fired" : "not_fired", 2.5}};
  d.detail_json = "{\"fields\":{\"phone\":\"+223 76 00 00 " + std::to_string(index) + "\"}}";
  if (detail_bytes > d.detail_json.size())
    d.detail_json.insert(
        d.detail_json.size() - 1,
        ",\"pad\":\"" + std::string(detail_bytes - d.detail_json.size(), 'x') + "\"");
  return d;
}

// sample_decision(0) .. sample_decision(n - 1).
inline std::vector<DecisionRecord> sample_decisions(uint64_t n) {
  std::vector<DecisionRecord> out;
  for (uint64_t i = 0; i < n; ++i) out.push_back(sample_decision(i));
  return out;
}

inline Store open_store(const std::string& path, const OpenOptions& options = {}) {
  auto s = Store::open(path, options);
  BOOST_REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
  return std::move(s.value());
}

// The chain as one table (seq, kind, hash as lowercase hex), as an auditor would list it
// with the sqlite3 shell: the records of all the chained tables, by seq.
inline const std::string kChain =
    "(SELECT seq, 'ruleset' AS kind, lower(hex(hash)) AS hash FROM rulesets "
    "UNION ALL SELECT seq, 'run', lower(hex(hash)) FROM runs "
    "UNION ALL SELECT seq, 'decision', lower(hex(hash)) FROM decisions "
    "UNION ALL SELECT seq, 'run_end', lower(hex(hash)) FROM run_ends "
    "UNION ALL SELECT seq, 'override', lower(hex(hash)) FROM overrides "
    "UNION ALL SELECT seq, 'erasure', lower(hex(hash)) FROM erasures)";

// A raw sqlite3 connection, as the sqlite3 shell would have.
class Raw {
 public:
  explicit Raw(const std::string& path) {
    BOOST_REQUIRE(sqlite3_open(path.c_str(), &db_) == SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~Raw() { sqlite3_close(db_); }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  // Runs SQL that must succeed.
  void exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    const std::string msg = err ? err : "";
    sqlite3_free(err);
    BOOST_REQUIRE_MESSAGE(rc == SQLITE_OK, sql + ": " + msg);
  }
  // Runs SQL that must fail; returns its error message.
  std::string fails(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    const std::string msg = err ? err : "";
    sqlite3_free(err);
    BOOST_CHECK_MESSAGE(rc != SQLITE_OK, sql + " was expected to fail");
    return msg;
  }
  // The first column of the first row as text ("" for none or NULL).
  std::string text(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    BOOST_REQUIRE_MESSAGE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK,
                          sql + ": " + sqlite3_errmsg(db_));
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
  }
  int64_t integer(const std::string& sql) { return std::stoll("0" + text(sql)); }
  // Drops every protective trigger, as a tamperer would first.
  void drop_triggers() {
    std::vector<std::string> names;
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db_, "SELECT name FROM sqlite_schema WHERE type = 'trigger'", -1, &st,
                       nullptr);
    while (sqlite3_step(st) == SQLITE_ROW)
      names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    BOOST_REQUIRE(!names.empty());
    for (const auto& n : names) exec("DROP TRIGGER " + n);
  }
  sqlite3* get() { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace crible::audit::test
