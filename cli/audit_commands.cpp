// `crible review`'s store side (the run's records; the recording itself is engine/review),
// `crible explain` and `crible audit ...`: the commands over the audit store. Explanations
// are rendered from the store alone.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "audit/audit.h"
#include "cli/commands.h"
#include "cli/compile.h"
#include "cli/output.h"
#include "render/render.h"
#include "review/review.h"
#include "syntax/syntax.h"

namespace crible::cli {

namespace {

int store_error(const Error& e) {
  std::cerr << "error: " << e.message << "\n";
  return e.exit_code == 0 ? kExitData : e.exit_code;
}

}  // namespace

int record_review(const Compiled& compiled, const Loaded& loaded, const eval::Decisions& d,
                  const EvalOptions& o, std::future<Result<std::string>>* cases_sha256) {
  const check::TypedRuleset& rules = compiled.rules;
  audit::RulesetVersion rv;
  rv.path = o.rules;
  rv.source = compiled.sources.file(compiled.file).text;
  rv.sha256 = audit::sha256_hex(rv.source);
  rv.crible_version = CRIBLE_VERSION;

  audit::RunStart start;
  for (size_t i = 0; i < rules.parameters.size(); ++i) {
    start.params.push_back({rules.parameters[i].name, loaded.plan.param_text[i]});
    if (rules.parameters[i].name == "as_of") start.as_of = loaded.plan.param_text[i];
  }
  std::sort(start.params.begin(), start.params.end());
  auto add_input = [&](std::string role, const std::string& path,
                       const Result<std::string>& sha256) -> bool {
    if (!sha256) {
      store_error(sha256.error());
      return false;
    }
    start.inputs.push_back({std::move(role), path, sha256.value()});
    return true;
  };
  // The cases file's hash may have been computed while it was being read.
  if (!add_input("cases", o.cases,
                 cases_sha256 && cases_sha256->valid() ? cases_sha256->get()
                                                       : audit::sha256_file(o.cases)))
    return kExitData;
  for (const auto& t : loaded.table_paths)
    if (!add_input("table:" + t.name, t.path, audit::sha256_file(t.path))) return kExitData;
  start.command = "crible review " + o.rules + " --cases " + o.cases;
  for (const auto& t : o.tables) start.command += " --table " + t;
  for (const auto& p : o.params) start.command += " --param " + p;
  std::string fp = rv.sha256;
  for (const auto& [k, v] : start.params) fp += "|" + k + "=" + v;
  for (const auto& in : start.inputs) fp += "|" + in.role + "=" + in.sha256;
  fp += o.pseudonymise_key.empty() ? "|plain" : "|pseudonymised";
  start.fingerprint = audit::sha256_hex(fp);
  for (const auto& c : rules.criteria) start.findings.push_back({c.id, c.name, "criterion", "", 0});
  for (const auto& s : rules.signals) start.findings.push_back({s.id, s.name, "signal", "", s.points});
  const render::DecisionEncoder encoder(rules);
  start.detail_layout = encoder.layout_json();

  std::string key;
  if (!o.pseudonymise_key.empty()) {
    bool ok = false;
    std::string err;
    key = read_whole_file(o.pseudonymise_key, ok, err);
    if (!ok || key.empty()) {
      std::cerr << "error: " << (ok ? "the pseudonymisation key file is empty" : err) << "\n";
      return kExitUsage;
    }
  }

  auto store = audit::Store::open(o.audit);
  if (!store) return store_error(store.error());
  auto run = store->begin_run(rv, start);
  if (!run) return store_error(run.error());
  int64_t run_id = run.value();
  review::RecordOptions record;
  record.threads = o.threads;
  record.pseudonymise_key = key;
  Progress progress(o.quiet);
  record.progress = [&](size_t done, size_t total) { progress.count("recording", done, total); };
  const auto recorded = review::record_decisions(
      *store, run_id,
      {rules, loaded.cases, loaded.interner, *loaded.evaluator, d}, record);
  progress.done();
  if (!recorded) return store_error(recorded.error());
  std::vector<audit::RejectRecord> rejects;
  for (const auto& r : loaded.cases.rejects) rejects.push_back({r.line, r.column, r.reason});
  auto fin = store->finish_run(run_id, loaded.cases.read, d.cases, rejects);
  if (!fin) return store_error(fin.error());
  return kExitOk;
}

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

json explanation_json(const audit::StoredDecision& s) {
  json j;
  j["case_id"] = s.decision.case_key;
  j["disposition"] = s.decision.disposition;
  std::string effective = s.decision.disposition;
  for (const auto& o : s.overrides) effective = o.disposition;
  j["effective_disposition"] = effective;
  j["disposition_rule"] = s.decision.disposition_rule;
  json scores = json::object();
  // The store keeps scores as the exact text of the CSV output; JSON readers want numbers.
  for (const auto& [k, v] : s.decision.scores) {
    json number = json::parse(v, nullptr, false);
    scores[k] = number.is_number() ? number : json(v);
  }
  j["scores"] = scores;
  j["fired"] = s.decision.fired;
  j["run"] = {{"id", s.run.run_id}, {"started_at", s.run.started_at}, {"finished_at", s.run.finished_at},
              {"status", s.run.status}, {"as_of", s.run.as_of}};
  j["ruleset"] = {{"path", s.ruleset.path}, {"sha256", s.ruleset.sha256}, {"crible_version", s.ruleset.crible_version}};
  json params = json::object();
  for (const auto& [k, v] : s.params) params[k] = v;
  j["params"] = params;
  if (!s.decision.detail_json.empty()) {
    j["detail"] = json::parse(s.decision.detail_json, nullptr, false);
  } else {
    j["detail"] = nullptr;
  }
  if (s.erased) j["erased"] = *s.erased;
  json overrides = json::array();
  for (const auto& o : s.overrides)
    overrides.push_back({{"at", o.at}, {"by", o.by}, {"disposition", o.disposition},
                         {"previous", o.previous}, {"reason", o.reason}});
  j["overrides"] = overrides;
  return j;
}

std::string explanation_text(const audit::StoredDecision& s) {
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
  json detail = s.decision.detail_json.empty() ? json(nullptr) : json::parse(s.decision.detail_json, nullptr, false);
  if (detail.is_null() || detail.is_discarded()) {
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
    for (auto& [name, value] : detail["scores"].items()) {
      std::vector<std::string> parts;
      if (detail.contains("score_breakdown") && detail["score_breakdown"].contains(name)) {
        for (const auto& p : detail["score_breakdown"][name]) {
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

int run_explain(const ExplainOptions& o) {
  audit::OpenOptions oo;
  oo.create = false;
  auto store = audit::Store::open(o.audit, oo);
  if (!store) return store_error(store.error());
  auto s = store->decision(o.case_id, o.run);
  if (!s) return store_error(s.error());
  // The store keeps a decision's own values; its run's layout gives them their names back.
  if (!s->decision.detail_json.empty()) {
    auto full = render::expand_decision_json(s->detail_layout, s->decision.detail_json,
                                             s->decision.case_key);
    if (!full) {
      return store_error(Error{"audit store " + o.audit + ": decision #" + std::to_string(s->seq) +
                               " (case " + o.case_id + "): " + full.error().message +
                               "; run `crible audit verify`"});
    }
    s->decision.detail_json = std::move(full.value());
  }
  if (o.format == "json") std::cout << explanation_json(s.value()).dump(2) << "\n";
  else std::cout << explanation_text(s.value());
  return kExitOk;
}

int run_audit_verify(const AuditOptions& o) {
  audit::OpenOptions oo;
  oo.create = false;
  auto store = audit::Store::open(o.store, oo);
  if (!store) return store_error(store.error());
  auto report = store->verify();
  if (!report) return store_error(report.error());
  for (const auto& w : report->warnings) std::cerr << "warning: " << w << "\n";
  if (!report->intact) {
    std::cout << fmt::format("TAMPERED: {}\n", report->first_broken);
    return kExitTampered;
  }
  std::cout << fmt::format("intact: {} records, head {}\n", report->records, report->head_hash);
  return kExitOk;
}

int run_audit_runs(const AuditOptions& o) {
  audit::OpenOptions oo;
  oo.create = false;
  auto store = audit::Store::open(o.store, oo);
  if (!store) return store_error(store.error());
  auto runs = store->runs();
  if (!runs) return store_error(runs.error());
  // head_sha256: the chain head when the run finished, to note down outside the store (a
  // later `audit verify` shows whether the chain still ends there or continues from it).
  std::cout << "run,status,started_at,finished_at,as_of,read,decided,rejected,ruleset_sha256,head_sha256\n";
  for (const auto& r : runs.value())
    std::cout << fmt::format("{},{},{},{},{},{},{},{},{},{}\n", r.run_id, r.status, r.started_at,
                             r.finished_at, r.as_of, r.read, r.decided, r.rejected, r.ruleset_sha256,
                             r.head_hash);
  return kExitOk;
}

int run_audit_export(const AuditOptions& o) {
  audit::OpenOptions oo;
  oo.create = false;
  auto store = audit::Store::open(o.store, oo);
  if (!store) return store_error(store.error());
  int64_t run_id = 0;
  if (o.run) {
    run_id = *o.run;
  } else {
    auto runs = store->runs();
    if (!runs) return store_error(runs.error());
    if (runs->empty()) {
      std::cerr << "error: the audit store has no runs\n";
      return kExitData;
    }
    run_id = runs->back().run_id;
  }
  // The columns of `crible eval`'s CSV, named by the run's ruleset: a run that decided no
  // case still has its score columns.
  auto layout = store->detail_layout(run_id);
  if (!layout) return store_error(layout.error());
  auto scores = render::layout_score_names(*layout);
  if (!scores) {
    return store_error(Error{"audit store " + o.store + ", run " + std::to_string(run_id) +
                             ": " + scores.error().message + "; run `crible audit verify`"});
  }
  auto sink = Sink::open(o.out);
  if (!sink) return kExitData;
  // Streamed: a run of a million decisions is written in chunks, never held in memory.
  std::string chunk = "case_id,disposition";
  for (const auto& name : *scores) chunk += "," + render::csv_field(name);
  chunk += ",fired\n";
  Status walked = store->for_each_decision(
      run_id,
      [&](const audit::DecisionRecord& d) {
        chunk += render::csv_field(d.case_key);
        chunk += ',';
        chunk += render::csv_field(d.disposition);
        for (const auto& [_, v] : d.scores) {
          chunk += ',';
          chunk += v;
        }
        chunk += ',';
        chunk += render::csv_field(d.fired);
        chunk += '\n';
        if (chunk.size() >= (1 << 20)) {
          sink->write(chunk);
          chunk.clear();
        }
        return ok_status();
      },
      /*brief=*/true);
  if (!walked) return store_error(walked.error());
  sink->write(chunk);
  return sink->close() ? kExitOk : kExitData;
}

int run_audit_override(const AuditOptions& o) {
  if (o.by.empty() || o.reason.empty() || o.disposition.empty()) {
    std::cerr << "error: an override needs --disposition, --by and a written --reason\n";
    return kExitUsage;
  }
  audit::OpenOptions oo;
  oo.create = false;
  auto store = audit::Store::open(o.store, oo);
  if (!store) return store_error(store.error());
  // The new disposition must be one the ruleset of that decision can produce.
  auto current = store->decision(o.case_id, o.run);
  if (!current) return store_error(current.error());
  SourceSet sources;
  uint32_t file = sources.add(current->ruleset.path, current->ruleset.source);
  auto parsed = syntax::parse(sources, file);
  std::set<std::string> allowed;
  if (parsed.value)
    for (const auto& block : parsed.value->dispositions)
      for (const auto& line : block.lines) allowed.insert(line.outcome);
  if (!allowed.empty() && !allowed.count(o.disposition)) {
    std::cerr << fmt::format("error: '{}' is not a disposition of the ruleset that decided this case ({})\n",
                             o.disposition, fmt::join(allowed, ", "));
    return kExitUsage;
  }
  auto added = store->add_override(o.case_id, o.run, o.disposition, o.by, o.reason);
  if (!added) return store_error(added.error());
  std::cout << fmt::format("override recorded: case {} run {}: {} -> {} by {}\n", o.case_id,
                           added->run_id, added->previous, added->disposition, added->by);
  return kExitOk;
}

int run_audit_erase(const AuditOptions& o) {
  audit::OpenOptions oo;
  oo.create = false;
  auto store = audit::Store::open(o.store, oo);
  if (!store) return store_error(store.error());
  auto n = store->erase(o.case_id, o.by, o.reason);
  if (!n) return store_error(n.error());
  std::cout << fmt::format("erased the personal detail of {} decision{} about case {}\n", n.value(),
                           n.value() == 1 ? "" : "s", o.case_id);
  return kExitOk;
}

}  // namespace crible::cli
