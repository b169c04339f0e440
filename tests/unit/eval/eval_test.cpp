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


// --------------------------------------------------------------------------------------------
// Membership: `x in S` for sets scanned whole (a few elements) and searched (more than 32),
// from a rule's constant and from a case's own set, at their first, middle and last element
// and between them. The per-case walk and the batches share set_contains, so the expected
// outcomes are written out here rather than compared between the two.

const char* const kMembershipRules = R"(ruleset "membership"
cases
  case_id: text, key
  code:    text, required
  tags:    set of text
end

constant MANY = {MANY_CODES}
constant FEW = {"c00", "c05", "c39"}

criterion E1 IN_MANY
  pass when code in MANY
end
criterion E2 IN_FEW
  pass when code in FEW
end
criterion E3 TAGGED
  pass when "c20" in tags
end
criterion E4 UNTAGGED
  pass when code not in tags
end

disposition
  DONE otherwise
end
)";

BOOST_AUTO_TEST_CASE(membership_in_small_and_large_sets) {
  std::string rules = kMembershipRules;
  auto code = [](int i) { return std::string(i < 10 ? "c0" : "c") + std::to_string(i); };
  std::string many;  // "c00", "c01", ..., "c39": 40 elements, searched
  for (int i = 0; i < 40; ++i) many += (i ? ", \"" : "\"") + code(i) + "\"";
  rules.replace(rules.find("MANY_CODES"), 10, many);
  std::string all_tags, wide_without_c20;  // c00;c01;...;c39 (40 elements), and without c20
  for (int i = 0; i < 40; ++i) {
    all_tags += (i ? ";" : "") + code(i);
    if (i != 20) wide_without_c20 += (wide_without_c20.empty() ? "" : ";") + code(i);
  }
  const std::string cases = "case_id,code,tags\n"
                            "K0,c00,c20\n"              // first of MANY and of FEW
                            "K1,c39,\"" + all_tags + "\"\n"  // last of both; c20 amid 40
                            "K2,c20,\"" + wide_without_c20 + "\"\n"
                            "K3,c05,c19;c21\n"          // in FEW; tags around c20
                            "K4,c40,\n"                 // past the last; no tags (missing)
                            "K5,b99,c20;c40\n";         // before the first
  auto f = compile(rules, cases);
  using O = CriterionOutcome;
  const O P = O::Pass, F = O::Fail, U = O::Unknown;
  // Per case: E1 IN_MANY, E2 IN_FEW, E3 TAGGED, E4 UNTAGGED.
  const std::vector<std::vector<O>> expected = {
      {P, P, P, P}, {P, P, P, F}, {P, F, F, P}, {P, P, F, P}, {F, F, U, U}, {F, F, P, P}};
  for (int threads : {1, 2}) {
    const Decisions d = f->evaluator->evaluate_all(threads);
    BOOST_REQUIRE_EQUAL(d.cases, expected.size());
    for (size_t row = 0; row < d.cases; ++row)
      for (size_t i = 0; i < 4; ++i)
        BOOST_TEST_CONTEXT("case " << f->key(row) << ", E" << i + 1 << ", threads " << threads) {
          BOOST_TEST(static_cast<int>(d.criteria[row * d.n_criteria + i]) == static_cast<int>(expected[row][i]));
          BOOST_TEST(static_cast<int>(f->evaluator->explain(row).criteria[i].outcome) ==
                     static_cast<int>(expected[row][i]));
        }
  }
}

// --------------------------------------------------------------------------------------------
// Integer arithmetic beyond 64 bits is unknown, as division by zero is: the values a cases
// file may hold (household_size = 9223372036854775807) wrapped around into a definite and
// wrong answer, undefined behaviour that the eval fuzzer's UBSan stopped on.

const char* const kOverflowRules = R"(ruleset "integer overflow"
cases
  case_id: text, key
  n:       integer, required
end

define late = 1970-01-01 + n days
define early = 1970-01-01 - n days

criterion E1 ADD
  pass when n + n > n
end
criterion E2 SUB
  pass when 0 - n >= 0
end
criterion E3 MUL
  pass when n * 3 > 0
end
criterion E4 NEG
  pass when -n > 0
end
criterion E5 ABS
  pass when abs(n) > 0
end
criterion E6 WEEKS
  pass when n weeks > 0 days
end
criterion E7 DAYS_BETWEEN
  pass when days_between(early, late) > 0
end

disposition
  UNSURE when any criterion is unknown
  DONE otherwise
end
)";

