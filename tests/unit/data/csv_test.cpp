// tests/unit/data/csv_test.cpp: load_csv and load_csv_text — RFC 4180 shape, header mapping,
// typing per declared column, every reject reason, duplicate keys and column minimisation.
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "base/date.h"
#include "data/data.h"
#include "support/column_decl.h"
#include "support/temp_file.h"
#include "data/detail/csv_reader.h"
#include "data/detail/fields.h"

namespace crible::data {
namespace {

using namespace std::string_literals;

using testing::column;

Type one_of(std::vector<std::string> values) {
  Type t = Type::of(TypeKind::Text);
  t.domain = std::make_shared<EnumDomain>(EnumDomain{std::move(values)});
  return t;
}

Type set_of(std::vector<std::string> values = {}) {
  Type t = Type::set_of(TypeKind::Text);
  if (!values.empty()) t.domain = std::make_shared<EnumDomain>(EnumDomain{std::move(values)});
  return t;
}

const Type kText = Type::of(TypeKind::Text);
const Type kDate = Type::of(TypeKind::Date);
const Type kBool = Type::of(TypeKind::Bool);
const Type kInteger = Type::of(TypeKind::Integer);
const Type kNumber = Type::of(TypeKind::Number);

// A cut-down case schema: one column of every kind the loader reads.
TableSchema case_schema() {
  TableSchema s;
  s.name = "cases";
  s.columns = {column("case_id", kText, true),
               column("birth_date", kDate),
               column("sex", one_of({"F", "M", "X"}), true),
               column("consent_signed", kBool),
               column("household_size", kInteger),
               column("score", kNumber),
               column("languages", set_of()),
               column("vulnerabilities", set_of({"uasc", "vot", "medical"}))};
  s.columns[7].blank_is_empty = true;
  s.key = {0};
  return s;
}

const char* const kHeader =
    "case_id,birth_date,sex,consent_signed,household_size,score,languages,vulnerabilities\n";

// A single text column `v` of the given type behind a key, for typing tests.
TableSchema one_column(Type type, bool required = false) {
  TableSchema s;
  s.name = "t";
  s.columns = {column("id", kText, true), column("v", std::move(type), required)};
  s.key = {0};
  return s;
}

struct Loaded {
  Interner interner;
  Result<Table> result = Error{"not loaded"};

