// engine/format: the canonical layout of a rule file, for `crible fmt`. In: a source text and
// the AST syntax::parse built from it without errors. Out: the same tokens and comments, laid
// out canonically, so the result parses to the same AST and formatting it again changes nothing.
#pragma once
#include <string>

#include "base/result.h"
#include "syntax/ast.h"

namespace crible::format {

// The layout:
// - Declarations start in column 0. A block (schema, criterion, signal, score with terms,
//   disposition) has one blank line before and after it; between one-line declarations
//   (ruleset title, parameter, constant, definition, score formula) the author's grouping is
//   kept: no blank line or one (several become one). Blocks indent their lines (columns,
//   clauses, lets, score terms, disposition lines) by two spaces and close with `end` in
//   column 0. No blank line opens or closes a block; other blank lines inside a block, and
//   between a declaration's comments, are kept (several become one).
// - In a schema the types line up after `name:`; in a disposition and a score the `when` (or
//   `otherwise`) of every line lines up.
// - One space around operators and after commas and colons; none inside brackets, before a
//   call's `(`, around `.` or after a sign.
// - Line breaks the author put inside an expression or a type (after the first `=`, `:` or
//   `when` of a line) are kept. A continuation line that lined up with a token above it still
//   does; any other is indented as before, by at least four columns more than its line.
// - Comments stay where they were: a comment on a line of its own is indented like the line
//   that follows it; a comment after code stays at the end of its line, two spaces after the
//   code, and such comments on consecutive lines of one level (the lines of a block, a line
//   and its continuation lines) line up.
// Fails only when `rules` was not built from `source` (a bug, not the author's): exit code 1.
Result<std::string> format(const syntax::Ruleset& rules, const std::string& source);

}  // namespace crible::format
