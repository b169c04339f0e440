// Output plumbing for run commands: a buffered sink (file or stdout), a progress bar on a
// terminal, and the end-of-run summary.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <future>
#include <memory>
#include <string>

#include "check/typed_ruleset.h"
#include "cli/commands.h"
#include "cli/compile.h"
#include "eval/eval.h"

namespace crible::cli {

class Sink {
 public:
  // "-" is stdout. Prints the error and returns null when the file cannot be opened.
  // `whole`: a regular file (or a new one) is written as a temporary file beside it, renamed
  // over it by close() only when everything reached it; a Sink destroyed without close(), or
  // whose close() fails, removes the temporary and leaves any previous file as it was. Other
  // paths (stdout, a device, a pipe, a symbolic link) are written directly. A signal that
  // ends the process (SIGINT, SIGTERM, SIGHUP, SIGXFSZ) removes the temporary too.
  static std::unique_ptr<Sink> open(const std::string& path, bool whole = false);
  ~Sink();
  void write(const std::string& s);
  bool close();  // false (after printing why) if anything failed to reach the file

 private:
  std::FILE* f_ = nullptr;
  bool owned_ = false;
  std::string path_;
  std::string temp_;  // `whole`: the temporary file written, until renamed to path_
  size_t temp_slot_ = SIZE_MAX;  // where temp_ is registered for removal on a signal
  std::string buffer_;
  bool failed_ = false;
  void flush();
};

// A one-line progress display on stderr, only when stderr is a terminal and not --quiet.
class Progress {
 public:
  explicit Progress(bool quiet);
  void phase(const std::string& name);
  // A phase that counts cases: "recording 120000/1000000 (12%), 15,400 cases/s, ETA 57 s",
  // redrawn at most a few times a second.
  void count(const std::string& name, size_t done, size_t total);
  void done();
  bool enabled() const { return enabled_; }

 private:
  bool enabled_ = false;
  std::string counting_;  // the counting phase under way, to time it from its start
  std::chrono::steady_clock::time_point counting_since_, drawn_at_;
};

struct RunSummary {
  std::string plain;  // deterministic lines
  std::string timing; // "time: 0.12 s (...)": only shown on a terminal
  std::string json;
  std::string text(bool terminal) const { return terminal ? plain + timing : plain; }
};

RunSummary summarise(const check::TypedRuleset& rules, const Loaded& loaded,
                     const eval::Decisions& d, double seconds);

// Decides every case and writes ruleset, run, decisions and rejects to the audit store
// (`crible review`); `decided` receives the decisions of every case. `cases_sha256`, when
// given, is the cases file's hash already under way (run_eval starts it beside the load);
// otherwise it is computed here.
int record_review(const Compiled& compiled, const Loaded& loaded, eval::Decisions& decided,
                  const EvalOptions& o, std::future<Result<std::string>>* cases_sha256 = nullptr);

}  // namespace crible::cli
