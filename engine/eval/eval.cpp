// Evaluation: aggregate indexes built once per run, then a tree walk per case with
// definitions, lets and aggregates memoised per case in per-thread scratch.
#include "eval/eval.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <bit>
#include <cmath>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "base/date.h"

namespace crible::eval {

using check::Node;
using check::Op;

namespace {

constexpr int kMaxKeys = 4;

struct Key {
  std::array<int64_t, kMaxKeys> v{};
  bool operator==(const Key& o) const { return v == o.v; }
};
struct KeyHash {
  size_t operator()(const Key& k) const {
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (int64_t x : k.v) {
      h ^= static_cast<uint64_t>(x) + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
      h *= 0xff51afd7ed558ccdull;
    }
    return static_cast<size_t>(h ^ (h >> 33));
  }
};

// One key component as an integer: numbers are compared as doubles so that 3 and 3.0 match.
int64_t key_part(const Value& v, bool as_double) {
  if (as_double) {
    double d = v.as_double();
    if (d == 0) d = 0;  // -0 == 0
    return std::bit_cast<int64_t>(d);
  }
  return v.i;
}

struct Group {
  std::vector<uint32_t> rows;     // sorted by range value when there is a range
  std::vector<double> range_vals; // parallel to rows
  Value result;                   // precomputed when the aggregate has no range or residual
  std::vector<uint32_t> collected;  // storage for a precomputed Collect
};

struct AggIndex {
  bool precomputed = false;
  bool key_as_double[kMaxKeys] = {false, false, false, false};
  std::unordered_map<Key, uint32_t, KeyHash> groups;  // key -> index into group_list
  std::vector<Group> group_list;
};

}  // namespace

struct Evaluator::Impl {
  const plan::Plan& plan;
  const check::TypedRuleset& rules;
  const data::Table& cases;
  std::vector<const data::Table*> tables;
  std::vector<AggIndex> indexes;

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
    std::vector<uint32_t>* linked = nullptr;  // when explaining: rows an aggregate matched
    int32_t disposition = -1;
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
  }

  std::vector<uint32_t>& new_set(Scratch& s) const {
    if (s.sets_used >= s.sets.size()) s.sets.emplace_back();
    auto& v = s.sets[s.sets_used++];
    v.clear();
    return v;
  }

  static Value column_value(const data::Table& t, int col, size_t row, TypeKind kind) {
    const data::Column& c = t.columns[col];
    if (!c.loaded || !c.valid[row]) return Value{};
    switch (kind) {
      case TypeKind::Bool: return Value::boolean(c.ints[row] != 0);
      case TypeKind::Integer: return Value::integer(c.ints[row]);
      case TypeKind::Number: return Value::number(c.nums[row]);
      case TypeKind::Text: return Value::text(static_cast<uint32_t>(c.ints[row]));
      case TypeKind::Date: return Value::date(c.ints[row]);
      case TypeKind::Set:
        return Value::set_of(c.set_pool.data() + c.set_begin[row], c.set_end[row] - c.set_begin[row]);
      default: return Value{};
    }
  }

