// tests/unit/data/large_file_test.cpp: a file large enough that load_csv maps it, releases
// the pages behind its scan, sizes its reservations from an estimate of the row count and
// loads it in parts side by side loads exactly as the same text given in memory and read in
// one pass: same columns, ids, lines and rejects.
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/data.h"
#include "support/column_decl.h"

namespace crible::data {
namespace {

using testing::column;

TableSchema schema() {
  TableSchema s;
  s.name = "cases";
  s.columns = {column("case_id", Type::of(TypeKind::Text), true), column("phone", Type::of(TypeKind::Text)),
               column("day", Type::of(TypeKind::Date)), column("n", Type::of(TypeKind::Integer)),
               column("langs", Type::set_of(TypeKind::Text))};
  s.key = {0};
  return s;
}

// About 40 MB: past the mapping threshold and past several release steps. Quoted fields with
// newlines, a duplicate key, a bad date and a short row are spread through it; the last
// record has no line end.
std::string big_text() {
  std::string t = "case_id,phone,day,n,langs\n";
  t.reserve(41u << 20);
  for (int i = 0; t.size() < (40u << 20); ++i) {
    const std::string id = "C" + std::to_string(i);
    if (i % 100003 == 7) {
      t += "C0,+1,2019-01-01,1,fra\n";  // duplicate key
    } else if (i % 77777 == 5) {
      t += id + ",+1,2019-02-30,1,fra\n";  // bad date
    } else if (i % 65537 == 3) {
      t += id + ",+1\n";  // short row
    } else if (i % 1000 == 2) {  // quotes doubled inside a quoted field: unescaped values
      t += id + ",\"+223 \"\"" + std::to_string(i % 89) + "\"\"\",2019-01-05," + std::to_string(i) +
           ",\"x\"\"y;bam\"\n";
    } else if (i % 1000 == 1) {
      t += id + ",\"+223\n" + std::to_string(i % 97) + "\",2019-01-" + std::to_string(10 + i % 19) +
           "," + std::to_string(i) + ",\"bam;fra\"\n";
    } else {
      t += id + ",+223" + std::to_string(i % 50000) + ",2018-12-" + std::to_string(10 + i % 19) + "," +
           std::to_string(i % 7) + (i % 3 ? ",fra;bam\n" : ",\n");
    }
  }
  t += "LAST,+1,2019-01-01,2,fra";
  return t;
}

BOOST_AUTO_TEST_CASE(mapped_file_loads_like_text_in_memory) {
  const std::string text = big_text();
  const auto path = std::filesystem::temp_directory_path() /
                    ("crible-large-" + std::to_string(::getpid()) + ".csv");
  {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }
  const TableSchema s = schema();
  Interner a, b, a1;
  LoadOptions three_parts, one_thread;
  three_parts.threads = 3;  // whatever the cores: parts of 13 MB, which the duplicates cross
  one_thread.threads = 1;
  auto from_file = load_csv(path.string(), s, a, three_parts);
  auto from_file_1 = load_csv(path.string(), s, a1, one_thread);
  auto from_text = load_csv_text(text, path.string(), s, b, one_thread);
  std::filesystem::remove(path);
  BOOST_REQUIRE(from_file_1.ok());
  BOOST_TEST(from_file_1->rows == from_text->rows);
  BOOST_TEST(from_file_1->row_line == from_text->row_line, boost::test_tools::per_element());
  BOOST_TEST(from_file_1->rejects.size() == from_text->rejects.size());
  BOOST_TEST((from_file_1->columns[1] == from_text->columns[1]));
  BOOST_REQUIRE(from_file.ok());
  BOOST_REQUIRE(from_text.ok());
  const Table& f = from_file.value();
  const Table& t = from_text.value();
  BOOST_TEST(f.rows > 500000u);
  BOOST_TEST(f.rows == t.rows);
  BOOST_TEST(f.read == t.read);
  BOOST_TEST(f.rows + f.rejects.size() == f.read);
  BOOST_TEST(f.row_line == t.row_line, boost::test_tools::per_element());
  BOOST_REQUIRE(f.rejects.size() == t.rejects.size());
  BOOST_TEST(f.rejects.size() >= 3u);
  for (size_t i = 0; i < f.rejects.size(); ++i) {
    BOOST_TEST(f.rejects[i].line == t.rejects[i].line);
    BOOST_TEST(f.rejects[i].column == t.rejects[i].column);
    BOOST_TEST(f.rejects[i].reason == t.rejects[i].reason);
  }
  BOOST_TEST(a.size() == b.size());
  for (size_t c = 0; c < s.columns.size(); ++c) {
    BOOST_TEST_CONTEXT("column " << s.columns[c].name) {
      const Column& x = f.columns[c];
      const Column& y = t.columns[c];
      BOOST_TEST(x.size() == y.size());
      BOOST_TEST((x == y));  // same validity, values and set pool, row for row
    }
  }
  // Ids are handed out in the same order, so the texts behind them agree too.
  for (uint32_t id = 0; id < a.size(); id += 997) BOOST_TEST(a.text(id) == b.text(id));
  BOOST_TEST(a.text(f.columns[0].text(f.rows - 1)) == "LAST");
  // The doubled quotes were unescaped (and outlived the reader's buffer).
  size_t quoted = 0;
  for (size_t r = 0; r < f.rows; ++r)
    if (f.columns[1].valid(r) && a.text(f.columns[1].text(r)).find('"') != std::string::npos)
      ++quoted;
  BOOST_TEST(quoted > 100u);
}

// The loader makes a column's room for the next rows resident before appending them: the
// hint writes nothing a reader could see, stays within the room reserved (asked for more, or
// with none reserved, it maps what there is), and the rows appended after it are as without.
BOOST_AUTO_TEST_CASE(room_made_resident_changes_nothing_appended) {
  for (const TypeKind kind : {TypeKind::Bool, TypeKind::Integer, TypeKind::Number, TypeKind::Date,
                              TypeKind::Text, TypeKind::Set}) {
    BOOST_TEST_CONTEXT("kind " << static_cast<int>(kind)) {
      Column plain, hinted, unreserved;
      for (Column* c : {&plain, &hinted, &unreserved}) c->kind = kind;
      plain.reserve(300000);
      hinted.reserve(300000);
      auto append = [&](Column& c, int r) {
        const uint32_t id = static_cast<uint32_t>(r % 7);
        if (r % 5 == 0) return c.append_missing();
        switch (kind) {
          case TypeKind::Bool: return c.append_bool(r % 2 == 0);
          case TypeKind::Integer: return c.append_integer(r * 3);
          case TypeKind::Number: return c.append_number(r * 0.5);
          case TypeKind::Date: return c.append_date(r);
          case TypeKind::Text: return c.append_text(id);
          default: return c.append_set(&id, 1);
        }
      };
      for (int r = 0; r < 1000; ++r) {
        append(plain, r);
        append(hinted, r);
        append(unreserved, r);
      }
      hinted.make_room_resident(10000000);  // far more than reserved
      unreserved.make_room_resident(200000);
      BOOST_TEST((hinted == plain));
      for (int r = 1000; r < 250000; ++r) {
        append(plain, r);
        append(hinted, r);
        append(unreserved, r);
      }
      BOOST_TEST((hinted == plain));
      BOOST_TEST((unreserved == plain));
    }
  }
}

}  // namespace
}  // namespace crible::data

