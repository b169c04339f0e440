// tests/unit/render/decision_detail_test.cpp: the audit store keeps a decision's detail as a
// run layout plus the case's own values (render::DecisionEncoder); explanations join them back
// with expand_decision_json(). The join must give exactly the detail decision_json() writes,
// for every case: checked over the shipped sample, every hand-made eval set, and a ruleset
// written to reach what the reference ruleset does not (criterion reasons, expression and
// term scores with unknown terms, skipped disposition lines, decimals, linked cases without a
// reason).
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "render/render.h"
#include "support/compiled_ruleset.h"
#include "support/source_files.h"

namespace crible::render {
namespace {

namespace fs = std::filesystem;

using testing::read_file;
using testing::source_dir;

using Fixture = testing::CompiledRuleset;

// `tables_csv`: name -> CSV text, for the ruleset's table declarations. Rejected rows are
// allowed: the shipped sample has some, on purpose.
std::unique_ptr<Fixture> compile(const std::string& rules_text, const std::string& cases_csv,
                                 const std::vector<std::pair<std::string, std::string>>& tables_csv,
                                 const std::vector<std::pair<std::string, std::string>>& params) {
  testing::RulesetData data;
  data.cases_csv = cases_csv;
  data.tables = tables_csv;
  data.params = params;
  data.rejects_allowed = true;
  return testing::compile_ruleset(rules_text, data);
}

struct Sizes {
  size_t full = 0, values = 0, references = 0;
  std::string all;  // every full detail, for a small set
};

// For every case: the joined detail is byte for byte decision_json(..., with_fields = true).
Sizes check_every_case(const Fixture& f) {
  const DecisionEncoder encoder(f.rules);
  Sizes sizes;
  for (size_t row = 0; row < f.cases.rows; ++row) {
    const eval::CaseDetail detail = f.evaluator->explain(row);
    const std::string full = decision_json(f.rules, f.cases, f.interner, detail, true);
    const std::string values = encoder.values_json(f.cases, f.interner, detail);
    const std::string key = case_key(f.rules, f.cases, f.interner, row);
    auto joined = expand_decision_json(encoder.layout_json(), values, key);
    BOOST_REQUIRE_MESSAGE(joined.ok(),
                          "case " << key << ": " << (joined.ok() ? "" : joined.error().message));
    if (joined.value() != full) {
      BOOST_ERROR("case " << key << ": the joined detail differs\n  joined: " << joined.value()
                          << "\n  direct: " << full << "\n  values: " << values);
      return sizes;
    }
    sizes.full += full.size();
    if (f.cases.rows < 100) sizes.all += full + "\n";
    sizes.values += values.size();
    for (size_t at = values.find("{}"); at != std::string::npos; at = values.find("{}", at + 2))
      ++sizes.references;
  }
  return sizes;
}

std::unique_ptr<Fixture> reference_set(const fs::path& dir) {
  std::vector<std::pair<std::string, std::string>> params;
  if (fs::exists(dir / "params")) {
    std::istringstream lines(read_file(dir / "params"));
    for (std::string line; std::getline(lines, line);) {
      const auto eq = line.find('=');
      if (eq != std::string::npos) params.emplace_back(line.substr(0, eq), line.substr(eq + 1));
    }
  }
  return compile(read_file(source_dir() / "rules" / "mali-2019.rules"),
                 read_file(dir / "cases.csv"),
                 {{"flows", read_file(dir / "flows.csv")},
                  {"languages", read_file(dir / "languages.csv")}},
                 params);
}

// Review explains case after case with one CaseExplainer per thread and renders each detail
// into a reused string. Whatever came before (cases in another order, with more or less
// evidence, sets, linked cases and missing values), each case must come out as a fresh
// Evaluator::explain gives it.
void check_reused_buffers_change_nothing(const Fixture& f) {
  const DecisionEncoder encoder(f.rules);
  eval::CaseExplainer explainer(*f.evaluator);
  // The reference ruleset is explained from decided batches: review's speed depends on it.
  BOOST_TEST(explainer.reads_batches());
  std::string reused;
  std::vector<size_t> order;
  for (size_t row = f.cases.rows; row-- > 0;) order.push_back(row);  // backwards, then
  for (size_t row = 0; row < f.cases.rows; row += 7) order.push_back(row);  // strided
  size_t checked = 0;
  for (size_t row : order) {
    const eval::CaseDetail fresh = f.evaluator->explain(row);
    const eval::CaseDetail& again = explainer.explain(row);
    const std::string want = decision_json(f.rules, f.cases, f.interner, fresh, true);
    const std::string got = decision_json(f.rules, f.cases, f.interner, again, true);
    encoder.values_json(f.cases, f.interner, again, reused);
    const std::string values = encoder.values_json(f.cases, f.interner, fresh);
    if (got != want || reused != values) {
      BOOST_ERROR("case row " << row << ": a reused explainer or buffer changed the detail\n  fresh: "
                              << want << "\n  reused: " << got << "\n  values: " << values
                              << "\n  reused values: " << reused);
      return;
    }
    ++checked;
  }
  BOOST_TEST(checked == order.size());
}

BOOST_AUTO_TEST_CASE(a_reused_explainer_gives_what_explain_gives) {
  check_reused_buffers_change_nothing(*reference_set(source_dir() / "rules" / "sample"));
  for (const auto& entry : fs::directory_iterator(source_dir() / "tests" / "data" / "eval")) {
    if (!entry.is_directory()) continue;
    BOOST_TEST_CONTEXT("eval set " << entry.path().filename().string()) {
      check_reused_buffers_change_nothing(*reference_set(entry.path()));
    }
  }
}

BOOST_AUTO_TEST_CASE(sample_details_join_back_exactly_and_are_much_smaller) {
  auto f = reference_set(source_dir() / "rules" / "sample");
  BOOST_REQUIRE_EQUAL(f->cases.rows, 1500u);
  const Sizes sizes = check_every_case(*f);
  // Evidence that repeats a field is stored as a reference: without that the values would be
  // about a third of the full detail, with it under a fifth.
  BOOST_TEST(sizes.references > 1500u * 10);
  BOOST_TEST(sizes.values * 5 < sizes.full);
}

BOOST_AUTO_TEST_CASE(every_eval_set_joins_back_exactly) {
  size_t sets = 0;
  for (const auto& entry : fs::directory_iterator(source_dir() / "tests" / "data" / "eval")) {
    if (!entry.is_directory()) continue;
    // A set whose rows the loader rejects still has its accepted cases to check.
    BOOST_TEST_CONTEXT("eval set " << entry.path().filename().string()) {
      auto f = reference_set(entry.path());
      check_every_case(*f);
      ++sets;
    }
  }
  BOOST_TEST(sets >= 15u);
}

const char* const kReachRules = R"(ruleset "detail layout reach"

cases
  case_id: text, key
  nationality: text
  phone: text
  weight: number
  age: integer
  arrived: date
end

criterion E1 NOT_HOST "not a national of the host country"
  pass when nationality is present and nationality != "MLI"
  fail when nationality = "MLI"
  reason "nationality {nationality}"
end

criterion E2 ADULT "an adult"
  pass when age >= 18
  fail when age < 18
  unknown when age is missing
end

signal S1 SHARED_PHONE points 2.5
  let sharing = count cases with same phone
  fires when sharing >= 2
end

signal S2 HEAVY points 3
  fires when weight > 80.5
  reason "weight {weight} over {sharing_limit}"
  let sharing_limit = 80.5
end

signal S3 LATE points 1
  let waited = arrived - 2019-01-01
  fires when waited > 2 days
end

score risk = points of fired signals
score urgency
  10 when age < 18
  2.5 when weight > 100
end
score scaled = weight * 1.5

disposition
  REFER when urgency >= 10 and age < 18
  HOLD when risk >= 5
  VERIFY when weight > 90
  APPROVE otherwise
end
)";

BOOST_AUTO_TEST_CASE(a_ruleset_beyond_the_reference_joins_back_exactly) {
  const std::string cases =
      "case_id,nationality,phone,weight,age,arrived\n"
      "A,MLI,+1,81.25,17,2019-01-01\n"
      "B,GIN,+1,,,\n"
      "C,,+2,120,40,2019-02-03\n"
      "D,SEN,+1,79,,2018-12-31\n"
      "\"E, quoted\",\"S\"\"N\",,100.5,5,\n"
      // Texts JSON must escape: a line break, a tab, a backslash and a control character.
      "F,\"line\nbreak\ttab back\\slash \x01 ctl\",+3,50,30,2019-01-05\n";
  auto f = compile(kReachRules, cases, {}, {});
  const Sizes sizes = check_every_case(*f);
  check_reused_buffers_change_nothing(*f);
  // The set reaches what it was written for.
  for (const char* part :
       {"\"skipped_as_unknown\"", "\"reason\":\"nationality MLI\"", "\"holds\":\"unknown\"",
        "\"holds\":\"true\"", "\"linked_cases\"", "\"weight\":81.25", "\"missing\":[\"age\"]",
        "\"condition\":\"", "\"decided_by\":\"", "\"S\\\"N\"",
        "\"waited\":\"33 days\"", "\"waited\":\"-1 days\"", "\"arrived\":\"2019-02-03\"",
        "line\\nbreak\\ttab back\\\\slash \\u0001 ctl"})
    BOOST_TEST(sizes.all.find(part) != std::string::npos, "no " << part << " in\n" << sizes.all);
}

BOOST_AUTO_TEST_CASE(a_damaged_detail_is_an_error_not_a_crash) {
  auto f = reference_set(source_dir() / "rules" / "sample");
  const DecisionEncoder encoder(f->rules);
  const std::string values = encoder.values_json(f->cases, f->interner, f->evaluator->explain(0));
  for (const std::string& bad :
       {std::string("not json"), std::string("{}"), std::string("[]"), std::string("[99]"),
        values.substr(0, values.size() / 2), std::string("[0,[],[],[],[],[],[]]"),
        "[\"x\"" + values.substr(2)}) {
    auto joined = expand_decision_json(encoder.layout_json(), bad, "AVR0000001");
    BOOST_TEST(!joined.ok(), "accepted: " << bad);
  }
  auto wrong_layout = expand_decision_json("{\"dispositions\":[]}", values, "AVR0000001");
  BOOST_TEST(!wrong_layout.ok());
  BOOST_TEST(expand_decision_json(encoder.layout_json(), values, "AVR0000001").ok());
}

// Damage that keeps the JSON well formed but puts a number where `crible explain` prints a
// text, or a code out of range, must be an error too: the text explanation read such members
// with get<std::string>() and died of the exception (found by tests/fuzz/store_fuzzer), a
// float index was converted to an integer (undefined behaviour beyond its range), and an
// outcome code 7 printed as "unknown".
BOOST_AUTO_TEST_CASE(a_detail_explain_would_misread_is_an_error) {
  using json = nlohmann::ordered_json;
  auto f = reference_set(source_dir() / "rules" / "sample");
  const DecisionEncoder encoder(f->rules);
  // AVR0000756: signals fired with linked cases, and a score of terms.
  size_t row = 0;
  while (row < f->cases.rows && case_key(f->rules, f->cases, f->interner, row) != "AVR0000756") ++row;
  BOOST_REQUIRE(row < f->cases.rows);
  const json layout = json::parse(encoder.layout_json());
  const json values = json::parse(encoder.values_json(f->cases, f->interner, f->evaluator->explain(row)));
  size_t linked = 0;  // a signal with linked cases
  while (linked < values[5].size() && values[5][linked].size() < 4) ++linked;
  BOOST_REQUIRE(linked < values[5].size());
  size_t terms = 0;  // a score of terms
  while (terms < layout["scores"].size() && layout["scores"][terms]["form"] != "terms") ++terms;
  BOOST_REQUIRE(terms < layout["scores"].size());

  struct Damage {
    const char* message;
    std::function<void(json& layout, json& values)> edit;
  };
  const std::vector<Damage> damages = {
      {"the disposition line is 1e+300, not an integer", [](json&, json& v) { v[0] = 1e300; }},
      {"the disposition line is 2.0, not an integer", [](json&, json& v) { v[0] = 2.0; }},
      {"the disposition line is -1, out of range", [](json&, json& v) { v[0] = -1; }},
      {"the disposition line is 18446744073709551615, out of range",
       [](json&, json& v) { v[0] = UINT64_MAX; }},
      {"a line skipped is a string, not an integer",
       [](json&, json& v) { v[1] = json::array({"1"}); }},
      {"a criterion's outcome is 7, out of range", [](json&, json& v) { v[4][0][0] = 7; }},
      {"a criterion's clause is 0.5, not an integer", [](json&, json& v) { v[4][0][1] = 0.5; }},
      {"a signal's state is 3, out of range", [](json&, json& v) { v[5][0][0] = 3; }},
      {"a score term's truth is 9, out of range",
       [&](json&, json& v) { v[3][terms][0] = 9; }},
      {"a signal's linked cases are not a list", [&](json&, json& v) { v[5][linked][3] = "AVR1"; }},
      {"a linked case is a number, not a string",
       [&](json&, json& v) { v[5][linked][3] = json::array({1}); }},
      {"a criterion's id is a number, not a string",
       [](json& l, json&) { l["criteria"][0]["id"] = 1; }},
      {"a criterion's name is null, not a string",
       [](json& l, json&) { l["criteria"][0]["name"] = nullptr; }},
      {"a clause is an object, not a string",
       [](json& l, json&) { l["criteria"][0]["clauses"][0] = json::object(); }},
      {"a criterion's reason is a number, not a string",
       [](json& l, json& v) {
         l["criteria"][0]["reason"] = true;
         v[4][0].push_back(5);
       }},
      {"a signal's id is a boolean, not a string", [](json& l, json&) { l["signals"][0]["id"] = true; }},
      {"a signal's condition is a list, not a string",
       [](json& l, json&) { l["signals"][0]["condition"] = json::array(); }},
      {"a disposition line is a number, not a string",
       [](json& l, json&) {
         for (auto& line : l["dispositions"]) line[1] = 1;
       }},
      {"a score term is a number, not a string",
       [&](json& l, json& v) {
         l["scores"][terms]["terms"][0][0] = 1;
         v[3][terms][0] = 1;  // holds: the term is shown
       }},
  };
  for (const auto& d : damages) {
    BOOST_TEST_CONTEXT(d.message) {
      json l = layout, v = values;
      d.edit(l, v);
      auto joined = expand_decision_json(l.dump(), v.dump(), "AVR0000756");
      BOOST_TEST(!joined.ok());
      if (joined.ok()) continue;
      BOOST_TEST(joined.error().message.find(d.message) != std::string::npos, joined.error().message);
      BOOST_TEST(joined.error().message.find("does not fit its run's layout") != std::string::npos);
    }
  }
  BOOST_TEST(expand_decision_json(layout.dump(), values.dump(), "AVR0000756").ok());
}

// A case id that is not UTF-8 (only in an edited store: loading refuses it) reads with U+FFFD
// instead of making nlohmann throw.
BOOST_AUTO_TEST_CASE(a_case_id_not_in_utf8_reads_with_a_replacement_character) {
  auto f = reference_set(source_dir() / "rules" / "sample");
  const DecisionEncoder encoder(f->rules);
  const std::string values = encoder.values_json(f->cases, f->interner, f->evaluator->explain(0));
  auto joined = expand_decision_json(encoder.layout_json(), values, "AVR\xff");
  BOOST_REQUIRE(joined.ok());
  BOOST_TEST(joined->find("\"case_id\":\"AVR\xef\xbf\xbd\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_layout_names_its_scores_in_the_rulesets_order) {
  auto f = reference_set(source_dir() / "rules" / "sample");
  const DecisionEncoder encoder(f->rules);
  auto names = layout_score_names(encoder.layout_json());
  BOOST_REQUIRE(names.ok());
  std::vector<std::string> want;
  for (const auto& score : f->rules.scores) want.push_back(score.name);
  BOOST_TEST(!want.empty());
  BOOST_TEST(*names == want, boost::test_tools::per_element());
  for (const char* bad : {"garbage", "[]", "{}", "{\"scores\":{}}", "{\"scores\":[{}]}",
                          "{\"scores\":[{\"name\":1}]}"})
    BOOST_TEST(!layout_score_names(bad).ok(), "accepted: " << bad);
}

}  // namespace
}  // namespace crible::render
