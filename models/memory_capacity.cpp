#include "models/memory_capacity.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace mksim {

namespace {

std::string gib(uint64_t b) {
  return fmt::format("{:.3g} GiB", static_cast<double>(b) / 1073741824.0);
}

// Nodes in the order Linux's zonelist of node `from` visits them: `from` first, then by load latency from the cores
// nearest `from` (a memory-only node's own zonelist is its host's), ties by lowest id.
std::vector<int> zonelist(const Machine& m, int from) {
  std::vector<int> order(m.num_nodes());
  std::iota(order.begin(), order.end(), 0);
  const int host = m.nearest_cpu_node(from);
  const auto& lat = m.interconnect.latency_ns;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if ((a == from) != (b == from)) return a == from;
    return lat[host][a] < lat[host][b];
  });
  return order;
}

}  // namespace

uint64_t free_on(const Machine& m, const std::vector<uint64_t>& used, int n) {
  const uint64_t cap = m.nodes[n].memory_bytes;
  if (cap == 0) return UINT64_MAX;  // capacity unknown: never full
  return used[n] >= cap ? 0 : cap - used[n];
}

Placed place_within_capacity(const Machine& m, const std::vector<double>& want, uint64_t bytes,
                             std::vector<uint64_t>& used, bool strict) {
  const int n = m.num_nodes();
  Placed out;
  out.share = want;
  out.bytes.assign(n, 0);
  // What each wanted node gets: its share, rounded so that the bytes add up.
  std::vector<uint64_t> wanted(n, 0);
  uint64_t given = 0;
  int last = -1;
  for (int i = 0; i < n; ++i)
    if (want[i] > 0) {
      wanted[i] = static_cast<uint64_t>(std::floor(static_cast<double>(bytes) * want[i]));
      given += wanted[i];
      last = i;
    }
  if (last < 0) return out;
  wanted[last] += bytes > given ? bytes - given : 0;
  bool fits = true;
  for (int i = 0; i < n; ++i) fits = fits && wanted[i] <= free_on(m, used, i);
  if (fits) {  // the common case: the wanted shares as they are
    for (int i = 0; i < n; ++i) used[i] += wanted[i], out.bytes[i] = wanted[i];
    return out;
  }
  std::vector<uint64_t> take(n, 0), avail(n);
  for (int i = 0; i < n; ++i) avail[i] = free_on(m, used, i);
  for (int i = 0; i < n; ++i) {
    if (wanted[i] == 0) continue;
    uint64_t left = wanted[i];
    for (int j : zonelist(m, i)) {
      if (strict && want[j] <= 0) continue;
      const uint64_t t = std::min(left, avail[j]);
      take[j] += t, avail[j] -= t, left -= t;
      if (left == 0) break;
    }
    if (left > 0) {
      uint64_t all = 0, allowed = 0;
      for (int j = 0; j < n; ++j) {
        all += m.nodes[j].memory_bytes;
        if (!strict || want[j] > 0) allowed += m.nodes[j].memory_bytes;
      }
      out.error =
          strict
              ? fmt::format(
                    "NUMA node {} ({}, {}) is full: a region of {} bound to {} needs {} more than its node set's "
                    "{} has free ({} in use there); a bind policy does not fall back to other nodes",
                    i, m.nodes[i].kind, gib(m.nodes[i].memory_bytes), gib(bytes),
                    std::count_if(want.begin(), want.end(), [](double w) { return w > 0; }) > 1 ? "these nodes" : "it",
                    gib(left), gib(allowed), gib(std::accumulate(used.begin(), used.end(), uint64_t{0})))
              : fmt::format(
                    "out of memory: a region of {} wanted on NUMA node {} ({}, {}) needs {} more than the "
                    "whole machine has free ({} in use of {})",
                    gib(bytes), i, m.nodes[i].kind, gib(m.nodes[i].memory_bytes), gib(left),
                    gib(std::accumulate(used.begin(), used.end(), uint64_t{0})), gib(all));
      return out;
    }
  }
  for (int i = 0; i < n; ++i) {
    used[i] += take[i];
    out.bytes[i] = take[i];
    out.share[i] = bytes ? static_cast<double>(take[i]) / static_cast<double>(bytes) : 0.0;
  }
  return out;
}

void release_placed(const std::vector<uint64_t>& placed, std::vector<uint64_t>& used) {
  for (size_t i = 0; i < placed.size() && i < used.size(); ++i) used[i] -= std::min(used[i], placed[i]);
}

}  // namespace mksim
