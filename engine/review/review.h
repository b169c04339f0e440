// Reviews and the store: recording every decision of a run, with its findings and evidence,
// in the audit store; and explaining a stored decision later, from the store alone.
//
// Recording: explaining, rendering and sealing each decision runs on every core while one
// thread appends, in input order, so the store's bytes do not depend on the thread count.
// The stage between the evaluator and the store: it explains each case (eval), renders the
// detail (render), and hands plain records to audit::Store, which knows nothing of the
// engine's types. `crible review` opens the store, begins the run, calls record_decisions
// and finishes the run.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "audit/audit.h"
#include "base/intern.h"
#include "base/result.h"
#include "check/typed_ruleset.h"
#include "data/data.h"
#include "eval/eval.h"

namespace crible::review {

// What a run decides from. All must outlive the call.
struct DecidedRun {
  const check::TypedRuleset& rules;
  const data::Table& cases;
  const Interner& interner;           // the texts of `cases`
  const eval::Evaluator& evaluator;   // prepared on `cases`: explains each case
};

struct RecordOptions {
  int threads = 0;  // as eval's --threads: 0 = all cores
  // HMAC-SHA256 key: texts of columns the schema marks personal are stored only as keyed
  // hashes ("hmac:" and 16 hex digits), so equal values still link. Empty: stored as read.
  std::string pseudonymise_key;
  // Called on the calling thread after each batch is appended: (cases done, cases in all).
  std::function<void(size_t, size_t)> progress;
};

// Appends to run `run_id` (begun with Store::begin_run) the decision of every case that the
// run does not already hold (Store::already_decided: a resumed run), in input order, in
// batched transactions, and returns the decisions of every case, as evaluate_all gives them
// (for the summary and --out). Each case is decided as it is explained, so that the first
// decisions are stored without waiting for all to be decided; only a resumed run decides
// all first, for the cases it does not explain. An error of the store stops it and is
// returned; std::bad_alloc from any thread is rethrown on the calling one once the others
// have stopped.
Result<eval::Decisions> record_decisions(audit::Store& store, int64_t run_id,
                                         const DecidedRun& run, const RecordOptions& options);

// The texts of a pseudonymised review: each text of a personal column of `cases` replaced
// by "hmac:" and the first 16 hex digits of its HMAC-SHA256 under `key`, each id keeping
// its place (equal texts, equal pseudonyms: links survive; two texts whose 64-bit prefixes
// met would read alike, not expected in practice). Computed on `threads` threads (as
// eval's --threads: 0 = all cores). Exposed for tests.
constexpr size_t kPseudonymWidth = 21;
TextReplacements pseudonyms(const check::TypedRuleset& rules, const data::Table& cases,
                            const Interner& interner, const std::string& key, int threads = 1);

// What `crible explain` prints about a decision as Store::decision returns it (its detail
// as stored: the values, named by its run's layout; empty when erased). Text, for a person:
// the disposition (and any override) and the line that decided it, the run, the ruleset,
// every criterion with its outcome and evidence or missing fields, the signals that fired
// with their reasons and linked cases, the scores with their breakdown, the fields read,
// erasure and overrides in order. JSON: the same as one object, pretty-printed, with a final
// newline. A detail or layout that does not fit (a damaged or edited store) is an Error that
// says what did not fit, never a crash.
enum class ExplanationFormat { Text, Json };
Result<std::string> explanation(const audit::StoredDecision& stored, ExplanationFormat format);

}  // namespace crible::review
