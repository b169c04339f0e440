// Evaluation: aggregate indexes built once per run, in flat arrays; then every case decided
// in batches, one node of the rules at a time over a batch of cases (evaluate_all), or by a
// tree walk over one case with definitions, lets and aggregates memoised per case
// (explain). Both share the operators' definitions, so they decide alike.
#include "eval/eval.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <deque>
#include <map>
#include <thread>

#include "base/date.h"
#include "base/flat_hash.h"
#include "base/threads.h"

namespace crible::eval {

using check::Node;
using check::Op;

namespace {

constexpr uint32_t kNoGroup = 0xffffffffu;
constexpr size_t kMaxLinked = 10;  // linked cases listed per signal in an explanation

// One key component as an integer: numbers are compared as doubles so that 3 and 3.0 match.
int64_t key_part(const Value& v, bool as_double) {
  if (as_double) {
    double d = v.as_double();
    if (d == 0) d = 0;  // -0 == 0
    return std::bit_cast<int64_t>(d);
  }
  return v.i;
}

uint32_t hash_key(const int64_t* parts, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull + n;
  for (size_t i = 0; i < n; ++i) h = hash_mix(h ^ static_cast<uint64_t>(parts[i])) + i;
  return static_cast<uint32_t>(h ^ (h >> 32));
}

// The index of one aggregate, in flat arrays. The rows that pass the row-only conditions and
// have every key (and a range value, with a range) are grouped by key: group g holds
// rows[offsets[g] .. offsets[g + 1]), ordered by range value then row with a range, by row
// otherwise. No allocation per group, so building and freeing it are a few large steps.
struct AggIndex {
  size_t nkeys = 0;
  std::vector<uint8_t> key_as_double;
  // The case side of every key is its row side read on the case itself (`phone =
  // this.phone`, `with same registered_by, registered_on`), so each case's own group is
  // known from the build: row_group[case], kNoGroup when one of its keys is missing.
  bool self_keyed = false;
  std::vector<uint32_t> row_group;
  // Otherwise a lookup: key hash -> group, with nkeys parts per group in `keys`.
  IdTable table;
  std::vector<int64_t> keys;
  std::vector<uint32_t> offsets;  // groups + 1
  std::vector<uint32_t> rows;
  std::vector<double> range_vals;  // parallel to rows when there is a range
  // Without range or residual, results are computed once per group: Count reads the group
  // size, CountDistinct reads `ints`, the others `values` (a Sum may be unknown).
  bool precomputed = false;
  std::vector<int64_t> ints;
  std::vector<Value> values;
  std::vector<uint32_t> collected;  // backs the sets of precomputed Collect results
};

}  // namespace

struct Evaluator::Impl {
  const plan::Plan& plan;
  const check::TypedRuleset& rules;
  const data::Table& cases;
  std::vector<const data::Table*> tables;
  std::vector<AggIndex> indexes;

  // Batched evaluation (see "batches" below): whether this ruleset allows it, and the
  // buffer of each node it evaluates.
  static constexpr size_t kBatch = 256;
  static constexpr uint32_t kNoSlot = 0xffffffffu;
  bool batchable = false;
  // Whether explaining may read a batch's buffers (see "explaining from a batch"), and per
  // signal whether its lets can list linked cases (an aggregate over cases in them).
  bool explain_batchable = false;
  std::vector<uint8_t> signal_links;
  std::vector<uint32_t> batch_slot;
  size_t batch_slots = 0;
  std::vector<uint8_t> constant;  // per node: 2 when its value is the same for every case
  std::vector<int32_t> canon;     // per node: the representative of the nodes equal to it
  static constexpr uint32_t kForever = 0xffffffffu;  // a stamp: a constant's buffer, once full

  Impl(const plan::Plan& p, const data::Table& c, std::vector<const data::Table*> t)
      : plan(p), rules(*p.rules), cases(c), tables(std::move(t)) {}

  // Per-thread scratch, reset per case by bumping the epoch (no clearing, no allocation).
  struct Scratch {
    uint32_t epoch = 0;
    std::vector<uint32_t> def_epoch, agg_epoch, let_epoch;
    std::vector<Value> def_val, agg_val, let_val;
    std::vector<uint8_t> criteria;  // CriterionOutcome
    std::vector<uint8_t> fired;
    std::vector<double> scores;
    std::deque<std::vector<uint32_t>> sets;  // sets built while evaluating one case
    size_t sets_used = 0;
    std::vector<int64_t> distinct;  // scratch for distinct counts
    std::vector<int64_t> key;       // a case's key parts, during a lookup
    std::vector<uint32_t>* linked = nullptr;  // when explaining: rows an aggregate matched
    std::vector<uint32_t> linked_rows;        // ... its buffer, reused signal after signal
    size_t detail_sets_used = 0;              // entries of the detail's set_storage in use
    int32_t disposition = -1;

    // Batches (evaluate_all): the values of each batched node for the cases of one batch.
    size_t bbegin = 0, bcount = 0;          // the batch: cases [bbegin, bbegin + bcount)
    uint32_t bepoch = 0;                    // bumped per batch
    std::vector<uint32_t> bstamp;           // per node: the batch its buffer holds
    std::vector<Value> bvals;               // batch_slots buffers of kBatch values
    std::vector<Value> bmissing;            // kBatch missing values
    std::vector<const Value*> let_ptr;      // per let slot: its values in this batch
    std::vector<uint32_t> let_stamp;        // per let slot: the batch that set it
    std::vector<std::vector<const Value*>> agg_ops, clause_ops;  // operand buffers
    std::vector<uint8_t> bcriteria, bfired;  // kBatch x criteria, kBatch x signals
    std::vector<double> bscores;             // kBatch x scores
    std::vector<int32_t> bchosen;            // kBatch dispositions
  };

  struct Ctx {
    size_t row = 0;          // the case under review
    size_t inner = 0;        // the row an aggregate iterates
    const data::Table* inner_table = nullptr;
    Scratch* s = nullptr;
  };

  void init_scratch(Scratch& s) const {
    s.def_epoch.assign(rules.definitions.size(), 0);
    s.def_val.assign(rules.definitions.size(), Value{});
    s.agg_epoch.assign(rules.aggregates.size(), 0);
    s.agg_val.assign(rules.aggregates.size(), Value{});
    s.let_epoch.assign(rules.let_slots, 0);
    s.let_val.assign(rules.let_slots, Value{});
    s.criteria.assign(rules.criteria.size(), 0);
    s.fired.assign(rules.signals.size(), 0);
    s.scores.assign(rules.scores.size(), 0);
    size_t nkeys = 0;
    for (const auto& a : rules.aggregates) nkeys = std::max(nkeys, a.keys.size());
    s.key.assign(nkeys, 0);
  }

  void init_batch_scratch(Scratch& s) const {
    init_scratch(s);
    s.bstamp.assign(rules.nodes.size(), 0);
    s.bvals.assign(batch_slots * kBatch, Value{});
    s.bmissing.assign(kBatch, Value{});
    s.let_ptr.assign(rules.let_slots, nullptr);
    s.let_stamp.assign(rules.let_slots, 0);
    s.agg_ops.resize(rules.aggregates.size());
    s.clause_ops.resize(rules.criteria.size());
    s.bcriteria.assign(kBatch * rules.criteria.size(), 0);
    s.bfired.assign(kBatch * rules.signals.size(), 0);
    s.bscores.assign(kBatch * rules.scores.size(), 0);
    s.bchosen.assign(kBatch, -1);
  }

  std::vector<uint32_t>& new_set(Scratch& s) const {
    if (s.sets_used >= s.sets.size()) s.sets.emplace_back();
    auto& v = s.sets[s.sets_used++];
    v.clear();
    return v;
  }

  static Value column_value(const data::Table& t, int col, size_t row, TypeKind kind) {
    const data::Column& c = t.columns[col];
    if (!c.loaded || !c.valid(row)) return Value{};
    switch (kind) {
      case TypeKind::Bool: return Value::boolean(c.boolean(row));
      case TypeKind::Integer: return Value::integer(c.integer(row));
      case TypeKind::Number: return Value::number(c.number(row));
      case TypeKind::Text: return Value::text(c.text(row));
      case TypeKind::Date: return Value::date(c.date(row));
      case TypeKind::Set: return Value::set_of(c.set(row), c.set_size(row));
      default: return Value{};
    }
  }

