// engine/ruletest: rule tests written by protection specialists (`crible test`), and coverage:
// which outcome of each criterion, signal and disposition line a set of cases reached.
// In: a test file (already read) and a checked ruleset. Out: failures with spans into the
// test file, and coverage counts. Cases go through the same loader, planner and evaluator as
// `crible eval`: a test decides its cases exactly as a real run would.
//
// # The test file format (also in docs/testing.md)
//
// Line oriented. `#` starts a comment (at the start of a line or of a token). Indentation is
// free. Values are written `name=value`; a value with spaces, commas, `#` or `"` is quoted:
// `intermediary="Sangare, Youssouf"` (a `"` inside quotes is doubled). `name=` (or `name=""`)
// is missing, like an empty CSV field. Sets are `;`-separated: `languages=bam;fra`. In any
// value, `{case}` stands for the case's name: `household_id=H-{case}`.
//
//   param as_of=2019-01-18           # parameters (the ruleset's defaults otherwise)
//   defaults registered_on=2018-11-05 centre=BKO-SOKONIKO host_country=MLI nationality=GIN
//            sex=M household_id=H-{case} ...   # a line starting with name=value continues
//   table languages from "languages.csv"      # a CSV file, relative to the test file
//   table flows                                # or rows given inline, one per line
//     entry_point=INKHALID week=2018-10-29 observed=7
//   end
//
//   test "four households sharing a phone raise S1"
//     case A B C D phone=+22370000001          # several cases with the same fields
//     case E household_id=H-A phone=+22370000001
//     case R1..R41 registered_by=STF-9         # a range: R1, R2, ..., R41
//     expect A S1 fires, risk = 25, disposition VERIFY
//     expect E S1 fires
//     expect R1..R41 S3 fires                  # several subjects; `all` = every case of the test
//   end
//
// Statements at the top level (`param`, `defaults`, `table`) apply to the tests that follow
// them; the same statements inside a test apply to that test only (a `defaults` or `param`
// value overrides the file's, a `table` replaces the file's table of that name). A table given
// nowhere is empty. Each case row is the defaults, then the case's own values; the case key
// column, when not given, is the case's name. A case row the schema rejects (a required field
// missing, a bad date, ...) fails its test at the value or case that caused it, unless the
// test says `expect NAME rejected`.
//
// Expectations, comma separated after the subjects:
//   disposition OUTCOME                          the disposition line that decided
//   E1 passes | E1 fails | E4 is unknown         a criterion, by id or name
//   S1 fires | S2 does not fire                  a signal, by id or name
//   risk = 40   (also != < <= > >=)              a score
//   rejected                                     the row is rejected when loaded
//
// A test file is parsed without the ruleset (`parse`), then bound to it (`run`): names of
// fields, tables, parameters, criteria, signals, scores and outcomes are checked there, and
// a name the ruleset does not know is an error in the test file, not a failed test.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/diagnostic.h"
#include "base/source.h"
#include "base/staged.h"
#include "check/typed_ruleset.h"
#include "eval/eval.h"

