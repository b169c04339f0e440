// Building blocks of the audit chain: the canonical bytes of a record, SHA-256 with a reusable
// context, the canonical JSON written into structured columns, and the clock. Internal to
// engine/audit; the unit tests use it to pin the encoding down byte for byte.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

struct evp_md_ctx_st;

namespace crible::audit::detail {

// ---------------------------------------------------------------------------------------------
// Canonical bytes, encoding version 1 (the hash input of every chained record).
//
// A record is the concatenation of its fields, in the fixed column order of its table
// (kKinds in store_impl.h), preceded by its kind:
//     T(kind) I(seq) <the other columns in table order>
// Each field is one tag byte, then:
//     'I'  integer: 8 bytes, big-endian two's complement
//     'T'  text:    8-byte big-endian byte count, then the bytes as stored (no escaping, no NUL)
//     'B'  blob:    same layout as text
//     'R'  real:    8 bytes, the IEEE 754 bit pattern, big-endian (no v1 column is real)
//     'N'  NULL:    nothing
// Tags and lengths make the encoding prefix-free: two different field lists never give the
// same bytes, and a value changing type (42 vs '42') changes the bytes. verify() encodes
// each column by the type SQLite actually stored, so any edit made with the sqlite3 shell
// shows up, whatever the triggers say.
//
// Chain: hash(0) = 32 zero bytes; hash(n) = SHA-256(hash(n-1) as 32 raw bytes || bytes(n)).
// The chain table stores hash(n) as 64 lowercase hex digits.
//
// Structured columns (scores, findings, params, inputs, rejects, erased decisions) hold
// canonical JSON written by JsonText below: no whitespace, object keys sorted, strings
// escaped minimally (", \, control characters; invalid UTF-8 replaced by U+FFFD), numbers
// as integers or, for doubles, the shortest text that reads back to the same double
// (std::to_chars), non-finite doubles as null. The hash covers the JSON text as stored.
// ---------------------------------------------------------------------------------------------
class Canonical {
 public:
  void integer(int64_t v);
  void text(std::string_view s) { counted('T', s); }
  void blob(std::string_view s) { counted('B', s); }
  void real(double v);
  void null() { bytes_.push_back('N'); }
  // Starts a record's bytes afresh with its kind, T(kind): what every record begins with,
  // whoever encodes it (an append, the decision sealer, verify()).
  void start(std::string_view kind) {
    bytes_.clear();
    text(kind);
  }
  const std::string& bytes() const { return bytes_; }

 private:
  void counted(char tag, std::string_view s);
  void u64(uint64_t v);
  std::string bytes_;
};

using Digest = std::array<unsigned char, 32>;

// SHA-256 over a reusable OpenSSL context and a digest fetched once, so that hashing 100,000
// small records does not pay OpenSSL's per-call setup.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void init();
  void update(std::string_view bytes);
  void update(const unsigned char* p, size_t n);
  Digest final();
  Digest digest(std::string_view bytes) {
    init();
    update(bytes);
    return final();
  }
  // hash(n) from hash(n-1) and the canonical bytes of record n.
  Digest chain(const Digest& prev, std::string_view canonical) {
    init();
    update(prev.data(), prev.size());
    update(canonical);
    return final();
  }

 private:
  evp_md_ctx_st* ctx_ = nullptr;
};

std::string to_hex(const unsigned char* p, size_t n);
inline std::string to_hex(const Digest& d) { return to_hex(d.data(), d.size()); }
// 64 hex digits (either case) to a digest; nullopt otherwise.
std::optional<Digest> digest_from_hex(std::string_view hex);

// Canonical JSON, appended to `out` (see above).
void json_string(std::string& out, std::string_view s);
void json_number(std::string& out, double v);
void json_integer(std::string& out, int64_t v);

// The time now as ISO 8601 UTC with seconds, e.g. 2026-11-23T14:35:51Z.
// CRIBLE_NOW: when this environment variable is set, its value is used instead of the clock,
// so that golden tests get byte-identical stores and output. It must itself have that shape;
// anything else is an Error rather than a silently wrong time in the audit trail.
Result<std::string> now_iso();
// YYYY-MM-DDTHH:MM:SSZ with digits in range (not a full calendar check).
bool is_iso_utc(std::string_view s);

}  // namespace crible::audit::detail
