// Type names as a rule author writes them, for diagnostics ("expected integer, found text").
#include "base/types.h"

namespace crible {

namespace {

const char* kind_name(TypeKind k) {
  switch (k) {
    case TypeKind::Error:
      return "<error>";
    case TypeKind::Bool:
      return "bool";
    case TypeKind::Integer:
      return "integer";
    case TypeKind::Number:
      return "number";
    case TypeKind::Text:
      return "text";
    case TypeKind::Date:
      return "date";
    case TypeKind::Duration:
      return "duration";
    case TypeKind::Set:
      return "set";
  }
  return "<error>";
}

// {"F", "M", "X"}: the values in declaration order, quoted as literals are in rules.
std::string domain_list(const EnumDomain& domain) {
  std::string out = "{";
  for (size_t i = 0; i < domain.values.size(); ++i) {
    if (i > 0) out += ", ";
    out += '"';
    out += domain.values[i];
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace

std::string type_name(const Type& t) {
  switch (t.kind) {
    case TypeKind::Text:
      if (t.domain) return "one of " + domain_list(*t.domain);
      return "text";
    case TypeKind::Set:
      if (t.domain) return "set of " + domain_list(*t.domain);
      return std::string("set of ") + kind_name(t.elem);
    default:
      return kind_name(t.kind);
  }
}

}  // namespace crible
