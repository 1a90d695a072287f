// Machine presets, each a machine section in the config's own form. Every constant names its source in the comment
// above its preset: [datasheet] a vendor data sheet, product page or architecture manual; [guide] a vendor optimisation
// guide; [measured] a published measurement of that constant (lmbench/MLC-style microbenchmarks, papers); [estimate]
// no source was found; [fitted: CASE] fitted to a published outcome, which makes that validation case a calibration
// (validation/cases.json lists the parameters and the cases they were fitted to). docs/calibration.md collects them.
// Memory per NUMA node (memory.node_size_gib) is an [estimate] of a typical configuration of each machine unless its
// comment gives a source: no case depends on it.
// A preset without a `cpu` section has the default hardware costs of privileged operations (a current x86 core with a
// tagged TLB: kernel entry + exit 60 cycles [estimate], address-space switch 100 [estimate: the address-space part of
// seL4's 301-cycle IPC], page walk 30 [estimate: four dependent loads, page tables in the L1/L2]).
#include "models/presets.hpp"

namespace mksim {

namespace {

// The 2-socket Cascade Lake (2x Xeon Gold 6230) that server-2s and xeon-2s-mlc (the name the MLC validation cases
// use) describe; the sources of its figures are in the comments above both presets.
std::string cascade_lake_2s(const char* name) {
  return std::string(R"({"name": ")") + name + R"(", "sockets": 2, "cores_per_socket": 20, "nodes_per_socket": 1,
        "threads_per_core": 2, "freq_ghz": 2.1,
        "caches": {"l1": {"size_kib": 32, "latency_cycles": 5}, "l2": {"size_kib": 1024, "latency_cycles": 14},
                   "l3": {"size_kib": 28160, "latency_cycles": 60, "shared_by": "socket"}},
        "memory": {"node_size_gib": 96, "controller_bandwidth_gb_s": 100, "local_latency_ns": 81,
                   "core_bandwidth_gb_s": 14, "core_mlp": 12},
        "interconnect": {"link_bandwidth_gb_s": 62.4, "latency_ns": [[81, 141], [141, 81]]}})";
}

}  // namespace

