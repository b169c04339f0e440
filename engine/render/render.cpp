// Formatting decisions and evidence.
#include "render/render.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "base/date.h"

namespace crible::render {

std::string format_number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15)
    return std::to_string(static_cast<long long>(v));
  return fmt::format("{}", v);
}

namespace {
std::vector<std::string> set_texts(const Value& v, const Interner& interner) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < v.n; ++i) out.push_back(interner.text(v.set[i]));
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

std::string format_value(const Value& v, TypeKind type, const Interner& interner) {
  (void)type;
  switch (v.kind) {
    case ValueKind::Missing: return "missing";
    case ValueKind::Bool: return v.i ? "true" : "false";
    case ValueKind::Int: return std::to_string(v.i);
    case ValueKind::Num: return format_number(v.d);
    case ValueKind::Text: return interner.text(static_cast<uint32_t>(v.i));
    case ValueKind::Date: return format_date(v.i);
    case ValueKind::Duration: return fmt::format("{} day{}", v.i, v.i == 1 || v.i == -1 ? "" : "s");
    case ValueKind::Set: {
      auto texts = set_texts(v, interner);
      return texts.empty() ? "none" : fmt::format("{}", fmt::join(texts, ";"));
    }
  }
  return "";
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string decisions_csv_header(const check::TypedRuleset& rules) {
  std::string h = "case_id,disposition";
  for (const auto& s : rules.scores) h += "," + csv_field(s.name);
  h += ",fired\n";
  return h;
}

std::string case_key(const check::TypedRuleset& rules, const data::Table& cases,
                     const Interner& interner, size_t row) {
  const data::Column& c = cases.columns[rules.case_key];
  const ColumnDecl& decl = rules.cases.columns[rules.case_key];
  switch (decl.type.kind) {
    case TypeKind::Text: return interner.text(static_cast<uint32_t>(c.ints[row]));
    case TypeKind::Integer: return std::to_string(c.ints[row]);
    case TypeKind::Date: return format_date(c.ints[row]);
    case TypeKind::Number: return format_number(c.nums[row]);
    case TypeKind::Bool: return c.ints[row] ? "true" : "false";
    default: return "";
  }
}

std::string fired_field(const check::TypedRuleset& rules, const eval::Decisions& d, size_t row) {
  std::vector<const std::string*> ids;
  for (size_t i = 0; i < d.n_criteria; ++i)
    if (d.criteria[row * d.n_criteria + i] != static_cast<uint8_t>(eval::CriterionOutcome::Pass))
      ids.push_back(&rules.criteria[i].id);
  for (size_t i = 0; i < d.n_signals; ++i)
    if (d.fired[row * d.n_signals + i]) ids.push_back(&rules.signals[i].id);
  std::sort(ids.begin(), ids.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ';';
    out += *ids[i];
  }
  return out;
}

std::string decisions_csv_row(const check::TypedRuleset& rules, const data::Table& cases,
                              const Interner& interner, const eval::Decisions& d, size_t row) {
  std::string line = csv_field(case_key(rules, cases, interner, row));
  line += ',';
  line += csv_field(rules.disposition[d.disposition[row]].outcome);
  for (size_t i = 0; i < d.n_scores; ++i) {
    line += ',';
    line += format_number(d.scores[row * d.n_scores + i]);
  }
  line += ',';
  line += csv_field(fired_field(rules, d, row));
  line += '\n';
  return line;
}

std::string reason_text(const std::vector<check::TemplatePart>& parts,
                        const std::vector<eval::EvidenceItem>& evidence, const Interner& interner) {
  std::string out;
  for (const auto& p : parts) {
    if (p.node < 0) {
      out += p.text;
      continue;
    }
    auto it = std::find_if(evidence.begin(), evidence.end(),
                           [&](const eval::EvidenceItem& e) { return e.name == p.text; });
    out += it == evidence.end() ? "?" : format_value(it->value, it->type, interner);
  }
  return out;
}

const char* outcome_word(eval::CriterionOutcome o) {
  switch (o) {
    case eval::CriterionOutcome::Pass: return "pass";
    case eval::CriterionOutcome::Fail: return "fail";
    case eval::CriterionOutcome::Unknown: return "unknown";
  }
  return "unknown";
}

namespace {
// Whole numbers print as integers (25, not 25.0), as in the CSV output.
nlohmann::ordered_json json_number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 9e15) return static_cast<long long>(v);
  return v;
}

nlohmann::ordered_json json_value(const Value& v, const Interner& interner) {
  switch (v.kind) {
    case ValueKind::Missing: return nullptr;
    case ValueKind::Bool: return v.i != 0;
    case ValueKind::Int: return v.i;
    case ValueKind::Num: return v.d;
    case ValueKind::Text: return interner.text(static_cast<uint32_t>(v.i));
    case ValueKind::Date: return format_date(v.i);
    case ValueKind::Duration: return fmt::format("{} days", v.i);
    case ValueKind::Set: return set_texts(v, interner);
  }
  return nullptr;
}

nlohmann::ordered_json evidence_json(const std::vector<eval::EvidenceItem>& ev, const Interner& interner) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& e : ev) j[e.name] = json_value(e.value, interner);
  return j;
}
}  // namespace

