#include "sim/machine_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "models/costs.hpp"
#include "models/memory_kinds.hpp"
#include "models/presets.hpp"
#include "sim/config.hpp"
#include "sim/hwloc_import.hpp"
#include "sim/input.hpp"

namespace mksim {

namespace {

std::shared_ptr<const Schema> cache_schema(double size_kib, double latency, const std::string& shared_by) {
  return std::make_shared<const Schema>(Schema{
      Field::number("size_kib", size_kib, "KiB", "capacity of one cache instance (0: no cache at this level)")
          .at_least(0)
          .at_most(1073741824),
      Field::integer("line_bytes", 64, "bytes", "cache line size").at_least(8).at_most(4096),
      Field::number("latency_cycles", latency, "cycles", "load-to-use latency of a hit").above(0),
      Field::choice("shared_by", shared_by, {"core", "die", "node", "socket"}, "which cores share one instance"),
  });
}

}  // namespace

const Schema& machine_schema() {
  static const Schema s = [] {
    auto caches = std::make_shared<const Schema>(Schema{
        Field::nested("l1", cache_schema(32, 4, "core"), "level-1 data cache"),
        Field::nested("l2", cache_schema(1024, 14, "core"), "level-2 cache"),
        Field::nested("l3", cache_schema(16384, 50, "socket"), "last-level cache"),
    });
    auto memory = std::make_shared<const Schema>(Schema{
        Field::number("node_size_gib", 16, "GiB", "memory of each NUMA node (hwloc: from the file)")
            .above(0)
            .at_most(1048576),
        Field::number("controller_bandwidth_gb_s", NumaNode{}.controller_bandwidth_gb_s, "GB/s",
                      "bandwidth one NUMA node's memory controller sustains")
            .above(0),
        Field::number("local_latency_ns", 80, "ns", "load-to-use latency of a local DRAM access").above(0),
        Field::optional("kind", FieldType::String, "",
                        "memory kind of the nodes these figures describe (the nodes with cores; with `hwloc`, the "
                        "nodes whose subtype is this kind or none): DRAM (default), HBM, NVM, CXL or another name"),
        Field::optional("write_bandwidth_gb_s", FieldType::Number, "GB/s",
                        "bandwidth of writes to one such node when it differs from reads (default: "
                        "controller_bandwidth_gb_s)"),
        Field::optional("kinds", FieldType::Any, "",
                        "figures of the nodes of other memory kinds, by kind: {\"HBM\": {\"read_bandwidth_gb_s\": "
                        "400, \"write_bandwidth_gb_s\": 400, \"latency_ns\": 150}}; a figure not given here nor read "
                        "from a hwloc file takes the kind's default (docs/memory-tiers.md)"),
        Field::optional("memory_nodes", FieldType::Any, "",
                        "memory-only NUMA nodes (no cores) beside the ones with cores, as a list of {\"kind\": "
                        "\"HBM\", \"package\": 0, \"size_gib\": 16, \"count\": 1}; they take ids after the nodes "
                        "with cores, their figures from `kinds` (not with `hwloc`, whose file gives the nodes)"),
        Field::number("core_bandwidth_gb_s", Machine{}.core_bandwidth_gb_s, "GB/s",
                      "most one core can stream (its miss buffers)")
            .above(0),
        Field::number(
            "core_mlp", 10, "misses",
            "cache misses one core keeps in flight (memory-level parallelism), shared by its hardware threads "
            "and by the nodes an access spans")
            .above(0),
        Field::number("dram_access_ns", 0, "ns",
                      "the DRAM's own part of local_latency_ns (row activation and column access, tRCD + CL, from "
                      "the modules' data sheet): a miss for a line that another last-level cache of the node holds "
                      "modified is answered by that cache and skips it (with directory coherence, cores of one node "
                      "sharing no cache: the dies of a front-side-bus package); 0: not given, such a miss costs a "
                      "memory access")
            .at_least(0),
        Field::number("coherent_region_max_kib", 4, "KiB",
                      "regions up to this size stay in the caches, tracked line by line by the coherence model "
                      "(hits, cache-to-cache transfers, invalidations); larger ones stream from memory (0: all stream; "
                      "at most 64 MiB: the model keeps state per line)")
            .at_least(0)
            .at_most(65536),
    });
    auto interconnect = std::make_shared<const Schema>(Schema{
        Field::number("link_bandwidth_gb_s", Interconnect{}.link_bandwidth_gb_s, "GB/s",
                      "bandwidth of one interconnect link, each direction")
            .above(0),
        Field::number("hop_latency_ns", 50, "ns", "latency added per interconnect hop (without a matrix)").at_least(0),
        Field::choice("topology", "full", {"full", "ring"},
                      "links between nodes when `links` is not given: every pair, or a ring"),
        Field::optional("links", FieldType::Any, "", "explicit links as [a, b] pairs of NUMA node ids"),
        Field::optional("latency_ns", FieldType::NumberMatrix, "ns",
                        "node x node load latency matrix; wins over `distances` and the hop model"),
        Field::optional("distances", FieldType::NumberMatrix, "ACPI SLIT",
                        "node x node SLIT distances (10 = local); latency = local_latency_ns * d / 10"),
    });
    // Hardware costs of privileged operations; kernel models add their own software path lengths to them. Defaults:
    // a current x86 core with PCID (docs/calibration.md).
    auto cpu = std::make_shared<const Schema>(Schema{
        Field::number("kernel_entry_exit_cycles", 60, "cycles",
                      "the CPU's part of one kernel entry and return to user mode (e.g. syscall + sysret)")
            .at_least(0)
            .at_most(1e9),
        Field::number("address_space_switch_cycles", 100, "cycles",
                      "loading another address space's page-table root, with the TLB flush it implies when the TLB "
                      "is untagged")
            .at_least(0)
            .at_most(1e9),
        Field::boolean("tagged_tlb", true,
                       "TLB entries carry an address-space tag (PCID, ASID) and survive a switch; false: a switch "
                       "flushes them and every page touched afterwards costs a page walk"),
        Field::number("page_walk_cycles", 30, "cycles",
                      "refilling one TLB entry after a flush: a page walk whose page-table entries are in the caches")
            .at_least(0)
            .at_most(1e9),
        Field::boolean("smt", false,
                       "simulate simultaneous multithreading: every PU (threads_per_core, or the PUs of a hwloc "
                       "file) is a schedulable context, numbered round by round (the first PU of every core, then "
                       "the second, as Linux numbers them), and contexts of one core share its pipeline, private "
                       "caches and miss buffers (docs/smt.md); false: one context per core, PUs only displayed"),
        Field::numbers("smt_throughput", "x one context",
                       "with `smt`: element k-1 is what a core with k busy contexts delivers in all, in units of "
                       "one context alone (each busy context gets it / k); each >= 1, non-decreasing, at most k; "
                       "past the list's end its last value holds. Empty: [1, 1.3] (Intel Hyper-Threading, up to "
                       "30 % more: Marr et al., Intel Technology Journal 6(1), 2002)"),
    });
    auto coherence = std::make_shared<const Schema>(Schema{
        Field::choice("protocol", "directory", {"directory", "broadcast"},
                      "how a core finds a line another core holds: `directory`, the cache both cores share (or, "
                      "across nodes, the owner's node-wide last-level cache) knows the holder and snoops it: twice "
                      "that cache's hit latency, plus the interconnect's round trip across nodes; `broadcast`, "
                      "every miss goes to the line's home memory controller, which probes every node (AMD K8 and K10 "
                      "without the HT Assist probe filter), so a transfer costs a memory access even between cores "
                      "sharing a cache"),
        Field::number("home_occupancy_ns", 0, "ns",
                      "how long the home node is busy ordering one coherent request for a line it backs (a transfer "
                      "or a fetch of a small region's line): requests for any of its lines are served at most one "
                      "per this interval; 0: no limit, only each line's own hand-overs take turns")
            .at_least(0)
            .at_most(1e6),
    });
    Schema m{
        Field::optional("preset", FieldType::String, "", "start from a named preset (`mksim list presets`)"),
        Field::optional("hwloc", FieldType::String, "", "start from a hwloc XML topology (v2 or v3 format)"),
        Field::text("name", "uniform", "name shown in summaries"),
        Field::integer("sockets", 1, "", "packages").at_least(1).at_most(4096),
        Field::integer("dies_per_socket", 1, "", "dies (LLC domains) per package").at_least(1).at_most(256),
        Field::integer("nodes_per_socket", 1, "", "NUMA nodes per package").at_least(1).at_most(64),
        Field::integer("cores_per_socket", 4, "", "cores per package").at_least(1).at_most(4096),
        Field::integer("threads_per_core", 1, "", "SMT hardware threads per core").at_least(1).at_most(16),
        Field::number("freq_ghz", Core{}.freq_ghz, "GHz", "core clock").above(0).at_most(100),
        Field::nested("caches", caches, "cache hierarchy"),
        Field::nested("memory", memory, "NUMA memory"),
        Field::nested("interconnect", interconnect, "links between NUMA nodes"),
        Field::nested("cpu", cpu, "hardware costs of the cores' privileged operations (kernel entry, address spaces)"),
        Field::nested("coherence", coherence, "how the caches keep shared lines coherent (cache-line transfers)"),
    };
    return m;
  }();
  return s;
}

namespace {

// The node x node latency and hop matrices and the interconnect links grow with the square of the NUMA node count.
constexpr int kMaxNumaNodes = 1024;

int scope_group(CacheScope s, const Core& c) {
  switch (s) {
    case CacheScope::Core:
      return c.id;
    case CacheScope::Die:
      return c.die;
    case CacheScope::Node:
      return c.node;
    case CacheScope::Socket:
      return c.package;
  }
  return c.id;
}

CacheScope parse_scope(const std::string& s) {
  if (s == "die") return CacheScope::Die;
  if (s == "node") return CacheScope::Node;
  if (s == "socket") return CacheScope::Socket;
  return CacheScope::Core;
}

void add_caches(Machine& m, const Params& caches) {
  int level = 0;
  for (const char* name : {"l1", "l2", "l3"}) {
    ++level;
    Params c = caches.child(name);
    if (c.number("size_kib") <= 0) continue;
    auto scope = parse_scope(c.text("shared_by"));
    std::map<int, int> instance_of_group;
    for (auto& core : m.cores) {
      int g = scope_group(scope, core);
      auto it = instance_of_group.find(g);
      if (it == instance_of_group.end()) {
        Cache k;
        k.level = level;
        k.size_bytes = static_cast<uint64_t>(c.number("size_kib") * 1024);
        k.line_bytes = static_cast<uint32_t>(c.integer("line_bytes"));
        k.hit_latency_cycles = c.number("latency_cycles");
        m.caches.push_back(k);
        it = instance_of_group.emplace(g, static_cast<int>(m.caches.size()) - 1).first;
      }
      m.caches[it->second].cores.push_back(core.id);
      core.caches.push_back(it->second);
    }
  }
}

std::vector<std::pair<int, int>> parse_links(const json& v, int nodes, const std::string& path,
                                             const std::string& file) {
  std::vector<std::pair<int, int>> out;
  if (!v.is_array()) throw InputError(file, path, fmt::format("found {}, expected a list of [a, b] pairs", v.dump()));
  for (size_t i = 0; i < v.size(); ++i) {
    const auto& e = v[i];
    auto p = join_path(path, i);
    if (!e.is_array() || e.size() != 2 || !e[0].is_number_integer() || !e[1].is_number_integer())
      throw InputError(file, p, fmt::format("found {}, expected a pair [a, b] of NUMA node ids", e.dump()));
    int a = e[0].get<int>(), b = e[1].get<int>();
    if (a < 0 || b < 0 || a >= nodes || b >= nodes || a == b)
      throw InputError(file, p, fmt::format("found [{}, {}], expected two different nodes in 0..{}", a, b, nodes - 1));
    out.emplace_back(a, b);
  }
  return out;
}

void check_matrix_size(const Params& ic, const std::string& name, int nodes) {
  if (!ic.has(name)) return;
  auto mat = ic.matrix(name);
  if (static_cast<int>(mat.size()) != nodes)
    ic.fail(name, fmt::format("found a {}x{} matrix, expected {}x{} (one row and column per NUMA node)", mat.size(),
                              mat.size(), nodes, nodes));
  for (size_t i = 0; i < mat.size(); ++i)
    for (size_t j = 0; j < mat[i].size(); ++j)
      if (!(mat[i][j] > 0))
        throw InputError(ic.file(), join_path(join_path(join_path(ic.path(), name), i), j),
                         fmt::format("entry [{}][{}] is {}, expected > 0", i, j, mat[i][j]));
}

// Memory, interconnect and latency numbers, once the structure (nodes, cores, caches) is there.
// `local_to`: a memory-only node's local node with cores where the topology says (else the first node with cores of
// its package).
void apply_interconnect(Machine& m, const Params& p, const std::vector<std::vector<double>>& hwloc_slit,
                        const std::map<int, int>& local_to = {}) {
  const int n = m.num_nodes();
  Params ic = p.child("interconnect");
  m.interconnect.link_bandwidth_gb_s = ic.number("link_bandwidth_gb_s");
  if (ic.has("links"))
    m.interconnect.links = parse_links(ic.raw()["links"], n, join_path(ic.path(), "links"), ic.file());
  std::vector<int> cpu_nodes;  // memory-only nodes sit beside the nearest of these (Machine::nearest_cpu_node)
  for (int i = 0; i < n; ++i)
    if (m.has_cores(i)) cpu_nodes.push_back(i);
  const int k = static_cast<int>(cpu_nodes.size());
  if (!ic.has("links") && ic.text("topology") == "ring" && k > 2)
    for (int i = 0; i < k; ++i) m.interconnect.links.emplace_back(cpu_nodes[i], cpu_nodes[(i + 1) % k]);
  check_matrix_size(ic, "latency_ns", n);
  check_matrix_size(ic, "distances", n);
  if (ic.has("latency_ns")) {
    m.interconnect.latency_ns = ic.matrix("latency_ns");
  } else if (ic.has("distances")) {
    m.interconnect.latency_ns = latencies_from_slit(ic.matrix("distances"), m.nodes);
  } else if (!hwloc_slit.empty() && static_cast<int>(hwloc_slit.size()) == n) {
    m.interconnect.latency_ns = latencies_from_slit(hwloc_slit, m.nodes);
  } else {
    // The hop model: local latency plus a fixed cost per hop over the link topology. A memory-only node is reached
    // through the node it is local to (its own latency from there), like that node's memory.
    Interconnect hop_ic = m.interconnect;
    hop_ic.latency_ns.assign(n, std::vector<double>(n, 1.0));
    auto hops = derive_hops(hop_ic, n);
    std::vector<int> host(n);
    for (int j = 0; j < n; ++j) {
      auto it = local_to.find(j);
      host[j] = it != local_to.end() ? it->second : m.nearest_cpu_node(j);  // no latencies yet: its package's first
    }
    m.interconnect.latency_ns.assign(n, std::vector<double>(n));
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        const int a = host[i], b = host[j];
        m.interconnect.latency_ns[i][j] =
            m.nodes[j].local_latency_ns + (a == b ? 0 : hops[a][b] * ic.number("hop_latency_ns"));
      }
  }
  m.interconnect.hops = derive_hops(m.interconnect, n);
  if (!m.interconnect.links.empty() && k < n) {  // memory-only nodes outside the links: their host's hops
    std::vector<int> host(n);
    for (int j = 0; j < n; ++j) host[j] = m.nearest_cpu_node(j);
    auto hops = m.interconnect.hops;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        if (i != j && (host[i] != i || host[j] != j)) hops[i][j] = host[i] == host[j] ? 0 : hops[host[i]][host[j]];
    m.interconnect.hops = hops;
  }
}

// machine.cpu.smt: every PU a context (models/machine.hpp, make_smt_contexts); runs after the structure is complete.
void apply_smt(Machine& m, const Params& cpu) {
  const std::vector<double> t = cpu.numbers("smt_throughput");
  for (size_t i = 0; i < t.size(); ++i) {
    const double k = static_cast<double>(i + 1);
    if (!std::isfinite(t[i]) || t[i] < 1 || t[i] > k)
      cpu.fail("smt_throughput",
               fmt::format("element {} is {}, expected a number from 1 to {} (what a core with {} busy context{} "
                           "delivers in all, in units of one context alone)",
                           i, t[i], i + 1, i + 1, i ? "s" : ""));
    if (i > 0 && t[i] < t[i - 1])
      cpu.fail("smt_throughput", fmt::format("element {} is {}, below element {} ({}): expected a non-decreasing list",
                                             i, t[i], i - 1, t[i - 1]));
  }
  if (cpu.boolean("smt")) make_smt_contexts(m, t);
}

void apply_cpu_costs(Machine& m, const Params& cpu) {
  CpuCosts k;
  k.kernel_entry_exit_cycles = cpu.number("kernel_entry_exit_cycles");
  k.address_space_switch_cycles = cpu.number("address_space_switch_cycles");
  k.tagged_tlb = cpu.boolean("tagged_tlb");
  k.page_walk_cycles = cpu.number("page_walk_cycles");
  for (auto& c : m.cores) c.costs = k;
}

const char* protocol_name(CoherenceProtocol p) {
  return p == CoherenceProtocol::Broadcast ? "broadcast" : "directory";
}

void apply_coherence(Machine& m, const Params& c) {
  const std::string name = c.text("protocol");  // one of the schema's choices
  m.coherence.protocol =
      name == protocol_name(CoherenceProtocol::Broadcast) ? CoherenceProtocol::Broadcast : CoherenceProtocol::Directory;
  m.coherence.home_occupancy_ns = c.number("home_occupancy_ns");
}

// ---- memory kinds ----

const Schema& kind_figures_schema() {
  static const Schema s{
      Field::optional("read_bandwidth_gb_s", FieldType::Number, "GB/s", "bandwidth of reads from one node").above(0),
      Field::optional("write_bandwidth_gb_s", FieldType::Number, "GB/s", "bandwidth of writes to one node").above(0),
      Field::optional("latency_ns", FieldType::Number, "ns", "idle load-to-use latency from the nearest cores")
          .above(0),
  };
  return s;
}

const Schema& memory_node_schema() {
  static const Schema s{
      Field::text("kind", "HBM", "memory kind (DRAM, HBM, NVM, CXL or another name)"),
      Field::integer("package", 0, "", "package whose cores are nearest").at_least(0),
      Field::number("size_gib", 16, "GiB", "capacity of each node").above(0).at_most(1048576),
      Field::integer("count", 1, "", "nodes of this description").at_least(1).at_most(64),
  };
  return s;
}

// The memory kind the `memory` section's own figures describe.
std::string primary_kind(const Params& mem) {
  return mem.has("kind") ? memory_kind_name(mem.text("kind")) : std::string("DRAM");
}

// The figures of the nodes of `kind` (not the primary one) from `memory.kinds`, checked; null when not given.
json kind_figures(const Params& mem, const std::string& kind) {
  if (!mem.has("kinds")) return json();
  const json& kinds = mem.raw()["kinds"];
  const std::string path = join_path(mem.path(), "kinds");
  if (!kinds.is_object())
    throw InputError(mem.file(), path,
                     fmt::format("found {}, expected an object of figures by memory kind, e.g. {{\"HBM\": "
                                 "{{\"read_bandwidth_gb_s\": 400}}}}",
                                 kinds.dump()));
  json out;
  for (const auto& [name, figures] : kinds.items())
    if (memory_kind_name(name) == kind) out = kind_figures_schema().resolve(figures, join_path(path, name), mem.file());
  return out;
}

// Sets the figures of every node of a kind other than the primary one: `memory.kinds`, else what the topology read
// (`read`: per node, the figures a hwloc file's memory attributes gave), else the kind's default.
void apply_kind_figures(Machine& m, const Params& mem, const std::map<int, std::set<std::string>>& read) {
  const std::string primary = primary_kind(mem);
  for (auto& nd : m.nodes) {
    if (nd.kind == primary) continue;
    const json given = kind_figures(mem, nd.kind);
    const MemoryKindFigures* def = memory_kind_defaults(nd.kind);
    if (!def) def = memory_kind_defaults("DRAM");
    auto it = read.find(nd.id);
    auto pick = [&](const char* key, double fallback, double from_file) {
      if (!given.is_null() && given.contains(key)) return given[key].get<double>();
      return it != read.end() && it->second.count(key) ? from_file : fallback;
    };
    const double file_write = nd.write_gb_s();
    nd.controller_bandwidth_gb_s = pick("read_bandwidth_gb_s", def->read_bandwidth_gb_s, nd.controller_bandwidth_gb_s);
    nd.write_bandwidth_gb_s = pick("write_bandwidth_gb_s", def->write_bandwidth_gb_s, file_write);
    nd.local_latency_ns = pick("latency_ns", def->latency_ns, nd.local_latency_ns);
  }
}

// Memory-only nodes of a uniform machine (`memory.memory_nodes`), appended after the nodes with cores.
void add_memory_nodes(Machine& m, const Params& mem) {
  if (!mem.has("memory_nodes")) return;
  const json& list = mem.raw()["memory_nodes"];
  const std::string path = join_path(mem.path(), "memory_nodes");
  if (!list.is_array())
    throw InputError(mem.file(), path,
                     fmt::format("found {}, expected a list of memory-only nodes such as [{{\"kind\": \"HBM\", "
                                 "\"package\": 0, \"size_gib\": 16}}]",
                                 list.dump()));
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string p = join_path(path, i);
    Params e(memory_node_schema().resolve(list[i], p, mem.file()), p, mem.file());
    if (e.integer("package") >= m.packages)
      e.fail("package",
             fmt::format("found {}, expected a package of the machine (0..{})", e.integer("package"), m.packages - 1));
    if (m.num_nodes() + e.integer("count") > 1024)
      e.fail("count", fmt::format("{} NUMA nodes in all, expected at most 1024", m.num_nodes() + e.integer("count")));
    for (int64_t k = 0; k < e.integer("count"); ++k) {
      NumaNode nd = m.nodes.front();  // a node of the primary kind keeps the `memory` section's figures
      nd.id = m.num_nodes();
      nd.package = static_cast<int>(e.integer("package"));
      nd.kind = memory_kind_name(e.text("kind"));
      nd.memory_bytes = static_cast<uint64_t>(e.number("size_gib") * 1073741824.0);

      m.nodes.push_back(nd);
    }
  }
}

