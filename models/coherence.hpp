// Cache coherence of small shared data, line by line: which core holds each cache line and in what state, and what
// an access costs. A MESI-style directory (Sorin, Hill, Wood, "A Primer on Memory Consistency and Cache Coherence",
// 2011, ch. 7): a line has one owner with the only, writable copy (Exclusive or Modified), or read-only sharers, or
// no cached copy. An access by a core that holds the line suitably is a hit in its own cache; a read of a line another
// core owns, or a write of a line other cores hold, moves the line from them (a cache-to-cache transfer, costed by
// `line_transfer_ns`, the same transfer spin locks, URPC channels and agreement protocols pay) and a write
// invalidates every other copy, waiting for the farthest one's acknowledgement; a line nobody holds comes from the
// memory of its home node. A line is in one place at a time: its transfers are serialised (the home node orders the
// requests for a line), so k cores writing the same line take turns and their combined rate does not grow with k.
// The home node's ordering point is itself busy for `machine.coherence.home_occupancy_ns` with each request that
// reaches it (every access that is not a hit, whichever of its lines): the requests of all cores for the lines one
// node backs then take turns there too, so writing n lines costs n such turns when many cores contend.
//
// Plain model code (no SimGrid): the engine decides which accesses take this path, brings the core's clock in step
// with the others before an access that another core can observe, and charges the time this computes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "models/machine.hpp"

namespace mksim {

struct CacheLine {
  int owner = -1;            // core holding the only, writable copy (Exclusive/Modified), or -1
  std::vector<int> sharers;  // cores holding read-only copies (owner == -1 then)
  double busy_until_s = 0;   // when the last access to the line completes: the next transfer starts no earlier
};

// Where the lines of one access came from.
struct LineAccessCost {
  double done_s = 0;         // when the last line of the access is in place
  uint32_t hits = 0;         // lines the core already held suitably
  uint32_t transfers = 0;    // lines moved from (or invalidated in) other cores' caches
  uint32_t from_memory = 0;  // lines no cache held, fetched from the home node's memory
};

// Core `core` reads or writes `lines`, starting at `start_s`; updates their states. `dependent`: one line after the
// other (pointer chasing); otherwise the lines are independent and up to `m.core_mlp` are in flight at once, as
// misses to memory are. `home_node`: the NUMA node whose memory backs the lines; `home_free_s`: when that node's
// ordering point takes its next request (advanced by the requests of this access).
LineAccessCost access_lines(const Machine& m, std::span<CacheLine> lines, int core, bool write, bool dependent,
                            int home_node, double start_s, double& home_free_s);

}  // namespace mksim
