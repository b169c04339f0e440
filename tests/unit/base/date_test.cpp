// tests/unit/base/date_test.cpp: day numbers, strict YYYY-MM-DD, weekdays and whole years.
#include "base/date.h"

#include <cstring>
#include <limits>
#include <string>

#include <boost/test/unit_test.hpp>

namespace crible {
namespace {

int64_t day(const char* s) {
  const auto d = parse_date(s);
  BOOST_TEST_REQUIRE(d.has_value(), "test date " << s << " does not parse");
  return *d;
}

BOOST_AUTO_TEST_SUITE(date)

BOOST_AUTO_TEST_CASE(known_day_numbers) {
  BOOST_TEST(days_from_civil(1970, 1, 1) == 0);
  BOOST_TEST(days_from_civil(1970, 1, 2) == 1);
  BOOST_TEST(days_from_civil(1969, 12, 31) == -1);
  BOOST_TEST(days_from_civil(2000, 3, 1) == 11017);
  BOOST_TEST(days_from_civil(2019, 1, 18) == 17914);
  BOOST_TEST(days_from_civil(1600, 1, 1) == -135140);
}

BOOST_AUTO_TEST_CASE(civil_round_trip) {
  // Every day across four centuries either side of the epoch, and consecutive days differ
  // by one.
  int64_t y = 0;
  unsigned m = 0, d = 0;
  int64_t previous = days_from_civil(1570, 1, 1) - 1;
  for (int64_t z = days_from_civil(1570, 1, 1); z <= days_from_civil(2370, 12, 31); ++z) {
    civil_from_days(z, y, m, d);
    const int64_t back = days_from_civil(y, m, d);
    if (back != z || back != previous + 1) BOOST_FAIL("round trip broke at day " << z);
    previous = back;
  }
  civil_from_days(days_from_civil(2020, 2, 29), y, m, d);
  BOOST_TEST(y == 2020);
  BOOST_TEST(m == 2u);
  BOOST_TEST(d == 29u);
}

BOOST_AUTO_TEST_CASE(parse_accepts_real_days) {
  BOOST_TEST(parse_date("1970-01-01").value() == 0);
  BOOST_TEST(parse_date("2019-01-14").value() == days_from_civil(2019, 1, 14));
  BOOST_TEST(parse_date("2020-02-29").has_value());  // leap year
  BOOST_TEST(parse_date("2000-02-29").has_value());  // divisible by 400
  BOOST_TEST(parse_date("2018-12-31").has_value());
  BOOST_TEST(parse_date("2018-04-30").has_value());
  BOOST_TEST(parse_date("0001-01-01").has_value());
  BOOST_TEST(parse_date("9999-12-31").has_value());
}

BOOST_AUTO_TEST_CASE(parse_rejects_impossible_days) {
  for (const char* bad : {"2019-02-29", "1900-02-29", "2100-02-29", "2019-02-30", "2018-13-01",
                          "2018-00-10", "2018-01-00", "2018-01-32", "2018-04-31", "2018-06-31"})
    BOOST_TEST(!parse_date(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(parse_rejects_other_spellings) {
  for (const char* bad :
       {"2018-1-1", "2018-01-1", "2018-1-01", "18-01-01", "20180101", "2018/01/01", "2018-01-01 ",
        " 2018-01-01", "2018-01-01T00:00", "+2018-01-01", "-2018-01-01", "2018--1-01", "", "2018",
        "2018-0a-01", "2018-01x01", "2018x01-01", "２０１８-01-01"})
    BOOST_TEST(!parse_date(bad).has_value(), "'" << bad << "'");
}

BOOST_AUTO_TEST_CASE(format_is_parse_inverse) {
  BOOST_TEST(format_date(0) == "1970-01-01");
  BOOST_TEST(format_date(-1) == "1969-12-31");
  BOOST_TEST(format_date(day("2020-02-29")) == "2020-02-29");
  BOOST_TEST(format_date(day("0001-01-01")) == "0001-01-01");
  BOOST_TEST(format_date(day("0001-01-01") - 1) == "0000-12-31");
  BOOST_TEST(format_date(day("9999-12-31") + 1) == "10000-01-01");
  BOOST_TEST(format_date(day("0001-01-01") - 367) == "-0001-12-31");
  // Every four-digit year: the only years YYYY-MM-DD can spell.
  for (int64_t z = day("0001-01-01"); z <= day("9999-12-31"); z += 97) {
    const auto back = parse_date(format_date(z));
    if (!back || *back != z) BOOST_FAIL("format/parse broke at day " << z);
  }
}

// Evaluation can give any 64-bit day number (`1970-01-01 + n days` with n from a cases file):
// at the limits, civil_from_days shifted the day by 719468 and overflowed (UBSan, in the eval
// fuzzer's renderings), printing a wrapped-around year. Years checked with Python's integers.
BOOST_AUTO_TEST_CASE(format_and_years_at_the_int64_limits) {
  const int64_t max = std::numeric_limits<int64_t>::max(), min = std::numeric_limits<int64_t>::min();
  BOOST_TEST(format_date(max) == "25252734927768524-07-27");
  BOOST_TEST(format_date(min) == "-25252734927764585-06-07");
  BOOST_TEST(format_date(max - 719468) == "25252734927766554-09-25");
  BOOST_TEST(whole_years(0, max) == 25252734927766554);
  BOOST_TEST(whole_years(min, 0) == 25252734927766554);
}

BOOST_AUTO_TEST_CASE(format_to_a_buffer_only_for_four_digit_years) {
  char out[11] = "##########";
  BOOST_TEST(format_date_to(day("2019-01-18"), out));
  BOOST_TEST(std::string(out) == "2019-01-18");
  BOOST_TEST(format_date_to(day("0000-01-01"), out));
  BOOST_TEST(std::string(out) == "0000-01-01");
  std::memcpy(out, "##########", 10);
  BOOST_TEST(!format_date_to(day("9999-12-31") + 1, out));
  BOOST_TEST(!format_date_to(day("0000-01-01") - 1, out));
  BOOST_TEST(std::string(out) == "##########");  // nothing written
}

BOOST_AUTO_TEST_CASE(iso_weekdays) {
  BOOST_TEST(iso_weekday(day("2019-01-14")) == 1);  // Monday
  BOOST_TEST(iso_weekday(day("2019-01-18")) == 5);  // Friday, the reference as_of
  BOOST_TEST(iso_weekday(day("2018-12-30")) == 7);  // Sunday
  BOOST_TEST(iso_weekday(day("2018-12-31")) == 1);  // Monday again
  BOOST_TEST(iso_weekday(0) == 4);                  // 1970-01-01 was a Thursday
  BOOST_TEST(iso_weekday(-1) == 3);                 // before the epoch: Wednesday
  BOOST_TEST(iso_weekday(day("1900-01-01")) == 1);
  BOOST_TEST(iso_weekday(day("2000-02-29")) == 2);
  for (int64_t z = -1000; z < 1000; ++z) {
    const int w = iso_weekday(z);
    if (w < 1 || w > 7 || iso_weekday(z + 1) != w % 7 + 1) BOOST_FAIL("weekday broke at " << z);
  }
}

BOOST_AUTO_TEST_CASE(whole_years_birthday_counts_on_the_day) {
  const int64_t born = day("1990-06-15");
  BOOST_TEST(whole_years(born, born) == 0);
  BOOST_TEST(whole_years(born, day("2019-06-14")) == 28);  // the day before
  BOOST_TEST(whole_years(born, day("2019-06-15")) == 29);  // the birthday itself
  BOOST_TEST(whole_years(born, day("2019-06-16")) == 29);
  BOOST_TEST(whole_years(born, day("2019-12-31")) == 29);
  BOOST_TEST(whole_years(born, day("2020-01-01")) == 29);
  BOOST_TEST(whole_years(day("2018-12-31"), day("2019-01-01")) == 0);
  BOOST_TEST(whole_years(day("1959-01-18"), day("2019-01-18")) == 60);  // priority age >= 60
  BOOST_TEST(whole_years(day("1959-01-19"), day("2019-01-18")) == 59);
}

BOOST_AUTO_TEST_CASE(whole_years_leap_day_birthday) {
  const int64_t born = day("2000-02-29");
  BOOST_TEST(whole_years(born, day("2001-02-28")) == 0);  // common year: not yet
  BOOST_TEST(whole_years(born, day("2001-03-01")) == 1);  // reached on 1 March
  BOOST_TEST(whole_years(born, day("2003-02-28")) == 2);
  BOOST_TEST(whole_years(born, day("2003-03-01")) == 3);
  BOOST_TEST(whole_years(born, day("2004-02-28")) == 3);  // leap year: on the day itself
  BOOST_TEST(whole_years(born, day("2004-02-29")) == 4);
  // Born 28 February or 1 March: nothing special.
  BOOST_TEST(whole_years(day("2000-02-28"), day("2001-02-28")) == 1);
  BOOST_TEST(whole_years(day("2000-03-01"), day("2001-02-28")) == 0);
  BOOST_TEST(whole_years(day("2000-03-01"), day("2001-03-01")) == 1);
}

BOOST_AUTO_TEST_CASE(whole_years_backwards_truncates_toward_zero) {
  BOOST_TEST(whole_years(day("2020-06-01"), day("2019-07-01")) == 0);
  BOOST_TEST(whole_years(day("2020-06-01"), day("2019-06-01")) == -1);
  BOOST_TEST(whole_years(day("2020-06-01"), day("2018-01-01")) == -2);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace crible
