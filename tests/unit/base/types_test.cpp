// tests/unit/base/types_test.cpp: type names as a rule author writes them.
#include "base/types.h"

#include <boost/test/unit_test.hpp>

namespace crible {
namespace {

std::shared_ptr<const EnumDomain> domain(std::vector<std::string> values) {
  return std::make_shared<EnumDomain>(EnumDomain{std::move(values)});
}

BOOST_AUTO_TEST_SUITE(types)

BOOST_AUTO_TEST_CASE(plain_kinds) {
  BOOST_TEST(type_name(Type::of(TypeKind::Bool)) == "bool");
  BOOST_TEST(type_name(Type::of(TypeKind::Integer)) == "integer");
  BOOST_TEST(type_name(Type::of(TypeKind::Number)) == "number");
  BOOST_TEST(type_name(Type::of(TypeKind::Text)) == "text");
  BOOST_TEST(type_name(Type::of(TypeKind::Date)) == "date");
  BOOST_TEST(type_name(Type::of(TypeKind::Duration)) == "duration");
  BOOST_TEST(type_name(Type::of(TypeKind::Error)) == "<error>");
  BOOST_TEST(type_name(Type{}) == "<error>");
}

BOOST_AUTO_TEST_CASE(sets) {
  BOOST_TEST(type_name(Type::set_of(TypeKind::Text)) == "set of text");
  BOOST_TEST(type_name(Type::set_of(TypeKind::Date)) == "set of date");
}

BOOST_AUTO_TEST_CASE(enums_list_their_values_in_declaration_order) {
  Type sex = Type::of(TypeKind::Text);
  sex.domain = domain({"F", "M", "X"});
  BOOST_TEST(type_name(sex) == R"(one of {"F", "M", "X"})");

  Type vulnerabilities = Type::set_of(TypeKind::Text);
  vulnerabilities.domain = domain({"uasc", "vot", "medical"});
  BOOST_TEST(type_name(vulnerabilities) == R"(set of {"uasc", "vot", "medical"})");

  Type single = Type::of(TypeKind::Text);
  single.domain = domain({"only"});
  BOOST_TEST(type_name(single) == R"(one of {"only"})");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace crible
