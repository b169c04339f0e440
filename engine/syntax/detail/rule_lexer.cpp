// The hand-written scanner of the rule language; see rule_lexer.h for why it exists and how
// it is kept equal to the grammar's lexer rules.
#include "syntax/detail/rule_lexer.h"

#include <CommonToken.h>
#include <Token.h>

#include <algorithm>
#include <cassert>

namespace crible::syntax::detail {
namespace {

bool word_start(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool digit(char32_t c) { return c >= '0' && c <= '9'; }
bool word_char(char32_t c) { return word_start(c) || digit(c); }
bool space(char32_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool line_end(char32_t c) { return c == '\r' || c == '\n'; }

}  // namespace

TokenTypes::TokenTypes(const antlr4::dfa::Vocabulary& vocabulary) {
  for (size_t t = 1; t <= vocabulary.getMaxTokenType(); ++t) {
    const std::string lit = vocabulary.getLiteralName(t);  // 'ruleset', '<=': in quotes
    if (lit.size() >= 3 && lit.front() == '\'' && lit.back() == '\'') {
      std::u32string text(lit.begin() + 1, lit.end() - 1);  // the grammar's literals are ASCII
      if (!word_start(text[0])) longest_symbol = std::max(longest_symbol, text.size());
      literal.emplace(std::move(text), t);
    }
    const std::string name = vocabulary.getSymbolicName(t);
    if (name == "DATE") date = t;
    else if (name == "DECIMAL") decimal = t;
    else if (name == "INT") integer = t;
    else if (name == "IDENT") ident = t;
    else if (name == "STRING") string = t;
    else if (name == "UNTERMINATED_STRING") unterminated = t;
    else if (name == "BAD_CHAR") bad = t;
  }
  assert(date && decimal && integer && ident && string && unterminated && bad);
}

void RuleLexer::advance(size_t n) {
  const std::u32string& s = input_.chars();
  for (size_t end = pos_ + n; pos_ < end; ++pos_) {
    if (s[pos_] == '\n') {
      ++line_;
      column_ = 0;
    } else {
      ++column_;
    }
  }
}

std::unique_ptr<antlr4::Token> RuleLexer::nextToken() {
  const std::u32string& s = input_.chars();
  const size_t size = s.size();
  auto at = [&](size_t i) { return i < size ? s[i] : char32_t{0}; };
  while (pos_ < size) {
    const size_t start = pos_, line = line_, column = column_;
    const char32_t c = s[start];
    size_t end = start + 1;  // one past the token
    size_t type = types_.bad;
    if (space(c)) {  // WS: skipped
      while (end < size && space(s[end])) ++end;
      advance(end - start);
      continue;
    }
    if (c == '#') {  // COMMENT: skipped
      while (end < size && !line_end(s[end])) ++end;
      advance(end - start);
      continue;
    }
    if (word_start(c)) {
      while (end < size && word_char(s[end])) ++end;
      auto it = types_.literal.find(s.substr(start, end - start));
      type = it != types_.literal.end() ? it->second : types_.ident;
    } else if (digit(c)) {
      while (end < size && digit(s[end])) ++end;
      type = types_.integer;
      const size_t n = end - start;
      if (n == 4 && at(end) == '-' && digit(at(end + 1)) && digit(at(end + 2)) && at(end + 3) == '-' &&
          digit(at(end + 4)) && digit(at(end + 5))) {
        end += 6;
        type = types_.date;
      } else if (at(end) == '.' && digit(at(end + 1))) {
        end += 2;
        while (end < size && digit(s[end])) ++end;
        type = types_.decimal;
      }
    } else if (c == '"') {
      while (end < size && s[end] != '"' && !line_end(s[end])) {
        if (s[end] == '\\') {
          if (end + 1 >= size || line_end(s[end + 1])) break;  // a lone backslash ends the text
          ++end;
        }
        ++end;
      }
      if (end < size && s[end] == '"') {
        ++end;
        type = types_.string;
      } else {
        type = types_.unterminated;
      }
    } else {
      // Punctuation: the longest literal of the grammar that is here; else one bad character.
      for (size_t n = std::min(types_.longest_symbol, size - start); n >= 1; --n) {
        auto it = types_.literal.find(s.substr(start, n));
        if (it != types_.literal.end()) {
          end = start + n;
          type = it->second;
          break;
        }
      }
    }
    advance(end - start);
    return antlr4::CommonTokenFactory::DEFAULT->create({this, &input_}, type, "",
                                                       antlr4::Token::DEFAULT_CHANNEL, start,
                                                       end - 1, line, column);
  }
  return antlr4::CommonTokenFactory::DEFAULT->create({this, &input_}, antlr4::Token::EOF, "",
                                                     antlr4::Token::DEFAULT_CHANNEL, pos_, pos_ - 1,
                                                     line_, column_);
}

}  // namespace crible::syntax::detail