// The `memory` section's figures on the nodes of its kind. `given`: the memory keys the user (or preset) wrote; `read`:
// per node, the figures a hwloc file's memory attributes gave, which a default does not replace.
void apply_memory(Machine& m, const Params& mem, bool override_size, const json& given = json::object(),
                  const std::map<int, std::set<std::string>>& read = {}) {
  const std::string primary = primary_kind(mem);
  const bool asymmetric = mem.has("write_bandwidth_gb_s");
  for (auto& nd : m.nodes) {
    if (nd.kind != primary) continue;  // the other kinds: apply_kind_figures
    auto it = read.find(nd.id);
    auto from_file = [&](const char* figure, const char* key) {
      return it != read.end() && it->second.count(figure) && !given.contains(key);
    };
    if (override_size) nd.memory_bytes = static_cast<uint64_t>(mem.number("node_size_gib") * 1073741824.0);
    if (!from_file("read_bandwidth_gb_s", "controller_bandwidth_gb_s"))
      nd.controller_bandwidth_gb_s = mem.number("controller_bandwidth_gb_s");
    if (!from_file("latency_ns", "local_latency_ns")) nd.local_latency_ns = mem.number("local_latency_ns");
    if (!from_file("write_bandwidth_gb_s", "write_bandwidth_gb_s"))
      nd.write_bandwidth_gb_s = asymmetric ? mem.number("write_bandwidth_gb_s") : 0;
  }
  m.core_bandwidth_gb_s = mem.number("core_bandwidth_gb_s");
  m.core_mlp = mem.number("core_mlp");
  m.dram_access_ns = mem.number("dram_access_ns");
  for (const auto& nd : m.nodes)
    if (nd.kind == primary && m.dram_access_ns >= nd.local_latency_ns)
      mem.fail("dram_access_ns",
               fmt::format("{:g} ns is not less than node {}'s local latency ({:g} ns): expected the DRAM's part of it",
                           m.dram_access_ns, nd.id, nd.local_latency_ns));
  m.coherent_region_max_bytes = static_cast<uint64_t>(std::llround(mem.number("coherent_region_max_kib") * 1024.0));
}

