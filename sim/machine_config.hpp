// The `machine` section of a config: a preset, a hwloc topology file, or a description (the short uniform form with
// defaults for the rest), each with the other fields overriding what it gives. Turns it into a checked Machine.
#pragma once

#include <string>

#include "models/machine.hpp"
#include "sim/api/params.hpp"

namespace mksim {

const Schema& machine_schema();

// Resolves the machine section (`given` at JSON path `path` in `file`; relative paths against `base_dir`). Returns
// the Machine; `resolved` receives the section with every default filled in.
Machine build_machine(const json& given, const std::string& path, const std::string& file, const std::string& base_dir,
                      json* resolved = nullptr);

// `mksim machine ARG`: a preset name, a hwloc XML file, a config file (its machine section), or "--this-host".
Machine machine_from_argument(const std::string& arg);

// The machine's summary as text (packages, NUMA nodes, cores, PUs, caches, distance matrix) and as JSON.
std::string machine_summary_text(const Machine& m);
json machine_summary_json(const Machine& m);

}  // namespace mksim