  const Table& table() const {
    // The message is built even when the check passes: only touch error() on failure.
    BOOST_TEST_REQUIRE(result.ok(), "load failed: " << (result.ok() ? "" : result.error().message));
    return result.value();
  }
  const Column& col(size_t c) const { return table().columns.at(c); }
  std::string text(size_t c, size_t row) const {
    BOOST_TEST_REQUIRE(row < col(c).size());
    BOOST_TEST_REQUIRE(col(c).valid(row));
    return std::string(interner.text(col(c).text(row)));
  }
  std::vector<std::string> set(size_t c, size_t row) const {
    std::vector<std::string> out;
    const Column& k = col(c);
    BOOST_TEST_REQUIRE(row < k.size());
    for (uint32_t i = 0; i < k.set_size(row); ++i) out.emplace_back(interner.text(k.set(row)[i]));
    return out;
  }
  // Whether row r of column c is present (not missing).
  bool valid(size_t c, size_t row) const {
    BOOST_TEST_REQUIRE(row < col(c).size());
    return col(c).valid(row);
  }
  // Every row's integer (Integer), day (Date) or truth (Bool, as 0/1), missing rows as 0.
  std::vector<int64_t> ints(size_t c) const {
    const Column& k = col(c);
    std::vector<int64_t> out;
    for (size_t r = 0; r < k.size(); ++r)
      out.push_back(k.kind == TypeKind::Bool   ? k.boolean(r)
                    : k.kind == TypeKind::Date ? k.date(r)
                                               : k.integer(r));
    return out;
  }
  std::vector<double> nums(size_t c) const {
    const Column& k = col(c);
    std::vector<double> out;
    for (size_t r = 0; r < k.size(); ++r) out.push_back(k.number(r));
    return out;
  }
  // The one reject a test expects.
  const Reject& reject() const {
    BOOST_TEST_REQUIRE(table().rejects.size() == 1u);
    return table().rejects[0];
  }
};

std::unique_ptr<Loaded> load(const std::string& text, const TableSchema& schema,
                             const LoadOptions& options = {}, bool reject_duplicates = true) {
  auto l = std::make_unique<Loaded>();
  l->result = load_csv_text(text, "test.csv", schema, l->interner, options, reject_duplicates);
  return l;
}

// The reason a single-row file in the one-column schema is rejected with, or "" if accepted.
// `schema` is a one_column schema, possibly adjusted.
std::string reason_in(const TableSchema& schema, const std::string& field,
                      const LoadOptions& options = {}) {
  auto l = load("id,v\nA," + field + "\n", schema, options);
  const Table& t = l->table();
  if (t.rejects.empty()) return "";
  BOOST_TEST(t.rejects[0].column == "v");
  return t.rejects[0].reason;
}

std::string reason_for(const Type& type, const std::string& field, bool required = false) {
  return reason_in(one_column(type, required), field);
}

bool accepted(const Type& type, const std::string& field) {
  return reason_for(type, field).empty();
}

BOOST_AUTO_TEST_SUITE(csv)

// --- Shape: RFC 4180 -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(loads_every_kind_of_column) {
  auto l = load(std::string(kHeader) +
                    "A1,1990-06-15,F,true,3,-12.5,eng;fra,uasc;vot\n"
                    "A2,,M,false,1,0,,\n",
                case_schema());
  const Table& t = l->table();
  BOOST_TEST(t.name == "cases");
  BOOST_TEST(t.read == 2u);
  BOOST_TEST(t.rows == 2u);
  BOOST_TEST(t.rejects.empty());
  BOOST_TEST(t.row_line == (std::vector<uint64_t>{2, 3}), boost::test_tools::per_element());
  BOOST_TEST(l->text(0, 0) == "A1");
  BOOST_TEST(l->text(0, 1) == "A2");
  BOOST_TEST(l->ints(1) == (std::vector<int64_t>{*parse_date("1990-06-15"), 0}),
             boost::test_tools::per_element());  // blank: missing, slot 0
  BOOST_TEST(!l->valid(1, 1));
  BOOST_TEST(l->text(2, 0) == "F");
  BOOST_TEST(l->text(2, 1) == "M");
  BOOST_TEST(l->ints(3) == (std::vector<int64_t>{1, 0}), boost::test_tools::per_element());
  BOOST_TEST(l->ints(4) == (std::vector<int64_t>{3, 1}), boost::test_tools::per_element());
  BOOST_TEST(l->nums(5) == (std::vector<double>{-12.5, 0}), boost::test_tools::per_element());
  BOOST_TEST(l->valid(5, 1));  // "0" is a value, not missing
  BOOST_TEST(l->set(6, 0) == (std::vector<std::string>{"eng", "fra"}),
             boost::test_tools::per_element());
  BOOST_TEST(!l->valid(6, 1));  // blank languages: unknown
  BOOST_TEST(l->valid(7, 1));   // blank vulnerabilities: the empty set
  BOOST_TEST(l->set(7, 1).empty());
  for (const Column& c : t.columns) {
    BOOST_TEST(c.loaded);
    BOOST_TEST(c.size() == 2u);
  }
  BOOST_TEST((l->col(5).kind == TypeKind::Number));
  BOOST_TEST((l->col(6).kind == TypeKind::Set));
}

BOOST_AUTO_TEST_CASE(quoted_fields_keep_commas_quotes_and_newlines) {
  TableSchema s = one_column(kText);
  auto l = load(
      "id,v\n"
      "A,\"Diallo, Amadou\"\n"
      "B,\"say \"\"hi\"\"\"\n"
      "C,\"two\nlines\"\n"
      "D,\"\"\"\"\n"
      "\"E\",plain\n",
      s);
  const Table& t = l->table();
  BOOST_TEST(t.rows == 5u);
  BOOST_TEST(l->text(1, 0) == "Diallo, Amadou");
  BOOST_TEST(l->text(1, 1) == "say \"hi\"");
  BOOST_TEST(l->text(1, 2) == "two\nlines");
  BOOST_TEST(l->text(1, 3) == "\"");
  BOOST_TEST(l->text(0, 4) == "E");
  // The record with an embedded newline starts on line 4; the next one on line 6.
  BOOST_TEST(t.row_line == (std::vector<uint64_t>{2, 3, 4, 6, 7}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(quoted_empty_field_is_missing) {
  auto l = load("id,v\nA,\"\"\n", one_column(kDate));
  BOOST_TEST(l->table().rows == 1u);
  BOOST_TEST(!l->valid(1, 0));
}

BOOST_AUTO_TEST_CASE(crlf_and_lf_line_ends) {
  auto l = load("id,v\r\nA,x\r\nB,\"multi\r\nline\"\r\nC,z\nD,w", one_column(kText));
  const Table& t = l->table();
  BOOST_TEST(t.rows == 4u);
  BOOST_TEST(l->text(1, 0) == "x");  // no stray \r in the value
  BOOST_TEST(l->text(1, 1) == "multi\r\nline");
  BOOST_TEST(l->text(1, 2) == "z");
  BOOST_TEST(l->text(1, 3) == "w");  // last line without a line end
  BOOST_TEST(t.row_line == (std::vector<uint64_t>{2, 3, 5, 6}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(last_line_with_and_without_newline) {
  for (const char* text : {"id,v\nA,1\nB,2\n", "id,v\nA,1\nB,2"}) {
    auto l = load(text, one_column(kInteger));
    BOOST_TEST(l->table().rows == 2u);
    BOOST_TEST(l->ints(1) == (std::vector<int64_t>{1, 2}), boost::test_tools::per_element());
  }
  auto l = load("id,v\nA,", one_column(kInteger));  // last field empty at the very end
  BOOST_TEST(l->table().rows == 1u);
  BOOST_TEST(!l->valid(1, 0));
}

BOOST_AUTO_TEST_CASE(utf8_bom_is_skipped) {
  auto l = load("\xEF\xBB\xBFid,v\nA,1\n", one_column(kInteger));
  BOOST_TEST(l->table().rows == 1u);
  BOOST_TEST(l->text(0, 0) == "A");
}

BOOST_AUTO_TEST_CASE(blank_lines_are_not_records) {
  auto l = load("id,v\n\nA,1\n\r\n\nB,2\n\n", one_column(kInteger));
  const Table& t = l->table();
  BOOST_TEST(t.read == 2u);
  BOOST_TEST(t.rows == 2u);
  BOOST_TEST(t.row_line == (std::vector<uint64_t>{3, 6}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(unterminated_quote_at_end_rejects_that_record) {
  auto l = load("id,v\nA,1\nB,\"open\nC,3\nD,4\n", one_column(kText));
  const Table& t = l->table();
  BOOST_TEST(t.read == 2u);
  BOOST_TEST(t.rows == 1u);
  const Reject& r = l->reject();
  BOOST_TEST(r.line == 3u);
  BOOST_TEST(r.column == "v");
  BOOST_TEST(r.reason == "unterminated quoted field: the quote opened on line 3 is never closed");
}

BOOST_AUTO_TEST_CASE(stray_quote_in_unquoted_field) {
  auto l = load("id,v\nA,5\" screen\nB,ok\n", one_column(kText));
  BOOST_TEST(l->table().rows == 1u);  // the next record is read normally
  const Reject& r = l->reject();
  BOOST_TEST(r.line == 2u);
  BOOST_TEST(r.column == "v");
  BOOST_TEST(r.reason ==
             "stray '\"' in an unquoted field (quote the whole field and double the quote)");
}

BOOST_AUTO_TEST_CASE(text_after_closing_quote) {
  auto l = load("id,v\nA,\"abc\"def\nB,ok\n", one_column(kText));
  BOOST_TEST(l->table().rows == 1u);
  const Reject& r = l->reject();
  BOOST_TEST(r.line == 2u);
  BOOST_TEST(r.reason.find("unexpected text after a closing quote") == 0u);
}

BOOST_AUTO_TEST_CASE(lone_carriage_return) {
  auto l = load("id,v\nA,x\ry\nB,ok\n", one_column(kText));
  BOOST_TEST(l->table().rows == 1u);
  BOOST_TEST(l->reject().reason == "carriage return without a line feed");
  BOOST_TEST(l->reject().line == 2u);
}

BOOST_AUTO_TEST_CASE(wrong_field_count) {
  auto l = load("id,v\nA\nB,1,2\nC,3\n", one_column(kInteger));
  const Table& t = l->table();
  BOOST_TEST(t.read == 3u);
  BOOST_TEST(t.rows == 1u);
  BOOST_TEST_REQUIRE(t.rejects.size() == 2u);
  BOOST_TEST(t.rejects[0].reason == "expected 2 fields, found 1");
  BOOST_TEST(t.rejects[0].column == "");
  BOOST_TEST(t.rejects[0].line == 2u);
  BOOST_TEST(t.rejects[1].reason == "expected 2 fields, found 3");
  BOOST_TEST(t.rejects[1].line == 3u);
}

// --- Header ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(header_maps_columns_by_name_and_ignores_extras) {
  auto l = load("extra,v,id,more\nx,7,A,y\n", one_column(kInteger));
  BOOST_TEST(l->table().rows == 1u);
  BOOST_TEST(l->text(0, 0) == "A");
  BOOST_TEST(l->ints(1) == (std::vector<int64_t>{7}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(missing_declared_column_is_an_error) {
  auto l = load("id,other\nA,1\n", one_column(kInteger));
  BOOST_TEST_REQUIRE(!l->result.ok());
  BOOST_TEST(l->result.error().exit_code == 3);
  BOOST_TEST(l->result.error().message == "missing column 'v' in the header of test.csv");

  auto two = load("other\n1\n", one_column(kInteger));
  BOOST_TEST_REQUIRE(!two->result.ok());
  BOOST_TEST(two->result.error().message == "missing columns 'id', 'v' in the header of test.csv");
}

BOOST_AUTO_TEST_CASE(duplicate_header_name_is_an_error) {
  auto l = load("id,v,v\nA,1,2\n", one_column(kInteger));
  BOOST_TEST_REQUIRE(!l->result.ok());
  BOOST_TEST(l->result.error().exit_code == 3);
  BOOST_TEST(l->result.error().message ==
             "duplicate column 'v' in the header of test.csv (fields 2 and 3)");
}

BOOST_AUTO_TEST_CASE(empty_file_is_an_error) {
  for (const char* text : {"", "\xEF\xBB\xBF", "\n\n", "\r\n"}) {
    auto l = load(text, one_column(kInteger));
    BOOST_TEST_REQUIRE(!l->result.ok());
    BOOST_TEST(l->result.error().exit_code == 3);
    BOOST_TEST(l->result.error().message == "test.csv is empty (expected a header row)");
  }
}

BOOST_AUTO_TEST_CASE(malformed_header_is_an_error) {
  auto l = load("id,\"v\n", one_column(kInteger));
  BOOST_TEST_REQUIRE(!l->result.ok());
  BOOST_TEST(l->result.error().message.find("bad header in test.csv on line 1: unterminated") ==
             0u);
}

BOOST_AUTO_TEST_CASE(header_only_file_has_no_rows) {
  auto l = load("id,v\n", one_column(kInteger));
  BOOST_TEST(l->table().read == 0u);
  BOOST_TEST(l->table().rows == 0u);
  BOOST_TEST(l->table().columns.size() == 2u);
}

// --- Typing ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(bool_is_exactly_true_or_false) {
  BOOST_TEST(accepted(kBool, "true"));
  BOOST_TEST(accepted(kBool, "false"));
  BOOST_TEST(reason_for(kBool, "TRUE") ==
             "bad boolean 'TRUE' in column v (expected true or false)");
  for (const char* bad : {"1", "0", "yes", "True", " true", "true "})
    BOOST_TEST(!accepted(kBool, bad), bad);
}

BOOST_AUTO_TEST_CASE(integer_spelling_and_range) {
  auto l = load("id,v\nA,42\nB,-7\nC,007\nD,9223372036854775807\nE,-9223372036854775808\nF,-0\n",
                one_column(kInteger));
  BOOST_TEST(l->table().rows == 6u);
  BOOST_TEST(l->ints(1) == (std::vector<int64_t>{42, -7, 7, INT64_MAX, INT64_MIN, 0}),
             boost::test_tools::per_element());

  BOOST_TEST(reason_for(kInteger, "1.5") ==
             "bad integer '1.5' in column v (expected digits with an optional leading '-')");
  for (const char* bad : {"+1", "-", "1e3", " 1", "1 ", "0x10", "١٢", "--1"})
    BOOST_TEST(!accepted(kInteger, bad), bad);
  BOOST_TEST(reason_for(kInteger, "9223372036854775808") ==
             "integer '9223372036854775808' in column v is out of range");
  BOOST_TEST(reason_for(kInteger, "-9223372036854775809") ==
             "integer '-9223372036854775809' in column v is out of range");
  BOOST_TEST(reason_for(kInteger, "99999999999999999999999999") ==
             "integer '99999999999999999999999999' in column v is out of range");
  // A long run of digits followed by junk is a bad spelling, not a range problem.
  BOOST_TEST(reason_for(kInteger, "99999999999999999999x").find("bad integer") == 0u);
}

BOOST_AUTO_TEST_CASE(number_is_a_plain_decimal) {
  auto l = load("id,v\nA,1\nB,-0.5\nC,.25\nD,5.\nE,1e3\nF,2.5E-2\n", one_column(kNumber));
  BOOST_TEST(l->table().rows == 6u);
  BOOST_TEST(l->nums(1) == (std::vector<double>{1, -0.5, 0.25, 5, 1000, 0.025}),
             boost::test_tools::per_element());
  BOOST_TEST(reason_for(kNumber, "abc") ==
             "bad number 'abc' in column v (expected a decimal number such as -12.5)");
  for (const char* bad :
       {"inf", "nan", "-inf", "0x10", "1e", "1e+", ".", "-", "+1", " 1", "\"1,5\"", "1.2.3", "e5"})
    BOOST_TEST(!accepted(kNumber, bad), bad);
  BOOST_TEST(reason_for(kNumber, "1e999") == "number '1e999' in column v is out of range");
}

BOOST_AUTO_TEST_CASE(date_is_strict) {
  BOOST_TEST(accepted(kDate, "2020-02-29"));
  BOOST_TEST(reason_for(kDate, "2019-02-30") ==
             "bad date '2019-02-30' in column v (expected YYYY-MM-DD)");
  for (const char* bad : {"2019-02-29", "2018-13-01", "2018-1-1", "18-01-01", "2018/01/01"})
    BOOST_TEST(!accepted(kDate, bad), bad);
}

BOOST_AUTO_TEST_CASE(birth_date_reason_names_the_column) {
  auto l = load(std::string(kHeader) + "A1,2019-02-30,F,true,1,1,,\n", case_schema());
  const Reject& r = l->reject();
  BOOST_TEST(r.column == "birth_date");
  BOOST_TEST(r.reason == "bad date '2019-02-30' in column birth_date (expected YYYY-MM-DD)");
  BOOST_TEST(r.line == 2u);
}

BOOST_AUTO_TEST_CASE(enum_values_must_be_in_the_domain) {
  const Type sex = one_of({"F", "M", "X"});
  BOOST_TEST(accepted(sex, "X"));
  BOOST_TEST(reason_for(sex, "Q") ==
             R"(bad value 'Q' in column v (expected one of {"F", "M", "X"}))");
  BOOST_TEST(!accepted(sex, "f"));   // case matters
  BOOST_TEST(!accepted(sex, "F "));  // nothing is trimmed
}

BOOST_AUTO_TEST_CASE(text_takes_any_utf8) {
  auto l = load("id,v\nA,Bamako – Sokoniko ☺\nB,  spaced  \nC,日本\n", one_column(kText));
  BOOST_TEST(l->table().rows == 3u);
  BOOST_TEST(l->text(1, 0) == "Bamako – Sokoniko ☺");
  BOOST_TEST(l->text(1, 1) == "  spaced  ");
}

BOOST_AUTO_TEST_CASE(sets_are_sorted_unique_ids) {
  auto l = load("id,v\nA,wol;eng;wol\nB,eng\nC,\n", one_column(set_of()));
  BOOST_TEST(l->table().rows == 3u);
  const Column& c = l->col(1);
  const std::vector<std::string> a = l->set(1, 0);
  BOOST_TEST(a.size() == 2u);
  BOOST_TEST(std::is_sorted(c.set(0), c.set(0) + c.set_size(0)));
  BOOST_TEST(std::count(a.begin(), a.end(), "wol") == 1);
  BOOST_TEST(std::count(a.begin(), a.end(), "eng") == 1);
  BOOST_TEST(l->set(1, 1) == (std::vector<std::string>{"eng"}), boost::test_tools::per_element());
  BOOST_TEST(!l->valid(1, 2));  // blank, not blank_is_empty: missing
  BOOST_TEST(c.set_size(2) == 0u);
}

BOOST_AUTO_TEST_CASE(set_elements_are_never_empty) {
  BOOST_TEST(reason_for(set_of(), "eng;;fra") ==
             "empty element in 'eng;;fra' in column v (elements are separated by a single ';')");
  for (const char* bad : {";eng", "eng;", ";"}) BOOST_TEST(!accepted(set_of(), bad), bad);
  BOOST_TEST(accepted(set_of(), "eng; fra"));  // nothing trimmed: " fra" is an element
}

BOOST_AUTO_TEST_CASE(set_elements_checked_against_the_domain) {
  const Type v = set_of({"uasc", "vot", "medical"});
  BOOST_TEST(accepted(v, "vot;uasc"));
  BOOST_TEST(reason_for(v, "uasc;child") ==
             R"(bad element 'child' in column v (expected set of {"uasc", "vot", "medical"}))");
}

// `format "AAA"`: the spec's ISO codes. A text or set element of another shape rejects the
// row (`mli`, `Mali`, `GIN ` would otherwise be decided as some other country).
std::string reason_with_format(const Type& type, const std::string& format, const std::string& field,
                               LoadOptions options = {}) {
  TableSchema s = one_column(type);
  s.columns[1].format = format;
  return reason_in(s, field, options);
}

BOOST_AUTO_TEST_CASE(texts_of_a_format) {
  for (const char* ok : {"MLI", "GIN", "XXA", ""})  // blank: missing, as without a format
    BOOST_TEST(reason_with_format(kText, "AAA", ok) == "", ok);
  BOOST_TEST(reason_with_format(kText, "AAA", "mli") ==
             R"(bad value 'mli' in column v (expected the format "AAA"))");
  for (const char* bad : {"Mali", "GIN ", " GIN", "GI", "G1N", "ÉTA", "\"MLI \""})
    BOOST_TEST(reason_with_format(kText, "AAA", bad) != "", bad);
  BOOST_TEST(reason_with_format(kText, "AA-99.a", "LP-07.x") == "");
  BOOST_TEST(reason_with_format(kText, "AA-99.a", "LP-07-x") != "");
  // Checked in every declared column, read by the rules or not, like every other type.
  LoadOptions unwanted;
  unwanted.wanted = {true, false};
  BOOST_TEST(reason_with_format(kText, "AAA", "mli", unwanted) != "");
}

BOOST_AUTO_TEST_CASE(set_elements_of_a_format) {
  BOOST_TEST(reason_with_format(set_of(), "aaa", "bam;fra") == "");
  BOOST_TEST(reason_with_format(set_of(), "aaa", "bam;SUS") ==
             R"(bad element 'SUS' in column v (expected the format "aaa"))");
  BOOST_TEST(reason_with_format(set_of(), "aaa", "bam; fra") != "");
  BOOST_TEST(reason_with_format(set_of(), "aaa", "bam;;fra") ==
             "empty element in 'bam;;fra' in column v (elements are separated by a single ';')");
}

BOOST_AUTO_TEST_CASE(fits_format_placeholders) {
  BOOST_TEST(fits_format("Zz0-", "Aa9-"));
  BOOST_TEST(fits_format("Aa9", "Aa9"));  // the placeholders' own characters are of their class
  BOOST_TEST(fits_format("b", "c") == false);  // anything else is itself
  BOOST_TEST(fits_format("@a9", "Aa9") == false);  // '@' is just below 'A'
  BOOST_TEST(fits_format("[a9", "Aa9") == false);  // '[' just above 'Z'
  BOOST_TEST(fits_format("A`9", "Aa9") == false);  // '`' just below 'a'
  BOOST_TEST(fits_format("A{9", "Aa9") == false);  // '{' just above 'z'
  BOOST_TEST(fits_format("Aa/", "Aa9") == false);  // '/' just below '0'
  BOOST_TEST(fits_format("Aa:", "Aa9") == false);  // ':' just above '9'
  BOOST_TEST(fits_format("", ""));
  BOOST_TEST(fits_format("A", "") == false);
}

BOOST_AUTO_TEST_CASE(blank_is_empty_sets) {
  TableSchema s = one_column(set_of({"uasc", "vot"}), /*required=*/true);
  s.columns[1].blank_is_empty = true;
  auto l = load("id,v\nA,\nB,vot\n", s);
  BOOST_TEST(l->table().rows == 2u);  // required, yet blank is a value: the empty set
  BOOST_TEST(l->valid(1, 0));
  BOOST_TEST(l->set(1, 0).empty());
  BOOST_TEST(l->set(1, 1) == (std::vector<std::string>{"vot"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(required_blank_rejects_the_row) {
  auto l = load(std::string(kHeader) + "A1,,,true,1,1,,\nA2,,F,true,1,1,,\n", case_schema());
  const Table& t = l->table();
  BOOST_TEST(t.rows == 1u);
  const Reject& r = l->reject();
  BOOST_TEST(r.line == 2u);
  BOOST_TEST(r.column == "sex");
  BOOST_TEST(r.reason == "missing required field sex");
  BOOST_TEST(reason_for(kInteger, "", /*required=*/true) == "missing required field v");
  BOOST_TEST(accepted(kInteger, ""));  // not required: missing
}

BOOST_AUTO_TEST_CASE(blank_key_rejects_the_row) {
  TableSchema s = one_column(kInteger);
  s.columns[0].required = false;  // a key is required all the same
  auto l = load("id,v\n,1\n", s);
  BOOST_TEST(l->reject().reason == "missing required field id");
}

BOOST_AUTO_TEST_CASE(first_bad_field_left_to_right_is_reported) {
  auto l = load(std::string(kHeader) + "A1,bad,Q,maybe,x,y,,zz\n", case_schema());
  BOOST_TEST(l->reject().column == "birth_date");
  // File order, not schema order.
  auto swapped = load("v,id\nx,\n", one_column(kInteger));
  BOOST_TEST(swapped->reject().column == "v");
}

// --- Bytes: UTF-8 and NUL --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(invalid_utf8_rejects_with_byte_offset) {
  //                 0123 4567 8
  auto l = load(
      "id,v\nA,ab\xFF"
      "c\nB,ok\n",
      one_column(kText));
  BOOST_TEST(l->table().rows == 1u);
  const Reject& r = l->reject();
  BOOST_TEST(r.column == "v");
  BOOST_TEST(r.reason == "invalid UTF-8 in column v at byte offset 9");
  BOOST_TEST(r.line == 2u);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_offset_counts_the_bom_and_quotes) {
  auto l = load("\xEF\xBB\xBFid,v\nA,\"x\xC3\"\n", one_column(kText));
  BOOST_TEST(l->reject().reason == "invalid UTF-8 in column v at byte offset 12");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_forms) {
  for (const char* bad :
       {"\x80", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
        "\xF5\x80\x80\x80", "\xC3", "\xE2\x82", "\xF0\x9F\x98", "\xFE", "a\xC3(b"})
    BOOST_TEST(reason_for(kText, bad).find("invalid UTF-8 in column v") == 0u);
  for (const char* good : {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xEF\xBF\xBD",
                           "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF"})
    BOOST_TEST(accepted(kText, good));
}

BOOST_AUTO_TEST_CASE(invalid_utf8_in_a_date_column_is_reported_as_such) {
  BOOST_TEST(reason_for(kDate, "2019\xFF").find("invalid UTF-8") == 0u);
}

BOOST_AUTO_TEST_CASE(nul_byte_rejects) {
  const std::string text = std::string("id,v\nA,a") + '\0' + "b\nB,ok\n";
  auto l = load(text, one_column(kText));
  BOOST_TEST(l->table().rows == 1u);
  BOOST_TEST(l->reject().reason == "NUL byte in column v at byte offset 8");
}

// --- Keys ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(duplicate_key_rejects_later_rows) {
  auto l = load(std::string(kHeader) +
                    "A1,,F,,,,,\n"
                    "A2,,M,,,,,\n"
                    "A1,,X,,,,,\n"
                    "A1,,M,,,,,\n",
                case_schema());
  const Table& t = l->table();
  BOOST_TEST(t.read == 4u);
  BOOST_TEST(t.rows == 2u);
  BOOST_TEST(l->text(2, 0) == "F");  // the first A1 is kept
  BOOST_TEST_REQUIRE(t.rejects.size() == 2u);
  BOOST_TEST(t.rejects[0].line == 4u);
  BOOST_TEST(t.rejects[0].column == "case_id");
  BOOST_TEST(t.rejects[0].reason == "duplicate case_id 'A1' (first on line 2)");
  BOOST_TEST(t.rejects[1].line == 5u);
  BOOST_TEST(t.rejects[1].reason == "duplicate case_id 'A1' (first on line 2)");
}

BOOST_AUTO_TEST_CASE(rejected_row_does_not_claim_its_key) {
  auto l = load("id,v\nA,bad\nA,1\n", one_column(kInteger));
  BOOST_TEST(l->table().rows == 1u);
  BOOST_TEST(l->reject().reason.find("bad integer") == 0u);
}

BOOST_AUTO_TEST_CASE(duplicate_key_is_an_error_for_tables) {
  auto l = load("id,v\nA,1\nB,2\nA,3\n", one_column(kInteger), {}, /*reject_duplicates=*/false);
  BOOST_TEST_REQUIRE(!l->result.ok());
  BOOST_TEST(l->result.error().exit_code == 3);
  BOOST_TEST(l->result.error().message == "duplicate id 'A' in test.csv on lines 2 and 4");
}

BOOST_AUTO_TEST_CASE(composite_and_typed_keys) {
  TableSchema s;
  s.name = "languages";
  s.columns = {column("nationality", kText, true), column("language", kText, true)};
  s.key = {0, 1};
  auto ok = load("nationality,language\nMLI,bam\nMLI,fra\nSEN,fra\n", s, {}, false);
  BOOST_TEST(ok->table().rows == 3u);
  // Each column of a composite key keeps its own texts, whatever the order of the key's
  // columns (the loader interns a key's texts to check it, before committing the row).
  s.key = {1, 0};
  auto reversed = load("nationality,language\nMLI,bam\nSEN,fra\n", s, {}, false);
  BOOST_TEST_REQUIRE(reversed->table().rows == 2u);
  BOOST_TEST(reversed->text(0, 0) == "MLI");
  BOOST_TEST(reversed->text(1, 0) == "bam");
  BOOST_TEST(reversed->text(0, 1) == "SEN");
  BOOST_TEST(reversed->text(1, 1) == "fra");
  s.key = {0, 1};
  auto dup = load("nationality,language\nMLI,bam\nMLI,fra\nMLI,bam\n", s, {}, false);
  BOOST_TEST_REQUIRE(!dup->result.ok());
  BOOST_TEST(dup->result.error().message ==
             "duplicate key (nationality, language) ('MLI', 'bam') in test.csv on lines 2 and 4");

  TableSchema flows;
  flows.name = "flows";
  flows.columns = {column("week", kDate, true), column("observed", kInteger)};
  flows.key = {0};
  auto by_date = load("week,observed\n2019-01-14,3\n2019-01-07,1\n2019-01-14,4\n", flows);
  BOOST_TEST(by_date->reject().reason == "duplicate week '2019-01-14' (first on line 2)");

  // Keys compare as values: 0 and -0 are one number.
  TableSchema rates;
  rates.name = "rates";
  rates.columns = {column("rate", kNumber, true)};
  rates.key = {0};
  auto by_number = load("rate\n0\n1.5\n-0\n", rates);
  BOOST_TEST(by_number->reject().reason == "duplicate rate '-0' (first on line 2)");
}

BOOST_AUTO_TEST_CASE(same_text_same_id_across_columns_and_loads) {
  TableSchema s = one_column(kText);
  Interner interner;
  auto a = load_csv_text("id,v\nMLI,GIN\n", "a.csv", s, interner);
  auto b = load_csv_text("id,v\nGIN,MLI\n", "b.csv", s, interner);
  BOOST_TEST_REQUIRE(a.ok());
  BOOST_TEST_REQUIRE(b.ok());
  BOOST_TEST(a->columns[0].text(0) == b->columns[1].text(0));
  BOOST_TEST(a->columns[1].text(0) == b->columns[0].text(0));
}

// --- Minimisation: LoadOptions.wanted --------------------------------------------------------

BOOST_AUTO_TEST_CASE(unwanted_columns_are_validated_but_not_loaded) {
  LoadOptions options;
  options.wanted = {false, false, true, false, false, false, false, true};
  auto l = load(std::string(kHeader) +
                    "A1,1990-06-15,F,true,3,1.5,eng,uasc\n"
                    "A2,2019-02-30,M,true,3,1.5,eng,\n"  // bad date in an unwanted column
                    "A3,,M,true,3,1.5,eng,\n",
                case_schema(), options);
  const Table& t = l->table();
  BOOST_TEST(t.rows == 2u);
  BOOST_TEST(l->reject().column == "birth_date");
  BOOST_TEST(l->col(0).loaded);  // the key, although not wanted
  BOOST_TEST(l->text(0, 1) == "A3");
  BOOST_TEST(l->col(2).loaded);
  BOOST_TEST(l->text(2, 1) == "M");
  for (size_t c : {1, 3, 4, 5, 6}) {
    const Column& col = l->col(c);
    BOOST_TEST(!col.loaded);
    BOOST_TEST(col.size() == 0u);
    BOOST_TEST(col.set_pool().empty());
    Column blank;
    blank.loaded = col.loaded;
    blank.kind = col.kind;
    BOOST_TEST((col == blank));  // nothing stored
  }
  BOOST_TEST(l->interner.find("eng") == Interner::kNone);  // unwanted texts are not interned
}

BOOST_AUTO_TEST_CASE(unwanted_required_and_enum_columns_still_reject) {
  LoadOptions options;
  options.wanted = {true};  // shorter than the schema: the rest is unwanted
  auto l = load(std::string(kHeader) + "A1,,,true,3,1.5,,\nA2,,Q,true,3,1.5,,\n", case_schema(),
                options);
  const Table& t = l->table();
  BOOST_TEST(t.rows == 0u);
  BOOST_TEST_REQUIRE(t.rejects.size() == 2u);
  BOOST_TEST(t.rejects[0].reason == "missing required field sex");
  BOOST_TEST(t.rejects[1].reason.find("bad value 'Q' in column sex") == 0u);
}

// --- Hostile input ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(huge_fields) {
  const std::string big(10 << 20, 'x');
  auto l = load("id,v\nA," + big + "\n", one_column(kText));
  BOOST_TEST(l->table().rows == 1u);
  BOOST_TEST(l->text(1, 0).size() == big.size());
  // A huge bad field is quoted back cut short.
  const std::string reason = reason_for(kDate, big);
  BOOST_TEST(reason.size() < 200u);
  BOOST_TEST(reason.find("...' in column v") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(field_count_limit) {
  // At the limit the record is an ordinary wrong-width row; one past it, the scanner stops
  // keeping fields and says so.
  std::string at_limit = "A";
  for (size_t i = 1; i < detail::kMaxFields; ++i) at_limit += ",x";
  auto at = load("id,v\n" + at_limit + "\n", one_column(kText));
  BOOST_TEST(at->reject().reason ==
             "expected 2 fields, found " + std::to_string(detail::kMaxFields));
  auto past = load("id,v\n" + at_limit + ",x\nB,ok\n", one_column(kText));
  BOOST_TEST(past->table().rows == 1u);
  BOOST_TEST(past->reject().reason == "too many fields (more than 10000 in one record)");
  BOOST_TEST(past->reject().column == "");

  auto header = load(at_limit + ",x\n", one_column(kText));
  BOOST_TEST_REQUIRE(!header->result.ok());
  BOOST_TEST(header->result.error().message ==
             "bad header in test.csv on line 1: too many fields (more than 10000 in one record)");
}

BOOST_AUTO_TEST_CASE(set_element_limit) {
  std::string at_limit = "e0";
  for (size_t i = 1; i < detail::kMaxSetElements; ++i) at_limit += ";e" + std::to_string(i);
  auto at = load("id,v\nA," + at_limit + "\n", one_column(set_of()));
  BOOST_TEST(at->table().rows == 1u);
  BOOST_TEST(at->set(1, 0).size() == detail::kMaxSetElements);
  BOOST_TEST(reason_for(set_of(), at_limit + ";x") ==
             "too many elements in column v (more than 1000)");
}

BOOST_AUTO_TEST_CASE(reasons_escape_control_characters) {
  BOOST_TEST(reason_for(kDate, "\"2019\n\t01\"") ==
             "bad date '2019\\n\\t01' in column v (expected YYYY-MM-DD)");
  BOOST_TEST(reason_for(kDate, "a\x01z") == "bad date 'a\\x01z' in column v (expected YYYY-MM-DD)");
}

BOOST_AUTO_TEST_CASE(reasons_cut_at_a_code_point) {
  const std::string field = std::string(59, 'a') + "\xC3\xA9" + "tail";
  const std::string reason = reason_for(kDate, field);
  BOOST_TEST(reason.find(std::string(59, 'a') + "...'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(garbage_never_crashes) {
  // Every prefix of a nasty text: each either loads or errors, and read = rows + rejects.
  const std::string nasty = kHeader +
                            "\"A1\",\"1990-06-15\",F,\"tr\"\"ue\",3,,\"a;b\",\"uasc\"\r\n"
                            "A2,\r,\"\n\",\0,\xFF,\"\",;;,\n"
                            "\"\"\"\",,,,,,,\n\r\r\n\""s;
  for (size_t n = 0; n <= nasty.size(); ++n) {
    auto l = load(nasty.substr(0, n), case_schema());
    if (!l->result.ok()) continue;
    const Table& t = l->table();
    if (t.read != t.rows + t.rejects.size()) BOOST_FAIL("read != rows + rejects at prefix " << n);
  }
}

// --- Files -----------------------------------------------------------------------------------

using testing::TempFile;

BOOST_AUTO_TEST_CASE(load_csv_reads_a_file) {
  TempFile file("\xEF\xBB\xBFid,v\r\nA,\"x,y\"\r\nB,2\r\nA,3");
  Interner interner;
  auto r = load_csv(file.path, one_column(kText), interner);
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(r->read == 3u);
  BOOST_TEST(r->rows == 2u);
  BOOST_TEST(interner.text(r->columns[1].text(0)) == "x,y");
  BOOST_TEST_REQUIRE(r->rejects.size() == 1u);
  BOOST_TEST(r->rejects[0].line == 4u);
}

BOOST_AUTO_TEST_CASE(load_csv_reads_a_pipe) {
  // Not a regular file: no size up front, so the buffer grows as the bytes come.
  int fds[2];
  BOOST_TEST_REQUIRE(pipe(fds) == 0);
  std::string text = "id,v\n";
  for (int i = 0; i < 20000; ++i) text += "C" + std::to_string(i) + "," + std::to_string(i) + "\n";
  std::thread writer([&] {
    for (size_t done = 0; done < text.size();) {
      const ssize_t n = write(fds[1], text.data() + done, text.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    close(fds[1]);
  });
  Interner interner;
  auto r = load_csv("/proc/self/fd/" + std::to_string(fds[0]), one_column(kInteger), interner);
  writer.join();
  close(fds[0]);
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(r->rows == 20000u);
  BOOST_TEST_REQUIRE(r->columns[1].size() == 20000u);
  BOOST_TEST(r->columns[1].integer(19999) == 19999);
}

BOOST_AUTO_TEST_CASE(load_csv_errors_name_the_file) {
  TempFile file("id\nA\n");
  Interner interner;
  auto missing_column = load_csv(file.path, one_column(kText), interner);
  BOOST_TEST_REQUIRE(!missing_column.ok());
  BOOST_TEST(missing_column.error().message == "missing column 'v' in the header of " + file.path);

  auto missing_file = load_csv("/nonexistent/cases.csv", one_column(kText), interner);
  BOOST_TEST_REQUIRE(!missing_file.ok());
  BOOST_TEST(missing_file.error().exit_code == 3);
  BOOST_TEST(missing_file.error().message ==
             "cannot open '/nonexistent/cases.csv': No such file or directory");

  auto directory = load_csv("/tmp", one_column(kText), interner);
  BOOST_TEST_REQUIRE(!directory.ok());
  BOOST_TEST(directory.error().message == "cannot read '/tmp': Is a directory");
}

BOOST_AUTO_TEST_CASE(load_csv_empty_file) {
  TempFile file("");
  Interner interner;
  auto r = load_csv(file.path, one_column(kText), interner);
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message == file.path + " is empty (expected a header row)");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace crible::data
