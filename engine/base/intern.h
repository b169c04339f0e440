// Text values interned to 32-bit ids at load, so equality and hashing in aggregates are
// integer operations. One interner serves the cases, the tables and the rule literals of a
// run, so an id means the same text everywhere in that run.
//
// A million cases intern a few million distinct texts (case ids, phones, documents), so
// the layout matters: the texts sit in fixed blocks of strings (short ones inline, no
// allocation each), found through a flat table of (hash, id) pairs. A lookup is one hash and
// usually one probe; freeing the interner is a few hundred deallocations.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/flat_hash.h"

namespace crible {

class Interner {
 public:
  uint32_t intern(std::string_view s) { return intern(s, hash(s)); }

  // For a caller holding several texts (the fields of a few rows): hash them and prefetch
  // their slots first, then intern them in order with their hashes. The ids are the same as
  // one by one; the table's cache misses overlap instead of following each other.
  static uint32_t hash(std::string_view s) { return hash_bytes(s.data(), s.size()); }
  void prefetch(uint32_t h) const { ids_.prefetch(h); }
  uint32_t intern(std::string_view s, uint32_t h) {
    const uint32_t fresh = static_cast<uint32_t>(size_);
    auto [id, inserted] = ids_.insert(h, fresh, [&](uint32_t x) { return text(x) == s; });
    if (inserted) {
      if ((size_ & (kBlock - 1)) == 0) blocks_.push_back(std::make_unique<std::string[]>(kBlock));
      blocks_.back()[size_ & (kBlock - 1)].assign(s.data(), s.size());
      ++size_;
    }
    return id;
  }
  // The id of s if already interned; kNone otherwise.
  uint32_t find(std::string_view s) const {
    return ids_.find(hash(s), [&](uint32_t x) { return text(x) == s; });
  }
  const std::string& text(uint32_t id) const { return blocks_[id >> kBlockBits][id & (kBlock - 1)]; }
  size_t size() const { return size_; }
  // Room for n texts in the lookup table (a hint: texts beyond n still intern).
  void reserve(size_t n) { ids_.reserve(n); }
  static constexpr uint32_t kNone = IdTable::kNone;

 private:
  static constexpr size_t kBlockBits = 12;
  static constexpr size_t kBlock = size_t{1} << kBlockBits;
  std::vector<std::unique_ptr<std::string[]>> blocks_;  // stable: texts never move
  IdTable ids_;
  size_t size_ = 0;
};

}  // namespace crible
