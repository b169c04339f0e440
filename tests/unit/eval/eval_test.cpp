// tests/unit/eval/eval_test.cpp: the evaluator on small rulesets written for one behaviour
// each, driven through the engine's stages (parse, check, plan, load, prepare) without the CLI.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "support/compiled_ruleset.h"

namespace crible::eval {
namespace {

// One compiled ruleset with its loaded data and a prepared evaluator, and what these tests
// ask of it.
struct Fixture : testing::CompiledRuleset {
  const data::Column& column(const std::string& name) const {
    for (size_t i = 0; i < rules.cases.columns.size(); ++i)
      if (rules.cases.columns[i].name == name) return cases.columns[i];
    BOOST_FAIL("no case column " << name);
    return cases.columns[0];
  }
  // The case key of a row, as text.
  std::string key(size_t row) const {
    return std::string(interner.text(cases.columns[rules.case_key].text(row)));
  }
  size_t score_index(const std::string& name) const {
    for (size_t i = 0; i < rules.scores.size(); ++i)
      if (rules.scores[i].name == name) return i;
    BOOST_FAIL("no score " << name);
    return 0;
  }
  const std::string& disposition(const Decisions& d, size_t row) const {
    return rules.disposition[d.disposition[row]].outcome;
  }
};

// Compiles `rules_text` with `cases_csv` and the one table these rulesets may declare
// (`watch`), with no rejected row; fails the test on any error on the way.
std::unique_ptr<Fixture> compile(const std::string& rules_text, const std::string& cases_csv,
                                 const std::vector<std::string>& watch_csv = {}, int threads = 1) {
  testing::RulesetData data;
  data.cases_csv = cases_csv;
  for (const auto& csv : watch_csv) data.tables.emplace_back("watch", csv);
  data.threads = threads;
  return testing::compile_ruleset<Fixture>(rules_text, data);
}

// --------------------------------------------------------------------------------------------
// A whole-number score read in arithmetic (another score, the disposition) has its value: it
// used to read as 0, because the score was handed over as a number while integer arithmetic
// read the integer slot.

const char* const kScoreRules = R"(ruleset "score arithmetic"
cases
  case_id: text, key
  n:       integer, required
end

signal S1 BIG points 5
  fires when n > 1
end

signal S2 HUGE points 20
  fires when n > 10
end

score risk = points of fired signals
score doubled = risk * 2 + 1
score half
  2.5 when n > 1
end
score mixed = half * 2 + risk

disposition
  HIGH when risk + doubled >= 40
  MID  when risk - 1 >= 4
  LOW  otherwise
end
)";

BOOST_AUTO_TEST_CASE(whole_number_score_in_arithmetic) {
  auto f = compile(kScoreRules, "case_id,n\nA,0\nB,5\nC,50\n");
  const size_t risk = f->score_index("risk"), doubled = f->score_index("doubled"),
               half = f->score_index("half"), mixed = f->score_index("mixed");
  BOOST_TEST(f->rules.scores[doubled].integral);  // the case of the bug: risk is whole
  for (int threads : {1, 2}) {
    BOOST_TEST_CONTEXT("threads " << threads) {
      const Decisions d = f->evaluator->evaluate_all(threads);
      BOOST_REQUIRE_EQUAL(d.cases, 3u);
      auto score = [&](size_t row, size_t s) { return d.scores[row * d.n_scores + s]; };
      // A: nothing fires.
      BOOST_TEST(score(0, risk) == 0);
      BOOST_TEST(score(0, doubled) == 1);
      BOOST_TEST(score(0, mixed) == 0);
      BOOST_TEST(f->disposition(d, 0) == "LOW");
      // B: S1 fires: risk 5, doubled 11, half 2.5, mixed 10; 5 + 11 < 40, 5 - 1 >= 4.
      BOOST_TEST(score(1, risk) == 5);
      BOOST_TEST(score(1, doubled) == 11);
      BOOST_TEST(score(1, half) == 2.5);
      BOOST_TEST(score(1, mixed) == 10);
      BOOST_TEST(f->disposition(d, 1) == "MID");
      // C: S1 and S2: risk 25, doubled 51, mixed 30; 25 + 51 >= 40.
      BOOST_TEST(score(2, risk) == 25);
      BOOST_TEST(score(2, doubled) == 51);
      BOOST_TEST(score(2, mixed) == 30);
      BOOST_TEST(f->disposition(d, 2) == "HIGH");
    }
  }
  // The per-case path (explanations) agrees.
  const CaseDetail c = f->evaluator->explain(2);
  BOOST_TEST(c.scores[doubled] == 51);
  BOOST_TEST(c.scores[mixed] == 30);
  BOOST_TEST(f->rules.disposition[c.disposition].outcome == "HIGH");
}

// --------------------------------------------------------------------------------------------
// Linked cases of a signal (CaseDetail::linked): other cases its `let` aggregates over cases
// matched, each once, at most 10. Table rows are not cases: a `let` over a reference table
// used to add its row numbers, which point past the case table when the table is longer
// (a crash in --format jsonl and review), and two `let`s matching the same case listed it twice.

const char* const kLinkedRules = R"(ruleset "linked cases"
cases
  case_id: text, key
  phone:   text
  doc:     text
end

table watch
  phone: text, required
  weight: integer, required
end

signal S1 SHARED_PHONE points 10
  let sharing = count cases where phone = this.phone
  let same_doc = count cases where doc = this.doc
  let watched = sum weight in watch where phone = this.phone
  fires when sharing >= 2 and watched >= 0
end

signal S2 WATCHED points 10
  let listed = sum weight in watch where phone = this.phone
  fires when listed > 0
end

disposition
  CHECK when S1 fires
  OK otherwise
end
)";

