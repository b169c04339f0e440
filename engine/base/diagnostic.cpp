// Diagnostic collection and rendering: text with source line and caret, or JSON.
#include "base/diagnostic.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string_view>

namespace crible {

namespace {

// Length of the well-formed UTF-8 sequence starting at text[i] (stopping before `end`), or 0
// when the byte there does not start one. Overlongs and surrogates are not well formed.
uint32_t utf8_length(const std::string& text, uint32_t i, uint32_t end) {
  const auto byte = [&](uint32_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  uint32_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (len == 0 || i + len > end) return 0;
  for (uint32_t k = 1; k < len; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  unsigned char c1 = byte(i + 1);
  if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xF0 && c1 < 0x90) ||
      (c == 0xF4 && c1 >= 0x90))
    return 0;
  return len;
}

}  // namespace

LineCol locate(const std::string& text, uint32_t offset) {
  LineCol lc;
  offset = std::min<uint32_t>(offset, static_cast<uint32_t>(text.size()));
  // std::count and rfind run at memory speed: a hundred diagnostics at the end of an 8 MB
  // file cost milliseconds, not seconds.
  const uint32_t line = 1 + static_cast<uint32_t>(std::count(text.begin(), text.begin() + offset, '\n'));
  const size_t nl = offset == 0 ? std::string::npos : text.rfind('\n', offset - 1);
  const uint32_t line_begin = nl == std::string::npos ? 0 : static_cast<uint32_t>(nl + 1);
  const size_t next = text.find('\n', offset);
  uint32_t line_end = next == std::string::npos ? static_cast<uint32_t>(text.size()) : static_cast<uint32_t>(next);
  // Columns count code points; a byte that is not valid UTF-8 counts as one column.
  uint32_t col = 1;
  for (uint32_t i = line_begin; i < offset; ++col) {
    uint32_t len = utf8_length(text, i, line_end);
    i += len == 0 ? 1 : len;
  }
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

// An empty span at the very start of a file stands for the whole file ("no case schema",
// "the file is too large"): such a diagnostic names the file alone, without a line to show.
bool whole_file(const Span& s) { return s.begin == 0 && s.end == 0; }

// The line [b, e) as display cells: tabs expand to the next multiple of 4, each code point
// is one cell, and control characters and bytes that are not UTF-8 show as '?', so that what
// is printed is always valid text. `cell_of` maps each byte to its cell.
struct DisplayLine {
  std::vector<std::string> cells;  // the text of each cell
  std::vector<uint32_t> cell_of;   // size e-b+1
};

DisplayLine display(const std::string& src, uint32_t b, uint32_t e) {
  DisplayLine d;
  d.cell_of.reserve(e - b + 1);
  for (uint32_t i = b; i < e;) {
    unsigned char c = static_cast<unsigned char>(src[i]);
    uint32_t len = utf8_length(src, i, e);
    uint32_t cell = static_cast<uint32_t>(d.cells.size());
    if (c == '\t') {
      for (uint32_t n = 4 - cell % 4; n > 0; --n) d.cells.push_back(" ");
    } else if (len == 0 || c < 0x20 || c == 0x7f) {
      d.cells.push_back("?");
    } else {
      d.cells.push_back(src.substr(i, len));
    }
    uint32_t step = len == 0 ? 1 : len;
    for (uint32_t k = 0; k < step; ++k) d.cell_of.push_back(cell);
    i += step;
  }
  d.cell_of.push_back(static_cast<uint32_t>(d.cells.size()));
  return d;
}

// Longer lines are cut to a window of this many cells around the span.
constexpr uint32_t kMaxShownCells = 120;
constexpr uint32_t kContextBefore = 40;

std::string snippet(const SourceFile& f, const Span& span, const LineCol& lc) {
  DisplayLine line = display(f.text, lc.line_begin, lc.line_end);
  uint32_t b = std::clamp(span.begin, lc.line_begin, lc.line_end);
  uint32_t e = std::clamp(span.end, b, lc.line_end);
  uint32_t cb = line.cell_of[b - lc.line_begin];
  uint32_t ce = line.cell_of[e - lc.line_begin];
  uint32_t total = static_cast<uint32_t>(line.cells.size());
  uint32_t first = 0, last = total;  // the cells shown
  if (total > kMaxShownCells) {
    first = cb > kContextBefore ? cb - kContextBefore : 0;
    last = std::min(total, first + kMaxShownCells);
  }
  std::string shown = first > 0 ? "..." : "";
  for (uint32_t c = first; c < last; ++c) shown += line.cells[c];
  if (last < total) shown += "...";
  uint32_t caret = cb - first + (first > 0 ? 3 : 0);
  uint32_t width = std::min(ce, last) > cb ? std::min(ce, last) - cb : 1;
  std::string gutter = fmt::format("{:>5}", lc.line);
  std::string out = fmt::format("{} | {}\n", gutter, shown);
  // No trailing spaces after the gutter of an empty line.
  if (shown.empty()) out = fmt::format("{} |\n", gutter);
  out += fmt::format("{} | {}^{}\n", std::string(gutter.size(), ' '), std::string(caret, ' '),
                     std::string(width - 1, '~'));
  return out;
}

}  // namespace

std::string render_text(const Diagnostic& d, const SourceSet& sources) {
  std::string out;
  if (d.span.file >= sources.size()) {
    out = fmt::format("{}: {}\n", severity_word(d.severity), d.message);
  } else {
    const SourceFile& f = sources.file(d.span.file);
    if (whole_file(d.span)) {
      out = fmt::format("{}: {}: {}\n", f.path, severity_word(d.severity), d.message);
    } else {
      LineCol lc = locate(f.text, d.span.begin);
      out = fmt::format("{}:{}:{}: {}: {}\n", f.path, lc.line, lc.col, severity_word(d.severity),
                        d.message);
      out += snippet(f, d.span, lc);
    }
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

// Edit distance counting a swap of two neighbouring letters as one edit ("nationalty",
// "natoinality" are both one away from "nationality"), up to `limit`: anything further is
// limit + 1. Names are at most 64 bytes here, so three rolling rows fit on the stack; the
// bound lets most comparisons stop after a few rows, because a file with thousands of
// names and thousands of typos compares every typo with every name.
size_t edit_distance(std::string_view a, std::string_view b, size_t limit) {
  const size_t n = a.size(), m = b.size();
  if ((n > m ? n - m : m - n) > limit) return limit + 1;
  constexpr size_t kMax = 65;
  size_t rows[3][kMax];
  size_t* before = rows[0];  // row i - 2
  size_t* prev = rows[1];    // row i - 1
  size_t* cur = rows[2];
  for (size_t j = 0; j <= m; ++j) prev[j] = j;
  bool prev_over = false;  // every entry of row i - 1 is past the limit
  for (size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    size_t row_min = cur[0];
    for (size_t j = 1; j <= m; ++j) {
      size_t v = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) v = std::min(v, before[j - 2] + 1);
      cur[j] = v;
      row_min = std::min(row_min, v);
    }
    // Every later entry comes from this row or, by a swap, from the one before it.
    const bool over = row_min > limit;
    if (over && prev_over) return limit + 1;
    prev_over = over;
    size_t* t = before;
    before = prev;
    prev = cur;
    cur = t;
  }
  return std::min(prev[m], limit + 1);
}

void lower_into(std::string& out, const std::string& s) {
  out.assign(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// "phone" for "phone_no", "household_id" for "household": one name is the other plus a
// `_suffix`, the way column names grow.
bool extends(const std::string& longer, const std::string& shorter) {
  return shorter.size() >= 3 && longer.size() > shorter.size() + 1 &&
         longer.compare(0, shorter.size(), shorter) == 0 && longer[shorter.size()] == '_';
}

}  // namespace

std::string closest_name(const std::string& name, const std::vector<std::string>& candidates) {
  // Only names of ordinary length are compared: a hostile megabyte-long name would cost
  // time and memory for no useful hint.
  if (name.size() > 64) return {};
  std::string wanted, lc;
  lower_into(wanted, name);
  // Letter counts of the wanted name: an edit changes them by at most 2 in all, so a
  // candidate whose counts differ by more than 7 is more than 3 edits away, found without
  // the distance ("valeu_17" against "value_4242").
  int counts[256] = {};
  for (unsigned char ch : wanted) ++counts[ch];
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    if (c == name || c.size() > 64) continue;
    lower_into(lc, c);
    // Close enough to be a typo: at most 3 edits and at most a third of the name; or the
    // same name in other letter case; or one is the other with a `_suffix`. Those last two
    // rank by their full distance; a typo needs only to be known within 3.
    const bool related = lc == wanted || extends(wanted, lc) || extends(lc, wanted);
    if (!related) {
      size_t differ = wanted.size();
      for (unsigned char ch : lc) differ += counts[ch]-- > 0 ? size_t(-1) : 1;
      for (unsigned char ch : lc) ++counts[ch];
      if (differ > 7) continue;
    }
    const size_t d = edit_distance(wanted, lc, related ? 64 : 3);
    const bool close = related || (d <= 3 && d * 3 <= std::max<size_t>(name.size(), 3));
    if (!close) continue;
    // Ties go to the alphabetically first, so that hints never depend on hash order.
    if (d < best_d || (d == best_d && c < best)) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

}  // namespace crible