Machine uniform_machine(const Params& p) {
  Machine m;
  m.name = p.text("name");
  const int sockets = static_cast<int>(p.integer("sockets"));
  const int cps = static_cast<int>(p.integer("cores_per_socket"));
  const int nps = static_cast<int>(p.integer("nodes_per_socket"));
  const int dps = static_cast<int>(p.integer("dies_per_socket"));
  if (cps % nps)
    p.fail("nodes_per_socket", fmt::format("{} cores per socket do not split evenly over {} NUMA nodes", cps, nps));
  if (cps % dps)
    p.fail("dies_per_socket", fmt::format("{} cores per socket do not split evenly over {} dies", cps, dps));
  if (static_cast<int64_t>(sockets) * cps > 65536)
    p.fail("cores_per_socket",
           fmt::format("{} cores in all, expected at most 65536", static_cast<int64_t>(sockets) * cps));
  if (static_cast<int64_t>(sockets) * nps > kMaxNumaNodes)
    p.fail("nodes_per_socket",
           fmt::format("{} NUMA nodes in all ({} sockets x {} per socket), expected at most {} NUMA nodes",
                       static_cast<int64_t>(sockets) * nps, sockets, nps, kMaxNumaNodes));
  m.packages = sockets;
  m.dies = sockets * dps;
  for (int s = 0; s < sockets; ++s)
    for (int k = 0; k < nps; ++k) {
      NumaNode nd;
      nd.id = s * nps + k;
      nd.package = s;
      m.nodes.push_back(nd);
    }
  for (int s = 0; s < sockets; ++s)
    for (int i = 0; i < cps; ++i) {
      Core c;
      c.id = s * cps + i;
      c.package = s;
      c.node = s * nps + i * nps / cps;
      c.die = s * dps + i * dps / cps;
      c.freq_ghz = p.number("freq_ghz");
      c.hw_threads = static_cast<int>(p.integer("threads_per_core"));
      m.cores.push_back(c);
    }
  add_caches(m, p.child("caches"));
  const Params mem = p.child("memory");
  for (auto& nd : m.nodes) nd.kind = primary_kind(mem);
  apply_memory(m, mem, true);
  add_memory_nodes(m, mem);
  apply_kind_figures(m, mem, {});
  apply_cpu_costs(m, p.child("cpu"));
  apply_coherence(m, p.child("coherence"));
  return m;
}

