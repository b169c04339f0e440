// engine/render: turns decisions and evidence into text for people and machines — the
// decisions CSV (a contract other tools read), JSON lines, reason texts. Only this stage
// formats values; evaluation keeps them as data.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/intern.h"
#include "base/result.h"
#include "base/value.h"
#include "check/typed_ruleset.h"
#include "data/data.h"
#include "eval/eval.h"

namespace crible::render {

// "2019-01-18", "730 days", "eng;fra" (sorted by text), "true", "12", "1.5", "missing".
std::string format_value(const Value& v, TypeKind type, TextView texts);
// Integral numbers print without a decimal point; others in the shortest exact form.
std::string format_number(double v);
// RFC 4180 quoting when needed.
std::string csv_field(const std::string& s);

// `case_id,disposition,<scores...>,fired` — the header of `crible eval --format csv`.
std::string decisions_csv_header(const check::TypedRuleset& rules);
// One CSV row (with trailing newline) for case `row`.
std::string decisions_csv_row(const check::TypedRuleset& rules, const data::Table& cases,
                              TextView texts, const eval::Decisions& d, size_t row);
// The rows of cases [begin, end) appended to `out`: the bytes of decisions_csv_row for each,
// without a string or an allocation per row.
void append_decisions_csv(std::string& out, const check::TypedRuleset& rules,
                          const data::Table& cases, TextView texts,
                          const eval::Decisions& d, size_t begin, size_t end);
// The `fired` field: failed or unknown criteria and fired signals, byte-sorted, ';'-joined.
std::string fired_field(const check::TypedRuleset& rules, const eval::Decisions& d, size_t row);

std::string case_key(const check::TypedRuleset& rules, const data::Table& cases,
                     TextView texts, size_t row);

// A reason template filled with the finding's evidence values.
std::string reason_text(const std::vector<check::TemplatePart>& parts,
                        const std::vector<eval::EvidenceItem>& evidence, TextView texts);

const char* outcome_word(eval::CriterionOutcome o);

// One JSON object (no newline) with the disposition, scores and every finding's outcome,
// evidence and reason: the `--format jsonl` line and the audit store's detail.
// With `with_fields`, also the case fields the rules read (for the audit store).
std::string decision_json(const check::TypedRuleset& rules, const data::Table& cases,
                          TextView texts, const eval::CaseDetail& detail,
                          bool with_fields = false);

// The audit store keeps a decision's detail in two parts, so that each decision stores only
// what is its own. The layout is what the ruleset fixes, the same for every decision of a run
// (rule ids and names, condition and clause texts, evidence names, which fields are kept): it
// is stored once, with the run. The values are the case's own (outcomes, evidence values,
// reasons, linked cases, the fields read). expand_decision_json() joins them back into
// exactly decision_json(..., with_fields = true). Format: docs/architecture.md.
class DecisionEncoder {
 public:
  explicit DecisionEncoder(const check::TypedRuleset& rules);
  const std::string& layout_json() const { return layout_; }
  // Safe to call from several threads at once.
  std::string values_json(const data::Table& cases, TextView texts,
                          const eval::CaseDetail& detail) const;
  // The same into `out` (replacing its content, keeping its storage): review renders one per
  // case, and a thread that renders case after case allocates nothing once warm.
  void values_json(const data::Table& cases, TextView texts,
                   const eval::CaseDetail& detail, std::string& out) const;
  // Review renders row after row: it asks for the positions of the texts of the fields kept
  // of a row two ahead (stage 0) and for the bytes of those of the next row (stage 1), so
  // that rendering a row does not wait on the interner's memory. Hints only: the output is
  // the same without them.
  void prefetch_fields(const data::Table& cases, TextView texts, size_t row, int stage) const;

 private:
  const check::TypedRuleset& rules_;
  std::string layout_;
  std::vector<int32_t> fields_;  // the case columns kept, in order
  std::vector<int32_t> text_fields_;  // those of them that hold a text, and a text case key
  bool text_key_ = false;             // whether the case key is a text
  // Per criterion (then per signal), per evidence item: its position in fields_ when the
  // item is named after a kept field, else -1. Such a value is stored as a reference to the
  // field when the two are equal, instead of a second time.
  std::vector<std::vector<int32_t>> criterion_fields_, signal_fields_;
};

// The detail JSON of one decision from its run's layout and its own values. A malformed
// layout or values (a damaged store) is an Error saying what is wrong, never a crash. Linear
// in the layout's names, however many an edited store holds.
Result<std::string> expand_decision_json(std::string_view layout, std::string_view values,
                                         const std::string& case_id);
// The same as a JSON object, for a caller that reads it (`crible explain`): parsing the text
// back would cost what building it costs, and ordered_json parses an object of n members in
// n² steps.
Result<nlohmann::ordered_json> expand_decision(std::string_view layout, std::string_view values,
                                               const std::string& case_id);

// The names of a layout's scores (DecisionEncoder::layout_json), in the ruleset's order: the
// score columns of the run's decisions CSV. A malformed layout is an Error.
Result<std::vector<std::string>> layout_score_names(std::string_view layout);

}  // namespace crible::render
