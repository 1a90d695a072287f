// Reference text generated from the parameter declarations: `mksim list` and docs/config.md.
#pragma once

#include <string>

namespace mksim {

// The registered components of one slot ("architecture", "scheduler", "memory_policy", "allocator", "workload") or
// of every slot (""), with descriptions and parameters.
std::string list_components(const std::string& slot);
std::string list_presets();
// docs/config.md, whole.
std::string config_reference_markdown();

}  // namespace mksim
