// Small hand-written rulesets (tests/data/small) for behaviour the reference ruleset does
// not exercise: each test names the defect it guards against.
#include <boost/test/unit_test.hpp>

#include <string>

#include "support/run_crible.h"

namespace ct = crible::testing;

BOOST_AUTO_TEST_SUITE(small_rules)

// A reason placeholder naming a parameter or a constant used to render as `?`, because only
// fields, definitions and lets were recorded as evidence.
BOOST_AUTO_TEST_CASE(reason_shows_parameters_and_constants) {
  const ct::Run run = ct::run_crible({"eval", "tests/data/small/reason-params.rules", "--cases",
                                      "tests/data/small/reason-params.csv", "--format", "jsonl"});
  BOOST_TEST_REQUIRE(run.exit_code == 0, run.err);
  BOOST_TEST(run.out.find("household of 6 is over the limit of 4") != std::string::npos, run.out);
  BOOST_TEST(run.out.find("MLI is one of") != std::string::npos, run.out);
  BOOST_TEST(run.out.find("?") == std::string::npos, run.out);
  // --param reaches the reason too.
  const ct::Run five = ct::run_crible({"eval", "tests/data/small/reason-params.rules", "--cases",
                                       "tests/data/small/reason-params.csv", "--format", "jsonl",
                                       "--param", "limit=5"});
  BOOST_TEST_REQUIRE(five.exit_code == 0, five.err);
  BOOST_TEST(five.out.find("household of 6 is over the limit of 5") != std::string::npos, five.out);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(run_summary)

// `crible eval` of the reference rules over one of the hand-made sets in tests/data/eval.
ct::Run eval_set(const std::string& name) {
  const std::string set = "tests/data/eval/" + name + "/";
  return ct::run_crible({"eval", "rules/mali-2019.rules", "--cases", set + "cases.csv", "--table",
                         "flows=" + set + "flows.csv", "--table", "languages=" + set + "languages.csv",
                         "--out", "/dev/null"});
}

// The summary used to count only rejected case rows, so table rows that the aggregates never
// saw went unmentioned once the reject list scrolled by.
BOOST_AUTO_TEST_CASE(rejected_table_rows_are_counted_per_table) {
  const ct::Run run = eval_set("rejects");
  BOOST_TEST(run.exit_code == 0, run.err);
  BOOST_TEST(run.err.find("table flows: read 4, loaded 1, rejected 3\n") != std::string::npos, run.err);
  BOOST_TEST(run.err.find("table languages: read 2, loaded 1, rejected 1\n") != std::string::npos, run.err);
}

// A table without rejects adds no line: the usual summary stays as it was.
BOOST_AUTO_TEST_CASE(clean_tables_add_no_line) {
  const ct::Run run = eval_set("criteria");
  BOOST_TEST(run.exit_code == 0, run.err);
  BOOST_TEST(run.err.find("table ") == std::string::npos, run.err);
}

BOOST_AUTO_TEST_SUITE_END()
