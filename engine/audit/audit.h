// The audit store: SQLite, append-only, hash-chained. Every ruleset version, run, decision,
// override and erasure is a chained record: hash = SHA-256(previous hash || canonical bytes).
// A decision's personal detail (case fields read, evidence, reason texts) is kept beside the
// chain and committed to by its hash, so it can be erased later while the chain verifies.
// In: plain records built by the caller. Out: stored records, verification reports.
// Times are ISO 8601 UTC with seconds (2026-11-23T14:35:51Z). The environment variable
// CRIBLE_NOW, set to such a time, replaces the clock so that golden tests are byte-identical.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

struct evp_mac_ctx_st;  // OpenSSL's EVP_MAC_CTX, kept out of this header

namespace crible::audit {

inline constexpr int kSchemaVersion = 3;

struct RulesetVersion {
  std::string path;           // as given on the command line
  std::string source;         // full text
  std::string sha256;         // hex of source
  std::string crible_version;
};

struct InputFile {
  std::string role;    // "cases" or "table:NAME"
  std::string path;
  std::string sha256;  // hex of the file's bytes
};

struct RejectRecord {
  uint64_t line = 0;
  std::string column;
  std::string reason;
};

struct FindingRecord {
  std::string rule_id;     // "E1", "S4"
  std::string name;        // "CONSENT"
  std::string kind;        // "criterion" or "signal"
  std::string outcome;     // pass|fail|unknown  or  fired|not_fired
  double points = 0;       // signals: points when fired
};

struct RunStart {
  std::vector<std::pair<std::string, std::string>> params;  // name, value as text; sorted
  std::vector<InputFile> inputs;
  std::string as_of;       // the review date in force, for explanations
  std::string command;     // the command line, for the record
  // Identifies "the same command" for resume: hash of ruleset + params + input hashes.
  std::string fingerprint;
  // What every decision of the run has in common, stored once with the run instead of in each
  // decision. `findings`: the run's criteria and signals in order (outcome unused); every
  // decision must list the same ones, and only their outcomes are stored with it.
  // `detail_layout`: the static half of each decision's detail (render::DecisionEncoder).
  std::vector<FindingRecord> findings;
  std::string detail_layout;
};

struct DecisionRecord {
  uint64_t input_index = 0;   // position of the case in the input (0-based)
  std::string case_key;
  std::string disposition;
  std::string disposition_rule;  // which disposition line matched, e.g. "1: REFER_PROTECTION when ..."
  std::vector<std::pair<std::string, std::string>> scores;  // name, value as printed in CSV
  std::string fired;          // as in `crible eval` CSV
  // The outcome of every criterion and signal of the run, one letter each in the order of
  // RunStart::findings: p pass, f fail, u unknown (criteria), y fired, n not fired (signals).
  // This is what append_decisions stores; reading back fills `findings` from it too.
  std::string outcomes;
  std::vector<FindingRecord> findings;  // read back: the run's findings with their outcomes
  // Personal detail, kept beside the chain: the decision's own values (the case fields the
  // rules read, each finding's evidence values and rendered reason, linked case ids) as
  // render::DecisionEncoder writes them; the run's detail_layout gives them their names.
  // Never empty when appended (append_decisions refuses it): only an erasure empties it, so
  // read back, empty means erased.
  std::string detail_json;
  // SHA-256 of detail_json, hex: what the chained record commits to. Left empty, it is
  // computed by append_decisions, on the one thread that appends; hash_detail() (or
  // DecisionSealer::prepare) fills it beforehand, on the threads that build the records.
  // Read back: the stored value.
  std::string detail_hash;
  // The record's place in the chain, computed ahead of its append by a DecisionSealer, off
  // the appending thread: append_decisions stores `hash` as the record's chain hash when, and
  // only when, the chain's head is then exactly `seq - 1` with hash `prev` (it computes the
  // hash itself otherwise). `seq` 0: not sealed. A record changed after it was prepared would
  // be stored with a hash that does not match it, which `crible audit verify` reports:
  // prepare a record when it is final. `run_id` 0: not prepared, or unfit for the run.
  struct Seal {
    int64_t run_id = 0;
    int64_t seq = 0;
    std::array<unsigned char, 32> prev{}, hash{};
    std::string scores;  // the scores column (canonical JSON), as it will be stored
  } seal;
};

// Fills d.detail_hash from d.detail_json. Thread-safe (its own hashing context).
void hash_detail(DecisionRecord& d);

// Computes the chain hashes of a run's decisions ahead of their append, on other threads than
// the one appending (on the appending thread they were a sixth of its time). Made by
// Store::decision_sealer from the chain's head at that moment; it reads nothing from the
// store afterwards.
class DecisionSealer {
 public:
  DecisionSealer(DecisionSealer&&) noexcept;
  DecisionSealer& operator=(DecisionSealer&&) noexcept;
  ~DecisionSealer();

