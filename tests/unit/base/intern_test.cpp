// tests/unit/base/intern_test.cpp: the Interner's arena — ids, texts of every length (the
// 1-byte and 4-byte length prefixes, texts longer than a chunk), and views that stay valid;
// and TextView over TextReplacements, which shows some ids' texts as others.
#include "base/intern.h"
#include "base/sanitizers.h"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace crible {
namespace {

// A 4-byte replacement text for id (below 1000).
std::string fmt_id(uint32_t id) {
  std::string s = "#" + std::to_string(id);
  s.resize(4, '_');
  return s;
}

BOOST_AUTO_TEST_CASE(same_text_same_id_in_order_of_first_sight) {
  Interner in;
  BOOST_TEST(in.intern("MLI") == 0u);
  BOOST_TEST(in.intern("GIN") == 1u);
  BOOST_TEST(in.intern("MLI") == 0u);
  BOOST_TEST(in.size() == 2u);
  BOOST_TEST(in.find("GIN") == 1u);
  BOOST_TEST(in.find("SEN") == Interner::kNone);
  BOOST_TEST(in.text(1) == "GIN");
}

BOOST_AUTO_TEST_CASE(texts_of_every_length_round_trip) {
  // Around the short prefix (127/128), around a chunk, and several chunks long.
  constexpr size_t kChunk = Interner::kChunk;
  const std::vector<size_t> lengths = {0,          1,          126,        127,    128,
                                       129,        1000,       kChunk - 6, kChunk - 5, kChunk - 1,
                                       kChunk,     kChunk + 1, 3 * kChunk, 7};
  Interner in;
  std::vector<std::string> texts;
  std::vector<uint32_t> ids;
  for (size_t i = 0; i < lengths.size(); ++i) {
    std::string t(lengths[i], static_cast<char>('a' + i % 26));
    if (!t.empty()) t.back() = static_cast<char>('0' + i % 10);  // distinct from each other
    ids.push_back(in.intern(t));
    texts.push_back(std::move(t));
  }
  BOOST_TEST(in.size() == lengths.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    BOOST_TEST_CONTEXT("length " << lengths[i]) {
      BOOST_TEST(ids[i] == i);
      BOOST_TEST(in.text(ids[i]).size() == texts[i].size());
      BOOST_TEST((in.text(ids[i]) == texts[i]));
      BOOST_TEST(in.find(texts[i]) == ids[i]);
      BOOST_TEST(in.intern(texts[i]) == ids[i]);
    }
  }
}

#if !defined(CRIBLE_ASAN)
// The arena's chunks are huge pages under the programs' allocation policy (linked into this
// test, as into crible): a million cases' texts then fault in 2 MiB at a time, not 4 KiB.
BOOST_AUTO_TEST_CASE(arena_chunks_are_huge_pages) {
  constexpr uintptr_t kHugePage = base::kHugePage;
  BOOST_TEST(Interner::kChunk == kHugePage);
  Interner in;
  const uint32_t first = in.intern("first");
  const uint32_t spanning = in.intern(std::string(2 * Interner::kChunk, 's'));  // chunks of its own
  const uint32_t after = in.intern("after");  // starts the chunk after those
  // A text that starts a chunk sits right behind its 1-byte length, at the chunk's start.
  for (const uint32_t id : {first, after})
    BOOST_TEST(reinterpret_cast<uintptr_t>(in.text(id).data() - 1) % kHugePage == 0u);
  BOOST_TEST(reinterpret_cast<uintptr_t>(in.text(spanning).data() - 5) % kHugePage == 0u);
}
#endif

BOOST_AUTO_TEST_CASE(views_outlive_later_interning) {
  Interner in;
  const uint32_t first = in.intern("first");
  const std::string_view view = in.text(first);
  // Enough texts to fill several chunks and regrow the id table many times.
  for (int i = 0; i < 300000; ++i) in.intern("case-" + std::to_string(i));
  BOOST_TEST(view.data() == in.text(first).data());
  BOOST_TEST(view == "first");
  BOOST_TEST(in.text(in.find("case-299999")) == "case-299999");
  BOOST_TEST(in.size() == 300001u);
}

BOOST_AUTO_TEST_CASE(prehashed_interning_gives_the_same_ids) {
  Interner a, b;
  for (const char* s : {"x", "y", "x", "z"}) {
    const uint32_t h = Interner::hash(s);
    b.prefetch(h);
    BOOST_TEST(a.intern(s) == b.intern(s, h));
  }
  Interner moved = std::move(a);
  BOOST_TEST(moved.text(2) == "z");
}

// Once the loads are over the lookup table is freed (memory); ids and texts must not change,
// and interning or finding afterwards must still give the right ids.
BOOST_AUTO_TEST_CASE(a_released_lookup_keeps_every_id) {
  Interner in;
  for (int i = 0; i < 5000; ++i) in.intern("text-" + std::to_string(i));
  in.release_lookup();
  BOOST_TEST(in.text(4321) == "text-4321");
  BOOST_TEST(in.find("text-17") == 17u);  // before any rebuild
  BOOST_TEST(in.find("absent") == Interner::kNone);
  BOOST_TEST(in.intern("text-4999") == 4999u);  // rebuilds
  BOOST_TEST(in.intern("new") == 5000u);
  BOOST_TEST(in.find("text-0") == 0u);
  BOOST_TEST(in.find("new") == 5000u);
  BOOST_TEST(in.size() == 5001u);
}

// Absorbing another interner gives each of its texts the id interning them one by one in its
// id order gives (texts already here keep theirs), keeps them readable from its arena, and
// leaves room to intern on: texts of every length, a chunk's worth and more, on both sides.
BOOST_AUTO_TEST_CASE(absorbing_an_interner_gives_the_ids_of_interning_its_texts_in_order) {
  auto text_of = [](int i) {
    std::string t = "t" + std::to_string(i);
    if (i % 97 == 0) t += std::string(200, 'x');                     // a 4-byte length prefix
    if (i % 16001 == 0) t += std::string(Interner::kChunk + 3, 'y');  // a chunk of its own
    return t;
  };
  Interner whole, here, other;
  for (int i = 0; i < 60000; ++i) here.intern(text_of(i));
  for (int i = 30000; i < 120000; ++i) other.intern(text_of(i % 2 ? i : i / 3));  // some known here
  for (int i = 0; i < 60000; ++i) whole.intern(text_of(i));
  for (uint32_t id = 0; id < other.size(); ++id) whole.intern(other.text(id));
  const size_t other_size = other.size();
  std::vector<uint32_t> ids;
  here.absorb(std::move(other), other.hashed_ids(), ids);
  BOOST_TEST(other.size() == 0u);
  BOOST_REQUIRE(ids.size() == other_size);
  BOOST_REQUIRE(here.size() == whole.size());
  for (uint32_t id = 0; id < whole.size(); ++id)
    if (here.text(id) != whole.text(id)) BOOST_FAIL("id " << id << " differs");
  for (uint32_t id = 0; id < other_size; ++id) BOOST_TEST_REQUIRE(here.text(ids[id]) == whole.text(ids[id]));
  BOOST_TEST(ids[0] == 10000u);  // "t10000", already here
  // Every text is found under its id: those that were here and those taken from `other`.
  for (uint32_t id = 0; id < whole.size(); ++id)
    if (here.find(whole.text(id)) != id) BOOST_FAIL("id " << id << " not found under its text");
  // Interning goes on after it, in the last chunk it took and beyond.
  for (int i = 0; i < 50000; ++i) BOOST_TEST_REQUIRE(here.intern("after-" + std::to_string(i)) == whole.intern("after-" + std::to_string(i)));
  BOOST_TEST(here.text(here.find("after-7")) == "after-7");
  BOOST_REQUIRE(here.size() == whole.size());
  for (uint32_t id = 0; id < whole.size(); ++id)  // and overwrote none of the absorbed texts
    if (here.text(id) != whole.text(id)) BOOST_FAIL("after interning on, id " << id << " differs");

  // An interner whose last chunk is nearly empty taking one whose last chunk is not.
  Interner small, full;
  small.intern("a");
  for (int i = 0; i < 1000; ++i) full.intern(std::to_string(i));
  small.absorb(std::move(full), full.hashed_ids(), ids);
  for (int i = 0; i < 1000; ++i) small.intern("new-" + std::to_string(i));
  for (int i = 0; i < 1000; ++i) BOOST_TEST_REQUIRE(small.text(ids[static_cast<size_t>(i)]) == std::to_string(i));
  BOOST_TEST(small.text(small.find("new-999")) == "new-999");
}

// Replaced ids on both sides of the rank's 64-bit words, the first and the last: each reads
// its own replacement, every other id its interned text.
BOOST_AUTO_TEST_CASE(a_view_shows_each_replaced_id_as_its_replacement) {
  Interner in;
  for (int i = 0; i < 300; ++i) in.intern("t" + std::to_string(i));
  const std::vector<uint32_t> chosen = {0, 1, 62, 63, 64, 65, 127, 128, 200, 299};
  std::vector<bool> replaced(in.size(), false);
  for (uint32_t id : chosen) replaced[id] = true;
  TextReplacements r(replaced, 4);
  BOOST_TEST(r.count() == chosen.size());
  for (uint32_t id : chosen) r.set(id, fmt_id(id));
  const TextView view(in, r);
  for (uint32_t id = 0; id < in.size(); ++id) {
    if (replaced[id])
      BOOST_TEST(view.text(id) == fmt_id(id));
    else
      BOOST_TEST(view.text(id) == in.text(id));
  }
  const TextView plain = in;
  BOOST_TEST(plain.text(64) == "t64");
  // Beyond the replacements' ids (a text interned later): the interner's own.
  BOOST_TEST(!r.replaces(300));
  BOOST_TEST(in.intern("later") == 300u);
  BOOST_TEST(view.text(300) == "later");
}

BOOST_AUTO_TEST_CASE(a_replacement_of_another_width_or_id_is_refused) {
  Interner in;
  for (int i = 0; i < 10; ++i) in.intern("t" + std::to_string(i));
  std::vector<bool> replaced(in.size(), false);
  replaced[3] = true;
  TextReplacements r(replaced, 4);
  BOOST_CHECK_THROW(r.set(3, "abc"), std::logic_error);
  BOOST_CHECK_THROW(r.set(4, "abcd"), std::logic_error);
  r.set(3, "abcd");
  BOOST_TEST(TextView(in, r).text(3) == "abcd");
}

}  // namespace
}  // namespace crible
