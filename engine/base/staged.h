// Result of a compile stage: a value iff there was no error, plus every diagnostic found.
#pragma once
#include <optional>
#include <vector>

#include "base/diagnostic.h"

namespace crible {

template <typename T>
struct Staged {
  std::optional<T> value;
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return value.has_value(); }
};

}  // namespace crible
