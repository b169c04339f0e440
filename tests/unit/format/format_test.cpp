// tests/unit/format/format_test.cpp: the canonical layout on small inputs, and its properties
// on every rule file in the tree and on scrambled copies of them: formatting keeps every
// token and comment, parses to the same AST, and a second run changes nothing.
#include "format/format.h"

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <cctype>
#include <sstream>
#include <string>
#include <vector>

#include "format/detail/tokens.h"
#include "syntax/syntax.h"
#include "unit/format/ast_dump.h"

namespace crible {
namespace {

namespace fs = std::filesystem;
using format::detail::TokenKind;

struct Parsed {
  SourceSet sources;
  std::optional<syntax::Ruleset> rules;
  std::string errors;
};

Parsed parse_text(const std::string& text) {
  Parsed p;
  const uint32_t file = p.sources.add("test.rules", text);
  auto staged = syntax::parse(p.sources, file);
  for (const auto& d : staged.diagnostics) p.errors += render_text(d, p.sources);
  p.rules = std::move(staged.value);
  return p;
}

// The formatted text; fails the test when the input does not parse or cannot be formatted.
std::string fmt_text(const std::string& text) {
  Parsed p = parse_text(text);
  BOOST_TEST_REQUIRE(p.rules.has_value(), "input does not parse:\n" << p.errors << text);
  auto out = format::format(*p.rules, text);
  BOOST_TEST_REQUIRE(out.ok(), "cannot format: " << (out.ok() ? "" : out.error().message));
  return out.value();
}

std::vector<std::string> tokens_of(const std::string& text, bool comments) {
  std::vector<std::string> out;
  for (const auto& t : format::detail::lex(text)) {
    if ((t.kind == TokenKind::Comment) != comments) continue;
    std::string s(t.text);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
    out.push_back(s);
  }
  return out;
}

// Everything formatting promises about `text`, which must parse.
void check_properties(const std::string& text, const std::string& what) {
  BOOST_TEST_CONTEXT(what) {
    Parsed before = parse_text(text);
    BOOST_TEST_REQUIRE(before.rules.has_value());
    const std::string once = fmt_text(text);
    Parsed after = parse_text(once);
    BOOST_TEST_REQUIRE(after.rules.has_value(), "formatted text does not parse:\n"
                                                    << after.errors << once);
    BOOST_TEST(testing::dump(*after.rules) == testing::dump(*before.rules));
    BOOST_TEST(tokens_of(once, false) == tokens_of(text, false), boost::test_tools::per_element());
    BOOST_TEST(tokens_of(once, true) == tokens_of(text, true), boost::test_tools::per_element());
    const std::string twice = fmt_text(once);
    BOOST_TEST(twice == once);
    // No tabs, no trailing spaces, one final newline.
    BOOST_TEST(once.find('\t') == std::string::npos);
    BOOST_TEST(once.find(" \n") == std::string::npos);
    if (!once.empty()) {
      BOOST_TEST(once.back() == '\n');
      BOOST_TEST(once.find("\n\n\n") == std::string::npos);
    }
  }
}

fs::path source_dir() {
  const char* d = std::getenv("CRIBLE_SOURCE_DIR");
  return d ? fs::path(d) : fs::path(".");
}

std::vector<fs::path> rule_files() {
  std::vector<fs::path> out;
  for (const char* dir : {"rules", "tests"}) {
    if (!fs::exists(source_dir() / dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(source_dir() / dir))
      if (e.is_regular_file() && e.path().extension() == ".rules") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

BOOST_AUTO_TEST_SUITE(format_layout)

BOOST_AUTO_TEST_CASE(spacing_indentation_and_alignment) {
  const std::string in =
      "ruleset   \"t\"\n"
      "cases\n"
      "case_id : text,key\n"
      "   age:integer\n"
      "end\n"
      "define f( d :date )=d-( weekday( d )-1 )days\n"
      "constant C={ \"a\" ,\"b\" }\n"
      "criterion E1 AGE \"adult\"\n"
      "pass when age>=18 and not(age is missing)\n"
      "fail when age<18\n"
      "end\n"
      "signal S1 X points -5\n"
      "let n=count cases where age=this . age\n"
      "fires when n>=-1\n"
      "end\n"
      "score risk=points of fired signals\n"
      "score p\n"
      "- 5 when age>60\n"
      "10 when age<10\n"
      "end\n"
      "disposition\n"
      "OK when risk>=5\n"
      "NO otherwise\n"
      "end\n";
  const std::string expected =
      "ruleset \"t\"\n"
      "\n"
      "cases\n"
      "  case_id: text, key\n"
      "  age:     integer\n"
      "end\n"
      "\n"
      "define f(d: date) = d - (weekday(d) - 1) days\n"  // grouped as written
      "constant C = {\"a\", \"b\"}\n"
      "\n"
      "criterion E1 AGE \"adult\"\n"
      "  pass when age >= 18 and not (age is missing)\n"
      "  fail when age < 18\n"
      "end\n"
      "\n"
      "signal S1 X points -5\n"
      "  let n = count cases where age = this.age\n"
      "  fires when n >= -1\n"
      "end\n"
      "\n"
      "score risk = points of fired signals\n"
      "\n"
      "score p\n"
      "  -5 when age > 60\n"
      "  10 when age < 10\n"
      "end\n"
      "\n"
      "disposition\n"
      "  OK when risk >= 5\n"
      "  NO otherwise\n"
      "end\n";
  BOOST_TEST(fmt_text(in) == expected);
  check_properties(in, "spacing input");
}

BOOST_AUTO_TEST_CASE(comments_stay_where_they_were) {
  const std::string in =
      "# header comment\n"
      "\n"
      "# about the ruleset\n"
      "ruleset \"t\"   # trailing on header\n"
      "cases # the cases\n"
      "  # the key\n"
      "    case_id: text, key  # trailing on column   \n"
      "\n"
      "\n"
      "  # a blank line above was two\n"
      "  age: integer\n"
      "  # before end\n"
      "end\n"
      "# before disposition\n"
      "disposition\n"
      "  OK when age > 1 and  # why\n"
      "      age < 5\n"
      "  NO otherwise\n"
      "end\n"
      "\n"
      "# the end\n";
  const std::string expected =
      "# header comment\n"
      "\n"
      "# about the ruleset\n"
      "ruleset \"t\"  # trailing on header\n"
      "\n"
      "cases  # the cases\n"
      "  # the key\n"
      "  case_id: text, key  # trailing on column\n"
      "\n"
      "  # a blank line above was two\n"
      "  age:     integer\n"
      "  # before end\n"
      "end\n"
      "\n"
      "# before disposition\n"
      "disposition\n"
      "  OK when age > 1 and  # why\n"
      "      age < 5\n"
      "  NO otherwise\n"
      "end\n"
      "\n"
      "# the end\n";
  BOOST_TEST(fmt_text(in) == expected);
  check_properties(in, "comments input");
}

BOOST_AUTO_TEST_CASE(continuation_lines_keep_their_alignment) {
  const std::string in =
      "define claims = count cases where entry_point = this.entry_point\n"
      "                              and week = this.week\n"
      "    criterion E1 X\n"
      "        pass when a or\n"
      "                  b\n"
      "    end\n"
      "constant C = {\"a\",\n"
      "  # more\n"
      "  \"b\"}\n";
  const std::string expected =
      "define claims = count cases where entry_point = this.entry_point\n"
      "                              and week = this.week\n"
      "\n"
      "criterion E1 X\n"
      "  pass when a or\n"
      "            b\n"  // still under `a`, which moved left with its line
      "end\n"
      "\n"
      "constant C = {\"a\",\n"
      "    # more\n"
      "    \"b\"}\n";  // was left of its line's indentation: four deeper than the line
  BOOST_TEST(fmt_text(in) == expected);
  check_properties(in, "continuation input");
}

BOOST_AUTO_TEST_CASE(declaration_heads_are_joined_unless_a_comment_breaks_them) {
  BOOST_TEST(fmt_text("criterion\n  E1 X\n  \"desc\"\n  pass when a\nend\n") ==
             "criterion E1 X \"desc\"\n  pass when a\nend\n");
  const std::string commented = "criterion E1 X  # c\n  \"desc\"\n  pass when a\nend\n";
  BOOST_TEST(fmt_text(commented) == "criterion E1 X  # c\n    \"desc\"\n  pass when a\nend\n");
  check_properties(commented, "comment in a head");
}

// One-line declarations keep the author's grouping (no blank line, or one); a block always
// stands apart, with its comments.
BOOST_AUTO_TEST_CASE(blank_lines_between_declarations) {
  const std::string in =
      "parameter a: integer = 1\n"
      "parameter b: integer = 2\n"
      "\n\n\n"
      "# c and d\n"
      "define c = a\n"
      "define d = b\n"
      "criterion E1 X\n"
      "  pass when c > d\n"
      "end\n"
      "# after a block\n"
      "define e = c\n"
      "define f = d\n";
  const std::string expected =
      "parameter a: integer = 1\n"
      "parameter b: integer = 2\n"
      "\n"
      "# c and d\n"
      "define c = a\n"
      "define d = b\n"
      "\n"
      "criterion E1 X\n"
      "  pass when c > d\n"
      "end\n"
      "\n"
      "# after a block\n"
      "define e = c\n"
      "define f = d\n";
  BOOST_TEST(fmt_text(in) == expected);
  check_properties(in, "grouping input");
}

BOOST_AUTO_TEST_CASE(one_line_blocks_are_opened_up) {
  BOOST_TEST(
      fmt_text(
          "disposition A when x > 1 B otherwise end criterion E1 X pass when a reason \"r\" end") ==
      "disposition\n  A when x > 1\n  B otherwise\nend\n\ncriterion E1 X\n  pass when a\n  reason "
      "\"r\"\nend\n");
}

BOOST_AUTO_TEST_CASE(tabs_and_crlf_become_spaces_and_newlines) {
  BOOST_TEST(fmt_text("cases\r\n\tcase_id:\ttext, key\r\nend\r\n") ==
             "cases\n  case_id: text, key\nend\n");
}

BOOST_AUTO_TEST_CASE(empty_and_comment_only_files) {
  BOOST_TEST(fmt_text("") == "");
  BOOST_TEST(fmt_text("\n\n  \n") == "");
  BOOST_TEST(fmt_text("  # only a comment   \n\n\n# and another") ==
             "# only a comment\n\n# and another\n");
}

BOOST_AUTO_TEST_CASE(texts_numbers_and_parentheses_are_kept_as_written) {
  const std::string in = "constant C = ((1.50)) + \"a \\\"b\\\" # not a comment\" + 2019-01-18\n";
  BOOST_TEST(fmt_text(in) == in);
}

BOOST_AUTO_TEST_CASE(an_ast_from_another_text_is_an_error_not_a_crash) {
  Parsed p = parse_text("cases\n  case_id: text, key\nend\n");
  BOOST_TEST_REQUIRE(p.rules.has_value());
  auto out = format::format(*p.rules, "criterion E1 X pass when a end");
  BOOST_TEST(!out.ok());
  auto shifted = format::format(*p.rules, "  cases\n  case_id: text, key\nend\n");
  BOOST_TEST(!shifted.ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(format_properties)

BOOST_AUTO_TEST_CASE(every_rule_file_in_the_tree) {
  size_t formatted = 0;
  for (const auto& path : rule_files()) {
    const std::string text = read(path);
    if (!parse_text(text).rules)
      continue;  // diagnostics inputs that do not parse: nothing to lay out
    check_properties(text, path.string());
    ++formatted;
  }
  // rules/mali-2019.rules, the diff variants and the fmt inputs at least.
  BOOST_TEST(formatted >= 6u);
}

// The formatter's lexer is a hand copy of the grammar's: every keyword and punctuation
// literal of grammar/Crible.g4 lexes as one token of the right kind, no word it treats as a
// keyword is missing from the grammar, and a file the parser accepts has no bad token.
BOOST_AUTO_TEST_CASE(the_lexer_agrees_with_the_grammar) {
  const std::string grammar = read(source_dir() / "grammar/Crible.g4");
  BOOST_TEST_REQUIRE(!grammar.empty());
  std::set<std::string> keywords, punctuation;
  std::istringstream lines(grammar);
  for (std::string line; std::getline(lines, line);) {
    // Keyword rules: `RULESET : 'ruleset' ;`.
    const size_t colon = line.find(" : '");
    if (colon != std::string::npos && !line.empty() && line[0] >= 'A' && line[0] <= 'Z') {
      const size_t end = line.find('\'', colon + 4);
      const std::string word = line.substr(colon + 4, end - colon - 4);
      if (!word.empty() && std::isalpha(static_cast<unsigned char>(word[0]))) {
        keywords.insert(word);
        continue;
      }
    }
    // Punctuation literals in parser rules: `'='`, `'!='`, `'('`, ...
    if (line.find(" : ") != std::string::npos && line[0] >= 'A' && line[0] <= 'Z') continue;
    for (size_t i = line.find('\''); i != std::string::npos; i = line.find('\'', i + 1)) {
      const size_t end = line.find('\'', i + 1);
      if (end == std::string::npos) break;
      const std::string literal = line.substr(i + 1, end - i - 1);
      if (!literal.empty() && !std::isalpha(static_cast<unsigned char>(literal[0])))
        punctuation.insert(literal);
      i = end;
    }
  }
  BOOST_TEST(keywords.size() >= 50u);
  BOOST_TEST(punctuation.count("!=") == 1u);
  for (const auto& k : keywords) {
    BOOST_TEST(format::detail::is_keyword(k), k);
    const auto t = format::detail::lex(k);
    BOOST_TEST((t.size() == 1 && t[0].kind == TokenKind::Keyword), k);
  }
  for (const auto& p : punctuation) {
    const auto t = format::detail::lex(p);
    BOOST_TEST((t.size() == 1 && t[0].kind == TokenKind::Punct), p);
  }
  size_t files = 0;
  for (const auto& path : rule_files()) {
    const std::string text = read(path);
    if (!parse_text(text).rules) continue;
    ++files;
    for (const auto& t : format::detail::lex(text)) {
      BOOST_TEST((t.kind != TokenKind::Bad), path.string() << ": " << t.text);
      if (t.kind == TokenKind::Keyword)
        BOOST_TEST(keywords.count(std::string(t.text)) == 1u, path.string() << ": " << t.text);
    }
  }
  BOOST_TEST(files >= 6u);
}

// Every file again with its whitespace scrambled: spaces, tabs and line breaks anywhere
// between tokens. Whatever the layout, the properties hold.
BOOST_AUTO_TEST_CASE(scrambled_layouts) {
  std::mt19937 rng(20190118);
  size_t tried = 0;
  for (const auto& path : rule_files()) {
    const std::string text = read(path);
    if (!parse_text(text).rules) continue;
    const auto items = format::detail::lex(text);
    for (int round = 0; round < 8; ++round) {
      std::string scrambled;
      for (size_t i = 0; i < items.size(); ++i) {
        const bool after_comment = i > 0 && items[i - 1].kind == TokenKind::Comment;
        const int choice = static_cast<int>(rng() % 6);
        if (i > 0 || choice == 0) {
          if (after_comment || choice >= 3)
            scrambled += "\n" + std::string(rng() % 12, ' ');
          else if (choice == 0)
            scrambled += "\t";
          else
            scrambled += std::string(1 + rng() % 3, ' ');
        }
        scrambled += items[i].text;
      }
      check_properties(scrambled, path.string() + " scrambled #" + std::to_string(round));
      ++tried;
    }
  }
  BOOST_TEST(tried >= 48u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace crible
