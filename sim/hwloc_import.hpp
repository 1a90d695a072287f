// Import of a real machine's structure from hwloc: an XML export (`lstopo file.xml`, hwloc 1.x, 2.x and 3.x formats)
// or hwloc's discovery of the running host. Only the structure is imported (packages, dies, NUMA nodes and their
// memory, cores, PUs, data caches) plus the NUMA distance matrix; latencies, bandwidths and clocks are the caller's.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "models/machine.hpp"

namespace mksim {

struct ImportedTopology {
  Machine machine;                        // structure only: latencies/bandwidths are filled by the caller
  std::vector<std::vector<double>> slit;  // NUMA distances (ACPI SLIT-like, 10 = local), empty if the file has none
  std::vector<std::string> notes;         // what was assumed or skipped ("no NUMA distances", "format 3.0 read as 2.0")
  // Per NUMA node: the figures its memory attributes give ("read_bandwidth_gb_s", "write_bandwidth_gb_s",
  // "latency_ns"), already set on the node; the others are the config's or the node kind's defaults.
  std::map<int, std::set<std::string>> memory_figures_read;
  // Memory-only NUMA nodes: the node with cores each is local to (the node of the first core its cpuset holds).
  std::map<int, int> local_to;
};

// Reads an hwloc XML topology with libhwloc. Throws InputError naming the file (and the line when it can be found)
// for a missing, empty, malformed or unsupported file; an InputFileError (sim/input.hpp) when it cannot be read at
// all. libhwloc runs in a forked child process, so that a crash inside it is an error, not the end of mksim.
ImportedTopology import_hwloc_xml(const std::string& path);

// Whether import_hwloc_xml runs libhwloc in a child process (the default). Off, it runs in this process: the fuzz
// target turns it off so that a file libhwloc crashes on, which mksim's own checks let through, is a crash it finds.
void set_hwloc_import_isolation(bool on);

// hwloc's own discovery of the running machine, mapped the same way as a file.
ImportedTopology import_this_host();

}  // namespace mksim