std::string decision_json(const check::TypedRuleset& rules, const data::Table& cases,
                          const Interner& interner, const eval::CaseDetail& detail, bool with_fields) {
  nlohmann::ordered_json j;
  j["case_id"] = case_key(rules, cases, interner, detail.row);
  const auto& line = rules.disposition[detail.disposition];
  j["disposition"] = line.outcome;
  j["disposition_rule"] = {{"line", detail.disposition + 1}, {"rule", line.text}};
  if (!detail.skipped_unknown.empty()) {
    auto skipped = nlohmann::ordered_json::array();
    for (int32_t i : detail.skipped_unknown) skipped.push_back(rules.disposition[i].text);
    j["disposition_rule"]["skipped_as_unknown"] = skipped;
  }
  nlohmann::ordered_json scores = nlohmann::ordered_json::object();
  for (size_t i = 0; i < rules.scores.size(); ++i) {
    scores[rules.scores[i].name] = json_number(detail.scores[i]);
  }
  j["scores"] = scores;
  // How each score was made: the points of fired signals, or the terms that held.
  nlohmann::ordered_json breakdown = nlohmann::ordered_json::object();
  for (size_t i = 0; i < rules.scores.size(); ++i) {
    const auto& sc = rules.scores[i];
    auto parts = nlohmann::ordered_json::array();
    if (sc.form == check::Score::Form::SignalPoints) {
      for (size_t k = 0; k < rules.signals.size(); ++k)
        if (detail.signals[k].fired) parts.push_back({{"signal", rules.signals[k].id}, {"points", json_number(rules.signals[k].points)}});
    } else if (sc.form == check::Score::Form::Terms) {
      for (size_t k = 0; k < sc.terms.size(); ++k) {
        Truth t = detail.score_terms[i][k].truth;
        if (t == Truth::False) continue;
        parts.push_back({{"when", sc.terms[k].text}, {"points", json_number(t == Truth::True ? sc.terms[k].weight : 0.0)},
                         {"holds", t == Truth::True ? "true" : "unknown"}});
      }
    }
    breakdown[sc.name] = parts;
  }
  j["score_breakdown"] = breakdown;
  auto criteria = nlohmann::ordered_json::array();
  for (size_t i = 0; i < rules.criteria.size(); ++i) {
    const auto& c = rules.criteria[i];
    const auto& f = detail.criteria[i];
    nlohmann::ordered_json cj;
    cj["id"] = c.id;
    cj["name"] = c.name;
    cj["outcome"] = outcome_word(f.outcome);
    if (f.decided_by >= 0) cj["decided_by"] = c.clauses[f.decided_by].text;
    else cj["condition"] = c.clauses.empty() ? "" : c.clauses[0].text;
    cj["evidence"] = evidence_json(f.evidence, interner);
    if (!f.missing.empty()) cj["missing"] = f.missing;
    if (!c.reason.empty()) cj["reason"] = reason_text(c.reason, f.evidence, interner);
    criteria.push_back(cj);
  }
  j["criteria"] = criteria;
  auto signals = nlohmann::ordered_json::array();
  for (size_t i = 0; i < rules.signals.size(); ++i) {
    const auto& s = rules.signals[i];
    const auto& f = detail.signals[i];
    nlohmann::ordered_json sj;
    sj["id"] = s.id;
    sj["name"] = s.name;
    sj["points"] = json_number(s.points);
    sj["outcome"] = f.fired ? "fired" : "not_fired";
    sj["condition"] = s.fires_text;
    sj["evidence"] = evidence_json(f.evidence, interner);
    if (f.unknown) sj["missing"] = f.missing;
    if (f.fired && !s.reason.empty()) sj["reason"] = reason_text(s.reason, f.evidence, interner);
    if (f.fired && i < detail.linked.size() && !detail.linked[i].empty()) {
      auto linked = nlohmann::ordered_json::array();
      for (size_t r : detail.linked[i]) linked.push_back(case_key(rules, cases, interner, r));
      sj["linked_cases"] = linked;
    }
    signals.push_back(sj);
  }
  j["signals"] = signals;
  if (with_fields) {
    // Only the fields the rules read: the audit trail holds no more than the decision needs.
    nlohmann::ordered_json fields = nlohmann::ordered_json::object();
    for (size_t c = 0; c < rules.cases.columns.size(); ++c) {
      if (!rules.case_fields_read[c] || static_cast<int32_t>(c) == rules.case_key) continue;
      const data::Column& col = cases.columns[c];
      if (!col.loaded) continue;
      Value v;
      if (col.valid[detail.row]) {
        switch (rules.cases.columns[c].type.kind) {
          case TypeKind::Bool: v = Value::boolean(col.ints[detail.row] != 0); break;
          case TypeKind::Integer: v = Value::integer(col.ints[detail.row]); break;
          case TypeKind::Number: v = Value::number(col.nums[detail.row]); break;
          case TypeKind::Text: v = Value::text(static_cast<uint32_t>(col.ints[detail.row])); break;
          case TypeKind::Date: v = Value::date(col.ints[detail.row]); break;
          case TypeKind::Set:
            v = Value::set_of(col.set_pool.data() + col.set_begin[detail.row],
                              col.set_end[detail.row] - col.set_begin[detail.row]);
            break;
          default: break;
        }
      }
      fields[rules.cases.columns[c].name] = json_value(v, interner);
    }
    j["fields"] = fields;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace crible::render
