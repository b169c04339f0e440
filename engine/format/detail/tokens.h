// The rule language's tokens and comments, split as Crible.g4's lexer splits them, for the
// formatter: ANTLR stays in syntax/build_ast.cpp, and its lexer skips the comments we must keep.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

namespace crible::format::detail {

enum class TokenKind : uint8_t {
  Name,     // IDENT that is not a keyword
  Keyword,  // `criterion`, `when`, `and`, ...
  Number,   // INT or DECIMAL
  Date,     // 2019-01-18
  Text,     // "quoted", escapes as written
  Punct,    // ( ) { } , : . = != < <= > >= + - * /
  Comment,  // `#` to the end of the line, without the line break
  Bad,      // anything the parser would have rejected
};

struct Token {
  TokenKind kind = TokenKind::Bad;
  uint32_t begin = 0, end = 0;  // byte offsets into the text
  std::string_view text;
};

// Every token and comment of `text`, in order. Longest match, as ANTLR's lexer does, so that
// a file the parser accepted splits into exactly the tokens the parser saw.
std::vector<Token> lex(std::string_view text);

bool is_keyword(std::string_view word);

}  // namespace crible::format::detail
