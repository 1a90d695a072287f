// Fuzz target: `--set dotted.path=value` overrides. The input's first line is the assignment, the rest a config
// document (when it is not valid JSON a fixed small config is used); apply_override then resolve_scenario. Must only
// ever throw InputError.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/harness.hpp"
#include "sim/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const size_t nl = text.find('\n');
  const std::string assignment = text.substr(0, nl);
  const std::string rest = nl == std::string::npos ? std::string() : text.substr(nl + 1);
  mksim_fuzz::only_input_errors("fuzz_override", [&] {
    mksim::json doc;
    try {
      doc = mksim::parse_json_text(rest, "fuzz.json");
      if (mksim_fuzz::known_crash(doc)) return;
    } catch (const mksim::InputError&) {
      doc = mksim::json::parse(R"({"machine": {"sockets": 2, "cores_per_socket": 2},
                                   "workload": [{"kind": "compute", "threads": 2}]})");
    }
    mksim::apply_override(doc, assignment);
    if (mksim_fuzz::known_crash(doc)) return;
    // Only resolution: paths are not followed (machine.hwloc naming a file is an InputError here).
    if (doc.is_object() && doc.contains("machine") && doc["machine"].is_object() && doc["machine"].contains("hwloc"))
      return;
    mksim::resolve_scenario(doc, "fuzz.json", "/nonexistent-mksim-fuzz");
  });
  return 0;
}