  // The part of sealing that does not depend on the chain: checks the record as
  // append_decisions would, fills its detail_hash if empty and its scores column. Safe on
  // any number of threads at once, each with its own records; meant to run right after a
  // record is built, while it is still in that core's cache.
  void prepare(DecisionRecord& d) const;
  // Chains prepared records in order, the first following the last record this sealer sealed
  // before (or the head it was made from). A record that append_decisions would refuse (or
  // was not prepared) is left unsealed, with all after it, for the append to report.
  // One thread at a time.
  void seal(std::vector<DecisionRecord>& batch);

 private:
  friend class Store;
  struct Impl;
  explicit DecisionSealer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct RunSummary {
  int64_t run_id = 0;
  int64_t ruleset_id = 0;
  std::string ruleset_sha256;
  // false: no ruleset record has the run's ruleset_id (deleted by hand; verify reports it),
  // and ruleset_sha256 is empty.
  bool ruleset_stored = true;
  std::string started_at, finished_at;  // ISO 8601 UTC; finished_at empty if incomplete
  uint64_t read = 0, decided = 0, rejected = 0;
  std::string head_hash;  // hash of the run's closing record: the chain head it left; "" while incomplete
  std::string as_of;
  std::string status;     // "complete" or "incomplete"
  std::string command;
  std::vector<InputFile> inputs;
  std::vector<RejectRecord> rejects;  // empty while incomplete
};

struct OverrideRecord {
  int64_t run_id = 0;
  int64_t decision_seq = 0;  // chain seq of the decision record it overrides
  std::string case_key;
  std::string disposition;   // the new disposition
  std::string previous;      // the disposition it overrides
  std::string by;
  std::string reason;
  std::string at;            // ISO 8601 UTC
};

struct StoredDecision {
  int64_t seq = 0;                   // chain seq of the decision record
  RunSummary run;
  RulesetVersion ruleset;
  std::vector<std::pair<std::string, std::string>> params;
  DecisionRecord decision;           // detail_json empty if erased
  std::string detail_layout;         // the run's, to read decision.detail_json with
  std::optional<std::string> erased; // "on AT by BY: REASON" when the detail was erased
  std::vector<OverrideRecord> overrides;  // in order
};

struct VerifyReport {
  bool intact = true;
  uint64_t records = 0;
  std::string first_broken;  // e.g. "decision #1234 (run 2, case AVR0000042): hash mismatch"
  std::string head_hash;     // recomputed hash of the last record when intact, to note down
  std::vector<std::string> warnings;  // e.g. a protective trigger was dropped; not a break
};

struct OpenOptions {
  bool create = true;  // false: a missing file is an Error instead of a new empty store
  // How long a writer waits for another process's write transaction before failing.
  int busy_timeout_ms = 10000;
};

class Store {
 public:
  // Opens or creates the store. A store written by a newer schema version is an Error.
  static Result<Store> open(const std::string& path, const OpenOptions& options = {});
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  // Starts a run (or finds the incomplete run with the same fingerprint to resume it: its
  // already stored decisions are kept and `already_decided` returns their input indexes).
  // An empty fingerprint never resumes. The ruleset's sha256 must be that of its source.
  Result<int64_t> begin_run(const RulesetVersion& ruleset, const RunStart& start);
  std::vector<uint64_t> already_decided(int64_t run_id);
  // Appends a batch in one transaction, in the given order. An input index already decided
  // in the run, or a finished run, is an Error and nothing of the batch is stored. Records
  // sealed from the chain's present head are stored with their seal's hash (see
  // DecisionRecord::seal); the others are hashed here.
  Status append_decisions(int64_t run_id, const std::vector<DecisionRecord>& batch);
  // A sealer for the run's next decisions, starting from the chain's head now.
  Result<DecisionSealer> decision_sealer(int64_t run_id);
  // `decided` counts the whole run (resumed parts included) and must equal the number of
  // decisions stored for it.
  Status finish_run(int64_t run_id, uint64_t read, uint64_t decided,
                    const std::vector<RejectRecord>& rejects);

