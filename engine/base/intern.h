// Text values interned to 32-bit ids at load, so equality and hashing in aggregates are
// integer operations. One interner serves the cases, the tables and the rule literals of a
// run, so an id means the same text everywhere in that run.
//
// A million cases intern a few million distinct texts (case ids, phones, documents), so
// the layout matters: the bytes of all texts sit one after the other in an arena of 2 MiB
// chunks, each text preceded by its length (1 byte below 128, else 4), and an id is an index
// into a flat vector of 32-bit arena positions: about 5 bytes a text beyond its own bytes,
// where a std::string each took 32. The texts are found through a flat table of (hash, id)
// pairs; a lookup is one hash and usually one probe. Chunks never move, so a view returned by
// text() stays valid for the interner's life; freeing it is a few hundred deallocations.
#pragma once
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "base/flat_hash.h"
#include "base/large_pages.h"
#include "base/prefetch.h"

namespace crible {

class Interner {
 public:
  Interner() = default;
  Interner(Interner&&) noexcept = default;
  Interner& operator=(Interner&&) noexcept = default;

  uint32_t intern(std::string_view s) { return intern(s, hash(s)); }

  // For a caller holding several texts (the fields of a few rows): hash them and prefetch
  // their slots first, then intern them in order with their hashes. The ids are the same as
  // one by one; the table's cache misses overlap instead of following each other.
  static uint32_t hash(std::string_view s) { return hash_bytes(s.data(), s.size()); }
  void prefetch(uint32_t h) const { ids_.prefetch(h); }
  // A text met again is compared with the interned one, two dependent cache misses (its
  // position, then its bytes). Once prefetch(h) has had time to arrive, these ask for them in
  // turn, each some time before the next, when the slot holds a text of that hash.
  void prefetch_match_position(uint32_t h) const {
    if (lookup_released_) return;
    if (const uint32_t id = ids_.first_match(h); id != kNone) prefetch_position(id);
  }
  void prefetch_match_bytes(uint32_t h) const {
    if (lookup_released_) return;
    if (const uint32_t id = ids_.first_match(h); id != kNone) prefetch_bytes(id);
  }
  uint32_t intern(std::string_view s, uint32_t h) {
    if (lookup_released_) rebuild_lookup();
    const uint32_t fresh = static_cast<uint32_t>(positions_.size());
    auto [id, inserted] = ids_.insert(h, fresh, [&](uint32_t x) { return text(x) == s; });
    if (inserted) positions_.push_back(store(s));
    return id;
  }
  // The id of s if already interned; kNone otherwise.
  uint32_t find(std::string_view s) const {
    if (lookup_released_) {  // nothing calls this once the loads are over: a scan will do
      for (uint32_t id = 0; id < positions_.size(); ++id)
        if (text(id) == s) return id;
      return kNone;
    }
    return ids_.find(hash(s), [&](uint32_t x) { return text(x) == s; });
  }
  // Valid as long as the interner: the arena never moves a text.
  std::string_view text(uint32_t id) const { return text_at(positions_[id]); }
  // text(id) is two dependent loads, its position and then its bytes, each a cache miss for
  // a text not read lately (a case's own id, phone, document): a caller that knows which
  // texts it reads next asks for the position first and, once it has arrived, the bytes.
  void prefetch_position(uint32_t id) const { prefetch_for_read(positions_.data() + id); }
  void prefetch_bytes(uint32_t id) const {
    const uint32_t pos = positions_[id];
    prefetch_for_read(chunks_[pos >> kChunkBits].get() + (pos & (kChunk - 1)));
  }
  size_t size() const { return positions_.size(); }
  // Room for n texts in the lookup table (a hint: texts beyond n still intern). Positions get
  // half as much room again: capacity never written is address space, not memory, while
  // outgrowing it copies every position into a block twice the size (the loader's estimate
  // runs short of a million cases' texts by a sixth, and the copy fell in the join).
  void reserve(size_t n) {
    if (lookup_released_) rebuild_lookup();
    ids_.reserve(n);
    positions_.reserve(n + n / 2);
  }
  static constexpr uint32_t kNone = IdTable::kNone;
  // The arena's chunk: a huge page, so that the programs' allocation policy
  // (base/large_pages.h) gives each chunk one page fault where 1 MiB chunks, below its
  // threshold, took 256. The texts of a million cases fill some 60 MB of chunks; on this
  // project's virtual machine a 4 KiB fault costs ~10 us, and 1 MiB chunks made a 1M eval
  // take 22,000 page faults instead of 12,700 and 5% longer (docs/decisions.md, "Text arena
  // chunks of 2 MiB").
  static constexpr size_t kChunkBits = 21;
  static constexpr size_t kChunk = size_t{1} << kChunkBits;
  static_assert(kChunk == base::kHugePage);

