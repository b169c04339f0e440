// tests/unit/data/csv_reader_test.cpp: the RFC 4180 scanner alone, then three properties over
// generated input: it reads any text as a byte-at-a-time scanner does, quoting any texts and
// reading them back gives the same texts, and random bytes never crash the loader (every
// record ends as a row or a reject).
#include "data/detail/csv_reader.h"

#include <boost/test/unit_test.hpp>
#include <random>
#include <string>
#include <vector>

#include "data/data.h"

namespace crible::data::detail {
namespace {

struct Scanned {
  uint64_t line;
  std::vector<std::string> fields;
  CsvProblem problem;
  bool unescaped;
};

std::vector<Scanned> scan(std::string_view text) {
  std::vector<Scanned> out;
  CsvReader reader(text);
  CsvRecord record;
  while (reader.next(record)) {
    Scanned s{record.line, {}, record.problem, record.unescaped};
    for (const CsvField& f : record.fields) s.fields.emplace_back(f.value);
    out.push_back(std::move(s));
  }
  return out;
}

// RFC 4180 writing: quote when needed, double the quotes.
std::string quote(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (const char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// The scanner's contract one byte at a time, with no lookahead beyond a CR or a quote: the
// reader finds field ends 64 bytes at a time, and this is what it must agree with.
struct ReferenceField {
  std::string value;
  size_t raw_begin, raw_end;
  bool suspect;
  bool operator==(const ReferenceField&) const = default;
};
struct ReferenceRecord {
  uint64_t line = 0;
  std::vector<ReferenceField> fields;
  CsvProblem problem = CsvProblem::None;
  size_t problem_field = 0;
  uint64_t problem_line = 0;
  bool unescaped = false;
  bool operator==(const ReferenceRecord&) const = default;
};

std::vector<ReferenceRecord> reference_scan(std::string_view t) {
  auto is_suspect = [](char c) { return c == '\0' || static_cast<unsigned char>(c) >= 0x80; };
  std::vector<ReferenceRecord> out;
  size_t p = 0;
  uint64_t line = 1;
  if (t.substr(0, 3) == "\xEF\xBB\xBF") p = 3;
  for (;;) {
    while (p < t.size() && (t[p] == '\n' || (t[p] == '\r' && p + 1 < t.size() && t[p + 1] == '\n'))) {
      p += t[p] == '\n' ? 1 : 2;
      ++line;
    }
    if (p >= t.size()) return out;
    ReferenceRecord& r = out.emplace_back();
    r.line = line;
    auto flag = [&](CsvProblem problem) {
      if (r.problem != CsvProblem::None) return false;
      r.problem = problem;
      r.problem_field = r.fields.size();
      return true;
    };
    for (bool more = true; more;) {
      more = false;
      ReferenceField f{"", p, p, false};
      bool escaped = false;
      const bool quoted = t[p] == '"';
      if (quoted) {
        const uint64_t open_line = line;
        for (++p;; ++p) {
          if (p >= t.size()) {
            if (flag(CsvProblem::UnterminatedQuote)) r.problem_line = open_line;
            break;
          }
          if (t[p] == '"' && p + 1 < t.size() && t[p + 1] == '"') {
            f.value += '"';
            escaped = true;
            ++p;
          } else if (t[p] == '"') {
            ++p;
            break;
          } else {
            line += t[p] == '\n';
            f.suspect |= is_suspect(t[p]);
            f.value += t[p];
          }
        }
      }
      const size_t tail = p;
      for (;; ++p) {
        if (p >= t.size()) break;
        const char c = t[p];
        if (c == ',' || c == '\n' || (c == '\r' && p + 1 < t.size() && t[p + 1] == '\n')) break;
        if (c == '\r') flag(CsvProblem::LoneCarriageReturn);
        if (c == '"') flag(quoted ? CsvProblem::TextAfterQuote : CsvProblem::QuoteInUnquoted);
        f.suspect |= is_suspect(c);
      }
      f.raw_end = p;
      if (p < t.size()) {
        more = t[p] == ',';
        line += t[p] != ',';
        p += t[p] == '\r' ? 2 : 1;
      }
      if (quoted && f.raw_end > tail) flag(CsvProblem::TextAfterQuote);
      if (!quoted) f.value = std::string(t.substr(tail, f.raw_end - tail));
      if (r.fields.size() == kMaxFields) {
        flag(CsvProblem::TooManyFields);
        continue;
      }
      r.unescaped |= escaped;
      r.fields.push_back(std::move(f));
    }
  }
}

std::vector<ReferenceRecord> scan_fully(std::string_view text) {
  std::vector<ReferenceRecord> out;
  CsvReader reader(text);
  CsvRecord record;
  while (reader.next(record)) {
    ReferenceRecord r{record.line, {}, record.problem, record.problem_field, record.problem_line,
                      record.unescaped};
    for (const CsvField& f : record.fields)
      r.fields.push_back({std::string(f.value), f.raw_begin, f.raw_end, f.suspect});
    out.push_back(std::move(r));
  }
  return out;
}

BOOST_AUTO_TEST_SUITE(csv_reader)

BOOST_AUTO_TEST_CASE(reads_as_a_byte_at_a_time_scanner_does) {
  // Texts of up to ~1 KB: runs of plain bytes of every length up to 90 put the stops at
  // every offset of a 64-byte block and across blocks; quoted fields move the reader past
  // blocks it mapped; CR, NUL and bytes >= 0x80 everywhere, and text ends anywhere.
  std::mt19937 rng(20181105);
  const std::string separators = std::string(",,,,,,\n\n\n\"\r\0\xC3\xFF", 14);
  size_t records = 0, problems = 0, suspects = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string text = round % 97 == 0 ? "\xEF\xBB\xBF" : "";
    const size_t pieces = rng() % 60;
    for (size_t i = 0; i < pieces; ++i) {
      std::string run(rng() % 3 == 0 ? rng() % 91 : rng() % 9, 'a');
      for (char& c : run) c = static_cast<char>('a' + rng() % 26);
      if (rng() % 6 == 0) {  // a quoted field, with what only quotes allow in it
        for (char& c : run) c = rng() % 8 == 0 ? ",\n\r\"\xC3"[rng() % 5] : c;
        text += '"';
        for (char c : run) text += c == '"' ? std::string("\"\"") : std::string(1, c);
        if (rng() % 10 != 0) text += '"';  // now and then left open
      } else {
        text += run;
      }
      text += separators[rng() % separators.size()];
    }
    const auto want = reference_scan(text);
    const auto got = scan_fully(text);
    BOOST_TEST_REQUIRE(got.size() == want.size(), "round " << round);
    for (size_t r = 0; r < want.size(); ++r) {
      BOOST_TEST_REQUIRE((got[r] == want[r]), "round " << round << ", record " << r);
      problems += want[r].problem != CsvProblem::None;
      for (const auto& f : want[r].fields) suspects += f.suspect;
    }
    records += want.size();
  }
  // The generator reaches what it is meant to.
  BOOST_TEST_MESSAGE(records << " records, " << problems << " with a problem, " << suspects << " suspect fields");
  BOOST_TEST(records > 20000u);
  BOOST_TEST(problems > 2000u);
  BOOST_TEST(suspects > 5000u);
  BOOST_TEST(records - problems > 10000u);
}

BOOST_AUTO_TEST_CASE(fields_and_lines) {
  const auto r = scan("a,b\n\"x,1\",\"y\"\"z\"\n\"p\nq\",\n,\n");
  BOOST_TEST_REQUIRE(r.size() == 4u);
  BOOST_TEST(r[0].fields == (std::vector<std::string>{"a", "b"}), boost::test_tools::per_element());
  BOOST_TEST(r[1].fields == (std::vector<std::string>{"x,1", "y\"z"}),
             boost::test_tools::per_element());
  BOOST_TEST(r[2].fields == (std::vector<std::string>{"p\nq", ""}),
             boost::test_tools::per_element());
  BOOST_TEST(r[3].fields == (std::vector<std::string>{"", ""}), boost::test_tools::per_element());
  BOOST_TEST(r[2].line == 3u);
  BOOST_TEST(r[3].line == 5u);
  for (const auto& s : r) BOOST_TEST((s.problem == CsvProblem::None));
  // Only the record with "" has a value outside the text (the loader copies those alone).
  BOOST_TEST(!r[0].unescaped);
  BOOST_TEST(r[1].unescaped);
  BOOST_TEST(!r[2].unescaped);
  BOOST_TEST(!r[3].unescaped);
}

BOOST_AUTO_TEST_CASE(several_escaped_fields_in_one_record) {
  // Several fields unescaped into the scratch buffer, which grows as they are added.
  const std::string long_field(5000, 'x');
  const auto r = scan("\"a\"\"\",\"" + long_field + "\"\"\",\"\"\"c\"\n");
  BOOST_TEST_REQUIRE(r.size() == 1u);
  BOOST_TEST(r[0].fields[0] == "a\"");
  BOOST_TEST(r[0].fields[1] == long_field + "\"");
  BOOST_TEST(r[0].fields[2] == "\"c");
}

BOOST_AUTO_TEST_CASE(problems_are_named) {
  BOOST_TEST((scan("a,\"b\n")[0].problem == CsvProblem::UnterminatedQuote));
  BOOST_TEST((scan("a,b\"c\n")[0].problem == CsvProblem::QuoteInUnquoted));
  BOOST_TEST((scan("a,\"b\"c\n")[0].problem == CsvProblem::TextAfterQuote));
  BOOST_TEST((scan("a,\"b\"\"\n")[0].problem == CsvProblem::UnterminatedQuote));
  BOOST_TEST((scan("a,b\rc\n")[0].problem == CsvProblem::LoneCarriageReturn));
  BOOST_TEST((scan("a,\"b\rc\"\n")[0].problem == CsvProblem::None));  // inside quotes: data
}

BOOST_AUTO_TEST_CASE(fields_past_the_limit_are_dropped) {
  std::string line = "\"q\"\"\"";  // an escaped field, so the scratch buffer is in play
  for (size_t i = 1; i < kMaxFields + 5; ++i) line += i % 2 ? ",\"a\"\"\"" : ",b";
  const std::string text = line + "\nnext\n";  // outlives the reader
  CsvReader reader(text);
  CsvRecord record;
  BOOST_TEST_REQUIRE(reader.next(record));
  BOOST_TEST((record.problem == CsvProblem::TooManyFields));
  BOOST_TEST(record.fields.size() == kMaxFields);
  BOOST_TEST(record.fields[0].value == "q\"");
  BOOST_TEST(record.fields[kMaxFields - 1].value == "a\"");
  BOOST_TEST_REQUIRE(reader.next(record));  // the next record starts where it should
  BOOST_TEST(record.line == 2u);
  BOOST_TEST(record.fields[0].value == "next");
}

BOOST_AUTO_TEST_CASE(suspect_bytes_are_marked) {
  CsvReader reader("abc,d\xC3\xA9,\"\xFF\",x\n");
  CsvRecord record;
  BOOST_TEST_REQUIRE(reader.next(record));
  BOOST_TEST(!record.fields[0].suspect);
  BOOST_TEST(record.fields[1].suspect);
  BOOST_TEST(record.fields[2].suspect);
  BOOST_TEST(!record.fields[3].suspect);
  BOOST_TEST(record.fields[2].raw_begin == 8u);
  BOOST_TEST(record.fields[2].raw_end == 11u);
}

BOOST_AUTO_TEST_CASE(long_runs_cross_the_wide_scan) {
  // Stops at every offset within and across 16-byte steps, and a suspect byte late in a run.
  for (size_t len = 0; len < 40; ++len) {
    const std::string field(len, 'k');
    const auto r = scan(field + "," + field + "\xC3\xA9" + field + "\n" + field);
    BOOST_TEST_REQUIRE(r.size() == (len == 0 ? 1u : 2u));
    BOOST_TEST(r[0].fields[0] == field);
    BOOST_TEST(r[0].fields[1] == field + "\xC3\xA9" + field);
  }
}

BOOST_AUTO_TEST_CASE(quoting_round_trips) {
  std::mt19937 rng(20190118);
  const std::string alphabet = "ab,\"\r\n;é ";  // é is two bytes: it may be split, that is fine
  for (int round = 0; round < 300; ++round) {
    const size_t rows = 1 + rng() % 5, cols = 1 + rng() % 5;
    std::vector<std::vector<std::string>> want(rows, std::vector<std::string>(cols));
    std::string text;
    for (auto& row : want) {
      for (size_t c = 0; c < cols; ++c) {
        const size_t len = rng() % 8;
        for (size_t i = 0; i < len; ++i) row[c] += alphabet[rng() % alphabet.size()];
        // A lone empty field would be a blank line, which is not a record.
        if (cols == 1 && row[c].empty()) row[c] = "b";
        text += (c ? "," : "") + quote(row[c]);
      }
      text += rng() % 2 ? "\r\n" : "\n";
    }
    const auto got = scan(text);
    BOOST_TEST_REQUIRE(got.size() == rows, "round " << round);
    for (size_t r = 0; r < rows; ++r) {
      BOOST_TEST((got[r].problem == CsvProblem::None));
      BOOST_TEST(got[r].fields == want[r], boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(random_bytes_never_crash_the_loader) {
  TableSchema schema;
  schema.name = "cases";
  ColumnDecl id;
  id.name = "id";
  id.type = Type::of(TypeKind::Text);
  id.required = true;
  ColumnDecl n;
  n.name = "n";
  n.type = Type::of(TypeKind::Integer);
  ColumnDecl s;
  s.name = "s";
  s.type = Type::set_of(TypeKind::Text);
  s.blank_is_empty = true;
  schema.columns = {id, n, s};
  schema.key = {0};
  std::mt19937 rng(7);
  const std::string alphabet = std::string("a1-,\";\r\n\xC3\xA9\xFF", 12) + std::string(1, '\0');
  for (int round = 0; round < 2000; ++round) {
    std::string text = "id,n,s\n";
    const size_t len = rng() % 64;
    for (size_t i = 0; i < len; ++i) text += alphabet[rng() % alphabet.size()];
    Interner interner;
    auto result = data::load_csv_text(text, "fuzz.csv", schema, interner);
    BOOST_TEST_REQUIRE(result.ok());
    const data::Table& t = *result;
    BOOST_TEST_REQUIRE(t.read == t.rows + t.rejects.size());
    for (const data::Column& c : t.columns) BOOST_TEST_REQUIRE(c.size() == t.rows);
    for (const data::Reject& r : t.rejects) BOOST_TEST_REQUIRE(!r.reason.empty());
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace crible::data::detail
