#include "audit/detail/writeback.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>

#include "base/threads.h"

namespace crible::audit::detail {

namespace {

// How often the write-back is asked for: 2,500 decisions (one batch) take about this long.
constexpr auto kInterval = std::chrono::milliseconds(5);

// The head of SQLite's unixFile (os_unix.c), the same since SQLite 3.7: the methods, the VFS,
// the inode's lock record, then the descriptor.
struct UnixFileHead {
  const sqlite3_io_methods* methods;
  sqlite3_vfs* vfs;
  void* inode;
  int fd;
};

// The descriptor of one of the connection's files, if it verifiably is the file at `path`.
int verified_descriptor(sqlite3* db, int op, const std::string& path) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db, "main", op, &file) != SQLITE_OK || file == nullptr ||
      file->pMethods == nullptr)
    return -1;
  const int fd = reinterpret_cast<const UnixFileHead*>(file)->fd;
  struct stat open_file {}, named {};
  if (fd < 0 || ::fstat(fd, &open_file) != 0 || ::stat(path.c_str(), &named) != 0) return -1;
  if (open_file.st_dev != named.st_dev || open_file.st_ino != named.st_ino) return -1;
  return fd;
}

}  // namespace

Writeback::Writeback(sqlite3* db, const std::string& path) {
#ifdef SYNC_FILE_RANGE_WRITE
  sqlite3_vfs* vfs = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_VFS_POINTER, &vfs) != SQLITE_OK ||
      vfs == nullptr || vfs->zName == nullptr || std::strncmp(vfs->zName, "unix", 4) != 0)
    return;
  for (auto [op, file] : {std::pair{SQLITE_FCNTL_FILE_POINTER, path},
                          std::pair{SQLITE_FCNTL_JOURNAL_POINTER, path + "-wal"}}) {
    const int fd = verified_descriptor(db, op, file);
    if (fd >= 0) fds_.push_back(fd);
  }
  if (fds_.empty()) return;
  // Refused (base/threads.h), there is no head start: SQLite's fsyncs write it all.
  thread_ = try_start_thread([this] {
    std::unique_lock lock(m_);
    while (!cv_.wait_for(lock, kInterval, [this] { return stop_; })) {
      lock.unlock();
      // Failure only means no head start: SQLite's own fsync still writes everything.
      for (int fd : fds_) ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
      lock.lock();
    }
  });
#else
  (void)db;
  (void)path;
#endif
}

Writeback::~Writeback() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(m_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace crible::audit::detail