  static int compare(const Value& a, const Value& b) {
    if (a.kind == ValueKind::Num || b.kind == ValueKind::Num) {
      double x = a.as_double(), y = b.as_double();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
  }

  static bool set_contains(const Value& set, int64_t id) {
    return std::binary_search(set.set, set.set + set.n, static_cast<uint32_t>(id));
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
      case Op::Score: return Value::number(ctx.s->scores[n.index]);
      case Op::Outcome: {
        auto verb = static_cast<check::OutcomeVerb>(n.aux);
        if (n.b == 1) return Value::boolean(ctx.s->fired[n.index] != 0);
        auto o = static_cast<CriterionOutcome>(ctx.s->criteria[n.index]);
        return Value::boolean(verb == check::OutcomeVerb::Passes ? o == CriterionOutcome::Pass
                              : verb == check::OutcomeVerb::Fails ? o == CriterionOutcome::Fail
                                                                  : o == CriterionOutcome::Unknown);
      }
      case Op::AnyOutcome: {
        bool all = n.index == 1;
        auto verb = static_cast<check::OutcomeVerb>(n.aux);
        bool any_hit = false, all_hit = true;
        if (n.b == 1) {
          for (uint8_t f : ctx.s->fired) {
            any_hit = any_hit || f;
            all_hit = all_hit && f;
          }
        } else {
          CriterionOutcome want = verb == check::OutcomeVerb::Passes ? CriterionOutcome::Pass
                                  : verb == check::OutcomeVerb::Fails ? CriterionOutcome::Fail
                                                                      : CriterionOutcome::Unknown;
          for (uint8_t c : ctx.s->criteria) {
            bool hit = static_cast<CriterionOutcome>(c) == want;
            any_hit = any_hit || hit;
            all_hit = all_hit && hit;
          }
        }
        return Value::boolean(all ? all_hit : any_hit);
      }
      case Op::Neg: {
        Value a = eval(n.a, ctx);
        if (a.missing()) return a;
        if (a.kind == ValueKind::Num) a.d = -a.d;
        else a.i = -a.i;
        return a;
      }
      case Op::Not: return truth_value(kleene_not(truth_of(eval(n.a, ctx))));
      case Op::And: {
        Truth a = truth_of(eval(n.a, ctx));
        if (a == Truth::False) return Value::boolean(false);  // a definite false decides
        return truth_value(kleene_and(a, truth_of(eval(n.b, ctx))));
      }
      case Op::Or: {
        Truth a = truth_of(eval(n.a, ctx));
        if (a == Truth::True) return Value::boolean(true);
        return truth_value(kleene_or(a, truth_of(eval(n.b, ctx))));
      }
      case Op::Add:
      case Op::Sub:
      case Op::Mul:
      case Op::Div: return arithmetic(n, ctx);
      case Op::Eq: case Op::Ne: case Op::Lt: case Op::Le: case Op::Gt: case Op::Ge: {
        Value a = eval(n.a, ctx);
        if (a.missing()) return Value{};
        Value b = eval(n.b, ctx);
        if (b.missing()) return Value{};
        int c = compare(a, b);
        bool r = n.op == Op::Eq ? c == 0 : n.op == Op::Ne ? c != 0 : n.op == Op::Lt ? c < 0
               : n.op == Op::Le ? c <= 0 : n.op == Op::Gt ? c > 0 : c >= 0;
        return Value::boolean(r);
      }
      case Op::In: {
        Value a = eval(n.a, ctx);
        Value b = eval(n.b, ctx);
        if (a.missing() || b.missing()) return Value{};
        bool in = set_contains(b, a.i);
        return Value::boolean(n.aux ? !in : in);
      }
      case Op::Intersects: {
        Value a = eval(n.a, ctx);
        Value b = eval(n.b, ctx);
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
        Value a = eval(n.a, ctx);
        Value lo = eval(n.b, ctx);
        Value hi = eval(n.c, ctx);
        if (a.missing() || lo.missing() || hi.missing()) return Value{};
        bool in = compare(a, lo) >= 0 && compare(a, hi) <= 0;
        return Value::boolean(n.aux ? !in : in);
      }
      case Op::IsMissing: return Value::boolean(eval(n.a, ctx).missing());
      case Op::IsPresent: return Value::boolean(!eval(n.a, ctx).missing());
      case Op::ToDuration: {
        Value a = eval(n.a, ctx);
        if (a.missing()) return a;
        return Value::duration(a.i * n.aux);
      }
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
      case Op::YearsBetween: {
        Value a = eval(n.a, ctx);
        Value b = eval(n.b, ctx);
        if (a.missing() || b.missing()) return Value{};
        return Value::integer(whole_years(a.i, b.i));
      }
      case Op::DaysBetween: {
        Value a = eval(n.a, ctx);
        Value b = eval(n.b, ctx);
        if (a.missing() || b.missing()) return Value{};
        return Value::integer(b.i - a.i);
      }
      case Op::Weekday: {
        Value a = eval(n.a, ctx);
        if (a.missing()) return a;
        return Value::integer(iso_weekday(a.i));
      }
      case Op::Size: {
        Value a = eval(n.a, ctx);
        if (a.missing()) return a;
        return Value::integer(a.n);
      }
      case Op::Abs: {
        Value a = eval(n.a, ctx);
        if (a.missing()) return a;
        if (a.kind == ValueKind::Num) a.d = std::fabs(a.d);
        else a.i = a.i < 0 ? -a.i : a.i;
        return a;
      }
      case Op::Coalesce: {
        Value a = eval(n.a, ctx);
        return a.missing() ? eval(n.b, ctx) : a;
      }
    }
    return Value{};
  }

