// tests/unit/base/flat_hash_test.cpp: hash_bytes reads a text's last bytes with loads only;
// it must give the value of its first form (the tail copied into a zeroed word), for every
// length and wherever the text ends, without reading past it (ASan builds check that: each
// text below sits at the very end of its own allocation).
#include "base/flat_hash.h"

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace crible {
namespace {

// hash_bytes as first written: the reference.
uint32_t hash_bytes_by_copy(const char* p, size_t n) {
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
    uint64_t x = 0;
    std::memcpy(&x, p, n);
    h = (h ^ x) * 0x9E3779B97F4A7C15ull;
  }
  return static_cast<uint32_t>(hash_mix(h));
}

BOOST_AUTO_TEST_CASE(every_length_hashes_as_the_tail_copied_into_a_word) {
  for (size_t n = 0; n <= 40; ++n) {
    for (int pattern = 0; pattern < 3; ++pattern) {
      auto text = std::make_unique<char[]>(n == 0 ? 1 : n);
      for (size_t i = 0; i < n; ++i)
        text[i] = static_cast<char>(pattern == 0 ? 'a' + i : pattern == 1 ? 0xff - i : 7 * i + 1);
      BOOST_TEST_CONTEXT("length " << n << ", pattern " << pattern) {
        BOOST_TEST(hash_bytes(text.get(), n) == hash_bytes_by_copy(text.get(), n));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(texts_that_differ_only_in_their_last_bytes_hash_apart) {
  // Each tail path (1-3, 4-7, and past 8) must read every byte of the tail.
  for (const std::string base : {"", "abcd", "abcdefgh", "abcdefghijk"}) {
    for (size_t extra = 1; extra <= 7; ++extra) {
      std::string a = base + std::string(extra, 'x');
      for (size_t k = base.size(); k < a.size(); ++k) {
        std::string b = a;
        b[k] = 'y';
        BOOST_TEST(hash_bytes(a.data(), a.size()) != hash_bytes(b.data(), b.size()),
                   "'" << a << "' and '" << b << "'");
      }
    }
  }
}

// The table's walk in slot order (what a part's texts are joined in), ids added without a
// comparison, and the first-slot match the loader prefetches by.
BOOST_AUTO_TEST_CASE(id_table_walk_first_match_and_absent_inserts) {
  IdTable t;
  t.reserve(100);  // 256 slots
  const auto never = [](uint32_t) { return false; };
  // 5 and 5 + 256 share a first slot: the second is displaced to the next one.
  for (const uint32_t h : {5u, 261u, 40u, 200u}) t.insert(h, h * 10, never);
  t.insert_absent(7, 70);
  BOOST_TEST(t.size() == 5u);
  std::vector<uint32_t> walked;
  t.for_each([&](uint32_t h, uint32_t id) {
    BOOST_TEST(id == h * 10);
    walked.push_back(h);
  });
  // By slot: 5 (slot 5), 261 (displaced to 6), 7 (7: added after, goes where it hashes), 40, 200.
  BOOST_TEST(walked == (std::vector<uint32_t>{5, 261, 7, 40, 200}), boost::test_tools::per_element());
  BOOST_TEST(t.first_match(5) == 50u);
  BOOST_TEST(t.first_match(261) == IdTable::kNone);  // displaced: not in its first slot
  BOOST_TEST(t.first_match(6) == IdTable::kNone);    // slot 6 holds another hash
  BOOST_TEST(t.first_match(99) == IdTable::kNone);   // empty slot
  BOOST_TEST(t.find(7, [](uint32_t id) { return id == 70; }) == 70u);
  BOOST_TEST(IdTable().first_match(5) == IdTable::kNone);  // no slots at all
}

}  // namespace
}  // namespace crible
