// What a rule change would do to real people: two rulesets' decisions over the same cases
// compared case by case. Every case whose disposition, scores or findings change is listed
// with the findings that changed and their evidence, then the matrix of disposition
// transitions; unchanged cases are only counted. `crible diff` loads and decides both sides
// and writes the report.
#pragma once
#include <functional>
#include <string>

#include "base/intern.h"
#include "check/typed_ruleset.h"
#include "data/data.h"
#include "eval/eval.h"

namespace crible::diff {

// One ruleset's run over the cases. Both sides must hold the same rows in the same order
// (row r is the same person on both sides); everything must outlive the report.
struct Side {
  std::string path;                  // the rule file, as the report names it
  const check::TypedRuleset& rules;
  const data::Table& cases;
  const Interner& interner;          // the texts of `cases`
  const eval::Evaluator& evaluator;  // prepared on `cases`: explains the changed cases
  const eval::Decisions& decisions;  // evaluate_all's
};

// text: a block per changed case, then the transition matrix and counts (for people);
// json: the same as one object; csv: one row per changed case,
// case_id,old_disposition,new_disposition,old_<score>...,new_<score>...,changed_rules
// (a contract other tools read).
enum class Format { Text, Json, Csv };

// Writes the report in pieces, in order, through `write`.
using Write = std::function<void(const std::string&)>;
void write_report(const Side& old_side, const Side& new_side, Format format, const Write& write);

}  // namespace crible::diff
