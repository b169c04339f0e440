// Hand-made golden cases for `crible eval rules/mali-2019.rules` (issue 4, "Correctness").
//
// Every directory under tests/data/eval holds a small case set and the decisions worked out
// by hand from shared/reference-workload.md (each directory's README.md says why each row is
// what it is):
//
//   cases.csv, flows.csv, languages.csv   the inputs
//   expected.csv                          the decisions, byte for byte
//   params                                optional: one NAME=VALUE a line, given as --param
//   expected_rejects.csv                  optional: the --rejects file; without it, no row
//                                         of any input may be rejected
//
// For each set: crible's stdout must equal expected.csv with --threads 1 and --threads 2
// (and the two runs must be identical), the --rejects file must equal expected_rejects.csv,
// and the summary `read N, decided D, rejected R` must add up. Where bench/sql_reference.sh
// and sqlite3 are available, the independent SQL implementation must produce expected.csv too
// (not for sets with rejected rows: the SQL reference does not validate rows).
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/run_crible.h"

namespace ct = crible::testing;
namespace fs = std::filesystem;

namespace {

// The sets, in the order they are run. A directory on disk that is not listed here (or a
// listed one that is missing) fails `every_set_directory_is_listed`.
const std::vector<std::string> kSets = {
    "criteria",
    "priority-disposition",
    "shared-keys",
    "flows",
    "timeline-language-repeat",
    "intermediary-window",
    "missing-values",
    "as-of-default",
    "as-of-2019-02-28",
    "as-of-2019-03-01",
    "as-of-2020-02-28",
    "as-of-2020-02-29",
    "as-of-2020-03-01",
    "as-of-1900-02-28",
    "as-of-1900-03-01",
    "rfc4180",
    "rejects",
    "header-only",
};

const char* const kDefaultAsOf = "2019-01-18";  // reference-workload.md, "Parameters"
const char* const kRejectsHeader = "file,line,column,reason\n";

// The set's directory as crible is given it: relative to the source directory (crible runs
// there), so that the `file` column of the rejects file is stable.
std::string rel_dir(const std::string& set) {
  return fs::relative(ct::test_data() / "eval" / set, ct::source_dir()).generic_string();
}

fs::path abs_dir(const std::string& set) { return fs::absolute(ct::test_data() / "eval" / set); }

std::vector<std::pair<std::string, std::string>> read_params(const std::string& set) {
  std::vector<std::pair<std::string, std::string>> params;
  fs::path p = abs_dir(set) / "params";
  if (!fs::exists(p)) return params;
  std::istringstream in(ct::read_file(p));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    BOOST_REQUIRE_MESSAGE(eq != std::string::npos && eq > 0,
                          set + "/params: bad line '" + line + "'");
    params.emplace_back(line.substr(0, eq), line.substr(eq + 1));
  }
  return params;
}

std::string as_of_of(const std::string& set) {
  for (const auto& [name, value] : read_params(set))
    if (name == "as_of") return value;
  return kDefaultAsOf;
}

std::vector<std::string> eval_args(const std::string& set, const std::string& threads,
                                   const std::string& rejects) {
  const std::string d = rel_dir(set);
  std::vector<std::string> args = {"eval",      "rules/mali-2019.rules",
                                   "--cases",   d + "/cases.csv",
                                   "--table",   "flows=" + d + "/flows.csv",
                                   "--table",   "languages=" + d + "/languages.csv",
                                   "--threads", threads,
                                   "--rejects", rejects};
  for (const auto& [name, value] : read_params(set)) {
    args.push_back("--param");
    args.push_back(name + "=" + value);
  }
  return args;
}

// Empty when equal, else the first differing line of each. Unlike ct::compare_golden this
// never rewrites the file: these goldens are derived by hand, never blessed from crible.
std::string difference(const fs::path& golden, const std::string& actual) {
  return ct::first_difference(golden, ct::read_file(golden), actual);
}

size_t count_lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// Rows of the expected rejects file that name the cases file (table rejects are listed there
// too but are not counted in the summary's `rejected`). The reasons are plain text without
// newlines, so records are lines.
size_t case_rejects(const std::string& set, const std::string& rejects) {
  const std::string prefix = rel_dir(set) + "/cases.csv,";
  size_t n = 0;
  std::istringstream in(rejects);
  std::string line;
  while (std::getline(in, line)) n += line.rfind(prefix, 0) == 0;
  return n;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::istringstream in(path);
  std::string dir;
  while (std::getline(in, dir, ':')) {
    if (dir.empty()) dir = ".";
    fs::path p = fs::path(dir) / program;
    if (access(p.c_str(), X_OK) == 0 && fs::is_regular_file(p)) return true;
  }
  return false;
}

