// tests/e2e/diff_fmt_test.cpp: `crible diff` and `crible fmt` run as a user would. Outputs
// are compared with golden files under tests/data/diff and tests/data/fmt
// (CRIBLE_BLESS=1 rewrites them; review the diff like code).
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/run_crible.h"

namespace ct = crible::testing;
namespace fs = std::filesystem;

namespace {

const std::string kOld = "rules/mali-2019.rules";
const std::string kStricter = "tests/data/diff/mali-2019-stricter.rules";
const std::string kSmall = "tests/data/conformance/mali-2019-small";
const std::string kSample = "rules/sample";
const std::string kEdge = "tests/data/diff/edge";

std::vector<std::string> diff_args(const std::string& old_rules, const std::string& new_rules,
                                   const std::string& data, const std::string& format = "text") {
  return {"diff",
          old_rules,
          new_rules,
          "--cases",
          data + "/cases.csv",
          "--table",
          "flows=" + data + "/flows.csv",
          "--table",
          "languages=" + data + "/languages.csv",
          "--format",
          format};
}

std::vector<std::string> edge_args(const std::string& format) {
  return {"diff",    kEdge + "/old.rules", kEdge + "/new.rules",
          "--cases", kEdge + "/cases.csv", "--format",
          format};
}

std::string extension(const std::string& format) { return format == "text" ? "txt" : format; }

void expect_golden(const std::string& golden, const std::string& actual) {
  const std::string difference = ct::compare_golden(ct::source_dir() / golden, actual);
  BOOST_TEST(difference.empty(), difference);
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// case_id -> the rest of the row, from `crible eval` CSV output.
std::map<std::string, std::string> eval_rows(const std::string& rules, const std::string& data) {
  ct::Run run = ct::run_crible({"eval", rules, "--cases", data + "/cases.csv", "--table",
                                "flows=" + data + "/flows.csv", "--table",
                                "languages=" + data + "/languages.csv", "--quiet"});
  BOOST_TEST_REQUIRE(run.exit_code == 0, run.err);
  std::map<std::string, std::string> rows;
  for (const auto& line : lines(run.out)) {
    const size_t comma = line.find(',');
    rows[line.substr(0, comma)] = line.substr(comma + 1);
  }
  rows.erase("case_id");
  return rows;
}

std::set<std::string> csv_case_ids(const std::string& csv) {
  std::set<std::string> ids;
  for (const auto& line : lines(csv)) ids.insert(line.substr(0, line.find(',')));
  ids.erase("case_id");
  return ids;
}

// The changed_rules field of a case's row in `crible diff --format csv` output.
std::string changed_rules_of(const std::string& csv, const std::string& case_id) {
  for (const auto& line : lines(csv))
    if (line.rfind(case_id + ",", 0) == 0) return line.substr(line.rfind(',') + 1);
  return "(no row for " + case_id + ")";
}

std::vector<fs::path> fmt_inputs() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(ct::source_dir() / "tests/data/fmt"))
    if (e.path().extension() == ".rules") out.push_back(fs::relative(e.path(), ct::source_dir()));
  std::sort(out.begin(), out.end());
  return out;
}

