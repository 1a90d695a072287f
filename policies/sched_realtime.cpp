// The classic real-time schedulers, for periodic and sporadic tasks (threads with Thread::sched attributes, whose jobs
// start with Op::next_job):
//  - earliest deadline first (Liu and Layland, "Scheduling Algorithms for Multiprogramming in a Hard-Real-Time
//    Environment", JACM 1973): the job with the earliest absolute deadline runs;
//  - rate-monotonic (same paper): fixed priorities, the shorter the period the higher;
// each either global (one queue, the m most urgent jobs run on the m cores, a job may migrate at every preemption;
// Dhall and Liu, "On a Real-Time Scheduling Problem", Operations Research 1978, for its weakness) or partitioned (each
// task bound to one core by a bin-packing heuristic, then a uniprocessor scheduler per core; first-fit decreasing
// utilisation as in Lopez, Diaz and Garcia, "Utilization Bounds for EDF Scheduling on Real-Time Multiprocessor
// Systems", Real-Time Systems 2004, with the exact uniprocessor test of each policy as admission: utilisation (density)
// at most 1 for EDF, response-time analysis for RM, Joseph and Pandya 1986).
//
// Both are preemptive (Scheduler::preemptive): a released job that is more urgent than a running one takes its core at
// once, and no job is time-sliced. Ties go to the lower thread id. Threads without attributes have the lowest priority
// and run in thread-id order. What a decision costs on the simulated machine: `queue_op_cycles` under the run queue's
// lock (one global lock, or one per core) per enqueue and pick (none at all when 0); the context switch itself and
// refilling a preempted or migrated task's working set come from the kernel and machine models, as for every scheduler.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <vector>

#include "sim/api/param_struct.hpp"
#include "sim/api/scheduler.hpp"

namespace mksim {

namespace {

enum class Priority { EarliestDeadline, RateMonotonic };
enum class Fit { First, Best, Worst };

// A job's urgency: smaller is more urgent; ties go to the lower thread id.
struct Key {
  double prio;
  uint32_t id;
  bool operator<(const Key& o) const { return prio != o.prio ? prio < o.prio : id < o.id; }
};

// The parameters of the three policies, declared once each: gedf has the common ones, pedf adds the bin packing, rm
// adds the choice of global or partitioned.
struct RealTimeParams {
  double queue_op_cycles = 0;
  std::string partitioning;  // partitioned only
  bool global = false;       // rm only

  static ParamStruct<RealTimeParams> common() {
    return ParamStruct<RealTimeParams>().bind(
        &RealTimeParams::queue_op_cycles,
        Field::number("queue_op_cycles", 100, "cycles",
                      "work under the run-queue lock per enqueue or pick; 0: scheduling decisions are free and take no "
                      "lock (with a zero-cost context switch: textbook schedules)")
            .at_least(0));
  }
  static ParamStruct<RealTimeParams> partitioned() {
    return common().bind(
        &RealTimeParams::partitioning,
        Field::choice("partitioning", "first-fit-decreasing",
                      {"first-fit-decreasing", "best-fit-decreasing", "worst-fit-decreasing"},
                      "bin-packing heuristic binding each task (by decreasing utilisation) to a core where the "
                      "policy's exact uniprocessor test still passes; a thread pinned to one core stays there"));
  }
  static const ParamStruct<RealTimeParams>& gedf() {
    static const ParamStruct<RealTimeParams> d = common();
    return d;
  }
  static const ParamStruct<RealTimeParams>& pedf() {
    static const ParamStruct<RealTimeParams> d = partitioned();
    return d;
  }
  static const ParamStruct<RealTimeParams>& rm() {
    static const ParamStruct<RealTimeParams> d = partitioned().bind(
        &RealTimeParams::global, Field::boolean("global", false,
                                                "one queue for all cores (global RM) instead of tasks bound to cores "
                                                "(partitioned RM, the classic one)"));
    return d;
  }
};

class RealTime final : public Scheduler {
 public:
  RealTime(const RealTimeParams& p, Priority priority, bool global)
      : priority_(priority), global_(global), queue_op_cycles_(p.queue_op_cycles) {
    if (!global_) {
      const std::string& fit = p.partitioning;
      fit_ = fit == "best-fit-decreasing" ? Fit::Best : fit == "worst-fit-decreasing" ? Fit::Worst : Fit::First;
    }
  }

