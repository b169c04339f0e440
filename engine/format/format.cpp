// The formatter works on the source's own tokens: it never adds, drops or respells one, so
// parentheses, number spellings and escapes stay as the author wrote them and the AST cannot
// change. The AST only says where each declaration and each line of a block begins; spacing,
// indentation, blank lines and comments are then decided token by token.
#include "format/format.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "format/detail/tokens.h"

namespace crible::format {
namespace {

using detail::Token;
using detail::TokenKind;

constexpr int kBlockIndent = 2;
constexpr int kMinContinuation = 4;  // a continuation line sits this much deeper than its line
constexpr int kTabStop = 8;          // for the author's columns only: we never write tabs
constexpr size_t kNone = static_cast<size_t>(-1);

// Width in code points: the unit columns are counted in, as in diagnostics.
int width(std::string_view s) {
  int w = 0;
  for (char c : s) w += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return w;
}

// A token or comment with where the author put it.
struct Placed {
  Token token;
  uint32_t line = 0, col = 0;  // 0-based; col in code points, tabs to the next tab stop
  bool blank_before = false;   // an empty line separates it from the token or comment before
};

enum class UnitKind { Head, Element, End };

// One logical line of the output: a declaration's head, a line of a block, or a block's `end`.
struct Unit {
  UnitKind kind = UnitKind::Head;
  size_t first = 0, last = 0;  // tokens [first, last)
  int indent = 0;
  size_t region = kNone;     // breaks after this token (the first `=`, `:` or `when`) are kept
  size_t pad_token = kNone;  // this token starts at column pad_col (alignment in blocks)
  int pad_col = 0;
  bool opens_block = false;  // the first line after a block's head
  bool separate = false;     // a head after or of a block: always a blank line before it
};

bool is(const Token& t, std::string_view text) {
  return (t.kind == TokenKind::Punct || t.kind == TokenKind::Keyword) && t.text == text;
}

// Whether a `-` after `prev` is a binary minus: `prev` ends a value.
bool ends_value(const Token& prev) {
  switch (prev.kind) {
    case TokenKind::Name:
    case TokenKind::Number:
    case TokenKind::Date:
    case TokenKind::Text:
      return true;
    case TokenKind::Keyword:
      return prev.text == "true" || prev.text == "false" || prev.text == "days" ||
             prev.text == "day" || prev.text == "weeks";
    case TokenKind::Punct:
      return prev.text == ")" || prev.text == "}";
    default:
      return false;
  }
}

class Formatter {
 public:
  Formatter(const syntax::Ruleset& rules, const std::string& source)
      : rules_(rules), source_(source) {}

  Result<std::string> run() {
    place();
    for (const Placed& p : tokens_)
      if (p.token.kind == TokenKind::Bad)
        return Error{"the text does not lex as the parser read it", 1};
    if (auto error = build_units()) return Error{*error, 1};
    align();
    print();
    return out_;
  }

 private:
  // --- reading the source ------------------------------------------------------------------

  void place() {
    std::vector<Token> all = detail::lex(source_);
    uint32_t line = 0, col = 0, newlines = 0;
    size_t pos = 0;
    auto advance = [&](size_t to) {
      for (; pos < to; ++pos) {
        char c = source_[pos];
        if (c == '\n') {
          ++line, ++newlines;
          col = 0;
        } else if (c == '\t') {
          col = (col / kTabStop + 1) * kTabStop;
        } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
          ++col;
        }
      }
    };
    std::vector<size_t> pending;  // comments on lines of their own, waiting for the next token
    bool have_previous = false;
    for (const Token& t : all) {
      newlines = 0;
      advance(t.begin);
      Placed p{t, line, col, have_previous && newlines >= 2};
      advance(t.end);
      have_previous = true;
      if (t.kind != TokenKind::Comment) {
        tokens_.push_back(p);
        leading_.push_back(std::move(pending));
        pending.clear();
        trailing_.push_back(kNone);
        continue;
      }
      comments_.push_back(p);
      const size_t c = comments_.size() - 1;
      // After code on the same line (and no comment since: a comment ends its line).
      if (pending.empty() && !tokens_.empty() && tokens_.back().line == p.line &&
          trailing_.back() == kNone) {
        trailing_.back() = c;
      } else {
        pending.push_back(c);
      }
    }
    end_comments_ = std::move(pending);
  }

