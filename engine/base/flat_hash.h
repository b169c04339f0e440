// A flat open-addressing table of 32-bit ids, for the interner and the aggregate indexes.
// The table holds only (hash, id) pairs, 8 bytes a slot; the keys themselves live in the
// caller's dense arrays, indexed by id, and the caller compares them. No node per entry, no
// pointer chasing on a miss, and freeing it is one deallocation.
#pragma once
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include "base/large_pages.h"
#include "base/prefetch.h"

namespace crible {

// 64-bit finaliser (MurmurHash3 fmix64): every input bit reaches every output bit.
inline uint64_t hash_mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

// Bytes to 32 bits, eight at a time. For short texts (ids, phones, names): no setup cost.
// The last 1-7 bytes are read as the little-endian number they form, as if copied into a
// zeroed word, but with loads only: copying them byte by byte onto the stack and reading the
// word back stalled on store forwarding, three quarters of this function's time (session 12).
inline uint32_t hash_bytes(const char* p, size_t n) {
  const size_t total = n;
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(n) * 0xff51afd7ed558ccdull);
  while (n >= 8) {
    uint64_t x;
    std::memcpy(&x, p, 8);
    h = (h ^ x) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t x;
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    if (total >= 8) {  // the word ending with the text; its first 8 - n bytes are hashed already
      std::memcpy(&x, p + n - 8, 8);
      x >>= 8 * (8 - n);
    } else if (n >= 4) {  // two words of 4 that overlap: the same bytes in the same places
      uint32_t lo, hi;
      std::memcpy(&lo, p, 4);
      std::memcpy(&hi, p + n - 4, 4);
      x = lo | static_cast<uint64_t>(hi) << (8 * (n - 4));
    } else {  // 1-3 bytes: first, middle, last (some the same byte)
      x = u[0] | static_cast<uint64_t>(u[n / 2]) << (8 * (n / 2)) |
          static_cast<uint64_t>(u[n - 1]) << (8 * (n - 1));
    }
    h = (h ^ x) * 0x9E3779B97F4A7C15ull;
  }
  return static_cast<uint32_t>(hash_mix(h));
}

class IdTable {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;

  // The id stored under hash `h` for which `same(id)` holds, or kNone.
  template <class Same>
  uint32_t find(uint32_t h, Same&& same) const {
    if (slots_.empty()) return kNone;
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id == kNone) return kNone;
      if (s.hash == h && same(s.id)) return s.id;
    }
  }

  // find(); when absent, stores `fresh` under `h`. Returns the id and whether it was stored.
  template <class Same>
  std::pair<uint32_t, bool> insert(uint32_t h, uint32_t fresh, Same&& same) {
    if ((size_ + 1) * 5 > slots_.size() * 4) grow();  // load factor at most 0.8
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.id == kNone) {
        s = Slot{h, fresh};
        ++size_;
        return {fresh, true};
      }
      if (s.hash == h && same(s.id)) return {s.id, false};
    }
  }

  // Stores `id` under `h`, for a caller that knows no stored id has an equal key (so no
  // comparison is made): the interner adding texts that a lookup found absent.
  void insert_absent(uint32_t h, uint32_t id) {
    if ((size_ + 1) * 5 > slots_.size() * 4) grow();
    size_t i = h & mask_;
    while (slots_[i].id != kNone) i = (i + 1) & mask_;
    slots_[i] = Slot{h, id};
    ++size_;
  }

  // Every stored (hash, id), in the order of the table's slots: ascending in the hash's low
  // bits but for the few displaced by a collision.
  template <class F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_)
      if (s.id != kNone) f(s.hash, s.id);
  }

  // The id in the first slot for hash h if that slot holds hash h, else kNone: a likely
  // match, for a caller prefetching what comparing it will read (no probe beyond the slot).
  uint32_t first_match(uint32_t h) const {
    if (slots_.empty()) return kNone;
    const Slot& s = slots_[h & mask_];
    return s.hash == h ? s.id : kNone;
  }

  // Loads the first slot for hash h ahead of a find or insert: a caller with several keys
  // at hand prefetches them all, then looks them up, and the cache misses overlap.
  void prefetch(uint32_t h) const {
    if (!slots_.empty()) prefetch_for_read(slots_.data() + (h & mask_));
  }

  // Room for n entries without regrowing.
  void reserve(size_t n) {
    size_t want = 16;
    while (want * 4 < n * 5) want *= 2;
    if (want > slots_.size()) rehash(want);
  }

  size_t size() const { return size_; }
  size_t bytes() const { return slots_.capacity() * sizeof(Slot); }
  void release() {
    std::vector<Slot, HugeAlloc<Slot>>().swap(slots_);
    size_ = 0;
    mask_ = 0;
  }

 private:
  struct Slot {
    uint32_t hash = 0;
    uint32_t id = kNone;
  };

  void grow() { rehash(slots_.empty() ? 16 : slots_.size() * 2); }

  void rehash(size_t capacity) {
    std::vector<Slot, HugeAlloc<Slot>> old;
    old.swap(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    for (const Slot& s : old) {
      if (s.id == kNone) continue;
      size_t i = s.hash & mask_;
      while (slots_[i].id != kNone) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  // Large tables sit on huge pages where the system allows it: a probe is a random access,
  // and with 4 KiB pages nearly every one would also miss the TLB.
  template <class T>
  struct HugeAlloc {
    using value_type = T;
    HugeAlloc() = default;
    template <class U>
    HugeAlloc(const HugeAlloc<U>&) {}
    T* allocate(size_t n) {
      const size_t bytes = n * sizeof(T);
      if (bytes < base::kHugePage) {
        void* p = std::malloc(bytes);
        if (!p) throw std::bad_alloc();
        return static_cast<T*>(p);
      }
      void* p = std::aligned_alloc(base::kHugePage, base::whole_huge_pages(bytes));
      if (!p) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
      ::madvise(p, bytes, MADV_HUGEPAGE);
#endif
      return static_cast<T*>(p);
    }
    void deallocate(T* p, size_t) { std::free(p); }
    bool operator==(const HugeAlloc&) const { return true; }
  };
  std::vector<Slot, HugeAlloc<Slot>> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace crible
