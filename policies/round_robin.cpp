// Per-core run queues with round-robin time slices (the classic Unix scheduler shape): a new thread goes to the least
// loaded core it may use, a woken or preempted one back to its last core; a core serves its own queue in FIFO order.
#include <deque>
#include <limits>

#include "sim/api/param_struct.hpp"
#include "sim/api/scheduler.hpp"

namespace mksim {

namespace {

// Its parameters, declared once (sim/api/param_struct.hpp): the registration's schema and the values it reads.
struct RoundRobinParams {
  double time_slice_us = 0;

  static const ParamStruct<RoundRobinParams>& declare() {
    static const ParamStruct<RoundRobinParams> d = ParamStruct<RoundRobinParams>().bind(
        &RoundRobinParams::time_slice_us, Field::number("time_slice_us", 4000, "us", "time slice").above(0));
    return d;
  }
};

class RoundRobin final : public Scheduler {
 public:
  explicit RoundRobin(const RoundRobinParams& p) : slice_s_(p.time_slice_us * 1e-6) {}

  void init(const Machine& m) override {
    Scheduler::init(m);
    queues_.assign(m.num_cores(), {});
    running_.assign(m.num_cores(), 0);
  }

  int enqueue(Thread& t, Cpu* from, EnqueueReason why) override {
    int core = t.last_core;
    if (why == EnqueueReason::Spawned || core < 0 || !t.may_run_on(core)) core = least_loaded(t);
    queues_[core].push_back(&t);
    return core;
  }

  Thread* pick_next(Cpu& cpu) override {
    const int core = cpu.core();
    auto& q = queues_[core];
    if (q.empty()) return nullptr;
    Thread* t = q.front();
    q.pop_front();
    running_[core] = 1;
    return t;
  }

  void ran(Thread& t, int core, double ran_s) override { running_[core] = 0; }
  bool has_waiting(int core) const override { return !queues_[core].empty(); }
  size_t queue_length(int core) const override { return queues_[core].size(); }
  double time_slice_s(int core, const Thread& t) const override { return slice_s_; }

 private:
  int least_loaded(const Thread& t) const {
    int best = -1;
    size_t best_load = std::numeric_limits<size_t>::max();
    for (int c = 0; c < static_cast<int>(queues_.size()); ++c) {
      if (!t.may_run_on(c)) continue;
      size_t load = queues_[c].size() + running_[c];
      if (load < best_load) best = c, best_load = load;
    }
    return best < 0 ? 0 : best;
  }

  double slice_s_;
  std::vector<std::deque<Thread*>> queues_;
  std::vector<int> running_;
};

SchedulerRegistry::Add reg("scheduler", "round-robin",
                           "per-core FIFO run queues with fixed time slices; new threads go to the least loaded core",
                           RoundRobinParams::declare().schema(), [](const Params& p) {
                             return std::make_unique<RoundRobin>(RoundRobinParams::declare().read(p));
                           });

}  // namespace
}  // namespace mksim