// Structural fields a hwloc file gives; a config may not set them beside `hwloc`.
const char* kStructural[] = {"sockets", "dies_per_socket", "nodes_per_socket", "cores_per_socket", "threads_per_core"};

// The config's machine section path of the cache level a Cache uses (levels past 3 take l3's numbers).
std::string cache_key(int level) {
  return level <= 1 ? "l1" : level == 2 ? "l2" : "l3";
}

// A machine whose structure an hwloc topology gives (a file or this host's discovery): the same numbers are applied to
// it whichever way it came, so that one host has one description.
Machine topology_machine(ImportedTopology topo, const json& given, const Params& p) {
  Machine m = std::move(topo.machine);
  if (given.contains("name")) m.name = p.text("name");
  const json mem_given = given.value("memory", json::object());
  if (p.child("memory").has("memory_nodes"))
    p.child("memory").fail("memory_nodes", "cannot be combined with 'hwloc': the topology file gives the NUMA nodes");
  apply_memory(m, p.child("memory"), mem_given.contains("node_size_gib"), mem_given, topo.memory_figures_read);
  apply_kind_figures(m, p.child("memory"), topo.memory_figures_read);
  apply_cpu_costs(m, p.child("cpu"));
  apply_coherence(m, p.child("coherence"));
  for (auto& c : m.cores) c.freq_ghz = p.number("freq_ghz");
  Params caches = p.child("caches");
  for (auto& k : m.caches) k.hit_latency_cycles = caches.child(cache_key(k.level)).number("latency_cycles");
  apply_interconnect(m, p, topo.slit, topo.local_to);
  apply_smt(m, p.child("cpu"));
  return m;
}

