// A declared column for the loader's tests, built the way a checked `cases` or `table` block
// would give it: name, type and whether a blank field rejects the row.
#pragma once
#include <string>
#include <utility>

#include "base/schema.h"

namespace crible::testing {

inline ColumnDecl column(std::string name, Type type, bool required = false) {
  ColumnDecl c;
  c.name = std::move(name);
  c.type = std::move(type);
  c.required = required;
  return c;
}

}  // namespace crible::testing
