// tests/unit/base/closest_name_test.cpp: the "did you mean" hints.
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "base/diagnostic.h"

namespace crible {
namespace {

const std::vector<std::string> kNames = {"nationality", "household_id", "phone", "Phone_number",
                                         "registered_on", "age", "birth_date", "bid_done"};

BOOST_AUTO_TEST_CASE(typos_swaps_case_and_suffixes) {
  BOOST_TEST(closest_name("nationalty", kNames) == "nationality");   // a letter missing
  BOOST_TEST(closest_name("natoinality", kNames) == "nationality");  // two letters swapped
  BOOST_TEST(closest_name("registred_on", kNames) == "registered_on");
  BOOST_TEST(closest_name("NATIONALITY", kNames) == "nationality");  // letter case
  BOOST_TEST(closest_name("household", kNames) == "household_id");   // a `_suffix` less
  BOOST_TEST(closest_name("birth_date_x", kNames) == "birth_date");   // one edit more than a suffix
}

BOOST_AUTO_TEST_CASE(nothing_when_too_far) {
  BOOST_TEST(closest_name("consent", kNames).empty());
  BOOST_TEST(closest_name("ag", {"agency"}).empty());      // 4 edits
  BOOST_TEST(closest_name("abc", {"xyz"}).empty());        // 3 edits, but all of a short name
  BOOST_TEST(closest_name("phone", {"phone"}).empty());    // the name itself is no hint
  BOOST_TEST(closest_name(std::string(65, 'a'), {std::string(64, 'a')}).empty());  // too long
}

BOOST_AUTO_TEST_CASE(the_nearest_wins_and_ties_go_alphabetically) {
  BOOST_TEST(closest_name("phne", kNames) == "phone");  // 1 edit, before Phone_number (suffix)
  BOOST_TEST(closest_name("bid_dane", {"bid_done", "bid_dana", "bid_dune"}) == "bid_dana");
  // A suffix match ranks by its whole distance: the closer one wins even past 3 edits.
  BOOST_TEST(closest_name("house", {"house_number_of_rooms", "house_id"}) == "house_id");
}

BOOST_AUTO_TEST_CASE(thousands_of_names_and_typos_stay_fast_and_exact) {
  std::vector<std::string> names;
  for (int i = 0; i < 5000; ++i) names.push_back("value_" + std::to_string(i));
  // One per thousand, so that the test stays short: every answer must still be exact.
  for (int i = 0; i < 5000; i += 1000)
    BOOST_TEST(closest_name("valeu_" + std::to_string(i), names) == "value_" + std::to_string(i));
}

}  // namespace
}  // namespace crible