BOOST_AUTO_TEST_CASE(linked_cases_are_cases_once_each) {
  // Three cases share phone P1 (and A and B a document); the watch table has 30 rows for P1,
  // far more than there are cases.
  std::string watch = "phone,weight\n";
  for (int i = 0; i < 30; ++i) watch += "P1,1\n";
  watch += "P9,1\n";
  auto f = compile(kLinkedRules, "case_id,phone,doc\nA,P1,D1\nB,P1,D1\nC,P1,D2\nD,P2,D3\n", {watch});
  const Decisions d = f->evaluator->evaluate_all(1);
  BOOST_TEST(f->disposition(d, 0) == "CHECK");
  BOOST_TEST(f->disposition(d, 3) == "OK");

  for (size_t row = 0; row < f->cases.rows; ++row) {
    BOOST_TEST_CONTEXT("case " << f->key(row)) {
      const CaseDetail c = f->evaluator->explain(row);
      BOOST_REQUIRE_EQUAL(c.linked.size(), f->rules.signals.size());
      for (const auto& rows : c.linked) {
        BOOST_TEST(rows.size() <= 10u);
        std::set<size_t> unique(rows.begin(), rows.end());
        BOOST_TEST(unique.size() == rows.size(), "a linked case is listed twice");
        for (size_t r : rows) {
          BOOST_TEST(r < f->cases.rows, "linked row " << r << " is not a case");
          BOOST_TEST(r != row, "a case is linked to itself");
        }
      }
      // S2 aggregates only the table: it links no case.
      BOOST_TEST(c.linked[1].empty());
    }
  }
  // A: the other holders of P1 (B, C), B also by its document; nothing else.
  const CaseDetail a = f->evaluator->explain(0);
  std::vector<std::string> keys;
  for (size_t r : a.linked[0]) keys.push_back(f->key(r));
  std::sort(keys.begin(), keys.end());
  BOOST_TEST(keys == (std::vector<std::string>{"B", "C"}), boost::test_tools::per_element());
  // D shares nothing.
  BOOST_TEST(f->evaluator->explain(3).linked[0].empty());
}

// More matching cases than the cap: ten are listed.
BOOST_AUTO_TEST_CASE(linked_cases_are_capped_at_ten) {
  std::string cases = "case_id,phone,doc\n";
  for (int i = 0; i < 25; ++i) cases += "K" + std::to_string(100 + i) + ",P1,D" + std::to_string(i) + "\n";
  auto f = compile(kLinkedRules, cases, {"phone,weight\nP1,1\n"});
  const CaseDetail c = f->evaluator->explain(5);
  BOOST_TEST(c.signals[0].fired);
  BOOST_TEST(c.linked[0].size() == 10u);
  for (size_t r : c.linked[0]) BOOST_TEST(r != 5u);
}

}  // namespace
}  // namespace crible::eval

