// Named slots: a kernel architecture, scheduler, placement policy, allocator or workload registers itself with one
// line in its own .cpp (a function-local static registry, as SimGrid's plugins do). Configs pick entries by name; an
// unknown name is an error that lists the known ones with a did-you-mean.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/api/params.hpp"

namespace mksim {

struct ComponentInfo {
  std::string slot;  // "architecture", "scheduler", ...
  std::string name;
  std::string description;
  std::shared_ptr<const Schema> params;
};

// Every registry, by slot, for `mksim list` and docs generation.
std::vector<const ComponentInfo*>& all_components();

template <class T, class... Args>
class Registry {
 public:
  using Factory = std::function<std::unique_ptr<T>(const Params&, Args...)>;
  struct Entry {
    ComponentInfo info;
    Factory make;
  };

  static Registry& instance() {
    static Registry r;
    return r;
  }

  // Registration helper: `static Registry<Scheduler>::Add reg("scheduler", "round-robin", "...", schema, factory);`
  struct Add {
    Add(std::string slot, std::string name, std::string description, Schema params, Factory make) {
      auto& entries = instance().entries_;
      auto [it, fresh] = entries.emplace(name, Entry{ComponentInfo{std::move(slot), name, std::move(description),
                                                                   std::make_shared<const Schema>(std::move(params))},
                                                     std::move(make)});
      if (fresh) all_components().push_back(&it->second.info);
    }
  };

  const Entry* find(const std::string& name) const {
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, e] : entries_) out.push_back(name);
    return out;
  }

 private:
  std::map<std::string, Entry> entries_;
};

}  // namespace mksim
