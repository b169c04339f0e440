// Comparing two rulesets' decisions (diff.h): rules matched by kind and id, scores by name,
// a finding's change told in words with its evidence on both sides.
#include "diff/diff.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "render/render.h"

namespace crible::diff {
namespace {

using ordered_json = nlohmann::ordered_json;

// A criterion or signal, matched across the two rulesets by kind and id.
struct RuleRef {
  bool signal = false;
  std::string id, name;
  int old_index = -1, new_index = -1;
};

// A score matched by name; only scores both rulesets have can change.
struct ScoreRef {
  std::string name;
  int old_index = -1, new_index = -1;
};

// The outcome of a finding in words; a rule the ruleset lacks is "absent".
std::string outcome_of(const Side& side, const RuleRef& r, int index, size_t row) {
  if (index < 0) return "absent";
  const eval::Decisions& d = side.decisions;
  if (r.signal) return d.fired[row * d.n_signals + index] ? "fired" : "not_fired";
  return render::outcome_word(
      static_cast<eval::CriterionOutcome>(d.criteria[row * d.n_criteria + index]));
}

// What a finding counts as: absent is the neutral outcome (pass, not fired), so adding a
// criterion that every case passes changes nobody's decision.
std::string effective(const std::string& outcome, bool signal) {
  if (outcome == "absent") return signal ? "not_fired" : "pass";
  return outcome;
}

std::string words(const std::string& outcome) {
  return outcome == "not_fired" ? "not fired" : outcome;
}

std::string score_text(const Side& side, int index, size_t row) {
  if (index < 0) return {};
  return render::format_number(side.decisions.scores[row * side.decisions.n_scores + index]);
}

// Only what the diff needs of a CaseDetail finding.
struct FindingView {
  std::vector<eval::EvidenceItem> evidence;
  std::vector<std::string> missing;
  std::string reason;  // filled in when the finding is not neutral and has a reason template
};

FindingView finding(const Side& side, const eval::CaseDetail& detail, const RuleRef& r, int index) {
  FindingView v;
  if (index < 0) return v;
  const Interner& interner = side.interner;
  if (r.signal) {
    const auto& f = detail.signals[index];
    v.evidence = f.evidence;
    if (f.unknown) v.missing = f.missing;
    const auto& s = side.rules.signals[index];
    if (f.fired && !s.reason.empty())
      v.reason = render::reason_text(s.reason, f.evidence, interner);
  } else {
    const auto& f = detail.criteria[index];
    v.evidence = f.evidence;
    if (f.outcome == eval::CriterionOutcome::Unknown) v.missing = f.missing;
    const auto& c = side.rules.criteria[index];
    if (f.outcome != eval::CriterionOutcome::Pass && !c.reason.empty())
      v.reason = render::reason_text(c.reason, f.evidence, interner);
  }
  return v;
}

// "evidence: name = value, ..."; for a finding left unknown, "missing: ..." instead, as
// `explain` does. Empty when there is nothing to show.
std::string evidence_text(const Side& side, const FindingView& v) {
  if (!v.missing.empty()) return fmt::format("missing: {}", fmt::join(v.missing, ", "));
  if (v.evidence.empty()) return {};
  std::vector<std::string> parts;
  for (const auto& e : v.evidence)
    parts.push_back(std::string(e.name) + " = " +
                    render::format_value(e.value, e.type, side.interner));
  return fmt::format("evidence: {}", fmt::join(parts, ", "));
}

ordered_json json_value(const Value& v, TypeKind type, const Interner& interner) {
  switch (v.kind) {
    case ValueKind::Missing:
      return nullptr;
    case ValueKind::Bool:
      return v.i != 0;
    case ValueKind::Int:
      return v.i;
    case ValueKind::Num:
      return v.d;
    case ValueKind::Set: {
      std::vector<std::string> texts;
      for (uint32_t i = 0; i < v.n; ++i) texts.emplace_back(interner.text(v.set[i]));
      std::sort(texts.begin(), texts.end());
      return texts;
    }
    default:
      return render::format_value(v, type, interner);
  }
}

ordered_json evidence_json(const Side& side, const FindingView& v) {
  ordered_json j = ordered_json::object();
  for (const auto& e : v.evidence) j[e.name] = json_value(e.value, e.type, side.interner);
  return j;
}

// A changed case: everything the three formats print about it.
struct ChangedRule {
  const RuleRef* rule = nullptr;
  std::string old_outcome, new_outcome;
  FindingView old_view, new_view;
};

struct ChangedCase {
  size_t row = 0;
  std::string key;
  std::string old_disposition, new_disposition;
  std::string old_line, new_line;  // the disposition lines that decided
  std::vector<ChangedRule> rules;
};

class Diff {
 public:
  Diff(const Side& old_side, const Side& new_side)
      : old_(old_side), new_(new_side) {
    match_rules();
    match_scores();
    for (const Side* s : {&old_, &new_})
      for (const auto& line : s->rules.disposition)
        if (std::find(outcomes_.begin(), outcomes_.end(), line.outcome) == outcomes_.end())
          outcomes_.push_back(line.outcome);
  }

