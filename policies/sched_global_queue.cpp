// One run queue shared by every core behind one spin lock, as in Linux 2.4 and the early multiprocessor Unix kernels
// (Bach, "The Design of the UNIX Operating System", 1986, ch. 12): perfect load balance for free, but every enqueue and
// every pick takes the same lock, so its cache line bounces between all scheduling cores and contention grows with
// their number and distance (the reason Linux 2.6 moved to per-CPU run queues; Molnar's O(1) scheduler, 2002).
#include <deque>

#include "sim/api/param_struct.hpp"
#include "sim/api/scheduler.hpp"

namespace mksim {

namespace {

struct GlobalQueueParams {
  double time_slice_us = 0, queue_op_cycles = 0;

  static const ParamStruct<GlobalQueueParams>& declare() {
    static const ParamStruct<GlobalQueueParams> d =
        ParamStruct<GlobalQueueParams>()
            .bind(&GlobalQueueParams::time_slice_us, Field::number("time_slice_us", 4000, "us", "time slice").above(0))
            .bind(&GlobalQueueParams::queue_op_cycles,
                  Field::number("queue_op_cycles", 100, "cycles", "work under the run-queue lock per enqueue or pick")
                      .at_least(0));
    return d;
  }
};

class GlobalQueue final : public Scheduler {
 public:
  explicit GlobalQueue(const GlobalQueueParams& p)
      : slice_s_(p.time_slice_us * 1e-6), queue_op_cycles_(p.queue_op_cycles) {
    lock_.name = "runqueue";
  }

  int enqueue(Thread& t, Cpu* from, EnqueueReason why) override {
    if (from) {
      from->lock(lock_);
      from->spend_cycles(queue_op_cycles_, Work::Kernel);
    }
    queue_.push_back(&t);
    if (t.affinity.empty()) ++unpinned_;
    if (from) from->unlock(lock_);
    // Wake an idle core that may run it. A woken core no longer counts as idle, so that a burst of new threads wakes
    // as many cores (the engine's "any idle core", -1, would wake the same one each time).
    for (int c = 0; c < static_cast<int>(idle_.size()); ++c)
      if (idle_[c] && t.may_run_on(c)) {
        idle_[c] = 0;
        return c;
      }
    return -1;
  }

  void init(const Machine& m) override {
    Scheduler::init(m);
    idle_.assign(m.num_cores(), 0);
  }

  Thread* pick_next(Cpu& cpu) override {
    const int core = cpu.core();
    for (;;) {
      // Look at the queue at this core's own time, without the lock (a read of its line): an idle core does not take
      // the lock to find it empty, and finds it empty with no work pending, so it idles at once.
      cpu.sync();
      if (find(core) == queue_.end()) {
        idle_[core] = 1;
        return nullptr;
      }
      cpu.lock(lock_);
      cpu.spend_cycles(queue_op_cycles_, Work::Kernel);
      Thread* t = nullptr;
      if (auto it = find(core); it != queue_.end()) {  // another core may have taken it while this one spun
        t = *it;
        queue_.erase(it);
        if (t->affinity.empty()) --unpinned_;
      }
      cpu.unlock(lock_);
      if (t) {
        idle_[core] = 0;
        return t;
      }
    }
  }

  bool has_waiting(int core) const override { return unpinned_ > 0 || find(core) != queue_.end(); }
  size_t queue_length(int core) const override { return queue_.size(); }
  double time_slice_s(int core, const Thread& t) const override { return slice_s_; }

 private:
  std::deque<Thread*>::const_iterator find(int core) const {
    for (auto it = queue_.begin(); it != queue_.end(); ++it)
      if ((*it)->may_run_on(core)) return it;
    return queue_.end();
  }

  double slice_s_, queue_op_cycles_;
  SpinLock lock_;
  std::deque<Thread*> queue_;
  size_t unpinned_ = 0;
  std::vector<char> idle_;  // cores that found nothing to run and wait to be woken  // queued threads that may run
                            // anywhere: has_waiting need not scan
};

SchedulerRegistry::Add reg(
    "scheduler", "global-queue",
    "one FIFO run queue shared by all cores behind one spin lock taken on every enqueue and pick",
    GlobalQueueParams::declare().schema(),
    [](const Params& p) { return std::make_unique<GlobalQueue>(GlobalQueueParams::declare().read(p)); });

}  // namespace
}  // namespace mksim
