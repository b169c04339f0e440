// The owned AST of a rule file: what the author wrote, with a span on everything, and no
// meaning yet (names unresolved, types unknown). Built from ANTLR's parse tree, which is
// discarded before `parse` returns.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/source.h"

namespace crible::syntax {

enum class ExprKind {
  Bool,         // bool_value
  Int,          // int_value
  Decimal,      // number_value
  Text,         // text (unescaped)
  Date,         // text = "YYYY-MM-DD" as written (validated by the checker)
  SetLiteral,   // args = elements
  Name,         // name
  This,         // this.name: the case under review, inside an aggregate
  Call,         // name(args)
  Negate,       // -args[0]
  Not,          // not args[0]
  Binary,       // args[0] op args[1]
  In,           // args[0] in args[1]; negated for "not in"
  Intersects,   // args[0] intersects args[1]
  Between,      // args[0] between args[1] and args[2]; negated for "not between"
  IsMissing,    // args[0] is missing
  IsPresent,    // args[0] is present
  Duration,     // args[0] days|weeks; unit in name ("days" or "weeks")
  Outcome,      // E1 fails / any criterion is unknown: see OutcomeTest
  Aggregate,    // see AggregateSyntax
};

enum class BinaryOp { Add, Sub, Mul, Div, Eq, Ne, Lt, Le, Gt, Ge, And, Or };

enum class Verb { Passes, Fails, IsUnknown, Fires };
enum class Quantifier { None, Any, All };

struct OutcomeTest {
  Quantifier quantifier = Quantifier::None;
  bool about_signals = false;  // for any/all: signals rather than criteria
  std::string id;              // for Quantifier::None: the rule id
  Verb verb = Verb::Passes;
};

enum class AggregateFn { Count, CountDistinct, Sum, Min, Max, Collect };

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct AggregateSyntax {
  AggregateFn fn = AggregateFn::Count;
  std::string source;  // "cases" or a table name
  Span source_span;
  ExprPtr value;       // null for Count
  std::vector<std::pair<std::string, Span>> same;  // "with same a, b"
  ExprPtr where;       // may be null
};

struct Expr {
  ExprKind kind = ExprKind::Bool;
  Span span;
  BinaryOp op = BinaryOp::Add;
  bool negated = false;
  bool bool_value = false;
  long long int_value = 0;
  double number_value = 0;
  std::string name;  // Name, This, Call, Duration unit; Text/Date literal text
  Span name_span;
  std::vector<ExprPtr> args;
  std::unique_ptr<OutcomeTest> outcome;
  std::unique_ptr<AggregateSyntax> aggregate;
};

struct TypeSyntax {
  enum class Form { Named, Enum, Set, SetEnum } form = Form::Named;
  std::string name;                 // Named: "text", "date", ...; Set: the element type name
  std::vector<std::string> values;  // Enum, SetEnum
  Span span;
};

struct ColumnOptionSyntax {
  std::string text;  // words joined by one space, e.g. "blank means none"
  std::optional<std::string> value;  // the quoted text after the words: `format "AAA"`
  Span span;
};

struct ColumnSyntax {
  std::string name;
  Span span;
  TypeSyntax type;
  std::vector<ColumnOptionSyntax> options;
};

struct SchemaSyntax {
  bool is_cases = false;
  std::string name;  // "cases" or the table's name
  Span span;         // the keyword and name
  std::vector<ColumnSyntax> columns;
};

struct ParameterSyntax {
  std::string name;
  Span span;
  TypeSyntax type;
  ExprPtr default_value;  // may be null: then the parameter must be given
};

struct ConstantSyntax {
  std::string name;
  Span span;
  ExprPtr value;
};

struct DefineParamSyntax {
  std::string name;
  Span span;
  TypeSyntax type;
};

struct DefineSyntax {
  std::string name;
  Span span;
  std::vector<DefineParamSyntax> params;
  bool is_function = false;  // written with parentheses, even if empty
  ExprPtr body;
};

struct TextSyntax {
  std::string text;  // unescaped
  Span span;         // including the quotes
};

enum class ClauseKind { Pass, Fail, Unknown };

struct CriterionClauseSyntax {
  ClauseKind kind = ClauseKind::Pass;
  Span span;  // the "pass when" words
  ExprPtr condition;
};

struct CriterionSyntax {
  std::string id, name;
  Span span;  // id and name
  std::optional<TextSyntax> description;
  std::vector<CriterionClauseSyntax> clauses;
  std::vector<TextSyntax> reasons;
};

struct LetSyntax {
  std::string name;
  Span span;
  ExprPtr value;
};

struct SignalSyntax {
  std::string id, name;
  Span span;
  std::optional<TextSyntax> description;
  double points = 0;
  Span points_span;
  std::vector<LetSyntax> lets;
  std::vector<ExprPtr> fires;  // exactly one expected; the checker says so
  std::vector<Span> fires_spans;
  std::vector<TextSyntax> reasons;
};

struct ScoreTermSyntax {
  double weight = 0;
  Span span;
  ExprPtr condition;
};

struct ScoreSyntax {
  enum class Form { SignalPoints, Expression, Terms } form = Form::Terms;
  std::string name;
  Span span;
  ExprPtr expr;                       // Expression
  std::vector<ScoreTermSyntax> terms;  // Terms
};

struct DispositionLineSyntax {
  std::string outcome;
  Span span;           // the outcome name
  ExprPtr condition;   // null for "otherwise"
};

struct DispositionSyntax {
  Span span;
  std::vector<DispositionLineSyntax> lines;
};

struct Ruleset {
  uint32_t file = 0;
  std::optional<TextSyntax> title;
  std::vector<SchemaSyntax> schemas;  // the case schema and the tables, in source order
  std::vector<ParameterSyntax> parameters;
  std::vector<ConstantSyntax> constants;
  std::vector<DefineSyntax> definitions;
  std::vector<CriterionSyntax> criteria;
  std::vector<SignalSyntax> signals;
  std::vector<ScoreSyntax> scores;
  std::vector<DispositionSyntax> dispositions;  // exactly one expected
};

}  // namespace crible::syntax
