// engine/plan: binds a checked ruleset to a run: interns its texts, fixes parameter values,
// and turns literals into runtime values. Aggregate indexes are built by eval, which owns
// the case data; which conditions become hash keys and ranges was decided by the checker.
#pragma once
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "base/intern.h"
#include "base/result.h"
#include "base/value.h"
#include "check/typed_ruleset.h"

namespace crible::plan {

struct Plan {
  const check::TypedRuleset* rules = nullptr;
  std::vector<Value> literals;   // by literal index
  std::vector<Value> params;     // by parameter index
  std::vector<std::string> param_text;  // the value in force, as text, for the record
  std::deque<std::vector<uint32_t>> set_storage;  // backs the Set values above
};

// `overrides`: NAME=VALUE pairs from the command line. An unknown name or a bad value is an
// Error with exit code 2 (usage); a parameter without default and without value too.
Result<Plan> plan(const check::TypedRuleset& rules, Interner& interner,
                  const std::vector<std::pair<std::string, std::string>>& overrides);

// Turns a check-time literal into a runtime value, interning texts.
Value to_value(const check::Literal& lit, Interner& interner, std::deque<std::vector<uint32_t>>& storage);

}  // namespace crible::plan