  // A text's id and its hash(), as the lookup table holds them.
  struct HashedId {
    uint32_t hash = 0;
    uint32_t id = 0;
  };
  // Every text's id and hash in the order of the lookup table's slots (see absorb).
  std::vector<HashedId> hashed_ids() const {
    if (lookup_released_) throw std::logic_error("Interner::hashed_ids after release_lookup");
    std::vector<HashedId> out;
    out.reserve(positions_.size());
    ids_.for_each([&](uint32_t h, uint32_t id) { out.push_back({h, id}); });
    return out;
  }

  // Takes every text of `other` as intern() would one by one in other's id order, so with the
  // same ids, but keeps other's arena instead of copying its bytes: a text already here only
  // leaves its copy unused there. `hashed` must be other.hashed_ids(); ids[id] is set to the
  // id here of other's text `id`. `other` is left empty. (The loader joining a part of a file
  // loaded with an interner of its own: copying a million texts touched as much fresh memory
  // again, which a virtual machine makes slow.)
  //
  // The texts are looked up and added in the order of `hashed`, which is nearly the order of
  // their slots here too (both tables place a hash by its low bits): the table is walked from
  // one end to the other instead of probed at random, a cache miss every 8 slots instead of
  // every text. Ids are handed out between the two walks, in other's id order. At a million
  // cases the second part's 1.56M texts took 0.09-0.13 s to join probed at random, and take
  // 0.053-0.066 s so (docs/decisions.md, "A part's texts join in slot order").
  void absorb(Interner&& other, const std::vector<HashedId>& hashed, std::vector<uint32_t>& ids) {
    if (lookup_released_) rebuild_lookup();
    if (hashed.size() != other.positions_.size()) throw std::logic_error("Interner::absorb");
    const size_t base = chunks_.size();
    if ((static_cast<uint64_t>(base) + other.chunks_.size()) << kChunkBits > kMaxArena)
      throw std::bad_alloc();
    chunks_.reserve(base + other.chunks_.size());
    for (auto& chunk : other.chunks_) chunks_.push_back(std::move(chunk));
    if (!other.chunks_.empty()) used_ = other.used_;  // new texts go on in other's last chunk
    const uint32_t shift = static_cast<uint32_t>(base << kChunkBits);
    const std::vector<uint32_t>& theirs = other.positions_;
    ids.assign(theirs.size(), kNone);
    for (const HashedId& e : hashed) {
      ids[e.id] = ids_.find(e.hash, [&](uint32_t x) { return text(x) == text_at(theirs[e.id] + shift); });
    }
    const uint32_t first_new = static_cast<uint32_t>(positions_.size());
    for (uint32_t id = 0; id < ids.size(); ++id) {
      if (ids[id] != kNone) continue;
      ids[id] = static_cast<uint32_t>(positions_.size());
      positions_.push_back(theirs[id] + shift);
    }
    ids_.reserve(positions_.size());
    for (const HashedId& e : hashed)
      if (ids[e.id] >= first_new) ids_.insert_absent(e.hash, ids[e.id]);
    other = Interner();
  }

  // Frees the lookup table (32 MB at a million cases) once every text of a run is interned:
  // ids and texts stay as they are; a later intern() rebuilds it, and find() scans.
  void release_lookup() {
    ids_.release();
    lookup_released_ = true;
  }

 private:
  // Positions are 32-bit: an arena holds at most 4 GiB of distinct text. Beyond that the run
  // stops as out of memory (a memory budget, like any other; cli/main.cpp reports it).
  static constexpr uint64_t kMaxArena = uint64_t{1} << 32;

  // Appends s (length prefix, bytes) and returns its position. A text that does not fit in
  // what is left of the current chunk starts a new one; a text longer than a chunk gets a
  // chunk of its own, spanning as many chunk numbers as its size (the others stay null).
  uint32_t store(std::string_view s) {
    const size_t need = (s.size() < 0x80 ? 1 : 5) + s.size();
    if (chunks_.empty() || used_ + need > kChunk) {
      const size_t span = (need + kChunk - 1) / kChunk;
      if ((static_cast<uint64_t>(chunks_.size()) + span) << kChunkBits > kMaxArena)
        throw std::bad_alloc();
      chunks_.push_back(std::make_unique_for_overwrite<char[]>(span * kChunk));
      for (size_t i = 1; i < span; ++i) chunks_.emplace_back();
      used_ = span == 1 ? 0 : kChunk;  // a spanning chunk is full at once
      if (span > 1) {
        write(chunks_[chunks_.size() - span].get(), s);
        return static_cast<uint32_t>((chunks_.size() - span) << kChunkBits);
      }
    }
    const uint32_t pos = static_cast<uint32_t>(((chunks_.size() - 1) << kChunkBits) + used_);
    write(chunks_.back().get() + used_, s);
    used_ += need;
    return pos;
  }
  static void write(char* p, std::string_view s) {
    if (s.size() < 0x80) {
      *p++ = static_cast<char>(s.size());
    } else {
      *p++ = static_cast<char>(0x80);
      const uint32_t n = static_cast<uint32_t>(s.size());
      std::memcpy(p, &n, 4);
      p += 4;
    }
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
  }