  static Value truth_value(Truth t) {
    return t == Truth::Unknown ? Value{} : Value::boolean(t == Truth::True);
  }

  Value arithmetic(const Node& n, Ctx& ctx) const {
    Value a = eval(n.a, ctx);
    if (a.missing()) return a;
    Value b = eval(n.b, ctx);
    if (b.missing()) return b;
    TypeKind rt = n.type.kind;
    if (rt == TypeKind::Number || n.op == Op::Div) {
      double x = a.as_double(), y = b.as_double();
      switch (n.op) {
        case Op::Add: return Value::number(x + y);
        case Op::Sub: return Value::number(x - y);
        case Op::Mul: return Value::number(x * y);
        default:
          if (y == 0) return Value{};  // division by zero is unknown, not infinity
          return Value::number(x / y);
      }
    }
    int64_t r = 0;
    switch (n.op) {
      case Op::Add: r = a.i + b.i; break;
      case Op::Sub: r = a.i - b.i; break;
      default: r = a.i * b.i; break;
    }
    Value out;
    out.i = r;
    out.kind = rt == TypeKind::Date ? ValueKind::Date : rt == TypeKind::Duration ? ValueKind::Duration
                                                                                 : ValueKind::Int;
    return out;
  }

  // ------------------------------------------------------------------ aggregates
  const data::Table& source_table(const check::Aggregate& a) const {
    return a.source == -1 ? cases : *tables[a.source];
  }

  bool key_uses_double(const check::AggregateKey& k) const {
    return rules.nodes[k.row].type.kind == TypeKind::Number ||
           rules.nodes[k.cased].type.kind == TypeKind::Number;
  }

