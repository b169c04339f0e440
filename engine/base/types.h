// The static types of the rule language. Small explicit data: a kind, an element kind for
// sets, and an optional enumeration domain (the allowed texts of an enum column).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace crible {

enum class TypeKind : uint8_t { Error, Bool, Integer, Number, Text, Date, Duration, Set };

struct EnumDomain {
  std::vector<std::string> values;  // in declaration order
  bool contains(const std::string& v) const {
    for (const auto& x : values)
      if (x == v) return true;
    return false;
  }
};

struct Type {
  TypeKind kind = TypeKind::Error;
  TypeKind elem = TypeKind::Error;              // for Set: the element kind (Text)
  std::shared_ptr<const EnumDomain> domain;     // Text or Set of Text: allowed values, if an enum

  static Type of(TypeKind k) { return Type{k, TypeKind::Error, nullptr}; }
  static Type set_of(TypeKind e) { return Type{TypeKind::Set, e, nullptr}; }
  bool is_numeric() const { return kind == TypeKind::Integer || kind == TypeKind::Number; }
  bool operator==(const Type& o) const { return kind == o.kind && elem == o.elem; }
};

// "integer", "date", "set of text", "one of {...}" — as an author would write it.
std::string type_name(const Type& t);

}  // namespace crible
