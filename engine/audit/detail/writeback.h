// Starts the disk on what a bulk append has written, ahead of SQLite's fsyncs.
//
// Why: in WAL mode with synchronous = NORMAL, SQLite writes a review's pages into the page
// cache and fsyncs at each checkpoint, first the WAL, then the database file once the pages
// are copied into it. Until then the kernel writes nothing back (its background threshold
// is a share of RAM, gigabytes here), so each fsync waited for some 16 MB at once: 0.44 s
// of a 1.1 s audit floor for 100,000 decisions. Asking for the write-back every few
// milliseconds (sync_file_range, which starts it and does not wait) lets the disk work
// while crible computes, and the fsyncs find little left: 0.44 -> 0.22 s. Durability is
// SQLite's as before: this only moves when the bytes reach the disk, never whether SQLite
// waits for them.
//
// The files are reached through the connection's own descriptors (SQLite's unix VFS), not
// descriptors of our own: closing a second descriptor of a database file drops the
// process's POSIX locks on it, which SQLite relies on. A descriptor is used only when it is
// verified to be the named file (same device and inode); anywhere else (another VFS, an
// unforeseen layout) nothing is done and SQLite writes as it always did.
#pragma once
#include <sqlite3.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace crible::audit::detail {

class Writeback {
 public:
  // For the connection's database file at `path` and its WAL, if open. Must be destroyed
  // before the connection is closed.
  Writeback(sqlite3* db, const std::string& path);
  ~Writeback();
  Writeback(const Writeback&) = delete;
  Writeback& operator=(const Writeback&) = delete;

  // The descriptors it writes back (for tests): empty when none could be verified.
  const std::vector<int>& descriptors() const { return fds_; }

 private:
  std::vector<int> fds_;
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace crible::audit::detail
