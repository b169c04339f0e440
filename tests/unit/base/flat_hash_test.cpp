// tests/unit/base/flat_hash_test.cpp: hash_bytes reads a text's last bytes with loads only;
// it must give the value of its first form (the tail copied into a zeroed word), for every
// length and wherever the text ends, without reading past it (ASan builds check that: each
// text below sits at the very end of its own allocation).
#include "base/flat_hash.h"

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <memory>
#include <string>

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

}  // namespace
}  // namespace crible
