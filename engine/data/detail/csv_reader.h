// The RFC 4180 record scanner under load_csv: splits a text into records and fields without
// allocating per field. Fields are string_views into the text, or into a scratch buffer
// reused from record to record when a quoted field holds "" escapes. Private to engine/data.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace crible::data::detail {

// Fields kept per record. Without a bound, one line of commas would cost 40 bytes of field
// table per input byte; the reference cases have 24 columns.
inline constexpr size_t kMaxFields = 10000;

// What was wrong with a record's shape. The scanner keeps going past the first problem with
// lenient rules only to find where the record ends, so one bad record costs one reject.
enum class CsvProblem : uint8_t {
  None,
  UnterminatedQuote,   // a quoted field still open at the end of the text
  QuoteInUnquoted,     // a '"' inside a field that does not start with one
  TextAfterQuote,      // `"abc"x`: something other than a comma or line end after the quote
  LoneCarriageReturn,  // a CR not followed by LF outside quotes
  TooManyFields,       // more than kMaxFields fields: only the first kMaxFields are kept
};

struct CsvField {
  std::string_view value;  // unquoted, unescaped
  size_t raw_begin = 0;    // byte range of the field in the text, quotes included
  size_t raw_end = 0;
  bool suspect = false;  // holds a NUL or a byte >= 0x80: check it before trusting it
};

struct CsvRecord {
  uint64_t line = 0;             // 1-based physical line of the record's first byte
  std::vector<CsvField> fields;  // reused from record to record
  CsvProblem problem = CsvProblem::None;
  size_t problem_field = 0;   // index of the field where the problem was found
  uint64_t problem_line = 0;  // for UnterminatedQuote: the line of the opening quote
  // Some field's value lives in the reader's buffer (a quoted field with "" in it), not in
  // the text: only then must a caller keeping values past the next record copy any.
  bool unescaped = false;
};

class CsvReader {
 public:
  // `text` must outlive the reader and every record it fills. A UTF-8 BOM is skipped.
  explicit CsvReader(std::string_view text);
  // Reads `text` from offset `from`, which must be where a record (or an empty line) starts,
  // on physical line `line`: a part of a file read apart from the rest (no BOM is looked for).
  CsvReader(std::string_view text, size_t from, uint64_t line) : text_(text), pos_(from), line_(line) {}

  // Fills `record` with the next record; false at the end of the text. Lines holding nothing
  // at all (two line ends in a row) are skipped: they are not records. The field views stay
  // valid until the next call (unescaped values live in a buffer reused by each record).
  bool next(CsvRecord& record);

  // Bytes of the text consumed so far: everything before this offset is behind the reader
  // (a loader may release it).
  size_t position() const { return pos_; }
  // The physical line at position().
  uint64_t line() const { return line_; }

 private:
  struct ScratchValue {  // a field unescaped into scratch_, located once the record ends
    size_t field;
    size_t begin;
    size_t size;
  };

  // The first byte at or after p, outside quotes, that ends or interrupts a plain run: a
  // comma, quote, CR or LF, or (unless the field is already known suspect) a NUL or a byte
  // >= 0x80; n if none.
  size_t next_unquoted_stop(size_t p, bool seen_suspect);
  void map_block(size_t at);

  std::string_view text_;
  // The 64 bytes from block_ as two bitmasks (bit i: byte block_ + i), kept from field to
  // field and record to record: a field is a few bytes, so a block serves several, and
  // finding the next one is a shift and a count instead of a scan. block_ starts far from
  // any offset, so that the first lookup maps a block.
  size_t block_ = SIZE_MAX / 2;
  uint64_t block_stops_ = 0;    // , " CR LF
  uint64_t block_suspect_ = 0;  // NUL and bytes >= 0x80
  size_t pos_ = 0;
  uint64_t line_ = 1;
  std::string scratch_;
  std::vector<ScratchValue> in_scratch_;
};

}  // namespace crible::data::detail
