// The checked ruleset: names resolved, types known, user functions inlined, aggregates
// classified for indexing. Expressions live in one node arena and refer to each other by
// index, so later stages walk flat vectors rather than pointer trees.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/schema.h"
#include "base/source.h"
#include "base/types.h"

namespace crible::check {

// A constant value known at check time. Texts are not interned yet: that needs a run.
struct Literal {
  TypeKind kind = TypeKind::Error;  // Error = missing
  int64_t i = 0;                    // Bool, Integer, Date (day number), Duration (days)
  double d = 0;                     // Number
  std::string text;                 // Text
  std::vector<std::string> set;     // Set of text, sorted, unique
};

enum class Op : uint8_t {
  Literal,      // index: literals
  CaseField,    // index: column of the case under review
  RowField,     // index: column of the row an aggregate iterates; aux: source (-1 cases)
  Param,        // index: parameters
  Definition,   // index: definitions (evaluated once per case)
  Let,          // index: let slots (global numbering over all signals)
  Aggregate,    // index: aggregates
  Score,        // index: scores
  Outcome,      // index: criterion or signal; aux: OutcomeVerb; b: 1 for signals
  AnyOutcome,   // aux: OutcomeVerb; b: 1 for signals; index: 1 for "all"
  Neg, Not, And, Or, Add, Sub, Mul, Div, Eq, Ne, Lt, Le, Gt, Ge,
  In,           // a in b (b a set); aux 1 = "not in"
  Intersects,
  Between,      // a between b and c; aux 1 = "not between"
  IsMissing, IsPresent,
  ToDuration,   // a (integer) days; aux = multiplier (1 days, 7 weeks)
  SetOf,        // index: lists (elements)
  YearsBetween, DaysBetween, Weekday, Size, Abs, Coalesce,
};

enum class OutcomeVerb : uint8_t { Passes, Fails, IsUnknown, Fires };

struct Node {
  Op op = Op::Literal;
  Type type;
  // May evaluate to missing/unknown: from data or division by zero, not from a result beyond
  // 64 bits (docs/decisions.md, "Unknown in scores counts 0"). For lints and coverage only.
  bool nullable = false;
  uint8_t scope = 0;      // bit 1: reads the case under review; bit 2: reads an aggregate row
  int32_t a = -1, b = -1, c = -1;
  int32_t index = -1;
  int32_t aux = 0;
  Span span;
};
inline constexpr uint8_t kReadsCase = 1;
inline constexpr uint8_t kReadsRow = 2;

struct Parameter {
  std::string name;
  Type type;
  std::optional<Literal> default_value;
  Span span;
};

struct Constant {
  std::string name;
  Type type;
  Literal value;
  Span span;
};

struct Definition {
  std::string name;
  int32_t root = -1;
  Span span;
};

// Filter of an aggregate, split so that a run can index it: `key` pairs (row side = case
// side) become hash lookups, `range` a sorted index searched by binary search; `row_only`
// conditions filter rows once; `case_only` decide per case; `residual` must be evaluated
// per pair of case and row (quadratic: the checker warns).
struct AggregateKey {
  int32_t row = -1;   // node over the row
  int32_t cased = -1; // node over the case under review
};
struct AggregateRange {
  int32_t row = -1;               // node over the row (date or number)
  int32_t low = -1, high = -1;    // nodes over the case; -1 = unbounded
  bool low_strict = false, high_strict = false;
};

enum class AggregateFn : uint8_t { Count, CountDistinct, Sum, Min, Max, Collect };

struct Aggregate {
  AggregateFn fn = AggregateFn::Count;
  int32_t source = -1;  // -1 = cases, else index into tables
  int32_t value = -1;   // node over the row; -1 for Count
  std::vector<AggregateKey> keys;
  std::optional<AggregateRange> range;
  std::vector<int32_t> row_only, case_only, residual;
  Type type;
  Span span;
};

// A piece of a reason template: literal text, or a placeholder standing for a node's value.
struct TemplatePart {
  std::string text;   // literal text, or the placeholder's name
  int32_t node = -1;  // -1 for literal text
};

// A named value shown as evidence for a finding.
struct Evidence {
  std::string name;
  int32_t node = -1;
};

enum class ClauseKind : uint8_t { Pass, Fail, Unknown };
struct Clause {
  ClauseKind kind = ClauseKind::Pass;
  int32_t condition = -1;
  std::string text;  // as written, for explanations
};

struct Criterion {
  std::string id, name, description;
  std::vector<Clause> clauses;
  std::vector<TemplatePart> reason;  // empty when none written
  std::vector<Evidence> evidence;
  Span span;
};

struct Let {
  std::string name;
  int32_t value = -1;
  int32_t slot = -1;
};

struct Signal {
  std::string id, name, description;
  double points = 0;
  std::vector<Let> lets;
  int32_t fires = -1;
  std::string fires_text;
  std::vector<TemplatePart> reason;
  std::vector<Evidence> evidence;
  Span span;
};

struct ScoreTerm {
  double weight = 0;
  int32_t condition = -1;
  std::string text;
};

struct Score {
  enum class Form : uint8_t { SignalPoints, Expression, Terms } form = Form::Terms;
  std::string name;
  int32_t expr = -1;
  std::vector<ScoreTerm> terms;
  bool integral = true;  // prints without a decimal point
  Span span;
};

struct DispositionLine {
  std::string outcome;
  int32_t condition = -1;  // -1 = otherwise
  std::string text;        // "REFER_PROTECTION when any criterion fails and priority >= 30"
  Span span;
};

struct TypedRuleset {
  std::string title;
  TableSchema cases;
  int32_t case_key = -1;
  std::vector<TableSchema> tables;
  std::vector<Parameter> parameters;
  std::vector<Constant> constants;
  std::vector<Node> nodes;
  std::vector<Literal> literals;
  std::vector<std::vector<int32_t>> lists;
  std::vector<Definition> definitions;
  std::vector<Aggregate> aggregates;
  std::vector<Criterion> criteria;
  std::vector<Signal> signals;
  int32_t let_slots = 0;
  std::vector<Score> scores;
  std::vector<DispositionLine> disposition;
  // Which columns the rules read, of the case under review and of each table. Only these
  // are loaded, and only these case fields are kept in the audit store.
  std::vector<bool> case_fields_read;
  std::vector<bool> row_fields_read;  // of cases, when iterated by an aggregate
  std::vector<std::vector<bool>> table_fields_read;
};

// The operands of a node within its own expression: a, b and c, or a set's elements. Outcome
// and AnyOutcome use `b` as a flag, not an operand. Definitions, lets and aggregates lead to
// other expressions through `index`; walks that follow those do it themselves.
template <class F>
void for_each_operand(const TypedRuleset& r, const Node& n, F f) {
  if (n.op == Op::Outcome || n.op == Op::AnyOutcome) return;
  if (n.op == Op::SetOf) {
    for (int32_t e : r.lists[n.index]) f(e);
    return;
  }
  for (int32_t c : {n.a, n.b, n.c})
    if (c >= 0) f(c);
}

}  // namespace crible::check
