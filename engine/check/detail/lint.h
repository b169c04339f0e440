// engine/check/detail: lints over a checked ruleset that need reasoning about conditions:
// conditions that never change, criterion clauses and disposition lines that can never
// decide, criteria left unknown without an `unknown when`. Private to the check stage.
#pragma once
#include <functional>
#include <string>

#include "base/diagnostic.h"
#include "check/typed_ruleset.h"

namespace crible::check::detail {

// `text_of` gives the source text behind a span, for messages. Reports warnings only, and
// only what holds for every possible case: when a question is too large to settle (more than
// about 100,000 combinations of the values it depends on), it says nothing.
void lint_conditions(const TypedRuleset& rules, const std::function<std::string(Span)>& text_of,
                     Diagnostics& diags);

}  // namespace crible::check::detail
