// Speed of the audit store, disabled by default (they write hundreds of MB):
//   unit_audit --run_test=audit_bench --log_level=message
// append_100k: 100,000 decisions with ~1 KB of detail each, in batches of 1,024.
// lookup_1m: decision(case) in a store of 1,000,000 decisions.
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>

#include "audit/audit.h"
#include "unit/audit/audit_test_util.h"

namespace crible::audit {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Appends `n` decisions to a new run; returns the seconds spent in append_decisions (wall),
// and in `cpu` the process CPU seconds (user + system) spent there, which a busy machine
// disturbs less.
double fill(Store& store, uint64_t n, size_t detail_bytes, double* cpu = nullptr) {
  auto run = store.begin_run(test::sample_ruleset(), test::sample_start(""));
  BOOST_REQUIRE(run.ok());
  constexpr size_t kBatch = 1024;
  std::vector<DecisionRecord> batch;
  double spent = 0;
  std::clock_t cpu_spent = 0;
  for (uint64_t i = 0; i < n; i += kBatch) {
    batch.clear();
    for (uint64_t j = i; j < std::min(n, i + kBatch); ++j)
      batch.push_back(test::sample_decision(j, "", detail_bytes));
    const auto t0 = Clock::now();
    const std::clock_t c0 = std::clock();
    BOOST_REQUIRE(store.append_decisions(*run, batch).ok());
    cpu_spent += std::clock() - c0;
    spent += seconds_since(t0);
  }
  if (cpu) *cpu = static_cast<double>(cpu_spent) / CLOCKS_PER_SEC;
  BOOST_REQUIRE(store.finish_run(*run, n, n, {}).ok());
  return spent;
}

BOOST_AUTO_TEST_SUITE(audit_bench, *boost::unit_test::disabled())

BOOST_AUTO_TEST_CASE(append_100k) {
  test::TempDir tmp;
  const std::string path = tmp.file("audit.sqlite");
  Store store = test::open_store(path);
  double cpu = 0;
  const double append = fill(store, 100000, 1024, &cpu);
  const auto t0 = Clock::now();
  auto v = store.verify();
  const double verify = seconds_since(t0);
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v->intact);
  BOOST_TEST_MESSAGE("append 100,000 decisions (1 KB detail): "
                     << append << " s (" << 100000 / append << " /s, " << cpu << " s CPU); verify: "
                     << verify << " s; store " << std::filesystem::file_size(path) / 1e6 << " MB");
}

BOOST_AUTO_TEST_CASE(lookup_1m) {
  test::TempDir tmp;
  const std::string path = tmp.file("audit.sqlite");
  Store store = test::open_store(path);
  const double append = fill(store, 1000000, 200);
  constexpr int kLookups = 10000;
  const auto t0 = Clock::now();
  for (int i = 0; i < kLookups; ++i) {
    const uint64_t index = (static_cast<uint64_t>(i) * 7919) % 1000000;
    auto d = store.decision("AVR" + std::to_string(100000 + index), std::nullopt);
    BOOST_REQUIRE(d.ok());
  }
  const double lookup = seconds_since(t0);
  const auto t2 = Clock::now();
  for (int i = 0; i < kLookups; ++i) {
    const uint64_t index = (static_cast<uint64_t>(i) * 7919) % 1000000;
    auto d = store.decision("AVR" + std::to_string(100000 + index), 1);
    BOOST_REQUIRE(d.ok());
  }
  const double lookup_in_run = seconds_since(t2);
  const auto t1 = Clock::now();
  auto v = store.verify();
  const double verify = seconds_since(t1);
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v->intact);
  BOOST_TEST_MESSAGE("1,000,000 decisions (200 B detail) appended in "
                     << append << " s; decision(case): " << lookup / kLookups * 1e6
                     << " us each, with --run: " << lookup_in_run / kLookups * 1e6
                     << " us; verify: " << verify << " s");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace crible::audit
