// The programs' allocation policy (large_pages.cpp), linked into the executables that want
// it: blocks of 2 MiB or more on transparent huge pages, the heap made resident at start.
#pragma once

#include <cstddef>

namespace crible::base {

// The size from which the policy places a block on huge-page boundaries (x86-64's huge page):
// the interner's arena chunks are this size, and the lookup tables align by it too.
inline constexpr std::size_t kHugePage = std::size_t{2} << 20;

// `bytes` rounded up to whole huge pages (wraps to a smaller value past SIZE_MAX's last page:
// a caller that can be given such a size checks the result against `bytes`).
inline constexpr std::size_t whole_huge_pages(std::size_t bytes) {
  return (bytes + kHugePage - 1) / kHugePage * kHugePage;
}

// Bytes of heap made resident in one call before main (0 under sanitizers, or where the
// kernel cannot populate memory on request).
std::size_t heap_prefaulted_at_start();

}  // namespace crible::base
