// The allocation policy of crible's programs (linked into the executables, not the engine
// library): a block of 2 MiB or more is placed on 2 MiB boundaries and offered to the kernel
// for transparent huge pages; everything smaller goes to malloc as before.
//
// Why: a million cases fill a few hundred megabytes of columns, interned texts and indexes,
// all touched for the first time while loading. With 4 KiB pages that is some 60,000 page
// faults, each a trip through the hypervisor on a virtual machine, and a TLB miss on most
// random accesses afterwards. On huge pages the faults fall to under a third and `crible
// eval` of 1M cases went from 2.46 s to 1.96 s median (docs/decisions.md, "Speed and
// memory"). glibc can do this itself (GLIBC_TUNABLES=glibc.malloc.hugetlb=1) but only when
// told from outside.
//
// Where the system does not use transparent huge pages (or only on request, and the request
// fails) madvise changes nothing and the blocks are ordinary memory. Memory a block reserves
// but never touches stays address space, as before: the kernel only backs what is written,
// in 2 MiB steps instead of 4 KiB ones, so a growing vector costs at most one huge page of
// slack.
//
// The heap is also reserved and made resident at start, in one call (see prefault_heap).
//
// Sanitizer builds keep the runtime's own operator new, which checks new/delete pairing.
#include "base/large_pages.h"
#include "base/sanitizers.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <new>


#if !defined(CRIBLE_ASAN)

namespace {

using crible::base::kHugePage;

std::size_t heap_prefaulted = 0;

// Runs before the other static constructors (ANTLR's, iostream's), so that the heap is set
// up before most of them allocate.
//
// glibc serves a block from its own mapping only above a threshold that it raises each time
// such a block is freed (up to 32 MiB); below it, blocks come from the heap, where a freed
// huge page stays resident. A fixed threshold keeps every large block in a mapping of its own
// that free() hands back whole: with the moving one, peak memory of a 1M eval rose by a fifth
// (287 to 343 MB).
//
// The heap then grows in steps of at least 2 MiB, and the first step is made resident at
// once with MADV_POPULATE_WRITE: `crible check` of the shipped ruleset fills about a megabyte
// of heap (ANTLR's parse tree and prediction cache, the AST), and touching it page by page
// cost some 260 page faults, each a trip through the hypervisor on a virtual machine; one
// madvise call replaces them (474 to 212 faults, about 1.3 ms of the 9.5 ms the command
// took, docs/decisions.md, "Start-up"). Where the kernel predates MADV_POPULATE_WRITE
// (Linux 5.14) the call fails and the pages fault in as before.
__attribute__((constructor(101))) void prefault_heap() {
  mallopt(M_MMAP_THRESHOLD, kHugePage);
  mallopt(M_TOP_PAD, kHugePage);
  void* probe = std::malloc(kHugePage / 2);  // below the threshold: grows the heap
  if (probe == nullptr) return;
  const auto start = (reinterpret_cast<std::uintptr_t>(probe) + 4095) & ~std::uintptr_t{4095};
  std::free(probe);
  const auto top = reinterpret_cast<std::uintptr_t>(::sbrk(0));
#ifdef MADV_POPULATE_WRITE
  if (top > start && ::madvise(reinterpret_cast<void*>(start), top - start, MADV_POPULATE_WRITE) == 0) {
    heap_prefaulted = top - start;
  }
#endif
}

void* allocate(std::size_t bytes) {
  if (bytes < kHugePage) return std::malloc(bytes == 0 ? 1 : bytes);
  const std::size_t rounded = crible::base::whole_huge_pages(bytes);
  if (rounded < bytes) return nullptr;  // wrapped: no such block exists
  void* p = std::aligned_alloc(kHugePage, rounded);
#ifdef MADV_HUGEPAGE
  if (p) ::madvise(p, rounded, MADV_HUGEPAGE);
#endif
  return p;
}

}  // namespace

// Every plain form is replaced, not only those libstdc++ routes the others through, so that
// no block can come from one allocator and go back to another whatever the runtime. Memory
// from aligned_alloc and malloc alike goes back with free. (The align_val_t forms are
// libstdc++'s own, which pair aligned_alloc with free as well.)
void* operator new(std::size_t bytes) {
  if (void* p = allocate(bytes)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t bytes) { return ::operator new(bytes); }
void* operator new(std::size_t bytes, const std::nothrow_t&) noexcept { return allocate(bytes); }
void* operator new[](std::size_t bytes, const std::nothrow_t&) noexcept { return allocate(bytes); }

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

std::size_t crible::base::heap_prefaulted_at_start() { return heap_prefaulted; }

#else

std::size_t crible::base::heap_prefaulted_at_start() { return 0; }

#endif
