// engine/syntax/detail/rule_lexer.h: the rule language's tokens, scanned by hand for ANTLR's
// parser. The generated lexer builds its DFA afresh in every process, and for one ruleset that
// was a fifth of `crible check` (docs/decisions.md, "Start-up"). The lexical rules are still
// those of grammar/Crible.g4: keywords and punctuation are taken from the grammar's vocabulary,
// and tests/unit/syntax/rule_lexer_test.cpp checks this scanner against the generated lexer.
#pragma once
#include <ANTLRInputStream.h>
#include <CommonTokenFactory.h>
#include <TokenSource.h>
#include <Vocabulary.h>

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>

namespace crible::syntax::detail {

// The input as ANTLR sees it (code points, a UTF-8 byte order mark dropped), readable in place.
class RuleChars : public antlr4::ANTLRInputStream {
 public:
  using antlr4::ANTLRInputStream::ANTLRInputStream;
  const std::u32string& chars() const { return _data; }
};

// Token types by what the grammar calls them.
struct TokenTypes {
  explicit TokenTypes(const antlr4::dfa::Vocabulary& vocabulary);
  std::unordered_map<std::u32string, size_t> literal;  // `ruleset`, `<=`, ... -> type
  size_t longest_symbol = 0;                           // longest literal that is not a word
  size_t date = 0, decimal = 0, integer = 0, ident = 0, string = 0, unterminated = 0, bad = 0;
};

// Longest match, ties to the rule written first, as an ANTLR lexer: a word is a keyword if the
// grammar has it, else IDENT; DATE, DECIMAL and INT by their lengths; STRING, or
// UNTERMINATED_STRING up to the end of the line; comments and white space skipped; any other
// code point is one BAD_CHAR. Lines and columns count as ANTLR counts them.
class RuleLexer : public antlr4::TokenSource {
 public:
  RuleLexer(RuleChars& input, const TokenTypes& types) : input_(input), types_(types) {}

  std::unique_ptr<antlr4::Token> nextToken() override;
  size_t getLine() const override { return line_; }
  size_t getCharPositionInLine() override { return column_; }
  antlr4::CharStream* getInputStream() override { return &input_; }
  std::string getSourceName() override { return input_.getSourceName(); }
  antlr4::TokenFactory<antlr4::CommonToken>* getTokenFactory() override {
    return antlr4::CommonTokenFactory::DEFAULT.get();
  }

 private:
  void advance(size_t n);

  RuleChars& input_;
  const TokenTypes& types_;
  size_t pos_ = 0;
  size_t line_ = 1;
  size_t column_ = 0;
};

}  // namespace crible::syntax::detail
