// `crible test` end to end: the shipped tests of the reference ruleset pass with full
// coverage, and fail when the ruleset is changed; a failing and a malformed test file give
// their golden output and exit codes; --coverage-cases over the conformance fixture gives
// its golden report.
//
// Golden files sit in tests/data/ruletest/ beside their inputs: "exit: N", then stdout, then
// "--- stderr" and stderr when there is any. CRIBLE_BLESS=1 rewrites them.
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "support/run_crible.h"

namespace ct = crible::testing;

namespace {

const std::string kRules = "rules/mali-2019.rules";
const std::string kTests = "rules/mali-2019.tests";
const std::string kData = "tests/data/ruletest";
const std::string kFixture = "tests/data/conformance/mali-2019-small";

std::string golden_text(const ct::Run& run) {
  std::string out = "exit: " + std::to_string(run.exit_code) + "\n" + run.out;
  if (!run.err.empty()) out += "--- stderr\n" + run.err;
  return out;
}

void expect_golden(const std::string& name, const ct::Run& run) {
  std::string diff = ct::compare_golden(ct::source_dir() / kData / name, golden_text(run));
  BOOST_TEST(diff.empty(), diff);
}

std::vector<std::string> coverage_cases_args() {
  return {"test",
          kRules,
          "--coverage-cases",
          kFixture + "/cases.csv",
          "--table",
          "flows=" + kFixture + "/flows.csv",
          "--table",
          "languages=" + kFixture + "/languages.csv",
          "--threads",
          "2"};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(test_command)

BOOST_AUTO_TEST_CASE(reference_tests_pass_with_full_coverage) {
  ct::Run run = ct::run_crible({"test", kRules, kTests, "--min-coverage", "100"});
  BOOST_TEST(run.exit_code == 0, run.out << run.err);
  BOOST_TEST(run.err.empty());
  BOOST_TEST(run.out.find("in 1 file: all passed\n") != std::string::npos);

  ct::Run coverage = ct::run_crible({"test", kRules, kTests, "--coverage"});
  BOOST_TEST(coverage.exit_code == 0);
  BOOST_TEST(coverage.out.find("coverage: 38 of 38 reachable outcomes reached (100.0%)") !=
             std::string::npos);
  BOOST_TEST(
      coverage.out.find("n/a (cannot happen, its condition can never be missing): E1 unknown, "
                        "E2 unknown, E3 unknown, E5 unknown\n") != std::string::npos);
  BOOST_TEST(coverage.out.find("not reached") == std::string::npos);
}

// Each change below breaks one branch of the policy; the shipped tests must catch every one.
BOOST_AUTO_TEST_CASE(reference_tests_catch_a_changed_rule) {
  const std::string original = ct::read_file(ct::source_dir() / kRules);
  BOOST_REQUIRE(!original.empty());
  const std::vector<std::pair<std::string, std::string>> mutations = {
      {"pass when consent_signed", "pass when consent_signed or consular_confirmed"},
      {"and nationality != host_country", ""},
      {"as_of - prior_avrr_on > 730 days", "as_of - prior_avrr_on >= 730 days"},
      {"\"passport\", \"id_card\", \"laissez_passer\"}", "\"passport\", \"id_card\"}"},
      // (Without its `unknown when` clause E4 would still be unknown when no clause holds.)
      {"fail when travel_doc = \"none\" and not consular_confirmed", ""},
      {"or bid_done\n", "\n"},
      {"pass when fit_to_travel\n", "pass when fit_to_travel is missing or fit_to_travel\n"},
      {"count distinct household_id in cases where phone", "count cases where phone"},
      {"households >= 3", "households > 3"},
      {"holders >= 2", "holders > 2"},
      {"registered > 40", "registered >= 40"},
      {"claims > 3 * observed + 10", "claims >= 3 * observed + 10"},
      {"sum observed in flows", "max observed in flows"},
      {"fires when observed = 0", "fires when observed <= 1"},
      {"arrival_date > registered_on", "arrival_date >= registered_on"},
      {"size(spoken) > 0 and ", ""},
      {"not (languages intersects spoken)", "(languages intersects spoken)"},
      {"d - (weekday(d) - 1) days", "d - weekday(d) days"},
      {"this.registered_on - 6 days", "this.registered_on - 5 days"},
      {"referred > 10", "referred >= 10"},
      {"as_of - prior_avrr_on <= 1825 days", "as_of - prior_avrr_on < 1825 days"},
      {"points 40", "points 45"},
      {"30 when \"vot\"", "25 when \"vot\""},
      {"age >= 60", "age > 60"},
      {"household_size = 1", "household_size <= 2"},
      {"and priority >= 30", "and priority > 30"},
      {"HOLD_REVIEW      when risk >= 50", "HOLD_REVIEW      when risk > 50"},
      {"VERIFY           when risk >= 25", "VERIFY           when risk > 25"},
  };
  const auto dir = ct::temp_dir("mutants");
  for (size_t i = 0; i < mutations.size(); ++i) {
    const auto& [from, to] = mutations[i];
    BOOST_TEST_CONTEXT("mutation " << i << ": '" << from << "' -> '" << to << "'") {
      size_t at = original.find(from);
      BOOST_TEST_REQUIRE(at != std::string::npos);
      std::string mutant = original;
      mutant.replace(at, from.size(), to);
      const auto path = dir / ("mutant-" + std::to_string(i) + ".rules");
      ct::write_file(path, mutant);
      ct::Run run = ct::run_crible({"test", path.string(), kTests});
      BOOST_TEST(run.exit_code == 1, run.err);
      BOOST_TEST(run.out.find(" failed, ") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(failing_tests_report_each_failure_and_exit_1) {
  ct::Run run = ct::run_crible({"test", kRules, kData + "/failing.tests"});
  BOOST_TEST(run.exit_code == 1);
  expect_golden("failing.expected", run);
}

BOOST_AUTO_TEST_CASE(malformed_test_files_exit_2) {
  ct::Run syntax = ct::run_crible({"test", kRules, kData + "/malformed.tests"});
  BOOST_TEST(syntax.exit_code == 2);
  BOOST_TEST(syntax.out.empty());
  expect_golden("malformed.expected", syntax);

  ct::Run names = ct::run_crible({"test", kRules, kData + "/unknown-names.tests"});
  BOOST_TEST(names.exit_code == 2);
  expect_golden("unknown-names.expected", names);

  // A malformed file beside a good one: the good one still runs, the exit code is 2.
  ct::Run both = ct::run_crible({"test", kRules, kTests, kData + "/malformed.tests"});
  BOOST_TEST(both.exit_code == 2);
  BOOST_TEST(both.out.find("in 1 file: all passed") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(min_coverage_fails_below_the_minimum) {
  // partial.tests reaches 18 of the 38 reachable outcomes: 47.36...%, shown as 47.3%.
  ct::Run low =
      ct::run_crible({"test", kRules, kData + "/partial.tests", "--min-coverage", "47.4"});
  BOOST_TEST(low.exit_code == 1);
  BOOST_TEST(low.out.find("coverage 47.3% is below --min-coverage 47.4%") != std::string::npos);
  ct::Run enough =
      ct::run_crible({"test", kRules, kData + "/partial.tests", "--min-coverage", "47.3"});
  BOOST_TEST(enough.exit_code == 0, enough.out);
  ct::Run table = ct::run_crible({"test", kRules, kData + "/partial.tests", "--coverage"});
  BOOST_TEST(table.exit_code == 0);
  expect_golden("partial-coverage.expected", table);
}

BOOST_AUTO_TEST_CASE(coverage_over_real_cases) {
  ct::Run run = ct::run_crible(coverage_cases_args());
  BOOST_TEST(run.exit_code == 0);
  expect_golden("coverage-cases-mali-2019-small.expected", run);

  // Ten years later no return is recent: E3 always passes and S9 never fires.
  auto later = coverage_cases_args();
  later.insert(later.end(), {"--param", "as_of=2030-01-01", "--min-coverage", "100"});
  ct::Run run_later = ct::run_crible(later);
  BOOST_TEST(run_later.exit_code == 1);
  expect_golden("coverage-cases-mali-2019-small-2030.expected", run_later);
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_2) {
  ct::Run nothing = ct::run_crible({"test", kRules});
  BOOST_TEST(nothing.exit_code == 2);
  BOOST_TEST(nothing.err.find("give test files, or real cases with --coverage-cases") !=
             std::string::npos);

  ct::Run table = ct::run_crible({"test", kRules, kTests, "--table", "flows=x.csv"});
  BOOST_TEST(table.exit_code == 2);

  // A percentage, said so; NaN used to pass CLI11's range check (every comparison false).
  for (const std::string bad : {"101", "-1", "nan", "inf", "most"}) {
    ct::Run range = ct::run_crible({"test", kRules, kTests, "--min-coverage", bad});
    BOOST_TEST(range.exit_code == 2);
    BOOST_TEST(range.err.find("--min-coverage: expected a percentage from 0 to 100, got '" + bad +
                              "'") != std::string::npos, range.err);
  }

  ct::Run missing = ct::run_crible({"test", kRules, kData + "/no-such.tests"});
  BOOST_TEST(missing.exit_code == 2);
  BOOST_TEST(missing.err.find("cannot open tests/data/ruletest/no-such.tests") !=
             std::string::npos);

  ct::Run cases = ct::run_crible({"test", kRules, "--coverage-cases", kData + "/no-such.csv",
                                  "--table", "flows=" + kFixture + "/flows.csv", "--table",
                                  "languages=" + kFixture + "/languages.csv"});
  BOOST_TEST(cases.exit_code == 3);

  ct::Run rules = ct::run_crible({"test", "rules/no-such.rules", kTests});
  BOOST_TEST(rules.exit_code == 1);
}

BOOST_AUTO_TEST_SUITE_END()