ImportedTopology hwloc_topology(const json& given, const Params& p, const std::string& base_dir) {
  for (const char* k : kStructural)
    if (given.contains(k))
      p.fail(k, fmt::format("'{}' cannot be combined with 'hwloc': the topology file gives the structure", k));
  auto path = resolve_path(p.text("hwloc"), base_dir);
  ImportedTopology topo;
  try {
    topo = import_hwloc_xml(path);
  } catch (const InputFileError& e) {  // say where the path came from; errors inside the file name the file
    p.fail("hwloc", fmt::format("{}: {}", path, e.reason()));
  }
  if (topo.machine.num_nodes() > kMaxNumaNodes)
    p.fail("hwloc", fmt::format("{} has {} NUMA nodes, expected at most {} NUMA nodes", path, topo.machine.num_nodes(),
                                kMaxNumaNodes));
  return topo;
}

// ---- provenance: where each figure came from ----

// Where the figures of one description come from: what the user wrote, the preset it starts from, the topology.
struct Origins {
  json given;  // the user's own machine section (without the preset's fields)
  const Preset* preset = nullptr;
  json preset_fields;               // the preset's machine section
  std::string topology;             // the hwloc file or "hwloc discovery of this host"; empty without one
  bool topology_distances = false;  // the topology gave a NUMA distance matrix (used for the latencies)
  std::string config;               // the config file, for figures the user wrote
  std::map<int, std::set<std::string>> memory_read;  // per node: the figures the topology's memory attributes give
};

bool has_path(const json& doc, const std::vector<std::string>& steps) {
  const json* node = &doc;
  for (const auto& s : steps) {
    if (!node->is_object() || !node->contains(s)) return false;
    node = &(*node)[s];
  }
  return true;
}

// Figures an hwloc topology gives: the structure, cache sizes, lines and sharing, each node's memory.
bool from_topology(const std::string& path) {
  for (const char* k : kStructural)
    if (path == k) return true;
  if (path.rfind("caches.", 0) == 0)
    return path.find(".size_kib") != std::string::npos || path.find(".line_bytes") != std::string::npos ||
           path.find(".shared_by") != std::string::npos;
  return false;
}

Provenance origin_of(const std::vector<std::string>& steps, const std::string& path, const Origins& o) {
  const bool user = has_path(o.given, steps);
  if (!o.topology.empty() && from_topology(path)) return {Origin::File, o.topology};
  if (user) return {Origin::Config, o.config};
  if (o.preset && has_path(o.preset_fields, steps))
    return {Origin::Preset, fmt::format("preset {}: {}", o.preset->name, o.preset->sources)};
  if (!o.topology.empty() && path == "memory.node_size_gib") return {Origin::File, o.topology};
  return {Origin::Default, ""};
}

void record_fields(Machine& m, const Schema& schema, std::vector<std::string>& steps, const Origins& o) {
  for (const auto& f : schema.fields) {
    if (steps.empty() && (f.name == "preset" || f.name == "hwloc" || f.name == "name")) continue;
    steps.push_back(f.name);
    if (f.object) {
      record_fields(m, *f.object, steps, o);
    } else {
      std::string path;
      for (const auto& s : steps) path += (path.empty() ? "" : ".") + s;
      // Optional fields without a default (links, a latency or distance matrix) are figures only when given.
      if (!f.default_value.is_null() || has_path(o.given, steps) || has_path(o.preset_fields, steps))
        m.provenance[path] = origin_of(steps, path, o);
    }
    steps.pop_back();
  }
}

// The figures of the memory kinds other than the `memory` section's own, under memory.kinds.<KIND>.<figure>.
void record_kind_provenance(Machine& m, const Origins& o) {
  const json mem_given = o.given.value("memory", json::object());
  const json mem_preset = o.preset_fields.is_object() ? o.preset_fields.value("memory", json::object()) : json();
  const std::string primary =
      memory_kind_name(mem_given.value("kind", mem_preset.is_object() ? mem_preset.value("kind", "DRAM") : "DRAM"));
  auto given_in = [](const json& mem, const std::string& kind, const char* key) {
    if (!mem.is_object() || !mem.contains("kinds") || !mem["kinds"].is_object()) return false;
    for (const auto& [name, figures] : mem["kinds"].items())
      if (memory_kind_name(name) == kind && figures.is_object() && figures.contains(key)) return true;
    return false;
  };
  // The `memory` section's own figures that the file's memory attributes gave for every node of its kind.
  for (auto [figure, key] :
       {std::pair{"read_bandwidth_gb_s", "controller_bandwidth_gb_s"},
        std::pair{"write_bandwidth_gb_s", "write_bandwidth_gb_s"}, std::pair{"latency_ns", "local_latency_ns"}}) {
    bool all = false;
    for (const auto& nd : m.nodes) {
      if (nd.kind != primary) continue;
      const bool read = o.memory_read.count(nd.id) && o.memory_read.at(nd.id).count(figure);
      if (!read) {
        all = false;
        break;
      }
      all = true;
    }
    if (all && !mem_given.contains(key)) m.provenance[fmt::format("memory.{}", key)] = {Origin::File, o.topology};
  }
  for (const auto& nd : m.nodes) {
    if (nd.kind == primary) continue;
    const MemoryKindFigures* def = memory_kind_defaults(nd.kind);
    for (const char* key : {"read_bandwidth_gb_s", "write_bandwidth_gb_s", "latency_ns"}) {
      const std::string path = fmt::format("memory.kinds.{}.{}", nd.kind, key);
      Provenance pv;
      if (given_in(mem_given, nd.kind, key))
        pv = {Origin::Config, o.config};
      else if (o.preset && given_in(mem_preset, nd.kind, key))
        pv = {Origin::Preset, fmt::format("preset {}: {}", o.preset->name, o.preset->sources)};
      else if (o.memory_read.count(nd.id) && o.memory_read.at(nd.id).count(key))
        pv = {Origin::File, o.topology};
      else
        pv = {Origin::Default, def ? def->source : fmt::format("no figures for memory kind {}: DRAM's", nd.kind)};
      auto it = m.provenance.find(path);
      // One record per kind: a figure some node of the kind only assumes is an assumption.
      if (it == m.provenance.end() || pv.origin == Origin::Default) m.provenance[path] = pv;
    }
  }
}