  void build_index(size_t agg_id, Scratch& s) {
    const check::Aggregate& a = rules.aggregates[agg_id];
    AggIndex& idx = indexes[agg_id];
    const data::Table& src = source_table(a);
    size_t nkeys = std::min<size_t>(a.keys.size(), kMaxKeys);
    for (size_t k = 0; k < nkeys; ++k) idx.key_as_double[k] = key_uses_double(a.keys[k]);
    Ctx ctx;
    ctx.inner_table = &src;
    ctx.s = &s;
    for (size_t r = 0; r < src.rows; ++r) {
      ctx.inner = r;
      s.sets_used = 0;
      bool keep = true;
      for (int32_t c : a.row_only) {
        if (truth_of(eval(c, ctx)) != Truth::True) {
          keep = false;
          break;
        }
      }
      if (!keep) continue;
      Key key;
      for (size_t k = 0; k < nkeys && keep; ++k) {
        Value v = eval(a.keys[k].row, ctx);
        if (v.missing()) keep = false;  // a row with a missing key matches no case
        else key.v[k] = key_part(v, idx.key_as_double[k]);
      }
      if (!keep) continue;
      double range_val = 0;
      if (a.range) {
        Value v = eval(a.range->row, ctx);
        if (v.missing()) continue;
        range_val = v.as_double();
      }
      auto [it, inserted] = idx.groups.try_emplace(key, static_cast<uint32_t>(idx.group_list.size()));
      if (inserted) idx.group_list.emplace_back();
      Group& g = idx.group_list[it->second];
      g.rows.push_back(static_cast<uint32_t>(r));
      if (a.range) g.range_vals.push_back(range_val);
    }
    if (a.range) {
      for (Group& g : idx.group_list) {
        std::vector<uint32_t> order(g.rows.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
        std::stable_sort(order.begin(), order.end(),
                         [&](uint32_t x, uint32_t y) { return g.range_vals[x] < g.range_vals[y]; });
        std::vector<uint32_t> rows(order.size());
        std::vector<double> vals(order.size());
        for (size_t i = 0; i < order.size(); ++i) {
          rows[i] = g.rows[order[i]];
          vals[i] = g.range_vals[order[i]];
        }
        g.rows = std::move(rows);
        g.range_vals = std::move(vals);
      }
    }
    idx.precomputed = !a.range && a.residual.empty() && a.keys.size() <= kMaxKeys;
    if (idx.precomputed) {
      for (Group& g : idx.group_list) {
        g.result = fold(a, g.rows.data(), g.rows.size(), nullptr, ctx, &g.collected);
      }
    }
  }

  // Folds the aggregate function over rows (those passing `residual` when ctx is given).
  Value fold(const check::Aggregate& a, const uint32_t* rows, size_t count, Ctx* residual_ctx,
             Ctx& ctx, std::vector<uint32_t>* collect_out) const {
    const data::Table& src = source_table(a);
    Ctx inner = ctx;
    inner.inner_table = &src;
    int64_t n = 0;
    int64_t isum = 0;
    double dsum = 0;
    bool any = false;
    Value best;
    std::vector<int64_t>& distinct = ctx.s->distinct;
    distinct.clear();
    std::vector<uint32_t> local_collect;
    std::vector<uint32_t>& coll = collect_out ? *collect_out : local_collect;
    coll.clear();
    for (size_t i = 0; i < count; ++i) {
      inner.inner = rows[i];
      if (residual_ctx) {
        inner.row = residual_ctx->row;
        bool keep = true;
        for (int32_t c : a.residual) {
          if (truth_of(eval(c, inner)) != Truth::True) {
            keep = false;
            break;
          }
        }
        if (!keep) continue;
      }
      if (ctx.s->linked && ctx.s->linked->size() < 11) ctx.s->linked->push_back(rows[i]);
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
          any = true;
          break;
        case check::AggregateFn::Min:
        case check::AggregateFn::Max:
          if (best.missing() || (a.fn == check::AggregateFn::Min ? compare(v, best) < 0 : compare(v, best) > 0))
            best = v;
          break;
        case check::AggregateFn::Collect:
          coll.push_back(static_cast<uint32_t>(v.i));
          break;
        default: break;
      }
    }
    (void)any;
    switch (a.fn) {
      case check::AggregateFn::Count: return Value::integer(n);
      case check::AggregateFn::CountDistinct: {
        std::sort(distinct.begin(), distinct.end());
        return Value::integer(std::unique(distinct.begin(), distinct.end()) - distinct.begin());
      }
      case check::AggregateFn::Sum:
        return a.type.kind == TypeKind::Number ? Value::number(dsum + static_cast<double>(isum))
                                               : Value::integer(isum);
      case check::AggregateFn::Min:
      case check::AggregateFn::Max: return best;
      case check::AggregateFn::Collect: {
        std::sort(coll.begin(), coll.end());
        coll.erase(std::unique(coll.begin(), coll.end()), coll.end());
        if (!collect_out) {
          auto& out = new_set(*ctx.s);
          out = coll;
          return Value::set_of(out.data(), static_cast<uint32_t>(out.size()));
        }
        return Value::set_of(coll.data(), static_cast<uint32_t>(coll.size()));
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
    Key key;
    size_t nkeys = std::min<size_t>(a.keys.size(), kMaxKeys);
    for (size_t k = 0; k < nkeys; ++k) {
      Value v = eval(a.keys[k].cased, outer);
      if (v.missing()) return Value{};  // "same phone" when the phone is unknown: unknown
      key.v[k] = key_part(v, idx.key_as_double[k]);
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
    auto it = idx.groups.find(key);
    if (it == idx.groups.end()) return empty_result(a);
    const Group& g = idx.group_list[it->second];
    if (idx.precomputed && !ctx.s->linked) return g.result;
    const uint32_t* begin = g.rows.data();
    size_t count = g.rows.size();
    if (a.range) {
      auto vb = g.range_vals.begin(), ve = g.range_vals.end();
      auto first = a.range->low_strict ? std::upper_bound(vb, ve, lo) : std::lower_bound(vb, ve, lo);
      auto last = a.range->high_strict ? std::lower_bound(vb, ve, hi) : std::upper_bound(vb, ve, hi);
      if (last < first) last = first;
      begin = g.rows.data() + (first - vb);
      count = static_cast<size_t>(last - first);
      if (a.fn == check::AggregateFn::Count && a.residual.empty() && !ctx.s->linked)
        return Value::integer(static_cast<int64_t>(count));
    }
    return fold(a, begin, count, a.residual.empty() ? nullptr : &outer, outer, nullptr);
  }

  // ------------------------------------------------------------------ one case
  void decide(size_t row, Scratch& s, CaseDetail* detail) const {
    ++s.epoch;
    s.sets_used = 0;
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
        CriterionFinding f;
        f.outcome = out;
        f.decided_by = decided_by;
        collect_evidence(c.evidence, ctx, f.evidence, f.missing);
        detail->criteria.push_back(std::move(f));
      }
    }
    for (size_t i = 0; i < rules.signals.size(); ++i) {
      const check::Signal& sig = rules.signals[i];
      std::vector<uint32_t> linked;
      if (detail) s.linked = &linked;
      for (const check::Let& l : sig.lets) {
        s.let_val[l.slot] = eval(l.value, ctx);
        s.let_epoch[l.slot] = s.epoch;
      }
      s.linked = nullptr;
      Truth t = truth_of(eval(sig.fires, ctx));
      s.fired[i] = t == Truth::True;
      if (detail) {
        SignalFinding f;
        f.fired = t == Truth::True;
        f.unknown = t == Truth::Unknown;
        collect_evidence(sig.evidence, ctx, f.evidence, f.missing);
        std::vector<size_t> rows;
        for (uint32_t r : linked)
          if (r != row && rows.size() < 10) rows.push_back(r);
        detail->linked.push_back(std::move(rows));
        detail->signals.push_back(std::move(f));
      }
    }
    for (size_t i = 0; i < rules.scores.size(); ++i) {
      const check::Score& sc = rules.scores[i];
      double total = 0;
      std::vector<ScoreTermFinding> terms;
      switch (sc.form) {
        case check::Score::Form::SignalPoints:
          for (size_t k = 0; k < rules.signals.size(); ++k)
            if (s.fired[k]) total += rules.signals[k].points;
          break;
        case check::Score::Form::Terms:
          for (const auto& term : sc.terms) {
            Truth t = truth_of(eval(term.condition, ctx));
            if (t == Truth::True) total += term.weight;  // unknown adds nothing; explained
            terms.push_back({t});
          }
          break;
        case check::Score::Form::Expression: {
          Value v = eval(sc.expr, ctx);
          total = v.missing() ? 0 : v.as_double();
          break;
        }
      }
      s.scores[i] = total;
      if (detail) {
        detail->scores.push_back(total);
        detail->score_terms.push_back(std::move(terms));
      }
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

  void collect_evidence(const std::vector<check::Evidence>& items, Ctx& ctx,
                        std::vector<EvidenceItem>& out, std::vector<std::string>& missing) const {
    for (const auto& e : items) {
      Value v = eval(e.node, ctx);
      // A set value may point into per-case scratch: copy it into stable storage.
      if (v.kind == ValueKind::Set && v.n > 0) {
        explain_sets_.emplace_back(v.set, v.set + v.n);
        v.set = explain_sets_.back().data();
      }
      out.push_back({e.name, v, rules.nodes[e.node].type.kind});
      if (v.missing()) missing.push_back(e.name);
    }
  }

  mutable std::deque<std::vector<uint32_t>> explain_sets_;
};

Evaluator::Evaluator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Evaluator::~Evaluator() = default;

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

Result<std::unique_ptr<Evaluator>> Evaluator::prepare(const plan::Plan& plan, const data::Table& cases,
                                                      const std::vector<const data::Table*>& tables,
                                                      int threads) {
  auto impl = std::make_unique<Impl>(plan, cases, tables);
  impl->indexes.resize(impl->rules.aggregates.size());
  // Indexes are independent of each other: build them side by side.
  size_t n = impl->indexes.size();
  int t = std::max(1, std::min<int>(resolve_threads(threads), static_cast<int>(n)));
  std::vector<std::thread> workers;
  std::atomic<size_t> next{0};
  Impl* raw = impl.get();
  auto work = [raw, &next, n]() {
    Impl::Scratch s;
    raw->init_scratch(s);
    for (size_t i = next++; i < n; i = next++) raw->build_index(i, s);
  };
  for (int k = 1; k < t; ++k) workers.emplace_back(work);
  work();
  for (auto& w : workers) w.join();
  return std::unique_ptr<Evaluator>(new Evaluator(std::move(impl)));
}

Decisions Evaluator::evaluate_all(int threads) const {
  const Impl& m = *impl_;
  Decisions d;
  d.cases = m.cases.rows;
  d.n_scores = m.rules.scores.size();
  d.n_criteria = m.rules.criteria.size();
  d.n_signals = m.rules.signals.size();
  d.disposition.assign(d.cases, 0);
  d.scores.assign(d.cases * d.n_scores, 0);
  d.criteria.assign(d.cases * d.n_criteria, 0);
  d.fired.assign(d.cases * d.n_signals, 0);
  int t = std::max(1, resolve_threads(threads));
  // Fixed-size chunks handed out in order; each result lands at its case's row.
  constexpr size_t kChunk = 4096;
  std::atomic<size_t> next{0};
  auto work = [&]() {
    Impl::Scratch s;
    m.init_scratch(s);
    for (size_t begin = next.fetch_add(kChunk); begin < d.cases; begin = next.fetch_add(kChunk)) {
      size_t end = std::min(d.cases, begin + kChunk);
      for (size_t r = begin; r < end; ++r) {
        m.decide(r, s, nullptr);
        d.disposition[r] = static_cast<uint8_t>(s.disposition);
        std::copy(s.scores.begin(), s.scores.end(), d.scores.begin() + r * d.n_scores);
        std::copy(s.criteria.begin(), s.criteria.end(), d.criteria.begin() + r * d.n_criteria);
        std::copy(s.fired.begin(), s.fired.end(), d.fired.begin() + r * d.n_signals);
      }
    }
  };
  std::vector<std::thread> workers;
  for (int k = 1; k < t; ++k) workers.emplace_back(work);
  work();
  for (auto& w : workers) w.join();
  return d;
}

CaseDetail Evaluator::explain(size_t row) const {
  Impl::Scratch s;
  impl_->init_scratch(s);
  CaseDetail detail;
  impl_->decide(row, s, &detail);
  return detail;
}

}  // namespace crible::eval
