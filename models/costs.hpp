// Hardware cost functions derived from the machine description: what a cache-line transfer, a memory access or an
// inter-processor interrupt costs between two places. Kernel models compose these; they never carry their own
// per-architecture fudge factors.
#pragma once

#include <algorithm>

#include "models/machine.hpp"

namespace mksim {

inline double cycles_to_s(const Machine& m, int core, double cycles) {
  return cycles / (m.cores[core].freq_ghz * 1e9);
}
inline double ns_to_cycles(const Machine& m, int core, double ns) {
  return ns * m.cores[core].freq_ghz;
}

// Moving one cache line whose memory is on node `home` from core `from`'s cache to core `to` (a write-shared line, a
// lock, a message slot), the line modified (or held exclusive) in `from`'s private caches.
//
// With directory coherence the request goes to the point that tracks the holders and that point snoops the owner:
// - Two cores sharing a cache: the shared cache (an inclusive cache's core-valid bits, or its snoop filter) is that
//   point. The request's trip to it is a hit's latency, and the snoop of the owner's private cache is a second trip of
//   the same kind (to a core's cache and back, with its lookup in place of the shared cache's), so the transfer
//   costs twice the shared cache's hit latency. Intel's guide for Nehalem measures it: an L3 hit costs ~40 cycles,
//   an L3 hit on a line modified in another core ~75 (Levinthal, "Performance Analysis Guide for Intel Core i7 and
//   Xeon 5500 processors", 2009, table 2). Two hardware threads of one core find the line in the first-level cache
//   they share: a hit.
// - Cores on different nodes, the owner's last-level cache spanning its whole node (one shared cache per socket): the
//   request crosses to the owner's node and back, the interconnect's round trip (the remote memory latency less the
//   local one), and the owner's cache answers as above, without a memory access.
// - Cores of one node sharing no cache (the dies of a front-side-bus package, a node of several last-level caches):
//   the miss goes the way of a memory access (on the bus, or to the node's memory controller, whose snoop finds the
//   owner), but the owner's cache answers it instead of the DRAM: the local latency less the DRAM's own part
//   (`machine.memory.dram_access_ns`, the modules' tRCD + CL) plus the owner's last-level cache lookup. Without a
//   dram_access_ns, a memory access.
// - Otherwise a coherence miss served at the latency of the memory of `from`'s node as seen from `to`'s node.
// With broadcast coherence (see docs/calibration.md) no shared cache short-cuts the
// request: it goes to the home node's memory controller, which probes every node, and the transfer completes once
// every node has answered. The probes' round trip to the farthest node sets the cost, whatever the distance between
// the two cores (on the presets' symmetric topologies the request's trip to the home plus the farthest probe's path
// back is the same number of hops for every requester), so a transfer costs what a local access at the home node
// costs. An owner on another node adds its data's crossing of one link, the line's serialisation at the link's
// bandwidth; further hops add only a cut-through router's forwarding, which the model neglects.
inline double line_transfer_ns(const Machine& m, int from, int to, int home) {
  if (from == to) {
    const Cache* c = m.shared_cache(from, to);  // the core's first-level cache
    return c ? c->hit_latency_cycles / m.cores[to].freq_ghz : 0.0;
  }
  const int fn = m.cores[from].node, tn = m.cores[to].node;
  const auto& lat = m.interconnect.latency_ns;
  if (m.coherence.protocol == CoherenceProtocol::Directory) {
    if (const Cache* c = m.shared_cache(from, to)) {
      // Hardware threads of one core hold the line in the cache they share: a hit, with nobody to snoop.
      const bool owners_first_level = c == &m.caches[m.cores[from].caches.front()];
      return (owners_first_level ? 1 : 2) * c->hit_latency_cycles / m.cores[to].freq_ghz;
    }
    const Cache* llc = m.last_level_cache(from);
    if (fn != tn && llc && m.cache_spans_node(*llc, fn))
      return std::max(0.0, lat[tn][fn] - lat[tn][tn]) + 2 * llc->hit_latency_cycles / m.cores[from].freq_ghz;
    if (fn == tn && llc && m.dram_access_ns > 0)
      return lat[tn][tn] - m.dram_access_ns + llc->hit_latency_cycles / m.cores[from].freq_ghz;
    return lat[tn][fn];
  }
  const double probed_ns = lat[home][home];
  if (fn == tn) return probed_ns;
  const Cache* llc = m.last_level_cache(to);
  return probed_ns + (llc ? llc->line_bytes : 64.0) / m.interconnect.link_bandwidth_gb_s;
}

// The same for a line whose home is `from`'s node: where the data a core writes for others (a message slot, an
// acknowledgement, a lock it holds) usually lives.
inline double line_transfer_ns(const Machine& m, int from, int to) {
  return line_transfer_ns(m, from, to, m.cores[from].node);
}

// Load-to-use latency of one access of core `core` to memory on `node`.
inline double memory_latency_ns(const Machine& m, int core, int node) {
  return m.mem_latency_ns(core, node);
}

// The most one core can stream from `node`: its own cap, and Little's law over its outstanding misses.
inline double core_stream_bandwidth_bytes_s(const Machine& m, int core, int node) {
  const Cache* llc = m.last_level_cache(core);
  double line = llc ? llc->line_bytes : 64.0;
  double littles = m.core_mlp * line / (memory_latency_ns(m, core, node) * 1e-9);
  return std::min(m.core_bandwidth_gb_s * 1e9, littles);
}

}  // namespace mksim
