#include "sim/api/registry.hpp"

namespace mksim {

std::vector<const ComponentInfo*>& all_components() {
  static std::vector<const ComponentInfo*> list;
  return list;
}

}  // namespace mksim

#include "sim/cli.hpp"

namespace mksim {

std::vector<CommandInfo>& cli_commands() {
  static std::vector<CommandInfo> list;
  return list;
}

}  // namespace mksim
