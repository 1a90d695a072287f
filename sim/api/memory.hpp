// Memory policy slots: page placement (where a region's pages live) and the heap allocator (what allocate/free cost
// and what they contend on).
#pragma once

#include <cstdint>
#include <vector>

#include "models/machine.hpp"
#include "sim/api/cpu.hpp"
#include "sim/api/registry.hpp"
#include "sim/api/thread.hpp"

namespace mksim {

struct Region {
  uint32_t id = 0;
  uint32_t process = 0;
  uint64_t bytes = 0;
  int bind_node = -1;                // a workload's explicit placement, which overrides the policy
  std::vector<double> node_share;    // fraction of the region's pages on each node; empty until first touched
  std::vector<uint64_t> node_bytes;  // bytes of the region on each node once placed (within the nodes' capacity)
  bool freed = false;
};

// Decides where a region's pages go when first touched.
class PagePlacement {
 public:
  virtual ~PagePlacement() = default;
  // Called once before the run (and by validate): a policy whose parameters name nodes checks them here.
  virtual void init(const Machine& m) {}
  // Fractions of the region's pages per NUMA node when thread `t` on `core` touches it first.
  virtual std::vector<double> place(const Machine& m, const Region& r, const Thread& t, int core) = 0;
  // Whether the pages may only go to the nodes place() names (Linux's MPOL_BIND: no fallback when they are full, the
  // run fails); otherwise a full node's pages go to the nearest nodes with free memory (models/memory_capacity.hpp).
  virtual bool binds() const { return false; }
};
using PlacementRegistry = Registry<PagePlacement>;

// Heap allocator model: the cost of allocate/free on the calling core, including the locks it takes.
class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void init(const Machine& m) {}
  virtual void allocate(Cpu& cpu, Thread& t, uint64_t bytes) = 0;
  virtual void release(Cpu& cpu, Thread& t, uint64_t bytes) = 0;
};
using AllocatorRegistry = Registry<Allocator>;

}  // namespace mksim
