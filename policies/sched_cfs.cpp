// A CFS-like fair scheduler, after Linux's Completely Fair Scheduler (Molnar, 2007; Documentation/scheduler/
// sched-design-CFS.rst) and its load balancer as Lozi et al. describe it ("The Linux Scheduler: a Decade of Wasted
// Cores", EuroSys 2016). Each core keeps its runnable threads ordered by virtual runtime (the CPU time they received)
// and runs the one that received least; a slice is the target latency shared by the threads on the core, never
// shorter than the minimum granularity. A new thread starts at the queue's minimum virtual runtime and a woken one
// gets at most half a target latency of credit, so neither starves the others. Load is balanced over the scheduling
// domains (sched_domains.hpp), nearest first: a core that runs out of work pulls a waiting thread from the busiest
// core of its LLC, then of its node, its package, then of the other nodes (new-idle balancing); and every domain is
// balanced periodically, at an interval that grows with its span. Migrating a thread costs the lock line of the other
// core's queue and the work of moving it; the cache refill it then suffers is the engine's indirect switch cost.
#include <algorithm>
#include <limits>
#include <set>

#include "policies/sched_domains.hpp"
#include "sim/api/param_struct.hpp"
#include "sim/api/scheduler.hpp"

namespace mksim {

namespace {

// Its parameters, declared once (sim/api/param_struct.hpp): the registration's schema and the values it reads.
struct CfsParams {
  double target_latency_us = 0, min_granularity_us = 0, queue_op_cycles = 0, migrate_cycles = 0,
         balance_interval_per_core_us = 0;

  static const ParamStruct<CfsParams>& declare() {
    static const ParamStruct<CfsParams> d =
        ParamStruct<CfsParams>()
            .bind(&CfsParams::target_latency_us,
                  Field::number("target_latency_us", 6000, "us",
                                "period in which every runnable thread of a core runs once")
                      .above(0))
            .bind(&CfsParams::min_granularity_us,
                  Field::number("min_granularity_us", 750, "us", "shortest slice, however many threads share the core")
                      .above(0))
            .bind(&CfsParams::queue_op_cycles,
                  Field::number("queue_op_cycles", 150, "cycles", "work under a run-queue lock per enqueue or pick")
                      .at_least(0))
            .bind(&CfsParams::migrate_cycles,
                  Field::number("migrate_cycles", 2000, "cycles", "work of moving a thread between two cores' queues")
                      .at_least(0))
            .bind(&CfsParams::balance_interval_per_core_us,
                  Field::number("balance_interval_per_core_us", 1000, "us",
                                "periodic balancing interval of a domain per core it spans (Linux: span in ms)")
                      .above(0));
    return d;
  }
};

class Cfs final : public Scheduler {
 public:
  explicit Cfs(const CfsParams& p)
      : latency_s_(p.target_latency_us * 1e-6),
        min_granularity_s_(p.min_granularity_us * 1e-6),
        queue_op_cycles_(p.queue_op_cycles),
        migrate_cycles_(p.migrate_cycles),
        balance_per_core_s_(p.balance_interval_per_core_us * 1e-6) {}

  void init(const Machine& m) override {
    Scheduler::init(m);
    orders_ = core_orders(m);
    rqs_ = std::vector<RunQueue>(m.num_cores());
    for (int c = 0; c < m.num_cores(); ++c) {
      rqs_[c].lock.name = "runqueue" + std::to_string(c);
      for (int span : orders_[c].level_end) rqs_[c].next_balance_s.push_back(balance_per_core_s_ * span);
    }
    idle_.assign(m.num_cores(), 0);
  }

  int enqueue(Thread& t, Cpu* from, EnqueueReason why) override {
    Entity& e = entity(t);
    const int target = select_core(t, from, why);
    RunQueue& rq = rqs_[target];
    if (from) {
      from->lock(rq.lock);
      from->spend_cycles(queue_op_cycles_, Work::Kernel);
    }
    if (e.rq < 0) {
      e.vruntime = rq.min_vruntime;  // a new thread joins at the fair share of time from now on
    } else if (e.rq != target) {
      e.vruntime += rq.min_vruntime - rqs_[e.rq].min_vruntime;  // keep its lag relative to the queue it joins
    }
    if (why == EnqueueReason::Woken) e.vruntime = std::max(e.vruntime, rq.min_vruntime - latency_s_ / 2);
    insert(t, target);
    if (from) from->unlock(rq.lock);
    // Wake its core if that idles; if it is busy, kick the nearest idle core that may run it, which balances (Linux's
    // idle-balance kick). A kicked core no longer counts as idle, so that a burst of wake-ups kicks as many cores.
    for (int c : orders_[target].cores)
      if (idle_[c] && t.may_run_on(c)) {
        idle_[c] = 0;
        return c;
      }
    return target;
  }

