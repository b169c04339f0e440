// RFC 4180 scanning by hand: one pass over the bytes, a table lookup per byte, no allocation
// per field. A field is an optional quoted part followed by an unquoted tail; for a well-formed
// quoted field that tail is empty, and anything in it is a problem to report, not to guess at.
#include "data/detail/csv_reader.h"

#include <array>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace crible::data::detail {

namespace {

enum : uint8_t { kPlain = 0, kStop = 1, kSuspect = 2 };
using ByteClasses = std::array<uint8_t, 256>;

// NUL and non-ASCII bytes are "suspect": the field is checked for UTF-8 (and NUL) later, only
// when the loader actually reads that column, so ASCII fields cost nothing extra.
constexpr ByteClasses make_classes(bool quoted) {
  ByteClasses c{};
  c[0] = kSuspect;
  for (int i = 0x80; i < 0x100; ++i) c[i] = kSuspect;
  c['"'] = kStop;
  c['\n'] = kStop;
  if (!quoted) {
    c[','] = kStop;
    c['\r'] = kStop;
  }
  return c;
}

constexpr ByteClasses kUnquoted = make_classes(false);
constexpr ByteClasses kQuoted = make_classes(true);

inline uint8_t cls(const ByteClasses& table, char c) {
  return table[static_cast<unsigned char>(c)];
}

#if defined(__SSE2__)
// 16 bytes at a time, as bitmasks (bit i: byte i): those that stop a plain run (quote and LF,
// and outside quotes comma and CR), and the suspect ones (NUL and bytes >= 0x80).
struct Stops16 {
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i comma = _mm_set1_epi8(',');
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i zero = _mm_setzero_si128();

  template <bool kQuotedField>
  unsigned stops(__m128i v) const {
    __m128i stop = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, lf));
    if (!kQuotedField)
      stop = _mm_or_si128(stop, _mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, cr)));
    return static_cast<uint16_t>(_mm_movemask_epi8(stop));
  }
  unsigned suspect(__m128i v) const {
    // movemask takes each byte's high bit: exactly the bytes >= 0x80.
    return static_cast<uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, zero)) | _mm_movemask_epi8(v));
  }
};
#endif

// The first position at or after p that is not plain (n if none): quoted fields and the
// text's last bytes (unquoted fields elsewhere go by CsvReader's 64-byte blocks). With SSE2
// (every x86-64) it looks at 16 bytes per step. Suspect bytes stop it too until the field is
// known to be suspect (kSeenSuspect), since one is enough to have the field checked.
template <bool kQuotedField, bool kSeenSuspect>
inline size_t skip_plain(const char* b, size_t p, size_t n) {
#if defined(__SSE2__)
  const Stops16 find;
  while (p + 16 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + p));
    const unsigned mask = find.stops<kQuotedField>(v) | (kSeenSuspect ? 0u : find.suspect(v));
    if (mask != 0) return p + static_cast<size_t>(__builtin_ctz(mask));
    p += 16;
  }
#endif
  const ByteClasses& table = kQuotedField ? kQuoted : kUnquoted;
  while (p < n && (cls(table, b[p]) == kPlain || (kSeenSuspect && cls(table, b[p]) == kSuspect)))
    ++p;
  return p;
}

}  // namespace

// Maps the 64 bytes from `at` (at + 64 <= the text's size).
[[gnu::noinline]] void CsvReader::map_block(size_t at) {
  const char* const b = text_.data() + at;
  // Eight lines ahead: a mapped file's bytes come from the page cache, a page at a time
  // scattered in memory, where the hardware's own prefetching stops at each page's end.
  // Scanner alone over the 1M file as the loader maps it: 0.25-0.34 s without, 0.22-0.23
  // s with (1024 ahead gained less). A prefetch never faults, past the end or not.
  __builtin_prefetch(b + 512);
  uint64_t stops = 0, suspect = 0;
#if defined(__SSE2__)
  const Stops16 find;
  for (unsigned k = 0; k < 64; k += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + k));
    stops |= static_cast<uint64_t>(find.stops<false>(v)) << k;
    suspect |= static_cast<uint64_t>(find.suspect(v)) << k;
  }
#else
  for (unsigned k = 0; k < 64; ++k) {
    const uint8_t c = cls(kUnquoted, b[k]);
    stops |= static_cast<uint64_t>(c == kStop) << k;
    suspect |= static_cast<uint64_t>(c == kSuspect) << k;
  }
#endif
  block_ = at;
  block_stops_ = stops;
  block_suspect_ = suspect;
}

[[gnu::always_inline]] inline size_t CsvReader::next_unquoted_stop(size_t p, bool seen_suspect) {
  const size_t n = text_.size();
  for (;;) {
    // Unsigned: an offset before the block wraps to a large distance, as one past it does.
    const size_t into = p - block_;
    if (into >= 64) {
      if (n - p < 64)  // the text's last bytes: no block may read past its end
        return seen_suspect ? skip_plain<false, true>(text_.data(), p, n)
                            : skip_plain<false, false>(text_.data(), p, n);
      map_block(p);
      continue;
    }
    const uint64_t bits = (block_stops_ | (seen_suspect ? 0 : block_suspect_)) >> into;
    if (bits != 0) return p + static_cast<size_t>(__builtin_ctzll(bits));
    p = block_ + 64;
  }
}

