// Formatting decisions and evidence.
#include "render/render.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "base/date.h"
#include "base/json_members.h"
#include "base/threads.h"

namespace crible::render {

namespace {
void append_number(std::string& out, double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
    out.append(buf, r.ptr);
    return;
  }
  fmt::format_to(std::back_inserter(out), "{}", v);
}

// Whether a field needs quoting, by a plain loop: find_first_of(",\"\r\n") calls memchr on
// the four characters for every byte, which was a quarter of writing the 1M-row CSV.
bool needs_quotes(std::string_view s) {
  for (const char c : s)
    if (c == ',' || c == '"' || c == '\r' || c == '\n') return true;
  return false;
}

void append_csv_field(std::string& out, std::string_view s) {
  if (!needs_quotes(s)) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}
}  // namespace

std::string format_number(double v) {
  std::string out;
  append_number(out, v);
  return out;
}

namespace {
// A set's texts in byte order, as views into the run's texts (which outlive any rendering).
std::vector<std::string_view> set_texts(const Value& v, TextView texts) {
  std::vector<std::string_view> out;
  out.reserve(v.n);
  for (uint32_t i = 0; i < v.n; ++i) out.push_back(texts.text(v.set[i]));
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

std::string format_value(const Value& v, TypeKind type, TextView texts) {
  (void)type;
  switch (v.kind) {
    case ValueKind::Missing: return "missing";
    case ValueKind::Bool: return v.i ? "true" : "false";
    case ValueKind::Int: return std::to_string(v.i);
    case ValueKind::Num: return format_number(v.d);
    case ValueKind::Text: return std::string(texts.text(static_cast<uint32_t>(v.i)));
    case ValueKind::Date: return format_date(v.i);
    case ValueKind::Duration: return fmt::format("{} day{}", v.i, v.i == 1 || v.i == -1 ? "" : "s");
    case ValueKind::Set: {
      auto sorted = set_texts(v, texts);
      return sorted.empty() ? "none" : fmt::format("{}", fmt::join(sorted, ";"));
    }
  }
  return "";
}

std::string csv_field(const std::string& s) {
  std::string out;
  append_csv_field(out, s);
  return out;
}

std::string decisions_csv_header(const check::TypedRuleset& rules) {
  std::string h = "case_id,disposition";
  for (const auto& s : rules.scores) h += "," + csv_field(s.name);
  h += ",fired\n";
  return h;
}

std::string case_key(const check::TypedRuleset& rules, const data::Table& cases,
                     TextView texts, size_t row) {
  const data::Column& c = cases.columns[rules.case_key];
  const ColumnDecl& decl = rules.cases.columns[rules.case_key];
  switch (decl.type.kind) {
    case TypeKind::Text: return std::string(texts.text(c.text(row)));
    case TypeKind::Integer: return std::to_string(c.integer(row));
    case TypeKind::Date: return format_date(c.date(row));
    case TypeKind::Number: return format_number(c.number(row));
    case TypeKind::Bool: return c.boolean(row) ? "true" : "false";
    default: return "";
  }
}

std::string fired_field(const check::TypedRuleset& rules, const eval::Decisions& d, size_t row) {
  // Review asks once per case, per thread.
  auto& ids = thread_scratch<std::vector<const std::string*>, struct FiredIds>();
  ids.clear();
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
                              TextView texts, const eval::Decisions& d, size_t row) {
  std::string line;
  append_decisions_csv(line, rules, cases, texts, d, row, row + 1);
  return line;
}

void append_decisions_csv(std::string& out, const check::TypedRuleset& rules,
                          const data::Table& cases, TextView texts,
                          const eval::Decisions& d, size_t begin, size_t end) {
  // The `fired` ids in byte order, once: criterion i as i, signal j as n_criteria + j. A row
  // then lists the ones that apply in this order, the order fired_field sorts them into.
  std::vector<size_t> order(d.n_criteria + d.n_signals);
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto id_of = [&](size_t k) -> const std::string& {
    return k < d.n_criteria ? rules.criteria[k].id : rules.signals[k - d.n_criteria].id;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return id_of(a) < id_of(b); });
  const data::Column& keys = cases.columns[rules.case_key];
  const bool text_key = rules.cases.columns[rules.case_key].type.kind == TypeKind::Text;
  const auto pass = static_cast<uint8_t>(eval::CriterionOutcome::Pass);
  for (size_t row = begin; row < end; ++row) {
    if (text_key)
      append_csv_field(out, texts.text(keys.text(row)));
    else
      append_csv_field(out, case_key(rules, cases, texts, row));
    out += ',';
    append_csv_field(out, rules.disposition[d.disposition[row]].outcome);
    for (size_t i = 0; i < d.n_scores; ++i) {
      out += ',';
      append_number(out, d.scores[row * d.n_scores + i]);
    }
    out += ',';
    const size_t fired_at = out.size();
    bool first = true;
    for (const size_t k : order) {
      const bool listed = k < d.n_criteria ? d.criteria[row * d.n_criteria + k] != pass
                                           : d.fired[row * d.n_signals + (k - d.n_criteria)] != 0;
      if (!listed) continue;
      if (!first) out += ';';
      out += id_of(k);
      first = false;
    }
    if (needs_quotes(std::string_view(out).substr(fired_at))) {  // ids needing quotes
      const std::string fired = out.substr(fired_at);
      out.resize(fired_at);
      append_csv_field(out, fired);
    }
    out += '\n';
  }
}

std::string reason_text(const std::vector<check::TemplatePart>& parts,
                        const std::vector<eval::EvidenceItem>& evidence, TextView texts) {
  std::string out;
  for (const auto& p : parts) {
    if (p.node < 0) {
      out += p.text;
      continue;
    }
    auto it = std::find_if(evidence.begin(), evidence.end(),
                           [&](const eval::EvidenceItem& e) { return e.name == p.text; });
    out += it == evidence.end() ? "?" : format_value(it->value, it->type, texts);
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

// The JSON of one decision is written straight into a string: `crible review` renders one per
// case, and building a JSON tree for each (nlohmann) cost more than evaluating and storing it.
// The bytes are those nlohmann's compact dump gives (tests compare them); texts are valid
// UTF-8 already (the loader and the parser reject anything else), so only escaping is needed.
class JsonWriter {
 public:
  JsonWriter() = default;
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  // What has been written so far; valid until the next write.
  std::string_view view() const { return {buf_.get(), pos_}; }
  size_t size() const { return pos_; }
  // Drops what was written after the first `n` bytes.
  void truncate(size_t n) { pos_ = n; }
  // Empties the writer, keeping its buffer for the next document.
  void clear() {
    pos_ = 0;
    first_ = true;
  }

  // Bytes as they are, already JSON.
  [[gnu::always_inline]] void raw(std::string_view s) {
    if (s.empty()) return;
    std::memcpy(room(s.size()), s.data(), s.size());
    pos_ += s.size();
  }
  [[gnu::always_inline]] void raw(char c) {
    *room(1) = c;
    ++pos_;
  }

  void text(std::string_view s) {
    // Most texts need no escaping: one copy between the quotes.
    size_t first_escape = 0;
    while (first_escape < s.size() && !needs_escape(s[first_escape])) ++first_escape;
    char* p = room(s.size() + 2);
    *p++ = '"';
    if (first_escape) std::memcpy(p, s.data(), first_escape);
    pos_ += 1 + first_escape;
    if (first_escape == s.size()) {
      raw('"');
      return;
    }
    size_t plain = first_escape;
    for (size_t i = first_escape; i < s.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (!needs_escape(s[i])) continue;
      raw(s.substr(plain, i - plain));
      plain = i + 1;
      switch (c) {
        case '"': raw("\\\""); break;
        case '\\': raw("\\\\"); break;
        case '\b': raw("\\b"); break;
        case '\f': raw("\\f"); break;
        case '\n': raw("\\n"); break;
        case '\r': raw("\\r"); break;
        case '\t': raw("\\t"); break;
        default: raw(fmt::format("\\u{:04x}", c)); break;
      }
    }
    raw(s.substr(plain));
    raw('"');
  }
  // Whole numbers print as integers (25, not 25.0), as in the CSV output.
  void number(double v) {
    if (v == std::floor(v) && std::fabs(v) < 9e15) {
      integer(static_cast<long long>(v));
    } else if (!std::isfinite(v)) {
      raw("null");
    } else {
      char buf[32];
      const char* end = fmt::format_to_n(buf, sizeof buf, "{}", v).out;
      raw(std::string_view(buf, static_cast<size_t>(end - buf)));
    }
  }
  void integer(long long v) {
    char* p = room(24);
    pos_ = static_cast<size_t>(std::to_chars(p, p + 24, v).ptr - buf_.get());
  }
  void boolean(bool b) { raw(b ? "true" : "false"); }
  void null() { raw("null"); }
  // Members and elements: `key` opens a member (with its comma), `item` an array element.
  void key(std::string_view k) {
    comma();
    text(k);
    raw(':');
  }
  void item() { comma(); }
  void member(std::string_view k, std::string_view v) {
    key(k);
    text(v);
  }
  void open(char c) {
    raw(c);
    first_ = true;
  }
  void close(char c) {
    raw(c);
    first_ = false;
  }

  void value(const Value& v, TextView texts) {
    switch (v.kind) {
      case ValueKind::Missing: null(); return;
      case ValueKind::Bool: boolean(v.i != 0); return;
      case ValueKind::Int: integer(v.i); return;
      case ValueKind::Num:
        // nlohmann prints a double as a double (25.0): keep those bytes.
        if (v.d == std::floor(v.d) && std::fabs(v.d) < 1e15) {
          integer(static_cast<long long>(v.d));
          raw(".0");
        } else {
          number(v.d);
        }
        return;
      case ValueKind::Text: text(texts.text(static_cast<uint32_t>(v.i))); return;
      case ValueKind::Date: {
        // Straight into the buffer: a date needs no escaping, and review writes several a case.
        char* p = room(12);
        if (format_date_to(v.i, p + 1)) {
          p[0] = '"';
          p[11] = '"';
          pos_ += 12;
        } else {
          text(format_date(v.i));
        }
        return;
      }
      case ValueKind::Duration: {
        char buf[32];
        char* end = std::to_chars(buf, buf + 20, v.i).ptr;
        std::memcpy(end, " days", 5);
        text(std::string_view(buf, static_cast<size_t>(end + 5 - buf)));
        return;
      }
      case ValueKind::Set: {
        open('[');
        for (const auto& t : set_texts(v, texts)) {
          item();
          text(t);
        }
        close(']');
        return;
      }
    }
    null();
  }

 private:
  static bool needs_escape(char ch) {
    const unsigned char c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == '"' || c == '\\';
  }
  // Room for n more bytes at the end; the writer's own buffer, since std::string's push_back
  // is a call per character (a tenth of `crible review`'s building, measured).
  [[gnu::always_inline]] char* room(size_t n) {
    if (cap_ - pos_ < n) [[unlikely]] grow(n);
    return buf_.get() + pos_;
  }
  [[gnu::noinline]] void grow(size_t n) {
    const size_t cap = std::max({cap_ * 2, pos_ + n, size_t{1024}});
    auto bigger = std::make_unique_for_overwrite<char[]>(cap);
    if (pos_) std::memcpy(bigger.get(), buf_.get(), pos_);
    buf_ = std::move(bigger);
    cap_ = cap;
  }
  // Whether a separator is due: after an open bracket, the first member needs none.
  void comma() {
    if (!first_) raw(',');
    first_ = false;
  }
  std::unique_ptr<char[]> buf_;
  size_t pos_ = 0, cap_ = 0;
  bool first_ = true;
};

void evidence_json(JsonWriter& w, const std::vector<eval::EvidenceItem>& ev, TextView texts) {
  w.open('{');
  // nlohmann's object keeps the first position of a repeated key and the last value.
  for (size_t i = 0; i < ev.size(); ++i) {
    bool seen = false;
    for (size_t k = 0; k < i && !seen; ++k) seen = ev[k].name == ev[i].name;
    if (seen) continue;
    size_t last = i;
    for (size_t k = i + 1; k < ev.size(); ++k)
      if (ev[k].name == ev[i].name) last = k;
    w.key(ev[i].name);
    w.value(ev[last].value, texts);
  }
  w.close('}');
}

void string_array(JsonWriter& w, const std::vector<std::string>& items) {
  w.open('[');
  for (const auto& s : items) {
    w.item();
    w.text(s);
  }
  w.close(']');
}

}  // namespace

std::string decision_json(const check::TypedRuleset& rules, const data::Table& cases,
                          TextView texts, const eval::CaseDetail& detail, bool with_fields) {
  // The thread's own writer, kept from one call to the next: `--format jsonl` renders one
  // detail per case, and a fresh writer would regrow its buffer for each.
  JsonWriter& w = thread_scratch<JsonWriter, struct DecisionJson>();
  w.clear();
  w.open('{');
  w.member("case_id", case_key(rules, cases, texts, detail.row));
  const auto& line = rules.disposition[detail.disposition];
  w.member("disposition", line.outcome);
  w.key("disposition_rule");
  w.open('{');
  w.key("line");
  w.integer(detail.disposition + 1);
  w.member("rule", line.text);
  if (!detail.skipped_unknown.empty()) {
    w.key("skipped_as_unknown");
    w.open('[');
    for (int32_t i : detail.skipped_unknown) {
      w.item();
      w.text(rules.disposition[i].text);
    }
    w.close(']');
  }
  w.close('}');
  w.key("scores");
  w.open('{');
  for (size_t i = 0; i < rules.scores.size(); ++i) {
    w.key(rules.scores[i].name);
    w.number(detail.scores[i]);
  }
  w.close('}');
  // How each score was made: the points of fired signals, or the terms that held.
  w.key("score_breakdown");
  w.open('{');
  for (size_t i = 0; i < rules.scores.size(); ++i) {
    const auto& sc = rules.scores[i];
    w.key(sc.name);
    w.open('[');
    if (sc.form == check::Score::Form::SignalPoints) {
      for (size_t k = 0; k < rules.signals.size(); ++k) {
        if (!detail.signals[k].fired) continue;
        w.item();
        w.open('{');
        w.member("signal", rules.signals[k].id);
        w.key("points");
        w.number(rules.signals[k].points);
        w.close('}');
      }
    } else if (sc.form == check::Score::Form::Terms) {
      for (size_t k = 0; k < sc.terms.size(); ++k) {
        Truth t = detail.score_terms[i][k].truth;
        if (t == Truth::False) continue;
        w.item();
        w.open('{');
        w.member("when", sc.terms[k].text);
        w.key("points");
        w.number(t == Truth::True ? sc.terms[k].weight : 0.0);
        w.member("holds", t == Truth::True ? "true" : "unknown");
        w.close('}');
      }
    }
    w.close(']');
  }
  w.close('}');
  w.key("criteria");
  w.open('[');
  for (size_t i = 0; i < rules.criteria.size(); ++i) {
    const auto& c = rules.criteria[i];
    const auto& f = detail.criteria[i];
    w.item();
    w.open('{');
    w.member("id", c.id);
    w.member("name", c.name);
    w.member("outcome", outcome_word(f.outcome));
    if (f.decided_by >= 0) {
      w.member("decided_by", c.clauses[f.decided_by].text);
    } else {
      w.member("condition", c.clauses.empty() ? "" : c.clauses[0].text);
    }
    w.key("evidence");
    evidence_json(w, f.evidence, texts);
    if (!f.missing.empty()) {
      w.key("missing");
      string_array(w, f.missing);
    }
    if (!c.reason.empty()) {
      w.member("reason", reason_text(c.reason, f.evidence, texts));
    }
    w.close('}');
  }
  w.close(']');
  w.key("signals");
  w.open('[');
  for (size_t i = 0; i < rules.signals.size(); ++i) {
    const auto& s = rules.signals[i];
    const auto& f = detail.signals[i];
    w.item();
    w.open('{');
    w.member("id", s.id);
    w.member("name", s.name);
    w.key("points");
    w.number(s.points);
    w.member("outcome", f.fired ? "fired" : "not_fired");
    w.member("condition", s.fires_text);
    w.key("evidence");
    evidence_json(w, f.evidence, texts);
    if (f.unknown) {
      w.key("missing");
      string_array(w, f.missing);
    }
    if (f.fired && !s.reason.empty()) {
      w.member("reason", reason_text(s.reason, f.evidence, texts));
    }
    if (f.fired && i < detail.linked.size() && !detail.linked[i].empty()) {
      w.key("linked_cases");
      w.open('[');
      for (size_t r : detail.linked[i]) {
        w.item();
        w.text(case_key(rules, cases, texts, r));
      }
      w.close(']');
    }
    w.close('}');
  }
  w.close(']');
  if (with_fields) {
    // Only the fields the rules read: the audit trail holds no more than the decision needs.
    w.key("fields");
    w.open('{');
    for (size_t c = 0; c < rules.cases.columns.size(); ++c) {
      if (!rules.case_fields_read[c] || static_cast<int32_t>(c) == rules.case_key) continue;
      if (!cases.columns[c].loaded) continue;
      w.key(rules.cases.columns[c].name);
      w.value(cases.columns[c].value(detail.row), texts);
    }
    w.close('}');
  }
  w.close('}');
  return std::string(w.view());
}

// ---- the detail as the audit store keeps it: a run's layout and each decision's values ----

namespace {

const char* score_form_word(check::Score::Form f) {
  switch (f) {
    case check::Score::Form::SignalPoints: return "signal_points";
    case check::Score::Form::Terms: return "terms";
    case check::Score::Form::Expression: return "expression";
  }
  return "expression";
}

void names_array(JsonWriter& w, const std::vector<check::Evidence>& evidence) {
  w.open('[');
  for (const auto& e : evidence) {
    w.item();
    w.text(e.name);
  }
  w.close(']');
}

// Equal values render equally: same kind and the same number, id or elements.
bool same_value(const Value& a, const Value& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case ValueKind::Missing: return true;
    case ValueKind::Num: return std::memcmp(&a.d, &b.d, sizeof a.d) == 0;
    case ValueKind::Set: return a.n == b.n && std::equal(a.set, a.set + a.n, b.set);
    default: return a.i == b.i;
  }
}

// Signal states in the values: not fired, fired, not fired for lack of data.
constexpr int kNotFired = 0, kFired = 1, kSignalUnknown = 2;

}  // namespace

DecisionEncoder::DecisionEncoder(const check::TypedRuleset& rules) : rules_(rules) {
  for (size_t c = 0; c < rules.cases.columns.size(); ++c)
    if (rules.case_fields_read[c] && static_cast<int32_t>(c) != rules.case_key)
      fields_.push_back(static_cast<int32_t>(c));
  // The case key is rendered beside the values (case_key), so its text is fetched ahead too.
  text_key_ = rules.case_key >= 0 &&
              rules.cases.columns[static_cast<size_t>(rules.case_key)].type.kind == TypeKind::Text;
  if (text_key_) text_fields_.push_back(rules.case_key);
  for (int32_t c : fields_)
    if (rules.cases.columns[static_cast<size_t>(c)].type.kind == TypeKind::Text)
      text_fields_.push_back(c);
  auto field_positions = [&](const std::vector<check::Evidence>& evidence) {
    std::vector<int32_t> out;
    for (const auto& e : evidence) {
      int32_t at = -1;
      for (size_t i = 0; i < fields_.size() && at < 0; ++i)
        if (rules.cases.columns[fields_[i]].name == e.name) at = static_cast<int32_t>(i);
      out.push_back(at);
    }
    return out;
  };
  JsonWriter w;
  w.open('{');
  w.key("dispositions");
  w.open('[');
  for (const auto& line : rules.disposition) {
    w.item();
    w.open('[');
    w.item();
    w.text(line.outcome);
    w.item();
    w.text(line.text);
    w.close(']');
  }
  w.close(']');
  w.key("scores");
  w.open('[');
  for (const auto& sc : rules.scores) {
    w.item();
    w.open('{');
    w.member("name", sc.name);
    w.member("form", score_form_word(sc.form));
    w.key("terms");
    w.open('[');
    for (const auto& term : sc.terms) {
      w.item();
      w.open('[');
      w.item();
      w.text(term.text);
      w.item();
      w.number(term.weight);
      w.close(']');
    }
    w.close(']');
    w.close('}');
  }
  w.close(']');
  w.key("criteria");
  w.open('[');
  for (const auto& c : rules.criteria) {
    w.item();
    w.open('{');
    w.member("id", c.id);
    w.member("name", c.name);
    w.key("clauses");
    w.open('[');
    for (const auto& clause : c.clauses) {
      w.item();
      w.text(clause.text);
    }
    w.close(']');
    w.key("evidence");
    names_array(w, c.evidence);
    w.key("reason");
    w.boolean(!c.reason.empty());
    w.close('}');
    criterion_fields_.push_back(field_positions(c.evidence));
  }
  w.close(']');
  w.key("signals");
  w.open('[');
  for (const auto& sig : rules.signals) {
    w.item();
    w.open('{');
    w.member("id", sig.id);
    w.member("name", sig.name);
    w.key("points");
    w.number(sig.points);
    w.member("condition", sig.fires_text);
    w.key("evidence");
    names_array(w, sig.evidence);
    w.key("reason");
    w.boolean(!sig.reason.empty());
    w.close('}');
    signal_fields_.push_back(field_positions(sig.evidence));
  }
  w.close(']');
  w.key("fields");
  w.open('[');
  for (int32_t c : fields_) {
    w.item();
    w.text(rules.cases.columns[c].name);
  }
  w.close(']');
  w.close('}');
  layout_ = std::string(w.view());
}

std::string DecisionEncoder::values_json(const data::Table& cases, TextView texts,
                                         const eval::CaseDetail& detail) const {
  std::string out;
  values_json(cases, texts, detail, out);
  return out;
}

void DecisionEncoder::prefetch_fields(const data::Table& cases, TextView texts, size_t row,
                                      int stage) const {
  for (int32_t c : text_fields_) {
    const data::Column& col = cases.columns[static_cast<size_t>(c)];
    if (!col.loaded || !col.valid(row)) continue;
    if (stage == 0) texts.prefetch_position(col.text(row));
    else texts.prefetch_bytes(col.text(row));
  }
}

void DecisionEncoder::values_json(const data::Table& cases, TextView texts,
                                  const eval::CaseDetail& detail, std::string& out) const {
  const check::TypedRuleset& rules = rules_;
  // The keys of the cases linked to this one are other rows', read at random, each behind
  // three dependent loads (the row's text id, the text's position, its bytes): asked for one
  // step at a time while the fields and the criteria are rendered, so that the signals,
  // which list them, find them in the cache.
  auto prefetch_linked_keys = [&](int stage) {
    if (!text_key_) return;
    const data::Column& keys = cases.columns[static_cast<size_t>(rules.case_key)];
    for (const auto& rows : detail.linked) {
      for (size_t r : rows) {
        if (stage == 0) keys.prefetch_word(r);
        else if (stage == 1) texts.prefetch_position(keys.text(r));
        else texts.prefetch_bytes(keys.text(r));
      }
    }
  };
  prefetch_linked_keys(0);
  // The fields first, into their own buffer: evidence equal to a field is stored as `{}`.
  // The buffers are the thread's own, kept from one call to the next.
  JsonWriter& fw = thread_scratch<JsonWriter, struct FieldsJson>();
  auto& field_end = thread_scratch<std::vector<size_t>, struct FieldsJson>();
  auto& field_values = thread_scratch<std::vector<Value>, struct FieldsJson>();
  fw.clear();
  field_end.clear();
  field_values.clear();
  for (int32_t c : fields_) {
    field_values.push_back(cases.columns[c].value(detail.row));
    fw.value(field_values.back(), texts);
    field_end.push_back(fw.size());
  }
  auto field_json = [&](int32_t i) {
    const size_t begin = i == 0 ? 0 : field_end[i - 1];
    return fw.view().substr(begin, field_end[i] - begin);
  };
  prefetch_linked_keys(1);
  JsonWriter& w = thread_scratch<JsonWriter, struct ValuesJson>();
  w.clear();
  auto evidence = [&](const std::vector<eval::EvidenceItem>& items, const std::vector<int32_t>& at) {
    w.open('[');
    for (size_t k = 0; k < items.size(); ++k) {
      w.item();
      // Most evidence is a field read as it is: known equal without rendering it.
      if (at[k] >= 0 && same_value(items[k].value, field_values[at[k]])) {
        w.raw("{}");
        continue;
      }
      const size_t begin = w.size();
      w.value(items[k].value, texts);
      if (at[k] >= 0 && w.view().substr(begin) == field_json(at[k])) {
        w.truncate(begin);
        w.raw("{}");
      }
    }
    w.close(']');
  };
  w.open('[');
  w.item();
  w.integer(detail.disposition);
  w.item();
  w.open('[');
  for (int32_t i : detail.skipped_unknown) {
    w.item();
    w.integer(i);
  }
  w.close(']');
  w.item();
  w.open('[');
  for (double v : detail.scores) {
    w.item();
    w.number(v);
  }
  w.close(']');
  w.item();
  w.open('[');
  for (const auto& terms : detail.score_terms) {
    w.item();
    w.open('[');
    for (const auto& t : terms) {
      w.item();
      w.integer(static_cast<int>(t.truth));
    }
    w.close(']');
  }
  w.close(']');
  w.item();
  w.open('[');
  for (size_t i = 0; i < rules.criteria.size(); ++i) {
    const auto& f = detail.criteria[i];
    w.item();
    w.open('[');
    w.item();
    w.integer(static_cast<int>(f.outcome));
    w.item();
    w.integer(f.decided_by);
    w.item();
    evidence(f.evidence, criterion_fields_[i]);
    if (!rules.criteria[i].reason.empty()) {
      w.item();
      w.text(reason_text(rules.criteria[i].reason, f.evidence, texts));
    }
    w.close(']');
  }
  w.close(']');
  prefetch_linked_keys(2);
  w.item();
  w.open('[');
  for (size_t i = 0; i < rules.signals.size(); ++i) {
    const auto& s = rules.signals[i];
    const auto& f = detail.signals[i];
    w.item();
    w.open('[');
    w.item();
    w.integer(f.fired ? kFired : f.unknown ? kSignalUnknown : kNotFired);
    w.item();
    evidence(f.evidence, signal_fields_[i]);
    const bool linked = f.fired && i < detail.linked.size() && !detail.linked[i].empty();
    if (f.fired && (!s.reason.empty() || linked)) {
      w.item();
      if (s.reason.empty()) {
        w.null();
      } else {
        w.text(reason_text(s.reason, f.evidence, texts));
      }
    }
    if (linked) {
      w.item();
      w.open('[');
      for (size_t r : detail.linked[i]) {
        w.item();
        w.text(case_key(rules, cases, texts, r));
      }
      w.close(']');
    }
    w.close(']');
  }
  w.close(']');
  w.item();
  w.open('[');
  for (size_t i = 0; i < fields_.size(); ++i) {
    w.item();
    w.raw(field_json(static_cast<int32_t>(i)));
  }
  w.close(']');
  w.close(']');
  out.assign(w.view());
}

Result<std::vector<std::string>> layout_score_names(std::string_view layout_text) {
  using json = nlohmann::json;  // a sorted map: ordered_json parses n members in n² steps
  const json layout = json::parse(layout_text, nullptr, /*allow_exceptions=*/false);
  const auto scores = layout.is_object() ? layout.find("scores") : layout.end();
  if (layout.is_discarded() || !layout.is_object() || scores == layout.end() ||
      !scores->is_array())
    return Error{"the run's decision layout has no list of scores"};
  std::vector<std::string> names;
  for (const json& score : *scores) {
    const auto name = score.is_object() ? score.find("name") : score.end();
    if (!score.is_object() || name == score.end() || !name->is_string())
      return Error{"the run's decision layout has a score without a name"};
    names.push_back(name->get<std::string>());
  }
  return names;
}

namespace {

// Why a decision's values do not fit its run's layout, found by the checks of
// expand_decision_json that nlohmann's at() and get() do not make themselves.
struct Unfit {
  std::string why;
};

using ojson = nlohmann::ordered_json;
// The layout and values as read from the store: their objects are read by name, never shown
// in their order, so they are parsed into sorted maps. ordered_json parses an object of n
// members in n² steps, and an edited store can hold one of any size.
using Stored = nlohmann::json;

// "a number", "null", ...: what a JSON value is, for the messages.
std::string kind_of(const Stored& j) {
  switch (j.type()) {
    case Stored::value_t::null: return "null";
    case Stored::value_t::boolean: return "a boolean";
    case Stored::value_t::string: return "a string";
    case Stored::value_t::array: return "a list";
    case Stored::value_t::object: return "an object";
    default: return j.is_number() ? "a number" : "something else";
  }
}

// A text that `crible explain` prints (a rule's id, name or condition, a reason, a case id):
// a JSON string, or the detail does not fit.
const Stored& text_of(const Stored& j, const char* what) {
  if (!j.is_string()) throw Unfit{std::string(what) + " is " + kind_of(j) + ", not a string"};
  return j;
}

// An integer of the values (an index, a code): a JSON integer from lo to hi. A float or a
// number out of range is damage: get<int>() would convert it, and a double beyond the range
// of the integer is undefined behaviour.
// (`hi` is not negative.)
int64_t integer_of(const Stored& j, int64_t lo, int64_t hi, const char* what) {
  if (!j.is_number_integer()) {
    throw Unfit{std::string(what) + " is " + (j.is_number() ? j.dump() : kind_of(j)) +
                ", not an integer"};
  }
  const bool above = j.is_number_unsigned() ? j.get<uint64_t>() > static_cast<uint64_t>(hi)
                                            : j.get<int64_t>() > hi;
  if (above || (!j.is_number_unsigned() && j.get<int64_t>() < lo))
    throw Unfit{std::string(what) + " is " + j.dump() + ", out of range"};
  return j.is_number_unsigned() ? static_cast<int64_t>(j.get<uint64_t>()) : j.get<int64_t>();
}

// A position in `list` (an index into an array of the layout).
size_t index_of(const Stored& j, const Stored& list, const char* what) {
  if (!list.is_array()) throw Unfit{std::string(what) + " indexes something that is not a list"};
  if (list.empty()) throw Unfit{std::string(what) + " indexes an empty list"};
  return static_cast<size_t>(integer_of(j, 0, static_cast<int64_t>(list.size()) - 1, what));
}

}  // namespace

Result<nlohmann::ordered_json> expand_decision(std::string_view layout_text,
                                               std::string_view values_text,
                                               const std::string& case_id) {
  using json = ojson;
  const Stored layout = Stored::parse(layout_text, nullptr, /*allow_exceptions=*/false);
  const Stored values = Stored::parse(values_text, nullptr, /*allow_exceptions=*/false);
  if (layout.is_discarded() || !layout.is_object())
    return Error{"the run's decision layout is not valid JSON"};
  if (values.is_discarded() || !values.is_array())
    return Error{"the decision's detail is not valid JSON"};
  // Everything below reads with at() and get(), which throw on a missing member or a wrong
  // type, and with the checks above, which throw Unfit: a damaged store ends here as an Error
  // instead of a crash. What `crible explain` prints as text is checked to be text, and codes
  // to be in range, so that it neither throws nor prints a misread value.
  try {
    const Stored& lines = layout.at("dispositions");
    const Stored& signals = layout.at("signals");
    const Stored& signal_values = values.at(5);
    // Objects keyed by the layout's names are built through JsonMembers: a layout can hold
    // any number of names, and ordered_json's own lookups would make that quadratic.
    JsonMembers fields;
    const Stored& field_names = layout.at("fields");
    for (size_t i = 0; i < field_names.size(); ++i)
      fields.set(field_names.at(i).get<std::string>(), values.at(6).at(i));
    auto evidence = [&](const Stored& names, const Stored& vals, json& missing) {
      JsonMembers ev;
      for (size_t k = 0; k < names.size(); ++k) {
        const std::string& name = names.at(k).get_ref<const std::string&>();
        json v;
        if (vals.at(k).is_object()) {
          const json* field = fields.find(name);
          if (!field)
            throw Unfit{"the evidence " + name + " refers to a field the layout does not keep"};
          v = *field;
        } else {
          v = vals.at(k);
        }
        if (v.is_null()) missing.push_back(name);
        // A repeated name keeps its first place and takes the last value.
        ev.set(name, std::move(v));
      }
      return std::move(ev).take();
    };

    json d = json::object();
    d["case_id"] = case_id;
    const size_t line = index_of(values.at(0), lines, "the disposition line");
    d["disposition"] = text_of(lines.at(line).at(0), "a disposition");
    json rule = json::object();
    rule["line"] = line + 1;
    rule["rule"] = text_of(lines.at(line).at(1), "a disposition line");
    if (!values.at(1).empty()) {
      json skipped = json::array();
      for (const Stored& i : values.at(1))
        skipped.push_back(json(
            text_of(lines.at(index_of(i, lines, "a line skipped")).at(1), "a disposition line")));
      rule["skipped_as_unknown"] = skipped;
    }
    d["disposition_rule"] = rule;
    const Stored& scores = layout.at("scores");
    JsonMembers score_values;
    for (size_t i = 0; i < scores.size(); ++i)
      score_values.set(scores.at(i).at("name").get<std::string>(), values.at(2).at(i));
    d["scores"] = std::move(score_values).take();
    JsonMembers breakdown;
    for (size_t i = 0; i < scores.size(); ++i) {
      const Stored& sc = scores.at(i);
      json parts = json::array();
      const std::string form = sc.at("form").get<std::string>();
      if (form == "signal_points") {
        for (size_t k = 0; k < signals.size(); ++k) {
          if (integer_of(signal_values.at(k).at(0), 0, kSignalUnknown, "a signal's state") !=
              kFired)
            continue;
          json part = json::object();
          part["signal"] = text_of(signals.at(k).at("id"), "a signal's id");
          part["points"] = signals.at(k).at("points");
          parts.push_back(part);
        }
      } else if (form == "terms") {
        const Stored& terms = sc.at("terms");
        for (size_t k = 0; k < terms.size(); ++k) {
          const auto t = static_cast<Truth>(
              integer_of(values.at(3).at(i).at(k), 0, static_cast<int>(Truth::Unknown),
                         "a score term's truth"));
          if (t == Truth::False) continue;
          json part = json::object();
          part["when"] = text_of(terms.at(k).at(0), "a score term");
          part["points"] = t == Truth::True ? json(terms.at(k).at(1)) : json(0);
          part["holds"] = t == Truth::True ? "true" : "unknown";
          parts.push_back(part);
        }
      }
      breakdown.set(sc.at("name").get<std::string>(), std::move(parts));
    }
    d["score_breakdown"] = std::move(breakdown).take();

    json criteria = json::array();
    const Stored& criteria_layout = layout.at("criteria");
    for (size_t i = 0; i < criteria_layout.size(); ++i) {
      const Stored& c = criteria_layout.at(i);
      const Stored& v = values.at(4).at(i);
      json f = json::object();
      f["id"] = text_of(c.at("id"), "a criterion's id");
      f["name"] = text_of(c.at("name"), "a criterion's name");
      f["outcome"] = outcome_word(static_cast<eval::CriterionOutcome>(integer_of(
          v.at(0), 0, static_cast<int>(eval::CriterionOutcome::Unknown), "a criterion's outcome")));
      const Stored& clauses = c.at("clauses");
      const int64_t decided_by =
          integer_of(v.at(1), -1, std::numeric_limits<int32_t>::max(), "a criterion's clause");
      if (decided_by >= 0) {
        f["decided_by"] = text_of(clauses.at(static_cast<size_t>(decided_by)), "a clause");
      } else {
        f["condition"] = clauses.empty() ? json("") : json(text_of(clauses.at(0), "a clause"));
      }
      json missing = json::array();
      f["evidence"] = evidence(c.at("evidence"), v.at(2), missing);
      if (!missing.empty()) f["missing"] = missing;
      if (c.at("reason").get<bool>()) f["reason"] = text_of(v.at(3), "a criterion's reason");
      criteria.push_back(std::move(f));
    }
    d["criteria"] = std::move(criteria);

    json signal_findings = json::array();
    for (size_t i = 0; i < signals.size(); ++i) {
      const Stored& s = signals.at(i);
      const Stored& v = signal_values.at(i);
      const int64_t state = integer_of(v.at(0), 0, kSignalUnknown, "a signal's state");
      json f = json::object();
      f["id"] = text_of(s.at("id"), "a signal's id");
      f["name"] = text_of(s.at("name"), "a signal's name");
      f["points"] = s.at("points");
      f["outcome"] = state == kFired ? "fired" : "not_fired";
      f["condition"] = text_of(s.at("condition"), "a signal's condition");
      json missing = json::array();
      f["evidence"] = evidence(s.at("evidence"), v.at(1), missing);
      if (state == kSignalUnknown) f["missing"] = missing;
      if (state == kFired && v.size() > 2 && v.at(2).is_string()) f["reason"] = v.at(2);
      if (state == kFired && v.size() > 3) {
        if (!v.at(3).is_array()) throw Unfit{"a signal's linked cases are not a list"};
        for (const Stored& id : v.at(3)) text_of(id, "a linked case");
        f["linked_cases"] = v.at(3);
      }
      signal_findings.push_back(std::move(f));
    }
    d["signals"] = std::move(signal_findings);
    d["fields"] = std::move(fields).take();
    return d;
  } catch (const json::exception& e) {
    return Error{std::string("the decision's detail does not fit its run's layout (") + e.what() +
                 ")"};
  } catch (const Unfit& u) {
    return Error{"the decision's detail does not fit its run's layout (" + u.why + ")"};
  }
}

Result<std::string> expand_decision_json(std::string_view layout, std::string_view values,
                                         const std::string& case_id) {
  auto d = expand_decision(layout, values, case_id);
  if (!d) return d.error();
  // A case id that is not UTF-8 (only an edited store has one) reads with U+FFFD, as the
  // store's own JSON columns do (audit/detail/canonical.h).
  return d->dump(-1, ' ', false, ojson::error_handler_t::replace);
}

}  // namespace crible::render
