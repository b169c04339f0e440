// The diff stage: two rulesets' decisions over the same cases, compared. The edge fixture
// (rules and scores on one side only, evidence that differs, unknown findings, a disposition
// only the new ruleset has) must give the e2e goldens in every format through the engine's
// API alone; a ruleset against itself changes nobody.
#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

#include "diff/diff.h"
#include "support/compiled_ruleset.h"
#include "support/source_files.h"

namespace crible::diff {
namespace {

using testing::read_file;
using testing::source_dir;

const std::string kEdge = "tests/data/diff/edge";

struct Decided {
  std::unique_ptr<testing::CompiledRuleset> compiled;
  eval::Decisions decisions;
  std::string path;
  Side side() const {
    return {path, compiled->rules, compiled->cases, compiled->interner, *compiled->evaluator,
            decisions};
  }
};

Decided decide(const std::string& rules_path) {
  Decided d;
  d.path = rules_path;
  testing::RulesetData data;
  data.cases_csv = read_file(source_dir() / kEdge / "cases.csv");
  d.compiled = testing::compile_ruleset(read_file(source_dir() / rules_path), data);
  d.decisions = d.compiled->evaluator->evaluate_all(1);
  return d;
}

std::string report(const Side& a, const Side& b, Format format, size_t* pieces = nullptr) {
  std::string out;
  size_t n = 0;
  write_report(a, b, format, [&](const std::string& piece) {
    out += piece;
    ++n;
  });
  if (pieces) *pieces = n;
  return out;
}

BOOST_AUTO_TEST_SUITE(diff_report)

BOOST_AUTO_TEST_CASE(the_edge_fixture_gives_the_goldens_in_every_format) {
  const Decided old_side = decide(kEdge + "/old.rules");
  const Decided new_side = decide(kEdge + "/new.rules");
  for (const auto& [format, golden] : {std::pair{Format::Text, "edge.txt"},
                                       std::pair{Format::Csv, "edge.csv"},
                                       std::pair{Format::Json, "edge.json"}}) {
    BOOST_TEST_CONTEXT(golden) {
      size_t pieces = 0;
      const std::string got = report(old_side.side(), new_side.side(), format, &pieces);
      BOOST_TEST(got == read_file(source_dir() / "tests/data/diff" / golden));
      BOOST_TEST(pieces >= 1u);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_text_report_streams_a_piece_at_a_time) {
  const Decided old_side = decide(kEdge + "/old.rules");
  const Decided new_side = decide(kEdge + "/new.rules");
  size_t pieces = 0;
  report(old_side.side(), new_side.side(), Format::Text, &pieces);
  BOOST_TEST(pieces > 5u);  // not one string built whole: a diff of a million cases streams
}

BOOST_AUTO_TEST_CASE(a_ruleset_against_itself_changes_nobody) {
  const Decided old_side = decide(kEdge + "/old.rules");
  const size_t cases = old_side.decisions.cases;
  BOOST_REQUIRE(cases > 0u);
  const std::string csv = report(old_side.side(), old_side.side(), Format::Csv);
  BOOST_TEST(csv.find('\n') == csv.size() - 1, "only the header: " << csv);
  const std::string text = report(old_side.side(), old_side.side(), Format::Text);
  BOOST_TEST(text.find("changed: 0 cases") != std::string::npos, text);
  BOOST_TEST(text.find("unchanged: " + std::to_string(cases) + " case") != std::string::npos,
             text);
}

BOOST_AUTO_TEST_CASE(swapping_the_sides_swaps_the_dispositions) {
  const Decided old_side = decide(kEdge + "/old.rules");
  const Decided new_side = decide(kEdge + "/new.rules");
  // C1 is VERIFY under the old rules and INELIGIBLE under the new ones (the golden).
  const std::string forward = report(old_side.side(), new_side.side(), Format::Csv);
  const std::string backward = report(new_side.side(), old_side.side(), Format::Csv);
  BOOST_TEST(forward.find("\nC1,VERIFY,INELIGIBLE,") != std::string::npos, forward);
  BOOST_TEST(backward.find("\nC1,INELIGIBLE,VERIFY,") != std::string::npos, backward);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace crible::diff
