// Runtime values: a small tagged struct, cheap to copy, with missing as its own kind (never
// 0, "" or false). Texts are interned ids; sets point into storage owned by the case table,
// the plan or an aggregate index, all of which outlive an evaluation.
#pragma once
#include <cstdint>

namespace crible {

enum class ValueKind : uint8_t { Missing, Bool, Int, Num, Text, Date, Duration, Set };

struct Value {
  ValueKind kind = ValueKind::Missing;
  uint32_t n = 0;               // Set: element count
  int64_t i = 0;                // Bool (0/1), Int, Text (id), Date (day), Duration (days)
  double d = 0;                 // Num
  const uint32_t* set = nullptr;  // Set: sorted unique text ids

  bool missing() const { return kind == ValueKind::Missing; }
  static Value boolean(bool b) { Value v; v.kind = ValueKind::Bool; v.i = b; return v; }
  static Value integer(int64_t x) { Value v; v.kind = ValueKind::Int; v.i = x; return v; }
  static Value number(double x) { Value v; v.kind = ValueKind::Num; v.d = x; return v; }
  static Value text(uint32_t id) { Value v; v.kind = ValueKind::Text; v.i = id; return v; }
  static Value date(int64_t day) { Value v; v.kind = ValueKind::Date; v.i = day; return v; }
  static Value duration(int64_t days) { Value v; v.kind = ValueKind::Duration; v.i = days; return v; }
  static Value set_of(const uint32_t* p, uint32_t count) { Value v; v.kind = ValueKind::Set; v.set = p; v.n = count; return v; }
  double as_double() const { return kind == ValueKind::Num ? d : static_cast<double>(i); }
};

// Kleene three-valued truth. No conversion to bool: unknown must be handled on purpose.
enum class Truth : uint8_t { False, True, Unknown };

inline Truth truth_of(const Value& v) {
  return v.kind == ValueKind::Bool ? (v.i ? Truth::True : Truth::False) : Truth::Unknown;
}
inline Truth kleene_and(Truth a, Truth b) {
  if (a == Truth::False || b == Truth::False) return Truth::False;
  if (a == Truth::Unknown || b == Truth::Unknown) return Truth::Unknown;
  return Truth::True;
}
inline Truth kleene_or(Truth a, Truth b) {
  if (a == Truth::True || b == Truth::True) return Truth::True;
  if (a == Truth::Unknown || b == Truth::Unknown) return Truth::Unknown;
  return Truth::False;
}
inline Truth kleene_not(Truth a) {
  return a == Truth::Unknown ? Truth::Unknown : a == Truth::True ? Truth::False : Truth::True;
}

}  // namespace crible
