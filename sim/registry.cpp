#include "sim/registry.hpp"

namespace mksim {

std::vector<const ComponentInfo*>& all_components() {
  static std::vector<const ComponentInfo*> list;
  return list;
}

}  // namespace mksim
