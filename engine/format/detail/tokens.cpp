// A hand-written copy of Crible.g4's lexical rules (keywords, DATE, DECIMAL, INT, IDENT,
// STRING, COMMENT, punctuation). If the grammar's lexer changes, this file changes with it;
// tests/unit/format checks it against the grammar's literals and on every rule file in the tree.
#include "format/detail/tokens.h"

#include <algorithm>
#include <iterator>

namespace crible::format::detail {
namespace {

constexpr std::string_view kKeywords[] = {
    "ruleset",   "cases",    "table",    "end",       "one",      "of",         "set",
    "parameter", "constant", "define",   "criterion", "criteria", "signal",     "signals",
    "pass",      "passes",   "fail",     "fails",     "unknown",  "reason",     "points",
    "let",       "fires",    "fire",     "fired",     "when",     "score",      "disposition",
    "otherwise", "count",    "distinct", "sum",       "min",      "max",        "collect",
    "in",        "where",    "with",     "same",      "this",     "and",        "or",
    "not",       "is",       "missing",  "present",   "between",  "intersects", "any",
    "all",       "days",     "day",      "weeks",     "true",     "false"};

bool digit(char c) { return c >= '0' && c <= '9'; }
bool word_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool word_char(char c) { return word_start(c) || digit(c); }

}  // namespace

bool is_keyword(std::string_view word) {
  return std::find(std::begin(kKeywords), std::end(kKeywords), word) != std::end(kKeywords);
}

std::vector<Token> lex(std::string_view s) {
  std::vector<Token> out;
  const size_t n = s.size();
  size_t i = 0;
  auto push = [&](TokenKind kind, size_t b, size_t e) {
    out.push_back({kind, static_cast<uint32_t>(b), static_cast<uint32_t>(e), s.substr(b, e - b)});
  };
  while (i < n) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
      continue;
    }
    const size_t b = i;
    if (c == '#') {
      while (i < n && s[i] != '\r' && s[i] != '\n') ++i;
      push(TokenKind::Comment, b, i);
    } else if (c == '"') {
      ++i;
      bool closed = false;
      while (i < n && s[i] != '\r' && s[i] != '\n') {
        if (s[i] == '"') {
          ++i;
          closed = true;
          break;
        }
        if (s[i] == '\\') {
          if (i + 1 >= n || s[i + 1] == '\r' || s[i + 1] == '\n') break;
          i += 2;
          continue;
        }
        ++i;
      }
      push(closed ? TokenKind::Text : TokenKind::Bad, b, i);
    } else if (digit(c)) {
      // DATE is exactly dddd-dd-dd; otherwise the longest of DECIMAL and INT.
      auto d = [&](size_t k) { return k < n && digit(s[k]); };
      if (d(i) && d(i + 1) && d(i + 2) && d(i + 3) && i + 4 < n && s[i + 4] == '-' && d(i + 5) &&
          d(i + 6) && i + 7 < n && s[i + 7] == '-' && d(i + 8) && d(i + 9)) {
        i += 10;
        push(TokenKind::Date, b, i);
      } else {
        while (d(i)) ++i;
        if (i + 1 < n && s[i] == '.' && d(i + 1)) {
          ++i;
          while (d(i)) ++i;
        }
        push(TokenKind::Number, b, i);
      }
    } else if (word_start(c)) {
      while (i < n && word_char(s[i])) ++i;
      push(is_keyword(s.substr(b, i - b)) ? TokenKind::Keyword : TokenKind::Name, b, i);
    } else if ((c == '!' || c == '<' || c == '>') && i + 1 < n && s[i + 1] == '=') {
      i += 2;
      push(TokenKind::Punct, b, i);
    } else if (std::string_view(":,=(){}.+-*/<>").find(c) != std::string_view::npos) {
      ++i;
      push(TokenKind::Punct, b, i);
    } else {
      // One bad character, a whole UTF-8 sequence at a time.
      ++i;
      while (i < n && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
      push(TokenKind::Bad, b, i);
    }
  }
  return out;
}

}  // namespace crible::format::detail
