// tests/unit/check/check_test.cpp: the checker on small rulesets: the type of each kind of
// expression, which expressions may be unknown, how aggregate filters split for indexing
// (the reference workload's S1, S3, S4, S8), user functions inlined, and the fields read.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>

#include "check/check.h"
#include "syntax/syntax.h"

namespace crible::check {
namespace {

// The case schema of the reference workload, trimmed, with a table like its flows.
const std::string kSchema = R"R(
cases
  case_id:         text, key
  registered_on:   date, required
  nationality:     text, required
  birth_date:      date
  sex:             one of {"F", "M", "X"}, required
  entry_point:     text
  arrival_date:    date
  consent_signed:  bool, required
  languages:       set of text
  phone:           text, personal
  intermediary:    text
  registered_by:   text, required
  household_id:    text, required
  household_size:  integer, required
  vulnerabilities: set of {"uasc", "vot"}, blank means none
  centre:          text
end

table flows
  entry_point: text, required
  week:        date, required
  observed:    integer
end

parameter as_of: date = 2019-01-18
parameter threshold: integer
constant ORIGINS = {"MLI", "GIN"}

define week_start(d: date) = d - (weekday(d) - 1) days
)R";
const std::string kDisposition = "\ndisposition\n  APPROVE otherwise\nend\n";

struct Checked {
  SourceSet sources;
  std::vector<Diagnostic> diagnostics;
  std::optional<TypedRuleset> rules;

