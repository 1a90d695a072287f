// Named slots: a kernel architecture, scheduler, placement policy, allocator or workload registers itself with one
// line in its own .cpp (a function-local static registry, as SimGrid's plugins do). Configs pick entries by name; an
// unknown name is an error that lists the known ones with a did-you-mean. The same line registers a component of an
// out-of-tree plugin (sim/api/plugin.hpp): while mksim loads a plugin, its registrations are queued, and applied once
// its contract version and the names are checked (sim/plugins.hpp).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include "sim/api/params.hpp"

namespace mksim {

struct ComponentInfo {
  std::string slot;  // "architecture", "scheduler", ... (a SlotInfo's name)
  std::string name;
  std::string description;
  std::shared_ptr<const Schema> params;
  std::string origin;  // "": built in; else the plugin file (or "python: module.Class") that registered it
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

// " (from plugin FILE)" for a component of a plugin, "" for a built-in one: appended to messages about it.
std::string origin_note(const ComponentInfo& info);

namespace detail {
// The one instance of each registry type in the process, created on first use. A plugin instantiates the Registry
// templates itself (they are in this header), so its copies find the host's registries through this function, whatever
// the plugin's symbol visibility.
void* registry_instance(const std::type_info& type, void* (*make)());

// A registration made while a plugin is being loaded.
struct PendingRegistration {
  std::string slot, name;
  std::function<bool()> taken;                           // is the name registered already?
  std::function<void(const std::string& origin)> apply;  // register it, recording where it came from
};
// Queues `r` and returns true while a plugin is being loaded; false otherwise (register at once).
bool defer_registration(PendingRegistration& r);
}  // namespace detail

template <class T, class... Args>
class Registry {
 public:
  using Factory = std::function<std::unique_ptr<T>(const Params&, Args...)>;
  struct Entry {
    ComponentInfo info;
    Factory make;
  };

  static Registry& instance() {
    static Registry* r =
        static_cast<Registry*>(detail::registry_instance(typeid(Registry), []() -> void* { return new Registry; }));
    return *r;
  }

  // Registration helper: `static Registry<Scheduler>::Add reg("scheduler", "round-robin", "...", schema, factory);`
  struct Add {
    Add(std::string slot, std::string name, std::string description, Schema params, Factory make) {
      auto schema = std::make_shared<const Schema>(std::move(params));
      detail::PendingRegistration r{slot, name, [name] { return instance().find(name) != nullptr; },
                                    [slot, name, description, schema, make](const std::string& origin) {
                                      instance().add(ComponentInfo{slot, name, description, schema, origin}, make);
                                    }};
      if (detail::defer_registration(r)) return;  // a plugin's: checked and applied when the plugin is accepted
      if (r.taken())
        add_registration_error("the " + slot + " '" + name + "' is registered twice");
      else
        r.apply("");
    }
  };

  // Registers an entry; false (and nothing changes) if the name is taken. A component of a plugin (`info.origin` set)
  // has the InputErrors of its factory name the plugin.
  bool add(ComponentInfo info, Factory make) {
    if (entries_.count(info.name)) return false;
    if (!info.origin.empty()) {
      make = [make, note = origin_note(info)](const Params& p, Args... args) -> std::unique_ptr<T> {
        try {
          return make(p, args...);
        } catch (const InputError& e) {
          throw InputError(e.file(), e.where(), e.reason() + note);
        }
      };
    }
    auto name = info.name;
    auto it = entries_.emplace(name, Entry{std::move(info), std::move(make)}).first;
    all_components().push_back(&it->second.info);
    return true;
  }
  // Unregisters a name (Python components registered again under the same name); false if it is not registered.
  bool remove(const std::string& name) {
    auto it = entries_.find(name);
    if (it == entries_.end()) return false;
    auto& all = all_components();
    for (auto c = all.begin(); c != all.end(); ++c)
      if (*c == &it->second.info) {
        all.erase(c);
        break;
      }
    entries_.erase(it);
    return true;
  }

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
