// The scheduler slot: which runnable thread runs where and for how long. A scheduler keeps its own run queues; the
// engine asks it where a thread that became runnable goes, which thread a core runs next, and how long a slice is.
#pragma once

#include <memory>
#include <vector>

#include "models/machine.hpp"
#include "sim/api/cpu.hpp"
#include "sim/api/params.hpp"
#include "sim/api/registry.hpp"
#include "sim/api/thread.hpp"

namespace mksim {

enum class EnqueueReason { Spawned, Woken, Preempted, Yielded };

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual void init(const Machine& m) { machine_ = &m; }
  // Called once the workloads are set up (by run and by validate), with the names of the run's processes and of the
  // threads known then (those created at set-up and those templates will spawn, when named). A scheduler whose
  // parameters name processes checks them here.
  virtual void setup_done(const std::vector<std::string>& processes, const std::vector<std::string>& threads) {}
  // `t` became runnable on `from` (the core that spawned/woke/preempted it; nullptr at start and for timers). Put it
  // in a run queue and return the core that should look at it (the engine wakes that core if it idles), or -1 for
  // "any idle core that may run it". Costs of the decision (queue locks, load balancing) go on `from`.
  virtual int enqueue(Thread& t, Cpu* from, EnqueueReason why) = 0;
  // Remove and return the next thread for the core `cpu`, or nullptr; the costs of picking go on `cpu`.
  virtual Thread* pick_next(Cpu& cpu) = 0;
  // Does `core` have runnable threads waiting (so the running one should give way when its slice ends)?
  virtual bool has_waiting(int core) const = 0;
  virtual size_t queue_length(int core) const = 0;
  virtual double time_slice_s(int core, const Thread& t) const = 0;
  // Called when `t` stops running on `core` after `ran_s` seconds (to account fairness).
  virtual void ran(Thread& t, int core, double ran_s) {}

  // Priority-driven preemption (real-time schedulers). A preemptive scheduler's threads can be preempted in the middle
  // of their work: the engine then runs Compute operations on SimGrid's clock, interruptible, instead of ahead of it
  // (slower), and asks preempts() before every operation and whenever the core is notified while computing (enqueue
  // returned that core). false: threads give way only when their time slice ends or they block.
  virtual bool preemptive() const { return false; }
  // Should `running`, on `core`, give way now to a thread waiting for that core? (Only asked if preemptive().)
  virtual bool preempts(int core, const Thread& running) { return false; }

 protected:
  const Machine* machine_ = nullptr;
};

using SchedulerRegistry = Registry<Scheduler>;

}  // namespace mksim