// Records each figure's origin, then drops the ones that do not describe this machine (a cache level it does not
// have, interconnect figures of a one-node machine, the hop model's figures when a matrix gives the latencies).
void record_provenance(Machine& m, const Origins& o) {
  std::vector<std::string> steps;
  record_fields(m, machine_schema(), steps, o);
  std::set<std::string> levels;
  for (const auto& c : m.caches) levels.insert(cache_key(c.level));
  auto prefixed = [](const std::string& path, const std::string& prefix) { return path.rfind(prefix, 0) == 0; };
  const bool matrix = m.provenance.count("interconnect.latency_ns") || m.provenance.count("interconnect.distances") ||
                      o.topology_distances;
  for (auto it = m.provenance.begin(); it != m.provenance.end();) {
    const std::string& path = it->first;
    bool drop = false;
    for (const char* level : {"l1", "l2", "l3"})
      drop = drop || (prefixed(path, fmt::format("caches.{}.", level)) && !levels.count(level));
    drop = drop || (m.num_nodes() == 1 && prefixed(path, "interconnect."));
    drop = drop || (matrix && (path == "interconnect.hop_latency_ns" || path == "interconnect.topology"));
    it = drop ? m.provenance.erase(it) : std::next(it);
  }
  record_kind_provenance(m, o);
  // The latency matrix the machine uses, whichever way it was made (a figure of its own even when derived).
  if (m.num_nodes() > 1) {
    const auto& pv = m.provenance;
    Provenance lat;
    if (pv.count("interconnect.latency_ns")) {
      lat = pv.at("interconnect.latency_ns");
    } else if (pv.count("interconnect.distances")) {
      lat = pv.at("interconnect.distances");
      lat.source = fmt::format("SLIT distances ({}) x memory.local_latency_ns / 10",
                               lat.source.empty() ? origin_name(lat.origin) : lat.source);
    } else if (o.topology_distances) {
      lat = {Origin::File, fmt::format("NUMA distances of {} x memory.local_latency_ns / 10", o.topology)};
    } else {
      lat = {Origin::Default, "hop model: memory.local_latency_ns + hops x interconnect.hop_latency_ns"};
    }
    m.provenance["interconnect.latency_ns"] = lat;
  }
}

}  // namespace

Machine build_machine(const json& given_in, const std::string& path, const std::string& file,
                      const std::string& base_dir, json* resolved) {
  json given = given_in.is_null() ? json::object() : given_in;
  if (!given.is_object())
    throw InputError(file, path,
                     fmt::format("found {}, expected an object such as {{\"preset\": NAME}}", given.dump()));
  if (given.contains("preset") && given.contains("hwloc"))
    throw InputError(file, join_path(path, "hwloc"), "give either 'preset' or 'hwloc', not both");
  Origins origins;
  origins.given = given;
  origins.config = file;
  if (given.contains("preset")) {
    const auto& pv = given["preset"];
    if (!pv.is_string())
      throw InputError(file, join_path(path, "preset"), fmt::format("found {}, expected a preset name", pv.dump()));
    const Preset* preset = find_preset(pv.get<std::string>());
    if (!preset) {
      std::vector<std::string> names;
      for (const auto& pr : machine_presets()) names.push_back(pr.name);
      throw InputError(
          file, join_path(path, "preset"),
          fmt::format("unknown preset '{}', {}", pv.get<std::string>(), one_of(pv.get<std::string>(), names)));
    }
    json merged = json::parse(preset->json);
    origins.preset = preset;
    origins.preset_fields = merged;
    json overrides = given;
    overrides.erase("preset");
    merged.merge_patch(overrides);
    merged["preset"] = preset->name;
    given = merged;
  }
  json values = machine_schema().resolve(given, path, file);
  Params p(values, path, file);
  Machine m;
  if (given.contains("hwloc")) {
    ImportedTopology topo = hwloc_topology(given, p, base_dir);
    origins.topology = topo.machine.source.substr(topo.machine.source.find(':') + 1);
    origins.topology_distances = static_cast<int>(topo.slit.size()) == topo.machine.num_nodes();
    origins.memory_read = topo.memory_figures_read;
    m = topology_machine(std::move(topo), given, p);
  } else {
    m = uniform_machine(p);
    apply_interconnect(m, p, {});
    apply_smt(m, p.child("cpu"));
  }
  m.source = given.contains("preset")  ? "preset:" + p.text("preset")
             : given.contains("hwloc") ? "hwloc:" + p.text("hwloc")
                                       : "description";
  if (auto problem = m.check(); !problem.empty()) throw InputError(file, path, problem);
  record_provenance(m, origins);
  if (resolved) *resolved = values;
  return m;
}

