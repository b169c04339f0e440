// libFuzzer harness for the stages after check: the input is a rule file. One that parses and
// checks without error is planned and evaluated, as `crible eval` does (cli/compile.cpp), over
// a fixed set of cases: the first kSampleCases of rules/sample/cases.csv and a few rows with
// extreme values (the limits of a 64-bit integer, the first and last dates the loader takes),
// plus an `age` column (integer, some blank) that the sample lacks and several test rulesets
// declare; with the sample's flows and languages, and `as_of = 2019-01-18` when the ruleset
// declares that date parameter. A table of another name gets a file with its header and no row.
// A ruleset whose schema the data does not fit (a column missing from the header, a bad
// parameter) ends with the engine's error, which must say something; then nothing runs.
//
// What must hold, besides no crash, sanitizer report, uncaught exception or hang:
// - the indexes built on one thread and on two, each evaluator deciding every case on as many
//   threads, give byte for byte the same decisions CSV;
// - every accepted case has exactly one decision: a disposition line of the ruleset, an
//   outcome per criterion and per signal;
// - a few cases explained (Evaluator::explain, and a CaseExplainer asked in increasing order,
//   then backwards) agree with evaluate_all's decision and with each other, and their JSON
//   from the audit store's two parts (DecisionEncoder, expand_decision_json) is exactly
//   decision_json with the fields.
// Built by build.sh only. CRIBLE_FUZZ_VERBOSE=1 prints what each input came to.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/diagnostic.h"
#include "base/intern.h"
#include "base/source.h"
#include "check/check.h"
#include "data/data.h"
#include "eval/eval.h"
#include "plan/plan.h"
#include "render/render.h"
#include "syntax/syntax.h"

