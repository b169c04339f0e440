// Declared shapes of the inputs: the case schema and each reference table. Produced by the
// checker from the rule file, consumed by the loader; neither depends on the other.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "base/source.h"
#include "base/types.h"

namespace crible {

struct ColumnDecl {
  std::string name;
  Type type;               // Bool, Integer, Number, Text (maybe enum), Date, or Set of Text
  bool required = false;   // a blank field rejects the row
  bool key = false;        // part of the unique key
  bool personal = false;   // a personal identifier: pseudonymised in the audit store
  bool blank_is_empty = false;  // sets only: a blank field is the empty set, not missing
  // Free text and sets of free text: the shape every value (every element) must have, as in
  // `format "AAA"` (see fits_format); empty when any text will do.
  std::string format;
  Span span;
};

// Whether `value` has the shape `format`: as many bytes, and at each position an uppercase
// ASCII letter where the format has `A`, a lowercase one for `a`, a digit for `9`, and the
// same byte anywhere else. Codes such as ISO 3166 alpha-3 (`AAA`) or ISO 639-3 (`aaa`) are
// fixed shapes, and a shape is checked in a pass over a few bytes while the file is read;
// a regular expression would be more than codes need and cost far more per field.
inline bool fits_format(std::string_view value, std::string_view format) {
  if (value.size() != format.size()) return false;
  for (size_t i = 0; i < value.size(); ++i) {
    const char v = value[i], f = format[i];
    const bool ok = f == 'A' ? (v >= 'A' && v <= 'Z')
                    : f == 'a' ? (v >= 'a' && v <= 'z')
                    : f == '9' ? (v >= '0' && v <= '9')
                               : v == f;
    if (!ok) return false;
  }
  return true;
}

struct TableSchema {
  std::string name;                 // "cases" for the case schema
  std::vector<ColumnDecl> columns;  // declaration order
  std::vector<int> key;             // indexes into columns; unique when non-empty
  Span span;

  int find(const std::string& column) const {
    for (size_t i = 0; i < columns.size(); ++i)
      if (columns[i].name == column) return static_cast<int>(i);
    return -1;
  }
};

}  // namespace crible
