// The members of an ordered JSON object, set by name in linear time overall: for objects whose
// names come from the audit store (a run's field and evidence names, scores, parameters), which
// an edited store can make as many as it likes.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <utility>

namespace crible {

// Builds what nlohmann::ordered_json's operator[] would (members in the order first set; a
// name set again keeps its place and takes the new value), but finds names through a hash
// index: operator[] compares the name with every member before it, so 200,000 names took
// minutes (explain of a hostile store).
class JsonMembers {
 public:
  using Json = nlohmann::ordered_json;

  void set(const std::string& name, Json value) {
    auto& members = static_cast<Json::object_t::Container&>(object_.get_ref<Json::object_t&>());
    const auto [at, added] = index_.try_emplace(name, members.size());
    if (added) {
      members.emplace_back(name, std::move(value));  // the vector's own: no search
    } else {
      members[at->second].second = std::move(value);
    }
  }
  // The value of a member, or null when there is none.
  const Json* find(const std::string& name) const {
    const auto at = index_.find(name);
    if (at == index_.end()) return nullptr;
    return &static_cast<const Json::object_t::Container&>(
                object_.get_ref<const Json::object_t&>())[at->second]
                .second;
  }
  Json take() && { return std::move(object_); }

 private:
  Json object_ = Json::object();
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace crible
