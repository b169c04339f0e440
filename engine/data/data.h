// Loading cases and reference tables from CSV into typed columns, per a declared schema.
// In: a file and a TableSchema. Out: a columnar table plus every rejected row with its line,
// column and reason. Nothing is guessed: a row that does not fit is rejected, not decided.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "base/intern.h"
#include "base/prefetch.h"
#include "base/result.h"
#include "base/schema.h"
#include "base/value.h"

namespace crible::data {

// One typed column. Its storage depends on the column's type, and is read and written only
// through the accessors below, so that it can change without touching the readers:
//   Bool -> 1 byte a row; Date -> day number; Text/enum -> interned id;
//   Integer -> 64-bit; Number -> double;
//   Set of text -> per row an offset into a pool of sorted, unique interned ids
// plus a validity bitmap (1 bit a row). A missing field reads as 0 / false / the empty set:
// check valid(row) first, or use value(row), which gives a missing Value.
//
// Dates and text ids take 16 bits a row while every value of the column fits (ids below
// 65,536, days within 1880-2059), and 32 from the first one that does not (the column is
// widened once, where that value is appended). Ids are handed out in order of first sight,
// so the texts of a column of few values (centres, countries, registrars, statuses) are met
// early and keep small ids, while case ids, phones and documents widen within the first rows:
// at a million cases eight text and five date columns stay narrow (a 1M eval's peak 284 ->
// 245 MB; docs/decisions.md, "Dates and text ids take 16 bits while they fit"). Whether a
// column is wide depends only on its values (never on how a file was cut into parts), so
// equal columns compare equal.
class Column {
 public:
  bool loaded = false;  // false for columns the rules never read (data minimisation)
  TypeKind kind = TypeKind::Error;

  size_t size() const { return rows_; }  // rows stored (0 when not loaded)
  bool valid(size_t row) const { return (valid_[row >> 6] >> (row & 63)) & 1; }
  bool boolean(size_t row) const { return bytes_[row] != 0; }  // Bool
  int64_t integer(size_t row) const { return ints_[row]; }     // Integer
  double number(size_t row) const { return nums_[row]; }       // Number
  int64_t date(size_t row) const {  // Date: day number
    return wide_ ? words_[row] : static_cast<int16_t>(halves_[row]);
  }
  uint32_t text(size_t row) const {  // Text
    return wide_ ? static_cast<uint32_t>(words_[row]) : halves_[row];
  }
  // Asks for the cache line of text(row) or date(row) ahead of reading it (a row read at
  // random: a linked case's key).
  void prefetch_word(size_t row) const {
    if (wide_) prefetch_for_read(words_.data() + row);
    else prefetch_for_read(halves_.data() + row);
  }
  // Set: the row's ids (sorted, unique), and their count.
  const uint32_t* set(size_t row) const { return set_pool_.data() + set_offsets_[row]; }
  uint32_t set_size(size_t row) const { return set_offsets_[row + 1] - set_offsets_[row]; }
  // Every id of a set column, all rows together.
  const std::vector<uint32_t>& set_pool() const { return set_pool_; }
  // The field as a runtime value (missing when not valid); sets point into this column.
  Value value(size_t row) const;

  // Appending a row, for the loader. Each call adds one row.
  void append_missing();
  void append_bool(bool b) {
    bytes_.push_back(b ? 1 : 0);
    mark_valid();
  }
  void append_integer(int64_t x) {
    ints_.push_back(x);
    mark_valid();
  }
  void append_number(double x) {
    nums_.push_back(x);
    mark_valid();
  }
  void append_date(int64_t day) {
    put_word(static_cast<int32_t>(day), day >= INT16_MIN && day <= INT16_MAX,
             static_cast<uint16_t>(static_cast<int16_t>(day)));
    mark_valid();
  }
  void append_text(uint32_t id) {
    put_word(static_cast<int32_t>(id), id <= UINT16_MAX, static_cast<uint16_t>(id));
    mark_valid();
  }
  // `ids` must be sorted and unique.
  void append_set(const uint32_t* ids, size_t n);
  // Room for `rows` rows (capacity beyond the rows appended is address space, not memory).
  // From 1 MiB of values on, the room is rounded up to whole huge pages (column.cpp).
  void reserve(size_t rows);
  // Bytes of room for the values in the storage in use (validity bits and set pools aside).
  size_t reserved_bytes() const;
  // Set: room for `ids` set elements in all, beside the rows (the loader's estimate from the
  // rows so far: a pool grown by doubling copies itself into fresh memory at every step).
  void reserve_set_elements(size_t ids) { set_pool_.reserve(ids); }
  // Appends the rows of `from`, a column of the same kind, except those listed in `skip`
  // (ascending), with each text id t of `from` (Text, Set) written as ids[t]: the loader
  // joining a part of a file that was loaded with an interner of its own.
  void append_rows(const Column& from, const std::vector<uint32_t>& ids,
                   const std::vector<size_t>& skip);
  // Maps the reserved room for `rows` more rows (as far as reserved), writing nothing, so that
  // appending them does not stop on the kernel zeroing fresh pages: the loader has its idle
  // thread do this while it joins a part's texts. Only a hint: before Linux 5.14 the pages
  // fault in on first write as usual.
  void make_room_resident(size_t rows) const;

