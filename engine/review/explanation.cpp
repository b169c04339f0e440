// Explaining a stored decision (review.h): for a person, or as structured data. Everything
// comes from the store: the decision, its run, its ruleset and the detail as the run's layout
// names it.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/json_members.h"
#include "render/render.h"
#include "review/review.h"

namespace crible::review {

namespace {

using json = nlohmann::ordered_json;

std::string value_text(const json& v) {
  if (v.is_null()) return "missing";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::vector<std::string> parts;
    for (const auto& x : v) parts.push_back(value_text(x));
    return parts.empty() ? "none" : fmt::format("{}", fmt::join(parts, ";"));
  }
  if (v.is_number_float()) return render::format_number(v.get<double>());
  return v.dump();
}

std::string evidence_line(const json& ev) {
  std::vector<std::string> parts;
  for (auto& [k, v] : ev.items()) parts.push_back(k + " = " + value_text(v));
  return fmt::format("{}", fmt::join(parts, ", "));
}

// `detail`: the decision's detail as expand_decision gives it, null once erased.
json explanation_object(const audit::StoredDecision& s, json detail) {
  json j;
  j["case_id"] = s.decision.case_key;
  j["disposition"] = s.decision.disposition;
  std::string effective = s.decision.disposition;
  for (const auto& o : s.overrides) effective = o.disposition;
  j["effective_disposition"] = effective;
  j["disposition_rule"] = s.decision.disposition_rule;
  JsonMembers scores;
  // The store keeps scores as the exact text of the CSV output; JSON readers want numbers.
  for (const auto& [k, v] : s.decision.scores) {
    // Parsed as a sorted map: ordered_json parses an object of n members in n² steps, and
    // only a number is kept.
    const auto number = nlohmann::json::parse(v, nullptr, false);
    scores.set(k, number.is_number() ? json(number) : json(v));
  }
  j["scores"] = std::move(scores).take();
  j["fired"] = s.decision.fired;
  j["run"] = {{"id", s.run.run_id}, {"started_at", s.run.started_at}, {"finished_at", s.run.finished_at},
              {"status", s.run.status}, {"as_of", s.run.as_of}};
  j["ruleset"] = {{"path", s.ruleset.path}, {"sha256", s.ruleset.sha256}, {"crible_version", s.ruleset.crible_version}};
  JsonMembers params;
  for (const auto& [k, v] : s.params) params.set(k, v);
  j["params"] = std::move(params).take();
  j["detail"] = std::move(detail);
  if (s.erased) j["erased"] = *s.erased;
  json overrides = json::array();
  for (const auto& o : s.overrides)
    overrides.push_back({{"at", o.at}, {"by", o.by}, {"disposition", o.disposition},
                         {"previous", o.previous}, {"reason", o.reason}});
  j["overrides"] = overrides;
  return j;
}

std::string explanation_text(const audit::StoredDecision& s, json detail) {
  std::string out;
  std::string effective = s.decision.disposition;
  for (const auto& o : s.overrides) effective = o.disposition;
  out += fmt::format("case {}: {}\n", s.decision.case_key, effective);
  if (effective != s.decision.disposition)
    out += fmt::format("  overridden; the rules decided {}\n", s.decision.disposition);
  out += fmt::format("  decided by disposition line {}\n", s.decision.disposition_rule);
  out += fmt::format("run {} ({} to {}), as_of {}\n", s.run.run_id, s.run.started_at,
                     s.run.finished_at.empty() ? "incomplete" : s.run.finished_at, s.run.as_of);
  out += fmt::format("ruleset {} sha256 {} (crible {})\n", s.ruleset.path, s.ruleset.sha256,
                     s.ruleset.crible_version);
  if (detail.is_null()) {
    out += "\ncriteria and signals:\n";
    for (const auto& f : s.decision.findings)
      out += fmt::format("  {} {:<22} {}\n", f.rule_id, f.name, f.outcome);
    out += fmt::format("\nevidence: {}\n", s.erased ? "erased " + *s.erased : "not available");
  } else {
    const auto& dr = detail["disposition_rule"];
    if (dr.contains("skipped_as_unknown"))
      for (const auto& x : dr["skipped_as_unknown"])
        out += fmt::format("  skipped for lack of data: {}\n", x.get<std::string>());
    out += "\ncriteria:\n";
    for (const auto& c : detail["criteria"]) {
      std::string outcome = c["outcome"].get<std::string>();
      out += fmt::format("  {} {:<22} {:<8}", c["id"].get<std::string>(), c["name"].get<std::string>(), outcome);
      if (outcome == "unknown" && c.contains("missing")) {
        std::vector<std::string> m;
        for (const auto& x : c["missing"]) m.push_back(x.get<std::string>());
        out += fmt::format(" missing: {}", fmt::join(m, ", "));
      } else {
        out += " " + evidence_line(c["evidence"]);
      }
      out += "\n";
      if (c.contains("reason") && outcome != "pass") out += fmt::format("      {}\n", c["reason"].get<std::string>());
    }
    out += "\nsignals fired:\n";
    size_t fired = 0;
    for (const auto& sig : detail["signals"]) {
      if (sig["outcome"] != "fired") continue;
      ++fired;
      out += fmt::format("  {} {:<22} +{}  {}\n", sig["id"].get<std::string>(), sig["name"].get<std::string>(),
                         value_text(sig["points"]),
                         sig.contains("reason") ? sig["reason"].get<std::string>() : sig["condition"].get<std::string>());
      out += fmt::format("      evidence: {}\n", evidence_line(sig["evidence"]));
      if (sig.contains("linked_cases")) {
        std::vector<std::string> ids;
        for (const auto& x : sig["linked_cases"]) ids.push_back(x.get<std::string>());
        out += fmt::format("      linked cases: {}\n", fmt::join(ids, ", "));
      }
    }
    if (fired == 0) out += "  none\n";
    std::string undecided;
    for (const auto& sig : detail["signals"]) {
      if (sig["outcome"] == "fired" || !sig.contains("missing")) continue;
      std::vector<std::string> m;
      for (const auto& x : sig["missing"]) m.push_back(x.get<std::string>());
      undecided += fmt::format("  {} {:<22} missing: {}\n", sig["id"].get<std::string>(),
                               sig["name"].get<std::string>(), fmt::join(m, ", "));
    }
    if (!undecided.empty()) out += "\nsignals not fired for lack of data:\n" + undecided;
    out += "\nscores:\n";
    // Each score's breakdown found by name through a hash index: a layout can have any number
    // of scores, and ordered_json finds a member by comparing with each before it.
    std::unordered_map<std::string_view, const json*> breakdowns;
    if (detail.contains("score_breakdown"))
      for (const auto& [name, parts] : detail["score_breakdown"].items())
        breakdowns.emplace(name, &parts);
    for (auto& [name, value] : detail["scores"].items()) {
      std::vector<std::string> parts;
      if (const auto b = breakdowns.find(name); b != breakdowns.end()) {
        for (const auto& p : *b->second) {
          if (p.contains("signal")) parts.push_back(fmt::format("{} {}", p["signal"].get<std::string>(), value_text(p["points"])));
          else if (p["holds"] == "true") parts.push_back(fmt::format("{} ({})", value_text(p["points"]), p["when"].get<std::string>()));
          else parts.push_back(fmt::format("0 ({}: unknown)", p["when"].get<std::string>()));
        }
      }
      out += fmt::format("  {} = {}{}\n", name, value_text(value),
                         parts.empty() ? "" : fmt::format(": {}", fmt::join(parts, " + ")));
    }
    if (detail.contains("fields")) out += fmt::format("\nfields read: {}\n", evidence_line(detail["fields"]));
  }
  if (s.erased) out += fmt::format("\npersonal detail erased {}\n", *s.erased);
  if (!s.overrides.empty()) {
    out += "\noverrides:\n";
    for (const auto& o : s.overrides)
      out += fmt::format("  {} {} -> {} by {}: {}\n", o.at, o.previous, o.disposition, o.by, o.reason);
  }
  return out;
}

}  // namespace

