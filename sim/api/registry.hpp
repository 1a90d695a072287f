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
  std::string slot;  // "architecture", "scheduler", ... (a SlotInfo's name)
  std::string name;
  std::string description;
  std::shared_ptr<const Schema> params;
};

// Every registered component, in registration order, for `mksim list`, docs generation and config checking.
std::vector<const ComponentInfo*>& all_components();

// A slot: a kind of component that configs choose by name. Declared once (sim/registry.cpp, one SlotInfo::Add each);
// `mksim list`, the docs, the config's kernel section and `run.outputs` are all generated from these declarations.
struct SlotInfo {
  enum class Section { Kernel, Workload, Output };
  std::string name;    // "scheduler": the key of kernel.<name>, the `slot` of its components
  std::string plural;  // "schedulers": `mksim list schedulers`
  std::string title;   // heading in `mksim list` and docs/config.md
  Section section = Section::Kernel;
  std::string default_name;  // kernel slots: the component used when the config names none
  std::string doc;           // kernel slots: the doc line of kernel.<name>

  struct Add {
    explicit Add(SlotInfo info);
  };
};

// Every declared slot, in declaration order.
const std::vector<SlotInfo>& all_slots();
const SlotInfo* find_slot(const std::string& name);

// Registration mistakes found while the program's registrations ran (a name registered twice in one slot, a kernel
// component name used by two kernel slots, a component of an undeclared slot). Empty in a correct build.
std::vector<std::string> registration_errors();
// Throws std::logic_error listing registration_errors(), if any: called once at start-up (mksim's main, the Python
// module, the test runner) so that a duplicate is an error there, not a silent replacement.
void check_registrations();
// Records a registration error (used by Registry::Add).
void add_registration_error(std::string what);

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
      if (fresh)
        all_components().push_back(&it->second.info);
      else
        add_registration_error("the " + it->second.info.slot + " '" + name + "' is registered twice");
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
