// Reference text generated from the declarations in the code: `mksim list`, docs/config.md (parameters) and
// docs/outputs.md (output columns).
#pragma once

#include <string>

namespace mksim {

// The registered components of one slot ("architecture", "scheduler", "memory_policy", "allocator", "workload") or
// of every slot (""), with descriptions and parameters.
std::string list_components(const std::string& slot);
std::string list_presets();
// docs/config.md, whole.
std::string config_reference_markdown();
// `mksim docs WHAT`: "config" (docs/config.md) or "outputs" (docs/outputs.md); an InputError for anything else.
std::string generated_doc(const std::string& what);

}  // namespace mksim
