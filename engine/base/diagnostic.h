// Diagnostics: the rule author's main interface. Stable codes, byte spans, a message in
// the author's words (lowercase, no final period), an optional hint and notes.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "base/source.h"

namespace crible {

enum class Severity { Error, Warning, Note };

struct DiagnosticNote {
  Span span;
  std::string message;
};

struct Diagnostic {
  Severity severity = Severity::Error;
  std::string code;  // e.g. "P0001" (parse), "C0204" (check), "W0101" (lint)
  Span span;
  std::string message;
  std::string hint;  // empty when none
  std::vector<DiagnosticNote> notes;
};

// Collects diagnostics in the order found; stages sort them by position before returning.
class Diagnostics {
 public:
  Diagnostic& error(std::string code, Span span, std::string message, std::string hint = {});
  Diagnostic& warning(std::string code, Span span, std::string message, std::string hint = {});
  bool has_errors() const { return errors_ > 0; }
  size_t error_count() const { return errors_; }
  const std::vector<Diagnostic>& all() const { return list_; }
  std::vector<Diagnostic> take_sorted();
  void append(const std::vector<Diagnostic>& more);

 private:
  std::vector<Diagnostic> list_;
  size_t errors_ = 0;
};

// "FILE:LINE:COL: error[CODE]: MESSAGE", the source line, a caret under the span, the hint.
std::string render_text(const Diagnostic& d, const SourceSet& sources);
// One JSON object: file, line, col, end_line, end_col, severity, code, message, hint.
std::string render_json(const Diagnostic& d, const SourceSet& sources);

// Closest candidate by edit distance, for "did you mean" hints; empty when none is close.
std::string closest_name(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace crible