  void init(const Machine& m) override {
    Scheduler::init(m);
    const int n = m.num_cores();
    queues_.assign(global_ ? 1 : n, {});
    locks_ = std::vector<SpinLock>(global_ ? 1 : n);
    for (size_t i = 0; i < locks_.size(); ++i) locks_[i].name = global_ ? "rt_queue" : fmt::format("rt_queue{}", i);
    running_.assign(n, nullptr);
    claim_.assign(n, std::nullopt);
    core_tasks_.assign(n, {});
  }

  bool preemptive() const override { return true; }
  double time_slice_s(int core, const Thread& t) const override { return std::numeric_limits<double>::infinity(); }

  int enqueue(Thread& t, Cpu* from, EnqueueReason why) override {
    if (global_) return enqueue_global(t, from);
    if (why == EnqueueReason::Spawned && !from && !partitioned_) {
      pending_.push_back(&t);  // bound to a core with all the others at the first pick (decreasing utilisation)
      return -1;
    }
    const int core = partition_of(t);
    push(core, t, from);
    return core;  // if it is busy, the engine asks preempts() before interrupting it
  }

  Thread* pick_next(Cpu& cpu) override {
    const int core = cpu.core();
    if (!global_ && !partitioned_) partition_pending();
    cpu.sync();  // the queues are shared: look at them at this core's own time
    claim_[core].reset();
    Queue& q = queue_of(core);
    auto it = first_for(q, core);
    if (it == q.end()) {
      running_[core] = nullptr;
      return nullptr;
    }
    // Free decisions (queue_op_cycles 0) take no lock either: the zero-overhead schedules of the textbooks and SimSo.
    const bool costly = queue_op_cycles_ > 0;
    SpinLock& l = lock_of(core);
    if (costly) {
      cpu.lock(l);
      cpu.spend_cycles(queue_op_cycles_, Work::Kernel);
      it = first_for(q, core);  // another core may have taken it while this one spun on the lock
    }
    Thread* t = it == q.end() ? nullptr : it->second;
    if (t) q.erase(it);
    if (costly) cpu.unlock(l);
    running_[core] = t;
    return t;
  }

  void ran(Thread& t, int core, double ran_s) override {
    if (running_[core] == &t) running_[core] = nullptr;
  }

  // `running` gives way when it is no longer among the jobs that should run: on its own core (partitioned), a more
  // urgent job waits there; globally, at least as many more urgent jobs (waiting, or running elsewhere) as cores.
  bool preempts(int core, const Thread& running) override {
    const Key mine = key(running);
    const Queue& q = queue_of(core);
    bool out = false;
    if (!global_) {
      out = !q.empty() && q.begin()->first < mine;
    } else {
      size_t better = 0;
      const size_t cores = running_.size();
      for (auto it = q.begin(); it != q.end() && it->first < mine && better < cores; ++it)
        if (it->second->may_run_on(core)) ++better;
      for (size_t c = 0; c < cores && better < cores; ++c)
        if (static_cast<int>(c) != core && running_[c] && key(*running_[c]) < mine) ++better;
      out = better >= cores;
    }
    if (!out) claim_[core].reset();  // a job it was reserved for went elsewhere
    return out;
  }

  bool has_waiting(int core) const override {
    const Queue& q = queue_of(core);
    return first_for(q, core) != q.end();
  }
  size_t queue_length(int core) const override { return queue_of(core).size(); }

 private:
  using Queue = std::set<std::pair<Key, Thread*>>;

  Key key(const Thread& t) const {
    const double inf = std::numeric_limits<double>::infinity();
    if (priority_ == Priority::EarliestDeadline) return {t.sched.deadline_s, t.id};
    return {t.sched.period_s > 0 ? t.sched.period_s : inf, t.id};
  }

