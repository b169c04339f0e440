// `crible check` and `crible eval`, and the registration of every subcommand.
#include "cli/commands.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <system_error>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "audit/audit.h"
#include "base/threads.h"
#include "cli/authoring.h"
#include "cli/compile.h"
#include "cli/output.h"
#include "render/render.h"

namespace crible::cli {

// Decisions CSV rows are rendered into one buffer this many at a time, then written; JSON
// lines, some forty times longer, fewer at a time.
constexpr size_t kCsvRowsPerWrite = 16384;
constexpr size_t kJsonlRowsPerWrite = 1024;

namespace {

// Output rendered in chunks on `threads` threads and written in order by this one: on one
// thread, rendering a million CSV rows after evaluation took a tenth of `eval`. The bytes are
// the same whatever the thread count (tested), since each chunk is rendered whole by one
// thread and the chunks are written in order. At most two chunks per thread are held at
// once. `make_renderer()` is called once on each rendering thread and gives what renders
// chunk i into a string: (size_t i, std::string& out). `written(n)` follows each write of
// the first n chunks.
template <typename MakeRenderer, typename Written>
void write_in_order(Sink& sink, size_t chunks, int threads, MakeRenderer make_renderer,
                    Written written) {
  const size_t workers = std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), chunks);
  auto write_alone = [&] {
    auto render_chunk = make_renderer();
    std::string rows;
    for (size_t i = 0; i < chunks; ++i) {
      render_chunk(i, rows);
      sink.write(rows);
      written(i + 1);
    }
  };
  if (workers <= 1) {
    write_alone();
    return;
  }
  const size_t ring = 2 * workers;
  std::vector<std::string> buffers(ring);
  std::vector<size_t> ready(ring, SIZE_MAX);  // the chunk each buffer holds, once rendered
  std::mutex m;
  std::condition_variable cv;
  size_t next = 0, n_written = 0;
  bool stop = false;
  std::exception_ptr failure;
  std::vector<std::thread> pool;
  // Chunks are taken in turn: threads the system refuses (base/threads.h) leave theirs to
  // the others, or, with none started, to this one.
  start_threads(pool, workers, [&](size_t) {
    return [&] {
      // Rendered here, then swapped into the ring: neighbouring strings of the ring share a
      // cache line, and appending to them in place from two threads made each thread half
      // as fast (every append writes the string's size).
      std::string rows;
      try {
        auto render_chunk = make_renderer();
        for (;;) {
          size_t i;
          {
            std::unique_lock lock(m);
            if (stop || next == chunks) return;
            i = next++;
            cv.wait(lock, [&] { return stop || i < n_written + ring; });  // its buffer is free
            if (stop) return;
          }
          render_chunk(i, rows);
          std::lock_guard lock(m);
          buffers[i % ring].swap(rows);
          ready[i % ring] = i;
          cv.notify_all();
        }
      } catch (...) {  // std::bad_alloc: stop everyone, rethrown below
        std::lock_guard lock(m);
        if (!failure) failure = std::current_exception();
        stop = true;
        cv.notify_all();
      }
    };
  });
  if (pool.empty()) {
    write_alone();
    return;
  }
  try {
    for (size_t i = 0; i < chunks; ++i) {
      {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return stop || ready[i % ring] == i; });
        if (stop) break;
      }
      sink.write(buffers[i % ring]);
      {
        std::lock_guard lock(m);
        n_written = i + 1;
      }
      cv.notify_all();
      written(i + 1);
    }
  } catch (...) {  // std::bad_alloc while writing: the renderers stop and are joined first
    {
      std::lock_guard lock(m);
      stop = true;
    }
    cv.notify_all();
    for (std::thread& t : pool) t.join();
    throw;
  }
  for (std::thread& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

void write_decisions_csv(Sink& sink, const check::TypedRuleset& rules, const Loaded& loaded,
                         const eval::Decisions& d, int threads) {
  sink.write(render::decisions_csv_header(rules));
  const size_t chunks = (d.cases + kCsvRowsPerWrite - 1) / kCsvRowsPerWrite;
  write_in_order(sink, chunks, threads, [&] {
    return [&](size_t i, std::string& out) {
      out.clear();
      const size_t begin = i * kCsvRowsPerWrite;
      render::append_decisions_csv(out, rules, loaded.cases, loaded.interner, d, begin,
                                   std::min(d.cases, begin + kCsvRowsPerWrite));
    };
  }, [](size_t) {});
}

// One JSON object a line per case, with its findings and evidence: every case is explained,
// by one CaseExplainer per rendering thread.
void write_decisions_jsonl(Sink& sink, const check::TypedRuleset& rules, const Loaded& loaded,
                           size_t cases, int threads, Progress& progress) {
  const size_t chunks = (cases + kJsonlRowsPerWrite - 1) / kJsonlRowsPerWrite;
  write_in_order(sink, chunks, threads, [&] {
    return [&, explainer = std::make_unique<eval::CaseExplainer>(*loaded.evaluator)](
               size_t i, std::string& out) {
      out.clear();
      const size_t begin = i * kJsonlRowsPerWrite;
      for (size_t r = begin; r < std::min(cases, begin + kJsonlRowsPerWrite); ++r) {
        out += render::decision_json(rules, loaded.cases, loaded.interner, explainer->explain(r));
        out += '\n';
      }
    };
  }, [&](size_t n) { progress.count("writing", std::min(cases, n * kJsonlRowsPerWrite), cases); });
}

}  // namespace

