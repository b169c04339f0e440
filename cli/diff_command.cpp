// `crible diff OLD NEW --cases CASES`: what a rule change would do to real people. Both
// rulesets decide the same cases with the evaluation engine; every case whose decision
// changes is listed with the findings that changed and their evidence, then a matrix of
// disposition transitions. Unchanged cases are counted, never listed.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/authoring.h"
#include "cli/compile.h"
#include "cli/output.h"
#include "render/render.h"

namespace crible::cli {
namespace {

using ordered_json = nlohmann::ordered_json;

struct DiffOptions {
  std::string old_rules, new_rules;
  std::string cases;
  std::vector<std::string> tables, params;
  std::string format = "text";
  std::string out = "-";
  int threads = 0;
};

// One ruleset's run over the cases.
struct Side {
  std::string path;
  const Compiled* compiled = nullptr;
  Loaded* loaded = nullptr;
  eval::Decisions decisions;
  const check::TypedRuleset& rules() const { return compiled->rules; }
};

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
  const Interner& interner = side.loaded->interner;
  if (r.signal) {
    const auto& f = detail.signals[index];
    v.evidence = f.evidence;
    if (f.unknown) v.missing = f.missing;
    const auto& s = side.rules().signals[index];
    if (f.fired && !s.reason.empty())
      v.reason = render::reason_text(s.reason, f.evidence, interner);
  } else {
    const auto& f = detail.criteria[index];
    v.evidence = f.evidence;
    if (f.outcome == eval::CriterionOutcome::Unknown) v.missing = f.missing;
    const auto& c = side.rules().criteria[index];
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
                    render::format_value(e.value, e.type, side.loaded->interner));
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
  for (const auto& e : v.evidence) j[e.name] = json_value(e.value, e.type, side.loaded->interner);
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
  Diff(const DiffOptions& o, Side& old_side, Side& new_side)
      : o_(o), old_(old_side), new_(new_side) {
    match_rules();
    match_scores();
    for (const Side* s : {&old_, &new_})
      for (const auto& line : s->rules().disposition)
        if (std::find(outcomes_.begin(), outcomes_.end(), line.outcome) == outcomes_.end())
          outcomes_.push_back(line.outcome);
  }

