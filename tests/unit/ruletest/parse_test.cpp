// ruletest::parse: test files to tests, without a ruleset. Good input is checked field by
// field; each malformed input must give its error at the right line and column, and no value.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ruletest/ruletest.h"

namespace rt = crible::ruletest;

namespace {

struct Parsed {
  crible::SourceSet sources;
  crible::Staged<rt::TestFile> result;
};

Parsed parse(const std::string& text, const rt::Limits& limits = {}) {
  Parsed p;
  uint32_t f = p.sources.add("t.tests", text);
  p.result = rt::parse(p.sources, f, limits);
  return p;
}

// "LINE:COL: message" of every diagnostic, for compact assertions.
std::vector<std::string> where(const Parsed& p) {
  std::vector<std::string> out;
  for (const auto& d : p.result.diagnostics) {
    crible::LineCol lc = crible::locate(p.sources.file(0).text, d.span.begin);
    out.push_back(std::to_string(lc.line) + ":" + std::to_string(lc.col) + ": " + d.message);
  }
  return out;
}

std::string text_of(const Parsed& p, crible::Span s) {
  return p.sources.file(0).text.substr(s.begin, s.end - s.begin);
}

const std::string kGood = R"(# a comment
param as_of=2019-01-18
defaults registered_on=2018-11-05 centre=BKO-SOKONIKO   # trailing comment
         household_id=HH-{case} sex=M
table flows
  entry_point=INKHALID week=2018-10-29 observed=7
end
table languages from "langs.csv"

test "shared phone"
  param as_of=2019-02-01
  defaults sex=F
  case A B phone=+22370000001 intermediary="Sangare, Youssouf" note="say ""hi"""
  case R08..R11 fit_to_travel=
           languages=bam;fra
  expect A B disposition VERIFY, S1 fires, risk = 25, priority >= 10
  expect R08..R11 E4 is unknown, S2 does not fire, CONSENT passes, E1 fails, risk=0
  expect all rejected
end

test single_word_name
  table flows
  end
  case X
  expect X disposition APPROVE
end
)";

}  // namespace

BOOST_AUTO_TEST_SUITE(ruletest_parse)

