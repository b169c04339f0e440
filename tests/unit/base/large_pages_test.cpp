// tests/unit/base/large_pages_test.cpp: the programs' allocation policy (engine/base/
// large_pages.cpp, linked into this test as into `crible`): large blocks on 2 MiB boundaries,
// offered for transparent huge pages; small ones as malloc gives them.
#include "base/large_pages.h"

#include <sys/mman.h>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "base/sanitizers.h"

namespace {

constexpr uintptr_t kHugePage = crible::base::kHugePage;

// The system's transparent huge page mode: "always", "madvise" or "never" ("" if unknown).
std::string thp_mode() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  std::getline(in, line);
  const auto open = line.find('['), close = line.find(']');
  return open == std::string::npos || close == std::string::npos ? ""
                                                                 : line.substr(open + 1, close - open - 1);
}

// Whether the mapping holding p may use transparent huge pages (its THPeligible line).
bool thp_eligible(const void* p) {
  const auto at = reinterpret_cast<uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      inside = lo <= at && at < hi;
    } else if (inside && line.rfind("THPeligible:", 0) == 0) {
      return line.find('1') != std::string::npos;
    }
  }
  return false;
}

}  // namespace

#if !defined(CRIBLE_ASAN)

BOOST_AUTO_TEST_CASE(large_blocks_sit_on_huge_page_boundaries) {
  auto block = std::make_unique<char[]>(3 * kHugePage + 5);
  BOOST_TEST(reinterpret_cast<uintptr_t>(block.get()) % kHugePage == 0u);
  std::memset(block.get(), 1, 3 * kHugePage + 5);  // all of it is usable
  std::vector<int64_t> column(1 << 20);              // 8 MiB through std::allocator
  BOOST_TEST(reinterpret_cast<uintptr_t>(column.data()) % kHugePage == 0u);
  const std::string mode = thp_mode();
  if (mode == "always" || mode == "madvise") BOOST_TEST(thp_eligible(block.get()));
}

BOOST_AUTO_TEST_CASE(small_blocks_and_failures_as_before) {
  auto small = std::make_unique<char[]>(100);
  small[99] = 'x';
  BOOST_TEST(small[99] == 'x');
  BOOST_TEST(::operator new(0) != nullptr);  // a unique pointer, not null
  // A request no machine can meet is refused with bad_alloc, not a null pointer.
  const size_t too_much = size_t{1} << 62;  // 4 EiB
  BOOST_CHECK_THROW((void)::operator new(too_much), std::bad_alloc);
  BOOST_TEST(::operator new(too_much, std::nothrow) == nullptr);
}

// Whether this kernel populates memory on request (Linux 5.14 and later).
bool kernel_populates_on_request() {
#ifdef MADV_POPULATE_WRITE
  void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return false;
  const bool ok = ::madvise(page, 4096, MADV_POPULATE_WRITE) == 0;
  ::munmap(page, 4096);
  return ok;
#else
  return false;
#endif
}

BOOST_AUTO_TEST_CASE(the_heap_is_made_resident_before_main) {
  // About a megabyte of heap is what `crible check` fills; at least that much must have been
  // populated in one call, not left to fault in page by page.
  if (!kernel_populates_on_request()) {
    BOOST_TEST_MESSAGE("kernel without MADV_POPULATE_WRITE: nothing to check");
    BOOST_TEST(crible::base::heap_prefaulted_at_start() == 0u);
    return;
  }
  BOOST_TEST(crible::base::heap_prefaulted_at_start() >= size_t{1} << 20);
}

#else

BOOST_AUTO_TEST_CASE(sanitizer_builds_keep_the_runtime_allocator) {
  // AddressSanitizer's own operator new stays in place (it checks new/delete pairing): only
  // check that a large block is still usable.
  auto block = std::make_unique<char[]>(3 * kHugePage);
  block[3 * kHugePage - 1] = 1;
  BOOST_TEST(block[3 * kHugePage - 1] == 1);
  (void)thp_mode;
  (void)thp_eligible;
  BOOST_TEST(crible::base::heap_prefaulted_at_start() == 0u);
}

#endif
