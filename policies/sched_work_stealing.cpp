// Per-core run queues with work stealing (Blumofe & Leiserson, "Scheduling Multithreaded Computations by Work
// Stealing", JACM 46(5), 1999): a thread goes to the queue of the core that spawned, woke or last ran it, and a core
// whose own queue is empty steals from another core's queue. Victims are tried nearest first in the cache/NUMA
// hierarchy (hierarchical stealing, as Olivier et al., "Scheduling Task Parallelism on Multi-Socket Multicore Systems",
// ROSS 2011, argue for), so a stolen thread finds its data in a shared cache when it can. A steal takes the victim
// queue's lock, whose cache line comes from the victim's cache: nearby steals are cheap, cross-node ones are not.
#include <limits>

#include "policies/sched_per_core.hpp"

namespace mksim {

namespace {

class WorkStealing final : public PerCoreQueueScheduler {
 public:
  using PerCoreQueueScheduler::PerCoreQueueScheduler;

  int enqueue(Thread& t, Cpu* from, EnqueueReason why) override {
    return push(t, from, home_core(t, from, why), [](int) { return true; });
  }

 private:
  // The queue a runnable thread joins: the core it last ran on (its cache is warm there), a spawned thread the
  // spawner's core (the work-first principle: idle cores will steal it), and else the least loaded core.
  int home_core(const Thread& t, const Cpu* from, EnqueueReason why) const {
    if (why != EnqueueReason::Spawned && t.last_core >= 0 && t.may_run_on(t.last_core)) return t.last_core;
    if (why == EnqueueReason::Spawned && from && t.may_run_on(from->core())) return from->core();
    int best = -1;
    size_t best_load = std::numeric_limits<size_t>::max();
    for (int c = 0; c < static_cast<int>(queues_.size()); ++c) {
      if (!t.may_run_on(c)) continue;
      if (load(c) < best_load) best = c, best_load = load(c);
    }
    return best < 0 ? 0 : best;
  }

  // Try the other cores' queues nearest first and take the oldest thread this core may run. Reading a busy queue costs
  // its line's transfer from the owner (idle queues' lines stay shared in every reader's cache and cost nothing).
  Thread* steal(Cpu& cpu, bool& lost_race) override {
    const int core = cpu.core();
    auto wanted = [core](const Thread* t) { return t->may_run_on(core); };
    double probe_ns = 0;
    const auto& order = orders_[core].cores;
    for (size_t i = 1; i < order.size(); ++i) {
      const int v = order[i];
      const auto& q = queues_[v].threads;
      if (q.empty()) continue;
      probe_ns += line_transfer_ns(*machine_, v, core);
      if (std::find_if(q.begin(), q.end(), wanted) == q.end()) continue;
      Thread* t = take(cpu, v, probe_ns, wanted);
      if (t) cpu.count("steal");
      lost_race = !t;
      return t;
    }
    return nullptr;
  }
};

SchedulerRegistry::Add reg("scheduler", "work-stealing",
                           "per-core run queues; a core with nothing to run steals from other cores' queues, nearest "
                           "first",
                           PerCoreQueueParams::common<PerCoreQueueParams>().schema(), [](const Params& p) {
                             static const ParamStruct<PerCoreQueueParams> d =
                                 PerCoreQueueParams::common<PerCoreQueueParams>();
                             return std::make_unique<WorkStealing>(d.read(p));
                           });

}  // namespace
}  // namespace mksim
