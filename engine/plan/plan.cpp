// Binding a checked ruleset to a run.
#include "plan/plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/date.h"
#include "check/check.h"

namespace crible::plan {

Value to_value(const check::Literal& lit, Interner& interner,
               std::deque<std::vector<uint32_t>>& storage) {
  switch (lit.kind) {
    case TypeKind::Bool: return Value::boolean(lit.i != 0);
    case TypeKind::Integer: return Value::integer(lit.i);
    case TypeKind::Number: return Value::number(lit.d);
    case TypeKind::Text: return Value::text(interner.intern(lit.text));
    case TypeKind::Date: return Value::date(lit.i);
    case TypeKind::Duration: return Value::duration(lit.i);
    case TypeKind::Set: {
      std::vector<uint32_t> ids;
      for (const auto& s : lit.set) ids.push_back(interner.intern(s));
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      storage.push_back(std::move(ids));
      return Value::set_of(storage.back().data(), static_cast<uint32_t>(storage.back().size()));
    }
    default: return Value{};
  }
}

namespace {
std::string literal_text(const check::Literal& lit) {
  switch (lit.kind) {
    case TypeKind::Bool: return lit.i ? "true" : "false";
    case TypeKind::Integer: return std::to_string(lit.i);
    case TypeKind::Number: return fmt::format("{}", lit.d);
    case TypeKind::Text: return lit.text;
    case TypeKind::Date: return format_date(lit.i);
    case TypeKind::Duration: return fmt::format("{} days", lit.i);
    case TypeKind::Set: return fmt::format("{}", fmt::join(lit.set, ";"));
    default: return "";
  }
}
}  // namespace

Result<Plan> plan(const check::TypedRuleset& rules, Interner& interner,
                  const std::vector<std::pair<std::string, std::string>>& overrides) {
  Plan p;
  p.rules = &rules;
  for (const auto& lit : rules.literals) p.literals.push_back(to_value(lit, interner, p.set_storage));
  std::vector<std::optional<check::Literal>> chosen(rules.parameters.size());
  for (size_t i = 0; i < rules.parameters.size(); ++i) chosen[i] = rules.parameters[i].default_value;
  for (const auto& [name, text] : overrides) {
    // An init-capture: clang before 16 (the fuzzers' compiler) cannot capture a binding.
    auto it = std::find_if(rules.parameters.begin(), rules.parameters.end(),
                           [&name = name](const check::Parameter& q) { return q.name == name; });
    if (it == rules.parameters.end()) {
      std::vector<std::string> names;
      for (const auto& q : rules.parameters) names.push_back(q.name);
      std::string near = closest_name(name, names);
      return Error{fmt::format("--param {}: the ruleset has no parameter '{}'{}", name, name,
                               near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near)),
                   2};
    }
    std::string why;
    auto v = check::parse_param_value(*it, text, why);
    if (!v) return Error{fmt::format("--param {}: {}", name, why), 2};
    chosen[it - rules.parameters.begin()] = *v;
  }
  for (size_t i = 0; i < rules.parameters.size(); ++i) {
    if (!chosen[i])
      return Error{fmt::format("parameter '{}' has no default: give it with --param {}=VALUE",
                               rules.parameters[i].name, rules.parameters[i].name),
                   2};
    p.params.push_back(to_value(*chosen[i], interner, p.set_storage));
    p.param_text.push_back(literal_text(*chosen[i]));
  }
  return p;
}

}  // namespace crible::plan