BOOST_AUTO_TEST_CASE(integer_overflow_is_unknown) {
  auto f = compile(kOverflowRules,
                   "case_id,n\nMAX,9223372036854775807\nMIN,-9223372036854775808\nFIVE,5\n");
  constexpr auto P = CriterionOutcome::Pass, F = CriterionOutcome::Fail,
                 U = CriterionOutcome::Unknown;
  // Per case, E1..E7. MAX: n + n, n * 3, 7n and 2n days overflow; -n and abs(n) do not.
  // MIN: every one overflows (E7 through `early`). FIVE: none does.
  const std::vector<std::vector<CriterionOutcome>> expected = {
      {U, F, U, F, P, U, U}, {U, U, U, U, U, U, U}, {P, F, P, F, P, P, P}};
  const Decisions d = f->evaluator->evaluate_all(1);
  BOOST_REQUIRE_EQUAL(d.cases, 3u);
  for (size_t row = 0; row < d.cases; ++row) {
    const CaseDetail alone = f->evaluator->explain(row);
    for (size_t k = 0; k < d.n_criteria; ++k) {
      BOOST_TEST_CONTEXT("case " << f->key(row) << ", " << f->rules.criteria[k].name) {
        BOOST_TEST((static_cast<CriterionOutcome>(d.criteria[row * d.n_criteria + k]) ==
                    expected[row][k]));
        BOOST_TEST((alone.criteria[k].outcome == expected[row][k]));
      }
    }
  }
  BOOST_TEST(f->disposition(d, 0) == "UNSURE");
  BOOST_TEST(f->disposition(d, 2) == "DONE");
}

// The same for the two other places where integers add up: a sum over rows, computed once per
// group (it was kept as a plain integer, so that unknown could not be stored), and a whole-number
// score read as an operand (a double at 2^63 converted to an integer: undefined behaviour that
// gave -2^63 in practice).

const char* const kSumRules = R"(ruleset "sums and scores beyond 64 bits"
cases
  case_id: text, key
  team:    text, required
  n:       integer, required
end

define total = sum n in cases with same team

criterion E1 TOTAL
  pass when total > 0
end

score s = n
score t = s + 1

disposition
  POSITIVE when t > 0
  NEGATIVE when t < 0
  ZERO     otherwise
end
)";

BOOST_AUTO_TEST_CASE(sums_and_scores_beyond_64_bits_are_unknown) {
  auto f = compile(kSumRules,
                   "case_id,team,n\n"
                   "A,x,9223372036854775807\nB,x,1\n"                         // overflows
                   "C,w,9223372036854775807\nD,w,1\nE,w,-9223372036854775808\n"  // 0 in any order
                   "F,y,-9223372036854775808\n");                             // fits
  BOOST_TEST(f->rules.scores[f->score_index("s")].integral);
  const Decisions d = f->evaluator->evaluate_all(1);
  BOOST_REQUIRE_EQUAL(d.cases, 6u);
  auto total = [&](size_t row) {
    return static_cast<CriterionOutcome>(d.criteria[row * d.n_criteria]);
  };
  BOOST_TEST((total(0) == CriterionOutcome::Unknown));
  BOOST_TEST((total(1) == CriterionOutcome::Unknown));
  BOOST_TEST((total(2) == CriterionOutcome::Fail));
  BOOST_TEST((total(5) == CriterionOutcome::Fail));
  BOOST_TEST((f->evaluator->explain(0).criteria[0].outcome == CriterionOutcome::Unknown));
  // s = 2^63 as a double has no integer: t is unknown, and an unknown score counts 0.
  const size_t t = f->score_index("t");
  BOOST_TEST(d.scores[0 * d.n_scores + t] == 0);
  BOOST_TEST(f->disposition(d, 0) == "ZERO");
  BOOST_TEST(f->evaluator->explain(0).scores[t] == 0);
  BOOST_TEST(d.scores[1 * d.n_scores + t] == 2);
  BOOST_TEST(f->disposition(d, 1) == "POSITIVE");
  // -2^63 is an integer: t = -2^63 + 1, which a double rounds to -2^63.
  BOOST_TEST(d.scores[5 * d.n_scores + t] == -0x1p63);
  BOOST_TEST(f->disposition(d, 5) == "NEGATIVE");
}

}  // namespace
}  // namespace crible::eval