  void write_report(Format format, const Write& write) const {
    const size_t n = old_.decisions.cases;
    std::vector<std::vector<size_t>> matrix(outcomes_.size(),
                                            std::vector<size_t>(outcomes_.size(), 0));
    std::vector<ChangedCase> changed;
    for (size_t row = 0; row < n; ++row) {
      const std::string& od = old_.rules.disposition[old_.decisions.disposition[row]].outcome;
      const std::string& nd = new_.rules.disposition[new_.decisions.disposition[row]].outcome;
      ++matrix[outcome_index(od)][outcome_index(nd)];
      if (od == nd && !scores_differ(row) && !findings_differ(row)) continue;
      changed.push_back(describe(row));
    }
    switch (format) {
      case Format::Csv: write_csv(write, changed); break;
      case Format::Json: write_json(write, changed, matrix, n); break;
      case Format::Text: write_text(write, changed, matrix, n); break;
    }
  }

 private:
  void match_rules() {
    auto add = [&](bool signal, const std::string& id, const std::string& name, int index,
                   bool is_new) {
      for (auto& r : rules_) {
        if (r.signal == signal && r.id == id) {
          (is_new ? r.new_index : r.old_index) = index;
          if (is_new) r.name = name;
          return;
        }
      }
      RuleRef r;
      r.signal = signal;
      r.id = id;
      r.name = name;
      (is_new ? r.new_index : r.old_index) = index;
      rules_.push_back(r);
    };
    // Criteria first, then signals, each in the old ruleset's order, then the new ones.
    for (bool signal : {false, true}) {
      for (const Side* s : {&old_, &new_}) {
        const bool is_new = s == &new_;
        if (signal) {
          for (size_t i = 0; i < s->rules.signals.size(); ++i)
            add(true, s->rules.signals[i].id, s->rules.signals[i].name, static_cast<int>(i),
                is_new);
        } else {
          for (size_t i = 0; i < s->rules.criteria.size(); ++i)
            add(false, s->rules.criteria[i].id, s->rules.criteria[i].name, static_cast<int>(i),
                is_new);
        }
      }
    }
  }

  void match_scores() {
    for (const Side* s : {&old_, &new_}) {
      const bool is_new = s == &new_;
      for (size_t i = 0; i < s->rules.scores.size(); ++i) {
        const std::string& name = s->rules.scores[i].name;
        auto it = std::find_if(scores_.begin(), scores_.end(),
                               [&](const ScoreRef& x) { return x.name == name; });
        if (it == scores_.end()) {
          scores_.push_back({name});
          it = scores_.end() - 1;
        }
        (is_new ? it->new_index : it->old_index) = static_cast<int>(i);
      }
    }
  }

  size_t outcome_index(const std::string& outcome) const {
    return static_cast<size_t>(std::find(outcomes_.begin(), outcomes_.end(), outcome) -
                               outcomes_.begin());
  }

  bool scores_differ(size_t row) const {
    for (const auto& s : scores_) {
      if (s.old_index < 0 || s.new_index < 0) continue;
      if (old_.decisions.scores[row * old_.decisions.n_scores + s.old_index] !=
          new_.decisions.scores[row * new_.decisions.n_scores + s.new_index])
        return true;
    }
    return false;
  }

  bool findings_differ(size_t row) const {
    for (const auto& r : rules_)
      if (rule_changed(r, row)) return true;
    return false;
  }

  bool rule_changed(const RuleRef& r, size_t row) const {
    return effective(outcome_of(old_, r, r.old_index, row), r.signal) !=
           effective(outcome_of(new_, r, r.new_index, row), r.signal);
  }

  ChangedCase describe(size_t row) const {
    ChangedCase c;
    c.row = row;
    c.key = render::case_key(old_.rules, old_.cases, old_.interner, row);
    const auto& ol = old_.rules.disposition[old_.decisions.disposition[row]];
    const auto& nl = new_.rules.disposition[new_.decisions.disposition[row]];
    c.old_disposition = ol.outcome;
    c.new_disposition = nl.outcome;
    c.old_line = ol.text;
    c.new_line = nl.text;
    // Evidence only for the cases that changed: explain() costs a full evaluation of the case.
    std::optional<eval::CaseDetail> od, nd;
    for (const auto& r : rules_) {
      if (!rule_changed(r, row)) continue;
      if (!od) od = old_.evaluator.explain(row);
      if (!nd) nd = new_.evaluator.explain(row);
      ChangedRule cr;
      cr.rule = &r;
      cr.old_outcome = outcome_of(old_, r, r.old_index, row);
      cr.new_outcome = outcome_of(new_, r, r.new_index, row);
      cr.old_view = finding(old_, *od, r, r.old_index);
      cr.new_view = finding(new_, *nd, r, r.new_index);
      c.rules.push_back(std::move(cr));
    }
    return c;
  }

