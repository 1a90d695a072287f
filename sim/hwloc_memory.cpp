#include "sim/hwloc_memory.hpp"

#include <fmt/format.h>

#include <cmath>

#include "models/memory_kinds.hpp"

namespace mksim {

namespace {

constexpr double kMiBpsToGBps = 1048576.0 / 1e9;  // hwloc gives bandwidths in MiB/s

// The value of memory attribute `id` for `node` as seen from its own cpuset, or 0 when the file has none.
double attribute(hwloc_topology_t t, hwloc_memattr_id_t id, hwloc_obj_t node) {
  if (!node->cpuset || hwloc_bitmap_iszero(node->cpuset)) return 0;
  hwloc_location loc;
  loc.type = HWLOC_LOCATION_TYPE_CPUSET;
  loc.location.cpuset = node->cpuset;
  hwloc_uint64_t v = 0;
  if (hwloc_memattr_get_value(t, id, node, &loc, 0, &v) != 0) return 0;
  return static_cast<double>(v);
}

}  // namespace

void import_memory_kinds(hwloc_topology_t t, const std::vector<hwloc_obj_t>& node_objs, ImportedTopology& out) {
  int with_figures = 0;
  for (size_t i = 0; i < node_objs.size() && i < out.machine.nodes.size(); ++i) {
    hwloc_obj_t o = node_objs[i];
    NumaNode& nd = out.machine.nodes[i];
    if (o->subtype && *o->subtype) nd.kind = memory_kind_name(o->subtype);
    // A memory-only node is local to the node of the first core its cpuset holds (HBM beside the DRAM of a group).
    bool has_cores = false;
    for (const auto& c : out.machine.cores) has_cores = has_cores || c.node == nd.id;
    if (!has_cores && o->cpuset)
      for (const auto& c : out.machine.cores)
        if (!c.pu_os_index.empty() && hwloc_bitmap_isset(o->cpuset, static_cast<unsigned>(c.pu_os_index.front()))) {
          out.local_to[nd.id] = c.node;
          break;
        }
    auto& read = out.memory_figures_read[nd.id];
    const double bw = attribute(t, HWLOC_MEMATTR_ID_BANDWIDTH, o);
    const double rbw = attribute(t, HWLOC_MEMATTR_ID_READ_BANDWIDTH, o);
    const double wbw = attribute(t, HWLOC_MEMATTR_ID_WRITE_BANDWIDTH, o);
    const double lat = attribute(t, HWLOC_MEMATTR_ID_LATENCY, o);
    const double rlat = attribute(t, HWLOC_MEMATTR_ID_READ_LATENCY, o);
    if (rbw > 0 || bw > 0) {
      nd.controller_bandwidth_gb_s = (rbw > 0 ? rbw : bw) * kMiBpsToGBps;
      read.insert("read_bandwidth_gb_s");
    }
    if (wbw > 0 || bw > 0) {
      nd.write_bandwidth_gb_s = (wbw > 0 ? wbw : bw) * kMiBpsToGBps;
      read.insert("write_bandwidth_gb_s");
    }
    if (rlat > 0 || lat > 0) {
      nd.local_latency_ns = rlat > 0 ? rlat : lat;
      read.insert("latency_ns");
    }
    if (read.empty())
      out.memory_figures_read.erase(nd.id);
    else
      ++with_figures;
  }
  if (with_figures > 0)
    out.notes.push_back(
        fmt::format("{} NUMA nodes have memory attributes (bandwidth, latency) in the file", with_figures));
}

}  // namespace mksim
