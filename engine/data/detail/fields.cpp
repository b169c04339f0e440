// Field spellings, strict on purpose: reference-workload.md says a row that breaks a declared
// type is rejected, so "1.0" is not an integer and "TRUE" is not a bool.
#include "data/detail/fields.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

namespace crible::data::detail {

size_t find_invalid_utf8(std::string_view s) {
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c == 0xE0) {
      len = 3, lo = 0xA0;  // no overlong three-byte forms
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      len = 3;
    } else if (c == 0xED) {
      len = 3, hi = 0x9F;  // no UTF-16 surrogates
    } else if (c == 0xF0) {
      len = 4, lo = 0x90;  // no overlong four-byte forms
    } else if (c >= 0xF1 && c <= 0xF3) {
      len = 4;
    } else if (c == 0xF4) {
      len = 4, hi = 0x8F;  // nothing past U+10FFFF
    } else {
      return i;  // a continuation byte alone, C0, C1 or F5..FF
    }
    if (n - i < len) return i;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c1 < lo || c1 > hi) return i;
    for (size_t k = 2; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return i;
    i += len;
  }
  return std::string_view::npos;
}

ParseStatus parse_bool(std::string_view s, int64_t& out) {
  if (s == "true") {
    out = 1;
    return ParseStatus::Ok;
  }
  if (s == "false") {
    out = 0;
    return ParseStatus::Ok;
  }
  return ParseStatus::Bad;
}

ParseStatus parse_integer(std::string_view s, int64_t& out) {
  size_t i = 0;
  const bool negative = !s.empty() && s[0] == '-';
  if (negative) i = 1;
  if (i == s.size()) return ParseStatus::Bad;
  // Accumulate the magnitude unsigned: -9223372036854775808 has no positive twin.
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  uint64_t magnitude = 0;
  bool overflow = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c < '0' || c > '9') return ParseStatus::Bad;
    const auto digit = static_cast<uint64_t>(c - '0');
    if (magnitude > (limit - digit) / 10) overflow = true;  // keep scanning: "9...9x" is Bad
    if (!overflow) magnitude = magnitude * 10 + digit;
  }
  if (overflow) return ParseStatus::OutOfRange;
  out = negative ? static_cast<int64_t>(~magnitude + 1) : static_cast<int64_t>(magnitude);
  return ParseStatus::Ok;
}

ParseStatus parse_number(std::string_view s, double& out) {
  const size_t n = s.size();
  size_t i = 0;
  if (i < n && s[i] == '-') ++i;
  size_t digits = 0;
  while (i < n && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  if (i < n && s[i] == '.') {
    ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return ParseStatus::Bad;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i, ++exp_digits;
    if (exp_digits == 0) return ParseStatus::Bad;
  }
  if (i != n) return ParseStatus::Bad;
  double value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + n, value);
  if (ec == std::errc::result_out_of_range) return ParseStatus::OutOfRange;
  if (ec != std::errc() || end != s.data() + n || !std::isfinite(value)) return ParseStatus::Bad;
  out = value;
  return ParseStatus::Ok;
}

std::string shown(std::string_view s) {
  bool cut = false;
  if (s.size() > kShownBytes) {
    size_t keep = kShownBytes;
    while (keep > 0 && (static_cast<unsigned char>(s[keep]) & 0xC0) == 0x80) --keep;
    s = s.substr(0, keep);
    cut = true;
  }
  std::string out;
  out.reserve(s.size() + 8);
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7F) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
  if (cut) out += "...";
  return out;
}

}  // namespace crible::data::detail