namespace crible::eval {
namespace {

// --------------------------------------------------------------------------------------------
// Shared sub-expressions: evaluate_all computes equal nodes once per batch. Nodes that differ
// only in an operator flag (`in` / `not in`, `between` / `not between`), a unit (days /
// weeks), a literal or a type must stay apart: every case decided in bulk must match the
// per-case walk of explain(), which shares nothing.

const char* const kSharedRules = R"(ruleset "shared sub-expressions"
cases
  case_id: text, key
  d:       date
  n:       integer
  tags:    set of text
end

criterion C1 IN "tagged a"
  pass when "a" in tags
end
criterion C2 NOT_IN "not tagged a"
  pass when "a" not in tags
end
criterion C3 WINDOW "n within 1..5"
  pass when n between 1 and 5
  fail when n not between 1 and 5
end
criterion C4 DAYS "d plus a day before 2019-01-10"
  pass when d + 1 days < 2019-01-10
end
criterion C5 WEEKS "d plus a week before 2019-01-10"
  pass when d + 1 weeks < 2019-01-10
end

signal S1 BIG points 7
  fires when n * 2 > 6 and "a" in tags
end
signal S2 BIGGER points 11
  fires when n * 3 > 6 and "b" in tags
end

score risk = points of fired signals
score sum1 = n * 2 + n * 3
score twice = risk + risk

disposition
  A when C1 passes and C3 passes and risk >= 7
  B when C2 passes and C3 fails
  C when any criterion is unknown
  D otherwise
end
)";

BOOST_AUTO_TEST_CASE(bulk_decisions_match_the_per_case_walk) {
  std::string cases = "case_id,d,n,tags\n";
  const char* dates[] = {"", "2019-01-01", "2019-01-02", "2019-01-08", "2019-01-09"};
  const char* tags[] = {"", "a", "b", "a;b", "c"};
  int k = 0;
  for (const char* d : dates)
    for (int n = -1; n <= 7; ++n)
      for (const char* t : tags)
        cases += "K" + std::to_string(k++) + "," + d + "," + (n < 0 ? "" : std::to_string(n)) + "," + t + "\n";
  auto f = compile(kSharedRules, cases);
  for (int threads : {1, 2}) {
    const Decisions d = f->evaluator->evaluate_all(threads);
    BOOST_REQUIRE_EQUAL(d.cases, f->cases.rows);
    for (size_t row = 0; row < d.cases; ++row) {
      BOOST_TEST_CONTEXT("case " << f->key(row) << ", threads " << threads) {
        const CaseDetail c = f->evaluator->explain(row);
        for (size_t i = 0; i < d.n_criteria; ++i)
          BOOST_TEST(d.criteria[row * d.n_criteria + i] == static_cast<uint8_t>(c.criteria[i].outcome));
        for (size_t i = 0; i < d.n_signals; ++i)
          BOOST_TEST(d.fired[row * d.n_signals + i] == (c.signals[i].fired ? 1 : 0));
        for (size_t i = 0; i < d.n_scores; ++i) BOOST_TEST(d.scores[row * d.n_scores + i] == c.scores[i]);
        BOOST_TEST(static_cast<int32_t>(d.disposition[row]) == c.disposition);
      }
    }
  }
  // Spot checks against the rules as written. K1 .. : date "", n -1 (missing) ...; pick a
  // case with d 2019-01-02, n 4, tags "a": C1 pass, C2 fail, C3 pass, C4 pass (01-03 < 01-10),
  // C5 pass (01-09 < 01-10); S1 fires (8 > 6, a), S2 not (no b); risk 7, sum1 20, twice 14; A.
  size_t row = 0;
  while (row < f->cases.rows) {
    const auto& dcol = f->column("d");
    const auto& ncol = f->column("n");
    const auto& tcol = f->column("tags");
    if (dcol.valid(row) && dcol.date(row) == dcol.date(2 * 9 * 5) && ncol.valid(row) &&
        ncol.integer(row) == 4 && tcol.set_size(row) == 1 &&
        f->interner.text(tcol.set(row)[0]) == "a")
      break;
    ++row;
  }
  BOOST_REQUIRE(row < f->cases.rows);
  const Decisions d = f->evaluator->evaluate_all(1);
  auto crit = [&](size_t i) { return static_cast<CriterionOutcome>(d.criteria[row * d.n_criteria + i]); };
  BOOST_TEST((crit(0) == CriterionOutcome::Pass));
  BOOST_TEST((crit(1) == CriterionOutcome::Fail));
  BOOST_TEST((crit(2) == CriterionOutcome::Pass));
  BOOST_TEST((crit(3) == CriterionOutcome::Pass));
  BOOST_TEST((crit(4) == CriterionOutcome::Pass));
  BOOST_TEST(d.scores[row * d.n_scores + f->score_index("risk")] == 7);
  BOOST_TEST(d.scores[row * d.n_scores + f->score_index("sum1")] == 20);
  BOOST_TEST(d.scores[row * d.n_scores + f->score_index("twice")] == 14);
  BOOST_TEST(f->disposition(d, row) == "A");
}

}  // namespace
}  // namespace crible::eval

namespace crible::eval {
namespace {

// Decisions do not depend on the thread count, also across the 4,096-case chunks and the
// 256-case batches that evaluate_all hands out, with aggregates over cases in play.
BOOST_AUTO_TEST_CASE(decisions_identical_for_any_thread_count) {
  std::string cases = "case_id,phone,doc\n";
  for (int i = 0; i < 10000; ++i)
    cases += "K" + std::to_string(i) + "," + (i % 11 ? "P" + std::to_string(i % 1777) : "") + ",D" +
             std::to_string(i % 4999) + "\n";
  std::string watch = "phone,weight\n";
  for (int i = 0; i < 3000; i += 7) watch += "P" + std::to_string(i) + "," + std::to_string(i % 5) + "\n";
  auto f = compile(kLinkedRules, cases, {watch}, 2);
  const Decisions one = f->evaluator->evaluate_all(1);
  size_t fired = 0;
  for (uint8_t x : one.fired) fired += x;
  BOOST_TEST(fired > 0u);
  BOOST_TEST(fired < one.fired.size());
  for (int threads : {2, 3, 8}) {
    const Decisions d = f->evaluator->evaluate_all(threads);
    BOOST_TEST(d.disposition == one.disposition, "threads " << threads);
    BOOST_TEST(d.scores == one.scores, "threads " << threads);
    BOOST_TEST(d.criteria == one.criteria, "threads " << threads);
    BOOST_TEST(d.fired == one.fired, "threads " << threads);
  }
}

}  // namespace
}  // namespace crible::eval