namespace {

using namespace crible;

// Enough cases for aggregates to find groups (households, phones, weeks), few enough that an
// input runs in milliseconds under the sanitizers. evaluate_all hands out 4,096 cases at a
// time, so its second thread finds no work here: the two-thread run exercises the indexes
// built side by side (prepare), not the split of cases.
constexpr size_t kSampleCases = 300;

// Rows of rules/sample/cases.csv's columns and `age`, with the values at the edges of what
// the loader takes: the case schema of rules/mali-2019.rules accepts them all.
constexpr const char* kEdgeCases =
    "EDGE000001,0000-01-01,BKO-SOKONIKO,MLI,GIN,0000-02-29,F,INKHALID,0000-01-03,passport,"
    "P-1,true,true,man,+22300000001,,BKO-STF-001,0000-01-01,HH-EDGE-1,9223372036854775807,"
    "uasc,false,true,pending,-9223372036854775808\n"
    "EDGE000002,9999-12-31,BKO-SOKONIKO,MLI,GIN,9999-12-31,M,INKHALID,9999-12-31,none,"
    "P-2,false,false,,+22300000001,\"Garba, Salif\",BKO-STF-001,9999-12-31,HH-EDGE-1,"
    "-9223372036854775808,,true,,suspended,9223372036854775807\n"
    "EDGE000003,2019-01-18,BKO-SOKONIKO,MLI,MLI,1970-01-01,X,,,,"
    ",true,true,fra;eng;man,,,BKO-STF-002,,HH-EDGE-3,0,uasc;vot;medical;pregnant;disability,"
    "true,false,registered,0\n";

struct Data {
  std::string cases, flows, languages;
};
Data g_data;
bool g_verbose = false;

// How far inputs got, printed at exit: a run whose inputs rarely reach eval says so.
struct Counts {
  size_t inputs = 0, checked = 0, stopped = 0, evaluated = 0;
} g_counts;

void print_counts() {
  std::fprintf(stderr,
               "eval_fuzzer: %zu inputs, %zu checked without error, %zu stopped by the engine's "
               "error (plan, load), %zu evaluated\n",
               g_counts.inputs, g_counts.checked, g_counts.stopped, g_counts.evaluated);
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "eval_fuzzer: %s\n", what.c_str());
  std::abort();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The header and the first `rows` cases of the sample (which has no field with a line
// break), each with an age: 0 to 96, blank for one case in eleven.
std::string sample_cases(const std::string& text, size_t rows) {
  std::string out;
  size_t at = 0;
  for (size_t i = 0; i <= rows && at < text.size(); ++i) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    out.append(text, at, end - at);
    out += i == 0 ? ",age" : i % 11 == 0 ? "," : "," + std::to_string(i % 97);
    out += '\n';
    at = end + 1;
  }
  return out;
}

std::string header_only(const TableSchema& schema) {
  std::string out;
  for (size_t i = 0; i < schema.columns.size(); ++i)
    out += (i ? "," : "") + render::csv_field(schema.columns[i].name);
  return out + "\n";
}

void say(const std::string& what) {
  if (g_verbose) std::fprintf(stderr, "eval_fuzzer: %s\n", what.c_str());
}

// An error that ends a run must tell the user why, with the exit code of its kind.
void expect_reported(const Error& e, const char* stage) {
  if (e.message.empty() || e.exit_code < 1 || e.exit_code > 5)
    fail(std::string(stage) + " failed with an empty message or exit code " +
         std::to_string(e.exit_code));
  ++g_counts.stopped;
  say(std::string(stage) + ": " + e.message);
}

bool same_score(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

std::string decisions_csv(const check::TypedRuleset& rules, const data::Table& cases,
                          const Interner& interner, const eval::Decisions& d) {
  std::string out = render::decisions_csv_header(rules);
  render::append_decisions_csv(out, rules, cases, interner, d, 0, d.cases);
  return out;
}

void expect_same_csv(const std::string& one, const std::string& two) {
  if (one == two) return;
  size_t at = 0;
  while (at < one.size() && at < two.size() && one[at] == two[at]) ++at;
  size_t line = one.rfind('\n', at == 0 ? 0 : at - 1);
  line = line == std::string::npos ? 0 : line + 1;
  fail("decisions differ between 1 and 2 threads, from:\n  1: " +
       one.substr(line, one.find('\n', line) - line) +
       "\n  2: " + two.substr(line, two.find('\n', line) - line));
}

void expect_one_decision_each(const check::TypedRuleset& rules, const data::Table& cases,
                              const eval::Decisions& d) {
  if (d.cases != cases.rows || d.n_criteria != rules.criteria.size() ||
      d.n_signals != rules.signals.size() || d.n_scores != rules.scores.size() ||
      d.disposition.size() != d.cases || d.scores.size() != d.cases * d.n_scores ||
      d.criteria.size() != d.cases * d.n_criteria || d.fired.size() != d.cases * d.n_signals)
    fail("decisions do not have one entry per case and rule");
  for (size_t r = 0; r < d.cases; ++r) {
    if (d.disposition[r] >= rules.disposition.size())
      fail("case row " + std::to_string(r) + " has disposition line " +
           std::to_string(d.disposition[r]) + " of " + std::to_string(rules.disposition.size()));
    for (size_t k = 0; k < d.n_criteria; ++k)
      if (d.criteria[r * d.n_criteria + k] > 2) fail("criterion outcome out of range");
    for (size_t k = 0; k < d.n_signals; ++k)
      if (d.fired[r * d.n_signals + k] > 1) fail("signal fired neither 0 nor 1");
  }
}

// A detail must be the decision evaluate_all made for its case.
void expect_detail_matches(const eval::CaseDetail& detail, const eval::Decisions& d, size_t row,
                           const char* how) {
  auto mismatch = [&](const std::string& what) {
    fail(std::string(how) + " of case row " + std::to_string(row) + ": " + what +
         " differs from evaluate_all");
  };
  if (detail.row != row) mismatch("the row");
  if (detail.disposition != d.disposition[row]) mismatch("the disposition");
  if (detail.criteria.size() != d.n_criteria || detail.signals.size() != d.n_signals ||
      detail.scores.size() != d.n_scores)
    mismatch("the number of findings");
  for (size_t k = 0; k < d.n_criteria; ++k)
    if (static_cast<uint8_t>(detail.criteria[k].outcome) != d.criteria[row * d.n_criteria + k])
      mismatch("criterion " + std::to_string(k));
  for (size_t k = 0; k < d.n_signals; ++k)
    if (detail.signals[k].fired != (d.fired[row * d.n_signals + k] != 0))
      mismatch("signal " + std::to_string(k));
  for (size_t k = 0; k < d.n_scores; ++k)
    if (!same_score(detail.scores[k], d.scores[row * d.n_scores + k]))
      mismatch("score " + std::to_string(k));
}

// Every 37th case (each batch window of CaseExplainer) and the last three (the edge cases,
// when none was rejected), in increasing order.
std::vector<size_t> cases_to_explain(size_t rows) {
  std::vector<size_t> picked;
  for (size_t r = 0; r < rows; r += 37) picked.push_back(r);
  for (size_t r = rows < 3 ? 0 : rows - 3; r < rows; ++r)
    if (picked.back() < r) picked.push_back(r);
  return picked;
}

void explain_some(const check::TypedRuleset& rules, const data::Table& cases,
                  const Interner& interner, const eval::Evaluator& evaluator,
                  const eval::Decisions& d) {
  const std::vector<size_t> rows = cases_to_explain(d.cases);
  const render::DecisionEncoder encoder(rules);
  std::vector<std::string> json(rows.size());
  eval::CaseExplainer explainer(evaluator);
  for (size_t i = 0; i < rows.size(); ++i) {
    const size_t row = rows[i];
    const eval::CaseDetail alone = evaluator.explain(row);
    expect_detail_matches(alone, d, row, "Evaluator::explain");
    json[i] = render::decision_json(rules, cases, interner, alone);
    const eval::CaseDetail& batched = explainer.explain(row);
    expect_detail_matches(batched, d, row, "CaseExplainer::explain");
    if (render::decision_json(rules, cases, interner, batched) != json[i])
      fail("CaseExplainer and Evaluator::explain explain case row " + std::to_string(row) +
           " differently");

    const std::string whole = render::decision_json(rules, cases, interner, alone, true);
    const std::string case_id = render::case_key(rules, cases, interner, row);
    auto expanded = render::expand_decision_json(
        encoder.layout_json(), encoder.values_json(cases, interner, alone), case_id);
    if (!expanded)
      fail("the stored detail of case row " + std::to_string(row) +
           " does not expand: " + expanded.error().message);
    if (expanded.value() != whole)
      fail("the stored detail of case row " + std::to_string(row) + " expands to other JSON:\n  " +
           expanded.value() + "\n  " + whole);
  }
  // Backwards: each case outside the explainer's window, which must start again.
  for (size_t i = rows.size(); i-- > 0;) {
    if (render::decision_json(rules, cases, interner, explainer.explain(rows[i])) != json[i])
      fail("CaseExplainer asked backwards explains case row " + std::to_string(rows[i]) +
           " differently");
  }
}

struct Run {
  bool evaluated = false;  // false: the ruleset does not compile, or the data does not fit it
  size_t decided = 0, rejected = 0;
};

Run run(const std::string& text) {
  SourceSet sources;
  const uint32_t file = sources.add("fuzz.rules", text);
  auto parsed = syntax::parse(sources, file);
  if (!parsed.value) return {};
  auto checked = check::check(*parsed.value, sources);
  if (!checked.value) return {};
  for (const auto& diag : checked.diagnostics)
    if (diag.severity == Severity::Error) return {};
  const check::TypedRuleset& rules = *checked.value;
  ++g_counts.checked;

  Interner interner;
  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& p : rules.parameters)
    if (p.name == "as_of" && p.type.kind == TypeKind::Date)
      params.emplace_back("as_of", "2019-01-18");
  auto planned = plan::plan(rules, interner, params);
  if (!planned) {
    expect_reported(planned.error(), "plan");
    return {};
  }
  const plan::Plan& plan = planned.value();

  std::vector<data::Table> tables;
  for (size_t i = 0; i < rules.tables.size(); ++i) {
    const TableSchema& schema = rules.tables[i];
    const std::string csv = schema.name == "flows"       ? g_data.flows
                            : schema.name == "languages" ? g_data.languages
                                                         : header_only(schema);
    data::LoadOptions options;
    options.wanted = rules.table_fields_read[i];
    options.threads = 1;
    auto table = data::load_csv_text(csv, schema.name + ".csv", schema, interner, options, false);
    if (!table) {
      expect_reported(table.error(), "loading a table");
      return {};
    }
    tables.push_back(std::move(table.value()));
  }
  data::LoadOptions options;
  options.threads = 1;
  options.wanted.assign(rules.cases.columns.size(), false);
  for (size_t i = 0; i < options.wanted.size(); ++i)
    options.wanted[i] = rules.case_fields_read[i] || rules.row_fields_read[i];
  auto loaded =
      data::load_csv_text(g_data.cases, "cases.csv", rules.cases, interner, options, true);
  if (!loaded) {
    expect_reported(loaded.error(), "loading the cases");
    return {};
  }
  const data::Table& cases = loaded.value();
  if (cases.rows + cases.rejects.size() != cases.read)
    fail("cases read are neither accepted nor rejected");
  interner.release_lookup();  // as cli::load: nothing interns from here on

  std::vector<const data::Table*> table_ptrs;
  for (const auto& t : tables) table_ptrs.push_back(&t);
  auto one = eval::Evaluator::prepare(plan, cases, table_ptrs, 1);
  auto two = eval::Evaluator::prepare(plan, cases, table_ptrs, 2);
  if (!one || !two) {
    if (one || two) fail("preparing fails on one thread or two, not both");
    expect_reported(one.error(), "prepare");
    return {};
  }
  const eval::Decisions d1 = one.value()->evaluate_all(1);
  const eval::Decisions d2 = two.value()->evaluate_all(2);
  expect_one_decision_each(rules, cases, d1);
  expect_same_csv(decisions_csv(rules, cases, interner, d1),
                  decisions_csv(rules, cases, interner, d2));
  explain_some(rules, cases, interner, *one.value(), d1);
  say("decided " + std::to_string(d1.cases) + " cases, " + std::to_string(cases.rejects.size()) +
      " rejected");
  ++g_counts.evaluated;
  return {true, d1.cases, cases.rejects.size()};
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_verbose = std::getenv("CRIBLE_FUZZ_VERBOSE") != nullptr;
  const std::string sample = std::string(CRIBLE_FUZZ_SOURCE_DIR) + "/rules/sample/";
  g_data.cases = sample_cases(read_file(sample + "cases.csv"), kSampleCases) + kEdgeCases;
  g_data.flows = read_file(sample + "flows.csv");
  g_data.languages = read_file(sample + "languages.csv");
  // The reference ruleset must decide every case, or inputs would be skipped, or the edge
  // cases rejected, without a word.
  const Run reference =
      run(read_file(std::string(CRIBLE_FUZZ_SOURCE_DIR) + "/rules/mali-2019.rules"));
  if (!reference.evaluated || reference.rejected != 0)
    fail("rules/mali-2019.rules does not decide all of the harness's cases");
  g_counts = {};
  std::atexit(print_counts);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ++g_counts.inputs;
  run(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
