// Output sinks, progress and the run summary.
#include "cli/output.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "render/render.h"

namespace crible::cli {

namespace {

// A temporary file being written is removed when the process is interrupted (Ctrl-C, a
// terminal closed, `kill`, the file size limit), not only when a write fails: a stray
// FILE.tmp-XXXXXX of a million decisions beside the output would be litter nobody named.
// (SIGKILL cannot be caught: such a temporary stays.) The handler may run on any thread at
// any moment, so it only reads pointers, published atomically, to paths in static slots that
// are written once and never reused (a process makes one or two temporaries).
constexpr size_t kTempSlots = 8;
char temp_path_bytes[kTempSlots][PATH_MAX];
std::atomic<const char*> temp_paths[kTempSlots];
std::atomic<size_t> temp_slots_used{0};
constexpr int kInterrupts[] = {SIGINT, SIGTERM, SIGHUP, SIGXFSZ};

extern "C" void remove_temporaries(int sig) {
  for (auto& slot : temp_paths)
    if (const char* path = slot.load()) ::unlink(path);
  // Then as if not caught: the process ends by the signal, its exit status says so.
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// Returns the slot, or kTempSlots when none is left or the path does not fit one (the
// temporary is then only removed on failure or destruction, as before).
size_t register_temporary(const std::string& path) {
  if (path.size() >= PATH_MAX) return kTempSlots;
  const size_t slot = temp_slots_used.fetch_add(1);
  if (slot >= kTempSlots) return kTempSlots;
  if (slot == 0) {
    for (int sig : kInterrupts) {
      struct sigaction now {}, before {};
      if (sigaction(sig, nullptr, &before) != 0 || before.sa_handler == SIG_IGN) continue;
      now.sa_handler = remove_temporaries;
      sigemptyset(&now.sa_mask);
      sigaction(sig, &now, nullptr);
    }
  }
  std::memcpy(temp_path_bytes[slot], path.c_str(), path.size() + 1);
  temp_paths[slot].store(temp_path_bytes[slot]);
  return slot;
}

void unregister_temporary(size_t slot) {
  if (slot < kTempSlots) temp_paths[slot].store(nullptr);  // the slot is not reused
}

}  // namespace

std::unique_ptr<Sink> Sink::open(const std::string& path, bool whole) {
  auto s = std::unique_ptr<Sink>(new Sink());
  s->path_ = path;
  struct stat st;
  const bool exists = lstat(path.c_str(), &st) == 0;
  const bool regular_or_new = exists ? S_ISREG(st.st_mode) : errno == ENOENT;
  if (path == "-") {
    s->f_ = stdout;
  } else if (whole && regular_or_new) {
    // A file that exists but may not be written stays so: the rename would replace it.
    if (exists && access(path.c_str(), W_OK) != 0) {
      std::cerr << fmt::format("error: cannot write {}: {}\n", path, std::strerror(errno));
      return nullptr;
    }
    // In the same directory, so that the rename replaces the file in one step.
    s->temp_ = path + ".tmp-XXXXXX";
    const int fd = mkstemp(s->temp_.data());
    if (fd >= 0) s->temp_slot_ = register_temporary(s->temp_);
    if (fd < 0) {
      // The file itself may be writable in a directory that is not: say which is refused.
      std::cerr << fmt::format(
          "error: cannot write {}: cannot create the temporary file it is written to first "
          "({}.tmp-XXXXXX): {}\n",
          path, path, std::strerror(errno));
      return nullptr;
    }
    // The previous file's owner first (root replacing a user's decisions file would leave
    // them a file they no longer own; only root may give a file away, and a user replacing a
    // file they may write but do not own becomes its owner, as with `sed -i`), then its mode:
    // a change of owner may clear set-id bits.
    if (exists && geteuid() == 0 && (st.st_uid != 0 || st.st_gid != 0) &&
        fchown(fd, st.st_uid, st.st_gid) != 0) {
      std::cerr << fmt::format("warning: {} is now owned by root: {}\n", path, std::strerror(errno));
    }
    // mkstemp makes the file private (0600); the finished file gets the mode writing through
    // fopen would leave: the previous file's, or the umask's for a new one.
    const mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, exists ? st.st_mode & 07777 : 0666 & ~mask);
    s->f_ = fdopen(fd, "wb");
    if (!s->f_) {
      std::cerr << fmt::format("error: cannot write {}: {}\n", path, std::strerror(errno));
      ::close(fd);
      std::remove(s->temp_.c_str());
      unregister_temporary(s->temp_slot_);
      return nullptr;
    }
    s->owned_ = true;
  } else {
    s->f_ = std::fopen(path.c_str(), "wb");
    if (!s->f_) {
      std::cerr << fmt::format("error: cannot write {}: {}\n", path, std::strerror(errno));
      return nullptr;
    }
    s->owned_ = true;
  }
  s->buffer_.reserve(1 << 20);
  return s;
}

Sink::~Sink() {
  if (!temp_.empty()) {
    // Not closed: the output is incomplete. The temporary goes; the previous file stays.
    if (f_) std::fclose(f_);
    std::remove(temp_.c_str());
    unregister_temporary(temp_slot_);
    return;
  }
  if (f_) close();
}

void Sink::flush() {
  if (!buffer_.empty() && !failed_) {
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), f_) != buffer_.size()) failed_ = true;
  }
  buffer_.clear();
}

void Sink::write(const std::string& s) {
  buffer_ += s;
  if (buffer_.size() >= (1 << 20)) flush();
}

