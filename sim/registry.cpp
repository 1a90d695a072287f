#include "sim/api/registry.hpp"

#include <map>

namespace mksim {

std::vector<const ComponentInfo*>& all_components() {
  static std::vector<const ComponentInfo*> list;
  return list;
}

std::string origin_note(const ComponentInfo& info) {
  if (info.origin.empty()) return "";
  if (info.origin.rfind("python:", 0) == 0) return " (" + info.origin + ")";
  return " (" + info.slot + " '" + info.name + "' from plugin " + info.origin + ")";
}

namespace detail {

void* registry_instance(const std::type_info& type, void* (*make)()) {
  // Keyed by the type's name: type_info objects of different shared objects may differ, their names do not.
  static std::map<std::string, void*> registries;
  void*& r = registries[type.name()];
  if (!r) r = make();
  return r;
}

}  // namespace detail

}  // namespace mksim

#include "sim/cli.hpp"

namespace mksim {

std::vector<CommandInfo>& cli_commands() {
  static std::vector<CommandInfo> list;
  return list;
}

}  // namespace mksim
