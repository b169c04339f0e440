// A test-only printer of the owned AST without spans: two rule texts have the same
// declarations and expressions iff their dumps are equal. Written apart from the formatter so
// that it can catch the formatter's mistakes.
#pragma once
#include <fmt/format.h>

#include <string>

#include "syntax/ast.h"

namespace crible::testing {

inline std::string dump(const syntax::Expr* e);

inline std::string dump(const syntax::TypeSyntax& t) {
  return fmt::format("(type {} {} [{}])", static_cast<int>(t.form), t.name,
                     fmt::join(t.values, "|"));
}

inline std::string dump(const syntax::Expr* e) {
  if (!e) return "null";
  std::string s = fmt::format("({} op{} neg{} b{} i{} n{} name'{}'", static_cast<int>(e->kind),
                              static_cast<int>(e->op), e->negated, e->bool_value, e->int_value,
                              e->number_value, e->name);
  if (e->outcome)
    s += fmt::format(" outcome({} {} {} {})", static_cast<int>(e->outcome->quantifier),
                     e->outcome->about_signals, e->outcome->id, static_cast<int>(e->outcome->verb));
  if (e->aggregate) {
    const auto& a = *e->aggregate;
    s += fmt::format(" aggregate({} {} {} same[", static_cast<int>(a.fn), a.source,
                     dump(a.value.get()));
    for (const auto& [name, span] : a.same) s += name + " ";
    s += "] " + dump(a.where.get()) + ")";
  }
  for (const auto& arg : e->args) s += " " + dump(arg.get());
  return s + ")";
}

inline std::string dump(const syntax::Ruleset& r) {
  std::string s;
  if (r.title) s += "title " + r.title->text + "\n";
  for (const auto& sc : r.schemas) {
    s += fmt::format("schema {} {}\n", sc.is_cases, sc.name);
    for (const auto& c : sc.columns) {
      s += fmt::format("  column {} {}", c.name, dump(c.type));
      for (const auto& o : c.options) s += " opt'" + o.text + "'";
      s += "\n";
    }
  }
  for (const auto& p : r.parameters)
    s += fmt::format("parameter {} {} {}\n", p.name, dump(p.type), dump(p.default_value.get()));
  for (const auto& c : r.constants)
    s += fmt::format("constant {} {}\n", c.name, dump(c.value.get()));
  for (const auto& d : r.definitions) {
    s += fmt::format("define {} fn{}", d.name, d.is_function);
    for (const auto& p : d.params) s += fmt::format(" param {} {}", p.name, dump(p.type));
    s += " = " + dump(d.body.get()) + "\n";
  }
  for (const auto& c : r.criteria) {
    s += fmt::format("criterion {} {} '{}'\n", c.id, c.name,
                     c.description ? c.description->text : "-");
    for (const auto& cl : c.clauses)
      s += fmt::format("  clause {} {}\n", static_cast<int>(cl.kind), dump(cl.condition.get()));
    for (const auto& re : c.reasons) s += "  reason " + re.text + "\n";
  }
  for (const auto& sg : r.signals) {
    s += fmt::format("signal {} {} '{}' points {}\n", sg.id, sg.name,
                     sg.description ? sg.description->text : "-", sg.points);
    for (const auto& l : sg.lets) s += fmt::format("  let {} {}\n", l.name, dump(l.value.get()));
    for (const auto& f : sg.fires) s += "  fires " + dump(f.get()) + "\n";
    for (const auto& re : sg.reasons) s += "  reason " + re.text + "\n";
  }
  for (const auto& sc : r.scores) {
    s += fmt::format("score {} {} {}\n", static_cast<int>(sc.form), sc.name, dump(sc.expr.get()));
    for (const auto& t : sc.terms)
      s += fmt::format("  term {} {}\n", t.weight, dump(t.condition.get()));
  }
  for (const auto& d : r.dispositions) {
    s += "disposition\n";
    for (const auto& l : d.lines) s += fmt::format("  {} {}\n", l.outcome, dump(l.condition.get()));
  }
  return s;
}

}  // namespace crible::testing
