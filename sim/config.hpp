// Loading a config: JSON text -> checked plain descriptions (errors name the file and the JSON path) -> a Scenario that
// the factories turn into models. Model code never sees JSON.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/machine.hpp"
#include "sim/api/params.hpp"

namespace mksim {

// Parses a JSON file; a syntax error names the file, line and column.
json load_json_file(const std::string& path);
json parse_json_text(const std::string& text, const std::string& file);
// `p` relative to `base_dir` unless absolute.
std::string resolve_path(const std::string& p, const std::string& base_dir);

// Applies `--set dotted.path=value` to a document: the value is JSON if it parses as JSON, else a string. A path
// step may be an object key or a list index (`workload.1.threads` or `workload[1].threads`).
void apply_override(json& doc, const std::string& assignment);

struct Component {
  std::string name;
  Params params;
};

struct WorkloadChoice {
  std::string kind;
  std::string name;
  Params params;
};

struct RunSettings {
  uint64_t seed = 1;
  double max_sim_time_s = 0;   // 0: no limit
  double max_wall_time_s = 0;  // 0: no limit
  uint64_t max_events = 0;     // 0: no limit
  bool csv = true;
  std::vector<std::string> outputs;  // the registered outputs (sim/outputs.hpp) run.outputs turns on, by name
};

struct Scenario {
  std::string file;      // the config's file name, for messages
  std::string base_dir;  // where its relative paths resolve
  json resolved;         // the fully resolved config, written into results.json
  Machine machine;
  Component architecture, scheduler, placement, allocator;
  std::string shootdown = "default";  // kernel.shootdown
  std::vector<WorkloadChoice> workloads;
  RunSettings run;
};

// Checks and resolves a whole config document.
Scenario resolve_scenario(const json& doc, const std::string& file, const std::string& base_dir);
// Reads `path`, applies the overrides, resolves.
Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides = {});

// The schemas of the fixed sections, for docs and `mksim list`.
const Schema& kernel_slots_schema();
const Schema& run_schema();

}  // namespace mksim
