// engine/eval: builds the aggregate indexes over the loaded cases and tables, then decides
// every case: criteria (pass/fail/unknown), signals (fired or not, with why), scores and the
// disposition. Output is indexed by input row, so it never depends on the thread count.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/intern.h"
#include "base/result.h"
#include "base/value.h"
#include "check/typed_ruleset.h"
#include "data/data.h"
#include "plan/plan.h"

namespace crible::eval {

enum class CriterionOutcome : uint8_t { Pass = 0, Fail = 1, Unknown = 2 };

// An allocator whose resize() leaves new elements uninitialised: evaluate_all's workers
// write every element of the results, so zeroing them first on one thread would only add a
// pass over ~30 MB at 1M cases, each page's first touch (the kernel clearing it) on that one
// thread while the other waits, instead of spread over the workers that write them.
template <class T>
struct UninitialisedAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitialisedAllocator<U>;
  };
  UninitialisedAllocator() = default;
  template <class U>
  UninitialisedAllocator(const UninitialisedAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
template <class T>
using ResultColumn = std::vector<T, UninitialisedAllocator<T>>;

struct CaseDetail;

// Compact per-case results for a whole run: enough for CSV output and summaries.
struct Decisions {
  size_t cases = 0;
  size_t n_scores = 0, n_criteria = 0, n_signals = 0;
  ResultColumn<uint8_t> disposition;  // index into rules.disposition
  ResultColumn<double> scores;        // row-major: cases x n_scores
  ResultColumn<uint8_t> criteria;     // cases x n_criteria, CriterionOutcome
  ResultColumn<uint8_t> fired;        // cases x n_signals, 0/1

  // Writes at detail.row what evaluate_all writes there: how review, which explains every
  // case anyway, decides without evaluating all cases first. Rows apart may be written from
  // different threads at once.
  void take(const CaseDetail& detail);
};

struct EvidenceItem {
  // The rule's name for it, in the ruleset (which outlives every detail): a view, since
  // review fills some forty of these per case.
  std::string_view name;
  Value value;
  TypeKind type = TypeKind::Error;
};

struct CriterionFinding {
  CriterionOutcome outcome = CriterionOutcome::Unknown;
  int32_t decided_by = -1;  // clause index whose condition was true; -1 = none was true
  std::vector<EvidenceItem> evidence;
  std::vector<std::string> missing;  // evidence names whose value was missing
};

struct SignalFinding {
  bool fired = false;
  bool unknown = false;  // the condition could not be decided for lack of data
  std::vector<EvidenceItem> evidence;
  std::vector<std::string> missing;
};

struct ScoreTermFinding {
  Truth truth = Truth::False;
};

struct CaseDetail {
  size_t row = 0;
  std::vector<CriterionFinding> criteria;
  std::vector<SignalFinding> signals;
  std::vector<double> scores;
  std::vector<std::vector<ScoreTermFinding>> score_terms;  // per Terms score
  int32_t disposition = -1;
  std::vector<int32_t> skipped_unknown;  // disposition lines skipped because unknown
  // Other cases an aggregate linked to this one (by row), per signal that fired, at most 10
  // each (empty for a signal that did not fire).
  std::vector<std::vector<size_t>> linked;
  // The elements of set-valued evidence (a Value points at them). Owned by the detail, and
  // shared by its copies, so a detail stays valid on its own and `explain` writes to nothing
  // shared: review explains cases on several threads at once.
  std::shared_ptr<std::deque<std::vector<uint32_t>>> set_storage =
      std::make_shared<std::deque<std::vector<uint32_t>>>();
};

class Evaluator {
 public:
  // `tables` parallel to rules.tables. The plan, cases and tables must outlive the evaluator.
  static Result<std::unique_ptr<Evaluator>> prepare(const plan::Plan& plan, const data::Table& cases,
                                                    const std::vector<const data::Table*>& tables,
                                                    int threads);
  ~Evaluator();

  Decisions evaluate_all(int threads) const;
  // Sized for every case, with nothing decided: each row's values are unset until written
  // (Decisions::take), so every row must be.
  Decisions undecided() const;
  CaseDetail explain(size_t row) const;

 private:
  friend class CaseExplainer;
  struct Impl;
  explicit Evaluator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Explains case after case on one thread, as `crible review` does for every case, keeping
// its buffers from one case to the next: after the first few cases, explaining one
// allocates nothing. Gives the same detail as Evaluator::explain, in any order of asking;
// cases asked for in increasing order are decided 64 at a time by the batch evaluation and
// read from its buffers, at about half the cost of explain(). One per thread.
class CaseExplainer {
 public:
  explicit CaseExplainer(const Evaluator& evaluator);
  ~CaseExplainer();
  CaseExplainer(const CaseExplainer&) = delete;
  CaseExplainer& operator=(const CaseExplainer&) = delete;

  // Valid until the next call (or the explainer's end).
  const CaseDetail& explain(size_t row);
  // Whether the ruleset lets it read decided batches rather than walk every case (see
  // eval.cpp, plan_explaining): review's speed depends on it.
  bool reads_batches() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The most threads the engine runs: more only cost memory (scratch for each) and thread
// starts, and at some thousands starting them fails. The command line refuses more.
constexpr int kMaxThreads = 256;

// Threads to use for N (0 = all cores), at most kMaxThreads.
int resolve_threads(int requested);

}  // namespace crible::eval
