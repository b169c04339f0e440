// Coverage: outcome counts over decided cases, which outcomes can happen at all, and the
// tables `crible test --coverage` and `--coverage-cases` print. sqlite counts NULL as a third
// branch outcome (VdbeBranchTaken); a criterion here has three, each counted.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "render/render.h"
#include "ruletest/ruletest.h"

namespace crible::ruletest {

Coverage::Coverage(const check::TypedRuleset& rules)
    : criteria(rules.criteria.size(), {0, 0, 0}),
      signals(rules.signals.size(), {0, 0}),
      disposition(rules.disposition.size(), 0) {}

void Coverage::add(const eval::Decisions& d) {
  cases += d.cases;
  for (size_t r = 0; r < d.cases; ++r) {
    for (size_t i = 0; i < d.n_criteria && i < criteria.size(); ++i) {
      uint8_t o = d.criteria[r * d.n_criteria + i];
      if (o < 3) ++criteria[i][o];
    }
    for (size_t i = 0; i < d.n_signals && i < signals.size(); ++i)
      ++signals[i][d.fired[r * d.n_signals + i] ? 0 : 1];
    if (d.disposition[r] < disposition.size()) ++disposition[d.disposition[r]];
  }
}

namespace {

using check::Node;
using check::Op;
using Present = std::set<int32_t>;  // case columns known to be present

// Can a node be missing, given that the case columns in `present` are present? Refines the
// checker's Node::nullable (sound but for 64-bit overflow, which it leaves out on purpose):
// `x is missing or f(x)` reads f(x) only when x is present, so E3 NO_RECENT_AVRR cannot be
// unknown although f alone could be. Depth is bounded by the checker's nesting limit.
class Nullability {
 public:
  explicit Nullability(const check::TypedRuleset& rules) : rules_(rules) {}

  bool nullable(int32_t id, const Present& present) const {
    const Node& n = rules_.nodes[id];
    if (!n.nullable) return false;
    switch (n.op) {
      case Op::CaseField: {
        const ColumnDecl& c = rules_.cases.columns[n.index];
        return !c.required && !c.blank_is_empty && !present.count(n.index);
      }
      case Op::Definition:
        return nullable(rules_.definitions[n.index].root, present);
      case Op::IsMissing:
      case Op::IsPresent:
        return false;
      case Op::Or: {
        if (nullable(n.a, present)) return true;
        Present more = present;
        facts(n.a, false, more);  // b decides only when a is false
        return nullable(n.b, more);
      }
      case Op::And: {
        if (nullable(n.a, present)) return true;
        Present more = present;
        facts(n.a, true, more);
        return nullable(n.b, more);
      }
      default:
        break;
    }
    if (!strict(n.op)) return true;  // as the checker says
    for (int32_t child : {n.a, n.b, n.c})
      if (child >= 0 && nullable(child, present)) return true;
    return false;
  }

 private:
  const check::TypedRuleset& rules_;

  // Missing exactly when an operand is missing (division is not: by zero it is unknown).
  static bool strict(Op op) {
    switch (op) {
      case Op::Neg:
      case Op::Not:
      case Op::Add:
      case Op::Sub:
      case Op::Mul:
      case Op::Eq:
      case Op::Ne:
      case Op::Lt:
      case Op::Le:
      case Op::Gt:
      case Op::Ge:
      case Op::In:
      case Op::Intersects:
      case Op::Between:
      case Op::ToDuration:
      case Op::YearsBetween:
      case Op::DaysBetween:
      case Op::Weekday:
      case Op::Size:
      case Op::Abs:
        return true;
      default:
        return false;
    }
  }

  // Columns that must be present when node `id` has the definite truth `value`.
  void facts(int32_t id, bool value, Present& out) const {
    const Node& n = rules_.nodes[id];
    switch (n.op) {
      case Op::IsMissing:
      case Op::IsPresent:
        if ((n.op == Op::IsPresent) == value) operands(n.a, out);
        return;
      case Op::Not:
        facts(n.a, !value, out);
        return;
      case Op::And:
        if (value) {
          facts(n.a, true, out);
          facts(n.b, true, out);
        }
        return;
      case Op::Or:
        if (!value) {
          facts(n.a, false, out);
          facts(n.b, false, out);
        }
        return;
      case Op::Definition:
        facts(rules_.definitions[n.index].root, value, out);
        return;
      default:
        if (strict(n.op)) operands(id, out);  // a definite value: every operand was present
        return;
    }
  }