namespace crible::eval {
namespace {

// A thread count is at most kMaxThreads, whatever is asked: thousands of threads fail to
// start, and each costs a scratch.
BOOST_AUTO_TEST_CASE(thread_counts_are_capped) {
  BOOST_TEST(resolve_threads(3) == 3);
  BOOST_TEST(resolve_threads(kMaxThreads) == kMaxThreads);
  BOOST_TEST(resolve_threads(kMaxThreads + 1) == kMaxThreads);
  BOOST_TEST(resolve_threads(100000) == kMaxThreads);
  BOOST_TEST(resolve_threads(0) >= 1);
  BOOST_TEST(resolve_threads(0) <= kMaxThreads);
}

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

namespace crible::eval {
namespace {

// --------------------------------------------------------------------------------------------
// CaseExplainer explains cases from a decided batch's buffers (and by the per-case walk where
// a signal that lists linked cases fired). Every case must come out exactly as explain()'s
// walk gives it, in any order of asking: clauses that decide or not, unknown clauses, sets
// from columns and from aggregates, lets and definitions in evidence, score terms, and
// disposition lines skipped as unknown.

const char* const kExplainRules = R"(ruleset "explained from a batch"
cases
  case_id: text, key
  n:       integer
  d:       date
  tags:    set of text
  phone:   text
  centre:  text
  site:    text
end

table watch
  phone:  text, required
  weight: integer, required
  label:  text, required
end

define doubled = n * 2
define labels = collect label in watch where phone = this.phone
define sharers = count cases where phone = this.phone

criterion C1 MULTI "several clauses"
  pass when n > 5
  fail when n < 2
  unknown when d is missing
end
criterion C2 TAGGED "tagged a or b"
  pass when tags intersects {"a", "b"}
  reason "tags {tags}"
end
criterion C3 EARLY "d before 2019-01-10"
  fail when d >= 2019-01-10
  reason "registered on {d} at {site}"
end
criterion C4 COUNTED "n known"
  unknown when n is missing
end

signal S1 SHARED points 10
  let sharing = count cases where phone = this.phone
  fires when sharing >= 3
  reason "phone {phone} shared by {sharing} cases"
end
signal S2 WATCHED points 15
  let w = sum weight in watch where phone = this.phone
  fires when w > 0 and n > 1
  reason "watched {w}, doubled {doubled}"
end
signal S3 BIG points 20
  fires when doubled > 8
  reason "{doubled} at {centre}"
end
signal S4 LABELS points 5
  fires when size(labels) > 1
  reason "labels {labels}"
end
signal S5 HEAVY points 5
  let heavy = count watch where weight >= this.sharers
  fires when heavy > 20
end

score risk = points of fired signals
score care
  10 when "a" in tags
  5 when n > 3
end

disposition
  HIGH  when risk >= 30
  CHECK when n > 6
  ODD   when d < 2019-01-05
  OK    otherwise
end
)";

// A case's detail as text, every field of it, so that two details compare as strings.
std::string dump(const CaseDetail& c, const Interner& interner) {
  std::string out = "row " + std::to_string(c.row) + " disposition " + std::to_string(c.disposition);
  auto value = [&](const Value& v) {
    std::string t = std::to_string(static_cast<int>(v.kind)) + ":" + std::to_string(v.i) + ":" +
                    std::to_string(v.d);
    if (v.kind == ValueKind::Set)
      for (uint32_t k = 0; k < v.n; ++k) t += "," + std::string(interner.text(v.set[k]));
    return t;
  };
  auto evidence = [&](const std::vector<EvidenceItem>& items, const std::vector<std::string>& missing) {
    for (const auto& e : items)
      out += " [" + std::string(e.name) + "=" + value(e.value) + "/" +
             std::to_string(static_cast<int>(e.type)) + "]";
    for (const auto& m : missing) out += " missing " + m;
  };
  for (const auto& f : c.criteria) {
    out += "\n criterion " + std::to_string(static_cast<int>(f.outcome)) + " by " +
           std::to_string(f.decided_by);
    evidence(f.evidence, f.missing);
  }
  for (size_t i = 0; i < c.signals.size(); ++i) {
    const auto& f = c.signals[i];
    out += "\n signal " + std::to_string(f.fired) + std::to_string(f.unknown);
    evidence(f.evidence, f.missing);
    out += " linked";
    for (size_t r : c.linked.at(i)) out += " " + std::to_string(r);
  }
  for (double v : c.scores) out += "\n score " + std::to_string(v);
  for (const auto& terms : c.score_terms) {
    out += "\n terms";
    for (const auto& t : terms) out += " " + std::to_string(static_cast<int>(t.truth));
  }
  out += "\n skipped";
  for (int32_t q : c.skipped_unknown) out += " " + std::to_string(q);
  return out;
}

BOOST_AUTO_TEST_CASE(cases_explained_from_a_batch_are_as_explained_alone) {
  std::string cases = "case_id,n,d,tags,phone,centre,site\n";
  const char* tags[] = {"", "a", "b", "a;b", "c", "b;c;d"};
  uint32_t x = 12345;
  auto next = [&](uint32_t m) {
    x = x * 1103515245u + 12345u;
    return (x >> 16) % m;
  };
  for (int i = 0; i < 700; ++i) {
    const std::string n = i % 9 == 0 ? "" : std::to_string(next(10));
    const uint32_t day = 1 + next(20);
    const std::string d = i % 7 == 0 ? "" : (day < 10 ? "2019-01-0" : "2019-01-") + std::to_string(day);
    const std::string phone = i % 11 == 0 ? "" : "P" + std::to_string(next(250));
    cases += "K" + std::to_string(i) + "," + n + "," + d + "," + tags[next(6)] + "," + phone +
             (i % 5 ? ",GAO" : ",") + (i % 3 ? ",S1\n" : ",\n");
  }
  std::string watch = "phone,weight,label\n";
  for (int p = 0; p < 250; p += 3)
    for (int j = 0; j < p % 4; ++j)
      watch += "P" + std::to_string(p) + "," + std::to_string(j) + ",L" + std::to_string((p + j) % 5) + "\n";
  testing::RulesetData data;
  data.cases_csv = cases;
  data.tables.emplace_back("watch", watch);
  auto f = testing::compile_ruleset<Fixture>(kExplainRules, data);

  // What the data must exercise for the comparison to mean something.
  const Decisions d = f->evaluator->evaluate_all(1);
  std::set<std::string> seen;
  for (size_t row = 0; row < f->cases.rows; ++row) {
    const CaseDetail c = f->evaluator->explain(row);
    if (!c.skipped_unknown.empty()) seen.insert("skipped");
    if (c.signals[0].fired && !c.linked[0].empty()) seen.insert("linked");
    if (c.signals[3].fired) seen.insert("labels");
    if (!c.signals[0].fired && c.signals[1].fired) seen.insert("watched alone");
    // Cases linked through a define read by a table's aggregate (S5's `this.sharers`).
    if (c.signals[4].fired && !c.linked[4].empty()) seen.insert("linked through a define");
    for (const auto& cr : c.criteria) {
      if (cr.outcome == CriterionOutcome::Unknown) seen.insert("unknown");
      if (cr.decided_by > 0) seen.insert("later clause");
    }
  }
  BOOST_TEST(seen.size() == 7u, "the data exercise only " << seen.size() << " of 7 behaviours");

  CaseExplainer explainer(*f->evaluator);
  BOOST_TEST(explainer.reads_batches());
  std::vector<size_t> order;
  for (size_t row = 0; row < f->cases.rows; ++row) order.push_back(row);   // as review asks
  for (size_t row = f->cases.rows; row-- > 0;) order.push_back(row);       // backwards
  for (size_t row = 3; row < f->cases.rows; row += 5) order.push_back(row);  // strided
  for (size_t row = 70; row < 140; ++row) order.push_back(row);            // windows straddled
  size_t same = 0;
  for (size_t row : order) {
    const std::string alone = dump(f->evaluator->explain(row), f->interner);
    const std::string batched = dump(explainer.explain(row), f->interner);
    if (alone != batched) {
      BOOST_ERROR("case " << f->key(row) << " differs\n alone:\n" << alone << "\n batched:\n" << batched);
      break;
    }
    ++same;
  }
  BOOST_TEST(same == order.size());

  // Review takes each case's decision from its explanation (Decisions::take) instead of
  // evaluate_all's: the two must agree on every case, from the batch and from the walk.
  CaseExplainer in_order(*f->evaluator);
  Decisions from_batches = f->evaluator->undecided();
  Decisions from_walks = f->evaluator->undecided();
  for (size_t row = 0; row < f->cases.rows; ++row) {
    from_batches.take(in_order.explain(row));
    from_walks.take(f->evaluator->explain(row));
  }
  for (const Decisions* taken : {&from_batches, &from_walks}) {
    BOOST_TEST(taken->cases == d.cases);
    BOOST_TEST((taken->disposition == d.disposition));
    BOOST_TEST((taken->scores == d.scores));
    BOOST_TEST((taken->criteria == d.criteria));
    BOOST_TEST((taken->fired == d.fired));
  }
}

}  // namespace
}  // namespace crible::eval
