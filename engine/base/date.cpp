// Calendar arithmetic on day numbers (days since 1970-01-01, proleptic Gregorian). The
// conversions are Howard Hinnant's branch-free civil algorithms, exact for every int64 year
// range we can meet in case data.
#include "base/date.h"

#include <cstdio>

namespace crible {

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;                                    // [0, 399]
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  // z + 719468 in whole eras and the days left, without computing the sum: evaluation can
  // give a date at the int64 limits (`1970-01-01 + n days`), where the sum overflows.
  const int64_t rest = z % 146097 + 719468;                                   // > 0
  const int64_t era = z / 146097 + rest / 146097;
  const int64_t doe = rest % 146097;                                          // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  d = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);                    // [1, 31]
  m = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);                       // [1, 12]
  y = yoe + era * 400 + (m <= 2);
}

namespace {

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

bool digits(std::string_view s, size_t from, size_t to, unsigned& out) {
  out = 0;
  for (size_t i = from; i < to; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + static_cast<unsigned>(s[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<int64_t> parse_date(std::string_view s) {
  // Exactly YYYY-MM-DD: no sign, no padding variants ("2018-1-1"), no trailing text.
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  unsigned y = 0, m = 0, d = 0;
  if (!digits(s, 0, 4, y) || !digits(s, 5, 7, m) || !digits(s, 8, 10, d)) return std::nullopt;
  if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return std::nullopt;
  return days_from_civil(y, m, d);
}

bool format_date_to(int64_t day, char* out) {
  int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(day, y, m, d);
  if (y < 0 || y > 9999) return false;
  // By hand: review formats a few dates per case, and snprintf was a tenth of its record
  // building.
  const auto yy = static_cast<unsigned>(y);
  out[0] = static_cast<char>('0' + yy / 1000);
  out[1] = static_cast<char>('0' + yy / 100 % 10);
  out[2] = static_cast<char>('0' + yy / 10 % 10);
  out[3] = static_cast<char>('0' + yy % 10);
  out[4] = '-';
  out[5] = static_cast<char>('0' + m / 10);
  out[6] = static_cast<char>('0' + m % 10);
  out[7] = '-';
  out[8] = static_cast<char>('0' + d / 10);
  out[9] = static_cast<char>('0' + d % 10);
  return true;
}

std::string format_date(int64_t day) {
  char out[10];
  if (format_date_to(day, out)) return std::string(out, sizeof out);
  int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(day, y, m, d);
  char buf[40];
  const int n = std::snprintf(buf, sizeof buf, y >= 0 ? "%04lld-%02u-%02u" : "%05lld-%02u-%02u",
                              static_cast<long long>(y), m, d);
  return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

int iso_weekday(int64_t day) {
  // Day 0 (1970-01-01) was a Thursday, ISO weekday 4.
  const int64_t r = ((day % 7) + 7) % 7;
  return static_cast<int>((r + 3) % 7) + 1;
}

int64_t whole_years(int64_t from, int64_t to) {
  // Going backwards counts whole years back, truncated toward zero like the forward case.
  if (to < from) return -whole_years(to, from);
  int64_t fy = 0, ty = 0;
  unsigned fm = 0, fd = 0, tm = 0, td = 0;
  civil_from_days(from, fy, fm, fd);
  civil_from_days(to, ty, tm, td);
  int64_t years = ty - fy;
  // Comparing (month, day) pairs reaches a 29 February birthday on 1 March of a common
  // year: (2, 28) < (2, 29) <= (3, 1).
  if (tm < fm || (tm == fm && td < fd)) --years;
  return years;
}

}  // namespace crible
