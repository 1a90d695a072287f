// Maps a loaded hwloc topology onto mksim's Machine (sim/hwloc_detail.hpp): packages, dies, NUMA nodes with their
// local memory, cores with their PUs, the data caches each core sits under, and the NUMA distance (SLIT) matrix; every
// assumption it makes goes into ImportedTopology::notes.
#include <fcntl.h>
#include <fmt/format.h>
#include <hwloc.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include "sim/api/params.hpp"
#include "sim/hwloc_detail.hpp"
#include "sim/hwloc_memory.hpp"
#include "sim/input.hpp"

namespace mksim::hwloc_detail {

namespace {

// hwloc 2.0 exported memory-side caches (DRAM in front of NVM, MCDRAM in cache mode) as CPU caches of this subtype;
// later versions have a MemCache object type.
bool memory_side_cache(hwloc_obj_t o) {
  return o->subtype && std::strcmp(o->subtype, "MemorySideCache") == 0;
}

bool ordinary_memory(hwloc_obj_t node) {
  return node->subtype == nullptr || std::strcmp(node->subtype, "DRAM") == 0;
}

std::string gib(uint64_t bytes) {
  return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1ull << 30));
}

// NUMA distances: the latency matrix hwloc calls "NUMALatency" (the OS's SLIT), else any latency matrix of NUMA nodes.
void import_distances(hwloc_topology_t t, ImportedTopology& out) {
  const int n = out.machine.num_nodes();
  unsigned nr = 0;
  if (hwloc_distances_get_by_type(t, HWLOC_OBJ_NUMANODE, &nr, nullptr, HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0) != 0 ||
      nr == 0) {
    if (n > 1) out.notes.push_back("no NUMA distances: the caller must supply the node-to-node latencies");
    return;
  }
  std::vector<hwloc_distances_s*> all(nr, nullptr);
  unsigned got = nr;
  if (hwloc_distances_get_by_type(t, HWLOC_OBJ_NUMANODE, &got, all.data(), HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0) != 0)
    got = 0;
  all.resize(std::min(got, nr));
  hwloc_distances_s* chosen = nullptr;
  std::string chosen_name;
  for (hwloc_distances_s* d : all) {
    const char* name = hwloc_distances_get_name(t, d);
    if (!chosen || (name && std::strcmp(name, "NUMALatency") == 0 && chosen_name != "NUMALatency")) {
      chosen = d;
      chosen_name = name ? name : "";
    }
  }
  if (chosen) {
    const double unknown = std::numeric_limits<double>::quiet_NaN();
    std::vector<std::vector<double>> slit(n, std::vector<double>(n, unknown));
    const unsigned k = chosen->nbobjs;
    for (unsigned a = 0; a < k; ++a)
      for (unsigned b = 0; b < k; ++b) {
        hwloc_obj_t oa = chosen->objs[a], ob = chosen->objs[b];
        if (!oa || !ob || static_cast<int>(oa->logical_index) >= n || static_cast<int>(ob->logical_index) >= n)
          continue;
        slit[oa->logical_index][ob->logical_index] = static_cast<double>(chosen->values[a * k + b]);
      }
    const std::string label = chosen_name.empty() ? std::string("NUMA latency matrix") : "\"" + chosen_name + "\"";
    bool usable = true;
    int missing = 0;
    for (int i = 0; i < n; ++i) {
      if (std::isnan(slit[i][i])) {
        ++missing;
      } else if (!(slit[i][i] > 0)) {
        usable = false;
      }
    }
    if (!usable) {
      out.notes.push_back(fmt::format("NUMA distances {} ignored: a diagonal (local) entry is 0", label));
    } else {
      // SLIT values are relative (10 = local) and kept as they are; a matrix in other units is rescaled so that each
      // target's local distance is 10, which is what latencies_from_slit() expects.
      bool relative = true;
      for (int i = 0; i < n; ++i)
        if (!std::isnan(slit[i][i]) && slit[i][i] != 10) relative = false;
      if (!relative) {
        for (int j = 0; j < n; ++j) {
          const double local = slit[j][j];
          if (std::isnan(local)) continue;
          for (int i = 0; i < n; ++i)
            if (!std::isnan(slit[i][j])) slit[i][j] = 10.0 * slit[i][j] / local;
        }
        out.notes.push_back(
            fmt::format("NUMA distances {} are not relative to 10 = local: rescaled per target node", label));
      }
      if (missing > 0) {
        double farthest = 10;
        for (const auto& row : slit)
          for (double v : row)
            if (!std::isnan(v)) farthest = std::max(farthest, v);
        for (int i = 0; i < n; ++i)
          for (int j = 0; j < n; ++j)
            if (std::isnan(slit[i][j])) slit[i][j] = i == j ? 10 : farthest;
        out.notes.push_back(
            fmt::format("NUMA distances {} cover {} of {} nodes: the others are taken as local 10 "
                        "and {} (the farthest distance) to every other node",
                        label, n - missing, n, farthest));
      }
      out.slit = std::move(slit);
    }
  }
  for (hwloc_distances_s* d : all) hwloc_distances_release(t, d);
}