namespace {

// The check of an option whose whole text must read as a T that `accepts`; otherwise a
// usage error "expected <what>, got '<text>'". CLI11's own checks let "nan" through a range
// and print their bounds as doubles with 300 digits.
template <typename T, typename Accepts>
CLI::Validator number_check(std::string what, Accepts accepts, std::string shown) {
  return CLI::Validator(
      [what = std::move(what), accepts](std::string& text) -> std::string {
        T n{};
        const char* end = text.data() + text.size();
        const auto [at, ec] = std::from_chars(text.data(), end, n);
        if (ec != std::errc{} || at != end || !accepts(n))
          return fmt::format("expected {}, got '{}'", what, text);
        return {};
      },
      std::move(shown));
}

// `--run`: runs are numbered 1, 2, ... in the store; anything else is a usage error, not a
// number CLI11 would saturate or a run that cannot exist.
CLI::Validator run_number() {
  return number_check<int64_t>("a run number (1, 2, ...; `crible audit runs` lists them)",
                               [](int64_t n) { return n >= 1; }, "N");
}

}  // namespace

CLI::Validator thread_count() {
  return number_check<int>(
      fmt::format("a whole number of threads from 0 (all cores) to {}", eval::kMaxThreads),
      [](int n) { return n >= 0 && n <= eval::kMaxThreads; },
      "0.." + std::to_string(eval::kMaxThreads));
}

CLI::Validator percentage() {
  return number_check<double>("a percentage from 0 to 100",
                              [](double p) { return p >= 0 && p <= 100; }, "0..100");
}

