// `crible test`: runs rule tests (engine/ruletest, format in docs/testing.md) and reports
// coverage, over the tests' cases or over a real batch (--coverage-cases).
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "base/diagnostic.h"
#include "cli/authoring.h"
#include "cli/compile.h"
#include "ruletest/ruletest.h"

namespace crible::cli {

namespace {

struct TestOptions {
  std::string rules;
  std::vector<std::string> tests;
  bool coverage = false;
  double min_coverage = 0;
  std::string coverage_cases;
  std::vector<std::string> tables, params;
  int threads = 0;
};

struct Tally {
  size_t tests = 0, failed = 0, cases = 0, files = 0;
};

// Parses and runs one test file; prints malformed-file errors to stderr and failures to
// stdout. Returns false when the file is malformed (or unreadable).
bool run_file(const std::string& path, const check::TypedRuleset& rules, SourceSet& sources,
              ruletest::Coverage& coverage, Tally& tally) {
  bool ok = false;
  std::string error;
  std::string text = read_whole_file(path, ok, error);
  if (!ok) {
    std::cerr << "error: " << error << "\n";
    return false;
  }
  const uint32_t file = sources.add(path, std::move(text));
  auto parsed = ruletest::parse(sources, file);
  for (const auto& d : parsed.diagnostics) std::cerr << render_text(d, sources);
  if (!parsed.value) {
    size_t errors = 0;
    for (const auto& d : parsed.diagnostics) errors += d.severity == Severity::Error;
    std::cerr << fmt::format("{}: {} error{}\n", path, errors, errors == 1 ? "" : "s");
    return false;
  }
  ruletest::FileResult result = ruletest::run(*parsed.value, sources, rules, coverage);
  if (!result.errors.empty()) {
    for (const auto& d : result.errors) std::cerr << render_text(d, sources);
    std::cerr << fmt::format("{}: {} error{}\n", path, result.errors.size(),
                             result.errors.size() == 1 ? "" : "s");
    return false;
  }
  ++tally.files;
  for (const auto& t : result.tests) {
    ++tally.tests;
    if (!t.passed()) ++tally.failed;
    for (const auto& f : t.failures) std::cout << ruletest::render_failure(f, t, sources) << "\n";
  }
  tally.cases += result.cases;
  return true;
}

int check_minimum(const TestOptions& o, const CLI::App* sub, const ruletest::CoverageSummary& s) {
  if (sub->count("--min-coverage") == 0 || !s.below(o.min_coverage)) return kExitOk;
  std::cout << fmt::format("coverage {} is below --min-coverage {}%\n",
                           ruletest::format_percent(s.percent()), o.min_coverage);
  return kExitRuleErrors;
}

int run_test(const TestOptions& o, const CLI::App* sub) {
  if (o.tests.empty() && o.coverage_cases.empty()) {
    std::cerr << "error: give test files, or real cases with --coverage-cases CASES.csv\n"
                 "run `crible test --help` for usage\n";
    return kExitUsage;
  }
  if (o.coverage_cases.empty() && (!o.tables.empty() || !o.params.empty())) {
    std::cerr << "error: --table and --param go with --coverage-cases; a test file gives its own "
                 "tables and parameters (`table`, `param`)\n";
    return kExitUsage;
  }
  int code = kExitOk;
  auto compiled = compile(o.rules, DiagFormat::Text, false, code);
  if (!compiled) return code;
  const check::TypedRuleset& rules = compiled->rules;
  const ruletest::Reachable reachable = ruletest::reachable_outcomes(rules);
  int worst = kExitOk;

  if (!o.tests.empty()) {
    SourceSet sources;
    ruletest::Coverage coverage(rules);
    Tally tally;
    bool malformed = false;
    for (const auto& path : o.tests)
      if (!run_file(path, rules, sources, coverage, tally)) malformed = true;
    if (tally.files > 0) {
      std::cout << fmt::format(
          "{} test{} ({} case{}) in {} file{}: ", tally.tests, tally.tests == 1 ? "" : "s",
          tally.cases, tally.cases == 1 ? "" : "s", tally.files, tally.files == 1 ? "" : "s");
      if (tally.failed == 0)
        std::cout << "all passed\n";
      else
        std::cout << fmt::format("{} failed, {} passed\n", tally.failed,
                                 tally.tests - tally.failed);
    }
    if (tally.failed > 0) worst = kExitRuleErrors;
    if (o.coverage)
      std::cout << fmt::format("\ncoverage of {}:\n", o.rules)
                << ruletest::coverage_table(rules, coverage, reachable);
    if (!malformed)
      worst =
          std::max(worst, check_minimum(o, sub, ruletest::summarise(rules, coverage, reachable)));
    if (malformed) worst = kExitUsage;
  }

  if (!o.coverage_cases.empty()) {
    LoadRequest req{o.coverage_cases, o.tables, o.params, o.threads};
    auto loaded = load(*compiled, req, code);
    if (!loaded) return std::max(worst, code);
    eval::Decisions decisions = loaded->evaluator->evaluate_all(o.threads);
    report_rejects(*loaded, "", code);
    if (code != kExitOk) return std::max(worst, code);
    ruletest::Coverage coverage(rules);
    coverage.add(decisions);
    std::vector<std::string> params;
    for (size_t i = 0; i < rules.parameters.size(); ++i)
      params.push_back(rules.parameters[i].name + " = " + loaded->plan.param_text[i]);
    if (!o.tests.empty()) std::cout << "\n";
    std::cout << fmt::format("coverage of {} over {}: {} cases decided, {} rejected{}\n", o.rules,
                             o.coverage_cases, decisions.cases, loaded->cases.rejects.size(),
                             params.empty() ? "" : fmt::format("; {}", fmt::join(params, ", ")));
    std::cout << ruletest::coverage_table(rules, coverage, reachable);
    std::cout << ruletest::batch_findings(rules, coverage, reachable);
    // With test files too, --min-coverage is about the tests.
    if (o.tests.empty())
      worst =
          std::max(worst, check_minimum(o, sub, ruletest::summarise(rules, coverage, reachable)));
  }
  return worst;
}

}  // namespace

AuthoringCommand register_test_command(CLI::App& app) {
  auto o = std::make_shared<TestOptions>();
  CLI::App* sub = app.add_subcommand(
      "test", "Run rule tests; show which outcomes of each rule the tests (or real cases) reach");
  sub->add_option("RULES", o->rules, "Rule file")->required();
  sub->add_option("TESTS", o->tests, "Test files (format: docs/testing.md)");
  sub->add_flag("--coverage", o->coverage,
                "Print coverage: per criterion pass/fail/unknown, per signal fired/not fired, per "
                "disposition line the cases it decided");
  sub->add_option("--min-coverage", o->min_coverage,
                  "Exit 1 when less than P% of the reachable outcomes were reached")
      ->check(percentage());
  sub->add_option("--coverage-cases", o->coverage_cases,
                  "Report how each rule behaved over a real batch of cases (CSV)");
  sub->add_option("--table", o->tables,
                  "With --coverage-cases: reference table NAME=PATH (repeatable)");
  sub->add_option("--param", o->params, "With --coverage-cases: parameter NAME=VALUE (repeatable)");
  sub->add_option("--threads", o->threads, "With --coverage-cases: threads (default: all cores)")
      ->check(thread_count());
  sub->footer(
      "Exit codes: 0 every test passed (and coverage reached --min-coverage), 1 a test failed, "
      "coverage is below --min-coverage or the rule file has errors, 2 usage errors or a "
      "malformed test file, 3 input data errors (--coverage-cases).");
  return {sub, [o, sub]() { return run_test(*o, sub); }};
}

}  // namespace crible::cli
