// Canonical record bytes, SHA-256, canonical JSON and the clock for the audit chain; the
// encoding itself is specified in canonical.h.
#include "audit/detail/canonical.h"

#include "audit/audit.h"

#include <openssl/evp.h>

#include <cassert>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace crible::audit::detail {

void Canonical::u64(uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) bytes_.push_back(static_cast<char>(v >> shift));
}

void Canonical::integer(int64_t v) {
  bytes_.push_back('I');
  u64(static_cast<uint64_t>(v));
}

void Canonical::real(double v) {
  uint64_t bits = 0;
  static_assert(sizeof bits == sizeof v);
  std::memcpy(&bits, &v, sizeof bits);
  bytes_.push_back('R');
  u64(bits);
}

void Canonical::counted(char tag, std::string_view s) {
  bytes_.push_back(tag);
  u64(s.size());
  bytes_.append(s);
}

namespace {

// Fetched once for the process: OpenSSL 3 otherwise looks the algorithm up on every init.
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) throw CryptoFailure("libcrypto could not provide SHA-256");
  return md;
}

// OpenSSL fails these on an allocation failure (a memory limit: the context's state is
// allocated on first use) or a missing default provider (a broken installation). Either
// way the hash cannot be had, and going on with the context as it is crashed.
void check(int ok) {
  if (ok != 1) throw CryptoFailure("libcrypto could not compute a SHA-256");
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) throw CryptoFailure("libcrypto could not allocate a SHA-256 context");
}
Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::init() { check(EVP_DigestInit_ex(ctx_, sha256_md(), nullptr)); }

void Sha256::update(const unsigned char* p, size_t n) { check(EVP_DigestUpdate(ctx_, p, n)); }

void Sha256::update(std::string_view bytes) {
  update(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

Digest Sha256::final() {
  Digest d{};
  unsigned int n = 0;
  check(EVP_DigestFinal_ex(ctx_, d.data(), &n));
  assert(n == d.size());
  return d;
}

std::string to_hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 0xf];
  }
  return out;
}

std::optional<Digest> digest_from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Digest d{};
  for (size_t i = 0; i < d.size(); ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    d[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return d;
}

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one (overlong
// forms, surrogates and code points past U+10FFFF are invalid).
size_t utf8_sequence(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n = 0;
  uint32_t cp = 0;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (b(i + k) & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

}  // namespace

void json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = utf8_sequence(s, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

void json_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  out.append(buf, r.ptr);
}

void json_integer(std::string& out, int64_t v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

bool is_iso_utc(std::string_view s) {
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:ddZ";
  if (s.size() != kShape.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool ok = kShape[i] == 'd' ? s[i] >= '0' && s[i] <= '9' : s[i] == kShape[i];
    if (!ok) return false;
  }
  const auto num = [&](size_t at) { return (s[at] - '0') * 10 + (s[at + 1] - '0'); };
  return num(5) >= 1 && num(5) <= 12 && num(8) >= 1 && num(8) <= 31 && num(11) <= 23 &&
         num(14) <= 59 && num(17) <= 60;
}

Result<std::string> now_iso() {
  if (const char* fixed = std::getenv("CRIBLE_NOW")) {
    if (!is_iso_utc(fixed))
      return Error{std::string("CRIBLE_NOW must be a UTC time like 2026-11-23T14:35:51Z, not '") +
                   fixed + "'"};
    return std::string(fixed);
  }
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

}  // namespace crible::audit::detail
