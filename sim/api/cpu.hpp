// What a kernel model can make the simulated hardware do, on the core that is executing: spend core time, take a
// cache-line lock that other cores contend for, stream memory, interrupt other cores. The engine (sim/) implements
// it; kernel architectures, allocators and schedulers only compose these calls.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "models/coherence.hpp"
#include "models/machine.hpp"
#include "sim/api/ops.hpp"

namespace mksim {

enum class Work : uint8_t { User, Kernel };

// A spin lock on one cache line of shared state (a kernel lock, a heap lock, a run-queue lock). Acquisition costs the
// line's transfer from the last holder's core; waiters queue in FIFO order (ticket/MCS-like) and spin.
struct SpinLock {
  std::string name;
  int last_core = -1;  // whose cache holds the line
  bool held = false;
  double free_at_s = 0;      // when the current hold ends, once the holder has released it
  std::deque<int> spinners;  // cores spinning on it while the holder's release time is unknown
};

class Cpu {
 public:
  virtual ~Cpu() = default;
  virtual int core() const = 0;
  virtual const Machine& machine() const = 0;
  virtual double now_s() const = 0;  // this core's own clock (ahead of SimGrid's while private work accumulates)
  virtual void spend_cycles(double cycles, Work w) = 0;
  virtual void spend_s(double seconds, Work w) = 0;
  // Take `l`, spinning while another core holds it; costs the line transfer from the last holder.
  virtual void lock(SpinLock& l) = 0;
  virtual void unlock(SpinLock& l) = 0;
  // Count an OS-level event of `kind` (for summary.events_by_kind).
  virtual void count(const char* kind, uint64_t n = 1) = 0;
  // Bring SimGrid's clock to this core's clock: required before reading or changing state that other cores'
  // models share at a point in time (a server's queue, a replica's version), so such changes happen in time order.
  virtual void sync() = 0;
  // Block the calling thread until `until_s` (a reply arrives); the core is free for other threads meanwhile. The
  // current operation completes when the thread wakes.
  virtual void block_until(double until_s, const char* why) = 0;
  // Is `core` idle (no thread running, waiting for work)? A message to an idle core needs a notification (an IPI) to
  // be seen; a busy core sees it at its next poll.
  virtual bool is_idle(int core) const = 0;

  // Protocols run as messages between cores (sim/api/agreement.hpp). When core `target` starts the handler of a
  // message it can see from `visible_s`: with `ipi`, an interrupt preempts whatever it runs, at once; otherwise it
  // polls: an idle core (its monitor's poll loop) at once, a busy one at its next poll point, when its kernel next
  // gets the core (the end of the work it is doing). The default (a core that is always polling) suits test doubles.
  virtual double handler_start_s(int target, double visible_s, bool ipi) const {
    (void)target;
    (void)ipi;
    return visible_s;
  }
  // Core `target` ran a handler of `seconds` from `start_s` (from handler_start_s) for a message `from` sent at
  // `sent_s`: kernel work taken from what it ran then (stolen time), or from its idle time; observers see it at the
  // time it ran. The one way a model makes another core work: an IPI's handler, a polled request's service.
  virtual void run_handler(int from, int target, double sent_s, double start_s, double seconds) = 0;

  // Read or write `lines`, a kernel model's own cache lines that other cores share (a message channel's slots),
  // backed by `home_node`'s memory: through the coherence model (models/coherence.hpp) from this core's clock, in
  // simulated-time order with every other core's coherent accesses, queuing with them at the home node's ordering
  // point. Returns when the access completed; this core's clock does not move (a store retires into the store
  // buffer; a reader spends the wait itself). The default, for test doubles: at now_s(), with no other traffic.
  virtual double access_shared_lines(std::span<CacheLine> lines, bool write, int home_node) {
    HomeQueue alone;
    return access_lines(machine(), lines, core(), write, false, home_node, now_s(), alone).done_s;
  }

  // The ordering point of `node`'s memory that every coherent access of the run queues at (models/coherence.hpp). A
  // kernel model that simulates later accesses ahead of time (a protocol's messages from its initiator's start, a
  // server's reply; sim/api/agreement.hpp) books their turns here, at their times, among the run's other requests.
  // The default, for test doubles: this object's own queues.
  virtual HomeQueue& home_queue(int node) {
    if (own_homes_.empty()) own_homes_.resize(static_cast<size_t>(machine().num_nodes()));
    return own_homes_[static_cast<size_t>(node)];
  }

 private:
  std::vector<HomeQueue> own_homes_;
};

}  // namespace mksim
