// Per-core run queues with work stealing (Blumofe & Leiserson, "Scheduling Multithreaded Computations by Work
// Stealing", JACM 46(5), 1999): a thread goes to the queue of the core that spawned, woke or last ran it, and a core
// whose own queue is empty steals from another core's queue. Victims are tried nearest first in the cache/NUMA
// hierarchy (hierarchical stealing, as Olivier et al., "Scheduling Task Parallelism on Multi-Socket Multicore Systems",
// ROSS 2011, argue for), so a stolen thread finds its data in a shared cache when it can. A steal takes the victim
// queue's lock, whose cache line comes from the victim's cache: nearby steals are cheap, cross-node ones are not.
#include <deque>
#include <limits>

#include "models/costs.hpp"
#include "policies/sched_domains.hpp"
#include "policies/scheduler.hpp"

namespace mksim {

namespace {

class WorkStealing final : public Scheduler {
 public:
  explicit WorkStealing(const Params& p)
      : slice_s_(p.number("time_slice_us") * 1e-6),
        queue_op_cycles_(p.number("queue_op_cycles")),
        steal_cycles_(p.number("steal_cycles")) {}

  void init(const Machine& m) override {
    Scheduler::init(m);
    queues_ = std::vector<RunQueue>(m.num_cores());
    for (int c = 0; c < m.num_cores(); ++c) queues_[c].lock.name = "runqueue" + std::to_string(c);
    orders_ = core_orders(m);
    running_.assign(m.num_cores(), 0);
    idle_.assign(m.num_cores(), 0);
  }

  int enqueue(Thread& t, Cpu* from, EnqueueReason why) override {
    const int target = home_core(t, from, why);
    RunQueue& q = queues_[target];
    if (from) {
      from->lock(q.lock);
      from->spend_cycles(queue_op_cycles_, Work::Kernel);
    }
    q.threads.push_back(&t);
    if (from) from->unlock(q.lock);
    // Wake its core if that idles, else the nearest idle core that may run it, which will steal it. A woken core no
    // longer counts as idle, so that a burst of new threads wakes as many cores.
    for (int c : orders_[target].cores)
      if (idle_[c] && t.may_run_on(c)) {
        idle_[c] = 0;
        return c;
      }
    return target;  // no core idles: the target sees it when its current slice ends
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

 private:
  struct RunQueue {
    std::deque<Thread*> threads;
    SpinLock lock;
  };

  Thread* running(int core, Thread* t) {
    running_[core] = 1;
    idle_[core] = 0;
    return t;
  }

  // The queue a runnable thread joins: the core it last ran on (its cache is warm there), a spawned thread the
  // spawner's core (the work-first principle: idle cores will steal it), and else the least loaded core.
  int home_core(const Thread& t, const Cpu* from, EnqueueReason why) const {
    if (why != EnqueueReason::Spawned && t.last_core >= 0 && t.may_run_on(t.last_core)) return t.last_core;
    if (why == EnqueueReason::Spawned && from && t.may_run_on(from->core())) return from->core();
    int best = -1;
    size_t best_load = std::numeric_limits<size_t>::max();
    for (int c = 0; c < static_cast<int>(queues_.size()); ++c) {
      if (!t.may_run_on(c)) continue;
      size_t load = queues_[c].threads.size() + running_[c];
      if (load < best_load) best = c, best_load = load;
    }
    return best < 0 ? 0 : best;
  }

  // Try the other cores' queues nearest first and take the oldest thread this core may run. Reading a busy queue costs
  // its line's transfer from the owner (idle queues' lines stay shared in every reader's cache and cost nothing); the
  // search is charged only when it finds work, because a failed search runs on a core that would idle anyway.
  // `lost_race`: another core took the thread while this one spun on the victim's lock.
  Thread* steal(Cpu& cpu, bool& lost_race) {
    const int core = cpu.core();
    double probe_ns = 0;
    const auto& order = orders_[core].cores;
    for (size_t i = 1; i < order.size(); ++i) {
      const int v = order[i];
      RunQueue& q = queues_[v];
      if (q.threads.empty()) continue;
      probe_ns += line_transfer_ns(*machine_, v, core);
      if (eligible(q, core) == q.threads.end()) continue;
      cpu.spend_s(probe_ns * 1e-9, Work::Kernel);
      cpu.lock(q.lock);
      cpu.spend_cycles(steal_cycles_, Work::Kernel);
      Thread* t = nullptr;
      if (auto it = eligible(q, core); it != q.threads.end()) {
        t = *it;
        q.threads.erase(it);
      }
      cpu.unlock(q.lock);
      if (t) cpu.count("steal");
      lost_race = !t;
      return t;
    }
    return nullptr;
  }

  static std::deque<Thread*>::iterator eligible(RunQueue& q, int core) {
    for (auto it = q.threads.begin(); it != q.threads.end(); ++it)
      if ((*it)->may_run_on(core)) return it;
    return q.threads.end();
  }

  double slice_s_, queue_op_cycles_, steal_cycles_;
  std::vector<RunQueue> queues_;
  std::vector<CoreOrder> orders_;
  std::vector<char> running_, idle_;
};

SchedulerRegistry::Add reg(
    "scheduler", "work-stealing",
    "per-core run queues; a core with nothing to run steals from other cores' queues, nearest first",
    Schema{Field::number("time_slice_us", 4000, "us", "time slice").above(0),
           Field::number("queue_op_cycles", 100, "cycles", "work under a run-queue lock per enqueue or local pick")
               .at_least(0),
           Field::number("steal_cycles", 300, "cycles", "work under the victim queue's lock to take a thread from it")
               .at_least(0)},
    [](const Params& p) { return std::make_unique<WorkStealing>(p); });

}  // namespace
}  // namespace mksim