  [[gnu::always_inline]] static inline int compare(const Value& a, const Value& b) {
    if (a.kind == ValueKind::Num || b.kind == ValueKind::Num) {
      double x = a.as_double(), y = b.as_double();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
  }

  // A case's own sets hold a few ids and a rule's constant sets a few dozen: scanned whole,
  // without a branch per element, they cost less than the call and mispredicted halvings of
  // std::binary_search (8% of evaluate_all's samples at 1M cases).
  [[gnu::always_inline]] static inline bool set_contains(const Value& set, int64_t id) {
    const uint32_t x = static_cast<uint32_t>(id);
    if (set.n <= 32) {
      bool found = false;
      for (uint32_t k = 0; k < set.n; ++k) found |= set.set[k] == x;
      return found;
    }
    return std::binary_search(set.set, set.set + set.n, x);
  }

  // Key parts of a group against a case's: a loop the compiler keeps inline, where
  // std::equal over int64_t became a call to memcmp for one or two words.
  [[gnu::always_inline]] static inline bool same_key(const int64_t* a, const int64_t* b, size_t n) {
    for (size_t k = 0; k < n; ++k)
      if (a[k] != b[k]) return false;
    return true;
  }

  // Writes v field by field: a Value assembled in registers and copied whole goes through
  // the stack, and reading it back as one wide load stalls on the narrow stores.
  [[gnu::always_inline]] static inline void store(Value* dst, const Value& v) {
    dst->kind = v.kind;
    dst->n = v.n;
    dst->i = v.i;
    dst->d = v.d;
    dst->set = v.set;
  }

  // First element of sorted [first, last) not less than x (strict: greater than x), without
  // a branch per step: groups are searched in random order, so the branches would mispredict.
  static const double* bound(const double* first, const double* last, double x, bool strict) {
    size_t n = static_cast<size_t>(last - first);
    if (n == 0) return first;
    while (n > 1) {
      const size_t half = n / 2;
      const bool right = strict ? !(x < first[half]) : first[half] < x;
      first = right ? first + half : first;
      n -= half;
    }
    const bool after = strict ? !(x < *first) : *first < x;
    return first + after;
  }

  static Value truth_value(Truth t) {
    return t == Truth::Unknown ? Value{} : Value::boolean(t == Truth::True);
  }

  [[gnu::always_inline]] static inline Value arithmetic(Op op, TypeKind rt, const Value& a,
                                                        const Value& b) {
    if (a.missing()) return a;
    if (b.missing()) return b;
    if (rt == TypeKind::Number || op == Op::Div) {
      double x = a.as_double(), y = b.as_double();
      switch (op) {
        case Op::Add: return Value::number(x + y);
        case Op::Sub: return Value::number(x - y);
        case Op::Mul: return Value::number(x * y);
        default:
          if (y == 0) return Value{};  // division by zero is unknown, not infinity
          return Value::number(x / y);
      }
    }
    // An integer, date or duration beyond 64 bits has no answer, as x / 0 has none: unknown,
    // not a wrapped-around number (and no undefined behaviour). The checker leaves such
    // operations unfolded for this.
    int64_t r = 0;
    const bool overflow = op == Op::Add   ? __builtin_add_overflow(a.i, b.i, &r)
                          : op == Op::Sub ? __builtin_sub_overflow(a.i, b.i, &r)
                                          : __builtin_mul_overflow(a.i, b.i, &r);
    if (overflow) return Value{};
    Value out;
    out.i = r;
    out.kind = rt == TypeKind::Date ? ValueKind::Date : rt == TypeKind::Duration ? ValueKind::Duration
                                                                                 : ValueKind::Int;
    return out;
  }

  // What an operator gives for the values of its operands: the one definition shared by the
  // per-case walk and the batch loops, so that both decide alike. (The walk may skip an
  // operand that cannot change the result, e.g. b after a false a in `a and b`.) For the
  // operators without memo, per-case state or variable arity; `op` is n.op, passed apart
  // so that a batch loop over one operator compiles to that operator's code alone.
  [[gnu::always_inline]] static inline Value combine(Op op, const Node& n, const Value& a,
                                                     const Value& b, const Value& c) {
    switch (op) {
      case Op::Neg: {
        Value r = a;
        if (r.missing()) return r;
        if (r.kind == ValueKind::Num) r.d = -r.d;
        else if (r.i == INT64_MIN) return Value{};  // overflow: unknown, as in arithmetic()
        else r.i = -r.i;
        return r;
      }
      case Op::Not: return truth_value(kleene_not(truth_of(a)));
      case Op::And: return truth_value(kleene_and(truth_of(a), truth_of(b)));
      case Op::Or: return truth_value(kleene_or(truth_of(a), truth_of(b)));
      case Op::Add:
      case Op::Sub:
      case Op::Mul:
      case Op::Div: return arithmetic(op, n.type.kind, a, b);
      case Op::Eq: case Op::Ne: case Op::Lt: case Op::Le: case Op::Gt: case Op::Ge: {
        if (a.missing() || b.missing()) return Value{};
        int k = compare(a, b);
        bool r = op == Op::Eq ? k == 0 : op == Op::Ne ? k != 0 : op == Op::Lt ? k < 0
               : op == Op::Le ? k <= 0 : op == Op::Gt ? k > 0 : k >= 0;
        return Value::boolean(r);
      }
      case Op::In: {
        if (a.missing() || b.missing()) return Value{};
        bool in = set_contains(b, a.i);
        return Value::boolean(n.aux ? !in : in);
      }
      case Op::Intersects: {
        if (a.missing() || b.missing()) return Value{};
        const uint32_t *p = a.set, *pe = a.set + a.n, *q = b.set, *qe = b.set + b.n;
        while (p < pe && q < qe) {
          if (*p == *q) return Value::boolean(true);
          if (*p < *q) ++p;
          else ++q;
        }
        return Value::boolean(false);
      }
      case Op::Between: {
        if (a.missing() || b.missing() || c.missing()) return Value{};
        bool in = compare(a, b) >= 0 && compare(a, c) <= 0;
        return Value::boolean(n.aux ? !in : in);
      }
      case Op::IsMissing: return Value::boolean(a.missing());
      case Op::IsPresent: return Value::boolean(!a.missing());
      case Op::ToDuration:
        if (a.missing()) return a;
        if (int64_t days; !__builtin_mul_overflow(a.i, static_cast<int64_t>(n.aux), &days))
          return Value::duration(days);
        return Value{};  // overflow: unknown, as in arithmetic()
      case Op::YearsBetween:
        if (a.missing() || b.missing()) return Value{};
        return Value::integer(whole_years(a.i, b.i));
      case Op::DaysBetween:
        if (a.missing() || b.missing()) return Value{};
        if (int64_t days; !__builtin_sub_overflow(b.i, a.i, &days)) return Value::integer(days);
        return Value{};  // overflow: unknown, as in arithmetic()
      case Op::Weekday:
        if (a.missing()) return a;
        return Value::integer(iso_weekday(a.i));
      case Op::Size:
        if (a.missing()) return a;
        return Value::integer(a.n);
      case Op::Abs: {
        Value r = a;
        if (r.missing()) return r;
        if (r.kind == ValueKind::Num) r.d = std::fabs(r.d);
        else if (r.i == INT64_MIN) return Value{};  // overflow: unknown, as in arithmetic()
        else r.i = r.i < 0 ? -r.i : r.i;
        return r;
      }
      case Op::Coalesce: return a.missing() ? b : a;
      default: return Value{};
    }
  }

  // A score as an operand: a whole-number score (Integer type) as an integer, since integer
  // arithmetic reads the integer slot; sums of whole points are exact in a double.
  // One beyond 64 bits (from an integer field) has no integer: unknown, as in arithmetic().
  static Value score_value(const Node& n, double v) {
    if (n.type.kind != TypeKind::Integer) return Value::number(v);
    if (!(v >= -0x1p63 && v < 0x1p63)) return Value{};
    return Value::integer(static_cast<int64_t>(v));
  }

  Value outcome_value(const Node& n, const uint8_t* criteria, const uint8_t* fired) const {
    if (n.b == 1) return Value::boolean(fired[n.index] != 0);
    auto verb = static_cast<check::OutcomeVerb>(n.aux);
    auto o = static_cast<CriterionOutcome>(criteria[n.index]);
    return Value::boolean(verb == check::OutcomeVerb::Passes ? o == CriterionOutcome::Pass
                          : verb == check::OutcomeVerb::Fails ? o == CriterionOutcome::Fail
                                                              : o == CriterionOutcome::Unknown);
  }

  Value any_outcome_value(const Node& n, const uint8_t* criteria, const uint8_t* fired) const {
    bool all = n.index == 1;
    auto verb = static_cast<check::OutcomeVerb>(n.aux);
    bool any_hit = false, all_hit = true;
    if (n.b == 1) {
      for (size_t k = 0; k < rules.signals.size(); ++k) {
        any_hit = any_hit || fired[k];
        all_hit = all_hit && fired[k];
      }
    } else {
      CriterionOutcome want = verb == check::OutcomeVerb::Passes ? CriterionOutcome::Pass
                              : verb == check::OutcomeVerb::Fails ? CriterionOutcome::Fail
                                                                  : CriterionOutcome::Unknown;
      for (size_t k = 0; k < rules.criteria.size(); ++k) {
        bool hit = static_cast<CriterionOutcome>(criteria[k]) == want;
        any_hit = any_hit || hit;
        all_hit = all_hit && hit;
      }
    }
    return Value::boolean(all ? all_hit : any_hit);
  }

  Value eval(int32_t id, Ctx& ctx) const {
    const Node& n = rules.nodes[id];
    switch (n.op) {
      case Op::Literal: return plan.literals[n.index];
      case Op::CaseField: return column_value(cases, n.index, ctx.row, n.type.kind);
      case Op::RowField: return column_value(*ctx.inner_table, n.index, ctx.inner, n.type.kind);
      case Op::Param: return plan.params[n.index];
      case Op::Definition: {
        Scratch& s = *ctx.s;
        if (s.def_epoch[n.index] == s.epoch) return s.def_val[n.index];
        Value v = eval(rules.definitions[n.index].root, ctx);
        s.def_val[n.index] = v;
        s.def_epoch[n.index] = s.epoch;
        return v;
      }
      case Op::Let: {
        Scratch& s = *ctx.s;
        return s.let_epoch[n.index] == s.epoch ? s.let_val[n.index] : Value{};
      }
      case Op::Aggregate: {
        Scratch& s = *ctx.s;
        if (s.agg_epoch[n.index] == s.epoch && !s.linked) return s.agg_val[n.index];
        Value v = aggregate(n.index, ctx);
        s.agg_val[n.index] = v;
        s.agg_epoch[n.index] = s.epoch;
        return v;
      }
      case Op::Score: return score_value(n, ctx.s->scores[n.index]);
      case Op::Outcome: return outcome_value(n, ctx.s->criteria.data(), ctx.s->fired.data());
      case Op::AnyOutcome: return any_outcome_value(n, ctx.s->criteria.data(), ctx.s->fired.data());
      case Op::SetOf: {
        auto& out = new_set(*ctx.s);
        for (int32_t e : rules.lists[n.index]) {
          Value v = eval(e, ctx);
          if (v.missing()) return Value{};
          out.push_back(static_cast<uint32_t>(v.i));
        }
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return Value::set_of(out.data(), static_cast<uint32_t>(out.size()));
      }
      // Short cuts: an operand that decides alone spares evaluating the other.
      case Op::And: {
        Value a = eval(n.a, ctx);
        if (truth_of(a) == Truth::False) return Value::boolean(false);
        return combine(Op::And, n, a, eval(n.b, ctx), a);
      }
      case Op::Or: {
        Value a = eval(n.a, ctx);
        if (truth_of(a) == Truth::True) return Value::boolean(true);
        return combine(Op::Or, n, a, eval(n.b, ctx), a);
      }
      case Op::Coalesce: {
        Value a = eval(n.a, ctx);
        return a.missing() ? eval(n.b, ctx) : a;
      }
      case Op::Add: case Op::Sub: case Op::Mul: case Op::Div:
      case Op::Eq: case Op::Ne: case Op::Lt: case Op::Le: case Op::Gt: case Op::Ge:
      case Op::YearsBetween: case Op::DaysBetween: {
        Value a = eval(n.a, ctx);
        if (a.missing()) return Value{};
        return combine(n.op, n, a, eval(n.b, ctx), a);
      }
      case Op::Between: {
        Value a = eval(n.a, ctx);
        if (a.missing()) return Value{};
        Value lo = eval(n.b, ctx);
        if (lo.missing()) return Value{};
        return combine(n.op, n, a, lo, eval(n.c, ctx));
      }
      case Op::In: case Op::Intersects: {
        Value a = eval(n.a, ctx);
        return combine(n.op, n, a, eval(n.b, ctx), a);
      }
      case Op::Neg: case Op::Not: case Op::IsMissing: case Op::IsPresent: case Op::ToDuration:
      case Op::Weekday: case Op::Size: case Op::Abs: {
        Value a = eval(n.a, ctx);
        return combine(n.op, n, a, a, a);
      }
    }
    return Value{};
  }

  // ------------------------------------------------------------------ aggregates
  const data::Table& source_table(const check::Aggregate& a) const {
    return a.source == -1 ? cases : *tables[a.source];
  }

  bool key_uses_double(const check::AggregateKey& k) const {
    return rules.nodes[k.row].type.kind == TypeKind::Number ||
           rules.nodes[k.cased].type.kind == TypeKind::Number;
  }

  static bool same_value(const Value& x, const Value& y) {
    if (x.kind != y.kind || x.i != y.i || std::bit_cast<uint64_t>(x.d) != std::bit_cast<uint64_t>(y.d) ||
        x.n != y.n)
      return false;
    return x.n == 0 || std::equal(x.set, x.set + x.n, y.set);
  }

  // Whether row-side node r, read on a case as an aggregate row, always gives what case-side
  // node c gives for that same case: the same operations over the same fields, parameters and
  // literals (definitions on the case side stand for their bodies). Then the key `r = c`
  // matches a case with its own group.
  bool same_expr(int32_t r, int32_t c, int depth = 0) const {
    if (r < 0 || c < 0) return r == c;
    if (depth > 256) return false;
    const Node* cn = &rules.nodes[c];
    while (cn->op == Op::Definition) {
      if (++depth > 256) return false;
      cn = &rules.nodes[rules.definitions[cn->index].root];
    }
    const Node& rn = rules.nodes[r];
    if (rn.type.kind != cn->type.kind) return false;
    switch (rn.op) {
      case Op::RowField: return rn.aux == -1 && cn->op == Op::CaseField && rn.index == cn->index;
      case Op::Literal:
        return cn->op == Op::Literal && same_value(plan.literals[rn.index], plan.literals[cn->index]);
      case Op::Param: return cn->op == Op::Param && rn.index == cn->index;
      case Op::SetOf: {
        if (cn->op != Op::SetOf) return false;
        const auto& x = rules.lists[rn.index];
        const auto& y = rules.lists[cn->index];
        if (x.size() != y.size()) return false;
        for (size_t i = 0; i < x.size(); ++i)
          if (!same_expr(x[i], y[i], depth + 1)) return false;
        return true;
      }
      // Reads the case under review, per-case state, or a memo: not a pure row expression.
      case Op::CaseField: case Op::Definition: case Op::Let: case Op::Aggregate: case Op::Score:
      case Op::Outcome: case Op::AnyOutcome:
        return false;
      default:
        return rn.op == cn->op && rn.aux == cn->aux && rn.index == cn->index &&
               same_expr(rn.a, cn->a, depth + 1) && same_expr(rn.b, cn->b, depth + 1) &&
               same_expr(rn.c, cn->c, depth + 1);
    }
  }

  bool row_passes(const std::vector<int32_t>& conditions, Ctx& ctx) const {
    for (int32_t c : conditions)
      if (truth_of(eval(c, ctx)) != Truth::True) return false;
    return true;
  }

  // For a row-side key that is a loaded text field of `src` with many distinct values:
  // sizes `groups` to hold every text id the field has (kNoGroup each) and says yes. Not
  // when the array would take more than a few words a row, nor for a field of few values
  // (intermediaries, registrars), whose table stays in cache while the array would not.
  // Ids are handed out in order of first appearance, so the times the largest id so far
  // rises count the field's values that appeared here first: a floor on its distinct values.
  bool dense_text_ids(int32_t key_node, const data::Table& src, std::vector<uint32_t>& groups) const {
    const Node& n = rules.nodes[key_node];
    if (n.op != Op::RowField || n.type.kind != TypeKind::Text) return false;
    const data::Column& c = src.columns[n.index];
    if (!c.loaded) return false;
    uint32_t top = 0;
    size_t rises = 0, valid = 0;
    for (size_t r = 0; r < src.rows; ++r) {
      if (!c.valid(r)) continue;
      ++valid;
      const uint32_t id = c.text(r);
      if (id > top || rises == 0) ++rises;
      top = std::max(top, id);
    }
    if (rises * 16 < valid || top > 4 * src.rows + 4096) return false;
    groups.assign(size_t{top} + 1, kNoGroup);
    return true;
  }

  // Per-row work arrays of build_index, kept by the thread that builds several indexes one
  // after the other: each index needs them again at the same size (a million rows), and a
  // block freed and allocated again is fresh memory the kernel zeroes anew.
  struct IndexBuffers {
    std::vector<uint32_t> member, fill, group_of_text;
    std::vector<double> range_of;
  };

  void build_index(size_t agg_id, Scratch& s, IndexBuffers& buf) {
    const check::Aggregate& a = rules.aggregates[agg_id];
    AggIndex& idx = indexes[agg_id];
    const data::Table& src = source_table(a);
    const size_t nkeys = a.keys.size();
    idx.nkeys = nkeys;
    idx.key_as_double.resize(nkeys);
    for (size_t k = 0; k < nkeys; ++k) idx.key_as_double[k] = key_uses_double(a.keys[k]);
    idx.self_keyed = a.source == -1 && nkeys > 0;
    for (size_t k = 0; k < nkeys && idx.self_keyed; ++k)
      idx.self_keyed = same_expr(a.keys[k].row, a.keys[k].cased);
    if (idx.self_keyed) idx.row_group.assign(src.rows, kNoGroup);
    if (!idx.self_keyed) idx.table.reserve(std::min<size_t>(src.rows, 1024));

    // Pass 1: each row's key and group, and whether the row joins the index.
    Ctx ctx;
    ctx.inner_table = &src;
    ctx.s = &s;
    std::vector<uint32_t>& member = buf.member;
    member.assign(src.rows, kNoGroup);
    std::vector<double>& range_of = buf.range_of;
    range_of.assign(a.range ? src.rows : 0, 0.0);
    uint32_t ngroups = 0;
    // Rows go in runs of kRun: their keys first, hashed and their slots prefetched, then the
    // inserts, in row order (so group ids do not depend on the run length). A table of a
    // million groups is far out of cache, and the prefetches overlap its misses.
    constexpr size_t kRun = 32;
    std::vector<int64_t> keys(kRun * nkeys);
    uint32_t hashes[kRun];
    bool has_key[kRun];
    // One text field as the key of a self-keyed index (`phone = this.phone`): a text id is a
    // small integer, so an array indexed by it finds the group without hashing or probing
    // (index building 0.21 -> 0.15 s for 1M cases). The groups are numbered in the same order
    // as with the table (first row first); the array outlives the index only as the thread's
    // buffer for the next one (IndexBuffers). Only where the array stays small beside the rows:
    // ids come from one interner for every text of the run, so they can outnumber them.
    // A key that is a plain field of the row is read straight from its column: what eval()
    // would do for it, without the walk's dispatch, a million times per key.
    std::vector<const Node*> key_fields(nkeys, nullptr);
    for (size_t k = 0; k < nkeys; ++k)
      if (rules.nodes[a.keys[k].row].op == Op::RowField) key_fields[k] = &rules.nodes[a.keys[k].row];
    std::vector<uint32_t>& group_of_text = buf.group_of_text;
    const bool dense = idx.self_keyed && nkeys == 1 && dense_text_ids(a.keys[0].row, src, group_of_text);
    auto dense_insert = [&](int64_t id) -> std::pair<uint32_t, bool> {
      uint32_t& g = group_of_text[static_cast<size_t>(id)];
      if (g != kNoGroup) return {g, false};
      g = ngroups;
      return {g, true};
    };
    for (size_t r0 = 0; r0 < src.rows; r0 += kRun) {
      const size_t run = std::min(kRun, src.rows - r0);
      for (size_t j = 0; j < run; ++j) {
        ctx.inner = r0 + j;
        s.sets_used = 0;
        int64_t* key = keys.data() + j * nkeys;
        // Self-keyed: every case needs its group, even one whose row is filtered out.
        has_key[j] = idx.self_keyed || row_passes(a.row_only, ctx);
        for (size_t k = 0; k < nkeys && has_key[j]; ++k) {
          const Node* field = key_fields[k];
          Value v = field ? column_value(src, field->index, ctx.inner, field->type.kind)
                          : eval(a.keys[k].row, ctx);
          if (v.missing()) has_key[j] = false;  // a row with a missing key matches no case
          else key[k] = key_part(v, idx.key_as_double[k]);
        }
        if (!has_key[j]) continue;
        if (dense) {
          __builtin_prefetch(group_of_text.data() + key[0]);
          continue;
        }
        hashes[j] = hash_key(key, nkeys);
        idx.table.prefetch(hashes[j]);
      }
      for (size_t j = 0; j < run; ++j) {
        if (!has_key[j]) continue;
        const size_t r = r0 + j;
        const int64_t* key = keys.data() + j * nkeys;
        auto [g, inserted] = dense ? dense_insert(key[0])
                                   : idx.table.insert(hashes[j], ngroups, [&](uint32_t x) {
                                       return same_key(key, idx.keys.data() + static_cast<size_t>(x) * nkeys,
                                                       nkeys);
                                     });
        if (inserted) {
          if (!dense) idx.keys.insert(idx.keys.end(), key, key + nkeys);
          ++ngroups;
        }
        ctx.inner = r;
        s.sets_used = 0;
        if (idx.self_keyed) {
          idx.row_group[r] = g;
          if (!row_passes(a.row_only, ctx)) continue;
        }
        if (a.range) {
          Value v = eval(a.range->row, ctx);
          if (v.missing()) continue;
          range_of[r] = v.as_double();
        }
        member[r] = g;
      }
    }
    if (idx.self_keyed) {  // the case side never looks a key up
      idx.table.release();
      std::vector<int64_t>().swap(idx.keys);
    }

    // Pass 2: count, then place each member row in its group, in row order.
    idx.offsets.assign(static_cast<size_t>(ngroups) + 1, 0);
    for (uint32_t g : member)
      if (g != kNoGroup) ++idx.offsets[g + 1];
    for (size_t g = 0; g < ngroups; ++g) idx.offsets[g + 1] += idx.offsets[g];
    idx.rows.resize(idx.offsets[ngroups]);
    if (a.range) idx.range_vals.resize(idx.rows.size());
    {
      std::vector<uint32_t>& fill = buf.fill;
      fill.assign(idx.offsets.begin(), idx.offsets.end() - 1);
      for (size_t r = 0; r < member.size(); ++r) {
        uint32_t g = member[r];
        if (g == kNoGroup) continue;
        uint32_t at = fill[g]++;
        idx.rows[at] = static_cast<uint32_t>(r);
        if (a.range) idx.range_vals[at] = range_of[r];
      }
    }

    // Ranges: each group by value, ties in row order, for binary search.
    if (a.range) {
      std::vector<std::pair<double, uint32_t>> tmp;
      for (size_t g = 0; g < ngroups; ++g) {
        const uint32_t b = idx.offsets[g], e = idx.offsets[g + 1];
        double* vals = idx.range_vals.data();
        if (std::is_sorted(vals + b, vals + e)) continue;
        tmp.clear();
        for (uint32_t i = b; i < e; ++i) tmp.emplace_back(vals[i], idx.rows[i]);
        std::sort(tmp.begin(), tmp.end());
        for (uint32_t i = b; i < e; ++i) {
          vals[i] = tmp[i - b].first;
          idx.rows[i] = tmp[i - b].second;
        }
      }
    }

    idx.precomputed = !a.range && a.residual.empty();
    if (!idx.precomputed || a.fn == check::AggregateFn::Count) return;
    const bool as_int = a.fn == check::AggregateFn::CountDistinct;
    if (as_int) idx.ints.resize(ngroups);
    else idx.values.resize(ngroups);
    std::vector<uint32_t> set_begin;
    const bool collect = a.fn == check::AggregateFn::Collect;
    if (collect) set_begin.resize(static_cast<size_t>(ngroups) + 1);
    for (size_t g = 0; g < ngroups; ++g) {
      s.sets_used = 0;
      if (collect) set_begin[g] = static_cast<uint32_t>(idx.collected.size());
      Value v = fold(a, idx.rows.data() + idx.offsets[g], idx.offsets[g + 1] - idx.offsets[g],
                     nullptr, ctx, collect ? &idx.collected : nullptr);
      if (as_int) idx.ints[g] = v.i;
      else idx.values[g] = v;
    }
    if (collect) {  // the pool is complete: now its addresses are stable
      set_begin[ngroups] = static_cast<uint32_t>(idx.collected.size());
      for (size_t g = 0; g < ngroups; ++g)
        idx.values[g] = Value::set_of(idx.collected.data() + set_begin[g], set_begin[g + 1] - set_begin[g]);
    }
  }

  Value precomputed_result(const check::Aggregate& a, const AggIndex& idx, uint32_t g) const {
    switch (a.fn) {
      case check::AggregateFn::Count:
        return Value::integer(static_cast<int64_t>(idx.offsets[g + 1] - idx.offsets[g]));
      case check::AggregateFn::CountDistinct: return Value::integer(idx.ints[g]);
      default: return idx.values[g];
    }
  }

  // Linked cases for explanations: rows of the case table only (a reference table's rows
  // are not cases), each once over all the signal's lets, never the case itself.
  void link_row(const check::Aggregate& a, uint32_t row, const Ctx& ctx) const {
    std::vector<uint32_t>& linked = *ctx.s->linked;
    if (a.source == -1 && row != ctx.row && linked.size() < kMaxLinked &&
        std::find(linked.begin(), linked.end(), row) == linked.end())
      linked.push_back(row);
  }

  // The linked cases of an aggregate whose value needs no fold (every row counts): only the
  // first rows, until kMaxLinked are listed, instead of all of a group of thousands.
  void link_rows(const check::Aggregate& a, const uint32_t* rows, size_t count,
                 const Ctx& ctx) const {
    if (a.source != -1) return;  // a reference table's rows are never listed
    for (size_t i = 0; i < count && ctx.s->linked->size() < kMaxLinked; ++i) link_row(a, rows[i], ctx);
  }

  // Folds the aggregate function over rows (those passing `residual` when residual_ctx is
  // given). A Collect appends its sorted set to *collect_out when given, else to scratch.
  Value fold(const check::Aggregate& a, const uint32_t* rows, size_t count, Ctx* residual_ctx,
             Ctx& ctx, std::vector<uint32_t>* collect_out) const {
    const data::Table& src = source_table(a);
    Ctx inner = ctx;
    inner.inner_table = &src;
    int64_t n = 0;
    __int128 isum = 0;  // rows hold 64-bit values: no row count overflows it
    double dsum = 0;
    Value best;
    std::vector<int64_t>& distinct = ctx.s->distinct;
    distinct.clear();
    std::vector<uint32_t>* coll = nullptr;
    if (a.fn == check::AggregateFn::Collect) coll = collect_out ? collect_out : &new_set(*ctx.s);
    const size_t coll_begin = coll ? coll->size() : 0;
    for (size_t i = 0; i < count; ++i) {
      inner.inner = rows[i];
      if (residual_ctx) {
        inner.row = residual_ctx->row;
        if (!row_passes(a.residual, inner)) continue;
      }
      if (ctx.s->linked) link_row(a, rows[i], ctx);
      if (a.fn == check::AggregateFn::Count) {
        ++n;
        continue;
      }
      Value v = eval(a.value, inner);
      if (v.missing()) continue;
      switch (a.fn) {
        case check::AggregateFn::CountDistinct:
          distinct.push_back(key_part(v, v.kind == ValueKind::Num));
          break;
        case check::AggregateFn::Sum:
          if (v.kind == ValueKind::Num) dsum += v.d;
          else isum += v.i;
          break;
        case check::AggregateFn::Min:
        case check::AggregateFn::Max:
          if (best.missing() || (a.fn == check::AggregateFn::Min ? compare(v, best) < 0 : compare(v, best) > 0))
            best = v;
          break;
        case check::AggregateFn::Collect:
          coll->push_back(static_cast<uint32_t>(v.i));
          break;
        default: break;
      }
    }
    switch (a.fn) {
      case check::AggregateFn::Count: return Value::integer(n);
      case check::AggregateFn::CountDistinct: {
        std::sort(distinct.begin(), distinct.end());
        return Value::integer(std::unique(distinct.begin(), distinct.end()) - distinct.begin());
      }
      case check::AggregateFn::Sum:
        if (a.type.kind == TypeKind::Number) return Value::number(dsum + static_cast<double>(isum));
        // A total beyond 64 bits is unknown, as in arithmetic(); whatever the rows' order.
        if (isum < INT64_MIN || isum > INT64_MAX) return Value{};
        return Value::integer(static_cast<int64_t>(isum));
      case check::AggregateFn::Min:
      case check::AggregateFn::Max: return best;
      case check::AggregateFn::Collect: {
        std::sort(coll->begin() + coll_begin, coll->end());
        coll->erase(std::unique(coll->begin() + coll_begin, coll->end()), coll->end());
        return Value::set_of(coll->data() + coll_begin, static_cast<uint32_t>(coll->size() - coll_begin));
      }
    }
    return Value{};
  }

  Value empty_result(const check::Aggregate& a) const {
    switch (a.fn) {
      case check::AggregateFn::Count:
      case check::AggregateFn::CountDistinct: return Value::integer(0);
      case check::AggregateFn::Sum:
        return a.type.kind == TypeKind::Number ? Value::number(0) : Value::integer(0);
      case check::AggregateFn::Collect: return Value::set_of(nullptr, 0);
      default: return Value{};
    }
  }

  Value aggregate(int32_t agg_id, Ctx& ctx) const {
    const check::Aggregate& a = rules.aggregates[agg_id];
    const AggIndex& idx = indexes[agg_id];
    // Conditions on the case alone: false = nothing matches; unknown = the count is unknown.
    Ctx outer = ctx;
    outer.inner_table = nullptr;
    for (int32_t c : a.case_only) {
      Truth t = truth_of(eval(c, outer));
      if (t == Truth::Unknown) return Value{};
      if (t == Truth::False) return empty_result(a);
    }
    uint32_t g = kNoGroup;
    if (idx.self_keyed) {
      g = idx.row_group[ctx.row];
      if (g == kNoGroup) return Value{};  // "same phone" when the phone is unknown: unknown
    } else {
      int64_t* key = ctx.s->key.data();
      for (size_t k = 0; k < idx.nkeys; ++k) {
        Value v = eval(a.keys[k].cased, outer);
        if (v.missing()) return Value{};
        key[k] = key_part(v, idx.key_as_double[k]);
      }
      g = find_group(idx, key);
    }
    double lo = -INFINITY, hi = INFINITY;
    if (a.range) {
      if (a.range->low >= 0) {
        Value v = eval(a.range->low, outer);
        if (v.missing()) return Value{};
        lo = v.as_double();
      }
      if (a.range->high >= 0) {
        Value v = eval(a.range->high, outer);
        if (v.missing()) return Value{};
        hi = v.as_double();
      }
    }
    return group_result(a, idx, g, lo, hi, outer);
  }

  uint32_t find_group(const AggIndex& idx, const int64_t* key) const {
    const size_t nkeys = idx.nkeys;
    return idx.table.find(hash_key(key, nkeys), [&](uint32_t x) {
      return same_key(key, idx.keys.data() + static_cast<size_t>(x) * nkeys, nkeys);
    });
  }

  // The aggregate over group g (kNoGroup: no row has the case's key) within [lo, hi].
  Value group_result(const check::Aggregate& a, const AggIndex& idx, uint32_t g, double lo,
                     double hi, Ctx& outer) const {
    if (g == kNoGroup) return empty_result(a);
    const uint32_t* begin = idx.rows.data() + idx.offsets[g];
    size_t count = idx.offsets[g + 1] - idx.offsets[g];
    if (idx.precomputed) {
      if (outer.s->linked) link_rows(a, begin, count, outer);
      return precomputed_result(a, idx, g);
    }
    if (a.range) {
      const double* vb = idx.range_vals.data() + idx.offsets[g];
      const double* ve = vb + count;
      const double* first = bound(vb, ve, lo, a.range->low_strict);
      const double* last = bound(vb, ve, hi, !a.range->high_strict);
      if (last < first) last = first;
      begin += first - vb;
      count = static_cast<size_t>(last - first);
      if (a.fn == check::AggregateFn::Count && a.residual.empty()) {
        if (outer.s->linked) link_rows(a, begin, count, outer);
        return Value::integer(static_cast<int64_t>(count));
      }
    }
    return fold(a, begin, count, a.residual.empty() ? nullptr : &outer, outer, nullptr);
  }

  // ------------------------------------------------------------------ one case
  // With `detail`, also explains: fills it in place, reusing its vectors' storage (a detail
  // passed again for the next case allocates nothing once its vectors have grown).
  void decide(size_t row, Scratch& s, CaseDetail* detail) const {
    ++s.epoch;
    s.sets_used = 0;
    if (detail) {
      detail->criteria.resize(rules.criteria.size());
      detail->signals.resize(rules.signals.size());
      detail->linked.resize(rules.signals.size());
      detail->scores.clear();
      detail->score_terms.resize(rules.scores.size());
      detail->skipped_unknown.clear();
      s.detail_sets_used = 0;
    }
    Ctx ctx;
    ctx.row = row;
    ctx.s = &s;
    for (size_t i = 0; i < rules.criteria.size(); ++i) {
      const check::Criterion& c = rules.criteria[i];
      CriterionOutcome out = CriterionOutcome::Unknown;
      int32_t decided_by = -1;
      if (c.clauses.size() == 1) {
        // One clause: its truth is the outcome (a `fail when` clause inverted).
        Truth t = truth_of(eval(c.clauses[0].condition, ctx));
        bool is_fail = c.clauses[0].kind == check::ClauseKind::Fail;
        if (c.clauses[0].kind == check::ClauseKind::Unknown) {
          out = t == Truth::True ? CriterionOutcome::Unknown : CriterionOutcome::Pass;
        } else if (t == Truth::Unknown) {
          out = CriterionOutcome::Unknown;
        } else {
          bool holds = t == Truth::True;
          out = (holds != is_fail) ? CriterionOutcome::Pass : CriterionOutcome::Fail;
          decided_by = holds ? 0 : -1;
        }
      } else {
        // Several clauses: the first whose condition is true decides; none true = unknown.
        for (size_t k = 0; k < c.clauses.size(); ++k) {
          if (truth_of(eval(c.clauses[k].condition, ctx)) == Truth::True) {
            auto kind = c.clauses[k].kind;
            out = kind == check::ClauseKind::Pass ? CriterionOutcome::Pass
                : kind == check::ClauseKind::Fail ? CriterionOutcome::Fail : CriterionOutcome::Unknown;
            decided_by = static_cast<int32_t>(k);
            break;
          }
        }
      }
      s.criteria[i] = static_cast<uint8_t>(out);
      if (detail) {
        CriterionFinding& f = detail->criteria[i];
        f.outcome = out;
        f.decided_by = decided_by;
        collect_evidence(c.evidence, ctx, f.evidence, f.missing, *detail->set_storage);
      }
    }
    for (size_t i = 0; i < rules.signals.size(); ++i) {
      const check::Signal& sig = rules.signals[i];
      s.linked_rows.clear();
      if (detail) s.linked = &s.linked_rows;
      for (const check::Let& l : sig.lets) {
        s.let_val[l.slot] = eval(l.value, ctx);
        s.let_epoch[l.slot] = s.epoch;
      }
      s.linked = nullptr;
      Truth t = truth_of(eval(sig.fires, ctx));
      s.fired[i] = t == Truth::True;
      if (detail) {
        SignalFinding& f = detail->signals[i];
        f.fired = t == Truth::True;
        f.unknown = t == Truth::Unknown;
        collect_evidence(sig.evidence, ctx, f.evidence, f.missing, *detail->set_storage);
        // Linked cases are evidence of a signal that fired; nothing shows them otherwise.
        if (f.fired)
          detail->linked[i].assign(s.linked_rows.begin(), s.linked_rows.end());
        else
          detail->linked[i].clear();
      }
    }
    for (size_t i = 0; i < rules.scores.size(); ++i) {
      const check::Score& sc = rules.scores[i];
      double total = 0;
      std::vector<ScoreTermFinding>* terms = detail ? &detail->score_terms[i] : nullptr;
      if (terms) terms->clear();
      switch (sc.form) {
        case check::Score::Form::SignalPoints:
          for (size_t k = 0; k < rules.signals.size(); ++k)
            if (s.fired[k]) total += rules.signals[k].points;
          break;
        case check::Score::Form::Terms:
          for (const auto& term : sc.terms) {
            Truth t = truth_of(eval(term.condition, ctx));
            if (t == Truth::True) total += term.weight;  // unknown adds nothing; explained
            if (terms) terms->push_back({t});
          }
          break;
        case check::Score::Form::Expression: {
          Value v = eval(sc.expr, ctx);
          total = v.missing() ? 0 : v.as_double();
          break;
        }
      }
      s.scores[i] = total;
      if (detail) detail->scores.push_back(total);
    }
    int32_t chosen = -1;
    for (size_t i = 0; i < rules.disposition.size(); ++i) {
      const auto& line = rules.disposition[i];
      if (line.condition < 0) {
        chosen = static_cast<int32_t>(i);
        break;
      }
      Truth t = truth_of(eval(line.condition, ctx));
      if (t == Truth::True) {
        chosen = static_cast<int32_t>(i);
        break;
      }
      if (t == Truth::Unknown && detail) detail->skipped_unknown.push_back(static_cast<int32_t>(i));
    }
    if (detail) {
      detail->row = row;
      detail->disposition = chosen;
    }
    s.disposition = chosen;
  }

  // ------------------------------------------------------------------ batches
  // evaluate_all decides kBatch cases at a time, one node at a time: each node is computed
  // for the whole batch in one loop over its operands' values (each operand once per
  // batch), so walking the tree costs once per batch instead of once per case. The operators
  // are the ones of the per-case walk (`combine`), which explain() still uses; evaluating
  // an operand the walk would have skipped does not change a result, since evaluation is
  // pure. Aggregates loop over the batch with their case-side operands computed.
  //
  // A node is computed once per batch, so it must read only what is final when it is first
  // needed: criteria read no outcome, score or let; a signal reads criterion outcomes and
  // its own earlier lets; a score reads outcomes and earlier scores; aggregates read no
  // such state. Rulesets that need more are decided per case, as before.
  struct StateUse {
    bool criteria = false, signals = false, in_aggregate = false;
    int32_t max_score = -1;
    std::vector<int32_t> lets;
  };

  void state_use(int32_t id, bool in_agg, StateUse& u, std::vector<uint8_t>& seen) const {
    if (id < 0) return;
    const uint8_t mark = in_agg ? 2 : 1;
    if (seen[id] >= mark) return;
    seen[id] = mark;
    const Node& n = rules.nodes[id];
    bool state = false;
    switch (n.op) {
      case Op::Outcome:
      case Op::AnyOutcome:
        (n.b == 1 ? u.signals : u.criteria) = true;
        state = true;
        break;
      case Op::Score:
        u.max_score = std::max(u.max_score, n.index);
        state = true;
        break;
      case Op::Let:
        u.lets.push_back(n.index);
        state = true;
        break;
      case Op::Definition: state_use(rules.definitions[n.index].root, in_agg, u, seen); break;
      case Op::Aggregate: {
        const check::Aggregate& a = rules.aggregates[n.index];
        for (int32_t c : a.case_only) state_use(c, true, u, seen);
        for (int32_t c : a.row_only) state_use(c, true, u, seen);
        for (int32_t c : a.residual) state_use(c, true, u, seen);
        for (const auto& k : a.keys) {
          state_use(k.row, true, u, seen);
          state_use(k.cased, true, u, seen);
        }
        if (a.range) {
          state_use(a.range->row, true, u, seen);
          state_use(a.range->low, true, u, seen);
          state_use(a.range->high, true, u, seen);
        }
        state_use(a.value, true, u, seen);
        break;
      }
      case Op::SetOf:
        for (int32_t e : rules.lists[n.index]) state_use(e, in_agg, u, seen);
        break;
      default:
        state_use(n.a, in_agg, u, seen);
        state_use(n.b, in_agg, u, seen);
        state_use(n.c, in_agg, u, seen);
    }
    if (state && in_agg) u.in_aggregate = true;
  }

  StateUse state_use_of(int32_t id) const {
    StateUse u;
    std::vector<uint8_t> seen(rules.nodes.size(), 0);
    state_use(id, false, u, seen);
    return u;
  }
  // A criterion's conditions read the case alone: no outcome, score or let.
  static bool case_alone(const StateUse& u) {
    return !u.criteria && !u.signals && u.max_score < 0 && u.lets.empty() && !u.in_aggregate;
  }
  // A signal's lets and condition read criteria outcomes at most, and lets of its own set
  // before them.
  static bool signal_may_read(const StateUse& u, const std::vector<int32_t>& lets_set) {
    if (u.signals || u.max_score >= 0 || u.in_aggregate) return false;
    for (int32_t l : u.lets)
      if (std::find(lets_set.begin(), lets_set.end(), l) == lets_set.end()) return false;
    return true;
  }

  bool can_batch() const {
    for (const auto& c : rules.criteria) {
      for (const auto& cl : c.clauses)
        if (!case_alone(state_use_of(cl.condition))) return false;
    }
    for (const auto& sig : rules.signals) {
      std::vector<int32_t> set_before;
      for (const auto& l : sig.lets) {
        if (!signal_may_read(state_use_of(l.value), set_before)) return false;
        set_before.push_back(l.slot);
      }
      if (!signal_may_read(state_use_of(sig.fires), set_before)) return false;
    }
    for (size_t i = 0; i < rules.scores.size(); ++i) {
      const check::Score& sc = rules.scores[i];
      std::vector<int32_t> roots;
      if (sc.form == check::Score::Form::Terms)
        for (const auto& t : sc.terms) roots.push_back(t.condition);
      if (sc.form == check::Score::Form::Expression) roots.push_back(sc.expr);
      for (int32_t r : roots) {
        StateUse u = state_use_of(r);
        if (u.in_aggregate || u.max_score >= static_cast<int32_t>(i)) return false;
      }
    }
    for (const auto& line : rules.disposition) {
      if (line.condition >= 0 && state_use_of(line.condition).in_aggregate) return false;
    }
    return true;
  }

  // Shared sub-expressions: nodes that compute the same value from the same operands
  // (`"uasc" in vulnerabilities` in a criterion and in a score, `consular_confirmed` read by
  // three clauses, `as_of - prior_avrr_on` in E3 and S9) get one representative, whose
  // buffer the batch computes once for all of them. Equal means: same operator, type and
  // operands' representatives; literals by value. A node's value in a batch is final when
  // first computed (see can_batch), so equal nodes may share it wherever they appear.
  int32_t canonical(int32_t id, std::map<std::vector<int64_t>, int32_t>& seen,
                    const std::vector<int32_t>& literal_rep) {
    if (id < 0) return id;
    if (canon[id] >= 0) return canon[id];
    const Node& n = rules.nodes[id];
    std::vector<int64_t> key = {static_cast<int64_t>(n.op), static_cast<int64_t>(n.type.kind),
                                static_cast<int64_t>(n.type.elem), n.aux, n.index};
    switch (n.op) {
      case Op::Literal: key[4] = literal_rep[n.index]; [[fallthrough]];
      case Op::CaseField: case Op::RowField: case Op::Param: case Op::Definition: case Op::Let:
      case Op::Aggregate: case Op::Score: case Op::Outcome: case Op::AnyOutcome:
        key.insert(key.end(), {n.a, n.b, n.c});  // no operands (b: a flag for outcomes)
        break;
      case Op::SetOf:
        for (int32_t e : rules.lists[n.index]) key.push_back(canonical(e, seen, literal_rep));
        key[4] = -1;
        break;
      default:
        key.insert(key.end(), {canonical(n.a, seen, literal_rep), canonical(n.b, seen, literal_rep),
                               canonical(n.c, seen, literal_rep)});
    }
    auto [it, inserted] = seen.emplace(std::move(key), id);
    canon[id] = it->second;
    return canon[id];
  }

  void share_subexpressions() {
    std::vector<int32_t> literal_rep(plan.literals.size());
    for (size_t i = 0; i < literal_rep.size(); ++i) {
      literal_rep[i] = static_cast<int32_t>(i);
      for (size_t j = 0; j < i; ++j) {
        if (same_value(plan.literals[i], plan.literals[j])) {
          literal_rep[i] = static_cast<int32_t>(j);
          break;
        }
      }
    }
    canon.assign(rules.nodes.size(), -1);
    std::map<std::vector<int64_t>, int32_t> seen;
    for (size_t id = 0; id < rules.nodes.size(); ++id)
      canonical(static_cast<int32_t>(id), seen, literal_rep);
  }

  void assign_slots(int32_t id) {
    if (id >= 0) id = canon[id];
    if (id < 0 || batch_slot[id] != kNoSlot) return;
    batch_slot[id] = static_cast<uint32_t>(batch_slots++);
    const Node& n = rules.nodes[id];
    switch (n.op) {
      case Op::Definition: assign_slots(rules.definitions[n.index].root); break;
      case Op::Aggregate: {
        const check::Aggregate& a = rules.aggregates[n.index];
        for (int32_t c : a.case_only) assign_slots(c);
        if (!indexes[n.index].self_keyed)
          for (const auto& k : a.keys) assign_slots(k.cased);
        if (a.range) {
          assign_slots(a.range->low);
          assign_slots(a.range->high);
        }
        break;
      }
      case Op::SetOf:
        for (int32_t e : rules.lists[n.index]) assign_slots(e);
        break;
      // Leaves. An outcome test's `b` is a flag (0 criterion, 1 signal), not an operand:
      // walked as one, it gave node 0 or 1 a slot of its own for no reason.
      case Op::Let: case Op::Literal: case Op::CaseField: case Op::RowField: case Op::Param:
      case Op::Score: case Op::Outcome: case Op::AnyOutcome:
        break;
      default:
        assign_slots(n.a);
        assign_slots(n.b);
        assign_slots(n.c);
    }
  }

  // Literals, parameters, and operators over them alone. constant[]: 0 unknown, 1 no, 2 yes.
  bool is_constant(int32_t id) {
    if (id < 0) return true;
    if (constant[id] != 0) return constant[id] == 2;
    const Node& n = rules.nodes[id];
    bool yes = false;
    switch (n.op) {
      case Op::Literal:
      case Op::Param: yes = true; break;
      case Op::CaseField: case Op::RowField: case Op::Definition: case Op::Let: case Op::Aggregate:
      case Op::Score: case Op::Outcome: case Op::AnyOutcome: case Op::SetOf:
        break;
      default: yes = is_constant(n.a) && is_constant(n.b) && is_constant(n.c);
    }
    constant[id] = yes ? 2 : 1;
    return yes;
  }

  void plan_batches() {
    batchable = can_batch();
    if (!batchable) return;
    share_subexpressions();
    constant.assign(rules.nodes.size(), 0);
    for (size_t id = 0; id < rules.nodes.size(); ++id)
      constant[id] = is_constant(static_cast<int32_t>(id));
    batch_slot.assign(rules.nodes.size(), kNoSlot);
    for (const auto& c : rules.criteria)
      for (const auto& cl : c.clauses) assign_slots(cl.condition);
    for (const auto& sig : rules.signals) {
      for (const auto& l : sig.lets) assign_slots(l.value);
      assign_slots(sig.fires);
    }
    for (const auto& sc : rules.scores) {
      for (const auto& t : sc.terms) assign_slots(t.condition);
      if (sc.form == check::Score::Form::Expression) assign_slots(sc.expr);
    }
    for (const auto& line : rules.disposition) assign_slots(line.condition);
    plan_explaining();
  }

  // Whether evaluating `id` can list linked cases: it reaches an aggregate over cases, also
  // through a definition or the operands of an aggregate over a table (`count watch where
  // weight >= this.sharers`, `sharers` a count of cases: the walk lists those cases).
  bool links_cases(int32_t id, std::vector<uint8_t>& seen) const {
    if (id < 0 || seen[id]) return false;
    seen[id] = 1;
    const Node& n = rules.nodes[id];
    switch (n.op) {
      case Op::Aggregate: {
        const check::Aggregate& a = rules.aggregates[n.index];
        if (a.source == -1) return true;
        std::vector<int32_t> operands = {a.value};
        for (const auto* list : {&a.case_only, &a.row_only, &a.residual})
          operands.insert(operands.end(), list->begin(), list->end());
        for (const auto& k : a.keys) operands.insert(operands.end(), {k.row, k.cased});
        if (a.range) operands.insert(operands.end(), {a.range->row, a.range->low, a.range->high});
        for (int32_t o : operands)
          if (links_cases(o, seen)) return true;
        return false;
      }
      case Op::Definition: return links_cases(rules.definitions[n.index].root, seen);
      case Op::SetOf:
        for (int32_t e : rules.lists[n.index])
          if (links_cases(e, seen)) return true;
        return false;
      case Op::Let: case Op::Literal: case Op::CaseField: case Op::RowField: case Op::Param:
      case Op::Score: case Op::Outcome: case Op::AnyOutcome:
        return false;
      default: return links_cases(n.a, seen) || links_cases(n.b, seen) || links_cases(n.c, seen);
    }
  }

  // Explaining reads the batch's buffers when every evidence value is final once the batch
  // is decided, under the same rules as the conditions that share its finding (can_batch).
  void plan_explaining() {
    explain_batchable = true;
    for (const auto& c : rules.criteria)
      for (const auto& e : c.evidence)
        if (!case_alone(state_use_of(e.node))) explain_batchable = false;
    signal_links.assign(rules.signals.size(), 0);
    std::vector<uint8_t> seen;
    for (size_t i = 0; i < rules.signals.size(); ++i) {
      const check::Signal& sig = rules.signals[i];
      std::vector<int32_t> own;
      for (const auto& l : sig.lets) own.push_back(l.slot);
      for (const auto& e : sig.evidence)
        if (!signal_may_read(state_use_of(e.node), own)) explain_batchable = false;
      for (const auto& l : sig.lets) {
        seen.assign(rules.nodes.size(), 0);
        if (links_cases(l.value, seen)) signal_links[i] = 1;
      }
    }
    if (!explain_batchable) return;
    for (const auto& c : rules.criteria)
      for (const auto& e : c.evidence) assign_slots(e.node);
    for (const auto& sig : rules.signals)
      for (const auto& e : sig.evidence) assign_slots(e.node);
  }

  template <Op kOp>
  static void each(const Node& n, Value* out, const Value* a, const Value* b, const Value* c,
                   size_t count) {
    for (size_t i = 0; i < count; ++i) store(out + i, combine(kOp, n, a[i], b[i], c[i]));
  }

  static void apply(const Node& n, Value* out, const Value* a, const Value* b, const Value* c,
                    size_t count) {
    switch (n.op) {
      case Op::Neg: each<Op::Neg>(n, out, a, b, c, count); break;
      case Op::Not: each<Op::Not>(n, out, a, b, c, count); break;
      case Op::And: each<Op::And>(n, out, a, b, c, count); break;
      case Op::Or: each<Op::Or>(n, out, a, b, c, count); break;
      case Op::Add: each<Op::Add>(n, out, a, b, c, count); break;
      case Op::Sub: each<Op::Sub>(n, out, a, b, c, count); break;
      case Op::Mul: each<Op::Mul>(n, out, a, b, c, count); break;
      case Op::Div: each<Op::Div>(n, out, a, b, c, count); break;
      case Op::Eq: each<Op::Eq>(n, out, a, b, c, count); break;
      case Op::Ne: each<Op::Ne>(n, out, a, b, c, count); break;
      case Op::Lt: each<Op::Lt>(n, out, a, b, c, count); break;
      case Op::Le: each<Op::Le>(n, out, a, b, c, count); break;
      case Op::Gt: each<Op::Gt>(n, out, a, b, c, count); break;
      case Op::Ge: each<Op::Ge>(n, out, a, b, c, count); break;
      case Op::In: each<Op::In>(n, out, a, b, c, count); break;
      case Op::Intersects: each<Op::Intersects>(n, out, a, b, c, count); break;
      case Op::Between: each<Op::Between>(n, out, a, b, c, count); break;
      case Op::IsMissing: each<Op::IsMissing>(n, out, a, b, c, count); break;
      case Op::IsPresent: each<Op::IsPresent>(n, out, a, b, c, count); break;
      case Op::ToDuration: each<Op::ToDuration>(n, out, a, b, c, count); break;
      case Op::YearsBetween: each<Op::YearsBetween>(n, out, a, b, c, count); break;
      case Op::DaysBetween: each<Op::DaysBetween>(n, out, a, b, c, count); break;
      case Op::Weekday: each<Op::Weekday>(n, out, a, b, c, count); break;
      case Op::Size: each<Op::Size>(n, out, a, b, c, count); break;
      case Op::Abs: each<Op::Abs>(n, out, a, b, c, count); break;
      case Op::Coalesce: each<Op::Coalesce>(n, out, a, b, c, count); break;
      default: std::fill_n(out, count, Value{}); break;
    }
  }

  void load_column(const Node& n, Value* out, const Scratch& s) const {
    const data::Column& c = cases.columns[n.index];
    const size_t b = s.bbegin, count = s.bcount;
    if (!c.loaded) {
      std::fill_n(out, count, Value{});
      return;
    }
    switch (n.type.kind) {
      case TypeKind::Bool:
        for (size_t i = 0; i < count; ++i)
          store(out + i, c.valid(b + i) ? Value::boolean(c.boolean(b + i)) : Value{});
        break;
      case TypeKind::Integer:
        for (size_t i = 0; i < count; ++i)
          store(out + i, c.valid(b + i) ? Value::integer(c.integer(b + i)) : Value{});
        break;
      case TypeKind::Number:
        for (size_t i = 0; i < count; ++i)
          store(out + i, c.valid(b + i) ? Value::number(c.number(b + i)) : Value{});
        break;
      case TypeKind::Text:
        for (size_t i = 0; i < count; ++i)
          store(out + i, c.valid(b + i) ? Value::text(c.text(b + i)) : Value{});
        break;
      case TypeKind::Date:
        for (size_t i = 0; i < count; ++i)
          store(out + i, c.valid(b + i) ? Value::date(c.date(b + i)) : Value{});
        break;
      case TypeKind::Set:
        for (size_t i = 0; i < count; ++i)
          store(out + i, c.valid(b + i) ? Value::set_of(c.set(b + i), c.set_size(b + i)) : Value{});
        break;
      default: std::fill_n(out, count, Value{}); break;
    }
  }

  void batch_set_of(const Node& n, Value* out, Scratch& s) const {
    std::vector<const Value*> elems;
    for (int32_t e : rules.lists[n.index]) elems.push_back(bexec(e, s));
    for (size_t i = 0; i < s.bcount; ++i) {
      auto& set = new_set(s);
      bool missing = false;
      for (const Value* e : elems) {
        if (e[i].missing()) {
          missing = true;
          break;
        }
        set.push_back(static_cast<uint32_t>(e[i].i));
      }
      if (missing) {
        out[i] = Value{};
        continue;
      }
      std::sort(set.begin(), set.end());
      set.erase(std::unique(set.begin(), set.end()), set.end());
      out[i] = Value::set_of(set.data(), static_cast<uint32_t>(set.size()));
    }
  }

  void batch_aggregate(int32_t agg_id, Value* out, Scratch& s) const {
    const check::Aggregate& a = rules.aggregates[agg_id];
    const AggIndex& idx = indexes[agg_id];
    std::vector<const Value*>& ops = s.agg_ops[agg_id];
    ops.clear();
    for (int32_t c : a.case_only) ops.push_back(bexec(c, s));
    const size_t nc = a.case_only.size();
    if (!idx.self_keyed)
      for (const auto& k : a.keys) ops.push_back(bexec(k.cased, s));
    const Value* low = a.range && a.range->low >= 0 ? bexec(a.range->low, s) : nullptr;
    const Value* high = a.range && a.range->high >= 0 ? bexec(a.range->high, s) : nullptr;
    Ctx outer;
    outer.s = &s;
    int64_t* key = s.key.data();
    const bool residual = !a.residual.empty();
    // The same steps, in the same order, as aggregate() for one case.
    auto one = [&](size_t i) -> Value {
      for (size_t k = 0; k < nc; ++k) {
        Truth t = truth_of(ops[k][i]);
        if (t == Truth::Unknown) return Value{};
        if (t == Truth::False) return empty_result(a);
      }
      uint32_t g = kNoGroup;
      if (idx.self_keyed) {
        g = idx.row_group[outer.row];
        if (g == kNoGroup) return Value{};
      } else {
        for (size_t k = 0; k < idx.nkeys; ++k) {
          const Value& v = ops[nc + k][i];
          if (v.missing()) return Value{};
          key[k] = key_part(v, idx.key_as_double[k]);
        }
        g = find_group(idx, key);
      }
      double lo = -INFINITY, hi = INFINITY;
      if (low) {
        if (low[i].missing()) return Value{};
        lo = low[i].as_double();
      }
      if (high) {
        if (high[i].missing()) return Value{};
        hi = high[i].as_double();
      }
      return group_result(a, idx, g, lo, hi, outer);
    };
    // Ranges: a case's group is known ahead, so its values are fetched while earlier cases
    // are searched (groups come in random order and rarely stay in cache).
    const bool prefetch = a.range && idx.self_keyed;
    constexpr size_t kAhead = 8;
    for (size_t i = 0; i < s.bcount; ++i) {
      outer.row = s.bbegin + i;
      if (prefetch && i + kAhead < s.bcount) {
        const uint32_t g = idx.row_group[outer.row + kAhead];
        if (g != kNoGroup) {
          const double* v = idx.range_vals.data() + idx.offsets[g];
          const size_t n = idx.offsets[g + 1] - idx.offsets[g];
          __builtin_prefetch(v + n / 4);
          __builtin_prefetch(v + n / 2);
          __builtin_prefetch(v + 3 * n / 4);
        }
      }
      if (residual) ++s.epoch;  // residual conditions read the case through per-case memos
      store(out + i, one(i));
    }
  }

  // The values of node `id` for every case of the batch.
  const Value* bexec(int32_t id, Scratch& s) const {
    id = canon[id];
    const Node& n = rules.nodes[id];
    if (n.op == Op::Definition) return bexec(rules.definitions[n.index].root, s);
    if (n.op == Op::Let)
      return s.let_stamp[n.index] == s.bepoch ? s.let_ptr[n.index] : s.bmissing.data();
    Value* out = s.bvals.data() + static_cast<size_t>(batch_slot[id]) * kBatch;
    if (s.bstamp[id] == s.bepoch || s.bstamp[id] == kForever) return out;
    const size_t count = s.bcount;
    const size_t nc = rules.criteria.size(), ns = rules.signals.size(), nsc = rules.scores.size();
    switch (n.op) {
      case Op::Literal: std::fill_n(out, count, plan.literals[n.index]); break;
      case Op::Param: std::fill_n(out, count, plan.params[n.index]); break;
      case Op::CaseField: load_column(n, out, s); break;
      case Op::Aggregate: batch_aggregate(n.index, out, s); break;
      case Op::Score:
        for (size_t i = 0; i < count; ++i) out[i] = score_value(n, s.bscores[i * nsc + n.index]);
        break;
      case Op::Outcome:
        for (size_t i = 0; i < count; ++i)
          out[i] = outcome_value(n, s.bcriteria.data() + i * nc, s.bfired.data() + i * ns);
        break;
      case Op::AnyOutcome:
        for (size_t i = 0; i < count; ++i)
          out[i] = any_outcome_value(n, s.bcriteria.data() + i * nc, s.bfired.data() + i * ns);
        break;
      case Op::SetOf: batch_set_of(n, out, s); break;
      case Op::RowField:
      case Op::Definition:
      case Op::Let: std::fill_n(out, count, Value{}); break;  // not batched
      default: {
        const Value* a = bexec(n.a, s);
        const Value* b = n.b >= 0 ? bexec(n.b, s) : a;
        const Value* c = n.c >= 0 ? bexec(n.c, s) : a;
        apply(n, out, a, b, c, count);
      }
    }
    // A constant filled for a whole batch stays valid for every later one.
    s.bstamp[id] = constant[id] == 2 && count == kBatch ? kForever : s.bepoch;
    return out;
  }

  // decide() for the cases [begin, begin + count), count <= kBatch, into the batch arrays.
  void decide_batch(size_t begin, size_t count, Scratch& s) const {
    ++s.bepoch;
    s.bbegin = begin;
    s.bcount = count;
    s.sets_used = 0;
    const size_t nc = rules.criteria.size(), ns = rules.signals.size(), nsc = rules.scores.size();
    for (size_t k = 0; k < nc; ++k) {
      const check::Criterion& c = rules.criteria[k];
      uint8_t* out = s.bcriteria.data() + k;
      if (c.clauses.size() == 1) {
        const Value* t = bexec(c.clauses[0].condition, s);
        const auto kind = c.clauses[0].kind;
        const bool is_fail = kind == check::ClauseKind::Fail;
        for (size_t i = 0; i < count; ++i) {
          Truth v = truth_of(t[i]);
          CriterionOutcome o;
          if (kind == check::ClauseKind::Unknown)
            o = v == Truth::True ? CriterionOutcome::Unknown : CriterionOutcome::Pass;
          else if (v == Truth::Unknown)
            o = CriterionOutcome::Unknown;
          else
            o = ((v == Truth::True) != is_fail) ? CriterionOutcome::Pass : CriterionOutcome::Fail;
          out[i * nc] = static_cast<uint8_t>(o);
        }
      } else {
        std::vector<const Value*>& ops = s.clause_ops[k];
        ops.clear();
        for (const auto& cl : c.clauses) ops.push_back(bexec(cl.condition, s));
        for (size_t i = 0; i < count; ++i) {
          CriterionOutcome o = CriterionOutcome::Unknown;
          for (size_t q = 0; q < ops.size(); ++q) {
            if (truth_of(ops[q][i]) == Truth::True) {
              auto kind = c.clauses[q].kind;
              o = kind == check::ClauseKind::Pass ? CriterionOutcome::Pass
                  : kind == check::ClauseKind::Fail ? CriterionOutcome::Fail : CriterionOutcome::Unknown;
              break;
            }
          }
          out[i * nc] = static_cast<uint8_t>(o);
        }
      }
    }
    for (size_t k = 0; k < ns; ++k) {
      const check::Signal& sig = rules.signals[k];
      for (const check::Let& l : sig.lets) {
        s.let_ptr[l.slot] = bexec(l.value, s);
        s.let_stamp[l.slot] = s.bepoch;
      }
      const Value* f = bexec(sig.fires, s);
      for (size_t i = 0; i < count; ++i) s.bfired[i * ns + k] = truth_of(f[i]) == Truth::True;
    }
    for (size_t k = 0; k < nsc; ++k) {
      const check::Score& sc = rules.scores[k];
      double* out = s.bscores.data() + k;
      switch (sc.form) {
        case check::Score::Form::SignalPoints:
          for (size_t i = 0; i < count; ++i) {
            double total = 0;
            for (size_t q = 0; q < ns; ++q)
              if (s.bfired[i * ns + q]) total += rules.signals[q].points;
            out[i * nsc] = total;
          }
          break;
        case check::Score::Form::Terms:
          for (size_t i = 0; i < count; ++i) out[i * nsc] = 0;
          for (const auto& term : sc.terms) {
            const Value* t = bexec(term.condition, s);
            for (size_t i = 0; i < count; ++i)
              if (truth_of(t[i]) == Truth::True) out[i * nsc] += term.weight;
          }
          break;
        case check::Score::Form::Expression: {
          const Value* v = bexec(sc.expr, s);
          for (size_t i = 0; i < count; ++i) out[i * nsc] = v[i].missing() ? 0 : v[i].as_double();
          break;
        }
      }
    }
    int32_t* chosen = s.bchosen.data();
    std::fill_n(chosen, count, -1);
    size_t open = count;
    for (size_t q = 0; q < rules.disposition.size() && open > 0; ++q) {
      const auto& line = rules.disposition[q];
      if (line.condition < 0) {
        for (size_t i = 0; i < count; ++i)
          if (chosen[i] < 0) chosen[i] = static_cast<int32_t>(q);
        break;
      }
      const Value* t = bexec(line.condition, s);
      for (size_t i = 0; i < count; ++i) {
        if (chosen[i] < 0 && truth_of(t[i]) == Truth::True) {
          chosen[i] = static_cast<int32_t>(q);
          --open;
        }
      }
    }
  }

  // ------------------------------------------------------------------ explaining from a batch
  // Review explains every case. Once decide_batch has decided a batch, its node buffers hold
  // every case's condition and evidence values, so a case is explained by reading them
  // instead of walking its tree again: the same detail as decide(row, s, &detail), since
  // evaluation is pure and every value read is final (plan_explaining). A case for which a
  // signal fired whose lets can list linked cases is explained by the walk, which lists them.
  void explain_from_batch(size_t i, Scratch& b, Scratch& one, CaseDetail& detail) const {
    const size_t nc = rules.criteria.size(), ns = rules.signals.size(), nsc = rules.scores.size();
    const size_t row = b.bbegin + i;
    for (size_t k = 0; k < ns; ++k) {
      if (b.bfired[i * ns + k] && signal_links[k]) {
        decide(row, one, &detail);
        return;
      }
    }
    detail.criteria.resize(nc);
    detail.signals.resize(ns);
    detail.linked.resize(ns);
    detail.scores.clear();
    detail.score_terms.resize(nsc);
    detail.skipped_unknown.clear();
    one.detail_sets_used = 0;
    for (size_t k = 0; k < nc; ++k) {
      const check::Criterion& c = rules.criteria[k];
      CriterionFinding& f = detail.criteria[k];
      f.outcome = static_cast<CriterionOutcome>(b.bcriteria[i * nc + k]);
      f.decided_by = -1;
      if (c.clauses.size() == 1) {
        const auto kind = c.clauses[0].kind;
        if (kind != check::ClauseKind::Unknown &&
            truth_of(bexec(c.clauses[0].condition, b)[i]) == Truth::True)
          f.decided_by = 0;
      } else {
        for (size_t q = 0; q < c.clauses.size(); ++q) {
          if (truth_of(bexec(c.clauses[q].condition, b)[i]) == Truth::True) {
            f.decided_by = static_cast<int32_t>(q);
            break;
          }
        }
      }
      evidence_from_batch(c.evidence, b, i, one, f.evidence, f.missing, *detail.set_storage);
    }
    for (size_t k = 0; k < ns; ++k) {
      const check::Signal& sig = rules.signals[k];
      SignalFinding& f = detail.signals[k];
      f.fired = b.bfired[i * ns + k] != 0;
      f.unknown = truth_of(bexec(sig.fires, b)[i]) == Truth::Unknown;
      evidence_from_batch(sig.evidence, b, i, one, f.evidence, f.missing, *detail.set_storage);
      detail.linked[k].clear();
    }
    for (size_t k = 0; k < nsc; ++k) {
      const check::Score& sc = rules.scores[k];
      detail.scores.push_back(b.bscores[i * nsc + k]);
      std::vector<ScoreTermFinding>& terms = detail.score_terms[k];
      terms.clear();
      if (sc.form == check::Score::Form::Terms)
        for (const auto& term : sc.terms) terms.push_back({truth_of(bexec(term.condition, b)[i])});
    }
    const int32_t chosen = b.bchosen[i];
    for (size_t q = 0; q < rules.disposition.size(); ++q) {
      const auto& line = rules.disposition[q];
      if (line.condition < 0 || static_cast<int32_t>(q) == chosen) break;
      if (truth_of(bexec(line.condition, b)[i]) == Truth::Unknown)
        detail.skipped_unknown.push_back(static_cast<int32_t>(q));
    }
    detail.row = row;
    detail.disposition = chosen;
  }

  // Replaces `out` and `missing` with the items' values (value_of(item)) and the names of the
  // missing ones, reusing their storage (and the entries of `sets` from `sets_used` on).
  template <typename ValueOf>
  void fill_evidence(const std::vector<check::Evidence>& items, ValueOf value_of,
                     size_t& sets_used, std::vector<EvidenceItem>& out,
                     std::vector<std::string>& missing,
                     std::deque<std::vector<uint32_t>>& sets) const {
    out.resize(items.size());
    size_t n_missing = 0;
    for (size_t k = 0; k < items.size(); ++k) {
      const check::Evidence& e = items[k];
      Value v = value_of(e);
      // A set value may point into scratch (the case's or the batch's): copy it into the
      // detail's own storage.
      if (v.kind == ValueKind::Set && v.n > 0) {
        if (sets_used == sets.size()) sets.emplace_back();
        sets[sets_used].assign(v.set, v.set + v.n);
        v.set = sets[sets_used++].data();
      }
      EvidenceItem& item = out[k];
      item.name = e.name;
      item.value = v;
      item.type = rules.nodes[e.node].type.kind;
      if (v.missing()) {
        if (n_missing == missing.size()) missing.emplace_back();
        missing[n_missing++] = e.name;
      }
    }
    missing.resize(n_missing);
  }

  void collect_evidence(const std::vector<check::Evidence>& items, Ctx& ctx,
                        std::vector<EvidenceItem>& out, std::vector<std::string>& missing,
                        std::deque<std::vector<uint32_t>>& sets) const {
    fill_evidence(items, [&](const check::Evidence& e) { return eval(e.node, ctx); },
                  ctx.s->detail_sets_used, out, missing, sets);
  }

  // collect_evidence, reading the values of case i of the batch.
  void evidence_from_batch(const std::vector<check::Evidence>& items, Scratch& b, size_t i,
                           Scratch& one, std::vector<EvidenceItem>& out,
                           std::vector<std::string>& missing,
                           std::deque<std::vector<uint32_t>>& sets) const {
    fill_evidence(items, [&](const check::Evidence& e) { return bexec(e.node, b)[i]; },
                  one.detail_sets_used, out, missing, sets);
  }
};

Evaluator::Evaluator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Evaluator::~Evaluator() = default;

int resolve_threads(int requested) {
  if (requested > 0) return std::min(requested, kMaxThreads);
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : std::min(static_cast<int>(hc), kMaxThreads);
}

Result<std::unique_ptr<Evaluator>> Evaluator::prepare(const plan::Plan& plan, const data::Table& cases,
                                                      const std::vector<const data::Table*>& tables,
                                                      int threads) {
  auto impl = std::make_unique<Impl>(plan, cases, tables);
  impl->indexes.resize(impl->rules.aggregates.size());
  // Indexes are independent of each other: build them side by side.
  size_t n = impl->indexes.size();
  int t = std::max(1, std::min<int>(resolve_threads(threads), static_cast<int>(n)));
  std::atomic<size_t> next{0};
  Impl* raw = impl.get();
  auto work = [raw, &next, n]() {
    Impl::Scratch s;
    Impl::IndexBuffers buffers;
    raw->init_scratch(s);
    for (size_t i = next++; i < n; i = next++) raw->build_index(i, s, buffers);
  };
  share_out(static_cast<size_t>(t - 1), work);
  impl->plan_batches();
  return std::unique_ptr<Evaluator>(new Evaluator(std::move(impl)));
}

Decisions Evaluator::undecided() const {
  const Impl& m = *impl_;
  Decisions d;
  d.cases = m.cases.rows;
  d.n_scores = m.rules.scores.size();
  d.n_criteria = m.rules.criteria.size();
  d.n_signals = m.rules.signals.size();
  // Uninitialised: whoever decides a row is the first to touch it (see Decisions).
  d.disposition.resize(d.cases);
  d.scores.resize(d.cases * d.n_scores);
  d.criteria.resize(d.cases * d.n_criteria);
  d.fired.resize(d.cases * d.n_signals);
  return d;
}

void Decisions::take(const CaseDetail& detail) {
  const size_t r = detail.row;
  disposition[r] = static_cast<uint8_t>(detail.disposition);
  for (size_t i = 0; i < n_scores; ++i) scores[r * n_scores + i] = detail.scores[i];
  for (size_t i = 0; i < n_criteria; ++i)
    criteria[r * n_criteria + i] = static_cast<uint8_t>(detail.criteria[i].outcome);
  for (size_t i = 0; i < n_signals; ++i) fired[r * n_signals + i] = detail.signals[i].fired;
}

Decisions Evaluator::evaluate_all(int threads) const {
  const Impl& m = *impl_;
  Decisions d = undecided();
  int t = std::max(1, resolve_threads(threads));
  // Fixed-size chunks handed out in order; each result lands at its case's row.
  constexpr size_t kChunk = 4096;
  std::atomic<size_t> next{0};
  auto work = [&]() {
    Impl::Scratch s;
    if (m.batchable) m.init_batch_scratch(s);
    else m.init_scratch(s);
    for (size_t begin = next.fetch_add(kChunk); begin < d.cases; begin = next.fetch_add(kChunk)) {
      size_t end = std::min(d.cases, begin + kChunk);
      if (m.batchable) {
        for (size_t b = begin; b < end; b += Impl::kBatch) {
          const size_t count = std::min(Impl::kBatch, end - b);
          m.decide_batch(b, count, s);
          for (size_t i = 0; i < count; ++i) d.disposition[b + i] = static_cast<uint8_t>(s.bchosen[i]);
          std::copy_n(s.bscores.begin(), count * d.n_scores, d.scores.begin() + b * d.n_scores);
          std::copy_n(s.bcriteria.begin(), count * d.n_criteria, d.criteria.begin() + b * d.n_criteria);
          std::copy_n(s.bfired.begin(), count * d.n_signals, d.fired.begin() + b * d.n_signals);
        }
        continue;
      }
      for (size_t r = begin; r < end; ++r) {
        m.decide(r, s, nullptr);
        d.disposition[r] = static_cast<uint8_t>(s.disposition);
        std::copy(s.scores.begin(), s.scores.end(), d.scores.begin() + r * d.n_scores);
        std::copy(s.criteria.begin(), s.criteria.end(), d.criteria.begin() + r * d.n_criteria);
        std::copy(s.fired.begin(), s.fired.end(), d.fired.begin() + r * d.n_signals);
      }
    }
  };
  share_out(static_cast<size_t>(t - 1), work);
  return d;
}

CaseDetail Evaluator::explain(size_t row) const {
  Impl::Scratch s;
  impl_->init_scratch(s);
  CaseDetail detail;
  impl_->decide(row, s, &detail);
  return detail;
}

struct CaseExplainer::State {
  const Evaluator::Impl& impl;
  Evaluator::Impl::Scratch scratch;  // deciding one case
  Evaluator::Impl::Scratch batch;    // the window: cases [batch.bbegin, + batch.bcount)
  CaseDetail detail;
  explicit State(const Evaluator::Impl& m) : impl(m) {
    impl.init_scratch(scratch);
    if (impl.explain_batchable) impl.init_batch_scratch(batch);
  }
};

CaseExplainer::CaseExplainer(const Evaluator& evaluator)
    : state_(std::make_unique<State>(*evaluator.impl_)) {}
CaseExplainer::~CaseExplainer() = default;

bool CaseExplainer::reads_batches() const { return state_->impl.explain_batchable; }

// Cases asked for in increasing order are decided a window at a time; review asks for runs
// of 64 consecutive cases, each run on one thread.
constexpr size_t kExplainWindow = 64;

const CaseDetail& CaseExplainer::explain(size_t row) {
  static_assert(kExplainWindow <= Evaluator::Impl::kBatch);
  State& st = *state_;
  if (!st.impl.explain_batchable) {
    st.impl.decide(row, st.scratch, &st.detail);
    return st.detail;
  }
  Evaluator::Impl::Scratch& b = st.batch;
  if (b.bcount == 0 || row < b.bbegin || row >= b.bbegin + b.bcount)
    st.impl.decide_batch(row, std::min(kExplainWindow, st.impl.cases.rows - row), b);
  st.impl.explain_from_batch(row - b.bbegin, b, st.scratch, st.detail);
  return st.detail;
}

}  // namespace crible::eval
