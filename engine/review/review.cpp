// Recording a review (review.h): records built on every core, appended in order on one.
// The pipeline and its tuning are described in docs/decisions.md ("Builders yield to the
// appender", "Decisions are sealed ahead", "Review explains cases from batches").
#include "review/review.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/threads.h"
#include "render/render.h"

namespace crible::review {

namespace {

// Decisions a transaction appends. Smaller batches in a deeper ring keep as many records in
// flight (the memory) but let builder and appender overlap more finely: 2,500 in a ring of
// six against 5,000 in three, 1M review 7.77 -> 7.43 s, same peak (docs/decisions.md).
constexpr size_t kBatch = 2500;
constexpr size_t kBuildChunk = 64;  // rows a record builder takes at a time
constexpr size_t kMinBuilderRows = 256;  // rows a batch has for each builder, at least
constexpr size_t kRing = 6;         // batches of records in flight: built ahead, or appending

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
  // Up to `helpers` threads besides the caller's, as many as the system gives; each first
  // runs `on_start` (its priority).
  BuildCrew(size_t helpers, void (*on_start)()) {
    // Jobs are shared out in chunks: a refused helper's rows go to the others.
    start_threads(threads_, helpers, [this, on_start](size_t i) {
      return [this, h = i + 1, on_start] {
        on_start();
        serve(h);
      };
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

  // Runs job(1) .. job(n) on n helpers (fewer if fewer were started) while the caller goes
  // on; finish() waits for them and rethrows what a job threw (std::bad_alloc).
  void start(size_t n, std::function<void(size_t)> job) {
    n = std::min(n, threads_.size());
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

// No raw identifier reaches the store while "same phone" links survive (equal values, equal
// hashes).
TextReplacements pseudonyms(const check::TypedRuleset& rules, const data::Table& cases,
                            const Interner& interner, const std::string& key, int threads) {
  std::vector<bool> personal(interner.size(), false);
  for (size_t c = 0; c < rules.cases.columns.size(); ++c) {
    const ColumnDecl& decl = rules.cases.columns[c];
    const data::Column& col = cases.columns[c];
    if (!decl.personal || !col.loaded) continue;
    if (decl.type.kind == TypeKind::Text) {
      for (size_t r = 0; r < cases.rows; ++r)
        if (col.valid(r)) personal[col.text(r)] = true;
    } else if (decl.type.kind == TypeKind::Set) {
      for (uint32_t id : col.set_pool()) personal[id] = true;
    }
  }
  TextReplacements out(personal, kPseudonymWidth);
  // One HMAC a personal text, ~0.25 µs: 0.3 s for the 1.2 million of 1M cases, done before
  // the first decision is recorded, so shared out over the cores in runs of ids (each id's
  // bytes are its own: TextReplacements::set).
  constexpr uint32_t kRun = 4096;
  std::atomic<uint32_t> next{0};
  const auto n = static_cast<uint32_t>(interner.size());
  auto work = [&] {
    audit::Hmac hmac(key);
    std::string pseudonym = "hmac:";
    for (uint32_t first = next.fetch_add(kRun); first < n; first = next.fetch_add(kRun)) {
      const uint32_t last = std::min(n, first + kRun);
      for (uint32_t id = first; id < last; ++id) {
        if (!personal[id]) continue;
        pseudonym.replace(5, std::string::npos, hmac.hex(interner.text(id)), 0, 16);
        out.set(id, pseudonym);
      }
    }
  };
  const size_t helpers =
      std::min<size_t>(static_cast<size_t>(eval::resolve_threads(threads)), n / kRun + 1) - 1;
  share_out(helpers, work);
  return out;
}

Result<eval::Decisions> record_decisions(audit::Store& store, int64_t run_id,
                                         const DecidedRun& run, const RecordOptions& options) {
  const check::TypedRuleset& rules = run.rules;
  const render::DecisionEncoder encoder(rules);
  std::vector<uint64_t> done = store.already_decided(run_id);
  // The builders write each case's decision from its detail. The cases a resumed run
  // already holds are not explained again, so only then is every case decided first
  // (evaluating 1M cases: ~0.2 s with both cores, before the first decision is stored).
  eval::Decisions d = done.empty() ? run.evaluator.undecided()
                                   : run.evaluator.evaluate_all(options.threads);
  // The chain hashes are computed by the building thread as each batch is built, so that
  // the appending thread only inserts (docs/decisions.md, "Decisions are sealed ahead").
  auto sealer = store.decision_sealer(run_id);
  if (!sealer) return sealer.error();
  std::vector<bool> skip(d.cases, false);
  for (uint64_t i : done)
    if (i < d.cases) skip[i] = true;

  TextReplacements hidden;
  TextView texts = run.interner;
  if (!options.pseudonymise_key.empty()) {
    hidden = pseudonyms(rules, run.cases, run.interner, options.pseudonymise_key, options.threads);
    texts = TextView(run.interner, hidden);
  }
  // Fills `rec` in place: records are reused batch after batch, so that building one
  // allocates nothing once their strings have grown.
  auto fill_record = [&](size_t r, eval::CaseExplainer& explainer, audit::DecisionRecord& rec) {
    const eval::CaseDetail& detail = explainer.explain(r);
    d.take(detail);
    rec.input_index = r;
    rec.case_key = render::case_key(rules, run.cases, run.interner, r);
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
    encoder.values_json(run.cases, texts, detail, rec.detail_json);
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
  const size_t threads = std::min(static_cast<size_t>(eval::resolve_threads(options.threads)),
                                  kBatch / kMinBuilderRows + 1);
  std::vector<std::unique_ptr<eval::CaseExplainer>> explainers;
  for (size_t w = 0; w < threads; ++w)
    explainers.push_back(std::make_unique<eval::CaseExplainer>(run.evaluator));
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
        for (size_t i = first; i < last; ++i) {
          // The texts two rows ahead, in two steps (DecisionEncoder::prefetch_fields).
          if (i + 2 < last) encoder.prefetch_fields(run.cases, texts, rows[i + 2], 0);
          if (i + 1 < last) encoder.prefetch_fields(run.cases, texts, rows[i + 1], 1);
          fill_record(rows[i], *explainers[w], out[i]);
        }
      }
    };
    crew->start(workers - 1, work);
    try {
      meanwhile();
      work(0);
    } catch (...) {  // out of memory: the builders finish their rows before this unwinds
      crew->finish();
      throw;
    }
    crew->finish();
  };
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
  // Appends batch k, built and sealed.
  auto append = [&](size_t k) -> Status {
    const std::vector<audit::DecisionRecord>& batch = ring[k % kRing];
    if (batch.empty()) return ok_status();
    return store.append_decisions(run_id, batch);
  };
  auto report = [&](size_t k) {
    if (options.progress) options.progress(std::min((k + 1) * kBatch, d.cases), d.cases);
  };
  std::thread builder = try_start_thread([&] {
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
  if (!builder.joinable()) {
    // No thread to be had for building (a limit on processes or memory): each batch is built,
    // sealed and appended in turn on this one, the same records in the same order.
    crew = std::make_unique<BuildCrew>(threads - 1, yield_to_appender);
    for (size_t k = 0; k < n_batches; ++k) {
      build(k * kBatch, std::min((k + 1) * kBatch, d.cases), ring[k % kRing], [] {});
      sealer->seal(ring[k % kRing]);
      if (auto st = append(k); !st) return st.error();
      report(k);
    }
    return d;
  }
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
      if (auto st = append(k); !st) {
        stop_builder();
        return st.error();
      }
      {
        std::lock_guard lock(m);
        appended = k + 1;
      }
      cv.notify_all();
      report(k);
    }
  } catch (...) {  // out of memory while appending: stop the builder before unwinding past it
    stop_builder();
    throw;
  }
  stop_builder();
  if (failure) std::rethrow_exception(failure);
  return d;
}

}  // namespace crible::review
