// Threads that the system may refuse.
//
// Starting a thread throws std::system_error under a limit on processes or on memory
// (`ulimit -u`, `ulimit -v`: the new thread's stack is refused). Uncaught, in a thread or
// beside a std::thread still joinable, that ends crible with std::terminate, an abort and no
// message. Every place crible starts threads either shares work out through a queue the work
// keeps itself (an atomic counter of the next chunk, say), so that fewer threads do the same
// work to the same bytes, or has the other thread do work it could do itself before or after
// its own. So a thread refused is done without, and the run goes on on the threads it has;
// `refused_threads()` tells the command, which warns.
#pragma once
#include <atomic>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace crible {

namespace detail {
inline std::atomic<size_t> refused_thread_count{0};
}

// How many threads this process was refused so far.
inline size_t refused_threads() { return detail::refused_thread_count.load(std::memory_order_relaxed); }
inline void count_refused_thread() {
  detail::refused_thread_count.fetch_add(1, std::memory_order_relaxed);
}

// `body` on a thread of its own, or an empty std::thread (not joinable) when none is given.
template <class Body>
std::thread try_start_thread(Body&& body) {
  try {
    return std::thread(std::forward<Body>(body));
  } catch (const std::system_error&) {
  } catch (const std::bad_alloc&) {  // the thread's own state, allocated before it starts
  }
  count_refused_thread();
  return std::thread();
}

// Starts up to `n` threads into `started`, thread i running `body_of(i)`, and stops at the
// first the system refuses: the others would be refused as well. Returns how many started.
// The callers share their work through a queue, so those started do a refused one's share.
template <class BodyOf>
size_t start_threads(std::vector<std::thread>& started, size_t n, const BodyOf& body_of) {
  started.reserve(started.size() + n);  // so that keeping them allocates nothing
  for (size_t i = 0; i < n; ++i) {
    std::thread t = try_start_thread(body_of(i));
    if (!t.joinable()) return i;
    started.push_back(std::move(t));
  }
  return n;
}

// Runs `work()` on the calling thread and on up to `helpers` more. `work` must take its share
// from a queue of its own, so that it does everything whether it runs once or many times at
// once. Returns once every run of it has returned; the first exception any threw
// (std::bad_alloc) is rethrown then.
template <class Work>
void share_out(size_t helpers, const Work& work) {
  std::mutex m;
  std::exception_ptr failure;
  auto guarded = [&] {
    try {
      work();
    } catch (...) {
      std::lock_guard lock(m);
      if (!failure) failure = std::current_exception();
    }
  };
  std::vector<std::thread> started;
  start_threads(started, helpers, [&](size_t) { return guarded; });
  guarded();
  for (std::thread& t : started) t.join();
  if (failure) std::rethrow_exception(failure);
}

// Runs `side` on another thread while `here` runs on this one, or `side` and then `here` on
// this one when no thread is given; the two must not depend on each other. The first
// exception either threw is rethrown once both are done.
template <class Side, class Here>
void run_beside(const Side& side, const Here& here) {
  std::exception_ptr side_failure, here_failure;
  std::thread t = try_start_thread([&] {
    try {
      side();
    } catch (...) {
      side_failure = std::current_exception();
    }
  });
  if (!t.joinable()) {
    side();
    here();
    return;
  }
  try {
    here();
  } catch (...) {
    here_failure = std::current_exception();
  }
  t.join();
  if (here_failure) std::rethrow_exception(here_failure);
  if (side_failure) std::rethrow_exception(side_failure);
}

// A T of the calling thread's own, made on its first call there and kept for the next ones
// (scratch buffers that would otherwise regrow for every case), distinct for each `Tag`.
// Not `thread_local T`: glibc registers such an object's destructor with an allocation it
// cannot fail, and out of memory there ends the process ("Fatal glibc error: failed to
// register TLS destructor: out of memory", an abort: a review under a memory limit did). Here
// the object is made and kept with allocations that throw std::bad_alloc (exit code 5), and
// owned until the process exits; a thread that ends leaves its object unused.
template <class T, class Tag = void>
T& thread_scratch() {
  thread_local T* mine = nullptr;  // a plain pointer: nothing for glibc to register
  if (mine != nullptr) return *mine;
  static std::mutex m;
  static std::vector<std::unique_ptr<T>> made;
  auto fresh = std::make_unique<T>();
  std::lock_guard lock(m);
  made.push_back(std::move(fresh));  // on std::bad_alloc, `fresh` still owns it and frees it
  mine = made.back().get();
  return *mine;
}

}  // namespace crible
