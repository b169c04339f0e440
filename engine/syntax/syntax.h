// engine/syntax: rule text -> owned AST. The only stage that knows about ANTLR.
// In: a source file (already read). Out: the AST, or diagnostics with spans.
#pragma once
#include <cstddef>

#include "base/source.h"
#include "base/staged.h"
#include "syntax/ast.h"

namespace crible::syntax {

// Named limits: hostile rule files get an error at these, never a crash or a hang.
struct Limits {
  size_t max_file_bytes = 8u << 20;  // a real ruleset is a few KB; 8 MB is generous
  int max_nesting = 256;             // parentheses, braces, `not` and `-` chains
  int max_expression_depth = 1000;   // e.g. `a or b or c ...` chains, nested in the AST
  int max_syntax_errors = 50;        // then parsing stops: later errors are noise
};

// Parses file `file` of `sources`. The diagnostics are sorted by position.
Staged<Ruleset> parse(const SourceSet& sources, uint32_t file, const Limits& limits = {});

}  // namespace crible::syntax
