// Parsing test files: lines into tokens, tokens into statements, statements into tests. No
// ruleset is needed here; names are checked against the ruleset when a file is run.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>

#include "ruletest/ruletest.h"

namespace crible::ruletest {

namespace {

enum class TokKind : uint8_t { Word, Quoted, Comma, Assign };

struct Token {
  TokKind kind = TokKind::Word;
  std::string text;   // Word, Quoted: the text; Assign: the field
  std::string value;  // Assign: the value, unquoted
  Span span;
  Span value_span;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

bool is_identifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

// Case names: letters, digits, '_' and '-' (so that "H-12" and "R07" are names).
bool is_case_name(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

bool is_compare_word(const std::string& s) {
  return s == "=" || s == "!=" || s == "<" || s == "<=" || s == ">" || s == ">=";
}

Compare compare_of(const std::string& s) {
  if (s == "!=") return Compare::Ne;
  if (s == "<") return Compare::Lt;
  if (s == "<=") return Compare::Le;
  if (s == ">") return Compare::Gt;
  if (s == ">=") return Compare::Ge;
  return Compare::Eq;
}

// A plain decimal: optional '-', digits, optional fraction. No exponent, no '+'.
std::optional<double> parse_number(const std::string& s) {
  size_t i = s.size() > 0 && s[0] == '-' ? 1 : 0;
  size_t digits = 0, dots = 0;
  for (size_t k = i; k < s.size(); ++k) {
    if (std::isdigit(static_cast<unsigned char>(s[k])))
      ++digits;
    else if (s[k] == '.' && dots == 0 && digits > 0)
      ++dots;
    else
      return std::nullopt;
  }
  if (digits == 0 || s.back() == '.') return std::nullopt;
  return std::strtod(s.c_str(), nullptr);
}

const std::vector<std::string> kStatements = {"test",     "end",   "case", "expect",
                                              "defaults", "param", "table"};

// A test while it is being read: its own statements are kept apart from the file's until
// `end`, when they are merged (the test's win).
struct OpenTest {
  Test test;
  std::vector<Assignment> params, defaults;
  std::vector<TableGiven> tables;
  std::map<std::string, size_t> case_index;
  size_t errors_at_open = 0;  // errors inside the test hide the ones they would cause at `end`
  struct RawExpect {
    std::vector<Token> subjects;
    ExpectLine line;
  };
  std::vector<RawExpect> expects;
};

// What a continuation line (one that starts with `name=value`) adds to.
enum class Continues : uint8_t { Nothing, Params, Defaults, Cases };

class Parser {
 public:
  Parser(const SourceSet& sources, uint32_t file, const Limits& limits)
      : text_(sources.file(file).text), file_(file), limits_(limits) {}

  Staged<TestFile> run() {
    Staged<TestFile> out;
    if (text_.size() > limits_.max_file_bytes) {
      diags_.error(
          "T0001", Span{file_, 0, 0},
          fmt::format("the test file is larger than {} bytes; split it", limits_.max_file_bytes));
      out.diagnostics = diags_.take_sorted();
      return out;
    }
    size_t b = text_.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;  // a UTF-8 byte order mark
    while (b <= text_.size() && !stopped_) {
      size_t e = text_.find('\n', b);
      if (e == std::string::npos) e = text_.size();
      line(static_cast<uint32_t>(b), static_cast<uint32_t>(e));
      b = e + 1;
    }
    // A missing `end` is reported at the end of the last line, not on the empty line after it.
    uint32_t last = static_cast<uint32_t>(text_.size());
    while (last > 0 && (text_[last - 1] == '\n' || text_[last - 1] == '\r')) --last;
    const Span eof{file_, last, last};
    if (!stopped_) {
      if (table_) {
        unclosed(eof, "table", table_->span);
        close_table();
      }
      if (test_) {
        unclosed(eof, "test", test_->test.span);
        close_test();
      }
    }
    out.diagnostics = diags_.take_sorted();
    if (std::none_of(out.diagnostics.begin(), out.diagnostics.end(),
                     [](const Diagnostic& d) { return d.severity == Severity::Error; })) {
      file_result_.file = file_;
      out.value = std::move(file_result_);
    }
    return out;
  }

 private:
  const std::string& text_;
  uint32_t file_;
  Limits limits_;
  Diagnostics diags_;
  bool stopped_ = false;
  TestFile file_result_;
  std::vector<Assignment> file_params_, file_defaults_;
  std::vector<TableGiven> file_tables_;
  std::optional<OpenTest> test_;
  std::optional<TableGiven> table_;
  bool table_in_test_ = false;
  Continues continues_ = Continues::Nothing;
  size_t continued_first_case_ = 0;  // the cases a continuation line adds to: [first, end)

  Span span(size_t b, size_t e) const {
    return Span{file_, static_cast<uint32_t>(b), static_cast<uint32_t>(e)};
  }

  Diagnostic& error(const char* code, Span s, std::string message, std::string hint = {}) {
    Diagnostic& d = diags_.error(code, s, std::move(message), std::move(hint));
    if (diags_.error_count() >= limits_.max_errors) stopped_ = true;
    return d;
  }

  void unclosed(Span at, const char* what, Span opened) {
    LineCol lc = locate(text_, opened.begin);
    Diagnostic& d =
        error("T0104", at, fmt::format("'end' expected (to close '{}' at line {})", what, lc.line));
    d.notes.push_back({opened, fmt::format("the {} starts here", what)});
  }

  // ------------------------------------------------------------------ tokens
  // Reads a quoted text starting at text_[i] == '"'; `end` is one past the closing quote.
  bool quoted(size_t i, size_t e, std::string& value, size_t& end) {
    size_t k = i + 1;
    value.clear();
    while (k < e) {
      if (text_[k] == '"') {
        if (k + 1 < e && text_[k + 1] == '"') {
          value += '"';
          k += 2;
          continue;
        }
        end = k + 1;
        return true;
      }
      value += text_[k++];
    }
    size_t shown_end = e > i && text_[e - 1] == '\r' ? e - 1 : e;
    error("T0101", span(i, std::max(i + 1, shown_end)), "unterminated quoted value",
          "close it with '\"' on the same line (a '\"' inside quotes is written \"\")");
    return false;
  }

  bool check_value(const std::string& v, Span s) {
    for (unsigned char c : v) {
      if (c < 0x20 || c == 0x7f) {
        error("T0102", s, "control character in a value");
        return false;
      }
    }
    return true;
  }

  bool tokenize(size_t b, size_t e, std::vector<Token>& out) {
    size_t i = b;
    while (i < e) {
      char c = text_[i];
      if (is_space(c)) {
        ++i;
        continue;
      }
      if (c == '#') break;
      if (c == ',') {
        out.push_back({TokKind::Comma, ",", {}, span(i, i + 1), {}});
        ++i;
        continue;
      }
      if (c == '"') {
        Token t;
        t.kind = TokKind::Quoted;
        size_t end = 0;
        if (!quoted(i, e, t.text, end)) return false;
        t.span = span(i, end);
        if (!check_value(t.text, t.span)) return false;
        if (end < e && !is_space(text_[end]) && text_[end] != ',') {
          error("T0102", span(end, end + 1), "unexpected text after a closing quote",
                "leave a space after the quoted text");
          return false;
        }
        out.push_back(std::move(t));
        i = end;
        continue;
      }
      size_t start = i;
      while (i < e && !is_space(text_[i]) && text_[i] != ',' && text_[i] != '"') ++i;
      std::string word = text_.substr(start, i - start);
      size_t eq = word.find('=');
      if (eq == std::string::npos || is_compare_word(word)) {
        if (i < e && text_[i] == '"') {
          error("T0102", span(i, i + 1), "stray '\"' inside a word",
                "quote the whole value: name=\"a value\"");
          return false;
        }
        out.push_back({TokKind::Word, word, {}, span(start, i), {}});
        continue;
      }
      Token t;
      t.kind = TokKind::Assign;
      t.text = word.substr(0, eq);
      if (!is_identifier(t.text)) {
        error("T0107", span(start, start + eq + 1),
              t.text.empty() ? "expected a name before '='"
                             : fmt::format("'{}' is not a field name", t.text),
              "write name=value without spaces around '='");
        return false;
      }
      if (eq + 1 == word.size() && i < e && text_[i] == '"') {
        size_t end = 0;
        if (!quoted(i, e, t.value, end)) return false;
        t.value_span = span(i, end);
        if (end < e && !is_space(text_[end]) && text_[end] != ',') {
          error("T0102", span(end, end + 1), "unexpected text after a closing quote",
                "leave a space after the quoted value");
          return false;
        }
        i = end;
      } else {
        if (i < e && text_[i] == '"') {
          error("T0102", span(i, i + 1), "stray '\"' inside a value",
                "quote the whole value: name=\"a value\"");
          return false;
        }
        t.value = word.substr(eq + 1);
        t.value_span = span(start + eq + 1, i);
      }
      t.span = span(start, i);
      if (!check_value(t.value, t.value_span)) return false;
      out.push_back(std::move(t));
    }
    return true;
  }

  static Assignment assignment(const Token& t) { return {t.text, t.value, t.span, t.value_span}; }

  // `field=value ...` from tokens[from]; false (after an error) on anything else.
  bool assignments(const std::vector<Token>& toks, size_t from, std::vector<Assignment>& out) {
    for (size_t k = from; k < toks.size(); ++k) {
      const Token& t = toks[k];
      if (t.kind == TokKind::Assign) {
        out.push_back(assignment(t));
        continue;
      }
      if (t.kind == TokKind::Comma) {
        error("T0107", t.span, "unexpected ',' between values",
              "separate values with spaces; quote a value that contains a comma: name=\"a, b\"");
      } else {
        error("T0107", t.span, fmt::format("expected name=value, found '{}'", t.text),
              t.kind == TokKind::Word ? "write name=value without spaces around '='" : "");
      }
      return false;
    }
    return true;
  }

  // Later values of a field replace earlier ones, keeping the first position.
  static void merge(std::vector<Assignment>& into, const std::vector<Assignment>& more) {
    for (const auto& a : more) {
      auto it = std::find_if(into.begin(), into.end(),
                             [&](const Assignment& x) { return x.field == a.field; });
      if (it == into.end())
        into.push_back(a);
      else
        *it = a;
    }
  }

  // ------------------------------------------------------------------ lines
  void line(uint32_t b, uint32_t e) {
    std::vector<Token> toks;
    if (!tokenize(b, e, toks)) {
      continues_ = Continues::Nothing;
      return;
    }
    if (toks.empty()) return;  // blank or comment: continuation lines may follow
    if (table_) {
      table_line(toks);
      return;
    }
    const Token& first = toks[0];
    if (first.kind == TokKind::Assign) {
      continuation(toks);
      return;
    }
    if (first.kind != TokKind::Word) {
      error("T0103", first.span,
            "expected a statement: test, case, expect, defaults, param, table or end");
      continues_ = Continues::Nothing;
      return;
    }
    continues_ = Continues::Nothing;
    const std::string& kw = first.text;
    if (statement(toks)) return;
    std::string near = closest_name(kw, kStatements);
    error("T0103", first.span, fmt::format("unknown statement '{}'", kw),
          near.empty() ? "statements are test, case, expect, defaults, param, table and end"
                       : fmt::format("did you mean '{}'?", near));
  }

  void continuation(const std::vector<Token>& toks) {
    std::vector<Assignment> more;
    if (!assignments(toks, 0, more)) return;
    switch (continues_) {
      case Continues::Params:
        merge(test_ ? test_->params : file_params_, more);
        return;
      case Continues::Defaults:
        merge(test_ ? test_->defaults : file_defaults_, more);
        return;
      case Continues::Cases:
        for (size_t c = continued_first_case_; c < test_->test.cases.size(); ++c)
          for (const auto& a : more) test_->test.cases[c].fields.push_back(a);
        return;
      case Continues::Nothing:
        break;
    }
    error("T0113", toks[0].span, "a line of values must follow a case, defaults or param line",
          "start the line with `case NAME`, `defaults` or `param`");
  }

  void test_line(const std::vector<Token>& toks) {
    if (test_) {
      unclosed(toks[0].span, "test", test_->test.span);
      close_test();
    }
    if (toks.size() < 2 || (toks[1].kind != TokKind::Quoted && toks[1].kind != TokKind::Word)) {
      error("T0103", toks.size() < 2 ? toks[0].span : toks[1].span,
            "expected the test's name after 'test'", "test \"what the test shows\"");
      return;
    }
    if (toks[1].text.empty()) {
      error("T0103", toks[1].span, "the test's name is empty", "say what the test shows");
      return;
    }
    if (toks.size() > 2) {
      error("T0103", toks[2].span, "unexpected text after the test's name",
            "quote a name with spaces: test \"no consent is ineligible\"");
      return;
    }
    test_.emplace();
    test_->errors_at_open = diags_.error_count();
    test_->test.name = toks[1].text;
    test_->test.span = toks[1].span;
  }

  void end_line(const std::vector<Token>& toks) {
    if (toks.size() > 1) {
      error("T0103", toks[1].span, "unexpected text after 'end'");
      return;
    }
    if (!test_) {
      error("T0105", toks[0].span, "'end' without a test or table to close");
      return;
    }
    close_test();
  }

  bool inside_test(const Token& kw) {
    if (test_) return true;
    error("T0106", kw.span, fmt::format("'{}' outside a test", kw.text),
          fmt::format("put it between `test \"NAME\"` and `end`"));
    return false;
  }

  // "R1..R41" -> R1, R2, ..., R41 (a leading zero keeps the width: R01..R12).
  bool expand(const Token& t, std::vector<std::string>& names) {
    size_t dots = t.text.find("..");
    if (dots == std::string::npos) {
      if (!is_case_name(t.text)) {
        error("T0108", t.span, fmt::format("'{}' is not a case name", t.text),
              "case names are letters, digits, '_' and '-'");
        return false;
      }
      names.push_back(t.text);
      return true;
    }
    auto split = [](const std::string& s, std::string& prefix, std::string& digits) {
      size_t k = s.size();
      while (k > 0 && std::isdigit(static_cast<unsigned char>(s[k - 1]))) --k;
      prefix = s.substr(0, k);
      digits = s.substr(k);
      return !digits.empty() && digits.size() <= 9 && (prefix.empty() || is_case_name(prefix));
    };
    std::string p1, d1, p2, d2;
    const std::string left = t.text.substr(0, dots), right = t.text.substr(dots + 2);
    if (!split(left, p1, d1) || !split(right, p2, d2) || p1 != p2) {
      error("T0108", t.span, fmt::format("'{}' is not a range of case names", t.text),
            "a range is two names with the same prefix and a number: R1..R41");
      return false;
    }
    long from = std::strtol(d1.c_str(), nullptr, 10), to = std::strtol(d2.c_str(), nullptr, 10);
    if (to < from) {
      error("T0108", t.span,
            fmt::format("the range '{}' is empty: {} is less than {}", t.text, to, from));
      return false;
    }
    if (static_cast<size_t>(to - from + 1) > limits_.max_range) {
      error("T0114", t.span,
            fmt::format("the range '{}' names {} cases; a range may name at most {}", t.text,
                        to - from + 1, limits_.max_range));
      return false;
    }
    const size_t width = d1.size() > 1 && d1[0] == '0' ? d1.size() : 0;
    for (long n = from; n <= to; ++n) names.push_back(p1 + fmt::format("{:0{}}", n, width));
    return true;
  }

  void case_line(const std::vector<Token>& toks) {
    if (!inside_test(toks[0])) return;
    size_t k = 1;
    std::vector<std::pair<std::string, Span>> names;
    for (; k < toks.size() && toks[k].kind == TokKind::Word; ++k) {
      std::vector<std::string> expanded;
      if (!expand(toks[k], expanded)) return;
      for (auto& n : expanded) names.emplace_back(std::move(n), toks[k].span);
    }
    if (names.empty()) {
      error("T0108", k < toks.size() ? toks[k].span : toks[0].span,
            "expected the case's name after 'case'", "case A field=value ...");
      return;
    }
    std::vector<Assignment> fields;
    if (!assignments(toks, k, fields)) return;
    OpenTest& t = *test_;
    const size_t first = t.test.cases.size();
    for (auto& [name, s] : names) {
      if (name == "all") {
        error("T0109", s,
              "'all' cannot name a case: in an expect line it means every case of the test");
        return;
      }
      auto [it, inserted] = t.case_index.emplace(name, t.test.cases.size());
      if (!inserted) {
        Diagnostic& d =
            error("T0109", s, fmt::format("case '{}' is already given in this test", name));
        d.notes.push_back({t.test.cases[it->second].span, "first given here"});
        return;
      }
      if (t.test.cases.size() >= limits_.max_cases_per_test) {
        error("T0114", s,
              fmt::format("a test may have at most {} cases", limits_.max_cases_per_test));
        return;
      }
      t.test.cases.push_back({name, fields, s});
    }
    continues_ = Continues::Cases;
    continued_first_case_ = first;
  }

  void defaults_line(const std::vector<Token>& toks) {
    std::vector<Assignment> more;
    if (toks.size() < 2) {
      error("T0107", toks[0].span, "expected name=value after 'defaults'");
      return;
    }
    if (!assignments(toks, 1, more)) return;
    merge(test_ ? test_->defaults : file_defaults_, more);
    continues_ = Continues::Defaults;
  }

  void param_line(const std::vector<Token>& toks) {
    std::vector<Assignment> more;
    if (toks.size() < 2) {
      error("T0107", toks[0].span, "expected name=value after 'param'", "param as_of=2019-01-18");
      return;
    }
    if (!assignments(toks, 1, more)) return;
    merge(test_ ? test_->params : file_params_, more);
    continues_ = Continues::Params;
  }

  // `table NAME` (rows follow, then `end`) or `table NAME from PATH`.
  void table_start(const std::vector<Token>& toks) {
    if (toks.size() < 2 || toks[1].kind != TokKind::Word || !is_identifier(toks[1].text)) {
      error("T0103", toks.size() < 2 ? toks[0].span : toks[1].span,
            "expected the table's name after 'table'",
            "table flows (rows follow, then end), or table flows from \"flows.csv\"");
      return;
    }
    TableGiven t;
    t.name = toks[1].text;
    t.span = toks[1].span;
    auto& scope = test_ ? test_->tables : file_tables_;
    if (test_) {
      auto it = std::find_if(scope.begin(), scope.end(),
                             [&](const TableGiven& x) { return x.name == t.name; });
      if (it != scope.end()) {
        Diagnostic& d =
            error("T0109", t.span, fmt::format("table '{}' is already given in this test", t.name));
        d.notes.push_back({it->span, "first given here"});
        return;
      }
    }
    if (toks.size() == 2) {
      table_ = std::move(t);
      table_in_test_ = test_.has_value();
      return;
    }
    if (toks[2].kind != TokKind::Word || toks[2].text != "from" || toks.size() != 4 ||
        (toks[3].kind != TokKind::Word && toks[3].kind != TokKind::Quoted) ||
        toks[3].text.empty()) {
      error("T0103", toks[2].span,
            "expected `from PATH` or the end of the line after the table's name",
            "table flows from \"flows.csv\" (relative to the test file)");
      return;
    }
    t.path = toks[3].text;
    set_table(std::move(t));
  }

  void set_table(TableGiven t) {
    auto& scope = test_ ? test_->tables : file_tables_;
    auto it = std::find_if(scope.begin(), scope.end(),
                           [&](const TableGiven& x) { return x.name == t.name; });
    if (it == scope.end())
      scope.push_back(std::move(t));
    else
      *it = std::move(t);  // at file level a later table replaces the earlier one
  }

  void table_line(const std::vector<Token>& toks) {
    if (toks[0].kind == TokKind::Word && toks[0].text == "end") {
      if (toks.size() > 1) error("T0103", toks[1].span, "unexpected text after 'end'");
      close_table();
      return;
    }
    if (toks[0].kind == TokKind::Word &&
        std::find(kStatements.begin(), kStatements.end(), toks[0].text) != kStatements.end()) {
      unclosed(toks[0].span, "table", table_->span);
      close_table();
      statement(toks);
      return;
    }
    std::vector<Assignment> row;
    if (!assignments(toks, 0, row)) return;
    table_->rows.push_back(std::move(row));
    table_->row_spans.push_back(span(toks.front().span.begin, toks.back().span.end));
  }

  // Reads a line that starts with a statement keyword; false when toks[0] names none. Used
  // for ordinary lines, and for a statement found where a table row was expected (once the
  // table has been closed, with an error).
  bool statement(const std::vector<Token>& toks) {
    const std::string& kw = toks[0].text;
    if (kw == "test") test_line(toks);
    else if (kw == "end") end_line(toks);
    else if (kw == "case") case_line(toks);
    else if (kw == "expect") expect_line(toks);
    else if (kw == "defaults") defaults_line(toks);
    else if (kw == "param") param_line(toks);
    else if (kw == "table") table_start(toks);
    else return false;
    return true;
  }

  void close_table() {
    if (!table_) return;
    TableGiven t = std::move(*table_);
    table_.reset();
    if (table_in_test_ && !test_) return;
    set_table(std::move(t));
  }

  // ------------------------------------------------------------------ expectations
  static const char* kExpectForms() {
    return "expectations are `disposition OUTCOME`, `E1 passes`, `E1 fails`, `E1 is unknown`, "
           "`S1 fires`, `S1 does not fire`, `SCORE = NUMBER` or `rejected`";
  }

  static bool expectation_word(const std::string& w) {
    return w == "passes" || w == "fails" || w == "fires" || w == "is" || w == "does" ||
           w == "not" || w == "unknown" || w == "fire" || w == "disposition" || w == "rejected" ||
           is_compare_word(w);
  }

  static bool word(const Token& t, const char* w) { return t.kind == TokKind::Word && t.text == w; }

  // Matches one expectation at the end of toks[b, e); returns how many tokens it took (0 when
  // none matched, after an error). `e - b` may include the subjects before it.
  size_t expectation_at_end(const std::vector<Token>& toks, size_t b, size_t e, Expectation& x) {
    const size_t n = e - b;
    const Token& last = toks[e - 1];
    auto whole = [&](size_t k) { return span(toks[e - k].span.begin, last.span.end); };
    auto target = [&](const Token& t) {
      if (t.kind != TokKind::Word || !is_identifier(t.text)) {
        error("T0110", t.span,
              fmt::format("'{}' is not the name of a criterion, signal or score", t.text));
        return false;
      }
      x.target = t.text;
      x.target_span = t.span;
      return true;
    };
    if (word(last, "rejected")) {
      x.kind = ExpectKind::Rejected;
      x.span = last.span;
      return 1;
    }
    if (last.kind == TokKind::Assign) {  // risk=40
      auto v = parse_number(last.value);
      if (!v) {
        error("T0110", last.value_span, fmt::format("expected a number, found '{}'", last.value));
        return 0;
      }
      x.kind = ExpectKind::Score;
      x.target = last.text;
      x.target_span = span(last.span.begin, last.span.begin + last.text.size());
      x.number = *v;
      x.number_text = last.value;
      x.span = last.span;
      return 1;
    }
    if (n >= 2 && word(toks[e - 2], "disposition")) {
      if (last.kind != TokKind::Word || !is_identifier(last.text)) {
        error("T0110", last.span, "expected an outcome after 'disposition'", "disposition APPROVE");
        return 0;
      }
      x.kind = ExpectKind::Disposition;
      x.target = last.text;
      x.target_span = last.span;
      x.span = whole(2);
      return 2;
    }
    if (last.kind == TokKind::Word &&
        (last.text == "passes" || last.text == "fails" || last.text == "fires") && n >= 2) {
      if (!target(toks[e - 2])) return 0;
      x.kind = last.text == "passes"  ? ExpectKind::Passes
               : last.text == "fails" ? ExpectKind::Fails
                                      : ExpectKind::Fires;
      x.span = whole(2);
      return 2;
    }
    if (word(last, "unknown") && n >= 3 && word(toks[e - 2], "is")) {
      if (!target(toks[e - 3])) return 0;
      x.kind = ExpectKind::IsUnknown;
      x.span = whole(3);
      return 3;
    }
    if (word(last, "fire") && n >= 4 && word(toks[e - 2], "not") && word(toks[e - 3], "does")) {
      if (!target(toks[e - 4])) return 0;
      x.kind = ExpectKind::DoesNotFire;
      x.span = whole(4);
      return 4;
    }
    if (n >= 3 && toks[e - 2].kind == TokKind::Word && is_compare_word(toks[e - 2].text)) {
      auto v = last.kind == TokKind::Word ? parse_number(last.text) : std::nullopt;
      if (!v) {
        error("T0110", last.span,
              fmt::format("expected a number after '{}', found '{}'", toks[e - 2].text, last.text));
        return 0;
      }
      if (!target(toks[e - 3])) return 0;
      x.kind = ExpectKind::Score;
      x.compare = compare_of(toks[e - 2].text);
      x.number = *v;
      x.number_text = last.text;
      x.span = whole(3);
      return 3;
    }
    std::string hint = kExpectForms();
    if (last.kind == TokKind::Word) {
      const std::string& w = last.text;
      if (w == "pass" || w == "passed")
        hint = "write `passes`: E1 passes";
      else if (w == "fail" || w == "failed")
        hint = "write `fails`: E1 fails";
      else if (w == "fired")
        hint = "write `fires`: S1 fires";
      else if (w == "unknown")
        hint = "write `is unknown`: E4 is unknown";
      else if (w == "fire")
        hint = "write `fires` or `does not fire`";
    }
    error("T0110", span(toks[b].span.begin, last.span.end), "expected an expectation", hint);
    return 0;
  }

  void expect_line(const std::vector<Token>& toks) {
    if (!inside_test(toks[0])) return;
    OpenTest::RawExpect raw;
    raw.line.span = span(toks[0].span.begin, toks.back().span.end);
    // Split by commas; the first group also holds the subjects.
    std::vector<std::pair<size_t, size_t>> groups;
    size_t g = 1;
    for (size_t k = 1; k <= toks.size(); ++k) {
      if (k == toks.size() || toks[k].kind == TokKind::Comma) {
        if (k == g) {
          error("T0110", k < toks.size() ? toks[k].span : toks.back().span,
                k == 1 ? "expected the case and what is expected of it after 'expect'"
                       : "expected an expectation after ','",
                "expect A disposition APPROVE, E1 passes, risk = 0");
          return;
        }
        groups.emplace_back(g, k);
        g = k + 1;
      }
    }
    for (size_t i = 0; i < groups.size(); ++i) {
      auto [b, e] = groups[i];
      Expectation x;
      size_t took = expectation_at_end(toks, b, e, x);
      if (took == 0) return;
      if (i == 0) {
        if (took == e - b) {
          error("T0110", toks[b].span, "expected the case this is about before the expectation",
                fmt::format("expect A {}", expectation_text(x)));
          return;
        }
        for (size_t k = b; k < e - took; ++k) {
          if (toks[k].kind == TokKind::Word && expectation_word(toks[k].text)) {
            // `expect A E1 passes S1 fires`: a comma is missing after `E1 passes`.
            size_t from = k > b ? k - 1 : k;
            error("T0110", span(toks[from].span.begin, toks[e - took - 1].span.end),
                  "unexpected text before the expectation", "separate expectations with ','");
            return;
          }
          if (toks[k].kind != TokKind::Word) {
            error("T0110", toks[k].span, "expected a case name", "expect A B disposition APPROVE");
            return;
          }
          raw.subjects.push_back(toks[k]);
        }
      } else if (took != e - b) {
        error("T0110", span(toks[b].span.begin, toks[e - took - 1].span.end),
              "unexpected text before the expectation", "separate expectations with ','");
        return;
      }
      raw.line.expectations.push_back(std::move(x));
    }
    test_->expects.push_back(std::move(raw));
  }

  // ------------------------------------------------------------------ end of a test
  void close_test() {
    if (table_ && table_in_test_) close_table();
    OpenTest t = std::move(*test_);
    test_.reset();
    continues_ = Continues::Nothing;
    // A case or expect line in error is missing from the test: then an empty test or an
    // unknown subject is a consequence, not news.
    const bool clean = diags_.error_count() == t.errors_at_open;
    bool ok = clean;
    if (clean && t.test.cases.empty()) {
      error("T0112", t.test.span, "the test has no cases", "case A field=value ...");
      ok = false;
    }
    if (clean && t.expects.empty()) {
      error("T0112", t.test.span, "the test has no expectations: it could never fail",
            "expect A disposition APPROVE");
      ok = false;
    }
    for (auto& raw : t.expects) {
      if (!clean) break;
      for (const Token& s : raw.subjects) {
        if (s.text == "all") {
          for (size_t c = 0; c < t.test.cases.size(); ++c) raw.line.cases.push_back(c);
          continue;
        }
        std::vector<std::string> names;
        if (!expand(s, names)) {
          ok = false;
          continue;
        }
        for (const auto& n : names) {
          auto it = t.case_index.find(n);
          if (it == t.case_index.end()) {
            std::vector<std::string> known;
            for (const auto& c : t.test.cases) known.push_back(c.name);
            std::string near = closest_name(n, known);
            error("T0111", s.span, fmt::format("no case '{}' in this test", n),
                  near.empty() ? "give it with `case " + n + " ...`"
                               : fmt::format("did you mean '{}'?", near));
            ok = false;
            break;
          }
          raw.line.cases.push_back(it->second);
        }
      }
      t.test.expects.push_back(std::move(raw.line));
    }
    if (!ok) return;
    t.test.params = file_params_;
    merge(t.test.params, t.params);
    t.test.defaults = file_defaults_;
    merge(t.test.defaults, t.defaults);
    t.test.tables = file_tables_;
    for (auto& own : t.tables) {
      auto it = std::find_if(t.test.tables.begin(), t.test.tables.end(),
                             [&](const TableGiven& x) { return x.name == own.name; });
      if (it == t.test.tables.end())
        t.test.tables.push_back(std::move(own));
      else
        *it = std::move(own);
    }
    file_result_.tests.push_back(std::move(t.test));
  }
};

}  // namespace

std::string expectation_text(const Expectation& e) {
  switch (e.kind) {
    case ExpectKind::Disposition:
      return "disposition " + e.target;
    case ExpectKind::Passes:
      return e.target + " passes";
    case ExpectKind::Fails:
      return e.target + " fails";
    case ExpectKind::IsUnknown:
      return e.target + " is unknown";
    case ExpectKind::Fires:
      return e.target + " fires";
    case ExpectKind::DoesNotFire:
      return e.target + " does not fire";
    case ExpectKind::Rejected:
      return "rejected";
    case ExpectKind::Score: {
      static const char* kOps[] = {"=", "!=", "<", "<=", ">", ">="};
      return e.target + " " + kOps[static_cast<int>(e.compare)] + " " + e.number_text;
    }
  }
  return "";
}

Staged<TestFile> parse(const SourceSet& sources, uint32_t file, const Limits& limits) {
  return Parser(sources, file, limits).run();
}

}  // namespace crible::ruletest