  Queue& queue_of(int core) { return queues_[global_ ? 0 : core]; }
  const Queue& queue_of(int core) const { return queues_[global_ ? 0 : core]; }
  SpinLock& lock_of(int core) { return locks_[global_ ? 0 : core]; }

  Queue::const_iterator first_for(const Queue& q, int core) const {
    if (!global_) return q.begin();
    return std::find_if(q.begin(), q.end(), [&](const auto& e) { return e.second->may_run_on(core); });
  }

  void push(int core, Thread& t, Cpu* from) {
    SpinLock& l = lock_of(core);
    if (from && queue_op_cycles_ > 0) {
      from->lock(l);
      from->spend_cycles(queue_op_cycles_, Work::Kernel);
    }
    queue_of(core).insert({key(t), &t});
    if (from && queue_op_cycles_ > 0) from->unlock(l);
  }

  // Global: a free core it may run on (its last one first), else the core whose job (running, or reserved for it by an
  // earlier release) is the least urgent, if this one is more urgent. That core is reserved until it picks.
  int enqueue_global(Thread& t, Cpu* from) {
    push(0, t, from);
    const Key k = key(t);
    const int n = static_cast<int>(running_.size());
    auto free = [&](int c) { return !running_[c] && !claim_[c] && t.may_run_on(c); };
    int target = -1;
    if (t.last_core >= 0 && free(t.last_core)) target = t.last_core;
    for (int c = 0; c < n && target < 0; ++c)
      if (free(c)) target = c;
    if (target < 0) {
      std::optional<Key> worst;
      for (int c = 0; c < n; ++c) {
        if (!t.may_run_on(c)) continue;
        const Key e = claim_[c] ? *claim_[c] : running_[c] ? key(*running_[c]) : Key{-1, 0};
        if (!worst || *worst < e) worst = e, target = c;
      }
      if (target >= 0 && !(k < *worst)) target = -1;
    }
    if (target >= 0) claim_[target] = k;
    return target;
  }

  double utilisation(const Thread& t) const {
    if (t.sched.period_s <= 0 || t.sched.runtime_s <= 0) return 0;
    const double window =
        t.sched.relative_deadline_s > 0 ? std::min(t.sched.relative_deadline_s, t.sched.period_s) : t.sched.period_s;
    return t.sched.runtime_s / window;  // density when the deadline is shorter than the period
  }

  // Would `core` still meet every deadline with `t` added? EDF: total density at most 1. RM: response-time analysis of
  // every task on the core (R = C + sum over more urgent tasks of ceil(R / T_j) C_j, at most the deadline).
  bool fits(int core, const Thread& t) const {
    std::vector<const Thread*> tasks = core_tasks_[core];
    tasks.push_back(&t);
    if (priority_ == Priority::EarliestDeadline) {
      double u = 0;
      for (const Thread* x : tasks) u += utilisation(*x);
      return u <= 1 + 1e-9;
    }
    std::sort(tasks.begin(), tasks.end(), [&](const Thread* a, const Thread* b) { return key(*a) < key(*b); });
    for (size_t i = 0; i < tasks.size(); ++i) {
      const SchedAttributes& a = tasks[i]->sched;
      if (a.period_s <= 0 || a.runtime_s <= 0) continue;
      const double deadline = a.relative_deadline_s > 0 ? a.relative_deadline_s : a.period_s;
      double r = a.runtime_s, prev = -1;
      while (r != prev && r <= deadline + 1e-12) {
        prev = r;
        r = a.runtime_s;
        for (size_t j = 0; j < i; ++j)
          if (tasks[j]->sched.period_s > 0)
            r += std::ceil(prev / tasks[j]->sched.period_s - 1e-12) * tasks[j]->sched.runtime_s;
      }
      if (r > deadline + 1e-12) return false;
    }
    return true;
  }

  double core_utilisation(int core) const {
    double u = 0;
    for (const Thread* x : core_tasks_[core]) u += utilisation(*x);
    return u;
  }