  std::optional<size_t> token_at(uint32_t offset) const {
    auto it = std::lower_bound(tokens_.begin(), tokens_.end(), offset,
                               [](const Placed& p, uint32_t o) { return p.token.begin < o; });
    if (it == tokens_.end() || it->token.begin != offset) return std::nullopt;
    return static_cast<size_t>(it - tokens_.begin());
  }

  // --- the structure, from the AST ---------------------------------------------------------

  struct Declaration {
    size_t keyword = kNone;
    bool block = false;
    std::vector<size_t> lines;  // first token of each line of the block
    bool ok = true;
  };

  // The token at `span`'s start, or the one before it (the keyword of `let x`, `reason "..."`).
  size_t find(const Span& span, bool keyword_before, bool& ok) const {
    auto at = token_at(span.begin);
    if (!at || (keyword_before && *at == 0)) {
      ok = false;
      return kNone;
    }
    return keyword_before ? *at - 1 : *at;
  }

  std::optional<std::string> build_units() {
    std::vector<Declaration> decls;
    auto add = [&](const Span& span, bool keyword_before, bool block) -> Declaration& {
      Declaration d;
      d.block = block;
      d.keyword = find(span, keyword_before, d.ok);
      decls.push_back(std::move(d));
      return decls.back();
    };
    auto line = [&](Declaration& d, const Span& span, bool keyword_before) {
      d.lines.push_back(find(span, keyword_before, d.ok));
    };
    if (rules_.title) add(rules_.title->span, true, false);
    for (const auto& s : rules_.schemas) {
      Declaration& d = add(s.span, !s.is_cases, true);
      for (const auto& c : s.columns) line(d, c.span, false);
    }
    for (const auto& p : rules_.parameters) add(p.span, true, false);
    for (const auto& c : rules_.constants) add(c.span, true, false);
    for (const auto& df : rules_.definitions) add(df.span, true, false);
    for (const auto& c : rules_.criteria) {
      Declaration& d = add(c.span, true, true);
      for (const auto& cl : c.clauses) line(d, cl.span, false);
      for (const auto& r : c.reasons) line(d, r.span, true);
    }
    for (const auto& s : rules_.signals) {
      Declaration& d = add(s.span, true, true);
      for (const auto& l : s.lets) line(d, l.span, true);
      for (const auto& f : s.fires_spans) line(d, f, false);
      for (const auto& r : s.reasons) line(d, r.span, true);
    }
    for (const auto& s : rules_.scores) {
      Declaration& d = add(s.span, true, s.form == syntax::ScoreSyntax::Form::Terms);
      for (const auto& t : s.terms) line(d, t.span, false);
    }
    for (const auto& ds : rules_.dispositions) {
      Declaration& d = add(ds.span, false, true);
      for (const auto& l : ds.lines) line(d, l.span, false);
    }
    for (const auto& d : decls)
      if (!d.ok) return "a declaration's span does not start at a token";
    std::sort(decls.begin(), decls.end(),
              [](const Declaration& a, const Declaration& b) { return a.keyword < b.keyword; });
    if (decls.empty() != tokens_.empty() || (!decls.empty() && decls[0].keyword != 0))
      return "the declarations do not cover the text";

    for (size_t k = 0; k < decls.size(); ++k) {
      Declaration& d = decls[k];
      const size_t stop = k + 1 < decls.size() ? decls[k + 1].keyword : tokens_.size();
      if (stop <= d.keyword) return "two declarations start at the same token";
      std::sort(d.lines.begin(), d.lines.end());
      size_t close = stop;  // the block's `end`
      if (d.block) {
        close = stop - 1;
        if (!is(tokens_[close].token, "end") || close == d.keyword)
          return "a block does not close with `end`";
      }
      for (size_t i = 0; i < d.lines.size(); ++i)
        if (d.lines[i] <= d.keyword || d.lines[i] >= close ||
            (i > 0 && d.lines[i] <= d.lines[i - 1]))
          return "a line of a block is out of place";
      const size_t head_end = d.lines.empty() ? close : d.lines[0];
      Unit head = unit(UnitKind::Head, d.keyword, head_end, 0);
      head.separate = d.block || (k > 0 && decls[k - 1].block);
      units_.push_back(head);
      for (size_t i = 0; i < d.lines.size(); ++i) {
        Unit u = unit(UnitKind::Element, d.lines[i],
                      i + 1 < d.lines.size() ? d.lines[i + 1] : close, kBlockIndent);
        u.opens_block = i == 0;
        units_.push_back(u);
      }
      if (d.block) {
        Unit u = unit(UnitKind::End, close, stop, 0);
        u.opens_block = d.lines.empty();
        units_.push_back(u);
      }
    }
    return std::nullopt;
  }