Machine machine_from_argument(const std::string& arg) {
  if (arg == "--this-host") {
    // The same numbers as for an `lstopo` export of this host read back as a file (topology_machine).
    ImportedTopology topo = import_this_host();
    json values = machine_schema().resolve(json::object(), "machine", "this host");
    Params p(values, "machine", "this host");
    Origins origins;
    origins.given = json::object();
    origins.topology = "hwloc discovery of this host";
    origins.topology_distances = static_cast<int>(topo.slit.size()) == topo.machine.num_nodes();
    origins.memory_read = topo.memory_figures_read;
    const std::string source = topo.machine.source;
    Machine m = topology_machine(std::move(topo), json::object(), p);
    m.source = source;
    if (auto problem = m.check(); !problem.empty()) throw InputError("this host", "", problem);
    record_provenance(m, origins);
    return m;
  }
  namespace fs = std::filesystem;
  if (find_preset(arg)) return build_machine(json{{"preset", arg}}, "machine", "<command line>", ".");
  auto ext = fs::path(arg).extension().string();
  if (ext == ".xml") {
    auto abs = fs::absolute(arg).string();
    return build_machine(json{{"hwloc", abs}}, "machine", arg, ".");
  }
  if (ext == ".json") {
    auto doc = load_json_file(arg);
    if (!doc.is_object() || !doc.contains("machine")) {
      // A file holding just a machine description.
      return build_machine(doc, "", arg, fs::path(arg).parent_path().string());
    }
    return build_machine(doc["machine"], "machine", arg, fs::path(arg).parent_path().string());
  }
  std::vector<std::string> names;
  for (const auto& pr : machine_presets()) names.push_back(pr.name);
  throw InputError("<command line>", "",
                   fmt::format("'{}' is neither a preset, a .xml hwloc topology nor a .json config; presets: {}", arg,
                               one_of(arg, names)));
}

namespace {

// "*" after a figure the summary shows when it is an assumption (Machine::assumed).
std::string mark(const Machine& m, const std::string& figure) {
  return m.assumed(figure) ? "*" : "";
}

// Per physical core: the contexts that share it (with SMT simulated; one context per core otherwise).
std::vector<std::vector<int>> smt_siblings(const Machine& m) {
  std::vector<std::vector<int>> out(m.physical_cores());
  for (int i = 0; i < m.num_cores(); ++i) out[m.physical_core(i)].push_back(i);
  return out;
}

// What the engine schedules: with SMT simulated, the contexts and which share a core; without, the cores.
std::string smt_text(const Machine& m) {
  if (!m.smt.on)
    return fmt::format("  schedulable contexts: {}, one per core{}\n", m.num_cores(),
                       m.pus() > m.num_cores()
                           ? fmt::format(" (its {} PUs only displayed; machine.cpu.smt: true simulates them)", m.pus())
                           : "");
  std::string list;
  const auto groups = smt_siblings(m);
  for (size_t p = 0; p < groups.size(); ++p) {
    if (p == 4 && groups.size() > 6) {
      list += fmt::format(" ... core {}:", groups.size() - 1);
      p = groups.size() - 1;
    } else {
      list += fmt::format("{} core {}:", p ? "," : "", p);
    }
    for (int c : groups[p]) list += fmt::format(" {}", c);
  }
  std::string tp;
  for (size_t k = 0; k < m.smt.throughput.size(); ++k) tp += fmt::format("{}{:g}", k ? ", " : "", m.smt.throughput[k]);
  return fmt::format(
      "  SMT simulated: {} schedulable contexts on {} physical cores; a core with k busy contexts delivers [{}]{}[k-1] "
      "x one context\n  contexts sharing a core:{}\n",
      m.num_cores(), m.physical_cores(), tp, mark(m, "cpu.smt_throughput"), list);
}

// What a line another core modified costs core 0 to take (models/costs.hpp, line_transfer_ns), by where that core is:
// one entry per kind of place, in core order.
std::vector<std::pair<std::string, double>> transfers_to_core0(const Machine& m) {
  std::vector<std::pair<std::string, double>> out;
  for (int c = 1; c < m.num_cores(); ++c) {
    std::string where;
    if (const Cache* s = m.shared_cache(c, 0))
      where = m.physical_core(c) == m.physical_core(0) ? "SMT sibling" : fmt::format("sharing its L{}", s->level);
    else if (m.cores[c].node == m.cores[0].node)
      where = fmt::format("node {} without a shared cache", m.cores[c].node);
    else
      where = fmt::format("node {}", m.cores[c].node);
    if (std::none_of(out.begin(), out.end(), [&](const auto& e) { return e.first == where; }))
      out.emplace_back(where, line_transfer_ns(m, c, 0));
  }
  return out;
}

std::vector<std::string> assumed_figures(const Machine& m) {
  std::vector<std::string> out;
  for (const auto& [path, pv] : m.provenance)
    if (pv.origin == Origin::Default) out.push_back(path);
  return out;
}

}  // namespace

json machine_summary_json(const Machine& m) {
  json j;
  j["name"] = m.name;
  j["source"] = m.source;
  j["packages"] = m.packages;
  j["dies"] = m.dies;
  j["numa_nodes"] = m.num_nodes();
  j["cores"] = m.physical_cores();
  j["pus"] = m.pus();
  j["freq_ghz"] = m.cores.front().freq_ghz;
  json caches = json::array();
  std::map<int, std::vector<const Cache*>> by_level;
  for (const auto& c : m.caches) by_level[c.level].push_back(&c);
  for (auto& [level, list] : by_level) {
    const Cache* c = list.front();
    caches.push_back({{"level", level},
                      {"instances", list.size()},
                      {"size_bytes", c->size_bytes},
                      {"line_bytes", c->line_bytes},
                      {"latency_cycles", c->hit_latency_cycles},
                      {"cores_per_instance", c->cores.size()}});
  }
  j["caches"] = caches;
  json nodes = json::array();
  for (const auto& nd : m.nodes) {
    int cores = 0;
    for (const auto& c : m.cores) cores += c.node == nd.id;
    nodes.push_back({{"id", nd.id},
                     {"package", nd.package},
                     {"cores", cores},
                     {"memory_bytes", nd.memory_bytes},
                     {"kind", nd.kind},
                     {"controller_bandwidth_gb_s", nd.controller_bandwidth_gb_s},
                     {"write_bandwidth_gb_s", nd.write_gb_s()},
                     {"local_latency_ns", nd.local_latency_ns}});
  }
  j["nodes"] = nodes;
  j["latency_ns"] = m.interconnect.latency_ns;
  j["hops"] = m.interconnect.hops;
  j["link_bandwidth_gb_s"] = m.interconnect.link_bandwidth_gb_s;
  const CpuCosts& k = m.cores.front().costs;
  j["cpu"] = {{"kernel_entry_exit_cycles", k.kernel_entry_exit_cycles},
              {"address_space_switch_cycles", k.address_space_switch_cycles},
              {"tagged_tlb", k.tagged_tlb},
              {"page_walk_cycles", k.page_walk_cycles}};
  j["smt"] = {{"simulated", m.smt.on},
              {"contexts", m.num_cores()},
              {"physical_cores", m.physical_cores()},
              {"throughput", m.smt.throughput},
              {"siblings", smt_siblings(m)}};
  j["coherence"] = {{"protocol", protocol_name(m.coherence.protocol)},
                    {"home_occupancy_ns", m.coherence.home_occupancy_ns}};
  j["dram_access_ns"] = m.dram_access_ns;
  json transfers = json::array();
  for (const auto& [where, ns] : transfers_to_core0(m)) transfers.push_back({{"owner", where}, {"ns", ns}});
  j["line_transfer_to_core0_ns"] = transfers;
  // Per figure (its path in a config's machine section): where it came from. `assumed` lists the defaults, the
  // figures a user should override with what is known of the machine.
  json prov = json::object();
  for (const auto& [path, pv] : m.provenance) prov[path] = {{"origin", origin_name(pv.origin)}, {"source", pv.source}};
  j["provenance"] = prov;
  j["assumed"] = assumed_figures(m);
  return j;
}

