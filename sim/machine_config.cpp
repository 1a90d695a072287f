#include "sim/machine_config.hpp"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>

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
        Field::number("core_bandwidth_gb_s", Machine{}.core_bandwidth_gb_s, "GB/s",
                      "most one core can stream (its miss buffers)")
            .above(0),
        Field::number("core_mlp", 10, "misses", "cache misses one core keeps in flight (memory-level parallelism)")
            .above(0),
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
    });
    auto coherence = std::make_shared<const Schema>(Schema{
        Field::choice("protocol", "directory", {"directory", "broadcast"},
                      "how a core finds a line another core holds: `directory`, a cache both cores share serves it "
                      "at its hit latency (an inclusive shared cache or a directory knows the holder); `broadcast`, "
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
void apply_interconnect(Machine& m, const Params& p, const std::vector<std::vector<double>>& hwloc_slit) {
  const int n = m.num_nodes();
  Params ic = p.child("interconnect");
  m.interconnect.link_bandwidth_gb_s = ic.number("link_bandwidth_gb_s");
  if (ic.has("links"))
    m.interconnect.links = parse_links(ic.raw()["links"], n, join_path(ic.path(), "links"), ic.file());
  else if (ic.text("topology") == "ring" && n > 2)
    for (int i = 0; i < n; ++i) m.interconnect.links.emplace_back(i, (i + 1) % n);
  check_matrix_size(ic, "latency_ns", n);
  check_matrix_size(ic, "distances", n);
  if (ic.has("latency_ns")) {
    m.interconnect.latency_ns = ic.matrix("latency_ns");
  } else if (ic.has("distances")) {
    m.interconnect.latency_ns = latencies_from_slit(ic.matrix("distances"), m.nodes);
  } else if (!hwloc_slit.empty() && static_cast<int>(hwloc_slit.size()) == n) {
    m.interconnect.latency_ns = latencies_from_slit(hwloc_slit, m.nodes);
  } else {
    // The hop model: local latency plus a fixed cost per hop over the link topology.
    Interconnect hop_ic = m.interconnect;
    hop_ic.latency_ns.assign(n, std::vector<double>(n, 1.0));
    auto hops = derive_hops(hop_ic, n);
    m.interconnect.latency_ns.assign(n, std::vector<double>(n));
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        m.interconnect.latency_ns[i][j] =
            m.nodes[j].local_latency_ns + (i == j ? 0 : hops[i][j] * ic.number("hop_latency_ns"));
  }
  m.interconnect.hops = derive_hops(m.interconnect, n);
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

void apply_memory(Machine& m, const Params& mem, bool override_size) {
  for (auto& nd : m.nodes) {
    if (override_size) nd.memory_bytes = static_cast<uint64_t>(mem.number("node_size_gib") * 1073741824.0);
    nd.controller_bandwidth_gb_s = mem.number("controller_bandwidth_gb_s");
    nd.local_latency_ns = mem.number("local_latency_ns");
  }
  m.core_bandwidth_gb_s = mem.number("core_bandwidth_gb_s");
  m.core_mlp = mem.number("core_mlp");
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
  apply_memory(m, p.child("memory"), true);
  apply_cpu_costs(m, p.child("cpu"));
  apply_coherence(m, p.child("coherence"));
  return m;
}

// Structural fields a hwloc file gives; a config may not set them beside `hwloc`.
const char* kStructural[] = {"sockets", "dies_per_socket", "nodes_per_socket", "cores_per_socket", "threads_per_core"};

Machine hwloc_machine(const json& given, const Params& p, const std::string& base_dir) {
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
  Machine m = std::move(topo.machine);
  if (m.num_nodes() > kMaxNumaNodes)
    p.fail("hwloc",
           fmt::format("{} has {} NUMA nodes, expected at most {} NUMA nodes", path, m.num_nodes(), kMaxNumaNodes));
  if (given.contains("name")) m.name = p.text("name");
  const json mem_given = given.value("memory", json::object());
  apply_memory(m, p.child("memory"), mem_given.contains("node_size_gib"));
  apply_cpu_costs(m, p.child("cpu"));
  apply_coherence(m, p.child("coherence"));
  for (auto& c : m.cores) c.freq_ghz = p.number("freq_ghz");
  Params caches = p.child("caches");
  for (auto& k : m.caches) {
    const char* name = k.level <= 1 ? "l1" : k.level == 2 ? "l2" : "l3";
    k.hit_latency_cycles = caches.child(name).number("latency_cycles");
  }
  apply_interconnect(m, p, topo.slit);
  return m;
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
    json overrides = given;
    overrides.erase("preset");
    merged.merge_patch(overrides);
    merged["preset"] = preset->name;
    given = merged;
  }
  json values = machine_schema().resolve(given, path, file);
  Params p(values, path, file);
  Machine m = given.contains("hwloc") ? hwloc_machine(given, p, base_dir) : uniform_machine(p);
  if (!given.contains("hwloc")) apply_interconnect(m, p, {});
  m.source = given.contains("preset")  ? "preset:" + p.text("preset")
             : given.contains("hwloc") ? "hwloc:" + p.text("hwloc")
                                       : "description";
  if (auto problem = m.check(); !problem.empty()) throw InputError(file, path, problem);
  if (resolved) *resolved = values;
  return m;
}

Machine machine_from_argument(const std::string& arg) {
  if (arg == "--this-host") {
    ImportedTopology topo = import_this_host();
    Machine m = std::move(topo.machine);
    json values = machine_schema().resolve(json::object(), "machine", "this host");
    Params p(values, "machine", "this host");
    apply_memory(m, p.child("memory"), false);
    apply_cpu_costs(m, p.child("cpu"));
    apply_coherence(m, p.child("coherence"));
    apply_interconnect(m, p, topo.slit);
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

json machine_summary_json(const Machine& m) {
  json j;
  j["name"] = m.name;
  j["source"] = m.source;
  j["packages"] = m.packages;
  j["dies"] = m.dies;
  j["numa_nodes"] = m.num_nodes();
  j["cores"] = m.num_cores();
  j["pus"] = m.pus();
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
                     {"controller_bandwidth_gb_s", nd.controller_bandwidth_gb_s},
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
  j["coherence"] = {{"protocol", protocol_name(m.coherence.protocol)},
                    {"home_occupancy_ns", m.coherence.home_occupancy_ns}};
  return j;
}

std::string machine_summary_text(const Machine& m) {
  std::string out;
  int freq_min = 0;
  (void)freq_min;
  out += fmt::format("machine {} ({})\n", m.name, m.source);
  out += fmt::format("  packages {}  dies {}  NUMA nodes {}  cores {}  PUs {}  clock {:.2f} GHz\n", m.packages, m.dies,
                     m.num_nodes(), m.num_cores(), m.pus(), m.cores.front().freq_ghz);
  std::map<int, std::vector<const Cache*>> by_level;
  for (const auto& c : m.caches) by_level[c.level].push_back(&c);
  for (auto& [level, list] : by_level) {
    const Cache* c = list.front();
    out += fmt::format("  L{}: {} x {} KiB, {} B lines, {} cycles, {} core(s) each\n", level, list.size(),
                       c->size_bytes / 1024, c->line_bytes, c->hit_latency_cycles, c->cores.size());
  }
  out += "  NUMA nodes:\n";
  for (const auto& nd : m.nodes) {
    int cores = 0;
    for (const auto& c : m.cores) cores += c.node == nd.id;
    out +=
        fmt::format("    node {}: package {}, {} cores, {:.1f} GiB, {:.1f} GB/s, local {:.0f} ns\n", nd.id, nd.package,
                    cores, nd.memory_bytes / 1073741824.0, nd.controller_bandwidth_gb_s, nd.local_latency_ns);
  }
  out += "  latency (ns), row: accessing node, column: memory node\n";
  for (int i = 0; i < m.num_nodes(); ++i) {
    out += "   ";
    for (int j = 0; j < m.num_nodes(); ++j) out += fmt::format(" {:6.0f}", m.interconnect.latency_ns[i][j]);
    out += "\n";
  }
  const CpuCosts& k = m.cores.front().costs;
  out +=
      fmt::format("  cpu: kernel entry+exit {} cycles, address-space switch {} cycles, {} TLB, page walk {} cycles\n",
                  k.kernel_entry_exit_cycles, k.address_space_switch_cycles, k.tagged_tlb ? "tagged" : "untagged",
                  k.page_walk_cycles);
  out += fmt::format("  coherence: {}, home node occupancy {} ns per request\n", protocol_name(m.coherence.protocol),
                     m.coherence.home_occupancy_ns);
  out +=
      fmt::format("  interconnect: {} links, {:.1f} GB/s each\n",
                  m.interconnect.links.empty() ? std::string("full mesh") : std::to_string(m.interconnect.links.size()),
                  m.interconnect.link_bandwidth_gb_s);
  return out;
}

}  // namespace mksim