  Unit unit(UnitKind kind, size_t first, size_t last, int indent) const {
    Unit u;
    u.kind = kind;
    u.first = first;
    u.last = last;
    u.indent = indent;
    for (size_t i = first; i < last; ++i) {
      const Token& t = tokens_[i].token;
      if (is(t, "=") || is(t, ":") || is(t, "when")) {
        u.region = i;
        break;
      }
    }
    return u;
  }

  // Types after `name:` in a schema, `when`/`otherwise` in a disposition or a score: each
  // run of lines of one block lines up on its longest key.
  void align() {
    size_t i = 0;
    while (i < units_.size()) {
      if (units_[i].kind != UnitKind::Element) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < units_.size() && units_[j].kind == UnitKind::Element) ++j;
      // Each line's key width and the token after the key, or kNone when the line is not
      // of an aligned shape.
      std::vector<std::pair<int, size_t>> keys;
      int widest = -1;
      for (size_t k = i; k < j; ++k) {
        const Unit& u = units_[k];
        const Token& first = tokens_[u.first].token;
        std::pair<int, size_t> key{0, kNone};
        if (u.first + 2 < u.last && first.kind == TokenKind::Name &&
            is(tokens_[u.first + 1].token, ":")) {
          key = {width(first.text) + 1, u.first + 2};  // a column: `name:` then its type
        } else if (u.first + 1 < u.last && first.kind == TokenKind::Name &&
                   (is(tokens_[u.first + 1].token, "when") ||
                    is(tokens_[u.first + 1].token, "otherwise"))) {
          key = {width(first.text), u.first + 1};  // a disposition line
        } else {
          size_t w = u.first;
          if (w < u.last && is(tokens_[w].token, "-")) ++w;
          if (w < u.last && tokens_[w].token.kind == TokenKind::Number && w + 1 < u.last &&
              is(tokens_[w + 1].token, "when")) {
            int n = 0;
            for (size_t t = u.first; t <= w; ++t) n += width(tokens_[t].token.text);
            key = {n, w + 1};  // a score term: `-5 when`
          }
        }
        keys.push_back(key);
        if (key.second != kNone) widest = std::max(widest, key.first);
      }
      for (size_t k = i; k < j; ++k) {
        if (keys[k - i].second == kNone) continue;
        units_[k].pad_token = keys[k - i].second;
        units_[k].pad_col = units_[k].indent + widest + 1;
      }
      i = j;
    }
  }

  // --- writing -----------------------------------------------------------------------------

  void write(std::string_view s) {
    out_ += s;
    col_ += width(s);
  }
  void spaces(int n) {
    out_.append(static_cast<size_t>(std::max(n, 0)), ' ');
    col_ += std::max(n, 0);
  }
  void newline() {
    out_ += '\n';
    col_ = 0;
    ++line_;
  }
  void blank_line() {
    if (!out_.empty()) newline();
  }
  void comment_line(size_t c, int indent) {
    spaces(indent);
    write(comment_text(c));
    newline();
  }
  std::string_view comment_text(size_t c) const {
    std::string_view t = comments_[c].token.text;
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    return t;
  }

  // Whether an empty line goes before a comment or the first line of `u` (`first` says it is
  // the first of them).
  bool blank_before(const Unit& u, bool first, bool author_blank, bool is_end_line) const {
    if (out_.empty()) return false;
    switch (u.kind) {
      case UnitKind::Head:
        // Blocks stand one blank line apart from everything; one-line declarations (a
        // parameter, a constant, a definition) may stay grouped as the author grouped them,
        // like the two aggregates under one comment in rules/mali-2019.rules.
        return (first && u.separate) || author_blank;
      case UnitKind::Element:
        return author_blank && !(first && u.opens_block);
      case UnitKind::End:
        return !is_end_line && author_blank && !(first && u.opens_block);
    }
    return false;
  }

