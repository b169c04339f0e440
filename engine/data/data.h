// Loading cases and reference tables from CSV into typed columns, per a declared schema.
// In: a file and a TableSchema. Out: a columnar table plus every rejected row with its line,
// column and reason. Nothing is guessed: a row that does not fit is rejected, not decided.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "base/intern.h"
#include "base/result.h"
#include "base/schema.h"

namespace crible::data {

// One typed column. Which vector is used depends on the column's type:
//   Bool, Integer, Date (day number), Text/enum (interned id) -> ints
//   Number -> nums
//   Set of text -> set_begin/set_end into set_pool (sorted, unique interned ids per row)
// valid[r] == 0 means the field is missing in row r (its slot in the value vector is 0).
struct Column {
  bool loaded = false;  // false for columns the rules never read (data minimisation)
  TypeKind kind = TypeKind::Error;
  std::vector<int64_t> ints;
  std::vector<double> nums;
  std::vector<uint32_t> set_begin, set_end;
  std::vector<uint32_t> set_pool;
  std::vector<uint8_t> valid;
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

struct LoadOptions {
  // Columns to materialise, by schema index; empty = all. Required columns are always
  // validated (blank rejects the row) even when not materialised, and the key is always
  // loaded for duplicate detection.
  std::vector<bool> wanted;
  // Threads for a large file (one that load_csv maps): 1 = type and commit on this thread;
  // otherwise, when the machine has two cores or more, a second thread scans and types rows
  // ahead while this one commits them. The result is the same either way.
  int threads = 0;
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