  Result<std::vector<RunSummary>> runs();
  // The latest run that decided the case unless run_id is given.
  Result<StoredDecision> decision(const std::string& case_key, std::optional<int64_t> run_id);
  Result<std::vector<DecisionRecord>> decisions(int64_t run_id);  // input order
  // The run's RunStart::detail_layout as stored: opaque here, read by render (which wrote it),
  // e.g. for the score columns of a run that decided no case.
  Result<std::string> detail_layout(int64_t run_id);
  // The same, one at a time, without holding a run's decisions in memory (a million of them
  // would take gigabytes): `each` gets every decision of the run in input order, in a record
  // reused between calls, and stops the walk by returning an Error. With `brief`, the record
  // has only what `audit export` needs: input_index, case_key, disposition,
  // disposition_rule, scores, fired and outcomes (not findings, detail_json, detail_hash).
  Status for_each_decision(int64_t run_id,
                           const std::function<Status(const DecisionRecord&)>& each,
                           bool brief = false);
  Result<OverrideRecord> add_override(const std::string& case_key, std::optional<int64_t> run_id,
                                      const std::string& disposition, const std::string& by,
                                      const std::string& reason);
  // Erases the personal detail of every decision about the case; records who and why.
  // Returns how many decisions lost their detail; 0 (and nothing recorded) if all already had.
  // A case the store never decided is an Error.
  Result<uint64_t> erase(const std::string& case_key, const std::string& by,
                         const std::string& reason);
  Result<VerifyReport> verify();

 private:
  struct Impl;
  explicit Store(Impl* impl);
  Impl* impl_ = nullptr;
};

// libcrypto could not hash: it could not allocate (out of memory), or this installation of
// OpenSSL cannot compute SHA-256 at all (broken). Thrown rather than returned, since hashing
// sits inside every append and record built, on every thread; the CLI catches it once, in
// main (exit code 5, as for std::bad_alloc). Before, a failed allocation inside libcrypto
// went on with a null context and crashed (SIGSEGV) a review under a memory limit.
struct CryptoFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Sets libcrypto up (its default context and SHA-256) on this thread, now. OpenSSL 3.0 does it
// on first use, and when an allocation fails there it goes on with a lock it never made and
// crashes (SIGSEGV) instead of failing: a review under a memory limit did, hashing the cases
// file while the load took the memory. Called before a review takes any. Throws CryptoFailure.
void ready_crypto();

std::string sha256_hex(const std::string& bytes);
Result<std::string> sha256_file(const std::string& path);
// HMAC-SHA256 of value under key, hex; used to pseudonymise personal identifiers.
std::string hmac_sha256_hex(const std::string& key, const std::string& value);

// The same under one key for many values: the key is set up once, and each value then costs
// its own hashing only (a million phones: 0.27 s, where hmac_sha256_hex took 1.5 s). One
// object per thread. Throws CryptoFailure when libcrypto cannot compute it.
class Hmac {
 public:
  explicit Hmac(const std::string& key);
  ~Hmac();
  Hmac(const Hmac&) = delete;
  Hmac& operator=(const Hmac&) = delete;
  std::string hex(std::string_view value);

 private:
  evp_mac_ctx_st* ctx_ = nullptr;
};

}  // namespace crible::audit
