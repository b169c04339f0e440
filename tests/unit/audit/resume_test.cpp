// Faults: a writer killed with SIGKILL at arbitrary moments leaves a store that verifies, and
// the same command resumes its run until every input has exactly one decision.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <set>
#include <thread>

#include "audit/audit.h"
#include "unit/audit/audit_test_util.h"

namespace crible::audit {
namespace {

using test::open_store;
using test::sample_decision;
using test::sample_ruleset;
using test::sample_start;

constexpr uint64_t kInputs = 30000;
constexpr size_t kBatch = 256;

// The child: the review loop of `crible review`, resuming like it. Never finishes the run
// (it waits to be killed), so that the parent always finds it incomplete.
[[noreturn]] void review_until_killed(const std::string& path) {
  auto store = Store::open(path);
  if (!store) _exit(2);
  auto run = store->begin_run(sample_ruleset(), sample_start("fp-killed"));
  if (!run) _exit(3);
  const auto done_list = store->already_decided(*run);
  const std::set<uint64_t> done(done_list.begin(), done_list.end());
  std::vector<DecisionRecord> batch;
  for (uint64_t i = 0; i < kInputs; ++i) {
    if (done.count(i)) continue;
    batch.push_back(sample_decision(i, "", 600));
    if (batch.size() == kBatch || i + 1 == kInputs) {
      if (!store->append_decisions(*run, batch)) _exit(4);
      batch.clear();
    }
  }
  for (;;) pause();
}

BOOST_AUTO_TEST_SUITE(audit_faults)

BOOST_AUTO_TEST_CASE(kill_9_at_several_points_then_resume) {
  test::TempDir tmp;
  const std::string path = tmp.file("audit.sqlite");
  { Store store = open_store(path); }  // created before the children race to do it
  size_t stored_before = 0;
  for (int delay_ms : {15, 60, 150, 300, 500}) {
    const pid_t pid = fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) review_until_killed(path);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    BOOST_REQUIRE(kill(pid, SIGKILL) == 0);
    int status = 0;
    BOOST_REQUIRE(waitpid(pid, &status, 0) == pid);
    BOOST_TEST_REQUIRE(WIFSIGNALED(status), "the child exited early: " << WEXITSTATUS(status));

    Store store = open_store(path);
    auto v = store.verify();
    BOOST_REQUIRE(v.ok());
    BOOST_TEST(v->intact, "after kill at " << delay_ms << " ms: " << v->first_broken);
    auto runs = store.runs();
    BOOST_REQUIRE(runs.ok());
    BOOST_REQUIRE(runs->size() <= 1u);  // every child resumed the same run
    if (runs->empty()) continue;        // killed before it began
    BOOST_TEST((*runs)[0].status == "incomplete");
    const size_t stored = store.already_decided((*runs)[0].run_id).size();
    BOOST_TEST(stored >= stored_before);
    BOOST_TEST_MESSAGE("killed at " << delay_ms << " ms with " << stored << " decisions stored");
    stored_before = stored;
  }

  // The same command once more, to the end.
  Store store = open_store(path);
  auto run = store.begin_run(sample_ruleset(), sample_start("fp-killed"));
  BOOST_REQUIRE(run.ok());
  BOOST_TEST(*run == 1);
  const auto done_list = store.already_decided(*run);
  const std::set<uint64_t> done(done_list.begin(), done_list.end());
  std::vector<DecisionRecord> rest;
  for (uint64_t i = 0; i < kInputs; ++i)
    if (!done.count(i)) rest.push_back(sample_decision(i, "", 600));
  BOOST_REQUIRE(store.append_decisions(*run, rest).ok());
  BOOST_REQUIRE(store.finish_run(*run, kInputs, kInputs, {}).ok());

  auto all = store.decisions(*run);
  BOOST_REQUIRE(all.ok());
  BOOST_REQUIRE(all->size() == kInputs);
  for (uint64_t i = 0; i < kInputs; ++i) BOOST_REQUIRE((*all)[i].input_index == i);
  auto v = store.verify();
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v->intact, v->first_broken);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace crible::audit