  std::string changed_ids(const ChangedCase& c) const {
    std::vector<std::string> ids;
    for (const auto& r : c.rules) ids.push_back(r.rule->id);
    std::sort(ids.begin(), ids.end());
    return fmt::format("{}", fmt::join(ids, ";"));
  }

  void write_csv(const Write& sink, const std::vector<ChangedCase>& changed) const {
    std::string header = "case_id,old_disposition,new_disposition";
    for (const char* side : {"old_", "new_"})
      for (const auto& s : scores_) header += "," + render::csv_field(side + s.name);
    sink(header + ",changed_rules\n");
    for (const auto& c : changed) {
      std::string line = render::csv_field(c.key) + "," + render::csv_field(c.old_disposition) +
                         "," + render::csv_field(c.new_disposition);
      for (const auto& s : scores_) line += "," + score_text(old_, s.old_index, c.row);
      for (const auto& s : scores_) line += "," + score_text(new_, s.new_index, c.row);
      sink(line + "," + render::csv_field(changed_ids(c)) + "\n");
    }
  }

  std::string scores_line(const ChangedCase& c) const {
    std::vector<std::string> parts;
    for (const auto& s : scores_) {
      std::string ov = score_text(old_, s.old_index, c.row),
                  nv = score_text(new_, s.new_index, c.row);
      if (ov.empty()) ov = "none";
      if (nv.empty()) nv = "none";
      parts.push_back(ov == nv ? fmt::format("{} {}", s.name, ov)
                               : fmt::format("{} {} -> {}", s.name, ov, nv));
    }
    return fmt::format("{}", fmt::join(parts, ", "));
  }

  void write_text(const Write& sink, const std::vector<ChangedCase>& changed,
                  const std::vector<std::vector<size_t>>& matrix, size_t cases) const {
    for (const auto& c : changed) {
      if (c.old_disposition == c.new_disposition) {
        sink(fmt::format("{}: {} (same disposition)\n", c.key, c.old_disposition));
      } else {
        sink(fmt::format("{}: {} -> {}\n", c.key, c.old_disposition, c.new_disposition));
        sink(fmt::format("  decided by: {} -> {}\n", c.old_line, c.new_line));
      }
      sink(fmt::format("  scores: {}\n", scores_line(c)));
      for (const auto& r : c.rules) {
        sink(fmt::format("  {} {}: {} -> {}\n", r.rule->id, r.rule->name,
                               words(r.old_outcome), words(r.new_outcome)));
        // The reason of the side where the finding counts against the case; the new one first.
        const std::string& reason =
            !r.new_view.reason.empty() ? r.new_view.reason : r.old_view.reason;
        if (!reason.empty()) sink(fmt::format("      {}\n", reason));
        std::string oe = r.old_outcome == "absent" ? "" : evidence_text(old_, r.old_view);
        std::string ne = r.new_outcome == "absent" ? "" : evidence_text(new_, r.new_view);
        if (oe == ne || oe.empty() || ne.empty()) {
          const std::string& e = ne.empty() ? oe : ne;
          if (!e.empty()) sink(fmt::format("      {}\n", e));
        } else {
          sink(fmt::format("      old {}\n", oe));
          sink(fmt::format("      new {}\n", ne));
        }
      }
      sink("\n");
    }
    sink(matrix_text(matrix, cases));
    size_t moved = 0;
    for (const auto& c : changed) moved += c.old_disposition != c.new_disposition;
    sink(
        fmt::format("\nchanged: {} case{} ({} with another disposition, {} with other scores or "
                    "findings only)\n",
                    changed.size(), changed.size() == 1 ? "" : "s", moved, changed.size() - moved));
    sink(fmt::format("unchanged: {} case{}\n", cases - changed.size(),
                           cases - changed.size() == 1 ? "" : "s"));
  }

