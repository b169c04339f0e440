// `crible review`'s recording step, `crible explain` and `crible audit ...`: the commands
// over the audit store. Explanations are rendered from the store alone.
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <unordered_set>
#include <utility>

#include "audit/audit.h"
#include "cli/commands.h"
#include "cli/compile.h"
#include "cli/output.h"
#include "render/render.h"
#include "syntax/syntax.h"

namespace crible::cli {

namespace {

// Decisions a transaction appends. Smaller batches in a deeper ring keep as many records in
// flight (the memory) but let builder and appender overlap more finely: 2,500 in a ring of
// six against 5,000 in three, 1M review 7.77 -> 7.43 s, same peak (docs/decisions.md).
constexpr size_t kBatch = 2500;
constexpr size_t kBuildChunk = 64;  // rows a record builder takes at a time
constexpr size_t kMinBuilderRows = 256;  // rows a batch has for each builder, at least
constexpr size_t kRing = 6;         // batches of records in flight: built ahead, or appending

int store_error(const Error& e) {
  std::cerr << "error: " << e.message << "\n";
  return e.exit_code == 0 ? kExitData : e.exit_code;
}

// An interner whose personal texts read as keyed hashes, so that no raw identifier reaches
// the store while "same phone" links survive (equal values, equal hashes).
Interner pseudonymised(const check::TypedRuleset& rules, const data::Table& cases,
                       const Interner& interner, const std::string& key) {
  std::unordered_set<uint32_t> personal;
  for (size_t c = 0; c < rules.cases.columns.size(); ++c) {
    const ColumnDecl& decl = rules.cases.columns[c];
    const data::Column& col = cases.columns[c];
    if (!decl.personal || !col.loaded) continue;
    if (decl.type.kind == TypeKind::Text) {
      for (size_t r = 0; r < cases.rows; ++r)
        if (col.valid(r)) personal.insert(col.text(r));
    } else if (decl.type.kind == TypeKind::Set) {
      for (uint32_t id : col.set_pool()) personal.insert(id);
    }
  }
  Interner out;
  for (uint32_t i = 0; i < interner.size(); ++i) {
    const std::string_view t = interner.text(i);
    if (personal.count(i))
      out.intern("hmac:" + audit::hmac_sha256_hex(key, std::string(t)).substr(0, 16));
    else
      out.intern(t);
  }
  return out;
}

// Appending is the longer half of recording: every batch goes through the one appending
// thread, while the builders only need to keep ahead of it. With two builders and the
// appender on two cores, the scheduler shared them out evenly and the appender waited for a
// core; builders at the lowest priority run on what it leaves (its waits on the disk
// included). 1M cases: median review 9.28 -> 8.88 s (docs/decisions.md, "Speed and memory",
// "Builders yield to the appender").
// (Linux gives each thread a nice value of its own: the appender keeps its priority.)
void yield_to_appender() {
  errno = 0;
  const int now = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  if (errno == 0 && now < 19) setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
}

// Builder threads that live through the whole recording, given one batch after another,
// instead of threads started and lowered in priority for each batch of 2,500 (400 of each
// for a million cases). The gain was within the host's noise (docs/decisions.md); what it
// saves is the start and the system calls, and what is built stays on the same threads.
class BuildCrew {
 public:
  // `helpers` threads besides the caller's; each first runs `on_start` (its priority).
  BuildCrew(size_t helpers, void (*on_start)()) {
    for (size_t h = 1; h <= helpers; ++h)
      threads_.emplace_back([this, h, on_start] {
        on_start();
        serve(h);
      });
  }
  ~BuildCrew() {
    {
      std::lock_guard lock(m_);
      closing_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  BuildCrew(const BuildCrew&) = delete;
  BuildCrew& operator=(const BuildCrew&) = delete;

  // Runs job(1) .. job(n) on n helpers (n at most their number) while the caller goes on;
  // finish() waits for them and rethrows what a job threw (std::bad_alloc).
  void start(size_t n, std::function<void(size_t)> job) {
    {
      std::lock_guard lock(m_);
      job_ = std::move(job);
      called_ = n;
      running_ = n;
      ++round_;
    }
    cv_.notify_all();
  }
  void finish() {
    std::unique_lock lock(m_);
    done_cv_.wait(lock, [&] { return running_ == 0; });
    if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
  }

 private:
  void serve(size_t h) {
    uint64_t seen = 0;
    for (;;) {
      std::function<void(size_t)>* job = nullptr;
      {
        std::unique_lock lock(m_);
        cv_.wait(lock, [&] { return closing_ || round_ != seen; });
        if (closing_) return;
        seen = round_;
        if (h > called_) continue;
        job = &job_;
      }
      std::exception_ptr failed;
      try {
        (*job)(h);
      } catch (...) {
        failed = std::current_exception();
      }
      std::lock_guard lock(m_);
      if (failed && !failure_) failure_ = failed;
      if (--running_ == 0) done_cv_.notify_all();
    }
  }

  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  std::function<void(size_t)> job_;
  size_t called_ = 0, running_ = 0;
  uint64_t round_ = 0;
  bool closing_ = false;
  std::exception_ptr failure_;
  std::vector<std::thread> threads_;  // joined by the destructor
};

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
  std::vector<uint64_t> done = store->already_decided(run_id);
  // The chain hashes are computed by the building thread as each batch is built, so that
  // the appending thread only inserts (docs/decisions.md, "Decisions are sealed ahead").
  auto sealer = store->decision_sealer(run_id);
  if (!sealer) return store_error(sealer.error());
  std::vector<bool> skip(d.cases, false);
  for (uint64_t i : done)
    if (i < d.cases) skip[i] = true;

  Interner pseudo;
  const Interner* view = &loaded.interner;
  if (!key.empty()) {
    pseudo = pseudonymised(rules, loaded.cases, loaded.interner, key);
    view = &pseudo;
  }
  // Fills `rec` in place: records are reused batch after batch, so that building one
  // allocates nothing once their strings have grown.
  auto fill_record = [&](size_t r, eval::CaseExplainer& explainer, audit::DecisionRecord& rec) {
    const eval::CaseDetail& detail = explainer.explain(r);
    rec.input_index = r;
    rec.case_key = render::case_key(rules, loaded.cases, loaded.interner, r);
    const auto& line = rules.disposition[d.disposition[r]];
    rec.disposition = line.outcome;
    rec.disposition_rule = std::to_string(d.disposition[r] + 1);
    rec.disposition_rule += ": ";
    rec.disposition_rule += line.text;
    rec.scores.resize(d.n_scores);
    for (size_t i = 0; i < d.n_scores; ++i) {
      rec.scores[i].first = rules.scores[i].name;
      rec.scores[i].second = render::format_number(d.scores[r * d.n_scores + i]);
    }
    rec.fired = render::fired_field(rules, d, r);
    rec.outcomes.clear();
    for (size_t i = 0; i < rules.criteria.size(); ++i) {
      switch (static_cast<eval::CriterionOutcome>(d.criteria[r * d.n_criteria + i])) {
        case eval::CriterionOutcome::Pass: rec.outcomes += 'p'; break;
        case eval::CriterionOutcome::Fail: rec.outcomes += 'f'; break;
        case eval::CriterionOutcome::Unknown: rec.outcomes += 'u'; break;
      }
    }
    for (size_t i = 0; i < rules.signals.size(); ++i)
      rec.outcomes += d.fired[r * d.n_signals + i] ? 'y' : 'n';
    encoder.values_json(loaded.cases, *view, detail, rec.detail_json);
    // Hashed and checked here, on all cores and while the record is in this core's cache,
    // rather than on the one appending thread.
    rec.detail_hash.clear();  // the record is reused: hashed anew by prepare
    sealer->prepare(rec);
  };
  // Records are built on every core while earlier batches are written, and appended in
  // input order by one thread whatever the thread count, so the store's bytes do not depend
  // on it. Builds never overlap (one thread runs them in turn), so worker w always has
  // explainers[w] to itself.
  // No more builders than a batch gives work to (kMinBuilderRows each, so 10 for 2,500
  // cases): each keeps an explainer's scratch, ~1 MB.
  const size_t threads = std::min(static_cast<size_t>(eval::resolve_threads(o.threads)),
                                  kBatch / kMinBuilderRows + 1);
  std::vector<std::unique_ptr<eval::CaseExplainer>> explainers;
  for (size_t w = 0; w < threads; ++w)
    explainers.push_back(std::make_unique<eval::CaseExplainer>(*loaded.evaluator));
  // Made by the building thread, which leads it, and ended by it when the last batch is built.
  std::unique_ptr<BuildCrew> crew;
  // `meanwhile` runs on the calling thread once the other builders have started, before it
  // waits for them.
  auto build = [&](size_t begin, size_t end, std::vector<audit::DecisionRecord>& out,
                   auto&& meanwhile) {
    std::vector<size_t> rows;
    for (size_t r = begin; r < end; ++r)
      if (!skip[r]) rows.push_back(r);
    out.resize(rows.size());
    const size_t workers = std::min(threads, rows.size() / kMinBuilderRows + 1);
    // Rows are handed out in small chunks rather than split in equal shares: a builder that
    // shares its core with the appender gets little of it, and with equal shares the batch
    // waited for that one (docs/decisions.md, same place).
    std::atomic<size_t> next_row{0};
    auto work = [&](size_t w) {
      for (;;) {
        const size_t first = next_row.fetch_add(kBuildChunk, std::memory_order_relaxed);
        if (first >= rows.size()) break;
        const size_t last = std::min(first + kBuildChunk, rows.size());
        for (size_t i = first; i < last; ++i) fill_record(rows[i], *explainers[w], out[i]);
      }
    };
    crew->start(workers - 1, work);
    try {
      meanwhile();
    } catch (...) {  // out of memory: the builders finish their rows before this unwinds
      crew->finish();
      throw;
    }
    work(0);
    crew->finish();
  };
  Progress progress(o.quiet);
  // One thread builds the batches in order into a ring of buffers, up to kRing - 1 batches
  // ahead of the appender, so that a batch that takes longer to build draws on the time the
  // quicker ones saved instead of making the appender wait. It seals each batch (the chain
  // hashes, in order, on one thread) while the other builders build the next one, and hands
  // it over then.
  std::vector<audit::DecisionRecord> ring[kRing];
  const size_t n_batches = (d.cases + kBatch - 1) / kBatch;
  std::mutex m;
  std::condition_variable cv;
  size_t built = 0, appended = 0;  // batches handed over, batches whose buffer is free again
  bool stop = false;
  std::exception_ptr failure;  // std::bad_alloc from a builder: rethrown here
  auto hand_over = [&](size_t k) {
    sealer->seal(ring[k % kRing]);
    std::lock_guard lock(m);
    built = k + 1;
    cv.notify_all();
  };
  std::thread builder([&] {
    try {
      yield_to_appender();
      crew = std::make_unique<BuildCrew>(threads - 1, yield_to_appender);
      for (size_t k = 0; k < n_batches; ++k) {
        {
          std::unique_lock lock(m);
          cv.wait(lock, [&] { return stop || k < appended + kRing; });
          if (stop) return;
        }
        build(k * kBatch, std::min((k + 1) * kBatch, d.cases), ring[k % kRing], [&] {
          if (k > 0) hand_over(k - 1);
        });
      }
      if (n_batches > 0) hand_over(n_batches - 1);
      crew.reset();
    } catch (...) {
      crew.reset();
      std::lock_guard lock(m);
      failure = std::current_exception();
      cv.notify_all();
    }
  });
  auto stop_builder = [&] {
    {
      std::lock_guard lock(m);
      stop = true;
    }
    cv.notify_all();
    builder.join();
  };
  try {
    for (size_t k = 0; k < n_batches; ++k) {
      {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return built > k || failure; });
        if (built <= k) break;  // the builder failed: rethrown below
      }
      const std::vector<audit::DecisionRecord>& batch = ring[k % kRing];
      if (!batch.empty()) {
        if (auto st = store->append_decisions(run_id, batch); !st) {
          stop_builder();
          progress.done();
          return store_error(st.error());
        }
      }
      {
        std::lock_guard lock(m);
        appended = k + 1;
      }
      cv.notify_all();
      progress.count("recording", std::min((k + 1) * kBatch, d.cases), d.cases);
    }
  } catch (...) {  // out of memory while appending: stop the builder before unwinding past it
    stop_builder();
    throw;
  }
  stop_builder();
  if (failure) std::rethrow_exception(failure);
  progress.done();
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
