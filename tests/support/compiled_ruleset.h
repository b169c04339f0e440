// A ruleset taken through the engine's stages (parse, check, plan, load, prepare) without the
// CLI, for the unit tests of the stages that need a prepared evaluator (eval, render).
// Header-only: each unit test executable that includes it gets its own copy.
#pragma once
#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "check/check.h"
#include "data/data.h"
#include "eval/eval.h"
#include "plan/plan.h"
#include "syntax/syntax.h"

namespace crible::testing {

// Heap-allocated and never moved: the plan points at the rules and the evaluator at
// everything else.
struct CompiledRuleset {
  SourceSet sources;
  check::TypedRuleset rules;
  Interner interner;
  plan::Plan plan;
  data::Table cases;
  std::vector<data::Table> tables;
  std::unique_ptr<eval::Evaluator> evaluator;
};

struct RulesetData {
  std::string cases_csv;
  std::vector<std::pair<std::string, std::string>> tables;  // name, CSV text: every declared table
  std::vector<std::pair<std::string, std::string>> params;  // name, value as text
  int threads = 1;
  bool rejects_allowed = false;  // false: a rejected row of cases or tables fails the test
};

// Fails the test, with the diagnostics as messages, on any error on the way. `Fixture`: a
// CompiledRuleset or a test's own type derived from it (with helpers of its own).
template <typename Fixture = CompiledRuleset>
std::unique_ptr<Fixture> compile_ruleset(const std::string& rules_text, const RulesetData& data) {
  auto f = std::make_unique<Fixture>();
  const uint32_t file = f->sources.add("test.rules", rules_text);
  auto ast = syntax::parse(f->sources, file);
  for (const auto& d : ast.diagnostics) BOOST_TEST_MESSAGE(d.message);
  BOOST_REQUIRE_MESSAGE(ast.ok(), "the test ruleset does not parse");
  auto typed = check::check(*ast.value, f->sources);
  for (const auto& d : typed.diagnostics) BOOST_TEST_MESSAGE(d.message);
  BOOST_REQUIRE_MESSAGE(typed.ok(), "the test ruleset does not check");
  f->rules = std::move(*typed.value);
  auto planned = plan::plan(f->rules, f->interner, data.params);
  BOOST_REQUIRE_MESSAGE(planned.ok(), "plan failed");
  f->plan = std::move(planned.value());
  BOOST_REQUIRE_EQUAL(data.tables.size(), f->rules.tables.size());
  for (const auto& decl : f->rules.tables) {
    const std::string* text = nullptr;
    for (const auto& [name, csv] : data.tables)
      if (name == decl.name) text = &csv;
    BOOST_REQUIRE_MESSAGE(text, "no data for table " << decl.name);
    auto t = data::load_csv_text(*text, decl.name, decl, f->interner, {}, false);
    BOOST_REQUIRE_MESSAGE(t.ok(), "table " << decl.name << " does not load");
    BOOST_REQUIRE(data.rejects_allowed || t->rejects.empty());
    f->tables.push_back(std::move(t.value()));
  }
  auto c = data::load_csv_text(data.cases_csv, "cases.csv", f->rules.cases, f->interner);
  BOOST_REQUIRE_MESSAGE(c.ok(), "cases do not load");
  BOOST_REQUIRE(data.rejects_allowed || c->rejects.empty());
  f->cases = std::move(c.value());
  std::vector<const data::Table*> tables;
  for (const auto& t : f->tables) tables.push_back(&t);
  auto ev = eval::Evaluator::prepare(f->plan, f->cases, tables, data.threads);
  BOOST_REQUIRE_MESSAGE(ev.ok(), "prepare failed");
  f->evaluator = std::move(ev.value());
  return f;
}

}  // namespace crible::testing