Result<std::string> explanation(const audit::StoredDecision& stored, ExplanationFormat format) {
  const audit::StoredDecision& s = stored;
  // A detail is missing only once an erasure erased it. Missing without one, it was removed
  // by hand: "evidence: not available" would pass a broken store off as a whole one.
  if (s.decision.detail_json.empty() && !s.erased) {
    return Error{
        "its evidence (the personal detail) is missing and no erasure record covers "
        "it, so the store fails verification"};
  }
  // The other way round: an erasure covers it and the detail is still there (put back by
  // hand, or the erasure recorded without erasing). Printing it would show what was meant
  // to be gone, beside a line saying it is.
  if (!s.decision.detail_json.empty() && s.erased) {
    return Error{"an erasure record (" + *s.erased +
                 ") covers its personal detail but the detail is still stored, so the store "
                 "fails verification"};
  }
  // The store keeps a decision's own values; its run's layout gives them their names back,
  // as a JSON object read as it is built (not dumped and parsed again).
  json detail = nullptr;
  if (!s.decision.detail_json.empty()) {
    auto full =
        render::expand_decision(s.detail_layout, s.decision.detail_json, s.decision.case_key);
    if (!full) return full.error();
    detail = std::move(full.value());
  }
  // The expanded detail has the layout's shape, but an edited layout can put a number where
  // a name belongs: reading it as text throws, and that is a damaged store, not a crash.
  try {
    // Texts of the store that are not UTF-8 (a rules file named in Latin-1, or an edit) read
    // with U+FFFD, as in the store's own JSON columns: JSON cannot carry them, and dump()
    // would throw. The text format prints them as they are.
    return format == ExplanationFormat::Json
               ? explanation_object(s, std::move(detail))
                         .dump(2, ' ', false, json::error_handler_t::replace) +
                     "\n"
               : explanation_text(s, std::move(detail));
  } catch (const nlohmann::json::exception& e) {
    return Error{std::string("the decision's detail does not fit its run's layout (") +
                 e.what() + ")"};
  }
}

}  // namespace crible::review
