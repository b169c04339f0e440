// tests/unit/data/column_test.cpp: data::Column keeps dates and text ids in 16 bits while
// they fit and widens to 32 at the first value that does not: every value reads back as it
// was appended, before and after the widening, whichever way the rows arrive (appended one
// by one, or joined from a part with its ids mapped), and equal values make equal columns.
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <optional>
#include <vector>

#include "data/data.h"

namespace crible::data {
namespace {

Column column_of(TypeKind kind) {
  Column c;
  c.loaded = true;
  c.kind = kind;
  return c;
}

// nullopt: a missing field.
void append(Column& c, std::optional<int64_t> v) {
  if (!v) c.append_missing();
  else if (c.kind == TypeKind::Date) c.append_date(*v);
  else c.append_text(static_cast<uint32_t>(*v));
}

std::optional<int64_t> read(const Column& c, size_t row) {
  if (!c.valid(row)) return std::nullopt;
  return c.kind == TypeKind::Date ? c.date(row) : static_cast<int64_t>(c.text(row));
}

void check_reads(const Column& c, const std::vector<std::optional<int64_t>>& values) {
  BOOST_REQUIRE(c.size() == values.size());
  for (size_t r = 0; r < values.size(); ++r) {
    BOOST_TEST_CONTEXT("row " << r) {
      const std::optional<int64_t> got = read(c, r);
      BOOST_TEST(got.has_value() == values[r].has_value());
      if (values[r] && got) BOOST_TEST(*got == *values[r]);
      // A missing field reads as 0.
      if (!values[r]) BOOST_TEST((c.kind == TypeKind::Date ? c.date(r) : int64_t{c.text(r)}) == 0);
    }
  }
}

BOOST_AUTO_TEST_SUITE(column)

BOOST_AUTO_TEST_CASE(text_ids_read_back_across_the_widening) {
  // The largest narrow id, missing fields, then the first id past 16 bits, then more of both.
  const std::vector<std::optional<int64_t>> values = {
      0, 65535, std::nullopt, 17, 65536, 3, std::nullopt, 4'000'000'000, 65535, 1};
  Column c = column_of(TypeKind::Text);
  c.reserve(4);  // widened past what was reserved: the column still grows
  for (size_t r = 0; r < values.size(); ++r) {
    append(c, values[r]);
    BOOST_TEST_CONTEXT("after row " << r) {
      std::vector<std::optional<int64_t>> so_far(values.begin(), values.begin() + static_cast<long>(r) + 1);
      check_reads(c, so_far);
    }
  }
}

BOOST_AUTO_TEST_CASE(dates_keep_their_sign_across_the_widening) {
  // Day numbers from 1970: -32768 is 1880-04-14, 32767 is 2059-09-18. Negative days stored
  // narrow must stay negative once the column widens.
  const std::vector<std::optional<int64_t>> values = {
      -1, -32768, 32767, std::nullopt, 17914, -7000, 32768, -32768, -1, -32769, 2932896};
  Column c = column_of(TypeKind::Date);
  for (const auto& v : values) append(c, v);
  check_reads(c, values);
  Column early = column_of(TypeKind::Date);  // widened by its very first value
  append(early, -40000);
  append(early, -1);
  check_reads(early, {-40000, -1});
}

BOOST_AUTO_TEST_CASE(joined_rows_widen_the_column_they_join) {
  // A part loaded with an interner of its own has small ids; mapped to the run's, one of them
  // no longer fits and the column it joins widens there.
  Column run = column_of(TypeKind::Text);
  for (uint32_t id : {5u, 9u}) run.append_text(id);
  Column part = column_of(TypeKind::Text);
  part.append_text(0);
  part.append_missing();
  part.append_text(1);
  part.append_text(2);
  std::vector<uint32_t> ids = {7, 70000, 8};  // part id -> run id
  run.append_rows(part, ids, /*skip=*/{3});
  check_reads(run, {5, 9, 7, std::nullopt, 70000});
}

BOOST_AUTO_TEST_CASE(equal_values_make_equal_columns_however_they_arrive) {
  // One pass, and the same rows as a first half appended directly and a second joined from a
  // part: a width that depended on the route would make the loader's parts differ from one
  // pass (tests/unit/data/parts_test.cpp compares whole tables with ==).
  const std::vector<std::optional<int64_t>> values = {1, std::nullopt, 70000, 2, 3};
  Column once = column_of(TypeKind::Text);
  for (const auto& v : values) append(once, v);
  Column halves = column_of(TypeKind::Text);
  append(halves, 1);
  append(halves, std::nullopt);
  Column part = column_of(TypeKind::Text);
  part.append_text(0);
  part.append_text(1);
  part.append_text(2);
  halves.append_rows(part, {70000, 2, 3}, {});
  BOOST_TEST((once == halves));
  check_reads(halves, values);
}

BOOST_AUTO_TEST_SUITE_END()

// Room of 1 MiB or more is whole huge pages, so that the allocation policy places it on
// them (a part's columns on a loading thread otherwise fault in 4 KiB at a time); smaller
// room is what was asked. Values appended into it read back as ever.
BOOST_AUTO_TEST_CASE(large_room_is_whole_huge_pages) {
  constexpr size_t kHuge = size_t{2} << 20;
  for (const TypeKind kind : {TypeKind::Text, TypeKind::Date, TypeKind::Bool, TypeKind::Integer,
                              TypeKind::Number, TypeKind::Set}) {
    Column small = column_of(kind);
    small.reserve(1000);
    BOOST_TEST(small.reserved_bytes() < (size_t{1} << 20));
    BOOST_TEST(small.reserved_bytes() % kHuge != 0);
    Column large = column_of(kind);
    large.reserve(1200000);  // 1.2 MB of bools, 2.4 MB of text ids, 4.8 MB of offsets
    BOOST_TEST(large.reserved_bytes() % kHuge == 0, static_cast<int>(kind) << ": " << large.reserved_bytes());
    BOOST_TEST(large.reserved_bytes() >= 1200000u);
  }
  Column flags = column_of(TypeKind::Bool);
  flags.reserve(1000000);  // just under 1 MiB: as asked
  BOOST_TEST(flags.reserved_bytes() == 1000000u);
  Column ids = column_of(TypeKind::Text);
  ids.reserve(600000);  // 1.2 MB of text ids
  for (int64_t r = 0; r < 70000; ++r) append(ids, r % 7 == 0 ? std::nullopt : std::optional<int64_t>(r));
  for (size_t r = 0; r < 70000; ++r)
    BOOST_TEST_REQUIRE((read(ids, r) == (r % 7 == 0 ? std::nullopt : std::optional<int64_t>(r))));
}

}  // namespace
}  // namespace crible::data
