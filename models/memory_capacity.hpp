// Node capacity: where the pages of a region go when the nodes a placement policy wants are full, as Linux's page
// allocator does it (mm/mempolicy.c, mm/page_alloc.c; set_mempolicy(2)). A default, preferred or local policy takes
// pages from the wanted node while it has free memory, then from the other nodes of the machine in the order of the
// node's zonelist (nearest first by NUMA distance; here by load latency from the wanted node, ties by lowest id). An
// interleave policy whose node is full continues on the next node of its set and then, like the default, on the
// others. A bind policy (MPOL_BIND) allocates only on the nodes of its set, nearest first, and fails when they are
// full: Linux then invokes the OOM killer on the process; mksim ends the run with an error naming the node and the
// demand. A node whose capacity is unknown (0 bytes) is never full.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/machine.hpp"

namespace mksim {

struct Placed {
  std::vector<double> share;    // fraction of the region's bytes on each node (the wanted shares when all fit)
  std::vector<uint64_t> bytes;  // bytes on each node (what `used` grew by)
  std::string error;            // non-empty: the region does not fit; says which node and how much was needed
};

// Places `bytes` with the wanted shares `want` (summing to 1) on nodes whose memory in use is `used`, and adds what it
// places to `used`. `strict`: only the nodes with a wanted share may hold pages (a bind policy). On an error nothing is
// added to `used`.
Placed place_within_capacity(const Machine& m, const std::vector<double>& want, uint64_t bytes,
                             std::vector<uint64_t>& used, bool strict);

// Free memory on node `n` whose memory in use is `used` (UINT64_MAX when its capacity is unknown: never full).
uint64_t free_on(const Machine& m, const std::vector<uint64_t>& used, int n);

// Returns the bytes a placed region held to their nodes (a freed region).
void release_placed(const std::vector<uint64_t>& placed, std::vector<uint64_t>& used);

}  // namespace mksim