void register_commands(CLI::App& app, Commands& c) {
  c.check = app.add_subcommand("check", "Check rule files: syntax, names, types; print diagnostics");
  c.check->add_option("RULES", c.check_opts.rules, "Rule files")->required();
  c.check->add_option("--format", c.check_opts.format, "Diagnostics as text or json")
      ->check(CLI::IsMember({"text", "json"}));
  c.check->add_flag("--verbose", c.check_opts.verbose, "Print a one-line summary per rule");
  c.check->add_flag("--werror", c.check_opts.werror, "Treat warnings as errors");
  c.check->footer("Exit codes: 0 no errors, 1 errors in a rule file, 2 usage errors.");

  auto add_run_options = [](CLI::App* sub, EvalOptions& o) {
    sub->add_option("RULES", o.rules, "Rule file")->required();
    sub->add_option("--cases", o.cases, "Cases CSV file")->required();
    sub->add_option("--table", o.tables, "Reference table NAME=PATH (repeatable)");
    sub->add_option("--param", o.params, "Parameter NAME=VALUE (repeatable), e.g. as_of=2019-02-01");
    sub->add_option("--format", o.format, "Output format: csv or jsonl")
        ->check(CLI::IsMember({"csv", "jsonl"}));
    sub->add_option("--rejects", o.rejects, "Write rejected rows (file,line,column,reason) to FILE");
    sub->add_option("--summary-json", o.summary_json, "Write the run summary as JSON to FILE");
    sub->add_option("--threads", o.threads, "Threads (default: all cores)")->check(thread_count());
    sub->add_flag("--quiet", o.quiet, "No progress bar and no summary on stderr");
  };
  c.eval = app.add_subcommand("eval", "Decide every case: disposition, scores and what fired");
  add_run_options(c.eval, c.eval_opts);
  c.eval->add_option("--out", c.eval_opts.out, "Output file, or - for stdout (default)");
  c.eval->footer(
      "CSV output: case_id,disposition,<scores in declaration order>,fired — one row per accepted "
      "case, in input order.\nExit codes: 0 ok, 1 rule errors, 2 usage errors, 3 input data errors.");

  c.review = app.add_subcommand("review", "eval, and record every decision in an audit store");
  add_run_options(c.review, c.review_opts);
  c.review->add_option("--audit", c.review_opts.audit, "Audit store (SQLite)")->required();
  c.review->add_option("--out", c.review_opts.out, "Also write the decisions CSV to FILE (- for stdout)");
  c.review->add_option("--pseudonymise-key", c.review_opts.pseudonymise_key,
                       "Store personal identifiers only as HMAC-SHA256 under the key in FILE");
  c.review_opts.out.clear();

  c.explain = app.add_subcommand("explain", "Explain one decision from the audit store alone");
  c.explain->add_option("--audit", c.explain_opts.audit, "Audit store")->required();
  c.explain->add_option("CASE_ID", c.explain_opts.case_id, "Case key")->required();
  c.explain->add_option("--run", c.explain_opts.run, "Run number (default: the latest run that decided the case)")
      ->check(run_number());
  c.explain->add_option("--format", c.explain_opts.format, "text or json")->check(CLI::IsMember({"text", "json"}));

  for (auto reg : {register_test_command, register_diff_command, register_fmt_command}) {
    AuthoringCommand cmd = reg(app);
    if (cmd.app) c.authoring.push_back({cmd.app, cmd.run});
  }

  c.audit = app.add_subcommand("audit", "Inspect and maintain an audit store");
  c.audit->require_subcommand(1);
  c.audit_verify = c.audit->add_subcommand("verify", "Recompute the hash chain; exit 4 if anything changed");
  c.audit_verify->add_option("AUDIT", c.audit_opts.store, "Audit store")->required();
  c.audit_runs = c.audit->add_subcommand("runs", "List the runs");
  c.audit_runs->add_option("AUDIT", c.audit_opts.store, "Audit store")->required();
  c.audit_export = c.audit->add_subcommand("export", "Decisions of a run as CSV (same columns as eval)");
  c.audit_export->add_option("AUDIT", c.audit_opts.store, "Audit store")->required();
  c.audit_export->add_option("--run", c.audit_opts.run, "Run number (default: the latest)")
      ->check(run_number());
  c.audit_export->add_option("--out", c.audit_opts.out, "Output file, or - for stdout");
  c.audit_override = c.audit->add_subcommand("override", "Record a human override of a decision");
  c.audit_override->add_option("AUDIT", c.audit_opts.store, "Audit store")->required();
  c.audit_override->add_option("CASE_ID", c.audit_opts.case_id, "Case key")->required();
  c.audit_override->add_option("--disposition", c.audit_opts.disposition, "New disposition")->required();
  c.audit_override->add_option("--by", c.audit_opts.by, "Who decides")->required();
  c.audit_override->add_option("--reason", c.audit_opts.reason, "Why")->required();
  c.audit_override->add_option("--run", c.audit_opts.run, "Run number (default: the latest deciding the case)")
      ->check(run_number());
  c.audit_erase = c.audit->add_subcommand("erase", "Erase a person's personal detail; the chain still verifies");
  c.audit_erase->add_option("AUDIT", c.audit_opts.store, "Audit store")->required();
  c.audit_erase->add_option("CASE_ID", c.audit_opts.case_id, "Case key")->required();
  c.audit_erase->add_option("--by", c.audit_opts.by, "Who erases")->required();
  c.audit_erase->add_option("--reason", c.audit_opts.reason, "Why (retention, request, ...)")->required();
}

int run_selected(CLI::App& app, Commands& c) {
  (void)app;
  if (c.check->parsed()) return run_check(c.check_opts);
  if (c.eval->parsed()) return run_eval(c.eval_opts, false);
  if (c.review->parsed()) return run_eval(c.review_opts, true);
  if (c.explain->parsed()) return run_explain(c.explain_opts);
  if (c.audit_verify->parsed()) return run_audit_verify(c.audit_opts);
  if (c.audit_runs->parsed()) return run_audit_runs(c.audit_opts);
  if (c.audit_export->parsed()) return run_audit_export(c.audit_opts);
  if (c.audit_override->parsed()) return run_audit_override(c.audit_opts);
  if (c.audit_erase->parsed()) return run_audit_erase(c.audit_opts);
  for (auto& [sub, run] : c.authoring)
    if (sub->parsed()) return run();
  return kExitUsage;
}