namespace crible::ruletest {

// Named limits: a hostile or mistaken test file gets an error at these, never a hang.
struct Limits {
  size_t max_file_bytes = 8u << 20;    // a real test file is a few KB
  size_t max_range = 10000;            // names a single `R1..R10000` range may expand to
  size_t max_cases_per_test = 100000;  // cases of one test, ranges included
  size_t max_errors = 50;              // then parsing stops: later errors are noise
};

// `field=value` as written; `value` is unquoted, empty = missing.
struct Assignment {
  std::string field;
  std::string value;
  Span span;        // the whole `field=value`
  Span value_span;  // the value alone (the position after `=` when empty)
};

// A table given by a test file: rows inline, or a CSV file.
struct TableGiven {
  std::string name;
  std::string path;  // `from PATH` as written, relative to the test file; empty for inline rows
  std::vector<std::vector<Assignment>> rows;
  std::vector<Span> row_spans;
  Span span;  // the table's name on its `table` line
};

struct CaseGiven {
  std::string name;
  std::vector<Assignment> fields;  // as written on its `case` line (and continuation lines)
  Span span;                       // the name (or the range it came from)
};

enum class ExpectKind : uint8_t {
  Disposition,
  Passes,
  Fails,
  IsUnknown,
  Fires,
  DoesNotFire,
  Score,
  Rejected
};
enum class Compare : uint8_t { Eq, Ne, Lt, Le, Gt, Ge };

struct Expectation {
  ExpectKind kind = ExpectKind::Disposition;
  std::string target;  // outcome, criterion/signal id or name, score name; empty for Rejected
  Span target_span;
  Compare compare = Compare::Eq;  // Score only
  double number = 0;              // Score only
  std::string number_text;        // as written, for messages
  Span span;                      // the whole expectation
};

struct ExpectLine {
  std::vector<size_t> cases;  // indexes into Test::cases, in the order named
  std::vector<Expectation> expectations;
  Span span;
};

struct Test {
  std::string name;
  Span span;  // the name on the `test` line
  // In force for this test: the file's statements before it, then its own (later wins).
  std::vector<Assignment> params;
  std::vector<Assignment> defaults;  // file defaults first, then the test's
  std::vector<TableGiven> tables;    // one per table name
  std::vector<CaseGiven> cases;
  std::vector<ExpectLine> expects;
};

struct TestFile {
  uint32_t file = 0;  // in the SourceSet given to parse
  std::vector<Test> tests;
};

// Parses file `file` of `sources`: syntax, case names, ranges and subjects. Reports every
// problem in source order; `value` is set iff there is no error.
Staged<TestFile> parse(const SourceSet& sources, uint32_t file, const Limits& limits = {});

// Printable text of an expectation: "E1 fails", "risk = 40", "disposition APPROVE".
std::string expectation_text(const Expectation& e);

// ---------------------------------------------------------------------------------------
// Running.

// One failed expectation line for one case, or one rejected row.
struct Failure {
  std::string case_name;             // empty for a rejected table row
  std::vector<Diagnostic> problems;  // at least one; spans into the test file
  std::string explanation;           // the actual decision, rendered; empty for a rejected row
};

struct TestResult {
  std::string name;
  Span span;
  size_t cases = 0;  // decided (accepted) cases
  std::vector<Failure> failures;
  bool passed() const { return failures.empty(); }
};

// Outcome counts over every case decided: the raw material of coverage.
struct Coverage {
  size_t cases = 0;
  std::vector<std::array<uint64_t, 3>> criteria;  // by eval::CriterionOutcome
  std::vector<std::array<uint64_t, 2>> signals;   // [fired, not fired]
  std::vector<uint64_t> disposition;              // cases each line decided

  explicit Coverage(const check::TypedRuleset& rules);
  void add(const eval::Decisions& d);
};

struct FileResult {
  // Errors in the test file against the ruleset (an unknown field, criterion, table file...):
  // when there is any, no test of the file was run.
  std::vector<Diagnostic> errors;
  std::vector<TestResult> tests;
  size_t cases = 0;
};

// Binds the file to the ruleset, then runs each test, adding its decisions to `coverage`.
// `sources` must hold the test file (spans point into it); table files named by the test
// file are read relative to its path.
FileResult run(const TestFile& tests, const SourceSet& sources, const check::TypedRuleset& rules,
               Coverage& coverage);

// A failure as text: each problem with its source line and caret, the test it belongs to,
// then the explanation of the actual decision.
std::string render_failure(const Failure& failure, const TestResult& test,
                           const SourceSet& sources);

// ---------------------------------------------------------------------------------------
// Coverage.

// Which outcomes can happen at all. A criterion with a single `pass when`/`fail when` clause
// whose condition can never be missing cannot be unknown (E1 CONSENT reads only a required
// field); one with only an `unknown when` clause cannot fail. The analysis refines the
// checker's Node::nullable: under `x is missing or f(x)`, f(x) is read only when x is present.
struct Reachable {
  std::vector<std::array<bool, 3>> criteria;  // by eval::CriterionOutcome
  std::vector<std::string> why_not;           // per criterion, when an outcome is unreachable
};
Reachable reachable_outcomes(const check::TypedRuleset& rules);

struct CoverageSummary {
  size_t reachable = 0, reached = 0;
  std::vector<std::string> not_reached;     // "E4 unknown", "S3 fired", "disposition line 2"
  std::vector<std::string> not_applicable;  // "E1 unknown"
  // Reached outcomes, in percent of the reachable ones (100 when nothing is reachable).
  double percent() const { return reachable == 0 ? 100.0 : 100.0 * reached / reachable; }
  // Exact: `percent() < p` without rounding.
  bool below(double p) const { return static_cast<double>(reached) * 100.0 < p * reachable; }
};
CoverageSummary summarise(const check::TypedRuleset& rules, const Coverage& coverage,
                          const Reachable& reachable);

// "42.8%": one decimal, rounded down, so that 99.96% never shows as 100.0%.
std::string format_percent(double percent);

// The table printed by `crible test --coverage`: per criterion pass/fail/unknown counts
// (n/a where unreachable), per signal fired/not fired, per disposition line the cases it
// decided, then what was not reached and the total.
std::string coverage_table(const check::TypedRuleset& rules, const Coverage& coverage,
                           const Reachable& reachable);

// The findings of `crible test --coverage-cases`, over a real batch: criteria that never
// failed or that passed for every case, signals that never fired or fired for every case,
// outcomes and disposition lines never reached, with counts.
std::string batch_findings(const check::TypedRuleset& rules, const Coverage& coverage,
                           const Reachable& reachable);

}  // namespace crible::ruletest