  // Rows are the old dispositions, columns the new ones, over every case (the diagonal holds
  // the cases whose disposition stayed). Outcomes in disposition order, old ruleset first.
  std::string matrix_text(const std::vector<std::vector<size_t>>& m, size_t cases) const {
    const size_t k = outcomes_.size();
    std::vector<size_t> row_total(k, 0), col_total(k, 0);
    for (size_t i = 0; i < k; ++i)
      for (size_t j = 0; j < k; ++j) row_total[i] += m[i][j], col_total[j] += m[i][j];
    std::vector<std::vector<std::string>> cells;
    std::vector<std::string> head{"old \\ new"};
    for (const auto& o : outcomes_) head.push_back(o);
    head.push_back("total");
    cells.push_back(head);
    for (size_t i = 0; i < k; ++i) {
      std::vector<std::string> r{outcomes_[i]};
      for (size_t j = 0; j < k; ++j) r.push_back(std::to_string(m[i][j]));
      r.push_back(std::to_string(row_total[i]));
      cells.push_back(r);
    }
    std::vector<std::string> total{"total"};
    for (size_t j = 0; j < k; ++j) total.push_back(std::to_string(col_total[j]));
    total.push_back(std::to_string(cases));
    cells.push_back(total);
    std::vector<size_t> w(k + 2, 0);
    for (const auto& r : cells)
      for (size_t j = 0; j < r.size(); ++j) w[j] = std::max(w[j], r[j].size());
    std::string out =
        fmt::format("disposition transitions over {} case{} (rows: old, columns: new)\n", cases,
                    cases == 1 ? "" : "s");
    for (const auto& r : cells) {
      std::string line = fmt::format("{:<{}}", r[0], w[0]);
      for (size_t j = 1; j < r.size(); ++j) line += fmt::format("  {:>{}}", r[j], w[j]);
      out += line + "\n";
    }
    return out;
  }

  ordered_json side_json(const Side& side, const std::string& disposition, const std::string& line,
                         size_t row, bool is_new) const {
    ordered_json j;
    j["disposition"] = disposition;
    j["disposition_rule"] = line;
    ordered_json scores = ordered_json::object();
    for (const auto& s : scores_) {
      const int index = is_new ? s.new_index : s.old_index;
      if (index < 0) continue;
      const double v = side.decisions.scores[row * side.decisions.n_scores + index];
      if (v == std::floor(v) && std::fabs(v) < 9e15)
        scores[s.name] = static_cast<long long>(v);
      else
        scores[s.name] = v;
    }
    j["scores"] = scores;
    return j;
  }

  void write_json(const Write& sink, const std::vector<ChangedCase>& changed,
                  const std::vector<std::vector<size_t>>& matrix, size_t cases) const {
    ordered_json j;
    j["old"] = old_.path;
    j["new"] = new_.path;
    j["cases"] = cases;
    auto list = ordered_json::array();
    for (const auto& c : changed) {
      ordered_json cj;
      cj["case_id"] = c.key;
      cj["old"] = side_json(old_, c.old_disposition, c.old_line, c.row, false);
      cj["new"] = side_json(new_, c.new_disposition, c.new_line, c.row, true);
      auto rules = ordered_json::array();
      for (const auto& r : c.rules) {
        ordered_json rj;
        rj["id"] = r.rule->id;
        rj["name"] = r.rule->name;
        rj["kind"] = r.rule->signal ? "signal" : "criterion";
        rj["old"] = r.old_outcome;
        rj["new"] = r.new_outcome;
        const std::string& reason =
            !r.new_view.reason.empty() ? r.new_view.reason : r.old_view.reason;
        if (!reason.empty()) rj["reason"] = reason;
        if (r.old_outcome != "absent") rj["old_evidence"] = evidence_json(old_, r.old_view);
        if (r.new_outcome != "absent") rj["new_evidence"] = evidence_json(new_, r.new_view);
        if (!r.old_view.missing.empty()) rj["old_missing"] = r.old_view.missing;
        if (!r.new_view.missing.empty()) rj["new_missing"] = r.new_view.missing;
        rules.push_back(rj);
      }
      cj["changed_rules"] = rules;
      list.push_back(cj);
    }
    j["changed"] = list;
    ordered_json m = ordered_json::object();
    for (size_t i = 0; i < outcomes_.size(); ++i) {
      ordered_json row = ordered_json::object();
      for (size_t k = 0; k < outcomes_.size(); ++k) row[outcomes_[k]] = matrix[i][k];
      m[outcomes_[i]] = row;
    }
    j["matrix"] = m;
    j["unchanged"] = cases - changed.size();
    sink(j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  }

  const Side& old_;
  const Side& new_;
  std::vector<RuleRef> rules_;
  std::vector<ScoreRef> scores_;
  std::vector<std::string> outcomes_;  // every disposition outcome, old ruleset's order first
};

}  // namespace

void write_report(const Side& old_side, const Side& new_side, Format format, const Write& write) {
  Diff(old_side, new_side).write_report(format, write);
}

}  // namespace crible::diff
