// sticky-fifo: one global FIFO run queue, where an idle core first looks for a thread that last ran on it (its cache
// still holds that thread's working set) and only then takes the oldest. A scheduler in ~60 lines, registered with one
// line, built out of mksim's tree (see ../../docs/writing-a-policy.md).
#include <deque>

#include "sim/api/plugin.hpp"     // MKSIM_PLUGIN()
#include "sim/api/scheduler.hpp"  // Scheduler, Thread, Cpu, Machine, Params, SchedulerRegistry

MKSIM_PLUGIN();  // once per plugin: records the contract version mksim checks before loading it

namespace {

using namespace mksim;

class StickyFifo final : public Scheduler {
 public:
  explicit StickyFifo(const Params& p)
      : slice_s_(p.number("time_slice_us") * 1e-6), lookahead_(static_cast<size_t>(p.integer("lookahead"))) {}

  // A thread became runnable: queue it; -1 lets any idle core that may run it pick it up.
  int enqueue(Thread& t, Cpu* from, EnqueueReason why) override {
    queue_.push_back(&t);
    return -1;
  }

  // Core `cpu` wants work: the first of the `lookahead` oldest threads that last ran here, else the oldest it may run.
  Thread* pick_next(Cpu& cpu) override {
    const int core = cpu.core();
    cpu.spend_cycles(pick_cycles_, Work::Kernel);  // the search is kernel work on this core
    auto chosen = queue_.end();
    size_t looked = 0;
    for (auto it = queue_.begin(); it != queue_.end() && looked < lookahead_; ++it, ++looked)
      if ((*it)->last_core == core) {
        chosen = it;
        cpu.count("sticky.affine");  // an event kind of its own: results.json summary.events_by_kind
        break;
      }
    if (chosen == queue_.end())
      for (auto it = queue_.begin(); it != queue_.end(); ++it)
        if ((*it)->may_run_on(core)) {
          chosen = it;
          break;
        }
    if (chosen == queue_.end()) return nullptr;
    Thread* t = *chosen;
    queue_.erase(chosen);
    return t;
  }

  bool has_waiting(int core) const override { return !queue_.empty(); }
  size_t queue_length(int core) const override { return queue_.size(); }
  double time_slice_s(int core, const Thread& t) const override { return slice_s_; }

 private:
  static constexpr double pick_cycles_ = 150;
  double slice_s_;
  size_t lookahead_;
  std::deque<Thread*> queue_;
};

// The one registration line: slot, name, description, declared parameters (checked in configs, listed by
// `mksim list`, documented by `mksim docs config`), factory.
SchedulerRegistry::Add reg("scheduler", "sticky-fifo",
                           "one global FIFO queue; an idle core prefers a thread that last ran on it",
                           Schema{Field::number("time_slice_us", 4000, "us", "time slice").above(0),
                                  Field::integer("lookahead", 8, "threads",
                                                 "how far into the queue a core looks for its own threads")
                                      .at_least(1)},
                           [](const Params& p) { return std::make_unique<StickyFifo>(p); });

}  // namespace
