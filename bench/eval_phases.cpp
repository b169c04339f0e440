// bench/eval_phases: times the phases of `crible eval` apart, so that evaluation proper can
// be measured without loading (issue 6: "at least 1,000,000 cases/s for evaluation proper,
// after load"). Same stages as the CLI, no output written.
//
//   eval_phases RULES CASES.csv [NAME=TABLE.csv]... [--threads N] [--repeat R] [--explain]
//
// Prints, per phase, wall seconds and process CPU seconds (all threads); evaluate_all is run
// R times (default 3) and its best wall time gives the cases/s figure. --explain adds the two
// steps `crible review` takes per case besides storing it, on one thread, as review's workers
// do them: explaining every case (eval::CaseExplainer) and rendering the stored detail
// (DecisionEncoder::values_json into a reused string).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "check/check.h"
#include "data/data.h"
#include "eval/eval.h"
#include "render/render.h"
#include "plan/plan.h"
#include "syntax/syntax.h"

namespace {

double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
// Resident memory now, and the peak so far, in MB (from /proc/self/status).
std::string rss() {
  std::ifstream in("/proc/self/status");
  std::string line, now = "?", peak = "?";
  while (std::getline(in, line)) {
    auto field = [&](const char* name) {
      return std::to_string(std::atol(line.c_str() + std::string(name).size()) / 1024);
    };
    if (line.rfind("VmRSS:", 0) == 0) now = field("VmRSS:");
    if (line.rfind("VmHWM:", 0) == 0) peak = field("VmHWM:");
  }
  return "rss " + now + " MB (peak " + peak + " MB)";
}

double wall_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Phase {
  const char* name;
  double wall0 = wall_now(), cpu0 = cpu_now();
  explicit Phase(const char* n) : name(n) {}
  double done(size_t n = 0) const {
    const double w = wall_now() - wall0, c = cpu_now() - cpu0;
    if (n)
      std::printf("%-14s wall %8.3f s  cpu %8.3f s  %10.0f cases/s (wall)  %s\n", name, w, c, n / w,
                  rss().c_str());
    else
      std::printf("%-14s wall %8.3f s  cpu %8.3f s  %s\n", name, w, c, rss().c_str());
    return w;
  }
};

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "eval_phases: %s\n", why.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace crible;
  if (argc < 3)
    die("usage: eval_phases RULES CASES.csv [NAME=TABLE.csv]... [--threads N] [--repeat R] [--explain]");
  std::vector<std::pair<std::string, std::string>> table_args;
  int threads = 0, repeat = 3;
  bool explain = false;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--repeat" && i + 1 < argc) repeat = std::max(1, std::atoi(argv[++i]));
    else if (a == "--explain") explain = true;
    else if (auto eq = a.find('='); eq != std::string::npos) table_args.emplace_back(a.substr(0, eq), a.substr(eq + 1));
    else die("bad argument " + a);
  }

  Phase compile("compile");
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  SourceSet sources;
  const uint32_t file = sources.add(argv[1], text.str());
  auto ast = syntax::parse(sources, file);
  if (!ast.ok()) die("the rules do not parse");
  auto typed = check::check(*ast.value, sources);
  if (!typed.ok()) die("the rules do not check");
  const check::TypedRuleset rules = std::move(*typed.value);
  Interner interner;
  auto planned = plan::plan(rules, interner, {});
  if (!planned.ok()) die(planned.error().message);
  compile.done();

  Phase load("load");
  std::vector<data::Table> tables;
  for (const auto& t : rules.tables) {
    auto it = std::find_if(table_args.begin(), table_args.end(), [&](const auto& a) { return a.first == t.name; });
    if (it == table_args.end()) die("no file for table " + t.name);
    data::LoadOptions o;
    o.wanted = rules.table_fields_read[&t - rules.tables.data()];
    auto r = data::load_csv(it->second, t, interner, o, false);
    if (!r.ok()) die(r.error().message);
    tables.push_back(std::move(r.value()));
  }
  data::LoadOptions o;
  o.threads = threads;
  o.wanted.assign(rules.cases.columns.size(), false);
  for (size_t i = 0; i < o.wanted.size(); ++i) o.wanted[i] = rules.case_fields_read[i] || rules.row_fields_read[i];
  auto cases = data::load_csv(argv[2], rules.cases, interner, o, true);
  if (!cases.ok()) die(cases.error().message);
  const size_t n = cases->rows;
  load.done(n);

  Phase prepare("prepare");
  std::vector<const data::Table*> ptrs;
  for (const auto& t : tables) ptrs.push_back(&t);
  auto ev = eval::Evaluator::prepare(planned.value(), cases.value(), ptrs, threads);
  if (!ev.ok()) die(ev.error().message);
  prepare.done(n);

  double best = 1e300;
  for (int r = 0; r < repeat; ++r) {
    Phase decide("evaluate_all");
    eval::Decisions d = ev.value()->evaluate_all(threads);
    best = std::min(best, decide.done(n));
  }
  std::printf("%-14s %12.0f cases/s (best evaluate_all, wall, %zu cases)\n", "evaluation", n / best, n);
  if (explain) {
    // As review's workers do: one explainer, one detail string, reused case after case; the
    // rows' texts asked for ahead as review does (DecisionEncoder::prefetch_fields), and,
    // to show what that buys, without. Rounds alternate the two; the best of each is shown.
    eval::CaseExplainer explainer(*ev.value());
    const render::DecisionEncoder encoder(rules);
    std::string values;
    size_t bytes = 0;
    double best_explain = 1e300, best_render[2] = {1e300, 1e300};
    for (int round = 0; round < repeat; ++round) {
      for (int prefetched = 1; prefetched >= 0; --prefetched) {
        double explain_s = 0, render_s = 0;
        bytes = 0;
        for (size_t r = 0; r < n; ++r) {
          if (prefetched) {
            if (r + 2 < n) encoder.prefetch_fields(cases.value(), interner, r + 2, 0);
            if (r + 1 < n) encoder.prefetch_fields(cases.value(), interner, r + 1, 1);
          }
          const auto t0 = std::chrono::steady_clock::now();
          const eval::CaseDetail& detail = explainer.explain(r);
          const auto t1 = std::chrono::steady_clock::now();
          encoder.values_json(cases.value(), interner, detail, values);
          const auto t2 = std::chrono::steady_clock::now();
          explain_s += std::chrono::duration<double>(t1 - t0).count();
          render_s += std::chrono::duration<double>(t2 - t1).count();
          bytes += values.size();
        }
        best_explain = std::min(best_explain, explain_s);
        best_render[prefetched] = std::min(best_render[prefetched], render_s);
      }
    }
    std::printf("%-14s wall %8.3f s  %8.2f us a case (CaseExplainer, one thread, best of %d)\n",
                "explain", best_explain, 1e6 * best_explain / double(n), 2 * repeat);
    std::printf("%-14s wall %8.3f s  %8.2f us a case, %.0f bytes a case on average (texts "
                "fetched ahead, as review does)\n",
                "values_json", best_render[1], 1e6 * best_render[1] / double(n),
                double(bytes) / double(n));
    std::printf("%-14s wall %8.3f s  %8.2f us a case (texts not fetched ahead)\n", "  unfetched",
                best_render[0], 1e6 * best_render[0] / double(n));
  }
  std::fflush(stdout);
  std::_Exit(0);  // the teardown is not a phase of interest here
}