bool Sink::close() {
  if (!f_) return !failed_;
  flush();
  if (std::fflush(f_) != 0) failed_ = true;
  if (owned_ && std::fclose(f_) != 0) failed_ = true;
  f_ = nullptr;
  if (failed_) std::cerr << fmt::format("error: could not write all of {}: {}\n", path_, std::strerror(errno));
  if (!temp_.empty()) {
    if (!failed_ && std::rename(temp_.c_str(), path_.c_str()) != 0) {
      std::cerr << fmt::format("error: cannot write {}: {}\n", path_, std::strerror(errno));
      failed_ = true;
    }
    if (failed_) std::remove(temp_.c_str());
    unregister_temporary(temp_slot_);
    temp_.clear();
  }
  return !failed_;
}

Progress::Progress(bool quiet) { enabled_ = !quiet && isatty(2); }

void Progress::phase(const std::string& name) {
  if (!enabled_) return;
  std::cerr << "\r\033[K" << name << "..." << std::flush;
}

void Progress::count(const std::string& name, size_t done, size_t total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (name != counting_) {
    counting_ = name;
    counting_since_ = now;
    drawn_at_ = {};
  } else if (done < total && now - drawn_at_ < std::chrono::milliseconds(200)) {
    return;
  }
  drawn_at_ = now;
  const double seconds = std::chrono::duration<double>(now - counting_since_).count();
  std::string line = fmt::format("{} {}/{} ({}%)", name, done, total, total ? done * 100 / total : 100);
  if (seconds > 0.5 && done > 0) {
    const double rate = static_cast<double>(done) / seconds;
    line += fmt::format(", {:.0f} cases/s, ETA {:.0f} s", rate, static_cast<double>(total - done) / rate);
  }
  std::cerr << "\r\033[K" << line << std::flush;
}

void Progress::done() {
  if (!enabled_) return;
  std::cerr << "\r\033[K" << std::flush;
}

RunSummary summarise(const check::TypedRuleset& rules, const Loaded& loaded,
                     const eval::Decisions& d, double seconds) {
  RunSummary s;
  uint64_t rejected = loaded.cases.rejects.size();
  s.plain = fmt::format("read {}, decided {}, rejected {}\n", loaded.cases.read, d.cases, rejected);
  std::vector<size_t> per(rules.disposition.size(), 0);
  for (uint8_t x : d.disposition) ++per[x];
  nlohmann::ordered_json j;
  j["read"] = loaded.cases.read;
  j["decided"] = d.cases;
  j["rejected"] = rejected;
  // Table rows that were rejected change what the aggregates saw: say so beside the case count
  // (cases still add up on their own: read = decided + rejected).
  nlohmann::ordered_json tables = nlohmann::ordered_json::object();
  for (size_t t = 0; t < loaded.tables.size(); ++t) {
    const data::Table& table = loaded.tables[t];
    if (table.rejects.empty()) continue;
    const std::string& name = t < loaded.table_paths.size() ? loaded.table_paths[t].name : table.name;
    s.plain += fmt::format("table {}: read {}, loaded {}, rejected {}\n", name, table.read, table.rows,
                           table.rejects.size());
    tables[name] = {{"read", table.read}, {"loaded", table.rows}, {"rejected", table.rejects.size()}};
  }
  if (!tables.empty()) j["tables"] = tables;
  nlohmann::ordered_json disp = nlohmann::ordered_json::object();
  std::string line = "dispositions:";
  for (size_t i = 0; i < per.size(); ++i) {
    const std::string& name = rules.disposition[i].outcome;
    if (!disp.contains(name)) disp[name] = 0;
    disp[name] = disp[name].get<size_t>() + per[i];
  }
  for (auto& [name, count] : disp.items()) line += fmt::format(" {} {}", name, count.get<size_t>());
  s.plain += line + "\n";
  j["dispositions"] = disp;
  // One pass over the outcomes in memory order (they are stored case by case), instead of
  // one strided pass per rule.
  std::vector<size_t> fails(d.n_criteria, 0), unknowns(d.n_criteria, 0), fireds(d.n_signals, 0);
  for (size_t r = 0; r < d.cases; ++r) {
    const uint8_t* o = d.criteria.data() + r * d.n_criteria;
    for (size_t i = 0; i < d.n_criteria; ++i) {
      fails[i] += o[i] == static_cast<uint8_t>(eval::CriterionOutcome::Fail);
      unknowns[i] += o[i] == static_cast<uint8_t>(eval::CriterionOutcome::Unknown);
    }
    const uint8_t* f = d.fired.data() + r * d.n_signals;
    for (size_t i = 0; i < d.n_signals; ++i) fireds[i] += f[i];
  }
  nlohmann::ordered_json crit = nlohmann::ordered_json::object();
  std::string cline = "criteria (fail/unknown):";
  for (size_t i = 0; i < d.n_criteria; ++i) {
    const size_t fail = fails[i], unknown = unknowns[i];
    crit[rules.criteria[i].id] = {{"fail", fail}, {"unknown", unknown}};
    cline += fmt::format(" {} {}/{}", rules.criteria[i].id, fail, unknown);
  }
  s.plain += cline + "\n";
  j["criteria"] = crit;
  nlohmann::ordered_json sig = nlohmann::ordered_json::object();
  std::string sline = "signals fired:";
  for (size_t i = 0; i < d.n_signals; ++i) {
    const size_t fired = fireds[i];
    sig[rules.signals[i].id] = fired;
    sline += fmt::format(" {} {}", rules.signals[i].id, fired);
  }
  s.plain += sline + "\n";
  j["signals"] = sig;
  j["seconds"] = seconds;
  s.timing = fmt::format("time: {:.3f} s ({:.0f} cases/s)\n", seconds,
                         seconds > 0 ? static_cast<double>(d.cases) / seconds : 0.0);
  s.json = j.dump();
  return s;
}

}  // namespace crible::cli
