// A prefetch that the compiler keeps wherever it is written.
//
// GCC 12 deletes a call to a function whose only effect is __builtin_prefetch: it deems the
// function const (the prefetch has no effect it must preserve), and a const call whose
// result is unused is dead code. So a prefetch wrapped in a small member function that was
// not inlined early (TextView::prefetch_bytes, say) vanished from the binary with every call
// to it, silently (session 17: DecisionEncoder::prefetch_fields compiled to a bare `ret`). A
// volatile asm is never deleted. Every prefetch wrapped in a function of its own goes through
// it (IdTable::prefetch, the sealer's prefetch_texts, the interner's and the encoder's);
// those written inline in a larger function were checked in the binary and are kept.
#pragma once

namespace crible {

inline void prefetch_for_read(const void* p) {
#if defined(__x86_64__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

}  // namespace crible