void check_crible(const std::string& set) {
  const fs::path dir = abs_dir(set);
  BOOST_REQUIRE_MESSAGE(fs::is_directory(dir), "missing set directory " + dir.string());
  const std::string expected = ct::read_file(dir / "expected.csv");
  BOOST_REQUIRE_MESSAGE(!expected.empty(), set + "/expected.csv is missing or empty");
  const bool has_rejects = fs::exists(dir / "expected_rejects.csv");
  const std::string expected_rejects =
      has_rejects ? ct::read_file(dir / "expected_rejects.csv") : std::string(kRejectsHeader);

  const size_t decided = count_lines(expected) - 1;  // minus the header
  const size_t rejected = case_rejects(set, expected_rejects);
  const std::string summary = "read " + std::to_string(decided + rejected) + ", decided " +
                              std::to_string(decided) + ", rejected " + std::to_string(rejected);

  std::string outputs[2];
  const std::string threads[2] = {"1", "2"};
  for (int i = 0; i < 2; ++i) {
    BOOST_TEST_CONTEXT("set " << set << ", --threads " << threads[i]) {
      const fs::path rejects_file = ct::temp_dir("eval-cases-" + set) / "rejects.csv";
      ct::Run run = ct::run_crible(eval_args(set, threads[i], rejects_file.string()));
      BOOST_TEST(run.exit_code == 0, "exit " << run.exit_code << "; stderr:\n" << run.err);
      outputs[i] = run.out;

      // Decisions, byte for byte.
      const std::string diff = difference(dir / "expected.csv", run.out);
      BOOST_TEST(diff.empty(), diff);

      // Rejected rows: file, line, column and reason.
      const std::string actual_rejects = ct::read_file(rejects_file);
      if (has_rejects) {
        const std::string rdiff = difference(dir / "expected_rejects.csv", actual_rejects);
        BOOST_TEST(rdiff.empty(), rdiff);
      } else {
        BOOST_TEST(actual_rejects == kRejectsHeader, "unexpected rejects:\n" << actual_rejects);
      }

      // The summary adds up: read = decided + rejected, with the counts the goldens imply.
      static const std::regex re(R"(read (\d+), decided (\d+), rejected (\d+))");
      std::smatch m;
      BOOST_TEST_REQUIRE(std::regex_search(run.err, m, re), "no summary on stderr:\n" << run.err);
      const unsigned long r = std::stoul(m[1]), d = std::stoul(m[2]), j = std::stoul(m[3]);
      BOOST_TEST(r == d + j, "summary does not add up: " << m[0]);
      BOOST_TEST(m[0].str() == summary);
    }
  }
  BOOST_TEST(outputs[0] == outputs[1], "set " << set << ": --threads 1 and --threads 2 differ");
}

void check_sql(const std::string& set) {
  const fs::path dir = abs_dir(set);
  const fs::path script = fs::absolute(ct::source_dir() / "bench/sql_reference.sh");
  if (fs::exists(dir / "expected_rejects.csv")) {
    BOOST_TEST_MESSAGE("SQL cross-check not applicable to "
                       << set
                       << ": the SQL reference does not validate rows (bench/reference.sql)");
    BOOST_TEST(true);
    return;
  }
  if (!fs::exists(script)) {
    BOOST_WARN_MESSAGE(false, "skipped SQL cross-check of " << set << ": no " << script.string());
    return;
  }
  if (!on_path("sqlite3")) {
    BOOST_WARN_MESSAGE(false, "skipped SQL cross-check of " << set << ": sqlite3 is not on PATH");
    return;
  }
  const fs::path tmp = ct::temp_dir("eval-cases-sql-" + set);
  const fs::path out = tmp / "decisions.csv", err = tmp / "stderr";
  const std::string cmd =
      shell_quote(script.string()) + " " + shell_quote((dir / "cases.csv").string()) + " " +
      shell_quote((dir / "flows.csv").string()) + " " +
      shell_quote((dir / "languages.csv").string()) + " " + shell_quote(as_of_of(set)) + " " +
      shell_quote(out.string()) + " </dev/null >/dev/null 2>" + shell_quote(err.string());
  const int rc = std::system(cmd.c_str());
  BOOST_TEST_REQUIRE(rc == 0, "sql_reference.sh failed on " << set << " (status " << rc << "):\n"
                                                            << ct::read_file(err));
  const std::string diff = difference(dir / "expected.csv", ct::read_file(out));
  BOOST_TEST(diff.empty(), "SQL reference vs " << diff);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(eval_cases)

BOOST_AUTO_TEST_CASE(every_set_directory_is_listed) {
  std::set<std::string> on_disk;
  for (const auto& e : fs::directory_iterator(ct::test_data() / "eval"))
    if (e.is_directory()) on_disk.insert(e.path().filename().string());
  const std::set<std::string> listed(kSets.begin(), kSets.end());
  BOOST_TEST(on_disk == listed, "tests/data/eval and kSets in eval_cases_test.cpp disagree");
}

// One test case per set and check, so that a failure names the set.
#define EVAL_SET(id, name)                         \
  BOOST_AUTO_TEST_CASE(id) { check_crible(name); } \
  BOOST_AUTO_TEST_CASE(id##_sql_reference) { check_sql(name); }

EVAL_SET(criteria, "criteria")
EVAL_SET(priority_disposition, "priority-disposition")
EVAL_SET(shared_keys, "shared-keys")
EVAL_SET(flows, "flows")
EVAL_SET(timeline_language_repeat, "timeline-language-repeat")
EVAL_SET(intermediary_window, "intermediary-window")
EVAL_SET(missing_values, "missing-values")
EVAL_SET(as_of_default, "as-of-default")
EVAL_SET(as_of_2019_02_28, "as-of-2019-02-28")
EVAL_SET(as_of_2019_03_01, "as-of-2019-03-01")
EVAL_SET(as_of_2020_02_28, "as-of-2020-02-28")
EVAL_SET(as_of_2020_02_29, "as-of-2020-02-29")
EVAL_SET(as_of_2020_03_01, "as-of-2020-03-01")
EVAL_SET(as_of_1900_02_28, "as-of-1900-02-28")
EVAL_SET(as_of_1900_03_01, "as-of-1900-03-01")
EVAL_SET(rfc4180, "rfc4180")
EVAL_SET(rejects, "rejects")
EVAL_SET(header_only, "header-only")

#undef EVAL_SET

BOOST_AUTO_TEST_SUITE_END()