CsvReader::CsvReader(std::string_view text) : text_(text) {
  if (text.size() >= 3 && text[0] == '\xEF' && text[1] == '\xBB' && text[2] == '\xBF') pos_ = 3;
}

bool CsvReader::next(CsvRecord& record) {
  const char* const b = text_.data();
  const size_t n = text_.size();
  size_t p = pos_;
  while (p < n) {  // empty lines are not records
    if (b[p] == '\n') {
      ++line_;
      ++p;
    } else if (b[p] == '\r' && p + 1 < n && b[p + 1] == '\n') {
      ++line_;
      p += 2;
    } else {
      break;
    }
  }
  if (p >= n) {
    pos_ = p;
    return false;
  }

  record.line = line_;
  record.problem = CsvProblem::None;
  record.problem_field = 0;
  record.problem_line = 0;
  record.fields.clear();  // keeps its capacity: no allocation once the widest record is seen
  scratch_.clear();
  in_scratch_.clear();
  auto flag = [&](CsvProblem problem) {
    if (record.problem != CsvProblem::None) return false;
    record.problem = problem;
    record.problem_field = record.fields.size();
    return true;
  };

  bool more = true;
  while (more) {
    more = false;
    const size_t raw_begin = p;
    size_t value_begin = p, value_size = 0;
    bool suspect = false;
    bool in_scratch = false;
    const bool quoted = p < n && b[p] == '"';
    if (quoted) {
      const uint64_t open_line = line_;
      ++p;
      value_begin = p;
      size_t seg = p;  // first byte not yet copied to scratch_ (once the field lives there)
      for (;;) {
        while (p < n) {
          p = suspect ? skip_plain<true, true>(b, p, n) : skip_plain<true, false>(b, p, n);
          if (p >= n) break;
          if (cls(kQuoted, b[p]) == kSuspect) {
            suspect = true;
            ++p;
          } else if (b[p] == '\n') {
            ++line_;
            ++p;
          } else {
            break;  // a quote
          }
        }
        if (p >= n) {  // the quote is never closed: the record runs to the end of the text
          if (flag(CsvProblem::UnterminatedQuote)) record.problem_line = open_line;
          if (in_scratch) scratch_.append(b + seg, p - seg);
          value_size = in_scratch ? scratch_.size() - value_begin : p - value_begin;
          break;
        }
        if (p + 1 < n && b[p + 1] == '"') {  // "" stands for one quote
          if (!in_scratch) {
            in_scratch = true;
            value_begin = scratch_.size();
          }
          scratch_.append(b + seg, p + 1 - seg);
          p += 2;
          seg = p;
          continue;
        }
        if (in_scratch) {
          scratch_.append(b + seg, p - seg);
          value_size = scratch_.size() - value_begin;
        } else {
          value_size = p - value_begin;
        }
        ++p;  // the closing quote
        break;
      }
    }

    // The unquoted part: the whole field, or what follows a closing quote (nothing, if sound).
    const size_t tail = p;
    size_t end = p;
    for (;;) {
      while (p < n) {
        p = next_unquoted_stop(p, suspect);
        if (p >= n || cls(kUnquoted, b[p]) != kSuspect) break;
        suspect = true;
        ++p;
      }
      end = p;
      if (p >= n) break;
      const char c = b[p];
      if (c == ',') {
        ++p;
        more = true;
        break;
      }
      if (c == '\n') {
        ++p;
        ++line_;
        break;
      }
      if (c == '\r') {
        if (p + 1 < n && b[p + 1] == '\n') {
          p += 2;
          ++line_;
          break;
        }
        flag(CsvProblem::LoneCarriageReturn);
        ++p;
        continue;
      }
      flag(quoted ? CsvProblem::TextAfterQuote : CsvProblem::QuoteInUnquoted);  // a '"'
      ++p;
    }
    if (quoted) {
      if (end > tail) flag(CsvProblem::TextAfterQuote);
    } else {
      value_begin = tail;
      value_size = end - tail;
    }
    if (record.fields.size() == kMaxFields) {  // keep scanning to the end, store no more
      flag(CsvProblem::TooManyFields);
      if (in_scratch) scratch_.resize(value_begin);
      continue;
    }
    // Members are stored one by one: a temporary CsvField copied in would be reloaded right
    // after its piecemeal stores, a store-forwarding stall that cost more than the scanning.
    if (in_scratch) {  // scratch_ may still move: point the view at it once the record ends
      in_scratch_.push_back({record.fields.size(), value_begin, value_size});
    }
    CsvField& out = record.fields.emplace_back();
    if (!in_scratch) out.value = std::string_view(b + value_begin, value_size);
    out.raw_begin = raw_begin;
    out.raw_end = end;
    out.suspect = suspect;
  }
  pos_ = p;
  for (const ScratchValue& v : in_scratch_)
    record.fields[v.field].value = std::string_view(scratch_.data() + v.begin, v.size);
  record.unescaped = !in_scratch_.empty();
  return true;
}

}  // namespace crible::data::detail
