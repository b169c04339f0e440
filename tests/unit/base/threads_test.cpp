// base/threads.h: work shared out or run beside is all done, on the threads the system gives
// (none, under a ThreadRefusal), and what a thread throws is rethrown once all are joined.
#include "base/threads.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/thread_refusal.h"

namespace crible {
namespace {

using testing::ThreadRefusal;

// 1,000 chunks taken from one counter, as the engine's loops take theirs; each records that
// it was done and which threads ran the work.
struct SharedWork {
  static constexpr size_t kChunks = 1000;
  std::atomic<size_t> next{0};
  std::vector<std::atomic<int>> done = std::vector<std::atomic<int>>(kChunks);
  std::mutex m;
  std::set<std::thread::id> runners;
  size_t throw_at = kChunks;  // a chunk whose runner throws std::bad_alloc

  void operator()() {
    {
      std::lock_guard lock(m);
      runners.insert(std::this_thread::get_id());
    }
    for (size_t i = next++; i < kChunks; i = next++) {
      if (i == throw_at) throw std::bad_alloc();
      done[i]++;
    }
  }
  bool each_done_once() const {
    return std::all_of(done.begin(), done.end(), [](const std::atomic<int>& d) { return d == 1; });
  }
};

BOOST_AUTO_TEST_CASE(share_out_runs_the_work_on_helpers_and_the_caller) {
  SharedWork work;
  const size_t refused = refused_threads();
  share_out(3, [&] {
    work();
    // Each run waits until it has seen four runners, or a while: the four overlap.
    for (int spin = 0; spin < 2000; ++spin) {
      {
        std::lock_guard lock(work.m);
        if (work.runners.size() == 4) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  BOOST_TEST(work.each_done_once());
  BOOST_TEST(work.runners.size() == 4u);
  BOOST_TEST(work.runners.count(std::this_thread::get_id()) == 1u);
  BOOST_TEST(refused_threads() == refused);
}

BOOST_AUTO_TEST_CASE(share_out_does_everything_on_the_caller_when_threads_are_refused) {
  if (!ThreadRefusal::available()) return;  // see support/thread_refusal.h
  SharedWork work;
  const size_t refused = refused_threads();
  {
    ThreadRefusal no_threads;
    share_out(3, std::ref(work));
  }
  BOOST_TEST(work.each_done_once());
  BOOST_TEST(work.runners.size() == 1u);
  BOOST_TEST(work.runners.count(std::this_thread::get_id()) == 1u);
  // One refusal is enough to stop asking: the others would be refused as well.
  BOOST_TEST(refused_threads() == refused + 1);
}

BOOST_AUTO_TEST_CASE(try_start_thread_gives_an_empty_thread_when_refused) {
  if (!ThreadRefusal::available()) return;
  bool ran = false;
  std::thread t;
  {
    ThreadRefusal no_threads;
    t = try_start_thread([&] { ran = true; });
  }
  BOOST_TEST(!t.joinable());
  BOOST_TEST(!ran);
  std::thread given = try_start_thread([&] { ran = true; });
  BOOST_REQUIRE(given.joinable());
  given.join();
  BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(share_out_rethrows_what_a_run_threw_once_all_returned) {
  for (bool refuse : {false, true}) {
    if (refuse && !ThreadRefusal::available()) continue;
    BOOST_TEST_CONTEXT((refuse ? "refused" : "given")) {
      SharedWork work;
      work.throw_at = 500;
      std::unique_ptr<ThreadRefusal> no_threads;
      if (refuse) no_threads = std::make_unique<ThreadRefusal>();
      BOOST_CHECK_THROW(share_out(3, std::ref(work)), std::bad_alloc);
      no_threads.reset();
      // The run that threw stopped; whoever ran with it took the rest, or nobody did.
      size_t done = 0;
      for (const auto& d : work.done) done += static_cast<size_t>(d.load());
      BOOST_TEST(done <= SharedWork::kChunks - 1);
      BOOST_TEST(work.done[500] == 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(run_beside_runs_both_with_or_without_a_thread) {
  for (bool refuse : {false, true}) {
    if (refuse && !ThreadRefusal::available()) continue;
    BOOST_TEST_CONTEXT((refuse ? "refused" : "given")) {
      std::mutex m;
      std::vector<std::string> order;
      std::thread::id side_on, here_on;
      {
        std::unique_ptr<ThreadRefusal> no_threads;
        if (refuse) no_threads = std::make_unique<ThreadRefusal>();
        run_beside(
            [&] {
              std::lock_guard lock(m);
              order.push_back("side");
              side_on = std::this_thread::get_id();
            },
            [&] {
              std::lock_guard lock(m);
              order.push_back("here");
              here_on = std::this_thread::get_id();
            });
      }
      BOOST_TEST(order.size() == 2u);
      BOOST_TEST(here_on == std::this_thread::get_id());
      if (refuse) {
        BOOST_TEST(side_on == std::this_thread::get_id());
        BOOST_TEST(order[0] == "side");  // first, as if it had run ahead
      } else {
        BOOST_TEST(side_on != std::this_thread::get_id());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(run_beside_rethrows_from_either_side) {
  for (bool refuse : {false, true}) {
    if (refuse && !ThreadRefusal::available()) continue;
    BOOST_TEST_CONTEXT((refuse ? "refused" : "given")) {
      std::unique_ptr<ThreadRefusal> no_threads;
      if (refuse) no_threads = std::make_unique<ThreadRefusal>();
      bool here_ran = false;
      BOOST_CHECK_THROW(run_beside([] { throw std::bad_alloc(); }, [&] { here_ran = true; }),
                        std::bad_alloc);
      if (!refuse) BOOST_TEST(here_ran);  // the thread's failure waits for this side
      bool side_ran = false;
      BOOST_CHECK_THROW(run_beside([&] { side_ran = true; }, [] { throw std::bad_alloc(); }),
                        std::bad_alloc);
      BOOST_TEST(side_ran);
    }
  }
}

// One object per thread and tag, the same on every call from that thread.
BOOST_AUTO_TEST_CASE(thread_scratch_is_the_calling_threads_own) {
  struct A;
  struct B;
  using Ints = std::vector<int>;
  Ints& mine = thread_scratch<Ints, A>();
  mine.assign(3, 7);
  Ints& again = thread_scratch<Ints, A>();
  BOOST_TEST(&again == &mine);
  BOOST_TEST(again.size() == 3u);  // kept from the last call
  Ints& other_tag = thread_scratch<Ints, B>();
  BOOST_TEST(&other_tag != &mine);
  Ints* theirs = nullptr;
  std::thread other([&] {
    theirs = &thread_scratch<Ints, A>();
    theirs->push_back(1);
  });
  other.join();
  BOOST_TEST(theirs != &mine);
  BOOST_TEST(theirs->size() == 1u);  // still owned once its thread has ended
  BOOST_TEST(mine.size() == 3u);
}

}  // namespace
}  // namespace crible