namespace crible::data {
namespace {

// A duplicate key in a large reference table stops the load with the same error as in
// memory (such a table is read in one pass, not in parts: see LoadOptions::threads).
BOOST_AUTO_TEST_CASE(mapped_table_duplicate_key_stops_the_load) {
  std::string text = "case_id,phone,day,n,langs\n";
  for (int i = 0; text.size() < (8u << 20); ++i)
    text += "T" + std::to_string(i) + ",+1,2019-01-01," + std::to_string(i) + ",fra\n";
  text += "T5,+1,2019-01-01,5,fra\n";  // repeats the sixth row's key, far from it
  for (int i = 0; i < 200000; ++i) text += "U" + std::to_string(i) + ",+1,2019-01-01,1,fra\n";
  const auto path = std::filesystem::temp_directory_path() /
                    ("crible-large-dup-" + std::to_string(::getpid()) + ".csv");
  {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }
  Interner a, b;
  LoadOptions two_threads;
  two_threads.threads = 2;
  auto from_file = load_csv(path.string(), schema(), a, two_threads, false);
  auto from_text = load_csv_text(text, path.string(), schema(), b, {}, false);
  std::filesystem::remove(path);
  BOOST_REQUIRE(!from_file.ok());
  BOOST_REQUIRE(!from_text.ok());
  BOOST_TEST(from_file.error().message == from_text.error().message);
  BOOST_TEST(from_file.error().exit_code == 3);
  BOOST_TEST(from_file.error().message.find("duplicate case_id 'T5'") != std::string::npos,
             from_file.error().message);
}

}  // namespace
}  // namespace crible::data