BOOST_AUTO_TEST_CASE(good_file_gives_tests_with_merged_context) {
  Parsed p = parse(kGood);
  BOOST_TEST_REQUIRE(p.result.ok(), "diagnostics: " << p.result.diagnostics.size());
  const auto& tests = p.result.value->tests;
  BOOST_TEST_REQUIRE(tests.size() == 2u);

  const rt::Test& t = tests[0];
  BOOST_TEST(t.name == "shared phone");
  BOOST_TEST(text_of(p, t.span) == "\"shared phone\"");
  // The test's param and defaults override the file's; the rest are kept.
  BOOST_TEST_REQUIRE(t.params.size() == 1u);
  BOOST_TEST(t.params[0].value == "2019-02-01");
  std::vector<std::string> defaults;
  for (const auto& a : t.defaults) defaults.push_back(a.field + "=" + a.value);
  BOOST_TEST(
      defaults == (std::vector<std::string>{"registered_on=2018-11-05", "centre=BKO-SOKONIKO",
                                            "household_id=HH-{case}", "sex=F"}),
      boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(t.tables.size() == 2u);
  BOOST_TEST(t.tables[0].name == "flows");
  BOOST_TEST_REQUIRE(t.tables[0].rows.size() == 1u);
  BOOST_TEST(t.tables[0].rows[0].size() == 3u);
  BOOST_TEST(t.tables[0].rows[0][2].value == "7");
  BOOST_TEST(t.tables[1].name == "languages");
  BOOST_TEST(t.tables[1].path == "langs.csv");

  // Cases: two names on one line, a range keeping the width, a continuation line.
  std::vector<std::string> names;
  for (const auto& c : t.cases) names.push_back(c.name);
  BOOST_TEST(names == (std::vector<std::string>{"A", "B", "R08", "R09", "R10", "R11"}),
             boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(t.cases[0].fields.size() == 3u);
  BOOST_TEST(t.cases[0].fields[1].value == "Sangare, Youssouf");
  BOOST_TEST(t.cases[0].fields[2].value == "say \"hi\"");
  BOOST_TEST(text_of(p, t.cases[0].fields[1].value_span) == "\"Sangare, Youssouf\"");
  BOOST_TEST_REQUIRE(t.cases[3].fields.size() == 2u);
  BOOST_TEST(t.cases[3].fields[0].field == "fit_to_travel");
  BOOST_TEST(t.cases[3].fields[0].value.empty());
  BOOST_TEST(t.cases[3].fields[1].value == "bam;fra");
  BOOST_TEST(text_of(p, t.cases[3].span) == "R08..R11");

  // Expectations.
  BOOST_TEST_REQUIRE(t.expects.size() == 3u);
  BOOST_TEST(t.expects[0].cases == (std::vector<size_t>{0, 1}), boost::test_tools::per_element());
  std::vector<std::string> texts;
  for (const auto& line : t.expects)
    for (const auto& x : line.expectations) texts.push_back(rt::expectation_text(x));
  BOOST_TEST(
      texts == (std::vector<std::string>{"disposition VERIFY", "S1 fires", "risk = 25",
                                         "priority >= 10", "E4 is unknown", "S2 does not fire",
                                         "CONSENT passes", "E1 fails", "risk = 0", "rejected"}),
      boost::test_tools::per_element());
  BOOST_TEST(t.expects[1].cases == (std::vector<size_t>{2, 3, 4, 5}),
             boost::test_tools::per_element());
  BOOST_TEST(t.expects[2].cases.size() == 6u);  // all
  const rt::Expectation& score = t.expects[0].expectations[3];
  BOOST_TEST((score.compare == rt::Compare::Ge));
  BOOST_TEST(score.number == 10.0);
  BOOST_TEST(text_of(p, score.span) == "priority >= 10");
  BOOST_TEST(text_of(p, t.expects[0].expectations[0].target_span) == "VERIFY");

  // The second test keeps the file's param and languages, and replaces flows by an empty table.
  const rt::Test& u = tests[1];
  BOOST_TEST(u.name == "single_word_name");
  BOOST_TEST(u.params[0].value == "2019-01-18");
  BOOST_TEST_REQUIRE(u.tables.size() == 2u);
  BOOST_TEST(u.tables[0].rows.empty());
  BOOST_TEST(u.tables[0].path.empty());
  BOOST_TEST(u.defaults.back().value == "M");
}

BOOST_AUTO_TEST_CASE(file_statements_apply_to_the_tests_after_them) {
  Parsed p = parse(
      "defaults sex=M\n"
      "test \"one\"\n case A\n expect A disposition X\nend\n"
      "defaults sex=F\n"
      "test \"two\"\n case A\n expect A disposition X\nend\n");
  BOOST_TEST_REQUIRE(p.result.ok());
  BOOST_TEST(p.result.value->tests[0].defaults[0].value == "M");
  BOOST_TEST(p.result.value->tests[1].defaults[0].value == "F");
}

BOOST_AUTO_TEST_CASE(crlf_and_byte_order_mark_are_accepted) {
  Parsed p =
      parse("\xEF\xBB\xBFtest \"t\"\r\n  case A x=\"1\"\r\n  expect A disposition X\r\nend\r\n");
  BOOST_TEST_REQUIRE(p.result.ok());
  BOOST_TEST(p.result.value->tests[0].cases[0].fields[0].value == "1");
}

BOOST_AUTO_TEST_CASE(an_expectation_needs_a_subject_and_every_form_parses_alone) {
  for (const std::string x : {"disposition APPROVE", "E1 passes", "E1 fails", "E1 is unknown",
                              "S1 fires", "S1 does not fire", "risk = 1", "risk != 1", "risk < 1",
                              "risk <= 1", "risk > 1", "risk >= -1.5", "rejected"}) {
    BOOST_TEST_CONTEXT(x) {
      Parsed good = parse("test t\n case A\n expect A " + x + "\nend\n");
      BOOST_TEST(good.result.ok());
      Parsed bad = parse("test t\n case A\n expect " + x + "\nend\n");
      BOOST_TEST(!bad.result.ok());
    }
  }
}

struct BadCase {
  std::string text;
  std::string first_error;  // "LINE:COL: message"
};

BOOST_AUTO_TEST_CASE(malformed_input_reports_line_and_column) {
  const std::vector<BadCase> cases = {
      {"defaults centre=\"BKO\n", "1:17: unterminated quoted value"},
      {"defaults centre=\"BKO\"x\n", "1:22: unexpected text after a closing quote"},
      {"defaults centre=B\"KO\"\n", "1:18: stray '\"' inside a value"},
      {"defaults =x\n", "1:10: expected a name before '='"},
      {"defaults 1x=2\n", "1:10: '1x' is not a field name"},
      {"defaults a=1, b=2\n", "1:13: unexpected ',' between values"},
      {"defaults a = 1\n", "1:10: expected name=value, found 'a'"},
      {"defaults\n", "1:1: expected name=value after 'defaults'"},
      {"param\n", "1:1: expected name=value after 'param'"},
      {"tset \"x\"\n", "1:1: unknown statement 'tset'"},
      {"\"x\"\n", "1:1: expected a statement: test, case, expect, defaults, param, table or end"},
      {"a=1\n", "1:1: a line of values must follow a case, defaults or param line"},
      {"case A\n", "1:1: 'case' outside a test"},
      {"expect A rejected\n", "1:1: 'expect' outside a test"},
      {"end\n", "1:1: 'end' without a test or table to close"},
      {"test\n", "1:1: expected the test's name after 'test'"},
      {"test \"\"\n case A\n expect A rejected\nend\n", "1:6: the test's name is empty"},
      {"test a b\n", "1:8: unexpected text after the test's name"},
      {"test t\n case A\n expect A rejected\nend x\n", "4:5: unexpected text after 'end'"},
      {"test t\n case A\n expect A rejected\n", "3:19: 'end' expected (to close 'test' at line 1)"},
      {"test t\n case A\n expect A rejected\ntest u\n",
       "4:1: 'end' expected (to close 'test' at line 1)"},
      {"table flows\n a=1\n", "2:5: 'end' expected (to close 'table' at line 1)"},
      {"table flows\n a=1\ntest t\n", "3:1: 'end' expected (to close 'table' at line 1)"},
      {"table\n", "1:1: expected the table's name after 'table'"},
      {"table flows to x.csv\n",
       "1:13: expected `from PATH` or the end of the line after the table's name"},
      {"table flows\n a=1 b\nend\n", "2:6: expected name=value, found 'b'"},
      {"test t\n case\nend\n", "2:2: expected the case's name after 'case'"},
      {"test t\n case A!\nend\n", "2:7: 'A!' is not a case name"},
      {"test t\n case R5..R1\nend\n", "2:7: the range 'R5..R1' is empty: 1 is less than 5"},
      {"test t\n case R1..S5\nend\n", "2:7: 'R1..S5' is not a range of case names"},
      {"test t\n case R..S\nend\n", "2:7: 'R..S' is not a range of case names"},
      {"test t\n case all\nend\n",
       "2:7: 'all' cannot name a case: in an expect line it means every case of the test"},
      {"test t\n case A\n case A\n expect A rejected\nend\n",
       "3:7: case 'A' is already given in this test"},
      {"test t\n case A y=1 x\nend\n", "2:13: expected name=value, found 'x'"},
      {"test t\n table flows\n end\n table flows\n end\nend\n",
       "4:8: table 'flows' is already given in this test"},
      {"test t\n case A\nend\n", "1:6: the test has no expectations: it could never fail"},
      {"test t\n expect A rejected\nend\n", "1:6: the test has no cases"},
      {"test t\n case A\n expect B rejected\nend\n", "3:9: no case 'B' in this test"},
      {"test t\n case A\n expect\nend\n",
       "3:2: expected the case and what is expected of it after 'expect'"},
      {"test t\n case A\n expect A rejected,\nend\n", "3:19: expected an expectation after ','"},
      {"test t\n case A\n expect A E1 fail\nend\n", "3:9: expected an expectation"},
      {"test t\n case A\n expect A E1 passes S1 fires\nend\n",
       "3:11: unexpected text before the expectation"},
      {"test t\n case A\n expect A rejected, B E1 passes\nend\n",
       "3:21: unexpected text before the expectation"},
      {"test t\n case A\n expect A risk = x\nend\n",
       "3:18: expected a number after '=', found 'x'"},
      {"test t\n case A\n expect A risk=1e3\nend\n", "3:16: expected a number, found '1e3'"},
      {"test t\n case A\n expect A 1x passes\nend\n",
       "3:11: '1x' is not the name of a criterion, signal or score"},
      {"test t\n case A\n expect A disposition \"X\"\nend\n",
       "3:23: expected an outcome after 'disposition'"},
      {"test t\n case A\n expect \"A\" rejected\nend\n", "3:9: expected a case name"},
      {"defaults x=\"a\tb\"\n", "1:12: control character in a value"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      Parsed p = parse(c.text);
      BOOST_TEST(!p.result.ok());
      auto w = where(p);
      BOOST_TEST_REQUIRE(!w.empty());
      BOOST_TEST(w[0] == c.first_error);
    }
  }
}

BOOST_AUTO_TEST_CASE(hints_name_the_right_spelling) {
  Parsed p = parse(
      "test t\n case A\n expect A E1 fail\n expect A S1 fired\n expect A E4 unknown\n csae "
      "B\nend\n");
  BOOST_TEST_REQUIRE(p.result.diagnostics.size() == 4u);
  BOOST_TEST(p.result.diagnostics[0].hint == "write `fails`: E1 fails");
  BOOST_TEST(p.result.diagnostics[1].hint == "write `fires`: S1 fires");
  BOOST_TEST(p.result.diagnostics[2].hint == "write `is unknown`: E4 is unknown");
  BOOST_TEST(p.result.diagnostics[3].hint == "did you mean 'case'?");
}

BOOST_AUTO_TEST_CASE(every_error_is_reported_not_only_the_first) {
  Parsed p = parse("case A\nexpect A rejected\nend\nbogus\n");
  BOOST_TEST(where(p) == (std::vector<std::string>{"1:1: 'case' outside a test",
                                                   "2:1: 'expect' outside a test",
                                                   "3:1: 'end' without a test or table to close",
                                                   "4:1: unknown statement 'bogus'"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(limits_hold_at_their_value_and_fail_one_past) {
  rt::Limits limits;
  limits.max_range = 5;
  limits.max_cases_per_test = 6;
  BOOST_TEST(parse("test t\n case R1..R5 A\n expect all rejected\nend\n", limits).result.ok());
  Parsed range = parse("test t\n case R1..R6\n expect R1 rejected\nend\n", limits);
  BOOST_TEST_REQUIRE(!range.result.ok());
  BOOST_TEST(where(range)[0] ==
             "2:7: the range 'R1..R6' names 6 cases; a range may name at most 5");
  Parsed many = parse("test t\n case R1..R5 A B\n expect A rejected\nend\n", limits);
  BOOST_TEST_REQUIRE(!many.result.ok());
  BOOST_TEST(where(many)[0] == "2:16: a test may have at most 6 cases");

  const std::string small = "test t\n case A\n expect A rejected\nend\n";
  limits.max_file_bytes = small.size();
  BOOST_TEST(parse(small, limits).result.ok());
  limits.max_file_bytes = small.size() - 1;
  Parsed big = parse(small, limits);
  BOOST_TEST_REQUIRE(!big.result.ok());
  BOOST_TEST(big.result.diagnostics[0].message.find("larger than") != std::string::npos);

  rt::Limits errors;
  errors.max_errors = 3;
  BOOST_TEST(parse("end\nend\nend\n", errors).result.diagnostics.size() == 3u);
  BOOST_TEST(parse("end\nend\nend\nend\nend\n", errors).result.diagnostics.size() == 3u);
}

// Property: whatever the bytes, parse gives tests or at least one error, never a crash (run
// under ASan in CI). Inputs: the shipped test file with bytes changed, cut and repeated.
BOOST_AUTO_TEST_CASE(every_mutated_input_gives_tests_or_errors) {
  const char* dir = std::getenv("CRIBLE_SOURCE_DIR");
  std::ifstream in(std::filesystem::path(dir ? dir : ".") / "rules/mali-2019.tests",
                   std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string original = buf.str();
  BOOST_TEST_REQUIRE(original.size() > 1000u);
  BOOST_TEST(parse(original).result.ok());
  std::mt19937 rng(20190118);  // fixed seed: the same inputs on every run
  const std::string alphabet = std::string("\"#=,. \t\r\n.\x01\xff\xc3\xa9") + "aZ0-_{}";
  size_t failed = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string text = original;
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < edits; ++k) {
      size_t at = rng() % text.size();
      switch (rng() % 4) {
        case 0:
          text[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          text.erase(at, 1 + rng() % 40);
          break;
        case 2:
          text.insert(at, text.substr(rng() % text.size(), rng() % 80));
          break;
        case 3:
          text.resize(at + 1);
          break;
      }
      if (text.empty()) text = "x";
    }
    Parsed p = parse(text);
    const bool has_error = std::any_of(
        p.result.diagnostics.begin(), p.result.diagnostics.end(),
        [](const crible::Diagnostic& d) { return d.severity == crible::Severity::Error; });
    BOOST_TEST((p.result.ok() != has_error));
    failed += has_error;
  }
  BOOST_TEST(failed > 1000u);  // most mutations break something
}

BOOST_AUTO_TEST_SUITE_END()