int run_check(const CheckOptions& o) {
  int worst = kExitOk;
  DiagFormat format = o.format == "json" ? DiagFormat::Json : DiagFormat::Text;
  for (const auto& path : o.rules) {
    int code = kExitOk;
    auto compiled = compile(path, format, o.werror, code);
    if (!compiled) {
      worst = std::max(worst, code);
      continue;
    }
    if (o.verbose && format == DiagFormat::Text) {
      const auto& r = compiled->rules;
      std::cout << fmt::format("{}: ok: {} criteria, {} signals, {} scores, {} disposition lines, "
                               "{} aggregates, {} tables\n",
                               path, r.criteria.size(), r.signals.size(), r.scores.size(),
                               r.disposition.size(), r.aggregates.size(), r.tables.size());
      for (const auto& c : r.criteria)
        std::cout << fmt::format("  criterion {} {}: {}\n", c.id, c.name,
                                 c.clauses.empty() ? "" : c.clauses[0].text);
      for (const auto& s : r.signals)
        std::cout << fmt::format("  signal {} {} ({} points): {}\n", s.id, s.name,
                                 render::format_number(s.points), s.fires_text);
    }
  }
  return worst;
}

int run_eval(const EvalOptions& o, bool review) {
  auto started = std::chrono::steady_clock::now();
  int code = kExitOk;
  auto compiled = compile(o.rules, DiagFormat::Text, false, code);
  if (!compiled) return code;
  const check::TypedRuleset& rules = compiled->rules;
  LoadRequest req{o.cases, o.tables, o.params, o.threads};
  // The audit store records the cases file's SHA-256: hashed beside the load rather than
  // after it, on the thread that appends (171 MB, ~0.1 s, for 1M cases).
  std::future<Result<std::string>> cases_sha256;
  if (review) {
    audit::ready_crypto();  // before the load takes the memory (audit.h)
    auto hash = [path = o.cases] { return audit::sha256_file(path); };
    try {
      cases_sha256 = std::async(std::launch::async, hash);  // refusal caught below
    } catch (const std::system_error&) {  // no thread to be had: hashed when it is needed
      count_refused_thread();
      cases_sha256 = std::async(std::launch::deferred, hash);
    }
  }
  Progress progress(o.quiet);
  progress.phase("loading");
  auto loaded = load(*compiled, req, code);
  if (!loaded) return code;
  // Opened before anything is decided or stored, so that a path it cannot write stops the
  // run before the store holds it.
  std::unique_ptr<Sink> sink;
  if (!o.out.empty()) {
    sink = Sink::open(o.out, /*whole=*/true);  // never a partial decisions file
    if (!sink) return kExitData;
  }
  eval::Decisions decisions;
  if (review) {
    // Review decides each case as it explains it, while the first are being stored (see
    // review.h); its --out is written once they all are. A review that fails to record
    // leaves no decisions file (and any previous one as it was).
    int rc = record_review(*compiled, *loaded, decisions, o, &cases_sha256);
    if (rc != kExitOk) return rc;
  } else {
    progress.phase("deciding");
    decisions = loaded->evaluator->evaluate_all(o.threads);
    progress.done();
  }
  if (sink) {
    if (o.format == "jsonl") {
      write_decisions_jsonl(*sink, rules, *loaded, decisions.cases, eval::resolve_threads(o.threads),
                            progress);
    } else {
      write_decisions_csv(*sink, rules, *loaded, decisions, eval::resolve_threads(o.threads));
    }
    progress.done();
    if (!sink->close()) return kExitData;
  }

  report_rejects(*loaded, o.rejects, code);
  if (code != kExitOk) return code;
  // The summary goes to the terminal unless --quiet, and to --summary-json: with neither,
  // counting every rule's outcomes over all cases would be work nobody sees.
  if (o.quiet && o.summary_json.empty()) return kExitOk;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  RunSummary summary = summarise(rules, *loaded, decisions, seconds);
  if (!o.quiet) std::cerr << summary.text(isatty(2));
  if (!o.summary_json.empty()) {
    std::ofstream out(o.summary_json, std::ios::binary);
    if (!out) {
      std::cerr << fmt::format("error: cannot write {}: {}\n", o.summary_json, std::strerror(errno));
      return kExitData;
    }
    out << summary.json << "\n";
  }
  return kExitOk;
}

}  // namespace crible::cli
