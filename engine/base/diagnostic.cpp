// Diagnostic collection and rendering: text with source line and caret, or JSON.
#include "base/diagnostic.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace crible {

LineCol locate(const std::string& text, uint32_t offset) {
  LineCol lc;
  offset = std::min<uint32_t>(offset, static_cast<uint32_t>(text.size()));
  uint32_t line_begin = 0;
  uint32_t line = 1;
  for (uint32_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_begin = i + 1;
    }
  }
  uint32_t col = 1;
  for (uint32_t i = line_begin; i < offset; ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++col;
  }
  uint32_t line_end = line_begin;
  while (line_end < text.size() && text[line_end] != '\n') ++line_end;
  if (line_end > line_begin && text[line_end - 1] == '\r') --line_end;
  lc.line = line;
  lc.col = col;
  lc.line_begin = line_begin;
  lc.line_end = line_end;
  return lc;
}

Diagnostic& Diagnostics::error(std::string code, Span span, std::string message, std::string hint) {
  ++errors_;
  list_.push_back({Severity::Error, std::move(code), span, std::move(message), std::move(hint), {}});
  return list_.back();
}

Diagnostic& Diagnostics::warning(std::string code, Span span, std::string message, std::string hint) {
  list_.push_back({Severity::Warning, std::move(code), span, std::move(message), std::move(hint), {}});
  return list_.back();
}

void Diagnostics::append(const std::vector<Diagnostic>& more) {
  for (const auto& d : more) {
    if (d.severity == Severity::Error) ++errors_;
    list_.push_back(d);
  }
}

std::vector<Diagnostic> Diagnostics::take_sorted() {
  std::stable_sort(list_.begin(), list_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.span.file != b.span.file) return a.span.file < b.span.file;
    return a.span.begin < b.span.begin;
  });
  errors_ = 0;
  return std::move(list_);
}

namespace {

const char* severity_word(Severity s) {
  switch (s) {
    case Severity::Error: return "error";
    case Severity::Warning: return "warning";
    case Severity::Note: return "note";
  }
  return "error";
}

// The line [b, e) as display cells: tabs expand to the next multiple of 4, each code point
// is one cell, and control or invalid bytes show as '?'. `cell_of` maps byte -> cell.
struct DisplayLine {
  std::string text;
  std::vector<uint32_t> cell_of;  // size e-b+1
};

DisplayLine display(const std::string& src, uint32_t b, uint32_t e) {
  DisplayLine d;
  uint32_t cell = 0;
  for (uint32_t i = b; i < e; ++i) {
    unsigned char c = static_cast<unsigned char>(src[i]);
    d.cell_of.push_back(cell);
    if (c == '\t') {
      uint32_t n = 4 - cell % 4;
      d.text.append(n, ' ');
      cell += n;
    } else if (c < 0x20 || c == 0x7f) {
      d.text += '?';
      ++cell;
    } else if ((c & 0xC0) == 0x80) {
      d.text += static_cast<char>(c);  // continuation byte: same cell
    } else {
      d.text += static_cast<char>(c);
      ++cell;
    }
  }
  d.cell_of.push_back(cell);
  return d;
}

// Cuts a long line to a window of display cells around the span, on code-point boundaries.
constexpr uint32_t kMaxShownCells = 120;

}  // namespace

std::string render_text(const Diagnostic& d, const SourceSet& sources) {
  if (d.span.file >= sources.size()) {
    std::string out = fmt::format("{}: {}\n", severity_word(d.severity), d.message);
    if (!d.hint.empty()) out += "hint: " + d.hint + "\n";
    return out;
  }
  const SourceFile& f = sources.file(d.span.file);
  LineCol lc = locate(f.text, d.span.begin);
  std::string out = fmt::format("{}:{}:{}: {}: {}\n", f.path, lc.line, lc.col,
                                severity_word(d.severity), d.message);
  if (!f.text.empty()) {
    DisplayLine line = display(f.text, lc.line_begin, lc.line_end);
    uint32_t b = std::clamp(d.span.begin, lc.line_begin, lc.line_end);
    uint32_t e = std::clamp(d.span.end, b, lc.line_end);
    uint32_t cb = line.cell_of[b - lc.line_begin];
    uint32_t ce = line.cell_of[e - lc.line_begin];
    std::string shown = line.text;
    uint32_t shift = 0;
    bool cut_left = false, cut_right = false;
    if (line.cell_of.back() > kMaxShownCells) {
      // Keep the caret in view: start a little before the span.
      uint32_t start_cell = cb > 40 ? cb - 40 : 0;
      uint32_t end_cell = start_cell + kMaxShownCells;
      // Re-render by cells: walk the display text by code points.
      std::string cut;
      uint32_t cell = 0;
      for (size_t i = 0; i < shown.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(shown[i]);
        bool starts = (c & 0xC0) != 0x80;
        if (starts && i > 0) ++cell;
        if (cell >= start_cell && cell < end_cell) cut += shown[i];
      }
      cut_left = start_cell > 0;
      cut_right = line.cell_of.back() > end_cell;
      shift = start_cell;
      shown = (cut_left ? "..." : "") + cut + (cut_right ? "..." : "");
      if (cut_left) shift -= 3;
    }
    uint32_t width = ce > cb ? ce - cb : 1;
    if (cb - shift + width > shown.size() + 1) width = 1;
    std::string gutter = fmt::format("{:>5}", lc.line);
    out += fmt::format("{} | {}\n", gutter, shown);
    out += fmt::format("{} | {}^{}\n", std::string(gutter.size(), ' '),
                       std::string(cb - shift, ' '), std::string(width - 1, '~'));
  }
  if (!d.hint.empty()) out += "hint: " + d.hint + "\n";
  for (const auto& n : d.notes) {
    if (n.span.file < sources.size()) {
      const SourceFile& nf = sources.file(n.span.file);
      LineCol nlc = locate(nf.text, n.span.begin);
      out += fmt::format("{}:{}:{}: note: {}\n", nf.path, nlc.line, nlc.col, n.message);
    } else {
      out += fmt::format("note: {}\n", n.message);
    }
  }
  return out;
}

std::string render_json(const Diagnostic& d, const SourceSet& sources) {
  nlohmann::ordered_json j;
  if (d.span.file < sources.size()) {
    const SourceFile& f = sources.file(d.span.file);
    LineCol b = locate(f.text, d.span.begin);
    LineCol e = locate(f.text, d.span.end);
    j["file"] = f.path;
    j["line"] = b.line;
    j["col"] = b.col;
    j["end"] = {{"line", e.line}, {"col", e.col}};
  }
  j["severity"] = severity_word(d.severity);
  j["code"] = d.code;
  j["message"] = d.message;
  j["hint"] = d.hint;
  if (!d.notes.empty()) {
    auto notes = nlohmann::ordered_json::array();
    for (const auto& n : d.notes) {
      nlohmann::ordered_json nj;
      if (n.span.file < sources.size()) {
        LineCol lc = locate(sources.file(n.span.file).text, n.span.begin);
        nj["line"] = lc.line;
        nj["col"] = lc.col;
      }
      nj["message"] = n.message;
      notes.push_back(nj);
    }
    j["notes"] = notes;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

std::string closest_name(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    size_t d = edit_distance(name, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  // Close enough to be a typo: at most a third of the name, and at most 3 edits.
  if (best_d == std::string::npos || best_d > 3 || best_d * 3 > std::max<size_t>(name.size(), 3))
    return {};
  return best;
}

}  // namespace crible