  Thread* pick_next(Cpu& cpu) override {
    const int core = cpu.core();
    RunQueue& rq = rqs_[core];
    for (;;) {
      // Look at the queues at this core's own time; a core that finds nothing then idles with no work pending.
      if (rq.timeline.empty()) cpu.sync();
      periodic_balance(cpu);
      if (!rq.timeline.empty()) {
        cpu.lock(rq.lock);
        cpu.spend_cycles(queue_op_cycles_, Work::Kernel);
        Thread* t = nullptr;
        if (!rq.timeline.empty()) {  // another core's balancing may have emptied it while this one spun on the lock
          t = threads_[rq.timeline.begin()->second];
          erase(*t);
        }
        cpu.unlock(rq.lock);
        if (t) return running(core, *t);
        continue;
      }
      bool lost_race = false;
      if (Thread* t = idle_balance(cpu, lost_race)) return running(core, *t);
      if (!lost_race) break;
    }
    idle_[core] = 1;
    return nullptr;
  }

  void ran(Thread& t, int core, double ran_s) override {
    Entity& e = entity(t);
    RunQueue& rq = rqs_[core];
    rq.curr = false;
    const bool queued = e.queued;  // a thread that yielded is queued again before it leaves the core
    const int queue = e.rq;
    if (queued) erase(t);
    e.vruntime += ran_s;
    if (queued) insert(t, queue);
    double floor = e.vruntime;
    if (!rq.timeline.empty()) floor = std::min(floor, rq.timeline.begin()->first);
    rq.min_vruntime = std::max(rq.min_vruntime, floor);
  }

  bool has_waiting(int core) const override { return !rqs_[core].timeline.empty(); }
  size_t queue_length(int core) const override { return rqs_[core].timeline.size(); }

  // The target latency shared by the threads on the core (the running one included), at least the granularity.
  double time_slice_s(int core, const Thread& t) const override {
    const double n = static_cast<double>(rqs_[core].timeline.size() + 1);
    return std::max(latency_s_, n * min_granularity_s_) / n;
  }

 private:
  struct Entity {
    double vruntime = 0;
    int rq = -1;  // the queue its vruntime is relative to (where it waits, or last ran); -1 before its first enqueue
    bool queued = false;
  };
  struct RunQueue {
    std::set<std::pair<double, uint32_t>> timeline;  // (vruntime, thread id) of the waiting threads
    double min_vruntime = 0;                         // monotonic floor of the queue's virtual time
    bool curr = false;                               // a thread is running on the core
    SpinLock lock;
    std::vector<double> next_balance_s;  // per scheduling domain
  };

  Entity& entity(Thread& t) {
    if (t.id >= entities_.size()) entities_.resize(t.id + 1), threads_.resize(t.id + 1, nullptr);
    threads_[t.id] = &t;
    return entities_[t.id];
  }
  void insert(Thread& t, int core) {
    Entity& e = entity(t);
    rqs_[core].timeline.emplace(e.vruntime, t.id);
    e.rq = core;
    e.queued = true;
  }
  void erase(Thread& t) {
    Entity& e = entities_[t.id];
    rqs_[e.rq].timeline.erase({e.vruntime, t.id});
    e.queued = false;
  }
  Thread* running(int core, Thread& t) {
    RunQueue& rq = rqs_[core];
    rq.curr = true;
    idle_[core] = 0;
    rq.min_vruntime = std::max(rq.min_vruntime, std::min(entities_[t.id].vruntime,
                                                         rq.timeline.empty() ? std::numeric_limits<double>::infinity()
                                                                             : rq.timeline.begin()->first));
    return &t;
  }
  int nr_running(int core) const { return static_cast<int>(rqs_[core].timeline.size()) + (rqs_[core].curr ? 1 : 0); }

  // Where a runnable thread goes (Linux's select_task_rq_fair): a preempted or yielding one stays; a woken one goes
  // back to its previous core if that is idle, else to an idle core sharing its LLC, else still to its previous core
  // (its cache is there); a new one goes to the least loaded core, nearest to its spawner on ties.
  int select_core(const Thread& t, const Cpu* from, EnqueueReason why) const {
    const int prev = t.last_core >= 0 && t.may_run_on(t.last_core) ? t.last_core : -1;
    if (prev >= 0 && (why == EnqueueReason::Preempted || why == EnqueueReason::Yielded)) return prev;
    if (prev >= 0 && why == EnqueueReason::Woken) {
      if (nr_running(prev) == 0) return prev;
      const auto& o = orders_[prev];
      for (int i = 1; i < o.level_end[0]; ++i)
        if (t.may_run_on(o.cores[i]) && nr_running(o.cores[i]) == 0) return o.cores[i];
      return prev;
    }
    const int n = static_cast<int>(rqs_.size());
    int best = -1, best_load = std::numeric_limits<int>::max();
    for (int i = 0; i < n; ++i) {
      const int c = from ? orders_[from->core()].cores[i] : i;
      if (!t.may_run_on(c)) continue;
      if (nr_running(c) < best_load) best = c, best_load = nr_running(c);
    }
    return best < 0 ? 0 : best;
  }

