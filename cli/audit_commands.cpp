// `crible review`'s store side (the run's records; the recording itself is engine/review),
// `crible explain` and `crible audit ...`: the commands over the audit store. Explanations
// are rendered from the store alone.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
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

int record_review(const Compiled& compiled, const Loaded& loaded, eval::Decisions& decided,
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
  auto recorded = review::record_decisions(
      *store, run_id, {rules, loaded.cases, loaded.interner, *loaded.evaluator}, record);
  progress.done();
  if (!recorded) return store_error(recorded.error());
  decided = std::move(recorded.value());
  std::vector<audit::RejectRecord> rejects;
  for (const auto& r : loaded.cases.rejects) rejects.push_back({r.line, r.column, r.reason});
  auto fin = store->finish_run(run_id, loaded.cases.read, decided.cases, rejects);
  if (!fin) return store_error(fin.error());
  return kExitOk;
}

int run_explain(const ExplainOptions& o) {
  audit::OpenOptions oo;
  oo.create = false;
  auto store = audit::Store::open(o.audit, oo);
  if (!store) return store_error(store.error());
  auto s = store->decision(o.case_id, o.run);
  if (!s) return store_error(s.error());
  auto shown = review::explanation(s.value(), o.format == "json" ? review::ExplanationFormat::Json
                                                                 : review::ExplanationFormat::Text);
  if (!shown) {
    return store_error(Error{"audit store " + o.audit + ": decision #" + std::to_string(s->seq) +
                             " (case " + o.case_id + "): " + shown.error().message +
                             "; run `crible audit verify`"});
  }
  std::cout << shown.value();
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
  // A run whose ruleset record is gone is still listed, its sha256 "(missing)", with the
  // others (docs/decisions.md): the listing is what an auditor starts from. The exit code
  // says the store is damaged.
  int exit_code = kExitOk;
  for (const auto& r : runs.value()) {
    std::cout << fmt::format("{},{},{},{},{},{},{},{},{},{}\n", r.run_id, r.status, r.started_at,
                             r.finished_at, r.as_of, r.read, r.decided, r.rejected,
                             r.ruleset_stored ? r.ruleset_sha256 : "(missing)", r.head_hash);
    if (!r.ruleset_stored) {
      std::cerr << fmt::format(
          "warning: run {}'s ruleset (ruleset {}) is not in the audit store {}; "
          "run `crible audit verify`\n",
          r.run_id, r.ruleset_id, o.store);
      exit_code = kExitData;
    }
  }
  return exit_code;
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
  // Written whole or not at all: a walk that stops at a damaged decision after the first
  // megabytes must not leave half a run's CSV where the auditor expects the export.
  auto sink = Sink::open(o.out, /*whole=*/true);
  if (!sink) return kExitData;
  // Streamed: a run of a million decisions is written in chunks, never held in memory.
  std::string chunk = "case_id,disposition";
  for (const auto& name : *scores) chunk += "," + render::csv_field(name);
  chunk += ",fired\n";
  Status walked = store->for_each_decision(
      run_id,
      [&](const audit::DecisionRecord& d) -> Status {
        // Each decision has the run's scores, in the header's order: a decision with other
        // ones (only an edited store has one) would shift its line's columns silently.
        bool same = d.scores.size() == scores->size();
        for (size_t i = 0; same && i < d.scores.size(); ++i) same = d.scores[i].first == (*scores)[i];
        if (!same) {
          return Error{"audit store " + o.store + ", run " + std::to_string(run_id) +
                       ": the decision about case " + d.case_key + " (input " +
                       std::to_string(d.input_index) +
                       ") does not have the run's scores; run `crible audit verify`"};
        }
        chunk += render::csv_field(d.case_key);
        chunk += ',';
        chunk += render::csv_field(d.disposition);
        for (const auto& [_, v] : d.scores) {
          chunk += ',';
          chunk += render::csv_field(v);  // a number, unquoted, unless the store was edited
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