  int run() {
    const size_t n = old_.decisions.cases;
    std::vector<std::vector<size_t>> matrix(outcomes_.size(),
                                            std::vector<size_t>(outcomes_.size(), 0));
    std::vector<ChangedCase> changed;
    for (size_t row = 0; row < n; ++row) {
      const std::string& od = old_.rules().disposition[old_.decisions.disposition[row]].outcome;
      const std::string& nd = new_.rules().disposition[new_.decisions.disposition[row]].outcome;
      ++matrix[outcome_index(od)][outcome_index(nd)];
      if (od == nd && !scores_differ(row) && !findings_differ(row)) continue;
      changed.push_back(describe(row));
    }
    auto sink = Sink::open(o_.out);
    if (!sink) return kExitData;
    if (o_.format == "csv")
      write_csv(*sink, changed);
    else if (o_.format == "json")
      write_json(*sink, changed, matrix, n);
    else
      write_text(*sink, changed, matrix, n);
    return sink->close() ? kExitOk : kExitData;
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
          for (size_t i = 0; i < s->rules().signals.size(); ++i)
            add(true, s->rules().signals[i].id, s->rules().signals[i].name, static_cast<int>(i),
                is_new);
        } else {
          for (size_t i = 0; i < s->rules().criteria.size(); ++i)
            add(false, s->rules().criteria[i].id, s->rules().criteria[i].name, static_cast<int>(i),
                is_new);
        }
      }
    }
  }

  void match_scores() {
    for (const Side* s : {&old_, &new_}) {
      const bool is_new = s == &new_;
      for (size_t i = 0; i < s->rules().scores.size(); ++i) {
        const std::string& name = s->rules().scores[i].name;
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
    c.key = render::case_key(old_.rules(), old_.loaded->cases, old_.loaded->interner, row);
    const auto& ol = old_.rules().disposition[old_.decisions.disposition[row]];
    const auto& nl = new_.rules().disposition[new_.decisions.disposition[row]];
    c.old_disposition = ol.outcome;
    c.new_disposition = nl.outcome;
    c.old_line = ol.text;
    c.new_line = nl.text;
    // Evidence only for the cases that changed: explain() costs a full evaluation of the case.
    std::optional<eval::CaseDetail> od, nd;
    for (const auto& r : rules_) {
      if (!rule_changed(r, row)) continue;
      if (!od) od = old_.loaded->evaluator->explain(row);
      if (!nd) nd = new_.loaded->evaluator->explain(row);
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

  void write_csv(Sink& sink, const std::vector<ChangedCase>& changed) const {
    std::string header = "case_id,old_disposition,new_disposition";
    for (const char* side : {"old_", "new_"})
      for (const auto& s : scores_) header += "," + render::csv_field(side + s.name);
    sink.write(header + ",changed_rules\n");
    for (const auto& c : changed) {
      std::string line = render::csv_field(c.key) + "," + render::csv_field(c.old_disposition) +
                         "," + render::csv_field(c.new_disposition);
      for (const auto& s : scores_) line += "," + score_text(old_, s.old_index, c.row);
      for (const auto& s : scores_) line += "," + score_text(new_, s.new_index, c.row);
      sink.write(line + "," + render::csv_field(changed_ids(c)) + "\n");
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

  void write_text(Sink& sink, const std::vector<ChangedCase>& changed,
                  const std::vector<std::vector<size_t>>& matrix, size_t cases) const {
    for (const auto& c : changed) {
      if (c.old_disposition == c.new_disposition) {
        sink.write(fmt::format("{}: {} (same disposition)\n", c.key, c.old_disposition));
      } else {
        sink.write(fmt::format("{}: {} -> {}\n", c.key, c.old_disposition, c.new_disposition));
        sink.write(fmt::format("  decided by: {} -> {}\n", c.old_line, c.new_line));
      }
      sink.write(fmt::format("  scores: {}\n", scores_line(c)));
      for (const auto& r : c.rules) {
        sink.write(fmt::format("  {} {}: {} -> {}\n", r.rule->id, r.rule->name,
                               words(r.old_outcome), words(r.new_outcome)));
        // The reason of the side where the finding counts against the case; the new one first.
        const std::string& reason =
            !r.new_view.reason.empty() ? r.new_view.reason : r.old_view.reason;
        if (!reason.empty()) sink.write(fmt::format("      {}\n", reason));
        std::string oe = r.old_outcome == "absent" ? "" : evidence_text(old_, r.old_view);
        std::string ne = r.new_outcome == "absent" ? "" : evidence_text(new_, r.new_view);
        if (oe == ne || oe.empty() || ne.empty()) {
          const std::string& e = ne.empty() ? oe : ne;
          if (!e.empty()) sink.write(fmt::format("      {}\n", e));
        } else {
          sink.write(fmt::format("      old {}\n", oe));
          sink.write(fmt::format("      new {}\n", ne));
        }
      }
      sink.write("\n");
    }
    sink.write(matrix_text(matrix, cases));
    size_t moved = 0;
    for (const auto& c : changed) moved += c.old_disposition != c.new_disposition;
    sink.write(
        fmt::format("\nchanged: {} case{} ({} with another disposition, {} with other scores or "
                    "findings only)\n",
                    changed.size(), changed.size() == 1 ? "" : "s", moved, changed.size() - moved));
    sink.write(fmt::format("unchanged: {} case{}\n", cases - changed.size(),
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

  void write_json(Sink& sink, const std::vector<ChangedCase>& changed,
                  const std::vector<std::vector<size_t>>& matrix, size_t cases) const {
    ordered_json j;
    j["old"] = o_.old_rules;
    j["new"] = o_.new_rules;
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
    sink.write(j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  }

  const DiffOptions& o_;
  Side& old_;
  Side& new_;
  std::vector<RuleRef> rules_;
  std::vector<ScoreRef> scores_;
  std::vector<std::string> outcomes_;  // every disposition outcome, old ruleset's order first
};

// The --table and --param arguments one ruleset declares: a ruleset that adds a table can be
// compared with one that does not. A name neither declares is a usage error.
bool split_for(const std::vector<std::string>& args, const char* option,
               const std::vector<std::string>& old_names, const std::vector<std::string>& new_names,
               std::vector<std::string>& old_args, std::vector<std::string>& new_args) {
  for (const auto& a : args) {
    std::pair<std::string, std::string> kv;
    if (!split_assignment(a, kv)) {
      std::cerr << fmt::format("error: {} expects NAME={}, got '{}'\n", option,
                               std::string(option) == "--table" ? "PATH" : "VALUE", a);
      return false;
    }
    const bool in_old = std::find(old_names.begin(), old_names.end(), kv.first) != old_names.end();
    const bool in_new = std::find(new_names.begin(), new_names.end(), kv.first) != new_names.end();
    if (!in_old && !in_new) {
      std::cerr << fmt::format("error: {} {}: neither ruleset declares a {} '{}'\n", option,
                               kv.first, std::string(option) == "--table" ? "table" : "parameter",
                               kv.first);
      return false;
    }
    if (in_old) old_args.push_back(a);
    if (in_new) new_args.push_back(a);
  }
  return true;
}

// Both rulesets must accept the same rows of the cases file, so that row r is the same
// person on both sides.
bool same_cases(const Side& a, const Side& b, const std::string& cases_path) {
  const size_t na = a.loaded->cases.rows, nb = b.loaded->cases.rows;
  auto key = [](const Side& s, size_t r) {
    return render::case_key(s.rules(), s.loaded->cases, s.loaded->interner, r);
  };
  bool same = na == nb;
  for (size_t r = 0; same && r < na; ++r) same = key(a, r) == key(b, r);
  if (same) return true;
  std::set<std::string> ka, kb;
  for (size_t r = 0; r < na; ++r) ka.insert(key(a, r));
  for (size_t r = 0; r < nb; ++r) kb.insert(key(b, r));
  std::vector<std::string> only_a, only_b;
  std::set_difference(ka.begin(), ka.end(), kb.begin(), kb.end(), std::back_inserter(only_a));
  std::set_difference(kb.begin(), kb.end(), ka.begin(), ka.end(), std::back_inserter(only_b));
  auto first = [](const std::vector<std::string>& v) {
    return v.empty() ? std::string() : fmt::format(" (first: {})", v.front());
  };
  std::cerr << fmt::format(
      "error: the two rulesets do not accept the same cases from {}: {} accepted by {} only{}, {} "
      "by {} "
      "only{}\nhint: their case schemas must agree on which rows are valid (types, required "
      "columns, key); compare the rejected rows of `crible eval` with each\n",
      cases_path, only_a.size(), a.path, first(only_a), only_b.size(), b.path, first(only_b));
  return false;
}

bool same_rejects(const Loaded& a, const Loaded& b) {
  auto same = [](const data::Table& x, const data::Table& y) {
    if (x.rejects.size() != y.rejects.size()) return false;
    for (size_t i = 0; i < x.rejects.size(); ++i)
      if (x.rejects[i].line != y.rejects[i].line || x.rejects[i].reason != y.rejects[i].reason)
        return false;
    return true;
  };
  if (!same(a.cases, b.cases) || a.tables.size() != b.tables.size()) return false;
  for (size_t i = 0; i < a.tables.size(); ++i)
    if (!same(a.tables[i], b.tables[i])) return false;
  return true;
}

int run_diff(const DiffOptions& o) {
  int code_old = kExitOk, code_new = kExitOk;
  auto old_compiled = compile(o.old_rules, DiagFormat::Text, false, code_old);
  auto new_compiled = compile(o.new_rules, DiagFormat::Text, false, code_new);
  if (!old_compiled || !new_compiled) return std::max(code_old, code_new);

  auto names = [](const auto& items) {
    std::vector<std::string> out;
    for (const auto& x : items) out.push_back(x.name);
    return out;
  };
  LoadRequest old_req{o.cases, {}, {}, o.threads}, new_req{o.cases, {}, {}, o.threads};
  if (!split_for(o.tables, "--table", names(old_compiled->rules.tables),
                 names(new_compiled->rules.tables), old_req.table_args, new_req.table_args) ||
      !split_for(o.params, "--param", names(old_compiled->rules.parameters),
                 names(new_compiled->rules.parameters), old_req.param_args, new_req.param_args))
    return kExitUsage;

  int code = kExitOk;
  auto old_loaded = load(*old_compiled, old_req, code);
  if (!old_loaded) return code;
  auto new_loaded = load(*new_compiled, new_req, code);
  if (!new_loaded) return code;

  Side old_side{o.old_rules, &*old_compiled, old_loaded.get(), {}};
  Side new_side{o.new_rules, &*new_compiled, new_loaded.get(), {}};
  if (!same_cases(old_side, new_side, o.cases)) return kExitData;
  report_rejects(*old_loaded, "", code);
  if (!same_rejects(*old_loaded, *new_loaded)) report_rejects(*new_loaded, "", code);
  if (code != kExitOk) return code;

  old_side.decisions = old_loaded->evaluator->evaluate_all(o.threads);
  new_side.decisions = new_loaded->evaluator->evaluate_all(o.threads);
  return Diff(o, old_side, new_side).run();
}

}  // namespace

AuthoringCommand register_diff_command(CLI::App& app) {
  auto opts = std::make_shared<DiffOptions>();
  CLI::App* sub =
      app.add_subcommand("diff", "Decide the same cases with two rulesets; show what changes");
  sub->add_option("OLD", opts->old_rules, "The ruleset in force")->required();
  sub->add_option("NEW", opts->new_rules, "The proposed ruleset")->required();
  sub->add_option("--cases", opts->cases, "Cases CSV file")->required();
  sub->add_option("--table", opts->tables,
                  "Reference table NAME=PATH (repeatable; given to each ruleset that declares it)");
  sub->add_option("--param", opts->params,
                  "Parameter NAME=VALUE (repeatable; given to each ruleset that declares it)");
  sub->add_option("--format", opts->format, "text (default), csv or json")
      ->check(CLI::IsMember({"text", "csv", "json"}));
  sub->add_option("--out", opts->out, "Output file, or - for stdout (default)");
  sub->add_option("--threads", opts->threads, "Threads (default: all cores)")
      ->check(thread_count());
  sub->footer(
      "Lists every case whose disposition, scores or findings change, with the findings that "
      "changed and their evidence, then the matrix of disposition transitions (text and json). "
      "Unchanged cases are counted, not listed.\n"
      "CSV output: "
      "case_id,old_disposition,new_disposition,old_<score>...,new_<score>...,changed_rules "
      "— one row per changed case, in input order.\n"
      "Exit codes: 0 ok (differences are not an error), 1 rule errors, 2 usage errors, 3 input "
      "data errors.");
  return {sub, [opts] { return run_diff(*opts); }};
}

}  // namespace crible::cli