  // A thread pinned to one core stays there (an explicit assignment); any other goes to a core it may run on that
  // still schedules every task (first, fullest or emptiest of them, by `partitioning`), else to the least loaded one
  // (it will miss deadlines: the task set is not partitionable by this heuristic).
  int partition_of(Thread& t) {
    if (t.id < core_of_thread_.size() && core_of_thread_[t.id] >= 0) return core_of_thread_[t.id];
    const int n = static_cast<int>(running_.size());
    int chosen = -1;
    if (t.affinity.size() == 1) chosen = t.affinity[0];
    for (int c = 0; c < n && chosen < 0; ++c) {
      if (!t.may_run_on(c) || !fits(c, t)) continue;
      if (fit_ == Fit::First) chosen = c;
      if (fit_ == Fit::Best) chosen = best_of(chosen, c, [&](double a, double b) { return a > b; });
      if (fit_ == Fit::Worst) chosen = best_of(chosen, c, [&](double a, double b) { return a < b; });
    }
    if (chosen < 0) {
      ++unpartitioned_;
      for (int c = 0; c < n; ++c)
        if (t.may_run_on(c) && (chosen < 0 || core_utilisation(c) < core_utilisation(chosen))) chosen = c;
    }
    if (chosen < 0) chosen = 0;
    core_tasks_[chosen].push_back(&t);
    if (t.id >= core_of_thread_.size()) core_of_thread_.resize(t.id + 1, -1);
    core_of_thread_[t.id] = chosen;
    return chosen;
  }

  template <class Better>
  int best_of(int so_far, int c, Better better) const {
    return so_far < 0 || better(core_utilisation(c), core_utilisation(so_far)) ? c : so_far;
  }

  // The threads that started with the run, bound to cores in order of decreasing utilisation (then thread id).
  void partition_pending() {
    partitioned_ = true;
    std::vector<Thread*> order = pending_;
    std::stable_sort(order.begin(), order.end(),
                     [&](const Thread* a, const Thread* b) { return utilisation(*a) > utilisation(*b); });
    for (Thread* t : order) partition_of(*t);
    for (Thread* t : pending_) push(partition_of(*t), *t, nullptr);
    pending_.clear();
  }

  Priority priority_;
  bool global_;
  Fit fit_ = Fit::First;
  double queue_op_cycles_;
  std::vector<Queue> queues_;                           // one (global) or one per core
  std::vector<SpinLock> locks_;                         // beside each queue
  std::vector<Thread*> running_;                        // by core: the job it runs, or nullptr
  std::vector<std::optional<Key>> claim_;               // by core: the job a release reserved it for, until it picks
  std::vector<std::vector<const Thread*>> core_tasks_;  // partitioned: the tasks bound to each core
  std::vector<int> core_of_thread_;                     // partitioned: by thread id; -1: not yet bound
  std::vector<Thread*> pending_;                        // partitioned: started with the run, not yet bound
  bool partitioned_ = false;
  uint64_t unpartitioned_ = 0;
};

SchedulerRegistry::Add reg_gedf(
    "scheduler", "gedf",
    "global earliest deadline first: the m jobs with the earliest absolute deadlines run, preempting on release",
    RealTimeParams::gedf().schema(), [](const Params& p) {
      return std::make_unique<RealTime>(RealTimeParams::gedf().read(p), Priority::EarliestDeadline, true);
    });

SchedulerRegistry::Add reg_pedf(
    "scheduler", "pedf",
    "partitioned earliest deadline first: tasks bound to cores by a bin-packing heuristic, EDF on each core",
    RealTimeParams::pedf().schema(), [](const Params& p) {
      return std::make_unique<RealTime>(RealTimeParams::pedf().read(p), Priority::EarliestDeadline, false);
    });

SchedulerRegistry::Add reg_rm(
    "scheduler", "rm",
    "rate-monotonic fixed priorities (shorter period first), partitioned (default) or global, preempting on release",
    RealTimeParams::rm().schema(), [](const Params& p) {
      const RealTimeParams v = RealTimeParams::rm().read(p);
      return std::make_unique<RealTime>(v, Priority::RateMonotonic, v.global);
    });

}  // namespace
}  // namespace mksim
