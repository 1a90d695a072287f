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
#include <utility>
#include <vector>

#include "models/link_queues.hpp"
#include "models/machine.hpp"

namespace mksim {

// A home node's ordering point (its directory or, without one, the memory controller that broadcasts the probes): it
// takes one coherent request at a time, each for machine.coherence.home_occupancy_ns, first come, first served: a
// request is served after every request that reached it earlier, including one still waiting for its line. Most
// requests come in time order (the engine brings a core's clock in step with the others first). A protocol simulated
// from its initiator's start (sim/api/agreement.hpp) books the turns of its later requests ahead of time; a request
// that reaches the point earlier than those, made afterwards, takes a free turn before them where a whole turn is
// free (it cannot move them any more), and otherwise the first one after them.
class HomeQueue {
 public:
  // A request that reached the point at `arrival_s` and can be served from `ready_s` on (once its line is free): books
  // its turn of `occupancy_s` and returns when it starts.
  double book(double arrival_s, double ready_s, double occupancy_s);
  // When `book` would start the turn, without booking it.
  double first_free(double arrival_s, double ready_s, double occupancy_s) const;
  // Forgets the turns that ended by `t`: no request will reach the point earlier any more.
  void forget_before(double t);
  // When the last booked turn ends (0: none booked).
  double last_end_s() const { return turns_.size() > head_ ? turns_.back().end : 0.0; }
  // The run's memory traffic (loaded latency, models/link_queues.hpp), which the requests of this node's lines wait
  // behind, on their way from memory or between caches; the engine sets it when it hands the queue out (null: none).
  void set_waits(PathWaits* waits) { waits_ = waits; }
  PathWaits* waits() const { return waits_; }

 private:
  struct Turn {
    double arrival, start, end;
  };
  // Where a request's turn goes: its start and the index of the turn it goes before.
  std::pair<double, size_t> place(double arrival_s, double ready_s, double occupancy_s) const;
  std::vector<Turn> turns_;  // booked turns from head_ on, sorted by start and disjoint
  size_t head_ = 0;          // turns before it are forgotten
  PathWaits* waits_ = nullptr;
};

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
// misses to memory are. `home_node`: the NUMA node whose memory backs the lines; `home`: that node's ordering point,
// where each request of this access that leaves the core's cache books its turn.
LineAccessCost access_lines(const Machine& m, std::span<CacheLine> lines, int core, bool write, bool dependent,
                            int home_node, double start_s, HomeQueue& home);

}  // namespace mksim
