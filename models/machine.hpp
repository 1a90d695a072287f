// The simulated machine: packages (sockets), dies, NUMA nodes with their memory controllers, cores with their caches,
// and the interconnect between NUMA nodes. A plain description (no SimGrid, no JSON): built from a config, a preset or
// a hwloc topology, then handed to the platform builder and to the cost functions in costs.hpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mksim {

enum class CacheScope { Core, Die, Socket, Node };

struct Cache {
  int level = 1;  // 1, 2, 3 ...
  uint64_t size_bytes = 0;
  uint32_t line_bytes = 64;
  double hit_latency_cycles = 4;
  std::vector<int> cores;  // cores sharing this cache instance
};

// What the core's privileged operations cost in hardware, for kernel models to combine with their own software path
// lengths (docs/calibration.md gives each preset's numbers and their sources).
struct CpuCosts {
  double kernel_entry_exit_cycles = 60;      // one entry into the kernel and the return to user mode (syscall + sysret)
  double address_space_switch_cycles = 100;  // loading another address space's page-table root (CR3 write), including
                                             // the TLB flush it implies on an untagged TLB
  bool tagged_tlb = true;                    // TLB entries carry an address-space tag (PCID/ASID) and survive a switch
  double page_walk_cycles = 30;              // refilling one TLB entry after a flush (a page walk, tables in cache)
};

struct Core {
  int id = 0;
  int package = 0;
  int die = 0;                   // global die index (a die/CCX shares an LLC)
  int node = 0;                  // NUMA node whose memory is local to this core
  double freq_ghz = 2.5;         // the default of machine.freq_ghz (sim/machine_config.cpp reads it from here)
  int hw_threads = 1;            // SMT siblings (PUs) on this core
  std::vector<int> pu_os_index;  // OS indexes of its PUs, when known (hwloc)
  int smt_core = -1;             // with SMT simulated (Machine::smt): the physical core this context belongs to
                                 // (0 .. physical cores - 1); -1: the core is its own (one context per core)
  std::vector<int> caches;       // indexes into Machine::caches, smallest level first
  CpuCosts costs;                // privileged-operation costs of this core's CPU
};

// One NUMA node's memory: what it is made of (its kind), how much there is, how fast it reads and writes and how far
// it is from the cores nearest it. A node may have no cores (a memory-only node: HBM beside DDR, a CXL expander, the
// MCDRAM of a Knights Landing in flat mode); its memory is then reached from the node of the cores nearest it
// (Machine::nearest_cpu_node). Defaults by kind and their sources: models/memory_kinds.hpp.
struct NumaNode {
  int id = 0;
  int package = 0;
  uint64_t memory_bytes = 0;              // capacity
  double controller_bandwidth_gb_s = 20;  // 1e9 bytes/s the memory controller sustains for reads (and in all)
  double local_latency_ns = 80;           // idle load-to-use latency from the cores nearest it
  std::string kind = "DRAM";              // DRAM, HBM, NVM, CXL or the name hwloc gives (its NUMA node subtype)
  double write_bandwidth_gb_s = 0;        // 1e9 bytes/s for writes; 0: the same as for reads (no asymmetry)

  double read_bandwidth_gb_s() const { return controller_bandwidth_gb_s; }
  double write_gb_s() const { return write_bandwidth_gb_s > 0 ? write_bandwidth_gb_s : controller_bandwidth_gb_s; }
};

struct Interconnect {
  // latency_ns[i][j]: load latency of a core on node i reading memory of node j (diagonal = local latency).
  std::vector<std::vector<double>> latency_ns;
  // hops[i][j]: interconnect hops between nodes i and j (0 on the diagonal).
  std::vector<std::vector<int>> hops;
  double link_bandwidth_gb_s = 12;  // 1e9 bytes/s each direction; the default of machine.interconnect
  // Physical links between nodes. Empty: every pair of nodes has its own direct link (a full mesh).
  std::vector<std::pair<int, int>> links;
};

// How the caches keep coherent, for cache-line transfers between cores (models/costs.hpp, models/coherence.hpp).
enum class CoherenceProtocol {
  Directory,  // a request goes to the point that knows the holder, which snoops it: a cache the two cores share (twice
              // its hit latency), or across nodes the owner's node-wide last-level cache; otherwise it crosses the
              // interconnect (models/costs.hpp, line_transfer_ns)
  Broadcast,  // nothing filters requests (AMD K8 and K10 before the HT Assist probe filter): every miss goes to the
              // line's home memory controller, which probes every node, so a transfer costs a memory access even
              // between two cores that share a cache
};

struct Coherence {
  CoherenceProtocol protocol = CoherenceProtocol::Directory;
  // How long the home node's ordering point (its memory controller or directory) is busy with one coherent request
  // for a line it backs, transfer or fetch: requests for any of its lines start at most one per this interval.
  // 0: no limit (only each line's own hand-overs are serialised).
  double home_occupancy_ns = 0;
};

