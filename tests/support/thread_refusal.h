// While a ThreadRefusal lives, this process cannot start a thread: the system refuses it as it
// does under `ulimit -u` or `ulimit -v` (std::thread throws std::system_error), which is how
// the code that starts threads is tested to go on without (engine/base/threads.h).
//
// How: every new thread's stack is made 1 GiB (the default attributes std::thread uses), and
// the address space is capped 256 MiB above what the process has mapped now, so no stack
// fits, while the test's own allocations do. A bigger default stack also keeps glibc from
// reusing the cached stacks of threads that ended (8 MiB), which would start without any new
// mapping. The limit on processes (RLIMIT_NPROC) would say the same more plainly, but root,
// whom CI runs as, is not held to it.
//
// Not under AddressSanitizer, which maps its shadow memory as it goes and fails under such a
// cap itself: `available()` is false there and the tests that need a refusal say so and pass.
#pragma once
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

#include "base/sanitizers.h"

namespace crible::testing {

class ThreadRefusal {
 public:
  static bool available() {
#if defined(CRIBLE_ASAN)
    return false;
#else
    return true;
#endif
  }

  ThreadRefusal() {
    if (pthread_getattr_default_np(&saved_attr_) != 0) throw std::runtime_error("pthread_getattr_default_np");
    pthread_attr_t big;
    pthread_attr_init(&big);
    pthread_attr_setstacksize(&big, size_t{1} << 30);
    const int set = pthread_setattr_default_np(&big);
    pthread_attr_destroy(&big);
    if (set != 0) throw std::runtime_error("pthread_setattr_default_np");
    if (getrlimit(RLIMIT_AS, &saved_limit_) != 0) throw std::runtime_error("getrlimit");
    struct rlimit capped = saved_limit_;
    capped.rlim_cur = mapped_bytes() + (rlim_t{256} << 20);
    if (setrlimit(RLIMIT_AS, &capped) != 0) throw std::runtime_error("setrlimit");
  }
  ~ThreadRefusal() {
    setrlimit(RLIMIT_AS, &saved_limit_);
    pthread_setattr_default_np(&saved_attr_);
    pthread_attr_destroy(&saved_attr_);
  }
  ThreadRefusal(const ThreadRefusal&) = delete;
  ThreadRefusal& operator=(const ThreadRefusal&) = delete;

 private:
  static rlim_t mapped_bytes() {  // the first field of /proc/self/statm: pages mapped
    FILE* f = std::fopen("/proc/self/statm", "r");
    if (f == nullptr) throw std::runtime_error("/proc/self/statm");
    unsigned long pages = 0;
    const int read = std::fscanf(f, "%lu", &pages);
    std::fclose(f);
    if (read != 1) throw std::runtime_error("/proc/self/statm");
    return static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE));
  }

  pthread_attr_t saved_attr_;
  struct rlimit saved_limit_ {};
};

}  // namespace crible::testing
