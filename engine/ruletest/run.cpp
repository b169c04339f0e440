// Running a test file: bind its names to the ruleset, then for each test turn its cases into
// a CSV text and its tables into CSV texts, load them with the ordinary loader, plan with the
// test's parameters, decide every case and compare with what the test expects.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "check/check.h"
#include "data/data.h"
#include "plan/plan.h"
#include "render/render.h"
#include "ruletest/ruletest.h"

namespace crible::ruletest {

namespace {

namespace fs = std::filesystem;

// What an expectation refers to in the ruleset: a criterion, signal or score index.
struct BoundTest {
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<const TableGiven*> tables;      // parallel to rules.tables; null = not given (empty)
  std::vector<std::vector<int32_t>> targets;  // per expect line, per expectation
};

struct TableFile {
  std::string shown_path;  // as printed: the test file's directory joined with the path
  std::string text;
};

std::vector<std::string> column_names(const TableSchema& t) {
  std::vector<std::string> out;
  for (const auto& c : t.columns) out.push_back(c.name);
  return out;
}

std::string replace_case(const std::string& v, const std::string& name) {
  std::string out;
  size_t i = 0;
  for (size_t k; (k = v.find("{case}", i)) != std::string::npos; i = k + 6)
    out += v.substr(i, k - i) + name;
  return out + v.substr(i);
}

class Binder {
 public:
  Binder(const TestFile& tf, const SourceSet& sources, const check::TypedRuleset& rules)
      : tf_(tf), sources_(sources), rules_(rules) {}

  Diagnostics diags;
  std::map<std::string, TableFile> files;  // by the path as written

