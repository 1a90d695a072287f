// Memory policy slots: page placement (where a region's pages live) and the heap allocator (what allocate/free cost
// and what they contend on).
#pragma once

#include <algorithm>
#include <cmath>
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
  // Pages on each NUMA node, kept only while a policy that moves pages runs (PagePlacement::page_bytes() > 0);
  // node_share is then node_pages / their sum.
  std::vector<uint64_t> node_pages;
};

// node_pages from node_share for a region of `page_bytes` pages (every page somewhere; rounding errors go to the
// node with the largest share), and node_share back from node_pages.
inline void pages_from_share(Region& r, uint64_t page_bytes) {
  const uint64_t pages = std::max<uint64_t>(1, (r.bytes + page_bytes - 1) / page_bytes);
  r.node_pages.assign(r.node_share.size(), 0);
  uint64_t placed = 0;
  size_t largest = 0;
  for (size_t n = 0; n < r.node_share.size(); ++n) {
    r.node_pages[n] = static_cast<uint64_t>(std::llround(r.node_share[n] * static_cast<double>(pages)));
    placed += r.node_pages[n];
    if (r.node_share[n] > r.node_share[largest]) largest = n;
  }
  if (placed > pages)
    r.node_pages[largest] -= std::min(r.node_pages[largest], placed - pages);
  else
    r.node_pages[largest] += pages - placed;
}
inline void share_from_pages(Region& r) {
  uint64_t pages = 0;
  for (uint64_t p : r.node_pages) pages += p;
  for (size_t n = 0; n < r.node_pages.size(); ++n)
    r.node_share[n] = pages ? static_cast<double>(r.node_pages[n]) / static_cast<double>(pages) : 0.0;
}

// What a policy that moves pages may ask of the engine (sim/engine.cpp implements it) while it handles an access.
class PageMover {
 public:
  virtual ~PageMover() = default;
  // Moves up to `pages` of region `r`'s pages from node `from` to node `to`, in the kernel on `cpu` on behalf of `t`:
  // their page-table entries are changed (KernelArchitecture::update_ptes), then the pages are copied as memory
  // traffic (read from `from`, written to `to`, contending with every other flow through the controllers and links).
  // `shootdown`: the old entries may be cached, so the change ends with a TLB shootdown on the cores the process ran
  // on, through the architecture's agreement protocol; false for pages that took a NUMA hinting fault (their entries
  // were made inaccessible and flushed by the scan) and for the later pages of a batch whose first move flushed
  // (Linux 6.4+ migrate_pages flushes once per batch). Updates r.node_pages, r.node_share, r.node_bytes and the
  // nodes' memory in use (free_bytes); returns the pages moved (fewer when `from` holds fewer).
  virtual uint64_t migrate(Cpu& cpu, Thread& t, Region& r, int from, int to, uint64_t pages, bool shootdown) = 0;
  // `faults` NUMA hinting faults taken by `t` on `cpu`: each a trap into the kernel (the architecture's memory-fault
  // path) doing `handler_cycles` of work.
  virtual void hinting_faults(Cpu& cpu, Thread& t, uint64_t faults, double handler_cycles) = 0;
  // Changing the protection of `pages` pages of t's address space (NUMA balancing's scan, which makes the next access
  // fault): page-table work and one TLB shootdown (KernelArchitecture::update_ptes).
  virtual void change_protection(Cpu& cpu, Thread& t, uint64_t pages) = 0;
  // Free memory on NUMA node `node` (UINT64_MAX when its capacity is unknown): the engine's one account of placed
  // and moved pages, which first-touch placement (with Linux's fallback) and migrations both keep.
  virtual uint64_t free_bytes(int node) const = 0;
  // Every region of the run, by id.
  virtual size_t regions() const = 0;
  virtual Region& region(uint32_t id) = 0;
};

// Decides where a region's pages go when first touched.
class PagePlacement {
 public:
  virtual ~PagePlacement() = default;
  // Called once before the run (and by validate): a policy whose parameters name nodes checks them here.
  virtual void init(const Machine& m) {}
  // Fractions of the region's pages per NUMA node when thread `t` on `core` touches it first.
  virtual std::vector<double> place(const Machine& m, const Region& r, const Thread& t, int core) = 0;
  // Policies that move pages (NUMA balancing, tiering: policies/numa_balancing.cpp) return the page size they track
  // and move; the engine then keeps Region::node_pages and calls on_access. 0 (the static policies): pages stay.
  virtual uint64_t page_bytes() const { return 0; }
  // Called for every memory operation `op` of `t` on `cpu` to a region that streams from memory (larger than
  // machine.memory.coherent_region_max_kib), once the region is placed and before its traffic.
  virtual void on_access(PageMover& mover, Cpu& cpu, Thread& t, Region& r, const Op& op) {}
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
