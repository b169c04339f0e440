// libcrypto running out of memory: every allocation it makes inside crible's hashing (SHA-256
// of bytes and of files, HMAC-SHA256 one-off and keyed) is made to fail in turn, and each
// call must then either give the right digest or throw CryptoFailure, never crash, and the
// next call must work again. Before session 18 a failed allocation went on with a null
// context (the checks were asserts) and crashed in SHA256_Update under a memory limit.
//
// OpenSSL takes an allocator of its own only before its first allocation, so this file
// installs one while the test program starts (a static initialiser, before main and before
// any test touches libcrypto): it forwards to malloc until a test arms it.
#include <openssl/crypto.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "unit/audit/audit_test_util.h"

namespace crible::audit {
namespace {

// Allocations left before the failing one; negative: none fails.
std::atomic<long> allocations_before_failure{-1};
// Whether every allocation after the failing one fails too (memory that stays short), or
// only that one (a moment's shortage).
std::atomic<bool> failing_for_good{false};
std::atomic<long> failures{0};

bool this_one_fails() {
  long left = allocations_before_failure.load();
  while (left > 0 && !allocations_before_failure.compare_exchange_weak(left, left - 1)) {
  }
  if (left != 0) return false;
  if (!failing_for_good.load()) allocations_before_failure.store(-1);
  failures.fetch_add(1);
  return true;
}

void* failing_malloc(size_t n, const char*, int) { return this_one_fails() ? nullptr : std::malloc(n); }
void* failing_realloc(void* p, size_t n, const char*, int) {
  return this_one_fails() ? nullptr : std::realloc(p, n);
}
void failing_free(void* p, const char*, int) { std::free(p); }

const bool allocator_installed =
    CRYPTO_set_mem_functions(failing_malloc, failing_realloc, failing_free) == 1;

// Runs `op` with the k-th allocation of libcrypto failing, for k = 0, 1, ... until a run
// reaches the end without one failing; each run must give `expected` or throw CryptoFailure.
// Returns how many runs threw.
int fail_each_allocation_in_turn(const std::string& what, const std::function<std::string()>& op,
                                 const std::string& expected, bool for_good) {
  int threw = 0;
  for (long k = 0; k < 10000; ++k) {
    BOOST_TEST_CONTEXT(what << ", allocation " << k << (for_good ? " and all after it" : "") << " failing") {
      failures.store(0);
      failing_for_good.store(for_good);
      allocations_before_failure.store(k);
      std::string got;
      bool failed = false;
      try {
        got = op();
      } catch (const CryptoFailure&) {
        failed = true;
      }
      allocations_before_failure.store(-1);
      const bool injected = failures.load() > 0;
      if (failed) {
        ++threw;
        BOOST_TEST(injected);  // no CryptoFailure without a failed allocation
      } else {
        BOOST_TEST(got == expected);
      }
      BOOST_TEST(op() == expected);  // and libcrypto works again once memory is back
      if (!injected) return threw;  // op made fewer than k + 1 allocations: all were tried
    }
  }
  BOOST_FAIL(what << ": still allocating after 10,000 allocations");
  return threw;
}

BOOST_AUTO_TEST_SUITE(audit_crypto_out_of_memory)

BOOST_AUTO_TEST_CASE(every_failed_allocation_is_a_crypto_failure_or_a_right_digest) {
  BOOST_REQUIRE_MESSAGE(allocator_installed, "libcrypto allocated before this test could take over");
  ready_crypto();  // libcrypto's own start-up, as a review does first, with memory to spare
  const test::TempDir dir;
  const std::string path = dir.file("cases.csv");
  std::ofstream(path) << std::string(200000, 'x');  // more than one read of sha256_file
  const std::string file_digest = sha256_file(path).value();

  struct Op {
    std::string what;
    std::function<std::string()> op;
  };
  const std::vector<Op> ops = {
      {"sha256_hex", [] { return sha256_hex("abc"); }},
      {"sha256_file", [&] { return sha256_file(path).value(); }},
      {"hmac_sha256_hex", [] { return hmac_sha256_hex("Jefe", "what do ya want for nothing?"); }},
      {"Hmac", [] { return Hmac("Jefe").hex("what do ya want for nothing?"); }},
  };
  for (const Op& o : ops) {
    const std::string expected = o.op();
    if (o.what == "sha256_file") BOOST_TEST(expected == file_digest);
    const int threw_once = fail_each_allocation_in_turn(o.what, o.op, expected, false);
    const int threw_for_good = fail_each_allocation_in_turn(o.what, o.op, expected, true);
    // Each of these allocates in libcrypto (a context at least), so some run must have hit a
    // checked call: a count of zero would mean the injection never reached crible's checks.
    BOOST_TEST(threw_for_good > 0, o.what);
    BOOST_TEST_MESSAGE(o.what << ": " << threw_once << " runs threw with one allocation failing, "
                              << threw_for_good << " with all from one on");
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace crible::audit
