// Calendar dates as day numbers (days since 1970-01-01, proleptic Gregorian), so that date
// arithmetic and windows are integer operations.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crible {

int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d);
// Strict YYYY-MM-DD with a real calendar day (2019-02-29 is rejected); nullopt otherwise.
std::optional<int64_t> parse_date(std::string_view s);
std::string format_date(int64_t day);
// format_date's ten bytes for years 0 to 9999, written to out without a string; false (and
// nothing written) for other years.
bool format_date_to(int64_t day, char* out);
// ISO weekday: Monday = 1 .. Sunday = 7.
int iso_weekday(int64_t day);
// Whole years from `from` to `to`; the birthday counts as reached on the same month and day
// (a 29 February birthday is reached on 1 March in common years).
int64_t whole_years(int64_t from, int64_t to);

}  // namespace crible