std::string machine_summary_text(const Machine& m) {
  std::string out;
  out += fmt::format("machine {} ({})\n", m.name, m.source);
  out += fmt::format("  packages {}{}  dies {}{}  NUMA nodes {}{}  cores {}{}  PUs {}{}  clock {:.2f} GHz{}\n",
                     m.packages, mark(m, "sockets"), m.dies, mark(m, "dies_per_socket"), m.num_nodes(),
                     mark(m, "nodes_per_socket"), m.physical_cores(), mark(m, "cores_per_socket"), m.pus(),
                     mark(m, "threads_per_core"), m.cores.front().freq_ghz, mark(m, "freq_ghz"));
  out += smt_text(m);
  std::map<int, std::vector<const Cache*>> by_level;
  for (const auto& c : m.caches) by_level[c.level].push_back(&c);
  for (auto& [level, list] : by_level) {
    const Cache* c = list.front();
    const std::string key = fmt::format("caches.{}.", cache_key(level));
    out += fmt::format("  L{}: {} x {} KiB{}, {} B lines{}, {} cycles{}, {} core(s) each{}\n", level, list.size(),
                       c->size_bytes / 1024, mark(m, key + "size_kib"), c->line_bytes, mark(m, key + "line_bytes"),
                       c->hit_latency_cycles, mark(m, key + "latency_cycles"), c->cores.size(),
                       mark(m, key + "shared_by"));
  }
  out += "  NUMA nodes:\n";
  for (const auto& nd : m.nodes) {
    int cores = 0;
    for (const auto& c : m.cores) cores += c.node == nd.id;
    // The `memory` section's figures for its own kind; memory.kinds.<KIND>.* for the others.
    const bool own = m.provenance.count(fmt::format("memory.kinds.{}.latency_ns", nd.kind)) == 0;
    const std::string k = fmt::format("memory.kinds.{}.", nd.kind);
    const std::string bw = own ? "memory.controller_bandwidth_gb_s" : k + "read_bandwidth_gb_s";
    const std::string wr = own ? "memory.write_bandwidth_gb_s" : k + "write_bandwidth_gb_s";
    const std::string lat = own ? "memory.local_latency_ns" : k + "latency_ns";
    std::string write;
    if (nd.write_gb_s() != nd.controller_bandwidth_gb_s)
      write = fmt::format(" read, {:.1f} GB/s{} write", nd.write_gb_s(), mark(m, wr));
    out += fmt::format("    node {}: {}package {}, {} cores, {:.1f} GiB{}, {:.1f} GB/s{}{}, local {:.0f} ns{}\n", nd.id,
                       nd.kind == "DRAM" ? "" : nd.kind + ", ", nd.package, cores, nd.memory_bytes / 1073741824.0,
                       mark(m, "memory.node_size_gib"), nd.controller_bandwidth_gb_s, mark(m, bw), write,
                       nd.local_latency_ns, mark(m, lat));
  }
  out +=
      fmt::format("  latency (ns){}, row: accessing node, column: memory node\n", mark(m, "interconnect.latency_ns"));
  for (int i = 0; i < m.num_nodes(); ++i) {
    out += "   ";
    for (int j = 0; j < m.num_nodes(); ++j) out += fmt::format(" {:6.0f}", m.interconnect.latency_ns[i][j]);
    out += "\n";
  }
  const CpuCosts& k = m.cores.front().costs;
  out += fmt::format(
      "  cpu: kernel entry+exit {} cycles{}, address-space switch {} cycles{}, {} TLB{}, page walk {} cycles{}\n",
      k.kernel_entry_exit_cycles, mark(m, "cpu.kernel_entry_exit_cycles"), k.address_space_switch_cycles,
      mark(m, "cpu.address_space_switch_cycles"), k.tagged_tlb ? "tagged" : "untagged", mark(m, "cpu.tagged_tlb"),
      k.page_walk_cycles, mark(m, "cpu.page_walk_cycles"));
  out +=
      fmt::format("  coherence: {}{}, home node occupancy {} ns per request{}\n", protocol_name(m.coherence.protocol),
                  mark(m, "coherence.protocol"), m.coherence.home_occupancy_ns, mark(m, "coherence.home_occupancy_ns"));
  if (m.num_cores() > 1) {
    std::string list;
    const auto transfers = transfers_to_core0(m);
    for (size_t i = 0; i < transfers.size() && i < 8; ++i)
      list += fmt::format("{} {} {:.1f} ns", i ? "," : "", transfers[i].first, transfers[i].second);
    if (transfers.size() > 8) list += fmt::format(", ... ({} more)", transfers.size() - 8);
    out += fmt::format("  line transfers to core 0 (a line another core modified{}):{}\n",
                       m.dram_access_ns > 0
                           ? fmt::format("; DRAM part {:g} ns{}", m.dram_access_ns, mark(m, "memory.dram_access_ns"))
                           : "",
                       list);
  }
  if (m.num_nodes() > 1)
    out += fmt::format(
        "  interconnect: {} links, {:.1f} GB/s each{}\n",
        m.interconnect.links.empty() ? std::string("full mesh") : std::to_string(m.interconnect.links.size()),
        m.interconnect.link_bandwidth_gb_s, mark(m, "interconnect.link_bandwidth_gb_s"));
  // Where the figures come from: the file or preset (with its sources), then every assumption by the path that
  // overrides it.
  std::set<std::string> sources;
  for (const auto& [path, pv] : m.provenance)
    if ((pv.origin == Origin::File || pv.origin == Origin::Preset) && path != "interconnect.latency_ns")
      sources.insert(fmt::format("{}: {}", pv.origin == Origin::File ? "read from" : "from", pv.source));
  for (const auto& line : sources) out += fmt::format("  {}\n", line);
  const auto assumed = assumed_figures(m);
  if (!assumed.empty()) {
    out += "  * assumed: mksim's defaults, not measured; override them in the config's machine section:\n";
    std::string line = "   ";
    for (size_t i = 0; i < assumed.size(); ++i) {
      std::string item = " " + assumed[i] + (i + 1 < assumed.size() ? "," : "");
      if (line.size() + item.size() > 118) out += line + "\n", line = "   ";
      line += item;
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace mksim
