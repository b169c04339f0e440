// engine/check: name resolution, static types, missing-value analysis and lints.
// In: the owned AST. Out: a typed ruleset, or diagnostics. No ANTLR, no case data.
#pragma once
#include "base/source.h"
#include "base/staged.h"
#include "check/typed_ruleset.h"
#include "syntax/ast.h"

namespace crible::check {

// Reports every problem in source order; `value` is set iff there is no error.
// `sources` gives access to the text behind spans (reason templates, clause texts).
Staged<TypedRuleset> check(const syntax::Ruleset& rules, const SourceSet& sources);

// Parses a parameter value given on the command line as the parameter's type.
// Returns an error message (lowercase) on failure.
std::optional<Literal> parse_param_value(const Parameter& p, const std::string& text,
                                         std::string& error);

}  // namespace crible::check
