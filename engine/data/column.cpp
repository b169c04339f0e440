// data::Column: the storage of one typed column (see data.h for the layout per type).
#include <algorithm>
#include <sys/mman.h>

#include <cassert>
#include <cstdint>

#include "base/large_pages.h"
#include "data/data.h"

namespace crible::data {

Value Column::value(size_t row) const {
  if (!loaded || !valid(row)) return Value{};
  switch (kind) {
    case TypeKind::Bool:
      return Value::boolean(boolean(row));
    case TypeKind::Integer:
      return Value::integer(integer(row));
    case TypeKind::Number:
      return Value::number(number(row));
    case TypeKind::Text:
      return Value::text(text(row));
    case TypeKind::Date:
      return Value::date(date(row));
    case TypeKind::Set:
      return Value::set_of(set(row), set_size(row));
    default:
      return Value{};
  }
}

void Column::append_missing() {
  switch (kind) {
    case TypeKind::Bool:
      bytes_.push_back(0);
      break;
    case TypeKind::Integer:
      ints_.push_back(0);
      break;
    case TypeKind::Number:
      nums_.push_back(0);
      break;
    case TypeKind::Text:
    case TypeKind::Date:
      put_word(0, true, 0);
      break;
    case TypeKind::Set:
      if (set_offsets_.empty()) set_offsets_.push_back(0);
      set_offsets_.push_back(set_offsets_.back());
      break;
    default:
      assert(false && "a column of a type the loader refuses");
      break;
  }
  if ((rows_ & 63) == 0) valid_.push_back(0);
  ++rows_;
}

void Column::start_valid_word() { valid_.push_back(0); }

void Column::widen() {
  // The room reserved for the narrow values is reserved again, so that a column widened at
  // its first rows still fills without regrowing.
  words_.reserve(std::max(halves_.capacity(), halves_.size() + 1));
  if (kind == TypeKind::Date) {
    for (uint16_t h : halves_) words_.push_back(static_cast<int16_t>(h));
  } else {
    for (uint16_t h : halves_) words_.push_back(static_cast<int32_t>(h));
  }
  std::vector<uint16_t>().swap(halves_);
  wide_ = true;
}

void Column::append_set(const uint32_t* ids, size_t n) {
  if (set_offsets_.empty()) set_offsets_.push_back(0);
  set_pool_.insert(set_pool_.end(), ids, ids + n);
  set_offsets_.push_back(static_cast<uint32_t>(set_pool_.size()));
  mark_valid();
}

namespace {

// Room for n values, rounded up to whole huge pages once it is 1 MiB or more. A part of a
// large file loaded beside the first reserves its columns on its own thread, where blocks
// under 2 MiB come from that thread's malloc arena and fault in 4 KiB at a time: a million
// cases loaded in two parts took ~2,600 such faults for the second part's columns of about
// a megabyte each, each a trip through the hypervisor on a virtual machine. Rounded up, the
// block is large enough for the programs' allocation policy (base/large_pages.h) to place it
// on huge pages: one fault each, at the cost of touching up to a huge page more than the
// rows fill. From 512 KiB on it was as fast, but the slack cost 6 MB more at the peak with
// two threads and 40 MB more with eight, whose parts are smaller (docs/decisions.md).
template <class V>
void reserve_whole_pages(V& v, size_t n) {
  constexpr size_t kFrom = size_t{1} << 20;
  size_t bytes = n * sizeof(typename V::value_type);
  if (bytes >= kFrom) bytes = base::whole_huge_pages(bytes);
  v.reserve(bytes / sizeof(typename V::value_type));
}

}  // namespace

size_t Column::reserved_bytes() const {
  switch (kind) {
    case TypeKind::Bool: return bytes_.capacity();
    case TypeKind::Integer: return ints_.capacity() * sizeof(int64_t);
    case TypeKind::Number: return nums_.capacity() * sizeof(double);
    case TypeKind::Text:
    case TypeKind::Date:
      return wide_ ? words_.capacity() * sizeof(int32_t) : halves_.capacity() * sizeof(uint16_t);
    case TypeKind::Set: return set_offsets_.capacity() * sizeof(uint32_t);
    default: return 0;
  }
}

void Column::reserve(size_t rows) {
  reserve_whole_pages(valid_, rows / 64 + 1);
  switch (kind) {
    case TypeKind::Bool:
      reserve_whole_pages(bytes_, rows);
      break;
    case TypeKind::Integer:
      reserve_whole_pages(ints_, rows);
      break;
    case TypeKind::Number:
      reserve_whole_pages(nums_, rows);
      break;
    case TypeKind::Text:
    case TypeKind::Date:
      if (wide_) reserve_whole_pages(words_, rows);
      else reserve_whole_pages(halves_, rows);
      break;
    case TypeKind::Set:
      reserve_whole_pages(set_offsets_, rows + 1);
      break;
    default:
      break;
  }
}

void Column::append_rows(const Column& from, const std::vector<uint32_t>& ids,
                         const std::vector<size_t>& skip) {
  std::vector<uint32_t> set_ids;
  size_t next_skip = 0;
  for (size_t r = 0; r < from.rows_; ++r) {
    if (next_skip < skip.size() && skip[next_skip] == r) {
      ++next_skip;
      continue;
    }
    if (!from.valid(r)) {
      append_missing();
      continue;
    }
    switch (kind) {
      case TypeKind::Bool:
        append_bool(from.boolean(r));
        break;
      case TypeKind::Integer:
        append_integer(from.integer(r));
        break;
      case TypeKind::Number:
        append_number(from.number(r));
        break;
      case TypeKind::Date:
        append_date(from.date(r));
        break;
      case TypeKind::Text:
        append_text(ids[from.text(r)]);
        break;
      case TypeKind::Set: {
        // Sorted by id, and ids are not in the same order through `ids`.
        set_ids.clear();
        for (uint32_t i = 0; i < from.set_size(r); ++i) set_ids.push_back(ids[from.set(r)[i]]);
        std::sort(set_ids.begin(), set_ids.end());
        append_set(set_ids.data(), set_ids.size());
        break;
      }
      default:
        assert(false && "a column of a type the loader refuses");
        break;
    }
  }
}

namespace {

// [end of v's elements, `more` elements on) within v's capacity, whole pages inside it.
template <class T>
void make_resident(const std::vector<T>& v, size_t more) {
#ifdef MADV_POPULATE_WRITE
  const size_t room = std::min(more, v.capacity() - v.size());
  if (room == 0) return;
  const uintptr_t page = 4096;
  const auto begin = (reinterpret_cast<uintptr_t>(v.data() + v.size()) + page - 1) & ~(page - 1);
  const auto end = reinterpret_cast<uintptr_t>(v.data() + v.size() + room) & ~(page - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
#else
  (void)v;
  (void)more;
#endif
}

}  // namespace

void Column::make_room_resident(size_t rows) const {
  make_resident(valid_, rows / 64 + 1);
  make_resident(bytes_, kind == TypeKind::Bool ? rows : 0);
  make_resident(ints_, kind == TypeKind::Integer ? rows : 0);
  make_resident(nums_, kind == TypeKind::Number ? rows : 0);
  const bool words = kind == TypeKind::Text || kind == TypeKind::Date;
  make_resident(words_, words && wide_ ? rows : 0);
  make_resident(halves_, words && !wide_ ? rows : 0);
  make_resident(set_offsets_, kind == TypeKind::Set ? rows : 0);
}

}  // namespace crible::data