int cores_under(hwloc_topology_t t, hwloc_obj_t o) {
  const int cores = hwloc_get_nbobjs_inside_cpuset_by_type(t, o->cpuset, HWLOC_OBJ_CORE);
  return cores > 0 ? cores : hwloc_get_nbobjs_inside_cpuset_by_type(t, o->cpuset, HWLOC_OBJ_PU);
}

}  // namespace

ImportedTopology map_topology(hwloc_topology_t t, const std::string& file, ImportedTopology out) {
  Machine& m = out.machine;
  const int npu = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
  if (npu <= 0) throw InputError(file, "", "the topology has no processing units (PU objects)");

  // Cores, in hwloc's logical order: PUs are numbered depth-first, so their cores appear in the cores' own order. A
  // PU with no Core above it (some platforms do not report cores) is taken as a core of its own.
  std::vector<hwloc_obj_t> unit;  // per dense core id: the hwloc Core (or lone PU) object
  std::unordered_map<hwloc_obj_t, int> core_of;
  std::unordered_map<unsigned, int> core_of_pu;  // PU OS index -> dense core id
  int lone_pus = 0;
  for (int i = 0; i < npu; ++i) {
    hwloc_obj_t pu = hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, static_cast<unsigned>(i));
    hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_CORE, pu);
    if (!core) {
      core = pu;
      ++lone_pus;
    }
    auto [it, fresh] = core_of.try_emplace(core, static_cast<int>(unit.size()));
    if (fresh) {
      unit.push_back(core);
      Core c;
      c.id = it->second;
      c.hw_threads = 0;
      m.cores.push_back(c);
    }
    Core& c = m.cores[it->second];
    c.hw_threads += 1;
    c.pu_os_index.push_back(static_cast<int>(pu->os_index));
    core_of_pu[pu->os_index] = it->second;
  }
  // hwloc drops objects that contradict their parents (with no error); the root's cpuset still names their PUs.
  const int named_pus = hwloc_bitmap_weight(hwloc_topology_get_complete_cpuset(t));
  if (named_pus > npu)
    out.notes.push_back(
        fmt::format("the topology's cpusets name {} PUs but hwloc kept {} PU objects (inconsistent "
                    "file?): the missing ones are not imported",
                    named_pus, npu));
  if (lone_pus > 0) out.notes.push_back(fmt::format("{} PUs have no Core object: each is taken as a core", lone_pus));

  // Packages.
  const int npkg = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE);
  m.packages = std::max(1, npkg);
  if (npkg <= 0) out.notes.push_back("no Package objects: one package");
  for (size_t i = 0; i < unit.size(); ++i) {
    hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, unit[i]);
    m.cores[i].package = pkg ? static_cast<int>(pkg->logical_index) : 0;
  }

  // Dies: the innermost of Die, shared L3 cache and Package above each core. An L3 inside a package is the die's shared
  // LLC (Machine's notion of a die), so where it covers only part of a package (AMD CCX/CCD, Opteron 6200 dies) it
  // defines the die even without Die objects, and where it is package-wide it changes nothing.
  const int ndie_objs = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_DIE);
  std::unordered_map<hwloc_obj_t, int> die_of;
  bool l3_split = false;  // some die is an L3 smaller than its Die or Package
  for (size_t i = 0; i < unit.size(); ++i) {
    hwloc_obj_t key = hwloc_get_root_obj(t);
    for (hwloc_obj_t o = unit[i]->parent; o; o = o->parent) {
      if (o->type == HWLOC_OBJ_DIE || o->type == HWLOC_OBJ_PACKAGE) {
        key = o;
        break;
      }
      // An L3 private to one core (POWER8) is no die; it must be shared.
      if (o->type == HWLOC_OBJ_L3CACHE && cores_under(t, o) > 1 && !memory_side_cache(o)) {
        key = o;
        hwloc_obj_t outer = hwloc_get_ancestor_obj_by_type(t, ndie_objs > 0 ? HWLOC_OBJ_DIE : HWLOC_OBJ_PACKAGE, o);
        if (outer && !hwloc_bitmap_isequal(outer->cpuset, o->cpuset)) l3_split = true;
        break;
      }
    }
    auto [it, fresh] = die_of.try_emplace(key, static_cast<int>(die_of.size()));
    m.cores[i].die = it->second;
  }
  m.dies = std::max(1, static_cast<int>(die_of.size()));
  if (l3_split)
    out.notes.push_back(fmt::format("dies follow the L3 caches shared by part of a {} ({} dies)",
                                    ndie_objs > 0 ? "Die" : "package", m.dies));
  else if (ndie_objs <= 0 && npkg > 0)
    out.notes.push_back("no Die objects: one die per package");

  // NUMA nodes, dense in hwloc's logical order.
  const int nnodes = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
  std::vector<hwloc_obj_t> node_objs;
  for (int i = 0; i < nnodes; ++i) {
    hwloc_obj_t o = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i));
    node_objs.push_back(o);
    NumaNode nd;
    nd.id = i;
    nd.memory_bytes = o->attr ? o->attr->numanode.local_memory : 0;
    int first_core = -1;  // the node's first core (not simply its cpuset's first bit: that PU may be missing)
    if (o->cpuset)
      for (int b = hwloc_bitmap_first(o->cpuset); b >= 0 && first_core < 0; b = hwloc_bitmap_next(o->cpuset, b))
        if (auto pu = core_of_pu.find(static_cast<unsigned>(b)); pu != core_of_pu.end()) first_core = pu->second;
    if (first_core >= 0) {
      nd.package = m.cores[first_core].package;
    } else {
      hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, o);
      nd.package = pkg ? static_cast<int>(pkg->logical_index) : 0;
      out.notes.push_back(fmt::format("NUMA node {} (OS #{}{}{}, {}) has no CPUs: memory only", i, o->os_index,
                                      o->subtype ? ", " : "", o->subtype ? o->subtype : "", gib(nd.memory_bytes)));
    }
    if (nd.memory_bytes == 0) out.notes.push_back(fmt::format("NUMA node {} reports no memory", i));
    m.nodes.push_back(nd);
  }
  if (m.nodes.empty()) {
    NumaNode nd;
    hwloc_obj_t root = hwloc_get_root_obj(t);
    nd.memory_bytes = root->total_memory;
    m.nodes.push_back(nd);
    out.notes.push_back(fmt::format("no NUMA nodes: one node with all the memory ({})", gib(nd.memory_bytes)));
  }

  // Each core's node: the NUMA node whose cpuset holds it. Where several do (KNL DRAM + MCDRAM, DRAM + HBM on Xeon
  // Max), prefer ordinary memory (no subtype or "DRAM"), then the most local node (smallest cpuset), then the lowest
  // OS index, as Linux numbers CPU-attached nodes first.
  int shared_cores = 0, homeless = 0;
  for (size_t i = 0; i < unit.size(); ++i) {
    const unsigned first_pu = static_cast<unsigned>(m.cores[i].pu_os_index.front());
    int best = -1;
    int choices = 0;
    auto rank = [&](int k) {
      hwloc_obj_t o = node_objs[k];
      return std::make_tuple(ordinary_memory(o) ? 0 : 1, hwloc_bitmap_weight(o->cpuset), o->os_index);
    };
    for (int k = 0; k < static_cast<int>(node_objs.size()); ++k) {
      if (!node_objs[k]->cpuset || !hwloc_bitmap_isset(node_objs[k]->cpuset, first_pu)) continue;
      ++choices;
      if (best < 0 || rank(k) < rank(best)) best = k;
    }
    if (choices > 1) ++shared_cores;
    if (best < 0) {
      best = 0;
      ++homeless;
    }
    m.cores[i].node = best;
  }
  if (shared_cores > 0)
    out.notes.push_back(
        fmt::format("{} cores are local to several NUMA nodes: each core's node is its ordinary "
                    "(DRAM) one, the others stay reachable as memory",
                    shared_cores));
  if (homeless > 0 && !node_objs.empty())
    out.notes.push_back(fmt::format("{} cores are in no NUMA node's cpuset: put on node 0", homeless));
  // Kinds (subtypes), memory attributes and the locality of memory-only nodes (sim/hwloc_memory.cpp).
  import_memory_kinds(t, node_objs, out);

  // Data and unified caches, one Cache per hwloc object, ordered by level then hwloc's logical order. Instruction
  // caches are filtered out by hwloc already; memory-side caches are not CPU caches and are only counted.
  std::unordered_map<hwloc_obj_t, int> cache_index;
  int memory_side_l3 = 0;  // memory-side caches exported as CPU caches with subtype MemorySideCache (hwloc 2.0)
  for (hwloc_obj_type_t type :
       {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L4CACHE, HWLOC_OBJ_L5CACHE}) {
    const int count = hwloc_get_nbobjs_by_type(t, type);
    for (int i = 0; i < count; ++i) {
      hwloc_obj_t o = hwloc_get_obj_by_type(t, type, static_cast<unsigned>(i));
      if (memory_side_cache(o)) {
        ++memory_side_l3;
        continue;
      }
      Cache c;
      c.level = static_cast<int>(o->attr->cache.depth);
      c.size_bytes = o->attr->cache.size;
      if (o->attr->cache.linesize > 0) c.line_bytes = o->attr->cache.linesize;
      cache_index[o] = static_cast<int>(m.caches.size());
      m.caches.push_back(c);
    }
  }
  int unknown_line = 0, unknown_size = 0;
  for (const auto& [o, idx] : cache_index) {
    if (o->attr->cache.linesize == 0) ++unknown_line;
    if (o->attr->cache.size == 0) ++unknown_size;
  }
  for (size_t i = 0; i < unit.size(); ++i) {
    for (hwloc_obj_t o = unit[i]; o; o = o->parent) {
      auto it = cache_index.find(o);
      if (it == cache_index.end()) continue;
      m.caches[it->second].cores.push_back(static_cast<int>(i));
      m.cores[i].caches.push_back(it->second);
    }
  }
  // A cache no core sits under cannot be used; drop it and renumber (does not happen with hwloc's own exports).
  if (std::any_of(m.caches.begin(), m.caches.end(), [](const Cache& c) { return c.cores.empty(); })) {
    std::vector<int> renum(m.caches.size(), -1);
    std::vector<Cache> kept;
    for (size_t k = 0; k < m.caches.size(); ++k)
      if (!m.caches[k].cores.empty()) renum[k] = static_cast<int>(kept.size()), kept.push_back(m.caches[k]);
    for (Core& c : m.cores)
      for (int& ci : c.caches) ci = renum[ci];
    m.caches = std::move(kept);
  }
  for (Core& c : m.cores)
    std::stable_sort(c.caches.begin(), c.caches.end(),
                     [&](int a, int b) { return m.caches[a].level < m.caches[b].level; });
  if (unknown_line > 0)
    out.notes.push_back(fmt::format("{} caches have no line size: {} bytes assumed", unknown_line, Cache{}.line_bytes));
  if (unknown_size > 0) out.notes.push_back(fmt::format("{} caches have no size (0 bytes kept)", unknown_size));
  const int memcaches = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_MEMCACHE) + memory_side_l3;
  if (memcaches > 0)
    out.notes.push_back(
        fmt::format("{} memory-side caches (e.g. DRAM in front of persistent memory) are not modelled", memcaches));

  // What the exporting process could not use was imported anyway (see configure()); say how much.
  hwloc_const_cpuset_t allowed_cpus = hwloc_topology_get_allowed_cpuset(t);
  hwloc_const_nodeset_t allowed_nodes = hwloc_topology_get_allowed_nodeset(t);
  int disallowed_pus = 0, disallowed_nodes = 0;
  for (int i = 0; i < npu; ++i)
    if (!hwloc_bitmap_isset(allowed_cpus, hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, static_cast<unsigned>(i))->os_index))
      ++disallowed_pus;
  for (hwloc_obj_t o : node_objs)
    if (!hwloc_bitmap_isset(allowed_nodes, o->os_index)) ++disallowed_nodes;
  if (disallowed_pus > 0 || disallowed_nodes > 0)
    out.notes.push_back(
        fmt::format("{} of {} PUs and {} of {} NUMA nodes are marked disallowed (e.g. outside the "
                    "exporting process's cgroup): imported anyway, the machine is the whole hardware",
                    disallowed_pus, npu, disallowed_nodes, node_objs.size()));

  import_distances(t, out);
  return out;
}

}  // namespace mksim::hwloc_detail
