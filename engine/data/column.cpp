// data::Column: the storage of one typed column (see data.h for the layout per type).
#include <cassert>

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
      words_.push_back(0);
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

void Column::append_set(const uint32_t* ids, size_t n) {
  if (set_offsets_.empty()) set_offsets_.push_back(0);
  set_pool_.insert(set_pool_.end(), ids, ids + n);
  set_offsets_.push_back(static_cast<uint32_t>(set_pool_.size()));
  mark_valid();
}

void Column::reserve(size_t rows) {
  valid_.reserve(rows / 64 + 1);
  switch (kind) {
    case TypeKind::Bool:
      bytes_.reserve(rows);
      break;
    case TypeKind::Integer:
      ints_.reserve(rows);
      break;
    case TypeKind::Number:
      nums_.reserve(rows);
      break;
    case TypeKind::Text:
    case TypeKind::Date:
      words_.reserve(rows);
      break;
    case TypeKind::Set:
      set_offsets_.reserve(rows + 1);
      break;
    default:
      break;
  }
}

std::vector<Column::ReservedSpan> Column::reserved_spans() const {
  std::vector<ReservedSpan> spans;
  auto add = [&](const auto& v, size_t bytes_per_64_rows) {
    if (v.capacity() > 0)
      spans.push_back({v.data(), v.capacity() * sizeof(v[0]), bytes_per_64_rows});
  };
  add(valid_, 8);
  switch (kind) {
    case TypeKind::Bool: add(bytes_, 64); break;
    case TypeKind::Integer: add(ints_, 64 * 8); break;
    case TypeKind::Number: add(nums_, 64 * 8); break;
    case TypeKind::Text:
    case TypeKind::Date: add(words_, 64 * 4); break;
    case TypeKind::Set: add(set_offsets_, 64 * 4); break;
    default: break;
  }
  return spans;
}

}  // namespace crible::data
