// A test plugin (tests/python/test_plugins.py): a scheduler and a page placement policy registered from outside
// mksim's tree, with one line each, as mksim's own are.
#include <deque>

#include "sim/api/memory.hpp"
#include "sim/api/plugin.hpp"
#include "sim/api/scheduler.hpp"

MKSIM_PLUGIN();

namespace {

using namespace mksim;

// One global FIFO run queue; counts its picks as "test-fifo.pick" events, so a test sees that it ran.
class GlobalFifo final : public Scheduler {
 public:
  explicit GlobalFifo(const Params& p) : slice_s_(p.number("time_slice_us") * 1e-6) {}
  int enqueue(Thread& t, Cpu*, EnqueueReason) override {
    queue_.push_back(&t);
    return -1;
  }
  Thread* pick_next(Cpu& cpu) override {
    for (auto it = queue_.begin(); it != queue_.end(); ++it)
      if ((*it)->may_run_on(cpu.core())) {
        Thread* t = *it;
        queue_.erase(it);
        cpu.count("test-fifo.pick");
        return t;
      }
    return nullptr;
  }
  bool has_waiting(int) const override { return !queue_.empty(); }
  size_t queue_length(int) const override { return queue_.size(); }
  double time_slice_s(int, const Thread&) const override { return slice_s_; }

 private:
  double slice_s_;
  std::deque<Thread*> queue_;
};

class LastNode final : public PagePlacement {
 public:
  std::vector<double> place(const Machine& m, const Region&, const Thread&, int) override {
    std::vector<double> share(m.num_nodes(), 0.0);
    share.back() = 1.0;
    return share;
  }
};

SchedulerRegistry::Add r1("scheduler", "test-fifo", "one global FIFO queue (a test plugin)",
                          Schema{Field::number("time_slice_us", 2000, "us", "time slice").above(0)},
                          [](const Params& p) { return std::make_unique<GlobalFifo>(p); });
PlacementRegistry::Add r2("memory_policy", "test-last-node", "every page on the last NUMA node (a test plugin)",
                          Schema{}, [](const Params&) { return std::make_unique<LastNode>(); });

}  // namespace
