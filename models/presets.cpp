// Machine presets, each a machine section in the config's own form. Sources of the numbers are given per preset and
// collected in docs/calibration.md.
#include "models/presets.hpp"

namespace mksim {

const std::vector<Preset>& machine_presets() {
  static const std::vector<Preset> presets = {
      // 2x Intel Xeon Gold 6230 (Cascade Lake, Dell R740 in ../shared/realdata/hwloc/memorysidecaches.xml without
      // its PMEM nodes): 20 cores/socket at 2.1 GHz, L1d 32 KiB / L2 1 MiB per core, 27.5 MiB L3 per socket (Intel
      // ARK; Intel 64 and IA-32 Optimization Reference Manual, Table 2-6: L1 4-5, L2 14, L3 50-70 cycles); 6 channels
      // DDR4-2933 per socket = 140.8 GB/s peak, ~100 GB/s sustained (STREAM triad); Intel MLC on a 2-socket
      // Cascade Lake: ~81 ns local, ~131 ns remote; 3 UPI links at 10.4 GT/s = 20.8 GB/s each direction per link.
      {"server-2s", "2-socket modern server: 2x Xeon Gold 6230, 40 cores, 2 NUMA nodes", R"({
        "name": "server-2s", "sockets": 2, "cores_per_socket": 20, "nodes_per_socket": 1, "threads_per_core": 2,
        "freq_ghz": 2.1,
        "caches": {"l1": {"size_kib": 32, "latency_cycles": 5}, "l2": {"size_kib": 1024, "latency_cycles": 14},
                   "l3": {"size_kib": 28160, "latency_cycles": 60, "shared_by": "socket"}},
        "memory": {"node_size_gib": 96, "controller_bandwidth_gb_s": 100, "local_latency_ns": 81,
                   "core_bandwidth_gb_s": 14, "core_mlp": 12},
        "interconnect": {"link_bandwidth_gb_s": 62.4, "latency_ns": [[81, 131], [131, 81]]}
      })"},
      // 4x AMD Opteron 6272 (Interlagos, Dell R815 in ../shared/realdata/hwloc/64amd64-4p2n4ca2co.xml): 16 cores per
      // package in 2 dies, each die its own NUMA node with 2 channels DDR3-1600 (25.6 GB/s peak, ~12 GB/s measured)
      // and 6 MiB of L3; 2.1 GHz; L1d 16 KiB (4 cycles), L2 2 MiB per 2-core module (20 cycles; modelled per core
      // as 1 MiB); SLIT 10/16/22 from the machine's firmware (../shared/realdata/numa_distances/
      // dell-r815-4xopteron6272.distance.txt); local latency ~95 ns; HyperTransport 3 links, 6.4 GT/s x 16 bit =
      // 12.8 GB/s each direction.
      {"opteron-4s-64c", "4-socket 64-core Opteron-class NUMA box: 4x Opteron 6272, 8 NUMA nodes", R"({
        "name": "opteron-4s-64c", "sockets": 4, "cores_per_socket": 16, "nodes_per_socket": 2, "dies_per_socket": 2,
        "freq_ghz": 2.1,
        "caches": {"l1": {"size_kib": 16, "latency_cycles": 4}, "l2": {"size_kib": 1024, "latency_cycles": 20},
                   "l3": {"size_kib": 6144, "latency_cycles": 55, "shared_by": "die"}},
        "memory": {"node_size_gib": 32, "controller_bandwidth_gb_s": 12, "local_latency_ns": 95,
                   "core_bandwidth_gb_s": 5, "core_mlp": 8},
        "interconnect": {"link_bandwidth_gb_s": 12.8, "distances": [
          [10, 16, 16, 22, 16, 22, 16, 22], [16, 10, 22, 16, 16, 22, 22, 16], [16, 22, 10, 16, 16, 16, 16, 16],
          [22, 16, 16, 10, 16, 16, 22, 22], [16, 16, 16, 16, 10, 16, 16, 22], [22, 22, 16, 16, 16, 10, 22, 16],
          [16, 22, 16, 22, 16, 22, 10, 16], [22, 16, 16, 22, 22, 16, 16, 10]]}
      })"},
      // 1-socket desktop: Intel Core i9-9900K (Coffee Lake): 8 cores / 16 threads, 3.6 GHz base; L1d 32 KiB
      // (4 cycles), L2 256 KiB (12 cycles), 16 MiB shared L3 (~42 cycles) (Intel Optimization Reference Manual,
      // Skylake client); dual-channel DDR4-2666 = 42.7 GB/s peak, ~35 GB/s sustained; ~70 ns load latency.
      {"desktop-1s", "1-socket desktop: Core i9-9900K, 8 cores, 1 NUMA node", R"({
        "name": "desktop-1s", "sockets": 1, "cores_per_socket": 8, "threads_per_core": 2, "freq_ghz": 3.6,
        "caches": {"l1": {"size_kib": 32, "latency_cycles": 4}, "l2": {"size_kib": 256, "latency_cycles": 12},
                   "l3": {"size_kib": 16384, "latency_cycles": 42, "shared_by": "socket"}},
        "memory": {"node_size_gib": 32, "controller_bandwidth_gb_s": 35, "local_latency_ns": 70,
                   "core_bandwidth_gb_s": 16, "core_mlp": 12}
      })"},
  };
  return presets;
}

const Preset* find_preset(const std::string& name) {
  for (const auto& p : machine_presets())
    if (p.name == name) return &p;
  return nullptr;
}

}  // namespace mksim
