// A NUMA-aware Hoard: Hoard's heaps and emptiness invariant (Berger, McKinley, Blumofe, Wilson, "Hoard: A Scalable
// Memory Allocator for Multithreaded Applications", ASPLOS 2000) with the heaps grouped by NUMA node, as the MxKernel
// architecture and its implementation EalánOS do with per-NUMA-region heaps (Mühlig, Müller, Spinczyk, Teubner,
// "MxKernel: Rethinking Operating System Architecture for Many-core Hardware", SFMA 2019; the MxTasking runtime's
// allocator keeps a heap per NUMA node that its cores refill from).
//
// Memory comes in superblocks of `superblock_bytes` from one node's memory. A thread allocates from a heap of the node
// it runs on (`heaps_per_node` of them, picked by thread id as Hoard hashes threads onto heaps; one by default: the
// regional heap), under that heap's lock. A heap that runs out takes a superblock of its node from the global heap, or
// a fresh one from the OS. A free goes back to the heap that owns the block, wherever the freeing thread runs: a
// remote free takes a lock whose line lives on another node and touches the superblock's header in remote memory.
// Hoard's invariant bounds the memory a heap hoards: when its in-use bytes u fall below both a - K*S and (1-f)*a
// (a: bytes it holds in superblocks, S: superblock size, K: `slack_superblocks`, f: `empty_fraction`), it moves a
// superblock to the global heap, under the global lock; only then, so the global lock is rare. Objects larger than
// half a superblock come from the OS directly.
//
// The Allocator slot does not say which allocation a free returns; this model takes a thread's own oldest outstanding
// allocation of that size, else the oldest of any thread (a free of another thread's object).
#include <fmt/format.h>

#include <deque>
#include <map>

#include "models/costs.hpp"
#include "sim/api/memory.hpp"
#include "sim/api/param_struct.hpp"

namespace mksim {

namespace {

struct NumaHoardParams {
  double superblock_bytes = 0, empty_fraction = 0, slack_superblocks = 0, alloc_cycles = 0, free_cycles = 0,
         superblock_cycles = 0, fresh_superblock_cycles = 0, large_cycles = 0;
  int heaps_per_node = 0;

  static const ParamStruct<NumaHoardParams>& declare() {
    using P = NumaHoardParams;
    static const ParamStruct<P> d =
        ParamStruct<P>()
            .bind(&P::superblock_bytes,
                  Field::number("superblock_bytes", 8192, "bytes", "superblock size S (Hoard: 8 KiB)").above(0))
            .bind(&P::empty_fraction,
                  Field::number("empty_fraction", 0.25, "",
                                "emptiness threshold f: a heap less than 1-f full gives a superblock back (Hoard: 1/4)")
                      .above(0)
                      .at_most(1))
            .bind(&P::slack_superblocks,
                  Field::number("slack_superblocks", 1, "superblocks", "K: empty superblocks a heap may keep")
                      .at_least(0))
            .bind(&P::heaps_per_node,
                  Field::integer("heaps_per_node", 1, "", "heaps per NUMA node, threads spread over them by id")
                      .at_least(1)
                      .at_most(4096))
            .bind(&P::alloc_cycles,
                  Field::number("alloc_cycles", 60, "cycles", "work under the heap lock per allocation").at_least(0))
            .bind(&P::free_cycles,
                  Field::number("free_cycles", 40, "cycles", "work under the owning heap's lock per free").at_least(0))
            .bind(&P::superblock_cycles, Field::number("superblock_cycles", 200, "cycles",
                                                       "moving a superblock to or from the global heap, under its lock")
                                             .at_least(0))
            .bind(&P::fresh_superblock_cycles, Field::number("fresh_superblock_cycles", 2000, "cycles",
                                                             "a new superblock from the OS (under the global lock)")
                                                   .at_least(0))
            .bind(&P::large_cycles, Field::number("large_cycles", 2000, "cycles",
                                                  "an object larger than half a superblock, straight from the OS")
                                        .at_least(0));
    return d;
  }
};

class NumaHoard final : public Allocator {
 public:
  explicit NumaHoard(const NumaHoardParams& p)
      : superblock_bytes_(p.superblock_bytes),
        empty_fraction_(p.empty_fraction),
        slack_(p.slack_superblocks),
        heaps_per_node_(p.heaps_per_node),
        alloc_cycles_(p.alloc_cycles),
        free_cycles_(p.free_cycles),
        superblock_cycles_(p.superblock_cycles),
        fresh_superblock_cycles_(p.fresh_superblock_cycles),
        large_cycles_(p.large_cycles) {
    global_.name = "heap.global";
  }

  void init(const Machine& m) override {
    machine_ = &m;
    heaps_ = std::deque<Heap>(static_cast<size_t>(m.num_nodes()) * heaps_per_node_);
    for (size_t i = 0; i < heaps_.size(); ++i) {
      heaps_[i].node = static_cast<int>(i) / heaps_per_node_;
      heaps_[i].lock.name = fmt::format("heap.node{}.{}", heaps_[i].node, i % heaps_per_node_);
    }
    spare_.assign(m.num_nodes(), 0);
  }

