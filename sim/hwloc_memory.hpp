// Memory kinds and memory attributes of a hwloc topology's NUMA nodes (issue 17): each node's subtype (DRAM, HBM,
// NVM, MCDRAM, ...) as its kind, and the bandwidth and latency hwloc's memory attributes give for it as seen from
// its local cores (hwloc 2.3+: Bandwidth, Latency; 2.8+: ReadBandwidth, WriteBandwidth, ReadLatency), in MiB/s and
// ns. Figures a file does not give stay unset: sim/machine_config.cpp fills them from the config or the kind's
// defaults (models/memory_kinds.hpp) and records which were read and which assumed.
#pragma once

#include <hwloc.h>

#include <vector>

#include "sim/hwloc_import.hpp"

namespace mksim {

// `node_objs[i]` is the hwloc object of out.machine.nodes[i].
void import_memory_kinds(hwloc_topology_t t, const std::vector<hwloc_obj_t>& node_objs, ImportedTopology& out);

}  // namespace mksim