  BoundTest bind(const Test& t) {
    BoundTest b;
    for (const auto& p : t.params) bind_param(p, b);
    for (const auto& a : t.defaults) field(rules_.cases, a, "case");
    for (const auto& c : t.cases) {
      std::vector<std::string> seen;
      for (const auto& a : c.fields) {
        field(rules_.cases, a, "case");
        if (std::find(seen.begin(), seen.end(), a.field) != seen.end())
          diags.error("T0201", a.span,
                      fmt::format("{} is given twice for case {}", a.field, c.name),
                      "give each field once; a value on the case overrides the defaults");
        seen.push_back(a.field);
      }
    }
    b.tables.assign(rules_.tables.size(), nullptr);
    for (const auto& tg : t.tables) {
      auto it = std::find_if(rules_.tables.begin(), rules_.tables.end(),
                             [&](const TableSchema& s) { return s.name == tg.name; });
      if (it == rules_.tables.end()) {
        std::vector<std::string> names;
        for (const auto& s : rules_.tables) names.push_back(s.name);
        std::string near = closest_name(tg.name, names);
        diags.error(
            "T0205", tg.span, fmt::format("the ruleset declares no table '{}'", tg.name),
            near.empty()
                ? fmt::format("tables: {}",
                              names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")))
                : fmt::format("did you mean '{}'?", near));
        continue;
      }
      b.tables[it - rules_.tables.begin()] = &tg;
      for (const auto& row : tg.rows)
        for (const auto& a : row) field(*it, a, "table " + it->name);
      if (!tg.path.empty()) table_file(tg, *it);
    }
    for (const auto& line : t.expects) {
      std::vector<int32_t> targets;
      for (const auto& x : line.expectations) targets.push_back(target(x));
      b.targets.push_back(std::move(targets));
    }
    return b;
  }

 private:
  const TestFile& tf_;
  const SourceSet& sources_;
  const check::TypedRuleset& rules_;

  void bind_param(const Assignment& a, BoundTest& b) {
    auto it = std::find_if(rules_.parameters.begin(), rules_.parameters.end(),
                           [&](const check::Parameter& p) { return p.name == a.field; });
    if (it == rules_.parameters.end()) {
      std::vector<std::string> names;
      for (const auto& p : rules_.parameters) names.push_back(p.name);
      std::string near = closest_name(a.field, names);
      diags.error(
          "T0206", a.span, fmt::format("the ruleset has no parameter '{}'", a.field),
          near.empty()
              ? fmt::format("parameters: {}",
                            names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")))
              : fmt::format("did you mean '{}'?", near));
      return;
    }
    std::string why;
    if (!check::parse_param_value(*it, a.value, why)) {
      diags.error("T0206", a.value.empty() ? a.span : a.value_span,
                  fmt::format("bad value for parameter {}: {}", a.field, why));
      return;
    }
    b.params.emplace_back(a.field, a.value);
  }

  void field(const TableSchema& schema, const Assignment& a, const std::string& what) {
    if (schema.find(a.field) >= 0) return;
    std::string near = closest_name(a.field, column_names(schema));
    diags.error(
        "T0201", a.span,
        fmt::format("{} has no column '{}'", what == "case" ? "the case schema" : what, a.field),
        near.empty() ? fmt::format("columns: {}", fmt::join(column_names(schema), ", "))
                     : fmt::format("did you mean '{}'?", near));
  }

  void table_file(const TableGiven& tg, const TableSchema& schema) {
    if (files.count(tg.path)) return;
    const fs::path base = fs::path(sources_.file(tf_.file).path).parent_path();
    const fs::path full = fs::path(tg.path).is_absolute() ? fs::path(tg.path) : base / tg.path;
    std::ifstream in(full, std::ios::binary);
    if (!in) {
      diags.error("T0207", tg.span, fmt::format("cannot open {}", full.string()),
                  "a table file is found relative to the test file");
      return;
    }
    std::ostringstream s;
    s << in.rdbuf();
    TableFile f{full.string(), s.str()};
    // A file whose header lacks a column cannot be used by any test: an error in the test
    // file, found before any test runs. Row rejects are failures of the tests that use it.
    Interner scratch;
    auto loaded = data::load_csv_text(f.text, f.shown_path, schema, scratch, {}, false);
    if (!loaded) {
      diags.error("T0207", tg.span, fmt::format("table {}: {}", tg.name, loaded.error().message));
      return;
    }
    files.emplace(tg.path, std::move(f));
  }

  // Index of the criterion, signal or score an expectation names; -1 for the others.
  int32_t target(const Expectation& x) {
    auto find_rule = [&](const auto& list) -> int32_t {
      for (size_t i = 0; i < list.size(); ++i)
        if (list[i].id == x.target || list[i].name == x.target) return static_cast<int32_t>(i);
      return -1;
    };
    auto names_of = [&](const auto& list) {
      std::vector<std::string> names;
      for (const auto& r : list) {
        names.push_back(r.id);
        names.push_back(r.name);
      }
      return names;
    };
    switch (x.kind) {
      case ExpectKind::Rejected:
        return -1;
      case ExpectKind::Disposition: {
        std::vector<std::string> outcomes;
        for (const auto& l : rules_.disposition) {
          if (l.outcome == x.target) return -1;
          if (std::find(outcomes.begin(), outcomes.end(), l.outcome) == outcomes.end())
            outcomes.push_back(l.outcome);
        }
        std::string near = closest_name(x.target, outcomes);
        diags.error("T0204", x.target_span,
                    fmt::format("no disposition line decides '{}'", x.target),
                    near.empty() ? fmt::format("outcomes: {}", fmt::join(outcomes, ", "))
                                 : fmt::format("did you mean '{}'?", near));
        return -1;
      }
      case ExpectKind::Passes:
      case ExpectKind::Fails:
      case ExpectKind::IsUnknown: {
        int32_t i = find_rule(rules_.criteria);
        if (i >= 0) return i;
        if (find_rule(rules_.signals) >= 0) {
          diags.error("T0203", x.span,
                      fmt::format("{} is a signal: it fires or does not fire", x.target),
                      fmt::format("write `{} fires` or `{} does not fire`", x.target, x.target));
          return -1;
        }
        unknown_rule(x, "criterion", names_of(rules_.criteria));
        return -1;
      }
      case ExpectKind::Fires:
      case ExpectKind::DoesNotFire: {
        int32_t i = find_rule(rules_.signals);
        if (i >= 0) return i;
        if (find_rule(rules_.criteria) >= 0) {
          diags.error("T0203", x.span,
                      fmt::format("{} is a criterion: it passes, fails or is unknown", x.target),
                      fmt::format("write `{} passes`, `{} fails` or `{} is unknown`", x.target,
                                  x.target, x.target));
          return -1;
        }
        unknown_rule(x, "signal", names_of(rules_.signals));
        return -1;
      }
      case ExpectKind::Score: {
        std::vector<std::string> names;
        for (size_t i = 0; i < rules_.scores.size(); ++i) {
          if (rules_.scores[i].name == x.target) return static_cast<int32_t>(i);
          names.push_back(rules_.scores[i].name);
        }
        std::string near = closest_name(x.target, names);
        diags.error(
            "T0202", x.target_span, fmt::format("the ruleset has no score '{}'", x.target),
            near.empty()
                ? fmt::format("scores: {}",
                              names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")))
                : fmt::format("did you mean '{}'?", near));
        return -1;
      }
    }
    return -1;
  }

  void unknown_rule(const Expectation& x, const char* kind, const std::vector<std::string>& names) {
    std::string near = closest_name(x.target, names);
    diags.error("T0202", x.target_span, fmt::format("the ruleset has no {} '{}'", kind, x.target),
                near.empty() ? "" : fmt::format("did you mean '{}'?", near));
  }
};

// ------------------------------------------------------------------ explanations
std::string evidence_text(const std::vector<eval::EvidenceItem>& ev, const Interner& interner) {
  std::string out;
  for (const auto& e : ev) {
    if (!out.empty()) out += ", ";
    out += e.name;
    out += " = " + render::format_value(e.value, e.type, interner);
  }
  return out;
}

std::string score_text(const check::TypedRuleset& rules, const eval::CaseDetail& d, size_t i) {
  const check::Score& sc = rules.scores[i];
  std::vector<std::string> parts;
  if (sc.form == check::Score::Form::SignalPoints) {
    for (size_t k = 0; k < rules.signals.size(); ++k)
      if (d.signals[k].fired)
        parts.push_back(fmt::format("{} +{}", rules.signals[k].id,
                                    render::format_number(rules.signals[k].points)));
  } else if (sc.form == check::Score::Form::Terms) {
    for (size_t k = 0; k < sc.terms.size(); ++k) {
      Truth t = d.score_terms[i][k].truth;
      if (t == Truth::True)
        parts.push_back(
            fmt::format("+{} {}", render::format_number(sc.terms[k].weight), sc.terms[k].text));
      else if (t == Truth::Unknown)
        parts.push_back(fmt::format("unknown: {}", sc.terms[k].text));
    }
  }
  std::string out = sc.name + " = " + render::format_number(d.scores[i]);
  if (!parts.empty()) out += fmt::format(" ({})", fmt::join(parts, ", "));
  return out;
}

// The actual decision of one case: the disposition line, scores, every criterion, the signals
// that fired, and the signals in `show` that did not.
std::string explain_text(const check::TypedRuleset& rules, const data::Table& cases,
                         const Interner& interner, const eval::CaseDetail& d,
                         const std::string& name, const std::vector<bool>& show) {
  size_t width = 20;
  for (const auto& c : rules.criteria) width = std::max(width, c.id.size() + c.name.size() + 3);
  for (const auto& s : rules.signals) width = std::max(width, s.id.size() + s.name.size() + 3);
  std::string out;
  if (d.disposition >= 0 && static_cast<size_t>(d.disposition) < rules.disposition.size()) {
    const auto& line = rules.disposition[d.disposition];
    out += fmt::format("  case {} was decided {} by disposition line {}: {}\n", name, line.outcome,
                       d.disposition + 1, line.text);
  } else {
    out += fmt::format("  case {}: no disposition line matched\n", name);
  }
  for (int32_t i : d.skipped_unknown)
    out += fmt::format("    line {} skipped, its condition was unknown: {}\n", i + 1,
                       rules.disposition[i].text);
  std::vector<std::string> scores;
  for (size_t i = 0; i < rules.scores.size(); ++i) scores.push_back(score_text(rules, d, i));
  if (!scores.empty()) out += fmt::format("    scores: {}\n", fmt::join(scores, ", "));
  out += "    criteria:\n";
  for (size_t i = 0; i < rules.criteria.size(); ++i) {
    const auto& c = rules.criteria[i];
    const auto& f = d.criteria[i];
    out += fmt::format("      {:<{}}{:<9}{}\n", c.id + " " + c.name, width,
                       render::outcome_word(f.outcome), evidence_text(f.evidence, interner));
  }
  std::string fired, not_fired;
  for (size_t i = 0; i < rules.signals.size(); ++i) {
    const auto& s = rules.signals[i];
    const auto& f = d.signals[i];
    const std::string label = fmt::format("      {:<{}}", s.id + " " + s.name, width);
    if (f.fired) {
      fired += label + fmt::format("+{}  {}\n", render::format_number(s.points),
                                   s.reason.empty()
                                       ? s.fires_text
                                       : render::reason_text(s.reason, f.evidence, interner));
      std::string more = "          evidence: " + evidence_text(f.evidence, interner);
      if (i < d.linked.size() && !d.linked[i].empty()) {
        std::vector<std::string> keys;
        for (size_t r : d.linked[i]) keys.push_back(render::case_key(rules, cases, interner, r));
        more += fmt::format("; linked cases: {}", fmt::join(keys, ", "));
      }
      fired += more + "\n";
    } else if (i < show.size() && show[i]) {
      if (f.unknown)
        not_fired +=
            label + fmt::format("not decided for lack of data: {}\n", fmt::join(f.missing, ", "));
      else
        not_fired += label + evidence_text(f.evidence, interner) + "\n";
    }
  }
  if (!fired.empty()) out += "    signals fired:\n" + fired;
  if (!not_fired.empty()) out += "    signals not fired:\n" + not_fired;
  return out;
}

bool compare(double actual, Compare op, double expected) {
  const double tolerance = 1e-9 * std::max(1.0, std::fabs(expected));
  const bool eq = std::fabs(actual - expected) <= tolerance;
  switch (op) {
    case Compare::Eq:
      return eq;
    case Compare::Ne:
      return !eq;
    case Compare::Lt:
      return actual < expected && !eq;
    case Compare::Le:
      return actual < expected || eq;
    case Compare::Gt:
      return actual > expected && !eq;
    case Compare::Ge:
      return actual > expected || eq;
  }
  return false;
}

const char* outcome_phrase(eval::CriterionOutcome o) {
  switch (o) {
    case eval::CriterionOutcome::Pass:
      return "it passed";
    case eval::CriterionOutcome::Fail:
      return "it failed";
    case eval::CriterionOutcome::Unknown:
      return "it was unknown";
  }
  return "";
}

// ------------------------------------------------------------------ one test
class TestRun {
 public:
  TestRun(const Test& t, const BoundTest& b, const std::map<std::string, TableFile>& files,
          const check::TypedRuleset& rules)
      : t_(t), b_(b), files_(files), rules_(rules) {
    result_.name = t.name;
    result_.span = t.span;
  }

  TestResult run(Coverage& coverage) {
    auto planned = plan::plan(rules_, interner_, b_.params);
    if (!planned) {  // parameters were checked when binding: only a ruleset without defaults
      fail_at(t_.span, "T0206", planned.error().message);
      return std::move(result_);
    }
    plan_ = std::move(planned.value());
    for (size_t i = 0; i < rules_.tables.size(); ++i)
      if (!load_table(i)) return std::move(result_);
    if (!load_cases()) return std::move(result_);
    std::vector<const data::Table*> table_ptrs;
    for (const auto& t : tables_) table_ptrs.push_back(&t);
    auto ev = eval::Evaluator::prepare(plan_, cases_, table_ptrs, 1);
    if (!ev) {
      fail_at(t_.span, "T0303", ev.error().message);
      return std::move(result_);
    }
    evaluator_ = std::move(ev.value());
    decisions_ = evaluator_->evaluate_all(1);
    coverage.add(decisions_);
    result_.cases = decisions_.cases;
    report_rejected_cases();
    for (size_t l = 0; l < t_.expects.size(); ++l)
      for (size_t c : t_.expects[l].cases) check_line(l, c);
    return std::move(result_);
  }

 private:
  const Test& t_;
  const BoundTest& b_;
  const std::map<std::string, TableFile>& files_;
  const check::TypedRuleset& rules_;
  TestResult result_;
  Interner interner_;
  plan::Plan plan_;
  std::vector<data::Table> tables_;
  data::Table cases_;
  std::vector<int64_t> row_of_;                 // per case: its row, -1 when rejected
  std::vector<const data::Reject*> reject_of_;  // per case: why it was rejected
  std::unique_ptr<eval::Evaluator> evaluator_;
  eval::Decisions decisions_;

  void fail_at(Span s, const char* code, std::string message, std::string hint = {},
               std::string case_name = {}) {
    Failure f;
    f.case_name = std::move(case_name);
    f.problems.push_back({Severity::Error, code, s, std::move(message), std::move(hint), {}});
    result_.failures.push_back(std::move(f));
  }

  // The span of the value that set `column` for a case (or a table row): the case's own
  // value, else the defaults'; null when it was not given.
  static const Assignment* given(const std::vector<Assignment>& own,
                                 const std::vector<Assignment>* defaults,
                                 const std::string& column) {
    for (auto it = own.rbegin(); it != own.rend(); ++it)
      if (it->field == column) return &*it;
    if (defaults)
      for (const auto& a : *defaults)
        if (a.field == column) return &a;
    return nullptr;
  }

  static Span value_or_whole(const Assignment& a) {
    return a.value.empty() ? a.span : a.value_span;
  }

  bool load_table(size_t i) {
    const TableSchema& schema = rules_.tables[i];
    const TableGiven* tg = b_.tables[i];
    std::string text, name_for_errors;
    if (tg && !tg->path.empty()) {
      const TableFile& f = files_.at(tg->path);
      text = f.text;
      name_for_errors = f.shown_path;
    } else {
      for (size_t c = 0; c < schema.columns.size(); ++c)
        text += (c ? "," : "") + render::csv_field(schema.columns[c].name);
      text += "\n";
      if (tg) {
        for (const auto& row : tg->rows) {
          for (size_t c = 0; c < schema.columns.size(); ++c) {
            const Assignment* a = given(row, nullptr, schema.columns[c].name);
            text += (c ? "," : "") + render::csv_field(a ? a->value : "");
          }
          text += "\n";
        }
      }
      name_for_errors = "table " + schema.name;
    }
    auto loaded = data::load_csv_text(text, name_for_errors, schema, interner_, {}, false);
    if (!loaded) {
      fail_at(tg ? tg->span : t_.span, "T0303",
              fmt::format("table {}: {}", schema.name, loaded.error().message));
      return false;
    }
    for (const auto& r : loaded.value().rejects) {
      if (tg && tg->path.empty()) {
        size_t row = r.line >= 2 ? r.line - 2 : 0;
        const Assignment* a = row < tg->rows.size() && !r.column.empty()
                                  ? given(tg->rows[row], nullptr, r.column)
                                  : nullptr;
        Span s = a                            ? value_or_whole(*a)
                 : row < tg->row_spans.size() ? tg->row_spans[row]
                                              : tg->span;
        fail_at(s, "T0303",
                fmt::format("a row of table {} was rejected: {}", schema.name, r.reason));
      } else {
        fail_at(tg ? tg->span : t_.span, "T0303",
                fmt::format("a row of table {} was rejected: {}:{}: {}", schema.name,
                            name_for_errors, r.line, r.reason));
      }
    }
    tables_.push_back(std::move(loaded.value()));
    return true;
  }

  bool load_cases() {
    const TableSchema& schema = rules_.cases;
    const int key = schema.key.size() == 1 ? schema.key[0] : -1;
    std::string text;
    for (size_t c = 0; c < schema.columns.size(); ++c)
      text += (c ? "," : "") + render::csv_field(schema.columns[c].name);
    text += "\n";
    for (const CaseGiven& cg : t_.cases) {
      for (size_t c = 0; c < schema.columns.size(); ++c) {
        const Assignment* a = given(cg.fields, &t_.defaults, schema.columns[c].name);
        std::string v = a                            ? replace_case(a->value, cg.name)
                        : static_cast<int>(c) == key ? cg.name
                                                     : "";
        text += (c ? "," : "") + render::csv_field(v);
      }
      text += "\n";
    }
    auto loaded =
        data::load_csv_text(text, fmt::format("test \"{}\"", t_.name), schema, interner_, {}, true);
    if (!loaded) {
      fail_at(t_.span, "T0302", loaded.error().message);
      return false;
    }
    cases_ = std::move(loaded.value());
    // Values never hold a line break, so case i is on line i + 2 (after the header).
    row_of_.assign(t_.cases.size(), -1);
    reject_of_.assign(t_.cases.size(), nullptr);
    for (size_t r = 0; r < cases_.rows; ++r)
      if (cases_.row_line[r] >= 2 && cases_.row_line[r] - 2 < t_.cases.size())
        row_of_[cases_.row_line[r] - 2] = static_cast<int64_t>(r);
    for (const auto& rej : cases_.rejects)
      if (rej.line >= 2 && rej.line - 2 < t_.cases.size()) reject_of_[rej.line - 2] = &rej;
    return true;
  }

  void report_rejected_cases() {
    std::vector<bool> expected(t_.cases.size(), false);
    for (const auto& line : t_.expects)
      for (const auto& x : line.expectations)
        if (x.kind == ExpectKind::Rejected)
          for (size_t c : line.cases) expected[c] = true;
    for (size_t c = 0; c < t_.cases.size(); ++c) {
      if (row_of_[c] < 0 && !reject_of_[c]) {
        // Every field empty (the key given as missing too): the loader skips a blank line.
        fail_at(t_.cases[c].span, "T0302",
                fmt::format("case {} has no values at all, so it was not read", t_.cases[c].name),
                "", t_.cases[c].name);
        continue;
      }
      if (!reject_of_[c] || expected[c]) continue;
      const CaseGiven& cg = t_.cases[c];
      const data::Reject& r = *reject_of_[c];
      const Assignment* a = r.column.empty() ? nullptr : given(cg.fields, &t_.defaults, r.column);
      std::string hint;
      if (!a && !r.column.empty())
        hint = fmt::format("give {}=... on the case or in a `defaults` line", r.column);
      fail_at(a ? value_or_whole(*a) : cg.span, "T0302",
              fmt::format("case {} was rejected: {}", cg.name, r.reason), hint, cg.name);
    }
  }

  void check_line(size_t l, size_t c) {
    const ExpectLine& line = t_.expects[l];
    const CaseGiven& cg = t_.cases[c];
    std::vector<Diagnostic> problems;
    auto mismatch = [&](const Expectation& x, std::string message) {
      problems.push_back(
          {Severity::Error, "T0301", x.span, fmt::format("case {}: {}", cg.name, message), {}, {}});
    };
    if (row_of_[c] < 0) {
      // Rejected: only `rejected` can be checked; without it the rejection was reported.
      return;
    }
    const size_t row = static_cast<size_t>(row_of_[c]);
    std::vector<bool> show(rules_.signals.size(), false);
    for (size_t k = 0; k < line.expectations.size(); ++k) {
      const Expectation& x = line.expectations[k];
      const int32_t i = b_.targets[l][k];
      switch (x.kind) {
        case ExpectKind::Rejected:
          mismatch(x, "expected the row to be rejected, but it was accepted");
          break;
        case ExpectKind::Disposition: {
          uint8_t d = decisions_.disposition[row];
          const bool decided = d < rules_.disposition.size() && decisions_.disposition[row] != 0xff;
          const std::string actual = decided ? rules_.disposition[d].outcome : "no disposition";
          if (actual != x.target)
            mismatch(x, fmt::format("expected disposition {}, got {}", x.target, actual));
          break;
        }
        case ExpectKind::Passes:
        case ExpectKind::Fails:
        case ExpectKind::IsUnknown: {
          auto actual = static_cast<eval::CriterionOutcome>(
              decisions_.criteria[row * decisions_.n_criteria + i]);
          auto wanted = x.kind == ExpectKind::Passes  ? eval::CriterionOutcome::Pass
                        : x.kind == ExpectKind::Fails ? eval::CriterionOutcome::Fail
                                                      : eval::CriterionOutcome::Unknown;
          if (actual != wanted) {
            const char* want = x.kind == ExpectKind::Passes  ? "to pass"
                               : x.kind == ExpectKind::Fails ? "to fail"
                                                             : "to be unknown";
            mismatch(x, fmt::format("expected {} {}, but {}", rules_.criteria[i].id, want,
                                    outcome_phrase(actual)));
          }
          break;
        }
        case ExpectKind::Fires:
        case ExpectKind::DoesNotFire: {
          const bool fired = decisions_.fired[row * decisions_.n_signals + i] != 0;
          const bool wanted = x.kind == ExpectKind::Fires;
          show[i] = true;
          if (fired != wanted)
            mismatch(x, fmt::format("expected {} {}, but it {}", rules_.signals[i].id,
                                    wanted ? "to fire" : "not to fire",
                                    fired ? "fired" : "did not fire"));
          break;
        }
        case ExpectKind::Score: {
          const double actual = decisions_.scores[row * decisions_.n_scores + i];
          if (!compare(actual, x.compare, x.number))
            mismatch(x, fmt::format("expected {}, got {} = {}", expectation_text(x), x.target,
                                    render::format_number(actual)));
          break;
        }
      }
    }
    if (problems.empty()) return;
    Failure f;
    f.case_name = cg.name;
    f.problems = std::move(problems);
    eval::CaseDetail detail = evaluator_->explain(row);
    f.explanation = explain_text(rules_, cases_, interner_, detail, cg.name, show);
    result_.failures.push_back(std::move(f));
  }
};

}  // namespace

FileResult run(const TestFile& tf, const SourceSet& sources, const check::TypedRuleset& rules,
               Coverage& coverage) {
  FileResult result;
  Binder binder(tf, sources, rules);
  std::vector<BoundTest> bound;
  for (const Test& t : tf.tests) bound.push_back(binder.bind(t));
  if (binder.diags.has_errors()) {
    result.errors = binder.diags.take_sorted();
    return result;
  }
  for (size_t i = 0; i < tf.tests.size(); ++i) {
    TestRun one(tf.tests[i], bound[i], binder.files, rules);
    result.tests.push_back(one.run(coverage));
    result.cases += result.tests.back().cases;
  }
  return result;
}

std::string render_failure(const Failure& failure, const TestResult& test,
                           const SourceSet& sources) {
  std::string out;
  for (size_t i = 0; i < failure.problems.size(); ++i) {
    Diagnostic d = failure.problems[i];
    if (i + 1 == failure.problems.size())
      d.notes.push_back({test.span, fmt::format("in test \"{}\"", test.name)});
    out += render_text(d, sources);
  }
  out += failure.explanation;
  return out;
}

}  // namespace crible::ruletest
