// Text values interned to 32-bit ids at load, so equality and hashing in aggregates are
// integer operations. One interner serves the cases, the tables and the rule literals of a
// run, so an id means the same text everywhere in that run.
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace crible {

class Interner {
 public:
  uint32_t intern(std::string_view s) {
    auto it = ids_.find(s);
    if (it != ids_.end()) return it->second;
    texts_.emplace_back(s);
    uint32_t id = static_cast<uint32_t>(texts_.size() - 1);
    ids_.emplace(std::string_view(texts_.back()), id);
    return id;
  }
  // The id of s if already interned; kNone otherwise.
  uint32_t find(std::string_view s) const {
    auto it = ids_.find(s);
    return it == ids_.end() ? kNone : it->second;
  }
  const std::string& text(uint32_t id) const { return texts_[id]; }
  size_t size() const { return texts_.size(); }
  static constexpr uint32_t kNone = 0xffffffffu;

 private:
  std::deque<std::string> texts_;  // deque: stable addresses for the string_view keys
  std::unordered_map<std::string_view, uint32_t> ids_;
};

}  // namespace crible