  int spacing(const Unit& u, size_t i) const {
    const Token& a = tokens_[i - 1].token;
    const Token& b = tokens_[i].token;
    if (is(b, ",") || is(b, ")") || is(b, "}") || is(b, ":") || is(b, ".") || is(a, ".") ||
        is(a, "(") || is(a, "{"))
      return 0;
    if (is(b, "(") && a.kind == TokenKind::Name) return 0;  // a call, or `define f(...)`
    if (is(a, "-") && (i - 1 == u.first || !ends_value(tokens_[i - 2].token))) return 0;  // a sign
    return 1;
  }

  struct Written {
    uint32_t line, col;  // where the author put the token
    int new_col;         // where it went
  };

  // The column of a continuation line starting with token i: under the token above that the
  // author lined it up with, else shifted as its line was.
  int continuation(const Unit& u, size_t i, const std::vector<Written>& written) const {
    const Placed& t = tokens_[i];
    int col = -1;
    for (auto it = written.rbegin(); it != written.rend(); ++it) {
      if (it->line < t.line && it->col == t.col) {
        col = it->new_col;
        break;
      }
    }
    if (col < 0) col = static_cast<int>(t.col) + u.indent - static_cast<int>(tokens_[u.first].col);
    return std::max(col, u.indent + kMinContinuation);
  }

  void print() {
    std::vector<Written> written;
    for (const Unit& u : units_) {
      const int comment_indent = u.kind == UnitKind::End ? kBlockIndent : u.indent;
      bool first = true;
      for (size_t c : leading_[u.first]) {
        if (blank_before(u, first, comments_[c].blank_before, false)) blank_line();
        comment_line(c, comment_indent);
        first = false;
      }
      if (blank_before(u, first, tokens_[u.first].blank_before, u.kind == UnitKind::End))
        blank_line();
      written.clear();
      spaces(u.indent);
      for (size_t i = u.first; i < u.last; ++i) {
        const Placed& t = tokens_[i];
        if (i > u.first) {
          const bool kept = t.line > tokens_[i - 1].line && u.region != kNone && i > u.region;
          if (!leading_[i].empty() || trailing_[i - 1] != kNone || kept) {
            newline();
            const int col = continuation(u, i, written);
            for (size_t c : leading_[i]) comment_line(c, col);
            spaces(col);
          } else if (i == u.pad_token) {
            spaces(std::max(1, u.pad_col - col_));
          } else {
            spaces(spacing(u, i));
          }
        }
        written.push_back({t.line, t.col, col_});
        write(t.token.text);
        if (trailing_[i] != kNone) {
          trailers_.push_back({line_, out_.size(), col_, u.indent});
          spaces(2);
          write(comment_text(trailing_[i]));
        }
      }
      newline();
    }
    for (size_t c : end_comments_) {
      if (comments_[c].blank_before) blank_line();
      comment_line(c, 0);
    }
    align_trailers();
  }

  // Comments after code on consecutive lines of one level (the lines of a block, or a
  // declaration and its continuation lines) start in one column, two spaces after the longest
  // code, as authors line them up by hand.
  void align_trailers() {
    size_t i = trailers_.size();
    while (i > 0) {
      size_t j = i - 1;  // the run is [j, i)
      while (j > 0 && trailers_[j - 1].line + 1 == trailers_[j].line &&
             trailers_[j - 1].indent == trailers_[j].indent)
        --j;
      int widest = 0;
      for (size_t k = j; k < i; ++k) widest = std::max(widest, trailers_[k].code_col);
      for (size_t k = i; k-- > j;)  // from the end, so earlier offsets stay valid
        out_.insert(trailers_[k].offset, static_cast<size_t>(widest - trailers_[k].code_col), ' ');
      i = j;
    }
  }

  const syntax::Ruleset& rules_;
  const std::string& source_;
  std::vector<Placed> tokens_, comments_;
  std::vector<std::vector<size_t>> leading_;  // per token: comments on lines of their own before it
  std::vector<size_t> trailing_;              // per token: the comment after it on its line
  std::vector<size_t> end_comments_;          // after the last token
  std::vector<Unit> units_;
  struct Trailer {
    size_t line, offset;  // output line, and where the spaces before the comment go
    int code_col;         // the column where the code ended
    int indent;           // of the line's unit: runs of aligned comments stay on one level
  };
  std::vector<Trailer> trailers_;
  std::string out_;
  int col_ = 0;
  size_t line_ = 0;
};

}  // namespace

Result<std::string> format(const syntax::Ruleset& rules, const std::string& source) {
  return Formatter(rules, source).run();
}

}  // namespace crible::format