fs::path expected_of(const fs::path& input) {
  fs::path p = input;
  p.replace_extension(".expected");
  return p;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(diff)

BOOST_AUTO_TEST_CASE(stricter_rules_on_the_small_fixture_golden) {
  for (const std::string format : {"text", "csv", "json"}) {
    BOOST_TEST_CONTEXT("--format " << format) {
      ct::Run run = ct::run_crible(diff_args(kOld, kStricter, kSmall, format));
      BOOST_TEST(run.exit_code == 0);  // differences are not an error
      BOOST_TEST(run.err == "");
      expect_golden("tests/data/diff/stricter-small." + extension(format), run.out);
    }
  }
}

BOOST_AUTO_TEST_CASE(stricter_rules_on_the_sample_golden) {
  ct::Run run = ct::run_crible(diff_args(kOld, kStricter, kSample));
  BOOST_TEST(run.exit_code == 0);
  expect_golden("tests/data/diff/stricter-sample.txt", run.out);
}

// The edge cases: rules and scores only on one side, evidence that differs, unknown findings,
// a disposition only the new ruleset has.
BOOST_AUTO_TEST_CASE(edge_cases_golden) {
  for (const std::string format : {"text", "csv", "json"}) {
    BOOST_TEST_CONTEXT("--format " << format) {
      ct::Run run = ct::run_crible(edge_args(format));
      BOOST_TEST(run.exit_code == 0);
      BOOST_TEST(run.err == "");
      expect_golden("tests/data/diff/edge." + extension(format), run.out);
    }
  }
}

// The changed cases are exactly those whose `crible eval` rows differ: for this change (two
// thresholds) no finding can move between fail and unknown, which eval's `fired` field would
// not show, so the two sets must be equal.
BOOST_AUTO_TEST_CASE(changed_cases_agree_with_two_eval_runs) {
  for (const std::string& data : {kSmall, kSample}) {
    BOOST_TEST_CONTEXT(data) {
      const auto before = eval_rows(kOld, data), after = eval_rows(kStricter, data);
      BOOST_TEST_REQUIRE(before.size() == after.size());
      std::set<std::string> differ;
      for (const auto& [id, row] : before)
        if (after.at(id) != row) differ.insert(id);
      ct::Run run = ct::run_crible(diff_args(kOld, kStricter, data, "csv"));
      BOOST_TEST_REQUIRE(run.exit_code == 0);
      BOOST_TEST(!differ.empty());
      BOOST_TEST(csv_case_ids(run.out) == differ, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(json_counts_add_up_and_reverse_diff_transposes) {
  ct::Run fwd = ct::run_crible(diff_args(kOld, kStricter, kSmall, "json"));
  ct::Run rev = ct::run_crible(diff_args(kStricter, kOld, kSmall, "json"));
  BOOST_TEST_REQUIRE(fwd.exit_code == 0);
  BOOST_TEST_REQUIRE(rev.exit_code == 0);
  const auto f = nlohmann::json::parse(fwd.out), r = nlohmann::json::parse(rev.out);
  size_t total = 0;
  for (const auto& [from, row] : f["matrix"].items())
    for (const auto& [to, n] : row.items()) {
      total += n.get<size_t>();
      BOOST_TEST(r["matrix"][to][from] == n);  // the reverse change moves the same cases back
    }
  BOOST_TEST(total == 2000u);
  BOOST_TEST(f["changed"].size() + f["unchanged"].get<size_t>() == 2000u);
  BOOST_TEST(f["changed"].size() == r["changed"].size());
  for (size_t i = 0; i < f["changed"].size(); ++i) {
    const auto& a = f["changed"][i];
    const auto& b = r["changed"][i];
    BOOST_TEST(a["case_id"] == b["case_id"]);
    BOOST_TEST(a["old"] == b["new"]);
    BOOST_TEST(a["new"] == b["old"]);
    // Only E3 and S1 changed between the two rulesets.
    for (const auto& rule : a["changed_rules"])
      BOOST_TEST((rule["id"] == "E3" || rule["id"] == "S1"), rule.dump());
  }
}

BOOST_AUTO_TEST_CASE(a_ruleset_against_itself_changes_nothing) {
  ct::Run text = ct::run_crible(diff_args(kOld, kOld, kSmall));
  BOOST_TEST(text.exit_code == 0);
  BOOST_TEST(text.out.find("changed: 0 cases") != std::string::npos, text.out);
  BOOST_TEST(text.out.find("unchanged: 2000 cases") != std::string::npos);
  BOOST_TEST(text.out.rfind("disposition transitions over 2000 cases", 0) == 0);  // no case listed
  ct::Run csv = ct::run_crible(diff_args(kOld, kOld, kSmall, "csv"));
  BOOST_TEST(csv.exit_code == 0);
  BOOST_TEST(csv.out ==
             "case_id,old_disposition,new_disposition,old_risk,old_priority,new_risk,new_priority,"
             "changed_rules\n");
}

BOOST_AUTO_TEST_CASE(out_writes_the_file_instead_of_stdout) {
  const fs::path dir = ct::temp_dir("diff-out");
  auto args = diff_args(kOld, kStricter, kSmall, "csv");
  args.push_back("--out");
  args.push_back((dir / "changes.csv").string());
  ct::Run run = ct::run_crible(args);
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(run.out == "");
  BOOST_TEST(ct::read_file(dir / "changes.csv") ==
             ct::read_file(ct::source_dir() / "tests/data/diff/stricter-small.csv"));
}

BOOST_AUTO_TEST_CASE(exit_codes) {
  const fs::path dir = ct::temp_dir("diff-exit");
  // 1: a rule file with an error; both files are checked, and it is named.
  ct::write_file(dir / "broken.rules",
                 "cases\n  case_id: text, key\nend\ndisposition\n  A when nope\nend\n");
  ct::Run broken = ct::run_crible(diff_args(kOld, (dir / "broken.rules").string(), kSmall));
  BOOST_TEST(broken.exit_code == 1);
  BOOST_TEST(broken.err.find("broken.rules") != std::string::npos, broken.err);
  BOOST_TEST(broken.out == "");
  // 2: usage.
  BOOST_TEST(ct::run_crible({"diff", kOld, kStricter}).exit_code == 2);  // no --cases
  BOOST_TEST(ct::run_crible(diff_args(kOld, kStricter, kSmall, "xml")).exit_code == 2);
  auto bad_table = diff_args(kOld, kStricter, kSmall);
  bad_table.push_back("--table");
  bad_table.push_back("phones=x.csv");
  ct::Run unknown_table = ct::run_crible(bad_table);
  BOOST_TEST(unknown_table.exit_code == 2);
  BOOST_TEST(
      unknown_table.err.find("neither ruleset declares a table 'phones'") != std::string::npos,
      unknown_table.err);
  // 3: data.
  ct::Run no_cases = ct::run_crible(diff_args(kOld, kStricter, "tests/data/no-such-dir"));
  BOOST_TEST(no_cases.exit_code == 3);
  // 3: the new schema rejects rows the old one accepts, so the two cannot be compared.
  std::string required = ct::read_file(ct::source_dir() / kOld);
  const std::string phone = "  phone:              text, personal\n";
  BOOST_TEST_REQUIRE(required.find(phone) != std::string::npos);
  required.replace(required.find(phone), phone.size(),
                   "  phone:              text, personal, required\n");
  ct::write_file(dir / "phone-required.rules", required);
  ct::Run incompatible =
      ct::run_crible(diff_args(kOld, (dir / "phone-required.rules").string(), kSmall));
  BOOST_TEST(incompatible.exit_code == 3);
  BOOST_TEST(incompatible.err.find("do not accept the same cases") != std::string::npos,
             incompatible.err);
}

BOOST_AUTO_TEST_CASE(tables_and_parameters_go_to_the_rulesets_that_declare_them) {
  // A parameter only the new ruleset declares: given to it alone, not refused by the old one.
  const fs::path dir = ct::temp_dir("diff-params");
  std::string rules = ct::read_file(ct::source_dir() / kEdge / "new.rules");
  const std::string adult = "pass when age >= 21 or age is missing";
  BOOST_TEST_REQUIRE(rules.find(adult) != std::string::npos);
  rules.replace(rules.find(adult), adult.size(), "pass when age >= min_age or age is missing");
  rules += "\nparameter min_age: integer = 21\n";
  ct::write_file(dir / "new.rules", rules);
  auto args = [&](const std::string& extra_option, const std::string& extra) {
    return std::vector<std::string>{"diff",    kEdge + "/old.rules", (dir / "new.rules").string(),
                                    "--cases", kEdge + "/cases.csv", "--format",
                                    "csv",     extra_option,         extra};
  };
  ct::Run base = ct::run_crible(args("--param", "as_of=2019-01-18"));
  BOOST_TEST_REQUIRE(base.exit_code == 0, base.err);
  BOOST_TEST(base.out == ct::read_file(ct::source_dir() / "tests/data/diff/edge.csv"));
  ct::Run lower = ct::run_crible(args("--param", "min_age=18"));
  BOOST_TEST(lower.exit_code == 0, lower.err);
  BOOST_TEST(changed_rules_of(lower.out, "C1") == "S1", lower.out);  // 19 is adult again: E1 passes
  ct::Run later = ct::run_crible(args("--param", "as_of=2021-06-01"));
  BOOST_TEST(later.exit_code == 0, later.err);
  BOOST_TEST(changed_rules_of(later.out, "C4") == "S2", later.out);  // E2's two years are up
  ct::Run unknown = ct::run_crible(args("--table", "flows=x.csv"));
  BOOST_TEST(unknown.exit_code == 2);
  BOOST_TEST(unknown.err.find("neither ruleset declares a table 'flows'") != std::string::npos,
             unknown.err);
  ct::Run bad = ct::run_crible(args("--param", "min_age"));
  BOOST_TEST(bad.exit_code == 2);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(fmt)

BOOST_AUTO_TEST_CASE(each_input_formats_to_its_golden) {
  const auto inputs = fmt_inputs();
  BOOST_TEST_REQUIRE(inputs.size() >= 4u);
  for (const auto& input : inputs) {
    BOOST_TEST_CONTEXT(input.string()) {
      ct::Run run = ct::run_crible({"fmt", input.string()});
      BOOST_TEST(run.exit_code == 0);
      BOOST_TEST(run.err == "");
      expect_golden(expected_of(input).string(), run.out);
    }
  }
}

BOOST_AUTO_TEST_CASE(goldens_are_formatted_and_pass_check) {
  for (const auto& input : fmt_inputs()) {
    const std::string expected = expected_of(input).string();
    BOOST_TEST_CONTEXT(expected) {
      ct::Run check_fmt = ct::run_crible({"fmt", "--check", expected});
      BOOST_TEST(check_fmt.exit_code == 0);
      BOOST_TEST(check_fmt.out == "");
      ct::Run check = ct::run_crible({"check", expected});
      BOOST_TEST(check.exit_code == 0, check.err);
    }
  }
}

BOOST_AUTO_TEST_CASE(check_lists_the_files_not_formatted) {
  std::vector<std::string> args{"fmt", "--check"};
  std::string listed;
  for (const auto& input : fmt_inputs()) {
    args.push_back(input.string());
    args.push_back(expected_of(input).string());
    if (ct::read_file(ct::source_dir() / input) !=
        ct::read_file(ct::source_dir() / expected_of(input)))
      listed += input.string() + "\n";
  }
  BOOST_TEST_REQUIRE(!listed.empty());
  ct::Run run = ct::run_crible(args);
  BOOST_TEST(run.exit_code == 1);
  BOOST_TEST(run.out == listed);
  BOOST_TEST(run.err.find("not formatted: run `crible fmt --write`") != std::string::npos, run.err);
}

BOOST_AUTO_TEST_CASE(the_diff_rule_files_are_formatted) {
  ct::Run run =
      ct::run_crible({"fmt", "--check", kStricter, kEdge + "/old.rules", kEdge + "/new.rules"});
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(run.out == "");
}

// The reference rulesets are their own goldens: `crible fmt` leaves every file under rules/
// as it is, byte for byte.
BOOST_AUTO_TEST_CASE(every_rule_file_in_rules_is_formatted) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(ct::source_dir() / "rules"))
    if (e.is_regular_file() && e.path().extension() == ".rules")
      files.push_back(fs::relative(e.path(), ct::source_dir()).string());
  std::sort(files.begin(), files.end());
  BOOST_TEST_REQUIRE(!files.empty());
  for (const auto& file : files) {
    BOOST_TEST_CONTEXT(file) {
      ct::Run run = ct::run_crible({"fmt", file});
      BOOST_TEST(run.exit_code == 0, run.err);
      BOOST_TEST(run.out == ct::read_file(ct::source_dir() / file));
    }
  }
  std::vector<std::string> args{"fmt", "--check"};
  args.insert(args.end(), files.begin(), files.end());
  ct::Run check = ct::run_crible(args);
  BOOST_TEST(check.exit_code == 0);
  BOOST_TEST(check.out == "");
  BOOST_TEST(check.err == "");
}

// `crible eval` of a rules file: its decisions CSV, which says nothing of the layout.
std::string decisions_of(const std::string& rules, const std::vector<std::string>& data_args) {
  std::vector<std::string> args{"eval", rules, "--quiet"};
  args.insert(args.end(), data_args.begin(), data_args.end());
  ct::Run run = ct::run_crible(args);
  BOOST_TEST(run.exit_code == 0, rules << ": " << run.err);
  return run.out;
}

// Formatting never changes what the rules decide: each golden input and its formatted text
// decide the cases beside it (NAME.cases.csv, tables NAME.TABLE.csv) identically.
BOOST_AUTO_TEST_CASE(formatting_never_changes_decisions) {
  const fs::path dir = ct::temp_dir("fmt-meaning");
  for (const auto& input : fmt_inputs()) {
    BOOST_TEST_CONTEXT(input.string()) {
      const std::string stem = input.stem().string();
      const fs::path cases = input.parent_path() / (stem + ".cases.csv");
      BOOST_TEST_REQUIRE(fs::exists(ct::source_dir() / cases), "no " << cases << " for " << input);
      std::vector<std::string> data{"--cases", cases.string()};
      for (const auto& e : fs::directory_iterator(ct::source_dir() / input.parent_path())) {
        const std::string name = e.path().filename().string();
        if (name.rfind(stem + ".", 0) != 0 || e.path().extension() != ".csv" ||
            name == stem + ".cases.csv")
          continue;
        const std::string table = name.substr(stem.size() + 1, name.size() - stem.size() - 5);
        data.push_back("--table");
        data.push_back(table + "=" + (input.parent_path() / name).string());
      }
      ct::Run formatted = ct::run_crible({"fmt", input.string()});
      BOOST_TEST_REQUIRE(formatted.exit_code == 0);
      BOOST_TEST(formatted.out != ct::read_file(ct::source_dir() / input));  // not vacuous
      ct::write_file(dir / (stem + ".rules"), formatted.out);
      const std::string before = decisions_of(input.string(), data);
      BOOST_TEST(lines(before).size() > 3u, before);
      BOOST_TEST(decisions_of((dir / (stem + ".rules")).string(), data) == before);
    }
  }
}

// The reference ruleset with every line's indentation and alignment stripped: formatting it
// gives a file that decides the sample exactly as rules/mali-2019.rules does.
BOOST_AUTO_TEST_CASE(a_flattened_reference_ruleset_formats_to_the_same_decisions) {
  const fs::path dir = ct::temp_dir("fmt-flattened");
  std::string flat;
  for (std::string line : lines(ct::read_file(ct::source_dir() / kOld))) {
    line.erase(0, line.find_first_not_of(" \t"));
    std::string squeezed;
    bool in_text = false;
    for (char c : line) {  // runs of spaces outside texts become one
      if (c == '"') in_text = !in_text;
      if (c == ' ' && !in_text && !squeezed.empty() && squeezed.back() == ' ') continue;
      squeezed += c;
    }
    flat += squeezed + "\n";
  }
  ct::write_file(dir / "flat.rules", flat);
  ct::Run formatted = ct::run_crible({"fmt", (dir / "flat.rules").string()});
  BOOST_TEST_REQUIRE(formatted.exit_code == 0, formatted.err);
  BOOST_TEST(formatted.out != flat);
  ct::write_file(dir / "formatted.rules", formatted.out);
  BOOST_TEST(ct::run_crible({"fmt", "--check", (dir / "formatted.rules").string()}).exit_code == 0);
  const std::vector<std::string> data{"--cases",
                                      kSample + "/cases.csv",
                                      "--table",
                                      "flows=" + kSample + "/flows.csv",
                                      "--table",
                                      "languages=" + kSample + "/languages.csv"};
  const std::string reference = decisions_of(kOld, data);
  BOOST_TEST(lines(reference).size() == 1501u);
  BOOST_TEST(decisions_of((dir / "formatted.rules").string(), data) == reference);
}

BOOST_AUTO_TEST_CASE(write_rewrites_in_place) {
  const fs::path dir = ct::temp_dir("fmt-write");
  const fs::path input = "tests/data/fmt/comments-everywhere.rules";
  const fs::path copy = dir / "copy.rules";
  ct::write_file(copy, ct::read_file(ct::source_dir() / input));
  ct::Run run = ct::run_crible({"fmt", "--write", copy.string()});
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(run.out == "");
  BOOST_TEST(ct::read_file(copy) == ct::read_file(ct::source_dir() / expected_of(input)));
  BOOST_TEST(!fs::exists(dir / "copy.rules.crible-fmt.tmp"));
  // Formatting a formatted file changes nothing.
  BOOST_TEST(ct::run_crible({"fmt", "--write", copy.string()}).exit_code == 0);
  BOOST_TEST(ct::read_file(copy) == ct::read_file(ct::source_dir() / expected_of(input)));
}

BOOST_AUTO_TEST_CASE(errors_and_usage) {
  const fs::path dir = ct::temp_dir("fmt-errors");
  ct::write_file(dir / "broken.rules", "criterion E1 X\n  pass when (a\nend\n");
  const std::string before = ct::read_file(dir / "broken.rules");
  ct::Run broken = ct::run_crible({"fmt", "--write", (dir / "broken.rules").string()});
  BOOST_TEST(broken.exit_code == 1);
  BOOST_TEST(broken.err.find(": error") != std::string::npos, broken.err);
  BOOST_TEST(broken.err.find("not formatted") != std::string::npos, broken.err);
  BOOST_TEST(ct::read_file(dir / "broken.rules") == before);  // left alone
  ct::Run missing = ct::run_crible({"fmt", (dir / "no-such.rules").string()});
  BOOST_TEST(missing.exit_code == 1);
  BOOST_TEST(missing.err.find("cannot open") != std::string::npos, missing.err);
  BOOST_TEST(ct::run_crible({"fmt"}).exit_code == 2);
  BOOST_TEST(ct::run_crible({"fmt", "--check", "--write", kOld}).exit_code == 2);
}

BOOST_AUTO_TEST_SUITE_END()