// Where one figure of a machine description comes from, so that a summary can tell what was measured or cited from
// what mksim assumed. A figure is named by its path in a config's machine section ("freq_ghz",
// "caches.l2.latency_cycles", "memory.controller_bandwidth_gb_s"), which is also where a user overrides it; a new kind
// of figure (e.g. a memory kind's bandwidth) is recorded the same way under its own path.
enum class Origin {
  File,     // read from a hwloc topology (a file or the running host's discovery)
  Preset,   // a preset's figure, with the preset's sources (models/presets.cpp)
  Config,   // written by the user in the config (or set on the command line)
  Default,  // none of these gives it: mksim's default, an assumption the user may want to override
};
const char* origin_name(Origin o);

struct Provenance {
  Origin origin = Origin::Default;
  std::string source;  // the file, the preset and its sources, or the config; empty for a default
};

// Simultaneous multithreading (docs/smt.md). Off: one schedulable context per core, its PUs only displayed. On
// (machine.cpu.smt): every PU is a Core entry of its own, a context that the engine and the schedulers see, and
// contexts of one physical core (Core::smt_core) share its pipeline, its private caches and its miss buffers.
// Sharing model: a core with k busy contexts delivers throughput[k-1] x one context; default [1, 1.3], Intel
// Hyper-Threading's up to 30 % (Marr et al., "Hyper-Threading Technology Architecture and Microarchitecture", Intel
// Technology Journal 6(1), 2002).
struct Smt {
  bool on = false;
  // throughput[k-1]: what a physical core with k busy contexts delivers in all, in units of one context running
  // alone (>= 1); each busy context gets throughput[k-1] / k of the core. Past the list's end, its last value holds.
  std::vector<double> throughput = {1.0, 1.3};
  double share(int busy) const {
    const size_t k = static_cast<size_t>(std::max(busy, 1));
    return (k <= throughput.size() ? throughput[k - 1] : throughput.back()) / static_cast<double>(k);
  }
};

// Turns every PU of `m` into a context (a Core of its own, hw_threads 1, smt_core its physical core) sharing its
// core's caches; context ids go round by round: the first PU of every core (ids 0 .. cores - 1, in core order), then
// the second PU of every core that has one, and so on, as Linux numbers the logical CPUs of Intel machines (cpu0-15
// the physical cores, cpu16-31 their siblings). Sets m.smt.on.
struct Machine;
void make_smt_contexts(Machine& m, std::vector<double> throughput);

struct Machine {
  std::string name = "machine";
  std::string source;  // where the description came from (preset, file), for summaries
  // Per figure path (see Origin): where it came from. Filled in by whoever builds the description.
  std::map<std::string, Provenance> provenance;
  int packages = 1;
  int dies = 1;
  std::vector<NumaNode> nodes;
  std::vector<Core> cores;
  std::vector<Cache> caches;
  Interconnect interconnect;
  double core_bandwidth_gb_s = 12;  // most one core can stream (bounded by its outstanding misses)
  double core_mlp = 10;             // outstanding cache misses per core (memory-level parallelism)
  // The DRAM's own part of a local load's latency (row activation and column access, tRCD + CL): what a miss that
  // another cache of the node answers skips (models/costs.hpp). 0: not given, such a miss costs a memory access.
  double dram_access_ns = 0;
  // Regions up to this size are small data that stays in the caches: the engine tracks them line by line
  // (models/coherence.hpp) instead of streaming them from memory. 0: every region streams.
  uint64_t coherent_region_max_bytes = 4096;
  Coherence coherence;
  Smt smt;

  int num_cores() const { return static_cast<int>(cores.size()); }
  int num_nodes() const { return static_cast<int>(nodes.size()); }
  int pus() const;
  // Physical cores: num_cores() without SMT; with it, the cores the contexts belong to.
  int physical_cores() const;
  int physical_core(int core) const { return cores[core].smt_core < 0 ? core : cores[core].smt_core; }
  // Smallest cache level shared by cores a and b, or nullptr. The same core shares its L1.
  const Cache* shared_cache(int a, int b) const;
  const Cache* last_level_cache(int core) const;
  // Whether cache `c` is shared by every core of `node` (and by more than one core).
  bool cache_spans_node(const Cache& c, int node) const;
  double mem_latency_ns(int core, int node) const { return interconnect.latency_ns[cores[core].node][node]; }
  bool has_cores(int node) const;
  // The node whose cores are nearest to `node`'s memory (lowest latency, then lowest id): `node` itself when it has
  // cores. A memory-only node's memory sits beside that node's (models/platform.cpp).
  int nearest_cpu_node(int node) const;
  // Bytes of memory in all nodes.
  uint64_t memory_bytes() const;
  // Checks the description's consistency; returns "" or what is wrong (used after every way of building one).
  std::string check() const;
  // Whether a figure is an assumption (recorded as Origin::Default); false for a figure with no record.
  bool assumed(const std::string& figure) const;
};

// How ACPI SLIT distances turn into latencies: latency(i,j) = local_latency(j) * slit(i,j) / 10. SLIT 10 is local
// by definition, and Linux and hwloc report the ratio to local, so this keeps the published ratios.
std::vector<std::vector<double>> latencies_from_slit(const std::vector<std::vector<double>>& slit,
                                                     const std::vector<NumaNode>& nodes);
// Hops between nodes: from physical links by breadth-first search when given; otherwise the rank of each distinct
// off-diagonal latency (the nearest remote nodes are one hop away, the next tier two, ...).
std::vector<std::vector<int>> derive_hops(const Interconnect& ic, int nodes);

}  // namespace mksim