  bool operator==(const Column&) const = default;

 private:
  // Inlined into each append: the loader calls it for every field of every row (20 million
  // at a million cases), and as one function with the vector's growth path in it the
  // compiler kept it a call.
  void mark_valid() {
    if ((rows_ & 63) == 0) [[unlikely]] start_valid_word();
    valid_.back() |= uint64_t{1} << (rows_ & 63);
    ++rows_;
  }
  void start_valid_word();
  // A date or text id: in halves_ while the column is narrow and `half` holds the value.
  void put_word(int32_t word, bool fits, uint16_t half) {
    if (!wide_) [[likely]] {
      if (fits) [[likely]] {
        halves_.push_back(half);
        return;
      }
      widen();
    }
    words_.push_back(word);
  }
  void widen();  // halves_ -> words_, for good

  size_t rows_ = 0;
  bool wide_ = false;                  // Date, Text: words_ in use instead of halves_
  std::vector<uint64_t> valid_;        // bit r: row r present
  std::vector<uint8_t> bytes_;         // Bool
  std::vector<uint16_t> halves_;       // Date (day, as int16 bits), Text (id), while narrow
  std::vector<int32_t> words_;         // Date (day), Text (id, as bits), once wide
  std::vector<int64_t> ints_;          // Integer
  std::vector<double> nums_;           // Number
  std::vector<uint32_t> set_offsets_;  // Set: rows + 1 offsets into set_pool_
  std::vector<uint32_t> set_pool_;
};

struct Reject {
  uint64_t line = 0;       // 1-based physical line where the record starts
  std::string column;      // the offending column, empty when the whole row is at fault
  std::string reason;      // e.g. "bad date '2019-02-30'", "expected 24 fields, found 23"
};

struct Table {
  std::string name;
  std::vector<Column> columns;       // parallel to TableSchema::columns
  size_t rows = 0;                   // accepted rows
  std::vector<uint64_t> row_line;    // physical line of each accepted row
  uint64_t read = 0;                 // data records read (header excluded)
  std::vector<Reject> rejects;       // in input order
};

// What a load in parts did, for tests: unread ends of parts handed over to a thread that had
// finished its own.
struct LoadReport {
  size_t handovers = 0;
};

struct LoadOptions {
  // Columns to materialise, by schema index; empty = all. Required columns are always
  // validated (blank rejects the row) even when not materialised, and the key is always
  // loaded for duplicate detection.
  std::vector<bool> wanted;
  // Threads for a large text: 0 = one per core, 1 = this thread alone. With n > 1 the text
  // is cut at line ends into up to n parts of min_part_bytes at least, loaded side by side
  // on n threads and joined in order; a thread done with its part takes over the second half
  // of what the busiest part has left to read, if that is twice min_part_bytes at least. The
  // result is the same whatever the number and however the parts fall: same rows, rejects,
  // lines and interned ids. (Parts are cut only for a table whose key, if any, is one text
  // column whose repeats are rejected: the case table.)
  int threads = 0;
  size_t min_part_bytes = size_t{4} << 20;
  LoadReport* report = nullptr;  // if set, filled in by the load
};

// Reads an RFC 4180 CSV file (quoted fields, embedded commas/quotes/newlines, CRLF, UTF-8 BOM)
// with a header row. Extra columns are ignored. Errors that stop the run (file missing,
// unreadable, a declared column absent from the header, empty file) are returned as Error
// with exit_code 3. Row-level problems become rejects. Duplicate keys: for the case schema
// (reject_duplicate_keys) the later row is rejected; otherwise they are an Error.
Result<Table> load_csv(const std::string& path, const TableSchema& schema, Interner& interner,
                       const LoadOptions& options = {}, bool reject_duplicate_keys = true);

// Same, from text in memory (tests, stdin). `name_for_errors` stands in for the path.
Result<Table> load_csv_text(const std::string& text, const std::string& name_for_errors,
                            const TableSchema& schema, Interner& interner,
                            const LoadOptions& options = {}, bool reject_duplicate_keys = true);

}  // namespace crible::data