  // The case columns a definite value of node `id` implies present.
  void operands(int32_t id, Present& out) const {
    const Node& n = rules_.nodes[id];
    if (n.op == Op::CaseField) {
      out.insert(n.index);
    } else if (n.op == Op::Definition) {
      operands(rules_.definitions[n.index].root, out);
    } else if (strict(n.op)) {
      for (int32_t child : {n.a, n.b, n.c})
        if (child >= 0) operands(child, out);
    }
  }
};

constexpr const char* kOutcomeWords[] = {"pass", "fail", "unknown"};

std::string label(const std::string& id, const std::string& name) { return id + " " + name; }

}  // namespace

Reachable reachable_outcomes(const check::TypedRuleset& rules) {
  Reachable r;
  Nullability analysis(rules);
  for (const auto& c : rules.criteria) {
    std::array<bool, 3> can{true, true, true};
    std::string why;
    if (c.clauses.size() == 1) {
      const check::Clause& clause = c.clauses[0];
      if (clause.kind == check::ClauseKind::Unknown) {
        can[1] = false;
        why = "a criterion with only an `unknown when` clause cannot fail";
      } else if (!analysis.nullable(clause.condition, {})) {
        can[2] = false;
        why = "its condition can never be missing";
      }
    } else {
      // Several clauses: an outcome needs a clause of its kind (unknown also when none holds).
      can[0] = can[1] = false;
      for (const auto& clause : c.clauses) {
        if (clause.kind == check::ClauseKind::Pass) can[0] = true;
        if (clause.kind == check::ClauseKind::Fail) can[1] = true;
      }
      if (!can[0] || !can[1]) why = "no clause leads to that outcome";
    }
    r.criteria.push_back(can);
    r.why_not.push_back(why);
  }
  return r;
}

CoverageSummary summarise(const check::TypedRuleset& rules, const Coverage& coverage,
                          const Reachable& reachable) {
  CoverageSummary s;
  for (size_t i = 0; i < rules.criteria.size(); ++i) {
    for (int o = 0; o < 3; ++o) {
      const std::string name = fmt::format("{} {}", rules.criteria[i].id, kOutcomeWords[o]);
      if (!reachable.criteria[i][o]) {
        s.not_applicable.push_back(name);
        continue;
      }
      ++s.reachable;
      if (coverage.criteria[i][o] > 0)
        ++s.reached;
      else
        s.not_reached.push_back(name);
    }
  }
  for (size_t i = 0; i < rules.signals.size(); ++i) {
    for (int o = 0; o < 2; ++o) {
      ++s.reachable;
      if (coverage.signals[i][o] > 0)
        ++s.reached;
      else
        s.not_reached.push_back(
            fmt::format("{} {}", rules.signals[i].id, o == 0 ? "fired" : "not fired"));
    }
  }
  for (size_t i = 0; i < rules.disposition.size(); ++i) {
    ++s.reachable;
    if (coverage.disposition[i] > 0)
      ++s.reached;
    else
      s.not_reached.push_back(
          fmt::format("disposition line {} ({})", i + 1, rules.disposition[i].outcome));
  }
  return s;
}

std::string format_percent(double percent) {
  double tenths = std::floor(percent * 10.0 + 1e-9);
  return fmt::format("{:.1f}%", tenths / 10.0);
}

std::string coverage_table(const check::TypedRuleset& rules, const Coverage& coverage,
                           const Reachable& reachable) {
  size_t width = 20;
  for (const auto& c : rules.criteria) width = std::max(width, label(c.id, c.name).size() + 2);
  for (const auto& s : rules.signals) width = std::max(width, label(s.id, s.name).size() + 2);
  std::string out;
  out += fmt::format("  {:<{}}{:>8}{:>8}{:>9}\n", "criterion", width, "pass", "fail", "unknown");
  for (size_t i = 0; i < rules.criteria.size(); ++i) {
    const auto& c = rules.criteria[i];
    std::string cells;
    const int widths[] = {8, 8, 9};
    for (int o = 0; o < 3; ++o) {
      std::string v = reachable.criteria[i][o] ? std::to_string(coverage.criteria[i][o]) : "n/a";
      cells += fmt::format("{:>{}}", v, widths[o]);
    }
    out += fmt::format("  {:<{}}{}\n", label(c.id, c.name), width, cells);
  }
  out += fmt::format("  {:<{}}{:>8}{:>11}\n", "signal", width, "fired", "not fired");
  for (size_t i = 0; i < rules.signals.size(); ++i) {
    const auto& s = rules.signals[i];
    out += fmt::format("  {:<{}}{:>8}{:>11}\n", label(s.id, s.name), width, coverage.signals[i][0],
                       coverage.signals[i][1]);
  }
  out += fmt::format("  {:>8}  disposition line\n", "cases");
  for (size_t i = 0; i < rules.disposition.size(); ++i)
    out +=
        fmt::format("  {:>8}  {} {}\n", coverage.disposition[i], i + 1, rules.disposition[i].text);

  CoverageSummary s = summarise(rules, coverage, reachable);
  // Unreachable outcomes, grouped by the reason the analysis gives.
  std::vector<std::pair<std::string, std::vector<std::string>>> na;
  for (size_t i = 0; i < rules.criteria.size(); ++i) {
    for (int o = 0; o < 3; ++o) {
      if (reachable.criteria[i][o]) continue;
      auto it = std::find_if(na.begin(), na.end(),
                             [&](const auto& p) { return p.first == reachable.why_not[i]; });
      if (it == na.end()) {
        na.push_back({reachable.why_not[i], {}});
        it = na.end() - 1;
      }
      it->second.push_back(fmt::format("{} {}", rules.criteria[i].id, kOutcomeWords[o]));
    }
  }
  for (const auto& [why, names] : na)
    out += fmt::format("n/a (cannot happen, {}): {}\n", why, fmt::join(names, ", "));
  if (!s.not_reached.empty())
    out += fmt::format("not reached: {}\n", fmt::join(s.not_reached, ", "));
  out += fmt::format("coverage: {} of {} reachable outcomes reached ({}) over {} case{}\n",
                     s.reached, s.reachable, format_percent(s.percent()), coverage.cases,
                     coverage.cases == 1 ? "" : "s");
  return out;
}

std::string batch_findings(const check::TypedRuleset& rules, const Coverage& coverage,
                           const Reachable& reachable) {
  const uint64_t n = coverage.cases;
  std::vector<std::string> lines;
  if (n == 0) return "findings: no case was decided\n";
  for (size_t i = 0; i < rules.criteria.size(); ++i) {
    const auto& c = rules.criteria[i];
    const auto& k = coverage.criteria[i];
    const std::string who = label(c.id, c.name);
    if (k[0] == n) {
      lines.push_back(fmt::format("{} passed for all {} cases: its condition was always true ({})",
                                  who, n, c.clauses.empty() ? "" : c.clauses[0].text));
    } else if (k[1] == n) {
      lines.push_back(fmt::format("{} failed for all {} cases", who, n));
    } else if (k[2] == n) {
      lines.push_back(fmt::format("{} was unknown for all {} cases", who, n));
    } else {
      for (int o = 0; o < 3; ++o)
        if (reachable.criteria[i][o] && k[o] == 0)
          lines.push_back(fmt::format("{} never {} (0 of {} cases)", who,
                                      o == 0   ? "passed"
                                      : o == 1 ? "failed"
                                               : "was unknown",
                                      n));
    }
  }
  for (size_t i = 0; i < rules.signals.size(); ++i) {
    const auto& s = rules.signals[i];
    if (coverage.signals[i][0] == 0)
      lines.push_back(fmt::format("{} never fired (0 of {} cases)", label(s.id, s.name), n));
    else if (coverage.signals[i][1] == 0)
      lines.push_back(fmt::format("{} fired for all {} cases: its condition was always true ({})",
                                  label(s.id, s.name), n, s.fires_text));
  }
  for (size_t i = 0; i < rules.disposition.size(); ++i)
    if (coverage.disposition[i] == 0)
      lines.push_back(fmt::format("disposition line {} never decided a case: {}", i + 1,
                                  rules.disposition[i].text));
  if (lines.empty())
    return "findings: none: every reachable outcome was reached, and no condition held for every "
           "case\n";
  std::string out = "findings:\n";
  for (const auto& l : lines) out += "  " + l + "\n";
  return out;
}

}  // namespace crible::ruletest
