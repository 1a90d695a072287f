// What schedulers with one run queue per core share (work-stealing, numa-aware): the queues and their locks, the
// enqueue transaction, waking an idle core, the pick loop (own queue first, then the subclass's search of other
// queues), and the steal transaction. Subclasses decide where a thread is queued and where an idle core looks.
#pragma once

#include <algorithm>
#include <deque>
#include <string>
#include <vector>

#include "models/costs.hpp"
#include "policies/sched_domains.hpp"
#include "sim/api/param_struct.hpp"
#include "sim/api/scheduler.hpp"

namespace mksim {

// The parameters every per-core-queue scheduler declares (a subclass's own struct derives from it).
struct PerCoreQueueParams {
  double time_slice_us = 0, queue_op_cycles = 0, steal_cycles = 0;

  // Binds the common fields of `P` (a PerCoreQueueParams) first, in this order.
  template <class P>
  static ParamStruct<P> common() {
    return ParamStruct<P>()
        .bind(&P::time_slice_us, Field::number("time_slice_us", 4000, "us", "time slice").above(0))
        .bind(&P::queue_op_cycles,
              Field::number("queue_op_cycles", 100, "cycles", "work under a run-queue lock per enqueue or local pick")
                  .at_least(0))
        .bind(&P::steal_cycles, Field::number("steal_cycles", 300, "cycles",
                                              "work under the victim queue's lock to take a thread from it")
                                    .at_least(0));
  }
};

class PerCoreQueueScheduler : public Scheduler {
 public:
  explicit PerCoreQueueScheduler(const PerCoreQueueParams& p)
      : slice_s_(p.time_slice_us * 1e-6), queue_op_cycles_(p.queue_op_cycles), steal_cycles_(p.steal_cycles) {}

  void init(const Machine& m) override {
    Scheduler::init(m);
    queues_ = std::vector<RunQueue>(m.num_cores());
    for (int c = 0; c < m.num_cores(); ++c) queues_[c].lock.name = "runqueue" + std::to_string(c);
    orders_ = core_orders(m);
    running_.assign(m.num_cores(), 0);
    idle_.assign(m.num_cores(), 0);
  }

  Thread* pick_next(Cpu& cpu) override {
    const int core = cpu.core();
    RunQueue& own = queues_[core];
    for (;;) {
      // Look at the queues at this core's own time; a core that finds nothing then idles with no work pending.
      if (own.threads.empty()) cpu.sync();
      if (!own.threads.empty()) {
        cpu.lock(own.lock);
        cpu.spend_cycles(queue_op_cycles_, Work::Kernel);
        Thread* t = nullptr;
        if (!own.threads.empty()) {  // a thief may have emptied it while this core spun on the lock
          t = own.threads.front();
          own.threads.pop_front();
        }
        cpu.unlock(own.lock);
        if (t) return running(core, t);
        continue;
      }
      bool lost_race = false;
      if (Thread* t = steal(cpu, lost_race)) return running(core, t);
      if (!lost_race) break;
    }
    idle_[core] = 1;
    return nullptr;
  }

  void ran(Thread& t, int core, double ran_s) override { running_[core] = 0; }
  bool has_waiting(int core) const override { return !queues_[core].threads.empty(); }
  size_t queue_length(int core) const override { return queues_[core].threads.size(); }
  double time_slice_s(int core, const Thread& t) const override { return slice_s_; }

 protected:
  struct RunQueue {
    std::deque<Thread*> threads;
    SpinLock lock;
  };

  // An idle core's search of other queues; `lost_race`: another core took the thread it went for (search again).
  virtual Thread* steal(Cpu& cpu, bool& lost_race) = 0;

  // Queue `t` on core `target` (under that queue's lock when a core does it), then wake `target` if it idles, else the
  // nearest idle core that may run it and `may_wake` accepts, which will steal it. A woken core no longer counts as
  // idle, so that a burst of new threads wakes as many cores. Returns the core to notify.
  template <class MayWake>
  int push(Thread& t, Cpu* from, int target, MayWake may_wake) {
    RunQueue& q = queues_[target];
    if (from) {
      from->lock(q.lock);
      from->spend_cycles(queue_op_cycles_, Work::Kernel);
    }
    q.threads.push_back(&t);
    if (from) from->unlock(q.lock);
    for (int c : orders_[target].cores)
      if (idle_[c] && t.may_run_on(c) && may_wake(c)) {
        idle_[c] = 0;
        return c;
      }
    return target;  // no core idles: the target sees it when its current slice ends
  }

  // Take the first thread of victim `v`'s queue that `wanted` accepts, or nullptr if none is there any more (another
  // core took it while this one spun on the lock). `probe_ns`: the search so far (the busy queues' lines it read),
  // charged now that it found work; a failed search runs on a core that would idle anyway.
  template <class Wanted>
  Thread* take(Cpu& cpu, int v, double probe_ns, Wanted wanted) {
    RunQueue& q = queues_[v];
    cpu.spend_s(probe_ns * 1e-9, Work::Kernel);
    cpu.lock(q.lock);
    cpu.spend_cycles(steal_cycles_, Work::Kernel);
    Thread* t = nullptr;
    if (auto it = std::find_if(q.threads.begin(), q.threads.end(), wanted); it != q.threads.end()) {
      t = *it;
      q.threads.erase(it);
    }
    cpu.unlock(q.lock);
    return t;
  }

  Thread* running(int core, Thread* t) {
    running_[core] = 1;
    idle_[core] = 0;
    return t;
  }
  size_t load(int core) const { return queues_[core].threads.size() + running_[core]; }

  double slice_s_, queue_op_cycles_, steal_cycles_;
  std::vector<RunQueue> queues_;
  std::vector<CoreOrder> orders_;
  std::vector<char> running_, idle_;
};

}  // namespace mksim