  // The text stored at arena position `pos`.
  std::string_view text_at(uint32_t pos) const {
    const char* chunk = chunks_[pos >> kChunkBits].get();
    const auto* p = reinterpret_cast<const unsigned char*>(chunk) + (pos & (kChunk - 1));
    uint32_t n = p[0];
    if (n < 0x80) return {reinterpret_cast<const char*>(p + 1), n};
    std::memcpy(&n, p + 1, 4);
    return {reinterpret_cast<const char*>(p + 5), n};
  }

  std::vector<std::unique_ptr<char[]>> chunks_;  // stable: texts never move
  size_t used_ = 0;                              // bytes used in the last chunk
  std::vector<uint32_t> positions_;              // by id: the text's position in the arena
  IdTable ids_;
  bool lookup_released_ = false;  // see release_lookup

  void rebuild_lookup() {
    lookup_released_ = false;
    ids_.reserve(positions_.size());
    for (uint32_t id = 0; id < positions_.size(); ++id)
      ids_.insert(hash(text(id)), id, [](uint32_t) { return false; });  // texts are distinct
  }
};

// Some texts of an interner shown as others, all of one width, without copying the rest:
// review --pseudonymise-key shows each personal text as its keyed hash. A second interner
// with every text copied and the personal ones replaced took ~130 MB more at a million
// cases; this takes a bit per id and `width` bytes per replaced text (a rank over the bits
// finds a replaced id's slot, so an id that is not replaced costs one bit test).
class TextReplacements {
 public:
  TextReplacements() = default;
  // `replaced[id]`: whether id's text is replaced. Every replaced id must then be given its
  // text with set() before the replacements are read.
  TextReplacements(const std::vector<bool>& replaced, size_t width) : width_(width) {
    words_.assign((replaced.size() + 63) / 64, 0);
    for (size_t id = 0; id < replaced.size(); ++id)
      if (replaced[id]) words_[id / 64] |= uint64_t{1} << (id % 64);
    rank_.resize(words_.size());
    uint32_t before = 0;
    for (size_t w = 0; w < words_.size(); ++w) {
      rank_[w] = before;
      before += static_cast<uint32_t>(__builtin_popcountll(words_[w]));
    }
    count_ = before;
    texts_.assign(count_ * width_, '\0');
  }
  size_t count() const { return count_; }
  size_t width() const { return width_; }
  bool replaces(uint32_t id) const {
    return id / 64 < words_.size() && (words_[id / 64] >> (id % 64) & 1) != 0;
  }
  // Safe from several threads at once for different ids (each has its own bytes).
  void set(uint32_t id, std::string_view text) {
    if (!replaces(id) || text.size() != width_) throw std::logic_error("TextReplacements::set");
    std::memcpy(texts_.data() + slot(id) * width_, text.data(), width_);
  }
  // Only for an id that replaces() says is replaced.
  std::string_view text(uint32_t id) const { return {texts_.data() + slot(id) * width_, width_}; }

 private:
  size_t slot(uint32_t id) const {
    const uint64_t below = words_[id / 64] & ((uint64_t{1} << (id % 64)) - 1);
    return rank_[id / 64] + static_cast<size_t>(__builtin_popcountll(below));
  }
  size_t width_ = 0, count_ = 0;
  std::vector<uint64_t> words_;  // a bit per id
  std::vector<uint32_t> rank_;   // per word: the replaced ids before it
  std::string texts_;            // count_ texts of width_ bytes, in id order
};

// The texts of a run as they are shown: an interner's own, or with some replaced. Two
// pointers, passed by value; an Interner converts to a view of itself.
class TextView {
 public:
  TextView(const Interner& interner) : interner_(&interner) {}  // implicit: the plain case
  TextView(const Interner& interner, const TextReplacements& replaced)
      : interner_(&interner), replaced_(&replaced) {}
  std::string_view text(uint32_t id) const {
    if (replaced_ != nullptr && replaced_->replaces(id)) return replaced_->text(id);
    return interner_->text(id);
  }
  // As Interner's: the position of id's text, then (a little later) its bytes.
  void prefetch_position(uint32_t id) const {
    if (replaced_ != nullptr && replaced_->replaces(id)) return;  // one load, done in prefetch_bytes
    interner_->prefetch_position(id);
  }
  void prefetch_bytes(uint32_t id) const {
    if (replaced_ != nullptr && replaced_->replaces(id)) {
      prefetch_for_read(replaced_->text(id).data());
      return;
    }
    interner_->prefetch_bytes(id);
  }

 private:
  const Interner* interner_;
  const TextReplacements* replaced_ = nullptr;
};

}  // namespace crible
