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
// lock, a message slot). With directory coherence: a hit in the smallest cache both share, or, with no shared cache,
// a coherence miss served across the interconnect at the latency of the memory of `from`'s node as seen from `to`'s
// node (MESI/MOESI forwarding). With broadcast coherence (see docs/calibration.md) no shared cache short-cuts the
// request: it goes to the home node's memory controller, which probes every node, and the transfer completes once
// every node has answered. The probes' round trip to the farthest node sets the cost, whatever the distance between
// the two cores (on the presets' symmetric topologies the request's trip to the home plus the farthest probe's path
// back is the same number of hops for every requester), so a transfer costs what a local access at the home node
// costs. An owner on another node adds its data's crossing of one link, the line's serialisation at the link's
// bandwidth; further hops add only a cut-through router's forwarding, which the model neglects.
inline double line_transfer_ns(const Machine& m, int from, int to, int home) {
  if (from == to || m.coherence.protocol == CoherenceProtocol::Directory) {
    if (const Cache* c = m.shared_cache(from, to)) return c->hit_latency_cycles / m.cores[to].freq_ghz;
    return m.interconnect.latency_ns[m.cores[to].node][m.cores[from].node];
  }
  const double probed_ns = m.interconnect.latency_ns[home][home];
  if (m.cores[from].node == m.cores[to].node) return probed_ns;
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
