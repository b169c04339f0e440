// tests/unit/syntax/parse_test.cpp: rule text -> owned AST. The shape of every construct, the
// spans messages point at, text escapes, syntax errors, and each limit at and one past its value.
#include <boost/test/unit_test.hpp>

#include <string>

#include "syntax/syntax.h"

namespace crible::syntax {
namespace {

// A parsed file with its source kept alive, so that spans can be read back as text.
struct Parsed {
  SourceSet sources;
  Staged<Ruleset> result;

  const Ruleset& ast() const {
    BOOST_TEST_REQUIRE(result.ok(), "parse failed: " << first_message());
    return *result.value;
  }
  std::string text(Span s) const {
    const std::string& t = sources.file(s.file).text;
    BOOST_TEST_REQUIRE(s.begin <= s.end);
    BOOST_TEST_REQUIRE(s.end <= t.size());
    return t.substr(s.begin, s.end - s.begin);
  }
  std::string first_message() const {
    return result.diagnostics.empty() ? "" : result.diagnostics[0].message;
  }
  bool has(const std::string& code) const {
    for (const auto& d : result.diagnostics)
      if (d.code == code) return true;
    return false;
  }
};

std::unique_ptr<Parsed> parse_text(const std::string& text, const Limits& limits = {}) {
  auto p = std::make_unique<Parsed>();
  uint32_t file = p->sources.add("test.rules", text);
  p->result = parse(p->sources, file, limits);
  return p;
}

// The expression of `define x = EXPR`.
struct ParsedExpr {
  std::unique_ptr<Parsed> parsed;
  const Expr& e() const { return *parsed->ast().definitions.at(0).body; }
};
ParsedExpr parse_expr(const std::string& expr, const Limits& limits = {}) {
  return {parse_text("define x = " + expr + "\n", limits)};
}

// Renders an expression as a fully parenthesised string, to check shape and precedence.
std::string shape(const Expr& e) {
  auto arg = [&](size_t i) { return shape(*e.args.at(i)); };
  switch (e.kind) {
    case ExprKind::Bool: return e.bool_value ? "true" : "false";
    case ExprKind::Int: return std::to_string(e.int_value);
    case ExprKind::Decimal: return "dec";
    case ExprKind::Text: return "\"" + e.name + "\"";
    case ExprKind::Date: return "date:" + e.name;
    case ExprKind::Name: return e.name;
    case ExprKind::This: return "this." + e.name;
    case ExprKind::SetLiteral: {
      std::string s = "{";
      for (size_t i = 0; i < e.args.size(); ++i) s += (i ? "," : "") + arg(i);
      return s + "}";
    }
    case ExprKind::Call: {
      std::string s = e.name + "(";
      for (size_t i = 0; i < e.args.size(); ++i) s += (i ? "," : "") + arg(i);
      return s + ")";
    }
    case ExprKind::Negate: return "(-" + arg(0) + ")";
    case ExprKind::Not: return "(not " + arg(0) + ")";
    case ExprKind::Binary: {
      static const char* kOps[] = {"+", "-", "*", "/", "=", "!=", "<", "<=", ">", ">=", "and", "or"};
      return "(" + arg(0) + " " + kOps[static_cast<int>(e.op)] + " " + arg(1) + ")";
    }
    case ExprKind::In: return "(" + arg(0) + (e.negated ? " not in " : " in ") + arg(1) + ")";
    case ExprKind::Intersects: return "(" + arg(0) + " intersects " + arg(1) + ")";
    case ExprKind::Between:
      return "(" + arg(0) + (e.negated ? " not between " : " between ") + arg(1) + " and " + arg(2) + ")";
    case ExprKind::IsMissing: return "(" + arg(0) + " is missing)";
    case ExprKind::IsPresent: return "(" + arg(0) + " is present)";
    case ExprKind::Duration: return "(" + arg(0) + " " + e.name + ")";
    case ExprKind::Outcome: {
      static const char* kVerbs[] = {"passes", "fails", "is unknown", "fires"};
      const auto& t = *e.outcome;
      std::string who = t.quantifier == Quantifier::None ? t.id
                        : std::string(t.quantifier == Quantifier::All ? "all " : "any ") +
                              (t.about_signals ? "signals" : "criteria");
      return "[" + who + " " + kVerbs[static_cast<int>(t.verb)] + "]";
    }
    case ExprKind::Aggregate: {
      static const char* kFns[] = {"count", "count distinct", "sum", "min", "max", "collect"};
      const auto& a = *e.aggregate;
      std::string s = std::string("[") + kFns[static_cast<int>(a.fn)];
      if (a.value) s += " " + shape(*a.value);
      s += " in " + a.source;
      for (const auto& [name, span] : a.same) s += " same:" + name;
      if (a.where) s += " where " + shape(*a.where);
      return s + "]";
    }
  }
  return "?";
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}
std::string chain(const std::string& term, const std::string& op, int terms) {
  return term + repeat(" " + op + " " + term, terms - 1);
}

BOOST_AUTO_TEST_SUITE(parse_ast)

BOOST_AUTO_TEST_CASE(header_and_case_schema) {
  auto p = parse_text(R"(ruleset "Mali 2019"
cases
  case_id: text, key
  sex: one of {"F", "M", "X"}, required
  languages: set of text
  vulnerabilities: set of {"uasc", "vot"}, blank means none
  phone: text, personal, required
end
table flows
  week: date, required
end
)");
  const Ruleset& r = p->ast();
  BOOST_TEST_REQUIRE(r.title.has_value());
  BOOST_TEST(r.title->text == "Mali 2019");
  BOOST_TEST(p->text(r.title->span) == "\"Mali 2019\"");
  BOOST_TEST_REQUIRE(r.schemas.size() == 2u);
  const SchemaSyntax& cases = r.schemas[0];
  BOOST_TEST(cases.is_cases);
  BOOST_TEST(cases.name == "cases");
  BOOST_TEST(p->text(cases.span) == "cases");
  BOOST_TEST_REQUIRE(cases.columns.size() == 5u);
  BOOST_TEST(cases.columns[0].name == "case_id");
  BOOST_TEST(p->text(cases.columns[0].span) == "case_id");
  BOOST_TEST((cases.columns[0].type.form == TypeSyntax::Form::Named));
  BOOST_TEST(cases.columns[0].type.name == "text");
  BOOST_TEST_REQUIRE(cases.columns[0].options.size() == 1u);
  BOOST_TEST(cases.columns[0].options[0].text == "key");
  BOOST_TEST((cases.columns[1].type.form == TypeSyntax::Form::Enum));
  BOOST_TEST(cases.columns[1].type.values == (std::vector<std::string>{"F", "M", "X"}),
             boost::test_tools::per_element());
  BOOST_TEST(p->text(cases.columns[1].type.span) == R"(one of {"F", "M", "X"})");
  BOOST_TEST((cases.columns[2].type.form == TypeSyntax::Form::Set));
  BOOST_TEST(cases.columns[2].type.name == "text");
  BOOST_TEST((cases.columns[3].type.form == TypeSyntax::Form::SetEnum));
  BOOST_TEST(cases.columns[3].type.values.size() == 2u);
  BOOST_TEST(cases.columns[3].options[0].text == "blank means none");
  BOOST_TEST(p->text(cases.columns[3].options[0].span) == "blank means none");
  BOOST_TEST(cases.columns[4].options.size() == 2u);
  const SchemaSyntax& flows = r.schemas[1];
  BOOST_TEST(!flows.is_cases);
  BOOST_TEST(flows.name == "flows");
  BOOST_TEST(p->text(flows.span) == "flows");
  BOOST_TEST(flows.columns.size() == 1u);
}

BOOST_AUTO_TEST_CASE(parameters_constants_definitions) {
  auto p = parse_text(R"(
parameter as_of: date = 2019-01-18
parameter threshold: integer
constant ORIGINS = {"MLI", "GIN"}
define age = years_between(birth_date, as_of)
define week_start(d: date, n: integer) = d - n days
)");
  const Ruleset& r = p->ast();
  BOOST_TEST_REQUIRE(r.parameters.size() == 2u);
  BOOST_TEST(r.parameters[0].name == "as_of");
  BOOST_TEST(p->text(r.parameters[0].span) == "as_of");
  BOOST_TEST(r.parameters[0].type.name == "date");
  BOOST_TEST_REQUIRE(r.parameters[0].default_value != nullptr);
  BOOST_TEST(shape(*r.parameters[0].default_value) == "date:2019-01-18");
  BOOST_TEST(r.parameters[1].default_value == nullptr);
  BOOST_TEST_REQUIRE(r.constants.size() == 1u);
  BOOST_TEST(shape(*r.constants[0].value) == R"({"MLI","GIN"})");
  BOOST_TEST_REQUIRE(r.definitions.size() == 2u);
  BOOST_TEST(!r.definitions[0].is_function);
  BOOST_TEST(r.definitions[0].params.empty());
  BOOST_TEST(shape(*r.definitions[0].body) == "years_between(birth_date,as_of)");
  BOOST_TEST(r.definitions[1].is_function);
  BOOST_TEST_REQUIRE(r.definitions[1].params.size() == 2u);
  BOOST_TEST(r.definitions[1].params[1].name == "n");
  BOOST_TEST(r.definitions[1].params[1].type.name == "integer");
  BOOST_TEST(p->text(r.definitions[1].params[0].span) == "d");
  BOOST_TEST(shape(*r.definitions[1].body) == "(d - (n days))");
}

BOOST_AUTO_TEST_CASE(criteria_and_signals) {
  auto p = parse_text(R"(
criterion E4 TRAVEL_DOCUMENT "nationality confirmed"
  pass when consular_confirmed
  fail when travel_doc = "none"
  unknown when travel_doc is missing
  reason "no document"
end
signal S1 SHARED_PHONE "several households" points 25
  let households = count distinct household_id in cases where phone = this.phone
  fires when households >= 3
  reason "phone {phone} is shared"
end
signal S2 HALF points 2.5
  fires when true
end
)");
  const Ruleset& r = p->ast();
  BOOST_TEST_REQUIRE(r.criteria.size() == 1u);
  const CriterionSyntax& c = r.criteria[0];
  BOOST_TEST(c.id == "E4");
  BOOST_TEST(c.name == "TRAVEL_DOCUMENT");
  BOOST_TEST(p->text(c.span) == "E4 TRAVEL_DOCUMENT");
  BOOST_TEST_REQUIRE(c.description.has_value());
  BOOST_TEST(c.description->text == "nationality confirmed");
  BOOST_TEST_REQUIRE(c.clauses.size() == 3u);
  BOOST_TEST((c.clauses[0].kind == ClauseKind::Pass));
  BOOST_TEST((c.clauses[1].kind == ClauseKind::Fail));
  BOOST_TEST((c.clauses[2].kind == ClauseKind::Unknown));
  BOOST_TEST(p->text(c.clauses[0].span) == "pass when");
  BOOST_TEST(p->text(c.clauses[2].span) == "unknown when");
  BOOST_TEST(shape(*c.clauses[1].condition) == R"((travel_doc = "none"))");
  BOOST_TEST(shape(*c.clauses[2].condition) == "(travel_doc is missing)");
  BOOST_TEST_REQUIRE(c.reasons.size() == 1u);
  BOOST_TEST(c.reasons[0].text == "no document");

  BOOST_TEST_REQUIRE(r.signals.size() == 2u);
  const SignalSyntax& s = r.signals[0];
  BOOST_TEST(s.id == "S1");
  BOOST_TEST(s.points == 25.0);
  BOOST_TEST(p->text(s.points_span) == "25");
  BOOST_TEST_REQUIRE(s.lets.size() == 1u);
  BOOST_TEST(s.lets[0].name == "households");
  BOOST_TEST(shape(*s.lets[0].value) ==
             "[count distinct household_id in cases where (phone = this.phone)]");
  BOOST_TEST_REQUIRE(s.fires.size() == 1u);
  BOOST_TEST(p->text(s.fires_spans[0]) == "fires");
  BOOST_TEST(shape(*s.fires[0]) == "(households >= 3)");
  BOOST_TEST(s.reasons.at(0).text == "phone {phone} is shared");
  BOOST_TEST(p->text(s.reasons[0].span) == "\"phone {phone} is shared\"");
  BOOST_TEST(r.signals[1].points == 2.5);
}

BOOST_AUTO_TEST_CASE(scores_and_disposition) {
  auto p = parse_text(R"(
score risk = points of fired signals
score double = risk * 2
score priority
  30 when "uasc" in vulnerabilities
  -5 when age >= 60
end
disposition
  REFER_PROTECTION when any criterion fails and priority >= 30
  HOLD_REVIEW when S1 fires or all signals fire
  REQUEST_INFO when E3 is unknown
  APPROVE otherwise
end
)");
  const Ruleset& r = p->ast();
  BOOST_TEST_REQUIRE(r.scores.size() == 3u);
  BOOST_TEST((r.scores[0].form == ScoreSyntax::Form::SignalPoints));
  BOOST_TEST((r.scores[1].form == ScoreSyntax::Form::Expression));
  BOOST_TEST(shape(*r.scores[1].expr) == "(risk * 2)");
  BOOST_TEST((r.scores[2].form == ScoreSyntax::Form::Terms));
  BOOST_TEST_REQUIRE(r.scores[2].terms.size() == 2u);
  BOOST_TEST(r.scores[2].terms[0].weight == 30.0);
  BOOST_TEST(r.scores[2].terms[1].weight == -5.0);
  BOOST_TEST(p->text(r.scores[2].terms[1].span) == "-5");
  BOOST_TEST_REQUIRE(r.dispositions.size() == 1u);
  const auto& lines = r.dispositions[0].lines;
  BOOST_TEST_REQUIRE(lines.size() == 4u);
  BOOST_TEST(lines[0].outcome == "REFER_PROTECTION");
  BOOST_TEST(p->text(lines[0].span) == "REFER_PROTECTION");
  BOOST_TEST(shape(*lines[0].condition) == "([any criteria fails] and (priority >= 30))");
  BOOST_TEST(shape(*lines[1].condition) == "([S1 fires] or [all signals fires])");
  BOOST_TEST(shape(*lines[2].condition) == "[E3 is unknown]");
  BOOST_TEST(lines[3].condition == nullptr);
  BOOST_TEST(lines[3].outcome == "APPROVE");
}

BOOST_AUTO_TEST_CASE(precedence_and_associativity) {
  BOOST_TEST(shape(parse_expr("a or b and not c").e()) == "(a or (b and (not c)))");
  BOOST_TEST(shape(parse_expr("not a and b").e()) == "((not a) and b)");
  BOOST_TEST(shape(parse_expr("1 + 2 * 3 - 4").e()) == "((1 + (2 * 3)) - 4)");
  BOOST_TEST(shape(parse_expr("a - b - c").e()) == "((a - b) - c)");
  BOOST_TEST(shape(parse_expr("a / b * c").e()) == "((a / b) * c)");
  BOOST_TEST(shape(parse_expr("(a or b) and c").e()) == "((a or b) and c)");
  BOOST_TEST(shape(parse_expr("-a * b").e()) == "((-a) * b)");
  BOOST_TEST(shape(parse_expr("x + 1 >= y * 2").e()) == "((x + 1) >= (y * 2))");
  BOOST_TEST(shape(parse_expr("a = 1 or b != 2").e()) == "((a = 1) or (b != 2))");
}

BOOST_AUTO_TEST_CASE(comparisons_membership_and_time) {
  BOOST_TEST(shape(parse_expr(R"(x not in {"a", "b"})").e()) == R"((x not in {"a","b"}))");
  BOOST_TEST(shape(parse_expr("x in ORIGINS").e()) == "(x in ORIGINS)");
  BOOST_TEST(shape(parse_expr("langs intersects spoken").e()) == "(langs intersects spoken)");
  BOOST_TEST(shape(parse_expr("d between this.d - 6 days and this.d").e()) ==
             "(d between (this.d - (6 days)) and this.d)");
  BOOST_TEST(shape(parse_expr("d not between a and b").e()) == "(d not between a and b)");
  BOOST_TEST(shape(parse_expr("d is present").e()) == "(d is present)");
  BOOST_TEST(shape(parse_expr("2 weeks").e()) == "(2 weeks)");
  BOOST_TEST(shape(parse_expr("1 day").e()) == "(1 days)");
  BOOST_TEST(shape(parse_expr("2019-02-30").e()) == "date:2019-02-30");  // the checker judges it
  BOOST_TEST(shape(parse_expr("{}").e()) == "{}");
  BOOST_TEST(shape(parse_expr("f()").e()) == "f()");
  BOOST_TEST(shape(parse_expr("true").e()) == "true");
  BOOST_TEST(parse_expr("2.50").e().number_value == 2.5);
  BOOST_TEST(parse_expr("9223372036854775807").e().int_value == 9223372036854775807LL);
}

BOOST_AUTO_TEST_CASE(aggregates) {
  BOOST_TEST(shape(parse_expr("count cases").e()) == "[count in cases]");
  BOOST_TEST(shape(parse_expr("count cases with same a, b where c > 1").e()) ==
             "[count in cases same:a same:b where (c > 1)]");
  BOOST_TEST(shape(parse_expr("sum observed in flows where week = this.w").e()) ==
             "[sum observed in flows where (week = this.w)]");
  BOOST_TEST(shape(parse_expr("min d in cases").e()) == "[min d in cases]");
  BOOST_TEST(shape(parse_expr("max d + 1 days in cases").e()) == "[max (d + (1 days)) in cases]");
  BOOST_TEST(shape(parse_expr("collect language in languages").e()) == "[collect language in languages]");
  auto p = parse_expr("count cases with same phone");
  const auto& a = *p.e().aggregate;
  BOOST_TEST(p.parsed->text(a.source_span) == "cases");
  BOOST_TEST(p.parsed->text(a.same.at(0).second) == "phone");
}

BOOST_AUTO_TEST_CASE(spans_cover_what_messages_underline) {
  auto p = parse_text("define x = (a +  b) * years_between(c, d)\n");
  const Expr& e = *p->ast().definitions.at(0).body;
  BOOST_TEST(p->text(e.span) == "(a +  b) * years_between(c, d)");
  BOOST_TEST(p->text(e.name_span) == "*");
  BOOST_TEST(p->text(e.args[0]->span) == "(a +  b)");  // parentheses included
  BOOST_TEST(p->text(e.args[0]->name_span) == "+");
  BOOST_TEST(p->text(e.args[1]->span) == "years_between(c, d)");
  BOOST_TEST(p->text(e.args[1]->name_span) == "years_between");
  BOOST_TEST(p->text(e.args[1]->args[1]->span) == "d");
  auto q = parse_text("define y = this.phone = \"é\" or E1 fails\n");
  const Expr& o = *q->ast().definitions.at(0).body;
  BOOST_TEST(q->text(o.args[0]->args[0]->span) == "this.phone");
  BOOST_TEST(q->text(o.args[0]->args[0]->name_span) == "phone");
  BOOST_TEST(q->text(o.args[0]->args[1]->span) == "\"é\"");  // bytes, not code points
  BOOST_TEST(q->text(o.args[1]->span) == "E1 fails");
  BOOST_TEST(q->text(o.args[1]->name_span) == "E1");
}

BOOST_AUTO_TEST_CASE(text_escapes) {
  auto p = parse_expr(R"("q\"b\\n\nt\tbrace\{x\}")");
  BOOST_TEST(p.e().name == "q\"b\\n\nt\tbrace{x}");
  auto bad = parse_text("define x = \"a\\d\"\n");
  BOOST_TEST(!bad->result.ok());
  BOOST_TEST_REQUIRE(bad->result.diagnostics.size() == 1u);
  BOOST_TEST(bad->result.diagnostics[0].code == "P0003");
  BOOST_TEST(bad->text(bad->result.diagnostics[0].span) == "\\d");
  // A multi-byte character after the backslash is quoted whole.
  auto accent = parse_text("define x = \"a\\é\"\n");
  BOOST_TEST_REQUIRE(accent->result.diagnostics.size() == 1u);
  BOOST_TEST(accent->text(accent->result.diagnostics[0].span) == "\\é");
  BOOST_TEST(accent->result.diagnostics[0].message == "unknown escape '\\é' in text");
}

BOOST_AUTO_TEST_CASE(comments_and_free_layout) {
  auto p = parse_text("# a comment\ndefine   x =\n  1 # trailing\n    + 2\n");
  BOOST_TEST(shape(*p->ast().definitions.at(0).body) == "(1 + 2)");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(parse_errors)

BOOST_AUTO_TEST_CASE(an_error_means_no_ast_and_a_located_diagnostic) {
  auto p = parse_text("criterion E1 CONSENT\n  pass consent\nend\n");
  BOOST_TEST(!p->result.ok());
  BOOST_TEST_REQUIRE(p->result.diagnostics.size() == 1u);
  const Diagnostic& d = p->result.diagnostics[0];
  BOOST_TEST((d.severity == Severity::Error));
  BOOST_TEST(d.code == "P0001");
  BOOST_TEST(d.message == "missing `when` before 'consent'");
  BOOST_TEST(p->text(d.span) == "consent");
}

BOOST_AUTO_TEST_CASE(missing_end_names_the_block_and_points_after_its_last_word) {
  auto p = parse_text("signal S1 X points 1\n  fires when a\n\ndefine y = 1\n");
  BOOST_TEST_REQUIRE(p->result.diagnostics.size() == 1u);
  const Diagnostic& d = p->result.diagnostics[0];
  BOOST_TEST(d.message == "missing `end` to close signal S1");
  BOOST_TEST(d.span.begin == d.span.end);
  BOOST_TEST(d.span.begin == std::string("signal S1 X points 1\n  fires when a").size());
  BOOST_TEST_REQUIRE(d.notes.size() == 1u);
  BOOST_TEST(p->text(d.notes[0].span) == "signal");
}

BOOST_AUTO_TEST_CASE(brackets_that_do_not_pair) {
  auto stray = parse_text("define x = a)\n");
  BOOST_TEST_REQUIRE(stray->result.diagnostics.size() == 1u);
  BOOST_TEST(stray->result.diagnostics[0].message == "this ')' has no matching '('");
  auto open = parse_text("define x = (a or b\ndefine y = 1\n");
  BOOST_TEST_REQUIRE(open->result.diagnostics.size() == 1u);
  BOOST_TEST(open->result.diagnostics[0].message == "missing ')'");
  BOOST_TEST(open->text(open->result.diagnostics[0].notes.at(0).span) == "(");
}

BOOST_AUTO_TEST_CASE(one_error_per_confused_declaration_but_all_declarations_reported) {
  // Two mistakes in the first definition (one reported), one in each of two more.
  auto p = parse_text("define a = = 1 = =\ndefine b 2\ndefine c = (\n");
  BOOST_TEST(p->result.diagnostics.size() == 3u);
  for (size_t i = 1; i < p->result.diagnostics.size(); ++i)  // sorted by position
    BOOST_TEST(p->result.diagnostics[i - 1].span.begin <= p->result.diagnostics[i].span.begin);
}

BOOST_AUTO_TEST_CASE(bad_characters_and_open_texts_are_reported_by_the_scan) {
  auto p = parse_text("define x = a & b\ndefine y = \"open\ndefine z = 'q'\n");
  BOOST_TEST_REQUIRE(p->result.diagnostics.size() == 3u);
  BOOST_TEST(p->result.diagnostics[0].code == "P0002");
  BOOST_TEST(p->text(p->result.diagnostics[0].span) == "&");
  BOOST_TEST(p->result.diagnostics[1].code == "P0006");
  BOOST_TEST(p->text(p->result.diagnostics[1].span) == "\"open");
  BOOST_TEST(p->result.diagnostics[2].message == "texts go in double quotes, not single quotes");
  BOOST_TEST(p->text(p->result.diagnostics[2].span) == "'q'");
}

BOOST_AUTO_TEST_CASE(not_utf8_reports_the_byte_offset) {
  auto p = parse_text(std::string("define x = \"caf\xE9\"\n"));
  BOOST_TEST_REQUIRE(p->result.diagnostics.size() == 1u);
  BOOST_TEST(p->result.diagnostics[0].code == "P0008");
  BOOST_TEST(p->result.diagnostics[0].span.begin == 15u);
  BOOST_TEST(p->result.diagnostics[0].message == "the file is not UTF-8 text (byte 0xE9 at offset 15)");
  auto nul = parse_text(std::string("define x = 1\0", 13));
  BOOST_TEST(nul->result.diagnostics.at(0).message == "the file holds a NUL byte at offset 12");
  // Overlong encodings and surrogates are not UTF-8 either.
  BOOST_TEST(parse_text("# \xC0\xAF\n")->has("P0008"));
  BOOST_TEST(parse_text("# \xED\xA0\x80\n")->has("P0008"));
  BOOST_TEST(parse_text("# \xF4\x90\x80\x80\n")->has("P0008"));
  BOOST_TEST(parse_text("# \xF0\x9F\x98\x80 ok\n")->result.ok());
}

BOOST_AUTO_TEST_CASE(empty_file_parses_to_an_empty_ruleset) {
  auto p = parse_text("");
  BOOST_TEST(p->result.ok());
  BOOST_TEST(p->ast().definitions.empty());
  BOOST_TEST(!p->ast().title.has_value());
}

BOOST_AUTO_TEST_CASE(whole_number_too_large) {
  auto p = parse_expr("9223372036854775808");
  BOOST_TEST(p.parsed->has("P0004"));
  BOOST_TEST(!p.parsed->result.ok());
}

BOOST_AUTO_TEST_SUITE_END()

// Each limit at its value (accepted) and one past it (a clear error, never a crash).
BOOST_AUTO_TEST_SUITE(parse_limits)

BOOST_AUTO_TEST_CASE(max_file_bytes) {
  Limits limits;
  limits.max_file_bytes = 64;
  const std::string at = "define x = 1" + std::string(64 - 13, ' ') + "\n";
  BOOST_TEST_REQUIRE(at.size() == 64u);
  BOOST_TEST(parse_text(at, limits)->result.ok());
  auto past = parse_text(at + " ", limits);
  BOOST_TEST(!past->result.ok());
  BOOST_TEST_REQUIRE(past->result.diagnostics.size() == 1u);
  BOOST_TEST(past->result.diagnostics[0].code == "P0007");
  BOOST_TEST(past->result.diagnostics[0].message == "the file is 65 bytes; a rule file may hold at most 64 bytes");
  // The whole file is at fault: the empty span at its start says so.
  BOOST_TEST(past->result.diagnostics[0].span.begin == 0u);
  BOOST_TEST(past->result.diagnostics[0].span.end == 0u);
  BOOST_TEST(Limits{}.max_file_bytes == 8u << 20);
}

BOOST_AUTO_TEST_CASE(max_nesting_of_parentheses) {
  const Limits limits;  // the defaults: the ones users meet
  BOOST_TEST(limits.max_nesting == 256);
  auto at = parse_expr(repeat("(", 256) + "a" + repeat(")", 256), limits);
  BOOST_TEST(at.parsed->result.ok());
  BOOST_TEST(shape(at.e()) == "a");  // parentheses leave no trace in the AST
  auto past = parse_expr(repeat("(", 257) + "a" + repeat(")", 257), limits);
  BOOST_TEST_REQUIRE(past.parsed->result.diagnostics.size() == 1u);
  BOOST_TEST(past.parsed->result.diagnostics[0].code == "P0005");
  BOOST_TEST(past.parsed->text(past.parsed->result.diagnostics[0].span) == "(");
}

BOOST_AUTO_TEST_CASE(max_nesting_of_not_and_braces) {
  Limits limits;
  limits.max_nesting = 5;
  BOOST_TEST(parse_expr(repeat("not ", 5) + "a", limits).parsed->result.ok());
  BOOST_TEST(parse_expr(repeat("not ", 6) + "a", limits).parsed->has("P0005"));
  BOOST_TEST(parse_expr(repeat("-", 5) + "1", limits).parsed->result.ok());
  BOOST_TEST(parse_expr(repeat("-", 6) + "1", limits).parsed->has("P0005"));
  BOOST_TEST(parse_expr(repeat("{", 5) + repeat("}", 5), limits).parsed->result.ok());
  BOOST_TEST(parse_expr(repeat("{", 6) + repeat("}", 6), limits).parsed->has("P0005"));
  // Parentheses and `not`s add up.
  BOOST_TEST(parse_expr("((not not not a))", limits).parsed->result.ok());
  BOOST_TEST(parse_expr("((not not not not a))", limits).parsed->has("P0005"));
}

BOOST_AUTO_TEST_CASE(max_expression_depth_of_chains) {
  const Limits limits;
  BOOST_TEST(limits.max_expression_depth == 1000);
  auto at = parse_expr(chain("a", "or", 1000), limits);
  BOOST_TEST(at.parsed->result.ok());
  auto past = parse_expr(chain("a", "or", 1001), limits);
  BOOST_TEST_REQUIRE(past.parsed->result.diagnostics.size() == 1u);
  BOOST_TEST(past.parsed->result.diagnostics[0].code == "P0005");
  BOOST_TEST(past.parsed->result.diagnostics[0].message ==
             "this expression is too long: more than 1000 terms joined by `or`");
  for (const char* op : {"and", "+", "*"}) {
    BOOST_TEST_CONTEXT(op) {
      BOOST_TEST(parse_expr(chain("a", op, 1000), limits).parsed->result.ok());
      BOOST_TEST(parse_expr(chain("a", op, 1001), limits).parsed->has("P0005"));
    }
  }
  // The `and` of `between ... and ...` does not count as a link of the chain.
  BOOST_TEST(parse_expr(chain("a between 1 and 2", "and", 999), limits).parsed->result.ok());
}

BOOST_AUTO_TEST_CASE(max_expression_depth_of_nesting) {
  // Depth is the AST's: a name is 1 level, each operator above it one more.
  Limits limits;
  limits.max_expression_depth = 10;
  BOOST_TEST(parse_expr(repeat("not ", 9) + "a", limits).parsed->result.ok());
  auto past = parse_expr(repeat("not ", 10) + "a", limits);
  BOOST_TEST_REQUIRE(past.parsed->result.diagnostics.size() == 1u);
  BOOST_TEST(past.parsed->result.diagnostics[0].message == "this expression nests more than 10 levels deep");
  // A chain of 10 terms is 10 levels; inside `not` it is 11.
  BOOST_TEST(parse_expr(chain("a", "and", 10), limits).parsed->result.ok());
  BOOST_TEST(parse_expr("not (" + chain("a", "and", 10) + ")", limits).parsed->has("P0005"));
  BOOST_TEST(parse_expr("not (" + chain("a", "and", 9) + ")", limits).parsed->result.ok());
  // Operands of comparisons, calls and aggregates count too.
  BOOST_TEST(parse_expr("f(" + repeat("not ", 8) + "a)", limits).parsed->result.ok());
  BOOST_TEST(parse_expr("f(" + repeat("not ", 9) + "a)", limits).parsed->has("P0005"));
}

BOOST_AUTO_TEST_CASE(max_syntax_errors) {
  Limits limits;
  limits.max_syntax_errors = 3;
  std::string text;
  for (int i = 0; i < 3; ++i) text += "define x" + std::to_string(i) + " 1\n";
  auto at = parse_text(text, limits);
  BOOST_TEST(at.get()->result.diagnostics.size() == 3u);
  BOOST_TEST(!at->has("P0009"));
  auto past = parse_text(text + "define y 1\ndefine z 1\n", limits);
  BOOST_TEST_REQUIRE(past->result.diagnostics.size() == 4u);
  BOOST_TEST(past->result.diagnostics[3].code == "P0009");
  BOOST_TEST(past->text(past->result.diagnostics[3].span) == "1");  // where it stopped: line 4
  // Bad characters count towards the same limit.
  auto chars = parse_text("define x = @ @ @ @ @\n", limits);
  BOOST_TEST(chars->result.diagnostics.size() == 4u);
  BOOST_TEST(chars->has("P0009"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace crible::syntax