  // The waiting thread of `core`'s queue that `dest` may run and that would wait longest there (largest vruntime).
  Thread* movable(int core, int dest) const {
    const auto& tl = rqs_[core].timeline;
    for (auto it = tl.rbegin(); it != tl.rend(); ++it)
      if (threads_[it->second]->may_run_on(dest)) return threads_[it->second];
    return nullptr;
  }

  // The busiest core of domain `level` of `core` with a waiting thread `core` may run, or -1.
  int busiest(int core, size_t level) const {
    const auto& o = orders_[core];
    int best = -1, best_load = 1;
    for (int i = 1; i < o.level_end[level]; ++i) {
      const int c = o.cores[i];
      if (nr_running(c) > best_load && movable(c, core)) best = c, best_load = nr_running(c);
    }
    return best;
  }

  // Move `t` from its queue to `dest`'s, paid by `cpu` (which holds neither lock): the remote queue's lock line, the
  // work of detaching and attaching it. Returns false if another core took it first.
  bool migrate(Cpu& cpu, Thread& t, int src, int dest, bool enqueue_at_dest) {
    const int me = cpu.core();
    const int remote = src == me ? dest : src;
    cpu.lock(rqs_[remote].lock);
    cpu.spend_cycles(migrate_cycles_, Work::Kernel);
    Entity& e = entities_[t.id];
    const bool still_there = e.queued && e.rq == src;
    if (still_there) {
      erase(t);
      e.vruntime += rqs_[dest].min_vruntime - rqs_[src].min_vruntime;
      e.rq = dest;
      if (enqueue_at_dest) insert(t, dest);
      cpu.count("migration");
    }
    cpu.unlock(rqs_[remote].lock);
    return still_there;
  }

  // New-idle balancing: pull a waiting thread from the busiest core, nearest domain first.
  Thread* idle_balance(Cpu& cpu, bool& lost_race) {
    const int core = cpu.core();
    for (size_t level = 0; level < orders_[core].level_end.size(); ++level) {
      const int src = busiest(core, level);
      if (src < 0) continue;
      Thread* t = movable(src, core);
      if (migrate(cpu, *t, src, core, false)) return t;
      lost_race = true;
      return nullptr;
    }
    return nullptr;
  }

  // Periodic balancing of each domain whose interval has passed. Linux pulls at the less loaded core's tick; this
  // slot has no tick, so a core balances when it switches threads, and an overloaded core pushes a waiting thread to
  // the least loaded busy core of the domain, which sees it when its slice ends. Idle cores are woken at enqueue.
  void periodic_balance(Cpu& cpu) {
    const int core = cpu.core();
    const double now = cpu.now_s();
    RunQueue& rq = rqs_[core];
    const auto& o = orders_[core];
    for (size_t level = 0; level < o.level_end.size(); ++level) {
      if (now < rq.next_balance_s[level]) continue;
      rq.next_balance_s[level] = now + balance_per_core_s_ * o.level_end[level];
      const int mine = static_cast<int>(rq.timeline.size());  // this core is between threads
      if (int src = busiest(core, level); src >= 0 && nr_running(src) - mine >= 2) {
        migrate(cpu, *movable(src, core), src, core, true);
        return;
      }
      int dest = -1, dest_load = mine - 1;
      for (int i = 1; i < o.level_end[level]; ++i) {
        const int c = o.cores[i];
        if (!idle_[c] && nr_running(c) < dest_load && movable(core, c)) dest = c, dest_load = nr_running(c);
      }
      if (dest >= 0) {
        migrate(cpu, *movable(core, dest), core, dest, true);
        return;
      }
    }
  }

  double latency_s_, min_granularity_s_, queue_op_cycles_, migrate_cycles_, balance_per_core_s_;
  std::vector<CoreOrder> orders_;
  std::vector<RunQueue> rqs_;
  std::vector<Entity> entities_;  // by thread id: this scheduler's per-thread state
  std::vector<Thread*> threads_;
  std::vector<char> idle_;
};

SchedulerRegistry::Add reg(
    "scheduler", "cfs",
    "CFS-like fair scheduler: per-core queues ordered by virtual runtime, slices from a target latency, load "
    "balancing over the LLC/node/package/interconnect hierarchy",
    CfsParams::declare().schema(), [](const Params& p) { return std::make_unique<Cfs>(CfsParams::declare().read(p)); });

}  // namespace
}  // namespace mksim