  const TypedRuleset& r() const {
    BOOST_TEST_REQUIRE(rules.has_value(), "check failed: " << messages());
    return *rules;
  }
  std::string messages() const {
    std::string out;
    for (const auto& d : diagnostics) out += d.code + " " + d.message + "\n";
    return out;
  }
  bool has(const std::string& code) const {
    return std::any_of(diagnostics.begin(), diagnostics.end(),
                       [&](const Diagnostic& d) { return d.code == code; });
  }
  const Node& node(int32_t i) const { return r().nodes.at(i); }
  const Node& def(const std::string& name) const {
    for (const auto& d : r().definitions)
      if (d.name == name) return node(d.root);
    BOOST_FAIL("no definition " << name);
    return r().nodes.at(0);
  }
  const Aggregate& aggregate_of(const Node& n) const {
    BOOST_TEST_REQUIRE((n.op == Op::Aggregate));
    return r().aggregates.at(n.index);
  }
  const Signal& signal(const std::string& id) const {
    for (const auto& s : r().signals)
      if (s.id == id) return s;
    BOOST_FAIL("no signal " << id);
    return r().signals.at(0);
  }
  std::string column(int32_t col) const { return r().cases.columns.at(col).name; }
  std::string text(Span s) const { return sources.file(s.file).text.substr(s.begin, s.end - s.begin); }
};

// The shared schema declares more than any one test reads, so the lints about unused
// declarations (W0301..W0304) are left out unless asked for; they have tests of their own.
std::unique_ptr<Checked> check_text(const std::string& body, bool with_schema = true,
                                    bool keep_unused = false, const std::string& disposition = kDisposition) {
  auto c = std::make_unique<Checked>();
  const std::string text = (with_schema ? kSchema : "") + body + disposition;
  uint32_t file = c->sources.add("test.rules", text);
  auto parsed = syntax::parse(c->sources, file);
  c->diagnostics = parsed.diagnostics;
  BOOST_TEST_REQUIRE(parsed.ok(), "parse failed: " << c->messages());
  auto checked = check(*parsed.value, c->sources);
  for (auto& d : checked.diagnostics)
    if (keep_unused || d.code.rfind("W030", 0) != 0) c->diagnostics.push_back(std::move(d));
  c->rules = std::move(checked.value);
  return c;
}

// `define x = EXPR` checked; its root node.
struct OneExpr {
  std::unique_ptr<Checked> c;
  const Node& n() const { return c->def("x"); }
};
OneExpr expr(const std::string& e) { return {check_text("define x = " + e + "\n")}; }

BOOST_AUTO_TEST_SUITE(check_types)

BOOST_AUTO_TEST_CASE(types_of_expressions) {
  struct Case {
    std::string expr, type;
  };
  const std::vector<Case> cases = {
      {"1", "integer"},
      {"2.5", "number"},
      {"\"a\"", "text"},
      {"2019-01-01", "date"},
      {"true", "bool"},
      {"household_size * 2", "integer"},
      {"household_size / 2", "number"},
      {"household_size + 0.5", "number"},
      {"-household_size", "integer"},
      {"as_of - arrival_date", "duration"},
      {"arrival_date + 7 days", "date"},
      {"2 weeks + 1 day", "duration"},
      {"years_between(birth_date, as_of)", "integer"},
      {"days_between(birth_date, as_of)", "integer"},
      {"weekday(as_of)", "integer"},
      {"size(languages)", "integer"},
      {"abs(-2.5)", "number"},
      {"coalesce(arrival_date, as_of)", "date"},
      {"languages", "set of text"},
      {"{\"a\", nationality}", "set of text"},
      {"ORIGINS", "set of text"},
      {"nationality in ORIGINS", "bool"},
      {"languages intersects ORIGINS", "bool"},
      {"birth_date is missing", "bool"},
      {"arrival_date between registered_on - 6 days and registered_on", "bool"},
      {"sex", "one of {\"F\", \"M\", \"X\"}"},
      {"count cases where phone = this.phone", "integer"},
      {"count distinct household_id in cases where phone = this.phone", "integer"},
      {"sum observed in flows where entry_point = this.entry_point", "integer"},
      {"max week in flows where entry_point = this.entry_point", "date"},
      {"collect nationality in cases where phone = this.phone", "set of text"},
      {"week_start(arrival_date)", "date"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.expr) {
      auto e = expr(c.expr);
      BOOST_TEST(type_name(e.n().type) == c.type);
    }
  }
}

BOOST_AUTO_TEST_CASE(type_errors_are_reported_not_guessed) {
  for (const std::string bad : {"birth_date > 18", "nationality < \"MLI\"", "arrival_date + 7",
                                "not household_size", "nationality in phone", "phone * 2",
                                "sex = \"female\"", "years_between(birth_date)", "week_start(1)",
                                "sum phone in cases", "consent_signed and 1"}) {
    BOOST_TEST_CONTEXT(bad) {
      auto c = check_text("define x = " + bad + "\n");
      BOOST_TEST(!c->rules.has_value());
      BOOST_TEST(c->diagnostics.size() == 1u, c->messages());  // one error, no cascade
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(check_unknown_values)

// `format "..."` reaches the schema the loader reads, for a text and for a set of texts;
// columns without one have none. (Its misuse: golden diagnostics/column_format_misuse.)
BOOST_AUTO_TEST_CASE(column_formats_reach_the_schema) {
  auto c = check_text(R"R(
table codes
  country:   text, required, format "AAA"
  languages: set of text, format "aaa"
  note:      text
end
)R");
  const auto& tables = c->r().tables;
  BOOST_TEST_REQUIRE(tables.size() == 2u);
  const TableSchema& codes = tables[1];
  BOOST_TEST(codes.name == "codes");
  BOOST_TEST(codes.columns.at(0).format == "AAA");
  BOOST_TEST(codes.columns.at(0).required);
  BOOST_TEST(codes.columns.at(1).format == "aaa");
  BOOST_TEST(codes.columns.at(2).format == "");
  for (const auto& col : c->r().cases.columns) BOOST_TEST(col.format == "", col.name);
}

BOOST_AUTO_TEST_CASE(nullable_follows_the_schema) {
  auto c = check_text(R"R(
define age = years_between(birth_date, as_of)
define consent = consent_signed
define not_consent = not consent_signed
define vulnerable = "uasc" in vulnerabilities
define langs = "fra" in languages
define born_known = birth_date is present
define half = household_size / 2
define known_arrival = coalesce(arrival_date, registered_on)
define first_known = coalesce(registered_on, arrival_date)
define maybe_date = coalesce(arrival_date, birth_date)
define limit = threshold + 1
define old = age >= 60
define size_ok = household_size >= 1
)R");
  BOOST_TEST(c->def("age").nullable);             // birth_date is optional
  BOOST_TEST(!c->def("consent").nullable);        // consent_signed is required
  BOOST_TEST(!c->def("not_consent").nullable);
  BOOST_TEST(!c->def("vulnerable").nullable);     // blank means none: never missing
  BOOST_TEST(c->def("langs").nullable);           // a blank set of languages is missing
  BOOST_TEST(!c->def("born_known").nullable);     // `is present` is always decided
  BOOST_TEST(c->def("half").nullable);            // division by zero is unknown
  BOOST_TEST(!c->def("known_arrival").nullable);  // the fallback is required
  BOOST_TEST(!c->def("first_known").nullable);    // the first is required
  BOOST_TEST(c->def("maybe_date").nullable);      // both may be missing
  BOOST_TEST(c->def("limit").nullable);           // a parameter without default
  BOOST_TEST(c->def("old").nullable);             // through the definition of age
  BOOST_TEST(!c->def("size_ok").nullable);
}

BOOST_AUTO_TEST_CASE(aggregates_are_unknown_when_their_key_may_be) {
  auto c = check_text(R"R(
define by_phone = count cases where phone = this.phone
define by_household = count cases with same household_id
define oldest = min birth_date in cases with same household_id
)R");
  BOOST_TEST(c->def("by_phone").nullable);       // no phone: the count is unknown, not 0
  BOOST_TEST(!c->def("by_household").nullable);  // household_id is required
  BOOST_TEST(c->def("oldest").nullable);         // min of no rows is missing
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(check_aggregates)

BOOST_AUTO_TEST_CASE(s1_shared_phone_is_one_hash_key) {
  auto c = check_text(R"R(
signal S1 SHARED_PHONE points 25
  let households = count distinct household_id in cases where phone = this.phone
  fires when households >= 3
  reason "phone {phone} is shared by {households} households (threshold 3)"
end
)R");
  const auto& r = c->r();
  BOOST_TEST_REQUIRE(r.aggregates.size() == 1u);
  const Aggregate& a = r.aggregates[0];
  BOOST_TEST((a.fn == AggregateFn::CountDistinct));
  BOOST_TEST(a.source == -1);
  BOOST_TEST_REQUIRE(a.keys.size() == 1u);
  BOOST_TEST((c->node(a.keys[0].row).op == Op::RowField));
  BOOST_TEST(c->column(c->node(a.keys[0].row).index) == "phone");
  BOOST_TEST((c->node(a.keys[0].cased).op == Op::CaseField));
  BOOST_TEST(c->column(c->node(a.keys[0].cased).index) == "phone");
  BOOST_TEST(!a.range.has_value());
  BOOST_TEST(a.residual.empty());
  BOOST_TEST(a.row_only.empty());
  BOOST_TEST(a.case_only.empty());
  BOOST_TEST(c->column(c->node(a.value).index) == "household_id");
  BOOST_TEST(c->diagnostics.empty(), c->messages());  // indexable: no warning
}

BOOST_AUTO_TEST_CASE(s3_with_same_is_two_keys) {
  auto c = check_text("define registered = count cases with same registered_by, registered_on\n");
  const Aggregate& a = c->aggregate_of(c->def("registered"));
  BOOST_TEST_REQUIRE(a.keys.size() == 2u);
  BOOST_TEST(c->column(c->node(a.keys[0].row).index) == "registered_by");
  BOOST_TEST(c->column(c->node(a.keys[1].row).index) == "registered_on");
  BOOST_TEST(a.residual.empty());
}

BOOST_AUTO_TEST_CASE(s4_keys_include_an_inlined_function_of_the_row) {
  auto c = check_text(R"R(
define arrival_week = week_start(arrival_date)
define claims = count cases where entry_point = this.entry_point
                              and week_start(arrival_date) = this.arrival_week
define observed = sum observed in flows where entry_point = this.entry_point
                                          and week = this.arrival_week
)R");
  const Aggregate& claims = c->aggregate_of(c->def("claims"));
  BOOST_TEST_REQUIRE(claims.keys.size() == 2u);
  const Node& row_week = c->node(claims.keys[1].row);
  BOOST_TEST((row_week.op == Op::Sub));  // week_start's body, over the row
  BOOST_TEST(row_week.scope == kReadsRow);
  BOOST_TEST((c->node(claims.keys[1].cased).op == Op::Definition));
  BOOST_TEST(claims.residual.empty());
  const Aggregate& observed = c->aggregate_of(c->def("observed"));
  BOOST_TEST(observed.source == 0);  // flows
  BOOST_TEST(observed.keys.size() == 2u);
  BOOST_TEST(c->def("observed").nullable);  // entry_point and arrival_date are optional
}

BOOST_AUTO_TEST_CASE(s8_window_is_a_key_and_a_range) {
  auto c = check_text(R"R(
define referred = count cases where intermediary = this.intermediary
                            and registered_on between this.registered_on - 6 days
                                                  and this.registered_on
)R");
  const Aggregate& a = c->aggregate_of(c->def("referred"));
  BOOST_TEST_REQUIRE(a.keys.size() == 1u);
  BOOST_TEST(c->column(c->node(a.keys[0].row).index) == "intermediary");
  BOOST_TEST_REQUIRE(a.range.has_value());
  BOOST_TEST(c->column(c->node(a.range->row).index) == "registered_on");
  BOOST_TEST((c->node(a.range->low).op == Op::Sub));
  BOOST_TEST((c->node(a.range->high).op == Op::CaseField));
  BOOST_TEST(!a.range->low_strict);
  BOOST_TEST(!a.range->high_strict);
  BOOST_TEST(a.residual.empty());
}

BOOST_AUTO_TEST_CASE(strict_bounds_row_only_case_only_and_residual) {
  auto c = check_text(R"R(
define older = count cases where birth_date < this.birth_date
                             and household_size != this.household_size
                             and household_size > 3
                             and this.consent_signed
)R");
  const Aggregate& a = c->aggregate_of(c->def("older"));
  BOOST_TEST(a.keys.empty());
  BOOST_TEST_REQUIRE(a.range.has_value());
  BOOST_TEST(a.range->low == -1);
  BOOST_TEST(a.range->high >= 0);
  BOOST_TEST(a.range->high_strict);
  BOOST_TEST(a.row_only.size() == 1u);   // household_size > 3
  BOOST_TEST(a.case_only.size() == 1u);  // this.consent_signed
  BOOST_TEST_REQUIRE(a.residual.size() == 1u);
  BOOST_TEST(c->text(c->node(a.residual[0]).span) == "household_size != this.household_size");
  // The quadratic part is warned about, where it is written.
  BOOST_TEST_REQUIRE(c->diagnostics.size() == 1u);
  BOOST_TEST(c->diagnostics[0].code == "W0801");
  BOOST_TEST(c->text(c->diagnostics[0].span) == "household_size != this.household_size");
}

// Conditions on the counted row alone filter the rows once, when the index is built, and the
// result is shared by every case: a linear scan, not n², so no W0801 (it used to warn).
BOOST_AUTO_TEST_CASE(counts_filtered_on_the_row_alone_are_not_warned_about) {
  auto c = check_text(R"R(
define all_cases = count cases
define women = count cases where sex = "F" and household_size > 3
define big_weeks = count flows where observed > 100
)R");
  BOOST_TEST(c->diagnostics.empty(), c->messages());
  const Aggregate& women = c->aggregate_of(c->def("women"));
  BOOST_TEST(women.row_only.size() == 2u);
  BOOST_TEST(women.keys.empty());
  BOOST_TEST(women.residual.empty());
}

BOOST_AUTO_TEST_CASE(a_residual_over_a_table_is_warned_with_its_cost) {
  auto c = check_text("define other = sum observed in flows where entry_point != this.entry_point\n");
  BOOST_TEST_REQUIRE(c->diagnostics.size() == 1u, c->messages());
  BOOST_TEST(c->diagnostics[0].code == "W0801");
  BOOST_TEST(c->diagnostics[0].message ==
             "this aggregate reads the whole table flows for every case: cases × rows steps");
  BOOST_TEST(c->text(c->diagnostics[0].span) == "entry_point != this.entry_point");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(check_functions_and_fields)

BOOST_AUTO_TEST_CASE(user_functions_are_inlined) {
  auto c = check_text("define arrival_week = week_start(arrival_date)\n");
  const auto& r = c->r();
  // Only value definitions are kept; the function's body sits in place of each call.
  BOOST_TEST(r.definitions.size() == 1u);
  const Node& root = c->def("arrival_week");
  BOOST_TEST((root.op == Op::Sub));
  BOOST_TEST(type_name(root.type) == "date");
  BOOST_TEST((c->node(root.a).op == Op::CaseField));
  BOOST_TEST(c->column(c->node(root.a).index) == "arrival_date");
  BOOST_TEST(root.nullable);  // because arrival_date is optional
  BOOST_TEST(root.scope == kReadsCase);
  for (const Node& n : r.nodes) BOOST_TEST((n.op != Op::Literal || n.type.kind != TypeKind::Error));
}

BOOST_AUTO_TEST_CASE(two_calls_inline_two_copies) {
  auto c = check_text(R"R(
define a = week_start(arrival_date)
define b = week_start(registered_on)
)R");
  const Node& a = c->def("a");
  const Node& b = c->def("b");
  BOOST_TEST(c->column(c->node(a.a).index) == "arrival_date");
  BOOST_TEST(c->column(c->node(b.a).index) == "registered_on");
  BOOST_TEST(a.nullable);
  BOOST_TEST(!b.nullable);  // registered_on is required
}

BOOST_AUTO_TEST_CASE(definitions_may_come_in_any_order) {
  auto c = check_text("define later = sooner + 1\ndefine sooner = household_size\n");
  BOOST_TEST(type_name(c->def("later").type) == "integer");
}

BOOST_AUTO_TEST_CASE(fields_read_are_marked) {
  auto c = check_text(R"R(
signal S1 SHARED_PHONE points 25
  let households = count distinct household_id in cases where phone = this.phone
  fires when households >= 3
end
define observed = sum observed in flows where entry_point = this.entry_point
criterion E1 ADULT
  pass when years_between(birth_date, as_of) >= 18
end
)R");
  const auto& r = c->r();
  auto case_read = [&](const std::string& f) { return bool(r.case_fields_read.at(r.cases.find(f))); };
  auto row_read = [&](const std::string& f) { return bool(r.row_fields_read.at(r.cases.find(f))); };
  BOOST_TEST(case_read("phone"));
  BOOST_TEST(case_read("birth_date"));
  BOOST_TEST(case_read("entry_point"));
  BOOST_TEST(case_read("case_id"));  // the key is always kept
  BOOST_TEST(!case_read("household_id"));  // read only from the rows counted
  BOOST_TEST(!case_read("centre"));
  BOOST_TEST(!case_read("nationality"));
  BOOST_TEST(row_read("household_id"));
  BOOST_TEST(row_read("phone"));
  BOOST_TEST(!row_read("birth_date"));
  const TableSchema& flows = r.tables.at(0);
  BOOST_TEST(bool(r.table_fields_read[0].at(flows.find("observed"))));
  BOOST_TEST(bool(r.table_fields_read[0].at(flows.find("entry_point"))));
  BOOST_TEST(!bool(r.table_fields_read[0].at(flows.find("week"))));
}

// A rule's evidence takes in what its definitions read, and what theirs read: depth first, in
// the order each body reads them, each name once at its first place. (Explanations and the
// audit store show evidence in this order, so it must not change with how it is computed.)
BOOST_AUTO_TEST_CASE(evidence_through_nested_definitions_in_reading_order) {
  auto c = check_text(R"R(ruleset "diamond"
cases
  case_id: text, key
  x: integer
  y: integer
  z: integer
end
define a = x + 1
define b = x + y
define d = a + b
define e = z + d
define f = b * 2
criterion E1 ONE "one"
  pass when y > 1 and e > 3
  fail when f > 100
  unknown when x is missing
end
signal S1 TWO points 5
  let q = f + a
  fires when q > 4 and d > 1
end
)R",
                      false);
  auto names = [](const std::vector<Evidence>& evidence) {
    std::vector<std::string> out;
    for (const auto& e : evidence) out.push_back(e.name);
    return out;
  };
  BOOST_TEST(names(c->r().criteria.at(0).evidence) ==
                 (std::vector<std::string>{"y", "e", "z", "d", "a", "x", "b", "f"}),
             boost::test_tools::per_element());
  BOOST_TEST(names(c->signal("S1").evidence) ==
                 (std::vector<std::string>{"f", "b", "x", "y", "a", "q", "d"}),
             boost::test_tools::per_element());
}

// A chain of definitions written in order, each using the one before: the last one's evidence
// names them all, once each. (It used to take the cube of the chain's length: 3,000 links took
// 24 s; such a file is now checked in well under a second.) 999 links is the longest chain
// evaluation accepts (C0308): two levels a link, and the comparison and the field, 2,000 in all.
std::string chain_of_definitions(int links) {
  std::string body = "ruleset \"chain\"\ncases\n  case_id: text, key\n  age: integer\nend\n";
  body += "define d0 = age + 1\n";
  for (int i = 1; i < links; ++i)
    body += "define d" + std::to_string(i) + " = d" + std::to_string(i - 1) + " + 1\n";
  body += "criterion E1 OLD \"old\"\n  pass when d" + std::to_string(links - 1) +
          " > 3\n  fail when d" + std::to_string(links - 1) + " <= 3\n  unknown when age is missing\nend\n";
  return body;
}

BOOST_AUTO_TEST_CASE(a_chain_one_link_too_long_to_evaluate_is_an_error) {
  auto c = check_text(chain_of_definitions(1000), false);
  BOOST_TEST(c->has("C0308"), c->messages());
  BOOST_TEST(c->messages().find("goes 2002 levels deep") != std::string::npos, c->messages());
  BOOST_TEST(!c->rules.has_value());
}

BOOST_AUTO_TEST_CASE(a_long_chain_of_definitions_in_order) {
  constexpr int kLinks = 999;
  auto c = check_text(chain_of_definitions(kLinks), false);
  const auto& evidence = c->r().criteria.at(0).evidence;
  BOOST_TEST_REQUIRE(evidence.size() == static_cast<size_t>(kLinks + 1));
  BOOST_TEST(evidence.front().name == "d" + std::to_string(kLinks - 1));
  BOOST_TEST(evidence[kLinks - 1].name == "d0");
  BOOST_TEST(evidence.back().name == "age");
}

BOOST_AUTO_TEST_CASE(evidence_and_reason_templates) {
  auto c = check_text(R"R(
signal S1 SHARED_PHONE points 25
  let households = count distinct household_id in cases where phone = this.phone
  fires when households >= 3
  reason "phone {phone} is shared by {households} households (a \{ brace)"
end
)R");
  const Signal& s = c->signal("S1");
  std::vector<std::string> names;
  for (const auto& e : s.evidence) names.push_back(e.name);
  BOOST_TEST(names == (std::vector<std::string>{"phone", "households"}), boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(s.reason.size() == 5u);
  BOOST_TEST(s.reason[0].text == "phone ");
  BOOST_TEST(s.reason[1].text == "phone");
  BOOST_TEST(s.reason[1].node >= 0);
  BOOST_TEST(s.reason[4].text == " households (a { brace)");
  BOOST_TEST(s.fires_text == "households >= 3");
  BOOST_TEST(s.lets.size() == 1u);
}

BOOST_AUTO_TEST_CASE(scores_and_disposition) {
  auto c = check_text(R"R(
criterion E1 CONSENT
  pass when consent_signed
end
score risk = points of fired signals
score priority
  30 when "uasc" in vulnerabilities
  2.5 when household_size > 5
end
disposition
  INELIGIBLE when any criterion fails and priority >= 30
  APPROVE otherwise
end
)R");
  // (check_text appends a second disposition: only the first one counts, the second is an error)
  BOOST_TEST(c->has("C1202"));
  auto ok = check_text(R"R(
criterion E1 CONSENT
  pass when consent_signed
end
score risk = points of fired signals
score priority
  30 when "uasc" in vulnerabilities
  2.5 when household_size > 5
end
)R");
  const auto& r = ok->r();
  BOOST_TEST_REQUIRE(r.scores.size() == 2u);
  BOOST_TEST(r.scores[0].integral);
  BOOST_TEST(!r.scores[1].integral);
  BOOST_TEST(r.disposition.size() == 1u);
  BOOST_TEST(r.disposition[0].text == "APPROVE otherwise");
  BOOST_TEST(r.disposition[0].condition == -1);
}

BOOST_AUTO_TEST_CASE(errors_withhold_the_ruleset_warnings_do_not) {
  auto err = check_text("define x = nationalty\n");
  BOOST_TEST(!err->rules.has_value());
  BOOST_TEST_REQUIRE(err->diagnostics.size() == 1u);
  BOOST_TEST(err->diagnostics[0].message == "unknown name 'nationalty'");
  BOOST_TEST(err->diagnostics[0].hint == "did you mean 'nationality'?");
  BOOST_TEST(err->text(err->diagnostics[0].span) == "nationalty");
  auto warn = check_text("signal S1 ZERO points 0\n  fires when consent_signed\nend\n");
  BOOST_TEST(warn->rules.has_value());
  BOOST_TEST_REQUIRE(warn->diagnostics.size() == 1u);
  BOOST_TEST((warn->diagnostics[0].severity == Severity::Warning));
}

BOOST_AUTO_TEST_CASE(let_clash_does_not_cascade) {
  auto c = check_text(R"R(
signal S1 SHARED_PHONE points 25
  let phone = count cases where phone = this.phone
  fires when phone >= 3
end
)R");
  BOOST_TEST_REQUIRE(c->diagnostics.size() == 1u, c->messages());
  BOOST_TEST(c->diagnostics[0].message == "'phone' is already a case field");
}

BOOST_AUTO_TEST_CASE(definition_cycles_name_the_loop) {
  auto c = check_text("define a = b + 1\ndefine b = a + 1\n");
  BOOST_TEST_REQUIRE(c->diagnostics.size() == 1u, c->messages());
  BOOST_TEST(c->diagnostics[0].message == "'a' is defined in terms of itself: a -> b -> a");
}

BOOST_AUTO_TEST_CASE(parameter_values_from_the_command_line) {
  auto c = check_text("");
  const auto& r = c->r();
  std::string error;
  auto as_of = parse_param_value(r.parameters.at(0), "2020-02-29", error);
  BOOST_TEST_REQUIRE(as_of.has_value());
  BOOST_TEST((as_of->kind == TypeKind::Date));
  BOOST_TEST(!parse_param_value(r.parameters.at(0), "2019-02-29", error).has_value());
  BOOST_TEST(error == "'2019-02-29' is not a date (expected YYYY-MM-DD)");
  BOOST_TEST(parse_param_value(r.parameters.at(1), "12", error)->i == 12);
  BOOST_TEST(!parse_param_value(r.parameters.at(1), "12x", error).has_value());
}

BOOST_AUTO_TEST_SUITE_END()


BOOST_AUTO_TEST_SUITE(check_folding)

// Operations on literals only become literals, computed as the evaluator would.
BOOST_AUTO_TEST_CASE(literal_only_expressions_become_literals) {
  struct Case {
    std::string expr;
    TypeKind kind;
    int64_t i;
    double d;
  };
  const std::vector<Case> cases = {
      {"730 days", TypeKind::Duration, 730, 0},
      {"2 weeks", TypeKind::Duration, 14, 0},
      {"2 * 7 + 1", TypeKind::Integer, 15, 0},
      {"-(3 - 5)", TypeKind::Integer, 2, 0},
      {"7 / 2", TypeKind::Number, 0, 3.5},
      {"1 + 0.5", TypeKind::Number, 0, 1.5},
      {"2019-01-18 - 2018-01-18", TypeKind::Duration, 365, 0},
      {"2019-01-18 + 3 days = 2019-01-21", TypeKind::Bool, 1, 0},
      {"years_between(2000-02-29, 2019-02-28)", TypeKind::Integer, 18, 0},
      {"weekday(2019-01-18)", TypeKind::Integer, 5, 0},
      {"\"a\" in {\"a\", \"b\"}", TypeKind::Bool, 1, 0},
      {"\"c\" not in {\"a\", \"b\"}", TypeKind::Bool, 1, 0},
      {"3 between 1 and 2", TypeKind::Bool, 0, 0},
      {"size({\"a\", \"b\", \"a\"})", TypeKind::Integer, 2, 0},
      {"abs(-2.5)", TypeKind::Number, 0, 2.5},
      {"true and not false", TypeKind::Bool, 1, 0},
      {"1 = 1.0", TypeKind::Bool, 1, 0},
  };
  for (const auto& k : cases) {
    BOOST_TEST_CONTEXT(k.expr) {
      auto e = expr(k.expr);
      BOOST_TEST_REQUIRE((e.n().op == Op::Literal));
      const Literal& lit = e.c->r().literals.at(e.n().index);
      BOOST_TEST((lit.kind == k.kind));
      BOOST_TEST(lit.i == k.i);
      BOOST_TEST(lit.d == k.d);
      BOOST_TEST(!e.n().nullable);
    }
  }
}

BOOST_AUTO_TEST_CASE(what_would_be_missing_or_reads_the_case_is_not_folded) {
  BOOST_TEST((expr("1 / 0").n().op == Op::Div));  // unknown at run time
  BOOST_TEST(expr("1 / 0").n().nullable);
  BOOST_TEST((expr("9223372036854775807 + 1").n().op == Op::Add));  // would overflow
  auto e = expr("as_of - 730 days");
  BOOST_TEST((e.n().op == Op::Sub));  // a parameter can change per run
  BOOST_TEST((e.c->node(e.n().b).op == Op::Literal));  // but its constant part is folded
  BOOST_TEST((expr("household_size + 1 * 2").n().op == Op::Add));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(check_lints)

std::vector<std::string> codes(const Checked& c) {
  std::vector<std::string> out;
  for (const auto& d : c.diagnostics) out.push_back(d.code);
  return out;
}

BOOST_AUTO_TEST_CASE(unused_declarations_are_named) {
  auto c = check_text(R"R(
define used = household_size + 1
define only_by_unused = household_size + 2
define unused = only_by_unused + 1
signal S1 BIG points 5
  fires when used > 8
end
)R", true, true);
  std::vector<std::string> messages;
  for (const auto& d : c->diagnostics) messages.push_back(d.code + " " + d.message);
  const std::string who = " is not used by any criterion, signal, score or the disposition";
  const std::vector<std::string> expected = {
      "W0304 table 'flows' is not read by any criterion, signal, score or the disposition",
      "W0302 parameter 'as_of'" + who,
      "W0302 parameter 'threshold'" + who,
      "W0303 constant 'ORIGINS'" + who,
      "W0301 function 'week_start'" + who,
      "W0301 definition 'only_by_unused'" + who,
      "W0301 definition 'unused'" + who,
  };
  BOOST_TEST(messages == expected, boost::test_tools::per_element());
  BOOST_TEST(c->rules.has_value());
}

BOOST_AUTO_TEST_CASE(uses_through_definitions_functions_and_reasons_count) {
  auto c = check_text(R"R(
define arrival_week = week_start(arrival_date)
define observed = sum observed in flows where week = this.arrival_week
signal S1 LATE points 5
  fires when as_of - arrival_date > threshold days and observed = 0
  reason "{nationality} in {ORIGINS}"
end
)R", true, true);
  BOOST_TEST(c->diagnostics.empty(), c->messages());
}

BOOST_AUTO_TEST_CASE(conditions_always_true_or_never_true) {
  // age cannot be missing here: birth_date is required in this schema.
  const std::string schema = R"R(
cases
  case_id:    text, key
  birth_date: date, required
  phone:      text
  doc:        one of {"passport", "none"}, required
end
parameter as_of: date = 2019-01-18
define age = years_between(birth_date, as_of)
)R";
  auto c = check_text(schema + R"R(
signal S1 ALWAYS points 5
  fires when age >= 60 or age < 60
end
signal S2 NEVER points 5
  fires when age > 60 and age < 20
end
signal S3 NOT_MISSING points 5
  fires when birth_date is missing
end
signal S4 FINE points 5
  fires when phone is missing or age >= 60
end
signal S5 PART points 5
  fires when phone = "1" and (doc = "passport" or doc != "passport")
end
)R", false);
  BOOST_TEST_REQUIRE(c->diagnostics.size() == 4u, c->messages());
  BOOST_TEST(c->diagnostics[0].code == "W0501");
  BOOST_TEST(c->text(c->diagnostics[0].span) == "age >= 60 or age < 60");
  BOOST_TEST(c->diagnostics[0].hint.find("signal S1 fires for every case") == 0u);
  BOOST_TEST(c->diagnostics[1].code == "W0502");
  BOOST_TEST(c->diagnostics[1].message == "this condition is always false");
  BOOST_TEST(c->diagnostics[2].code == "W0502");
  BOOST_TEST(c->diagnostics[2].message == "'birth_date' is never missing, so this test is always false");
  // Only the part that never changes is pointed at (doc is required: never unknown).
  BOOST_TEST(c->diagnostics[3].code == "W0501");  // doc's values: passport, none
  BOOST_TEST(c->text(c->diagnostics[3].span) == "(doc = \"passport\" or doc != \"passport\")");
}

// Constants beyond 2^53 are not exact in a double, where the lints compare: the values on
// either side of one must still be represented (the eval fuzzer's seed had this warning).
BOOST_AUTO_TEST_CASE(huge_integer_constants_keep_both_sides) {
  auto c = check_text(R"R(
constant LIMIT = 9223372036854775807
signal S1 HUGE points 5
  fires when household_size > LIMIT / 4 or household_size < -2305843009213693951
end
)R");
  BOOST_TEST(c->diagnostics.empty(), c->messages());
}

BOOST_AUTO_TEST_CASE(a_missing_value_keeps_a_tautology_from_being_always_true) {
  // birth_date may be missing in the shared schema: then age is unknown, and so is the test.
  auto c = check_text(R"R(
define age = years_between(birth_date, as_of)
signal S1 MAYBE points 5
  fires when age >= 60 or age < 60
end
)R");
  BOOST_TEST(c->diagnostics.empty(), c->messages());
}

BOOST_AUTO_TEST_CASE(criterion_clauses_that_never_decide_and_silent_unknowns) {
  auto c = check_text(R"R(
define age = years_between(birth_date, as_of)
criterion E1 ADULT
  pass when age >= 18
  fail when age >= 65
  unknown when birth_date is missing
end
criterion E2 GAP
  pass when age >= 18
  fail when age < 16
end
criterion E3 COVERED
  pass when consent_signed
  fail when not consent_signed
end
criterion E4 SINGLE
  pass when age >= 18
end
)R");
  BOOST_TEST_REQUIRE(c->diagnostics.size() == 2u, c->messages());
  BOOST_TEST(c->diagnostics[0].code == "W1002");
  BOOST_TEST(c->text(c->diagnostics[0].span) == "age >= 65");
  BOOST_TEST_REQUIRE(c->diagnostics[0].notes.size() == 1u);
  BOOST_TEST(c->text(c->diagnostics[0].notes[0].span) == "age >= 18");
  BOOST_TEST(c->diagnostics[1].code == "W1003");
  BOOST_TEST(c->diagnostics[1].message.find("criterion E2 is unknown") == 0u);
  // Age 16 or 17 falls between the clauses, and so does a missing birth date.
  BOOST_TEST(c->diagnostics[1].hint.find("birth_date") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_unknown_branch_that_cannot_happen) {
  auto c = check_text(R"R(
criterion E1 CONSENT
  pass when consent_signed
  fail when not consent_signed
  unknown when consent_signed is missing
end
)R");
  BOOST_TEST_REQUIRE(c->diagnostics.size() == 1u, c->messages());
  BOOST_TEST(c->diagnostics[0].code == "W0502");
  BOOST_TEST(c->diagnostics[0].hint.find("this clause never decides criterion E1") == 0u);
}

BOOST_AUTO_TEST_CASE(disposition_lines_that_never_decide) {
  auto c = check_text(R"R(
signal S1 A points 30
  fires when household_size > 5
end
score risk = points of fired signals
)R", true, false, R"R(
disposition
  VERIFY      when risk >= 25
  HOLD_REVIEW when risk >= 50
  INELIGIBLE  when S1 fires or not S1 fires
  APPROVE     otherwise
end
)R");
  BOOST_TEST(codes(*c) == (std::vector<std::string>{"W1202", "W0501", "W1202"}),
             boost::test_tools::per_element());
  BOOST_TEST(c->text(c->diagnostics[0].span) == "HOLD_REVIEW");
  BOOST_TEST_REQUIRE(c->diagnostics[0].notes.size() == 1u);
  BOOST_TEST(c->text(c->diagnostics[0].notes[0].span) == "VERIFY");
  BOOST_TEST(c->diagnostics[2].message == "`otherwise` is never reached: the lines above decide every case");
}

BOOST_AUTO_TEST_CASE(shadowed_names) {
  auto c = check_text(R"R(
parameter week: date = 2019-01-14
define f(as_of: date) = as_of + 1 days
define seen = sum observed in flows where week = week
define shifted = f(registered_on)
signal S1 X points 5
  fires when seen > 0 and shifted > week
end
)R");
  // `week = week` meant the parameter on the right, but both are the column: two warnings.
  BOOST_TEST_REQUIRE(codes(*c).size() == 3u, c->messages());
  BOOST_TEST(codes(*c) == (std::vector<std::string>{"W0401", "W0401", "W0401"}),
             boost::test_tools::per_element());
  BOOST_TEST(c->diagnostics[0].message == "'as_of' of f(...) hides the ruleset's parameter 'as_of' inside the function");
  BOOST_TEST(c->diagnostics[1].message == "'week' here is the column of table flows, not the parameter 'week'");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace crible::check
