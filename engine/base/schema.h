// Declared shapes of the inputs: the case schema and each reference table. Produced by the
// checker from the rule file, consumed by the loader; neither depends on the other.
#pragma once
#include <string>
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
  Span span;
};

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
