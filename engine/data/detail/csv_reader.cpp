// RFC 4180 scanning by hand: one pass over the bytes, a table lookup per byte, no allocation
// per field. A field is an optional quoted part followed by an unquoted tail; for a well-formed
// quoted field that tail is empty, and anything in it is a problem to report, not to guess at.
#include "data/detail/csv_reader.h"

#include <array>

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

}  // namespace

CsvReader::CsvReader(std::string_view text) : text_(text) {
  if (text.size() >= 3 && text[0] == '\xEF' && text[1] == '\xBB' && text[2] == '\xBF') start_ = 3;
  pos_ = start_;
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
  scratch_.clear();
  pending_.clear();
  auto flag = [&](CsvProblem problem) {
    if (record.problem != CsvProblem::None) return false;
    record.problem = problem;
    record.problem_field = pending_.size();
    return true;
  };

  bool more = true;
  while (more) {
    more = false;
    Pending f{p, 0, p, p, false, false};
    const bool quoted = p < n && b[p] == '"';
    if (quoted) {
      const uint64_t open_line = line_;
      ++p;
      f.value_begin = p;
      size_t seg = p;  // first byte not yet copied to scratch_ (once the field lives there)
      for (;;) {
        while (p < n) {
          const uint8_t k = cls(kQuoted, b[p]);
          if (k == kPlain) {
            ++p;
          } else if (k == kSuspect) {
            f.suspect = true;
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
          if (f.in_scratch) scratch_.append(b + seg, p - seg);
          f.value_size = f.in_scratch ? scratch_.size() - f.value_begin : p - f.value_begin;
          break;
        }
        if (p + 1 < n && b[p + 1] == '"') {  // "" stands for one quote
          if (!f.in_scratch) {
            f.in_scratch = true;
            f.value_begin = scratch_.size();
          }
          scratch_.append(b + seg, p + 1 - seg);
          p += 2;
          seg = p;
          continue;
        }
        if (f.in_scratch) {
          scratch_.append(b + seg, p - seg);
          f.value_size = scratch_.size() - f.value_begin;
        } else {
          f.value_size = p - f.value_begin;
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
        const uint8_t k = cls(kUnquoted, b[p]);
        if (k == kPlain) {
          ++p;
        } else if (k == kSuspect) {
          f.suspect = true;
          ++p;
        } else {
          break;
        }
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
      f.value_begin = tail;
      f.value_size = end - tail;
    }
    f.raw_end = end;
    pending_.push_back(f);
  }
  pos_ = p;

  // scratch_ no longer grows in this record: its views are now stable.
  record.fields.resize(pending_.size());
  for (size_t i = 0; i < pending_.size(); ++i) {
    const Pending& f = pending_[i];
    CsvField& out = record.fields[i];
    out.value = f.in_scratch ? std::string_view(scratch_.data() + f.value_begin, f.value_size)
                             : std::string_view(b + f.value_begin, f.value_size);
    out.raw_begin = f.raw_begin;
    out.raw_end = f.raw_end;
    out.suspect = f.suspect;
  }
  return true;
}

}  // namespace crible::data::detail
