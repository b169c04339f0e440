// ruletest::run and coverage against checked rulesets: rules/mali-2019.rules, and small
// rulesets written here for the reachability analysis.
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "check/check.h"
#include "ruletest/ruletest.h"
#include "syntax/syntax.h"

namespace rt = crible::ruletest;
namespace fs = std::filesystem;

namespace {

fs::path source_dir() {
  const char* d = std::getenv("CRIBLE_SOURCE_DIR");
  return d ? fs::path(d) : fs::path(".");
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Rules {
  crible::SourceSet sources;
  crible::check::TypedRuleset rules;
};

Rules compile(const std::string& text) {
  Rules r;
  uint32_t f = r.sources.add("r.rules", text);
  auto parsed = crible::syntax::parse(r.sources, f);
  BOOST_REQUIRE_MESSAGE(parsed.value, "rule text does not parse");
  auto checked = crible::check::check(*parsed.value, r.sources);
  BOOST_REQUIRE_MESSAGE(checked.value, "rule text does not check");
  r.rules = std::move(*checked.value);
  return r;
}

const Rules& mali() {
  static const Rules r = compile(slurp(source_dir() / "rules/mali-2019.rules"));
  return r;
}

const std::string kDefaults =
    "defaults registered_on=2018-11-05 centre=BKO-SOKONIKO host_country=MLI nationality=GIN sex=M\n"
    "  consular_confirmed=true consent_signed=true registered_by=STF-1 household_id=HH-{case}\n"
    "  household_size=1 bid_done=false status=pending fit_to_travel=true travel_doc=passport\n";

struct Ran {
  crible::SourceSet sources;
  rt::FileResult result;
  std::unique_ptr<rt::Coverage> coverage;
  size_t failures() const {
    size_t n = 0;
    for (const auto& t : result.tests) n += t.failures.size();
    return n;
  }
  std::string line_col(crible::Span s) const {
    crible::LineCol lc = crible::locate(sources.file(s.file).text, s.begin);
    return std::to_string(lc.line) + ":" + std::to_string(lc.col);
  }
};

Ran run(const std::string& text, const std::string& path = "t.tests") {
  Ran r;
  uint32_t f = r.sources.add(path, text);
  auto parsed = rt::parse(r.sources, f);
  BOOST_REQUIRE_MESSAGE(parsed.value,
                        "test text does not parse: "
                            << (parsed.diagnostics.empty() ? "" : parsed.diagnostics[0].message));
  r.coverage = std::make_unique<rt::Coverage>(mali().rules);
  r.result = rt::run(*parsed.value, r.sources, mali().rules, *r.coverage);
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ruletest_run)

BOOST_AUTO_TEST_CASE(passing_test_has_no_failures_and_counts_coverage) {
  Ran r =
      run(kDefaults +
          "test \"no consent\"\n"
          "  case A consent_signed=false\n"
          "  case B\n"
          "  expect A disposition INELIGIBLE, E1 fails, CONSENT fails, risk = 0, priority <= 0\n"
          "  expect B disposition APPROVE, E1 passes, S1 does not fire\n"
          "end\n");
  BOOST_TEST(r.result.errors.empty());
  BOOST_TEST_REQUIRE(r.result.tests.size() == 1u);
  BOOST_TEST(r.result.tests[0].passed());
  BOOST_TEST(r.result.tests[0].cases == 2u);
  BOOST_TEST(r.coverage->cases == 2u);
  BOOST_TEST(r.coverage->criteria[0][0] == 1u);  // E1 pass
  BOOST_TEST(r.coverage->criteria[0][1] == 1u);  // E1 fail
  BOOST_TEST(r.coverage->disposition[1] == 1u);  // INELIGIBLE
  BOOST_TEST(r.coverage->disposition[5] == 1u);  // APPROVE
}

BOOST_AUTO_TEST_CASE(a_wrong_expectation_fails_at_its_span_with_the_actual_decision) {
  Ran r = run(kDefaults +
              "test \"wrong\"\n"
              "  case A consent_signed=false\n"
              "  expect A disposition APPROVE, E1 fails, risk = 10\n"
              "end\n");
  BOOST_TEST_REQUIRE(r.result.tests.size() == 1u);
  const auto& t = r.result.tests[0];
  BOOST_TEST(!t.passed());
  BOOST_TEST_REQUIRE(t.failures.size() == 1u);  // one failure per expect line and case
  const auto& f = t.failures[0];
  BOOST_TEST(f.case_name == "A");
  BOOST_TEST_REQUIRE(f.problems.size() == 2u);  // E1 fails held
  BOOST_TEST(f.problems[0].message == "case A: expected disposition APPROVE, got INELIGIBLE");
  BOOST_TEST(r.line_col(f.problems[0].span) == "6:12");
  BOOST_TEST(f.problems[1].message == "case A: expected risk = 10, got risk = 0");
  BOOST_TEST(f.explanation.find("case A was decided INELIGIBLE by disposition line 2") !=
             std::string::npos);
  BOOST_TEST(f.explanation.find("E1 CONSENT") != std::string::npos);
  std::string text = rt::render_failure(f, t, r.sources);
  BOOST_TEST(
      text.find("t.tests:6:12: error: case A: expected disposition APPROVE, got INELIGIBLE") == 0u);
  BOOST_TEST(text.find("note: in test \"wrong\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(aggregate_signals_see_every_case_of_the_test) {
  Ran r = run(kDefaults +
              "test \"phone\"\n"
              "  case A B C phone=P1\n"
              "  case D household_id=HH-A phone=P1\n"
              "  case E F phone=P2\n"
              "  expect A B C D S1 fires, SHARED_PHONE fires, risk = 25, disposition VERIFY\n"
              "  expect E F S1 does not fire\n"
              "end\n"
              "test \"phone, fewer\"\n"
              "  case A B phone=P1\n"
              "  expect A S1 fires\n"  // wrong: only this test's cases count
              "end\n");
  BOOST_TEST_REQUIRE(r.result.tests.size() == 2u);
  BOOST_TEST(r.result.tests[0].passed());
  BOOST_TEST(!r.result.tests[1].passed());
  BOOST_TEST(r.result.tests[1].failures[0].explanation.find("households = 2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(rejected_rows_fail_at_the_value_unless_expected) {
  Ran r = run(kDefaults +
              "test \"bad date\"\n"
              "  case A registered_on=2018-02-30\n"
              "  case B\n"
              "  expect B disposition APPROVE\n"
              "end\n"
              "test \"missing required\"\n"
              "  defaults centre=\n"
              "  case A\n"
              "  expect A disposition APPROVE\n"
              "end\n"
              "test \"expected\"\n"
              "  case A sex=Q\n"
              "  expect A rejected\n"
              "end\n"
              "test \"not rejected\"\n"
              "  case A\n"
              "  expect A rejected\n"
              "end\n"
              "test \"duplicate key\"\n"
              "  case A B case_id=K\n"
              "  expect A disposition APPROVE\n"
              "end\n");
  BOOST_TEST_REQUIRE(r.result.tests.size() == 5u);
  const auto& bad = r.result.tests[0];
  BOOST_TEST_REQUIRE(bad.failures.size() == 1u);
  BOOST_TEST(
      bad.failures[0].problems[0].message.find("case A was rejected: bad date '2018-02-30'") == 0u);
  BOOST_TEST(r.line_col(bad.failures[0].problems[0].span) == "5:24");
  BOOST_TEST(bad.cases == 1u);
  const auto& missing = r.result.tests[1];
  BOOST_TEST_REQUIRE(missing.failures.size() == 1u);
  BOOST_TEST(missing.failures[0].problems[0].message ==
             "case A was rejected: missing required field centre");
  BOOST_TEST(r.line_col(missing.failures[0].problems[0].span) ==
             "10:12");  // at `centre=` in the defaults
  BOOST_TEST(r.result.tests[2].passed());
  BOOST_TEST_REQUIRE(r.result.tests[3].failures.size() == 1u);
  BOOST_TEST(r.result.tests[3].failures[0].problems[0].message ==
             "case A: expected the row to be rejected, but it was accepted");
  const auto& dup = r.result.tests[4];
  BOOST_TEST_REQUIRE(dup.failures.size() == 1u);
  BOOST_TEST(dup.failures[0].case_name == "B");
  BOOST_TEST(dup.failures[0].problems[0].message.find("case B was rejected") == 0u);
}

BOOST_AUTO_TEST_CASE(inline_tables_params_and_table_files) {
  const fs::path dir =
      fs::temp_directory_path() / ("crible-ruletest-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  { std::ofstream(dir / "langs.csv") << "nationality,language\nGIN,sus\n"; }
  Ran r = run(kDefaults +
                  "table languages from \"langs.csv\"\n"
                  "test \"flows and languages\"\n"
                  "  table flows\n"
                  "    entry_point=GOGUI week=2018-10-29 observed=3\n"
                  "  end\n"
                  "  case SEEN entry_point=GOGUI arrival_date=2018-10-30 languages=sus\n"
                  "  case UNSEEN entry_point=GOGUI arrival_date=2018-10-22 languages=eng\n"
                  "  expect SEEN S5 does not fire, S7 does not fire\n"
                  "  expect UNSEEN S5 fires, S7 fires, risk = 35\n"
                  "end\n"
                  "test \"as_of per test\"\n"
                  "  param as_of=2019-01-19\n"
                  "  case A prior_avrr_on=2017-01-18\n"
                  "  expect A E3 passes\n"
                  "end\n"
                  "test \"as_of from the ruleset\"\n"
                  "  case A prior_avrr_on=2017-01-18\n"
                  "  expect A E3 fails\n"
                  "end\n"
                  "test \"a bad table row\"\n"
                  "  table flows\n"
                  "    entry_point=GOGUI week=2018-10-29 observed=many\n"
                  "  end\n"
                  "  case A\n"
                  "  expect A disposition APPROVE\n"
                  "end\n",
              (dir / "t.tests").string());
  BOOST_TEST(r.result.errors.empty());
  BOOST_TEST_REQUIRE(r.result.tests.size() == 4u);
  BOOST_TEST(r.result.tests[0].passed());
  BOOST_TEST(r.result.tests[1].passed());
  BOOST_TEST(r.result.tests[2].passed());
  BOOST_TEST_REQUIRE(r.result.tests[3].failures.size() == 1u);
  BOOST_TEST(r.result.tests[3].failures[0].problems[0].message.find(
                 "a row of table flows was rejected: bad integer 'many'") == 0u);
  BOOST_TEST(r.line_col(r.result.tests[3].failures[0].problems[0].span) == "25:48");
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(names_the_ruleset_does_not_know_are_errors_and_nothing_runs) {
  Ran r = run(kDefaults +
              "param as_off=2019-01-01\n"
              "test \"typos\"\n"
              "  param as_of=2019-02-30\n"
              "  table flow\n"
              "  end\n"
              "  table languages from \"missing.csv\"\n"
              "  case A phone_no=1 sex=M sex=F\n"
              "  expect A disposition APROVE, E9 passes, S1 passes, E1 fires, S9 fires, riks = 0\n"
              "end\n");
  BOOST_TEST(r.result.tests.empty());
  std::vector<std::string> messages;
  for (const auto& d : r.result.errors) messages.push_back(d.message);
  BOOST_TEST(
      messages ==
          (std::vector<std::string>{
              "the ruleset has no parameter 'as_off'",
              "bad value for parameter as_of: '2019-02-30' is not a date (expected YYYY-MM-DD)",
              "the ruleset declares no table 'flow'", "cannot open missing.csv",
              "the case schema has no column 'phone_no'", "sex is given twice for case A",
              "no disposition line decides 'APROVE'", "the ruleset has no criterion 'E9'",
              "S1 is a signal: it fires or does not fire",
              "E1 is a criterion: it passes, fails or is unknown",
              "the ruleset has no score 'riks'"}),
      boost::test_tools::per_element());
  BOOST_TEST(r.result.errors[0].hint == "did you mean 'as_of'?");
}

BOOST_AUTO_TEST_CASE(reachability_of_the_reference_ruleset) {
  rt::Reachable r = rt::reachable_outcomes(mali().rules);
  BOOST_TEST_REQUIRE(r.criteria.size() == 6u);
  // E1, E2, E5 read required (or blank-means-none) columns; E3 reads prior_avrr_on only
  // when it is present. E4 has three clauses; E6 reads fit_to_travel, which may be missing.
  const bool unknown[] = {false, false, false, true, false, true};
  for (size_t i = 0; i < 6; ++i) {
    BOOST_TEST_CONTEXT("E" << i + 1) {
      BOOST_TEST(r.criteria[i][0]);
      BOOST_TEST(r.criteria[i][1]);
      BOOST_TEST(r.criteria[i][2] == unknown[i]);
    }
  }
  BOOST_TEST(r.why_not[0] == "its condition can never be missing");
}

BOOST_AUTO_TEST_CASE(reachability_follows_missing_value_guards) {
  Rules small = compile(R"(ruleset "t"
cases
  case_id: text, key
  a: bool
  b: bool, required
  d: date
end
parameter as_of: date = 2019-01-18
criterion C1 ONLY_UNKNOWN "x"
  unknown when a is missing
end
criterion C2 NULLABLE "x"
  pass when a and b
end
criterion C3 GUARDED_AND "x"
  pass when a is present and a
end
criterion C4 GUARDED_OR "x"
  pass when d is missing or as_of - d > 10 days
end
criterion C5 UNGUARDED_OR "x"
  pass when b or as_of - d > 10 days
end
criterion C6 NOT_GUARD "x"
  pass when not (a is missing) and a
end
criterion C7 FAIL_ONLY "x"
  pass when b
  fail when not b
end
disposition
  OK otherwise
end
)");
  rt::Reachable r = rt::reachable_outcomes(small.rules);
  BOOST_TEST_REQUIRE(r.criteria.size() == 7u);
  BOOST_TEST(!r.criteria[0][1]);  // only `unknown when`: cannot fail
  BOOST_TEST(r.criteria[0][2]);
  BOOST_TEST(r.criteria[1][2]);  // a may be missing
  BOOST_TEST(!r.criteria[2][2]);
  BOOST_TEST(!r.criteria[3][2]);
  BOOST_TEST(r.criteria[4][2]);  // b false and d missing: unknown
  BOOST_TEST(!r.criteria[5][2]);
  BOOST_TEST(r.criteria[6][0]);  // several clauses: unknown when none holds
  BOOST_TEST(r.criteria[6][1]);
  BOOST_TEST(r.criteria[6][2]);
}

BOOST_AUTO_TEST_CASE(summary_percent_and_findings) {
  const auto& rules = mali().rules;
  rt::Coverage c(rules);
  rt::Reachable reach = rt::reachable_outcomes(rules);
  rt::CoverageSummary none = rt::summarise(rules, c, reach);
  // 6 criteria: 2 + 2 + 2 + 3 + 2 + 3 = 14, 9 signals x 2 = 18, 6 disposition lines.
  BOOST_TEST(none.reachable == 38u);
  BOOST_TEST(none.reached == 0u);
  BOOST_TEST(none.not_applicable.size() == 4u);
  BOOST_TEST(none.below(0.1));
  BOOST_TEST(!none.below(0.0));
  BOOST_TEST(rt::batch_findings(rules, c, reach) == "findings: no case was decided\n");

  crible::eval::Decisions d;
  d.cases = 2;
  d.n_criteria = 6;
  d.n_signals = 9;
  d.n_scores = 2;
  d.criteria = {0, 0, 0, 0, 0, 0, /**/ 0, 1, 0, 2, 0, 0};
  d.fired.assign(18, 0);
  d.fired[0] = 1;  // S1 fired for the first case
  d.disposition = {5, 1};
  d.scores.assign(4, 0);
  c.add(d);
  rt::CoverageSummary s = rt::summarise(rules, c, reach);
  // E1..E6 pass (6), E2 fail, E4 unknown, S1 fired, 9 not fired, 2 lines = 20.
  BOOST_TEST(s.reached == 20u);
  BOOST_TEST(s.below(60.0));
  BOOST_TEST(!s.below(20.0 * 100 / 38));
  std::string findings = rt::batch_findings(rules, c, reach);
  BOOST_TEST(
      findings.find(
          "E1 CONSENT passed for all 2 cases: its condition was always true (consent_signed)") !=
      std::string::npos);
  BOOST_TEST(findings.find("E4 TRAVEL_DOCUMENT never failed (0 of 2 cases)") != std::string::npos);
  BOOST_TEST(findings.find("E6 FIT_TO_TRAVEL never") ==
             std::string::npos);  // passed for all, said once
  BOOST_TEST(findings.find("S2 SHARED_ID_DOC never fired (0 of 2 cases)") != std::string::npos);
  BOOST_TEST(
      findings.find("disposition line 3 never decided a case: HOLD_REVIEW when risk >= 50") !=
      std::string::npos);
  std::string table = rt::coverage_table(rules, c, reach);
  BOOST_TEST(table.find("coverage: 20 of 38 reachable outcomes reached (52.6%) over 2 cases") !=
             std::string::npos);
  BOOST_TEST(
      table.find("n/a (cannot happen, its condition can never be missing): E1 unknown, E2 unknown, "
                 "E3 unknown, E5 unknown") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(percent_is_rounded_down) {
  BOOST_TEST(rt::format_percent(100.0) == "100.0%");
  BOOST_TEST(rt::format_percent(99.96) == "99.9%");
  BOOST_TEST(rt::format_percent(100.0 * 37 / 38) == "97.3%");
  BOOST_TEST(rt::format_percent(0.0) == "0.0%");
}

BOOST_AUTO_TEST_SUITE_END()