  void allocate(Cpu& cpu, Thread& t, uint64_t bytes) override {
    if (bytes > superblock_bytes_ / 2) {
      cpu.spend_cycles(large_cycles_, Work::User);
      cpu.count("heap_large");
      remember(t, bytes, kLarge);
      return;
    }
    const int h = heap_of(cpu, t);
    Heap& heap = heaps_[h];
    cpu.lock(heap.lock);
    if (heap.held - heap.in_use < bytes) {
      cpu.lock(global_);
      if (spare_[heap.node] > 0) {
        --spare_[heap.node];
        cpu.spend_cycles(superblock_cycles_, Work::User);
        cpu.count("superblock_from_global");
      } else {
        cpu.spend_cycles(fresh_superblock_cycles_, Work::User);
        cpu.count("superblock_fresh");
      }
      cpu.unlock(global_);
      heap.held += superblock_bytes_;
    }
    heap.in_use += bytes;
    cpu.spend_cycles(alloc_cycles_, Work::User);
    cpu.unlock(heap.lock);
    remember(t, bytes, h);
  }

  void release(Cpu& cpu, Thread& t, uint64_t bytes) override {
    int h = owner(t, bytes);
    if (h == kLarge || (h == kUnknown && bytes > superblock_bytes_ / 2)) {
      cpu.spend_cycles(large_cycles_, Work::User);
      return;
    }
    const bool known = h != kUnknown;
    if (!known) h = heap_of(cpu, t);
    Heap& heap = heaps_[h];
    const Machine& m = *machine_;
    if (heap.node != m.cores[cpu.core()].node) {
      // The block's superblock header lives in the owner node's memory.
      cpu.spend_s(memory_latency_ns(m, cpu.core(), heap.node) * 1e-9, Work::User);
      cpu.count("remote_free");
    }
    cpu.lock(heap.lock);
    cpu.spend_cycles(free_cycles_, Work::User);
    if (known) heap.in_use = std::max(0.0, heap.in_use - static_cast<double>(bytes));
    const double a = heap.held, u = heap.in_use;
    if (u < a - slack_ * superblock_bytes_ && u < (1 - empty_fraction_) * a && a - u >= superblock_bytes_) {
      cpu.lock(global_);
      cpu.spend_cycles(superblock_cycles_, Work::User);
      ++spare_[heap.node];
      heap.held -= superblock_bytes_;
      cpu.unlock(global_);
      cpu.count("superblock_to_global");
    }
    cpu.unlock(heap.lock);
  }

 private:
  static constexpr int kLarge = -1, kUnknown = -2;

  struct Heap {
    int node = 0;
    double held = 0;    // bytes in its superblocks (Hoard's a)
    double in_use = 0;  // bytes allocated from them (Hoard's u)
    SpinLock lock;
  };

  // The heap a thread allocates from: one of its current node's, by thread id (heaps_per_node 1: the node's heap).
  int heap_of(const Cpu& cpu, const Thread& t) const {
    return machine_->cores[cpu.core()].node * heaps_per_node_ + static_cast<int>(t.id % heaps_per_node_);
  }

  // Which heap owns each outstanding allocation, by size and age (see the opening comment).
  void remember(const Thread& t, uint64_t bytes, int heap) {
    if (t.id >= outstanding_.size()) outstanding_.resize(t.id + 1);
    outstanding_[t.id][bytes].push_back({seq_, heap});
    oldest_[bytes][seq_] = t.id;
    ++seq_;
  }
  int owner(const Thread& t, uint64_t bytes) {
    uint32_t thread = t.id;
    if (t.id >= outstanding_.size() || outstanding_[t.id][bytes].empty()) {
      auto it = oldest_.find(bytes);
      if (it == oldest_.end() || it->second.empty()) return kUnknown;
      thread = it->second.begin()->second;
    }
    auto& mine = outstanding_[thread][bytes];
    const auto [seq, heap] = mine.front();
    mine.pop_front();
    oldest_[bytes].erase(seq);
    return heap;
  }

  double superblock_bytes_, empty_fraction_, slack_;
  int heaps_per_node_;
  double alloc_cycles_, free_cycles_, superblock_cycles_, fresh_superblock_cycles_, large_cycles_;
  const Machine* machine_ = nullptr;
  std::deque<Heap> heaps_;       // node-major: heaps_[node * heaps_per_node + k]
  std::vector<uint64_t> spare_;  // superblocks of each node's memory in the global heap
  SpinLock global_;
  std::vector<std::map<uint64_t, std::deque<std::pair<uint64_t, int>>>> outstanding_;  // by thread, size: (seq, heap)
  std::map<uint64_t, std::map<uint64_t, uint32_t>> oldest_;                            // by size: seq -> thread
  uint64_t seq_ = 0;
};

AllocatorRegistry::Add reg(
    "allocator", "numa-hoard",
    "Hoard with per-NUMA-node heaps: allocate from the local node's heap, superblocks go to a global heap only past "
    "an emptiness threshold, remote frees pay the interconnect",
    NumaHoardParams::declare().schema(),
    [](const Params& p) { return std::make_unique<NumaHoard>(NumaHoardParams::declare().read(p)); });

}  // namespace
}  // namespace mksim
