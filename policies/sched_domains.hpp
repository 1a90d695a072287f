// Scheduling domains: the levels at which cores share hardware, nearest first, as Linux's sched_domain hierarchy
// describes them (Documentation/scheduler/sched-domains.rst): the last-level cache (a die/CCX), the NUMA node, the
// package, then the other packages by interconnect hops. Schedulers that balance load or steal work look at nearer
// levels first, because moving a thread there refills fewer caches and its lock lines travel less far.
#pragma once

#include <algorithm>
#include <vector>

#include "models/machine.hpp"

namespace mksim {

// How far apart two cores are for scheduling: 0 the same core, 1 the same NUMA node and last-level cache, 2 the same
// node, 3 the same package, 3 + hops for cores on other packages. Each level implies the next, so the levels nest even
// when an LLC spans several nodes (sub-NUMA clustering): such cores count as "same package", as Linux treats them.
inline int core_distance(const Machine& m, int a, int b) {
  if (a == b) return 0;
  const Core& ca = m.cores[a];
  const Core& cb = m.cores[b];
  if (ca.node == cb.node) {
    const Cache* la = m.last_level_cache(a);
    bool shared_llc = la ? la == m.last_level_cache(b) : ca.die == cb.die;
    return shared_llc ? 1 : 2;
  }
  if (ca.package == cb.package) return 3;
  const auto& hops = m.interconnect.hops;
  int h = hops.empty() ? 1 : std::max(1, hops[ca.node][cb.node]);
  return 3 + h;
}

// Every core in order of distance from one core (itself first). Ties are broken by rotating from that core, so the
// cores of one group do not all look at the same victim first.
struct CoreOrder {
  std::vector<int> cores;
  // cores[0, level_end[k]) is the k-th scheduling domain: distinct, growing, the last one the whole machine.
  std::vector<int> level_end;
};

inline std::vector<CoreOrder> core_orders(const Machine& m) {
  const int n = m.num_cores();
  std::vector<CoreOrder> out(n);
  std::vector<int> dist(n);
  for (int c = 0; c < n; ++c) {
    for (int o = 0; o < n; ++o) dist[o] = core_distance(m, c, o);
    auto& order = out[c].cores;
    order.resize(n);
    for (int i = 0; i < n; ++i) order[i] = (c + i) % n;
    std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return dist[x] < dist[y]; });
    for (int i = 1; i < n; ++i)
      if (dist[order[i]] != dist[order[i - 1]] && dist[order[i - 1]] > 0) out[c].level_end.push_back(i);
    out[c].level_end.push_back(n);
  }
  return out;
}

}  // namespace mksim
