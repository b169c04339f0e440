// tests/unit/syntax/rule_lexer_test.cpp: the hand-written scanner (syntax/detail/rule_lexer.h)
// gives exactly the tokens of the lexer ANTLR generates from grammar/Crible.g4 (type, offsets,
// line, column, text), on every rule file of the tree, on edge cases and on random text.
#include <CribleLexer.h>
#include <antlr4-runtime.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "syntax/detail/rule_lexer.h"

namespace crible::syntax::detail {
namespace {

std::string dump(antlr4::TokenSource& source) {
  std::string out;
  for (int n = 0; n < 100000; ++n) {
    auto t = source.nextToken();
    out += std::to_string(t->getType()) + " " + std::to_string(t->getStartIndex()) + " " +
           std::to_string(t->getStopIndex()) + " " + std::to_string(t->getLine()) + ":" +
           std::to_string(t->getCharPositionInLine()) + " " + std::to_string(t->getChannel()) +
           " [" + t->getText() + "]\n";
    if (t->getType() == antlr4::Token::EOF) break;
  }
  return out;
}

std::string generated(const std::string& text) {
  antlr4::ANTLRInputStream input(text);
  crible_gen::CribleLexer lexer(&input);
  lexer.removeErrorListeners();
  return dump(lexer);
}

const TokenTypes& types() {
  static const TokenTypes t = [] {
    antlr4::ANTLRInputStream input("");
    crible_gen::CribleLexer lexer(&input);
    return TokenTypes(lexer.getVocabulary());
  }();
  return t;
}

std::string by_hand(const std::string& text) {
  RuleChars input(text);
  RuleLexer lexer(input, types());
  return dump(lexer);
}

void same_tokens(const std::string& text, const std::string& what) {
  const std::string expected = generated(text), got = by_hand(text);
  BOOST_TEST(got == expected, what << ": tokens differ for input [" << text << "]\nexpected:\n"
                                   << expected << "got:\n" << got);
}

BOOST_AUTO_TEST_SUITE(rule_lexer)

BOOST_AUTO_TEST_CASE(every_rule_file_of_the_tree) {
  const char* dir = std::getenv("CRIBLE_SOURCE_DIR");
  BOOST_TEST_REQUIRE(dir != nullptr);
  int files = 0;
  for (const char* sub : {"rules", "tests"}) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(std::filesystem::path(dir) / sub)) {
      if (e.path().extension() != ".rules") continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      same_tokens(text.str(), e.path().string());
      ++files;
    }
  }
  BOOST_TEST(files > 50);  // the walk found the rule files
}

BOOST_AUTO_TEST_CASE(edge_cases) {
  const std::vector<std::string> cases = {
      "", " ", "\"", "\"abc", "\"abc\"def\"", "\"a\\\"b\"", "\"a\\", "\"a\\\nb\"", "\"a\\\\\"",
      "\"tab\there\"", "\"é\"", "\"unterminated\r\nnext", "2019-01-01", "2019-01-0", "2019-1-01",
      "20190-01-01", "2019-01-011", "2019-01-01.5", "12.5.3", "1.", ".5", "1.x", "007", "-5 - 5",
      "!=!", "!", "<=>=<>==", "a<b", "é", "aéb", "'single'", "&&", "|", "#c\r\nx", "#", "#\n#",
      "\r\n\r", "\t x \n y", "\xef\xbb\xbf" "cases", "a_b9 _x 9a __", "ruleset rulesets Ruleset",
      "not\nin", "{a,b}", "this.x", "count cases with same phone where a", "pass when x is missing",
      "criterion E1 X \"d\" pass when a end", "signal S1 X points -10 fires when b end",
      "days day weeks", "true false TRUE", "x:y", "a;b", "a$b", "\xc2\xa0", "\xe2\x80\x9c" "q",
  };
  for (const auto& c : cases) same_tokens(c, "edge case");
}

BOOST_AUTO_TEST_CASE(random_text) {
  const std::vector<std::string> pieces = {
      "a", "Z", "_", "x1", "cases", "end", "not", "in", "is", "missing", "between", "and", "or",
      "when", "days", "0", "7", "2019", "-", "01", ".", "5", "\"", "\\", "\n", "\r", "\t", " ",
      " ", "#", "!", "=", "<", ">", "+", "*", "/", "(", ")", "{", "}", ",", ":", "'", "é", "&",
      "this", "2020-02-29", "1.25", "count", "distinct"};
  std::mt19937 rng(20261123);
  std::uniform_int_distribution<size_t> length(0, 40), piece(0, pieces.size() - 1);
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    for (size_t n = length(rng); n > 0; --n) text += pieces[piece(rng)];
    same_tokens(text, "random text " + std::to_string(i));
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace crible::syntax::detail
