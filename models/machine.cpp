#include "models/machine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <set>

namespace mksim {

const char* origin_name(Origin o) {
  switch (o) {
    case Origin::File:
      return "file";
    case Origin::Preset:
      return "preset";
    case Origin::Config:
      return "config";
    case Origin::Default:
      return "default";
  }
  return "default";
}

bool Machine::assumed(const std::string& figure) const {
  auto it = provenance.find(figure);
  return it != provenance.end() && it->second.origin == Origin::Default;
}

int Machine::pus() const {
  int n = 0;
  for (const auto& c : cores) n += c.hw_threads;
  return n;
}

int Machine::physical_cores() const {
  int n = 0;
  for (int i = 0; i < num_cores(); ++i) n = std::max(n, physical_core(i) + 1);
  return n;
}

void make_smt_contexts(Machine& m, std::vector<double> throughput) {
  const std::vector<Core> phys = m.cores;
  int rounds = 0;
  for (const auto& c : phys) rounds = std::max(rounds, c.hw_threads);
  std::vector<std::vector<int>> contexts(phys.size());  // per physical core: its context ids
  std::vector<Core> out;
  for (int j = 0; j < rounds; ++j)
    for (size_t p = 0; p < phys.size(); ++p) {
      if (j >= std::max(phys[p].hw_threads, 1)) continue;
      Core c = phys[p];
      c.id = static_cast<int>(out.size());
      c.hw_threads = 1;
      c.pu_os_index = j < static_cast<int>(phys[p].pu_os_index.size()) ? std::vector<int>{phys[p].pu_os_index[j]}
                                                                       : std::vector<int>{};
      c.smt_core = static_cast<int>(p);
      contexts[p].push_back(c.id);
      out.push_back(std::move(c));
    }
  for (auto& k : m.caches) {
    std::vector<int> cores;
    for (int p : k.cores) cores.insert(cores.end(), contexts[p].begin(), contexts[p].end());
    std::sort(cores.begin(), cores.end());
    k.cores = std::move(cores);
  }
  m.cores = std::move(out);
  m.smt.on = true;
  if (!throughput.empty()) m.smt.throughput = std::move(throughput);
}

bool Machine::has_cores(int node) const {
  return std::any_of(cores.begin(), cores.end(), [&](const Core& c) { return c.node == node; });
}

int Machine::nearest_cpu_node(int node) const {
  if (has_cores(node)) return node;
  const bool have_latency = static_cast<int>(interconnect.latency_ns.size()) == num_nodes();
  int best = -1;
  for (int i = 0; i < num_nodes(); ++i) {
    if (!has_cores(i)) continue;
    if (best < 0) {
      best = i;
    } else if (have_latency) {
      if (interconnect.latency_ns[i][node] < interconnect.latency_ns[best][node]) best = i;
    } else if (nodes[i].package == nodes[node].package && nodes[best].package != nodes[node].package) {
      best = i;
    }
  }
  return best < 0 ? node : best;
}

uint64_t Machine::memory_bytes() const {
  uint64_t total = 0;
  for (const auto& n : nodes) total += n.memory_bytes;
  return total;
}

const Cache* Machine::shared_cache(int a, int b) const {
  for (int ci : cores[a].caches) {
    const Cache& c = caches[ci];
    if (a == b || std::find(c.cores.begin(), c.cores.end(), b) != c.cores.end()) return &c;
  }
  return nullptr;
}

const Cache* Machine::last_level_cache(int core) const {
  const auto& cs = cores[core].caches;
  return cs.empty() ? nullptr : &caches[cs.back()];
}

bool Machine::cache_spans_node(const Cache& c, int node) const {
  if (c.cores.size() < 2) return false;
  // A cache instance lists each of its cores once: it holds every core of the node when it holds as many as the node.
  size_t in_cache = 0, on_node = 0;
  for (int k : c.cores) in_cache += cores[k].node == node;
  for (const Core& k : cores) on_node += k.node == node;
  return in_cache == on_node;
}

std::string Machine::check() const {
  if (cores.empty()) return "the machine has no cores";
  if (nodes.empty()) return "the machine has no NUMA nodes";
  const size_t n = nodes.size();
  for (size_t i = 0; i < cores.size(); ++i) {
    const Core& c = cores[i];
    if (c.id != static_cast<int>(i)) return fmt::format("core {} has id {}", i, c.id);
    if (c.node < 0 || c.node >= static_cast<int>(n))
      return fmt::format("core {} is on NUMA node {}, which does not exist (the machine has {})", i, c.node, n);
    if (!(c.freq_ghz > 0) || !std::isfinite(c.freq_ghz)) return fmt::format("core {} has clock {} GHz", i, c.freq_ghz);
    for (int ci : c.caches)
      if (ci < 0 || ci >= static_cast<int>(caches.size())) return fmt::format("core {} names cache {}", i, ci);
    const CpuCosts& k = c.costs;
    for (auto [name, v] :
         {std::pair{"kernel entry and exit", k.kernel_entry_exit_cycles},
          std::pair{"address-space switch", k.address_space_switch_cycles}, std::pair{"page walk", k.page_walk_cycles}})
      if (!(v >= 0) || !std::isfinite(v))
        return fmt::format("core {} has a {} of {} cycles, expected >= 0", i, name, v);
  }
  for (const auto& nd : nodes) {
    if (!(nd.controller_bandwidth_gb_s > 0))
      return fmt::format("NUMA node {} has memory bandwidth {} GB/s, expected > 0", nd.id,
                         nd.controller_bandwidth_gb_s);
    if (!(nd.local_latency_ns > 0))
      return fmt::format("NUMA node {} has local latency {} ns", nd.id, nd.local_latency_ns);
    if (!(nd.write_bandwidth_gb_s >= 0) || !std::isfinite(nd.write_bandwidth_gb_s))
      return fmt::format("NUMA node {} has write bandwidth {} GB/s, expected > 0", nd.id, nd.write_bandwidth_gb_s);
    if (nd.kind.empty()) return fmt::format("NUMA node {} has no memory kind", nd.id);
  }
  const auto& lat = interconnect.latency_ns;
  if (lat.size() != n)
    return fmt::format("the latency matrix has {} rows, expected {} (one per NUMA node)", lat.size(), n);
  for (size_t i = 0; i < n; ++i) {
    if (lat[i].size() != n)
      return fmt::format("latency matrix row {} has {} entries, expected {}", i, lat[i].size(), n);
    for (size_t j = 0; j < n; ++j)
      if (!(lat[i][j] > 0) || !std::isfinite(lat[i][j]))
        return fmt::format("latency from node {} to node {} is {} ns, expected > 0", i, j, lat[i][j]);
  }
  for (auto [a, b] : interconnect.links)
    if (a < 0 || b < 0 || a >= static_cast<int>(n) || b >= static_cast<int>(n) || a == b)
      return fmt::format("interconnect link {}-{} does not join two different existing nodes", a, b);
  if (!(interconnect.link_bandwidth_gb_s > 0)) return "interconnect link bandwidth must be > 0";
  if (!(core_bandwidth_gb_s > 0)) return "per-core bandwidth must be > 0";
  return "";
}

std::vector<std::vector<double>> latencies_from_slit(const std::vector<std::vector<double>>& slit,
                                                     const std::vector<NumaNode>& nodes) {
  std::vector<std::vector<double>> lat(slit.size(), std::vector<double>(slit.size()));
  for (size_t i = 0; i < slit.size(); ++i)
    for (size_t j = 0; j < slit[i].size() && j < nodes.size(); ++j)
      lat[i][j] = nodes[j].local_latency_ns * slit[i][j] / 10.0;
  return lat;
}

std::vector<std::vector<int>> derive_hops(const Interconnect& ic, int n) {
  std::vector<std::vector<int>> hops(n, std::vector<int>(n, 0));
  if (!ic.links.empty()) {
    std::vector<std::vector<int>> adj(n);
    for (auto [a, b] : ic.links) adj[a].push_back(b), adj[b].push_back(a);
    for (int s = 0; s < n; ++s) {
      std::vector<int> d(n, -1);
      std::deque<int> q{s};
      d[s] = 0;
      while (!q.empty()) {
        int u = q.front();
        q.pop_front();
        for (int v : adj[u])
          if (d[v] < 0) d[v] = d[u] + 1, q.push_back(v);
      }
      for (int t = 0; t < n; ++t) hops[s][t] = d[t] < 0 ? n : d[t];  // unreachable: set apart, check() reports it
    }
    return hops;
  }
  for (int i = 0; i < n; ++i) {
    std::set<double> tiers;
    for (int j = 0; j < n; ++j)
      if (j != i) tiers.insert(std::round(ic.latency_ns[i][j] / ic.latency_ns[i][i] * 100.0));
    for (int j = 0; j < n; ++j) {
      if (j == i) continue;
      auto key = std::round(ic.latency_ns[i][j] / ic.latency_ns[i][i] * 100.0);
      hops[i][j] = 1 + static_cast<int>(std::distance(tiers.begin(), tiers.find(key)));
    }
  }
  return hops;
}

}  // namespace mksim