const std::vector<Preset>& machine_presets() {
  static const std::vector<Preset> presets = {
      // 2x Intel Xeon Gold 6230 (Cascade Lake, Dell R740 in data/realdata/hwloc/memorysidecaches.xml without
      // its PMEM nodes): 20 cores/socket at 2.1 GHz, L1d 32 KiB / L2 1 MiB per core, 27.5 MiB L3 per socket
      // [datasheet: Intel ARK]; latencies L1 5, L2 14, L3 60 cycles [guide: Intel 64 and IA-32 Optimization Reference
      // Manual, Table 2-6: L1 4-5, L2 14, L3 50-70]; 6 channels DDR4-2933 per socket = 140.8 GB/s peak [datasheet],
      // 100 GB/s sustained [estimate: ~70% of peak, STREAM-triad-like]; local 81 ns [measured: Intel MLC v3.10 on a
      // 2-socket Cascade Lake, 80.8 / 81.5 ns (G. J. Bex, Code-optimization, info/cascadelake_mlc.txt)]; remote 141 ns
      // [measured: the same MLC run, 140.4 / 141.6 ns; an estimate of 131 ns until it became xeon-2s-mlc's figure];
      // 3 UPI links at 10.4 GT/s = 20.8 GB/s each direction per link [datasheet], 62.4 GB/s together; per-core
      // bandwidth 14 GB/s and 12 misses in flight [estimate].
      {"server-2s", "2-socket modern server: 2x Xeon Gold 6230, 40 cores, 2 NUMA nodes", cascade_lake_2s("server-2s"),
       "Intel ARK and Optimization Reference Manual (caches), STREAM triad (bandwidth), Intel MLC (latencies), UPI "
       "link rate"},
      // 4x AMD Opteron 6272 (Interlagos, Dell R815 in data/realdata/hwloc/64amd64-4p2n4ca2co.xml): 16 cores per
      // package in 2 dies, each die its own NUMA node with 6 MiB of L3, 2.1 GHz [datasheet: AMD product data; the
      // hwloc topology]; 2 channels DDR3-1600 per die (25.6 GB/s peak [datasheet], 12 GB/s sustained [estimate]);
      // L1d 16 KiB (4 cycles), L2 2 MiB per 2-core module (20 cycles; modelled per core as 1 MiB), L3 55 cycles
      // [guide: AMD Software Optimization Guide for family 15h]; SLIT 10/16/22 [measured: the machine's firmware,
      // data/realdata/numa_distances/dell-r815-4xopteron6272.distance.txt]; local latency 95 ns [estimate];
      // HyperTransport 3 links, 6.4 GT/s x 16 bit = 12.8 GB/s each direction [datasheet]; per-core bandwidth 5 GB/s
      // and 8 misses in flight [estimate]. Untagged TLB [datasheet: family 15h has no PCID (AMD added it with Zen 3),
      // and its ASIDs tag only SVM guests; AMD64 Architecture Programmer's Manual, vol. 2, 5.5 and 15.16].
      {"opteron-4s-64c", "4-socket 64-core Opteron-class NUMA box: 4x Opteron 6272, 8 NUMA nodes", R"({
        "name": "opteron-4s-64c", "sockets": 4, "cores_per_socket": 16, "nodes_per_socket": 2, "dies_per_socket": 2,
        "freq_ghz": 2.1,
        "caches": {"l1": {"size_kib": 16, "latency_cycles": 4}, "l2": {"size_kib": 1024, "latency_cycles": 20},
                   "l3": {"size_kib": 6144, "latency_cycles": 55, "shared_by": "die"}},
        "memory": {"node_size_gib": 32, "controller_bandwidth_gb_s": 12, "local_latency_ns": 95,
                   "core_bandwidth_gb_s": 5, "core_mlp": 8},
        "cpu": {"tagged_tlb": false},
        "interconnect": {"link_bandwidth_gb_s": 12.8, "distances": [
          [10, 16, 16, 22, 16, 22, 16, 22], [16, 10, 22, 16, 16, 22, 22, 16], [16, 22, 10, 16, 16, 16, 16, 16],
          [22, 16, 16, 10, 16, 16, 22, 22], [16, 16, 16, 16, 10, 16, 16, 22], [22, 22, 16, 16, 16, 10, 22, 16],
          [16, 22, 16, 22, 16, 22, 10, 16], [22, 16, 16, 22, 22, 16, 16, 10]]}
      })",
       "AMD Opteron 6272 data sheet and Software Optimization Guide (caches), Dell R815 firmware SLIT, HyperTransport "
       "3 link rate, AMD64 APM vol. 2 (no PCID)"},
      // 1-socket desktop: Intel Core i9-9900K (Coffee Lake): 8 cores / 16 threads, 3.6 GHz base, L1d 32 KiB, L2
      // 256 KiB, 16 MiB shared L3 [datasheet: Intel ARK]; L1 4, L2 12, L3 42 cycles [guide: Intel Optimization
      // Reference Manual, Skylake client]; dual-channel DDR4-2666 = 42.7 GB/s peak [datasheet], 35 GB/s sustained,
      // 70 ns load latency, 16 GB/s and 12 misses in flight per core [estimates].
      {"desktop-1s", "1-socket desktop: Core i9-9900K, 8 cores, 1 NUMA node", R"({
        "name": "desktop-1s", "sockets": 1, "cores_per_socket": 8, "threads_per_core": 2, "freq_ghz": 3.6,
        "caches": {"l1": {"size_kib": 32, "latency_cycles": 4}, "l2": {"size_kib": 256, "latency_cycles": 12},
                   "l3": {"size_kib": 16384, "latency_cycles": 42, "shared_by": "socket"}},
        "memory": {"node_size_gib": 32, "controller_bandwidth_gb_s": 35, "local_latency_ns": 70,
                   "core_bandwidth_gb_s": 16, "core_mlp": 12}
      })",
       "Intel ARK and Optimization Reference Manual, Skylake client (caches), DDR4-2666 dual channel (bandwidth, ~70 "
       "ns)"},
      // The four machines of Baumann et al., "The Multikernel", SOSP 2009, section 2 / Figure 2 and the evaluation
      // (the ETH machines nos, sbrinz and gruyere of the Barrelfish test harness, tools/harness/machines/
      // eth_machinedata.py: 4 cores at 2.8 GHz, 16 at 2.5 GHz, 32 at 2.0 GHz). Cache sizes and latencies: AMD
      // Opteron product data sheets and Software Optimization Guides for family 0Fh (K8) and 10h (K10); Intel ARK and
      // Optimization Reference Manual (Core microarchitecture). The AMD machines have no probe filter: a home node
      // completes a memory access only once every node has answered its broadcast probe (Conway & Hughes, "The AMD
      // Opteron Northbridge Architecture", IEEE Micro 27(2), 2007), so local latency grows with the machine's
      // diameter, and 35 ns per hop to remote memory (AMD 40555, "Performance Guidelines for AMD Athlon 64 and AMD
      // Opteron ccNUMA Multiprocessor Systems", 2006, Figures 4-5: reads 1 hop away take 8-9% and 2 hops 30% longer on
      // a 4P K8). A cache-line transfer between cores costs the home node's local latency whatever their distance,
      // plus the line's crossing of one link between packages (models/costs.hpp). HyperTransport at 1 GHz (2 GT/s x
      // 16 bit = 4 GB/s each direction per link) [datasheet].
      // What these comments call ~N ns are [estimate]s: the local latencies 65 / 80 / 105 ns of the 2x2 / 4x4 / 8x4
      // machines grow with each machine's diameter (1, 2, 3 hops) but follow no formula, and the 35 ns per hop to
      // remote memory is an estimate (AMD 40555 only gives percentages for a 4P K8). Sustained bandwidths, per-core
      // bandwidths and misses in flight are [estimate]s too; cache sizes and latencies are [datasheet]/[guide].
      // Privileged operations: none of the three microarchitectures (K8, K10, Core) tags TLB entries with an address
      // space for native code (ASIDs on AMD and VPIDs on Intel tag virtual-machine guests only; PCID came with
      // Westmere), so an address-space switch flushes the TLB and each page touched afterwards costs a page walk.
      // Kernel entry + exit and the page-table root load keep the defaults (estimates: no measurement of them on
      // these CPUs was found). K8's page walk is an estimate (four dependent loads without a page-walk cache, the
      // page-table entries in the L1/L2: ~30 cycles); K10's and Core 2's walks are fitted to the same-core LRPC of
      // Baumann et al., Table 1 (the 4x4-core row for K10, the 2x4-core row for Core 2), whose software part (the
      // Barrelfish CPU driver's dispatch, multikernel.context_switch_cycles) is fitted to the 2x2-core (K8) row.

      // 2x2-core AMD: Tyan Thunder n6650W, 2x dual-core Opteron 2220 (K8 rev F, 90 nm) at 2.8 GHz, joined by two HT
      // links; L1d 64 KiB (3 cycles), private 1 MiB L2 per core (12 cycles), no L3 [datasheet; guide: family 0Fh];
      // DDR2-667, 2 channels per socket (10.7 GB/s peak [datasheet], ~6.4 GB/s sustained [estimate]); local ~65 ns,
      // remote ~100 ns [estimates, see above]; the two HT links together 2 x 4 = 8 GB/s each direction [datasheet].
      // K8: untagged TLB [datasheet]; page walk 30 cycles [fitted: mk-t3-l4-latency; it began as a per-case override
      // of that case and nothing else pins it]; broadcast coherence [datasheet: no probe filter] (no cache is shared,
      // so no transfer changes).
      {"amd-2x2-2009", "Multikernel paper 2x2-core AMD: 2x Opteron 2220 (K8) at 2.8 GHz, 4 cores, 2 NUMA nodes", R"({
        "name": "amd-2x2-2009", "sockets": 2, "cores_per_socket": 2, "freq_ghz": 2.8,
        "caches": {"l1": {"size_kib": 64, "latency_cycles": 3}, "l2": {"size_kib": 1024, "latency_cycles": 12},
                   "l3": {"size_kib": 0}},
        "memory": {"node_size_gib": 4, "controller_bandwidth_gb_s": 6.4, "local_latency_ns": 65,
                   "core_bandwidth_gb_s": 4, "core_mlp": 8},
        "cpu": {"tagged_tlb": false, "page_walk_cycles": 30},
        "coherence": {"protocol": "broadcast"},
        "interconnect": {"link_bandwidth_gb_s": 8, "links": [[0, 1]], "hop_latency_ns": 35}
      })",
       "Baumann et al., The Multikernel, SOSP 2009; AMD Opteron data sheets, AMD 40555 (NUMA latencies, estimates)"},
      // 4x4-core AMD: Supermicro H8QM3-2, 4x quad-core Opteron 8380 (Shanghai, K10, 45 nm) at 2.5 GHz in a square,
      // each socket linked to 2 neighbours (2 hops across); L1d 64 KiB (3 cycles), private 512 KiB L2 (15 cycles),
      // 6 MiB L3 per socket (48 cycles) [datasheet; guide: family 10h]; DDR2-800, 2 channels (12.8 GB/s peak
      // [datasheet], ~8 GB/s sustained [estimate]); local ~80 ns [estimate]. K10: untagged TLB [datasheet]; page walk
      // 206.5 cycles [fitted: mk-t1-lrpc-amd-4x4, Table 1's 4x4-core row, 1,463 cycles]. Broadcast coherence
      // [datasheet: Shanghai has no probe filter; HT Assist came with Istanbul]: a line in another core's L2 costs a
      // memory access, not an L3 hit [measured: a ping-pong between two cores of one Barcelona die takes ~76 ns a way,
      // about a local memory access: AnandTech, Cache2Cache, 2007]; the home node takes one coherent request per
      // 37.5 ns [fitted: mk-f3-shm-16-extra, Figure 3 of the Multikernel paper: 16 cores updating 8 shared lines,
      // 12,000 extra cycles].
      {"amd-4x4-2009", "Multikernel paper 4x4-core AMD: 4x Opteron 8380 (K10) at 2.5 GHz, 16 cores, square HT", R"({
        "name": "amd-4x4-2009", "sockets": 4, "cores_per_socket": 4, "freq_ghz": 2.5,
        "caches": {"l1": {"size_kib": 64, "latency_cycles": 3}, "l2": {"size_kib": 512, "latency_cycles": 15},
                   "l3": {"size_kib": 6144, "latency_cycles": 48, "shared_by": "socket"}},
        "memory": {"node_size_gib": 4, "controller_bandwidth_gb_s": 8, "local_latency_ns": 80,
                   "core_bandwidth_gb_s": 5, "core_mlp": 8},
        "cpu": {"tagged_tlb": false, "page_walk_cycles": 206.5},
        "coherence": {"protocol": "broadcast", "home_occupancy_ns": 37.5},
        "interconnect": {"link_bandwidth_gb_s": 4, "links": [[0, 1], [1, 3], [3, 2], [2, 0]], "hop_latency_ns": 35}
      })",
       "Baumann et al., The Multikernel, SOSP 2009 (Table 1 and Figure 3 fits); AMD K10 Software Optimization Guide; "
       "AMD 40555"},
      // 8x4-core AMD: Tyan Thunder S4985 with M4985 daughter card, 8x quad-core Opteron 8350 (Barcelona, K10, 65 nm)
      // at 2.0 GHz; HT links as the paper's Figure 2: a twisted ladder, at most 3 hops, 1.8 on average (Conway &
      // Hughes 2007 give the same 8-socket topology); L1d 64 KiB (3 cycles), private 512 KiB L2 (15 cycles), 2 MiB L3
      // per socket (48 cycles) [datasheet; guide: family 10h]; DDR2-667, 2 channels (10.7 GB/s peak [datasheet],
      // ~6.4 GB/s sustained [estimate]); local ~105 ns [estimate]. K10 CPU costs and coherence as the 4x4-core AMD's
      // [fitted there: mk-t1-lrpc-amd-4x4 and mk-f3-shm-16-extra], so Table 1's 8x4-core row returns the 4x4-core
      // fit (a consistency check, not a prediction).
      {"amd-8x4-2009", "Multikernel paper 8x4-core AMD: 8x Opteron 8350 (K10) at 2.0 GHz, 32 cores, HT twisted ladder",
       R"({
        "name": "amd-8x4-2009", "sockets": 8, "cores_per_socket": 4, "freq_ghz": 2.0,
        "caches": {"l1": {"size_kib": 64, "latency_cycles": 3}, "l2": {"size_kib": 512, "latency_cycles": 15},
                   "l3": {"size_kib": 2048, "latency_cycles": 48, "shared_by": "socket"}},
        "memory": {"node_size_gib": 2, "controller_bandwidth_gb_s": 6.4, "local_latency_ns": 105,
                   "core_bandwidth_gb_s": 4, "core_mlp": 8},
        "cpu": {"tagged_tlb": false, "page_walk_cycles": 206.5},
        "coherence": {"protocol": "broadcast", "home_occupancy_ns": 37.5},
        "interconnect": {"link_bandwidth_gb_s": 4, "hop_latency_ns": 35, "links": [
          [0, 2], [2, 4], [4, 6], [1, 3], [3, 5], [5, 7], [0, 1], [6, 7], [2, 5], [3, 4]]}
      })",
       "Baumann et al., The Multikernel, SOSP 2009 (Figure 2 topology); AMD K10 Software Optimization Guide; Conway & "
       "Hughes 2007"},
      // 2x4-core Intel: Intel S5000XVN, 2x quad-core Xeon X5355 (Clovertown, Core microarchitecture, 65 nm) at
      // 2.66 GHz; each package holds 2 dies of 2 cores sharing a 4 MiB L2 (14 cycles); L1d 32 KiB (3 cycles); one
      // external memory controller (5000X) behind the front-side bus, 1333 MT/s = 10.7 GB/s per bus, FB-DIMM DDR2-667
      // [datasheet; guide: Core microarchitecture] (~105 ns load latency [estimate]; of it the DRAM's row activation
      // and column access, tRCD + CL = 15 + 15 ns [datasheet: JEDEC DDR2-667 speed bin 5-5-5], skipped when the other
      // die's cache answers a snoop on the bus). The memory is uniform; mksim
      // gives each socket a node with the same latency everywhere (a UMA machine) and half the sustained bandwidth
      // (~4 GB/s per bus [estimate]); the bus, 1333 MT/s x 8 bytes = 10.7 GB/s [datasheet], joins the two; per-core
      // bandwidth 3 GB/s and 8 misses in flight [estimate]. Core: untagged TLB [datasheet]; page walk 52 cycles
      // [fitted: mk-t1-lrpc-intel-2x4, Table 1's 2x4-core row, 845 cycles].
      {"intel-2x4-2009", "Multikernel paper 2x4-core Intel: 2x Xeon X5355 at 2.66 GHz, 8 cores, front-side bus (UMA)",
       R"({
        "name": "intel-2x4-2009", "sockets": 2, "cores_per_socket": 4, "dies_per_socket": 2, "freq_ghz": 2.66,
        "caches": {"l1": {"size_kib": 32, "latency_cycles": 3},
                   "l2": {"size_kib": 4096, "latency_cycles": 14, "shared_by": "die"}, "l3": {"size_kib": 0}},
        "memory": {"node_size_gib": 4, "controller_bandwidth_gb_s": 4, "local_latency_ns": 105,
                   "core_bandwidth_gb_s": 3, "core_mlp": 8, "dram_access_ns": 30},
        "cpu": {"tagged_tlb": false, "page_walk_cycles": 52},
        "interconnect": {"link_bandwidth_gb_s": 10.7, "latency_ns": [[105, 105], [105, 105]]}
      })",
       "Baumann et al., The Multikernel, SOSP 2009 (Table 1 fit); Intel ARK and Optimization Reference Manual (Core)"},
      // Core i7-4770 (Haswell) at 3.4 GHz, the seL4 IPC measurement machine (trustworthy.systems, seL4 comparative
      // performance): 4 cores / 8 threads, L1d 32 KiB (4 cycles), L2 256 KiB (12 cycles), 8 MiB L3 (36 cycles)
      // [datasheet: Intel ARK; guide: Intel Optimization Reference Manual, Haswell; measured: 7-cpu.com Haswell];
      // dual-channel DDR3-1600 = 25.6 GB/s peak [datasheet], ~20 GB/s sustained and ~65 ns load latency, per-core
      // bandwidth 12 GB/s and 10 misses in flight [estimates].
      // CPU costs: the defaults; Haswell has PCID, so the default tagged TLB is right [datasheet: Intel SDM vol. 3].
      {"haswell-i7-4770", "Core i7-4770 (Haswell) at 3.4 GHz, 4 cores, 1 NUMA node", R"({
        "name": "haswell-i7-4770", "sockets": 1, "cores_per_socket": 4, "threads_per_core": 2, "freq_ghz": 3.4,
        "caches": {"l1": {"size_kib": 32, "latency_cycles": 4}, "l2": {"size_kib": 256, "latency_cycles": 12},
                   "l3": {"size_kib": 8192, "latency_cycles": 36, "shared_by": "socket"}},
        "memory": {"node_size_gib": 16, "controller_bandwidth_gb_s": 20, "local_latency_ns": 65,
                   "core_bandwidth_gb_s": 12, "core_mlp": 10}
      })",
       "seL4 comparative performance (machine); Intel Optimization Reference Manual, Haswell; 7-cpu.com"},
      // Core i7-920 (Nehalem/Bloomfield) at 2.66 GHz, the NOVA IPC measurement machine (Steinberg & Kauer, "NOVA: A
      // Microhypervisor-Based Secure Virtualization Architecture", EuroSys 2010): 4 cores / 8 threads, L1d 32 KiB
      // (4 cycles), L2 256 KiB (10 cycles), 8 MiB L3 (38 cycles) [datasheet; guide: Intel Optimization Reference
      // Manual, Nehalem]; triple-channel DDR3-1066 = 25.6 GB/s peak [datasheet], ~15 GB/s sustained and ~65 ns load
      // latency, per-core bandwidth 10 GB/s and 10 misses in flight [estimates]. Untagged TLB [datasheet: Intel SDM
      // vol. 3, 4.10.1: PCID came with Westmere; Nehalem's VPIDs tag VMX guests only] (this preset said tagged until
      // issue 14: wrong against that source); page walk the default 30 cycles [estimate].
      {"nehalem-i7-920", "Core i7-920 (Nehalem) at 2.66 GHz, 4 cores, 1 NUMA node", R"({
        "name": "nehalem-i7-920", "sockets": 1, "cores_per_socket": 4, "threads_per_core": 2, "freq_ghz": 2.66,
        "caches": {"l1": {"size_kib": 32, "latency_cycles": 4}, "l2": {"size_kib": 256, "latency_cycles": 10},
                   "l3": {"size_kib": 8192, "latency_cycles": 38, "shared_by": "socket"}},
        "memory": {"node_size_gib": 6, "controller_bandwidth_gb_s": 15, "local_latency_ns": 65,
                   "core_bandwidth_gb_s": 10, "core_mlp": 10},
        "cpu": {"tagged_tlb": false}
      })",
       "Steinberg & Kauer, NOVA, EuroSys 2010 (machine); Intel Optimization Reference Manual, Nehalem"},
      // A 2-socket Cascade Lake measured with Intel MLC v3.10 (idle latencies, random access): 80.8 / 81.5 ns local,
      // 140.4 / 141.6 ns remote [measured: G. J. Bex, Code-optimization, info/cascadelake_mlc.txt, 2023]: 81 and
      // 141 ns here. (Until issue 14 the remote figure was 131 ns, attributed to the Intel MLC tool page, which
      // publishes no latencies: wrong against its cited source.) Structure of a 2-socket Cascade Lake (2x Xeon Gold
      // 6230: 20 cores/socket at 2.1 GHz, L1d 32 KiB, L2 1 MiB, 27.5 MiB L3 per socket [datasheet: Intel ARK]), cache
      // latencies as server-2s [guide], 6 channels DDR4-2933 per socket (~100 GB/s sustained [estimate]), 3 UPI links
      // at 10.4 GT/s [datasheet]; per-core bandwidth 14 GB/s and 12 misses in flight [estimate]. A 2-socket Skylake-SP
      // (Xeon Platinum 8180) measured with MLC 3.5 shows 81.1 ns local and 140-145 ns remote (FD.io CSIT, "Xeon
      // Skylake HW Calibration").
      {"xeon-2s-mlc", "2-socket Xeon with the Intel MLC idle latencies 81 ns local / 141 ns remote, 40 cores",
       cascade_lake_2s("xeon-2s-mlc"),
       "G. J. Bex, Intel MLC v3.10 on a 2-socket Cascade Lake (cascadelake_mlc.txt, 2023); Intel ARK (Xeon Gold 6230); "
       "FD.io CSIT Skylake calibration"},
      // Intel Xeon Phi 7250 (Knights Landing) in flat memory mode, quadrant cluster mode: two memory kinds, the 96 GiB
      // of DDR4 on NUMA node 0 with the cores and the 16 GiB of on-package MCDRAM as the memory-only NUMA node 1 (as
      // Linux shows it in flat mode). 68 cores at 1.4 GHz, 4 hardware threads each, in 34 tiles of 2 cores sharing a
      // 1 MiB L2; L1d 32 KiB; no L3 [datasheet: Intel ARK; Sodani et al., "Knights Landing: Second-Generation Intel
      // Xeon Phi Product", IEEE Micro 36(2), 2016]; L1 4 and L2 17 cycles [guide: Intel Xeon Phi x200 optimization
      // notes, as Jeffers, Reinders, Sodani 2016]; STREAM triad 90 GB/s from DDR4 and 490 GB/s from MCDRAM in flat
      // mode [measured: K. Raman, "Optimizing Memory Bandwidth in Knights Landing on Stream Triad", Intel 2016];
      // idle load latency about 130 ns from DDR4 and 154 ns from MCDRAM in flat-quadrant mode [measured: J. D.
      // McCalpin, "Memory Latency on the Intel Xeon Phi x200 Knights Landing processor", 2016]; 24 misses in flight
      // and 12 GB/s per core [estimate: the L2's hardware prefetcher keeps more lines in flight than the L1's 12].
      // The validation cases knl-stream-* follow from these inputs (role consistency).
      {"knl-7250-flat", "Xeon Phi 7250 (Knights Landing), flat mode: 68 cores, DDR4 node + 16 GiB MCDRAM node", R"({
        "name": "knl-7250-flat", "sockets": 1, "cores_per_socket": 68, "dies_per_socket": 34, "threads_per_core": 4,
        "freq_ghz": 1.4,
        "caches": {"l1": {"size_kib": 32, "latency_cycles": 4},
                   "l2": {"size_kib": 1024, "latency_cycles": 17, "shared_by": "die"}, "l3": {"size_kib": 0}},
        "memory": {"node_size_gib": 96, "controller_bandwidth_gb_s": 90, "local_latency_ns": 130,
                   "core_bandwidth_gb_s": 12, "core_mlp": 24,
                   "memory_nodes": [{"kind": "MCDRAM", "package": 0, "size_gib": 16}],
                   "kinds": {"HBM": {"read_bandwidth_gb_s": 490, "write_bandwidth_gb_s": 490, "latency_ns": 154}}}
      })",
       "Intel ARK and Sodani et al., IEEE Micro 2016 (structure); Raman, Intel 2016 (STREAM triad, flat mode); "
       "McCalpin 2016 (idle latencies)"},
      // Sun Enterprise 5000 with 14 UltraSPARC-II processors at 400 MHz, the machine of the Hoard measurements (Berger,
      // McKinley, Blumofe, Wilson, ASPLOS 2000, section 5): a bus-based SMP (Gigaplane, 83 MHz, ~2.6 GB/s; Singhal et
      // al., "Gigaplane: A High Performance Bus for Large SMPs", Hot Interconnects 1996), uniform memory; per processor
      // 16 KiB L1d (2 cycles) and a 4 MiB external L2 (E-cache, ~10 cycles) [datasheet: Sun UltraSPARC-II User's
      // Manual]; ~300 ns load latency and cache-to-cache transfer over the bus, 1.6 GB/s sustained of the bus's 2.6,
      // 0.6 GB/s and ~3 misses in flight per processor [estimates].
      {"sun-e5000-14", "Sun Enterprise 5000: 14x UltraSPARC-II at 400 MHz on one bus (UMA), the Hoard paper's machine",
       R"({
        "name": "sun-e5000-14", "sockets": 1, "cores_per_socket": 14, "freq_ghz": 0.4,
        "caches": {"l1": {"size_kib": 16, "latency_cycles": 2}, "l2": {"size_kib": 4096, "latency_cycles": 10},
                   "l3": {"size_kib": 0}},
        "memory": {"node_size_gib": 2, "controller_bandwidth_gb_s": 1.6, "local_latency_ns": 300,
                   "core_bandwidth_gb_s": 0.6, "core_mlp": 3}
      })",
       "Berger et al., Hoard, ASPLOS 2000 (machine); Sun UltraSPARC-II User's Manual; Singhal et al., Gigaplane, 1996"},
      // The machine of Li, Ding, Shen, "Quantifying the cost of context switch", ExpCS 2007, section 3: a
      // dual-processor 2.0 GHz Intel Xeon (NetBurst) with a 512 KiB L2 and 128-byte lines, Linux 2.6.17 [the paper].
      // 2 sockets x 1 core at 2.0 GHz; L1d 8 KiB at 2 cycles [guide: Intel Pentium 4 and Xeon (NetBurst) optimisation
      // manual, integer load-to-use]; L2 512 KiB [the paper] at 18 cycles [estimate]; no L3; NetBurst has no PCID, so
      // the TLB is untagged [datasheet: Intel SDM vol. 3, 4.10.1]; ~120 ns memory latency, 2.5 GB/s and 4 misses in
      // flight [estimates]; 1 GiB per node [estimate]. Its kernel entry, address-space switch and page walk keep the
      // machine.cpu defaults (estimates for a current x86 core): no published measurement of them on NetBurst was
      // found (docs/calibration.md).
      {"xeon-netburst-2007", "dual-processor 2.0 GHz NetBurst Xeon, 512 KiB L2: Li, Ding and Shen's machine (2007)",
       R"({
        "name": "xeon-netburst-2007", "sockets": 2, "cores_per_socket": 1, "freq_ghz": 2.0,
        "caches": {"l1": {"size_kib": 8, "latency_cycles": 2}, "l2": {"size_kib": 512, "latency_cycles": 18},
                   "l3": {"size_kib": 0}},
        "memory": {"node_size_gib": 1, "controller_bandwidth_gb_s": 2.5, "local_latency_ns": 120,
                   "core_bandwidth_gb_s": 2.5, "core_mlp": 4},
        "cpu": {"tagged_tlb": false}
      })",
       "Li, Ding, Shen, ExpCS 2007 (machine); Intel NetBurst optimisation manual (L1); Intel SDM vol. 3 (no PCID)"},
  };
  return presets;
}

const Preset* find_preset(const std::string& name) {
  for (const auto& p : machine_presets())
    if (p.name == name) return &p;
  return nullptr;
}

}  // namespace mksim
