// Typing one CSV field: the strict spellings the loader accepts for bool, integer and number,
// UTF-8 validation, and how a field is quoted back in a reject reason. Private to engine/data.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace crible::data::detail {

// Offset of the first byte that is not part of well-formed UTF-8 (overlong forms, surrogates
// and code points past U+10FFFF included), or npos when the whole text is valid.
size_t find_invalid_utf8(std::string_view s);

// Elements kept per set field. Real sets are a handful of languages or vulnerabilities; the
// bound keeps one hostile field ("a;a;a;...") from costing memory many times its size.
inline constexpr size_t kMaxSetElements = 1000;

enum class ParseStatus : uint8_t { Ok, Bad, OutOfRange };

// Exactly "true" or "false".
ParseStatus parse_bool(std::string_view s, int64_t& out);
// An optional '-' then one or more ASCII digits, within int64.
ParseStatus parse_integer(std::string_view s, int64_t& out);
// A plain decimal: optional '-', digits with an optional fraction (at least one digit in all),
// then an optional exponent. No '+', spaces, hex, inf or nan. Finite doubles only.
ParseStatus parse_number(std::string_view s, double& out);

// A field as shown inside '...' in a reason: control characters escaped (\n, \r, \t, \xNN)
// and anything longer than kShownBytes cut at a code-point boundary with "...".
inline constexpr size_t kShownBytes = 60;
std::string shown(std::string_view s);

}  // namespace crible::data::detail
