// Named machine presets. Each is a machine description in the config's own form (so a config may name a preset and
// override any field), with the sources of its numbers in presets.cpp and docs/calibration.md.
#pragma once

#include <string>
#include <vector>

namespace mksim {

struct Preset {
  std::string name;
  std::string description;
  std::string json;     // the machine section this preset stands for
  std::string sources;  // where its figures come from, in short (the comment above each preset in presets.cpp and
                        // docs/calibration.md say which figure comes from where)
};

const std::vector<Preset>& machine_presets();
const Preset* find_preset(const std::string& name);

}  // namespace mksim
