// NUMA-aware placement: a thread runs on the node that holds its memory, because a remote access costs the
// interconnect's latency and bandwidth (Blagodurov, Zhuravlev, Fedorova, "A Case for NUMA-aware Contention Management
// on Multicore Systems", USENIX ATC 2011; Linux's automatic NUMA balancing keeps a "preferred node" per task for the
// same reason). A thread's preferred node is Thread::home_node when the workload set one, else the node of the core it
// last ran on (where first-touch placed what it touched), else its spawner's node, else the least loaded node. It is
// queued on the least loaded core of that node it may use (its last core if no other is less loaded: its cache is
// warm there), or on the nearest node that has such a core. Balancing stays inside the node first: an idle core takes
// work from the cores of its own node, nearest first; then any waiting thread that prefers its node; and from other
// nodes only a queue that holds at least `remote_steal_threshold` waiting threads (0: never). It never takes from the
// queue of a core that runs nothing: that core was woken for the thread and is about to run it.
#include <algorithm>
#include <limits>

#include "policies/sched_per_core.hpp"

namespace mksim {

namespace {

struct NumaAwareParams : PerCoreQueueParams {
  int64_t remote_steal_threshold = 0;

  static const ParamStruct<NumaAwareParams>& declare() {
    static const ParamStruct<NumaAwareParams> d = PerCoreQueueParams::common<NumaAwareParams>().bind(
        &NumaAwareParams::remote_steal_threshold,
        Field::integer("remote_steal_threshold", 2, "threads",
                       "an idle core takes work from another node's queue only when it holds this many waiting "
                       "threads (0: never)")
            .at_least(0));
    return d;
  }
};

class NumaAware final : public PerCoreQueueScheduler {
 public:
  explicit NumaAware(const NumaAwareParams& p)
      : PerCoreQueueScheduler(p), remote_threshold_(static_cast<size_t>(p.remote_steal_threshold)) {}

  void init(const Machine& m) override {
    PerCoreQueueScheduler::init(m);
    node_cores_.assign(m.num_nodes(), {});
    for (const auto& c : m.cores) node_cores_[c.node].push_back(c.id);
    nodes_by_distance_.assign(m.num_nodes(), {});
    for (int n = 0; n < m.num_nodes(); ++n) {
      auto& order = nodes_by_distance_[n];
      for (int o = 0; o < m.num_nodes(); ++o) order.push_back(o);
      const auto& lat = m.interconnect.latency_ns[n];
      std::stable_sort(order.begin(), order.end(),
                       [&](int a, int b) { return std::pair(a != n, lat[a]) < std::pair(b != n, lat[b]); });
    }
  }

  // Wake its core if that idles, else the nearest idle core of its node, which will take it; an idle core of another
  // node only when the queue is long enough for a remote steal.
  int enqueue(Thread& t, Cpu* from, EnqueueReason why) override {
    const int target = place(t, from, why);
    const int node = machine_->cores[target].node;
    return push(t, from, target, [&](int c) {  // called once the thread is in the queue
      const bool remote_ok = remote_threshold_ > 0 && queues_[target].threads.size() >= remote_threshold_;
      return remote_ok || machine_->cores[c].node == node;
    });
  }

 private:
  int preferred_node(const Thread& t, const Cpu* from) const {
    const Machine& m = *machine_;
    if (t.home_node >= 0 && t.home_node < m.num_nodes()) return t.home_node;
    if (t.last_core >= 0) return m.cores[t.last_core].node;
    if (from) return m.cores[from->core()].node;
    int best = 0;
    double best_load = std::numeric_limits<double>::max();
    for (int n = 0; n < m.num_nodes(); ++n) {
      size_t sum = 0, usable = 0;
      for (int c : node_cores_[n])
        if (t.may_run_on(c)) sum += load(c), ++usable;
      if (usable && static_cast<double>(sum) / usable < best_load)
        best = n, best_load = static_cast<double>(sum) / usable;
    }
    return best;
  }

  // The core a runnable thread is queued on: on its preferred node (or the nearest node it may use), the least loaded
  // core. A preempted thread stays where it was unless that is off its node and a core at home is no more loaded (idle
  // cores balance the node by taking work); a woken one goes back to its last core if no core there is less loaded.
  int place(const Thread& t, const Cpu* from, EnqueueReason why) const {
    const int home = preferred_node(t, from);
    const int last = why != EnqueueReason::Spawned && t.last_core >= 0 && t.may_run_on(t.last_core) ? t.last_core : -1;
    const bool stays = why == EnqueueReason::Preempted || why == EnqueueReason::Yielded;
    for (int n : nodes_by_distance_[home]) {
      int best = -1;
      size_t best_load = std::numeric_limits<size_t>::max();
      for (int c : node_cores_[n])
        if (t.may_run_on(c) && load(c) < best_load) best = c, best_load = load(c);
      if (best < 0) continue;
      if (last >= 0) {
        const bool last_here = machine_->cores[last].node == n;
        if (last_here && (stays || load(last) <= best_load)) return last;
        if (!last_here && stays && load(last) < best_load) return last;  // home is busier than staying
      }
      return best;
    }
    return 0;
  }

  // An idle core's search, charged (probes of busy queues' lines, the victim's lock) only when it finds work.
  Thread* steal(Cpu& cpu, bool& lost_race) override {
    const Machine& m = *machine_;
    const int core = cpu.core();
    const int node = m.cores[core].node;
    const auto& order = orders_[core].cores;
    double probe_ns = 0;
    // 1: the cores of this node; 2: a thread elsewhere that prefers this node; 3: long queues elsewhere.
    for (int pass = 1; pass <= 3; ++pass) {
      for (size_t i = 1; i < order.size(); ++i) {
        const int v = order[i];
        RunQueue& q = queues_[v];
        // A queue whose core runs nothing is that core's next pick: enqueue woke it for this very thread. Taking it
        // would only move the thread off its warm core, and leave that core to take another's, and so on.
        if (q.threads.empty() || !running_[v]) continue;
        const bool local = m.cores[v].node == node;
        if (pass == 1 && !local) break;  // the order lists this node's cores first
        if (pass > 1 && local) continue;
        if (pass == 3 && (remote_threshold_ == 0 || q.threads.size() < remote_threshold_)) continue;
        probe_ns += line_transfer_ns(m, v, core);
        auto wanted = [&](const Thread* t) {
          return t->may_run_on(core) && (pass != 2 || preferred_node(*t, nullptr) == node);
        };
        if (std::find_if(q.threads.begin(), q.threads.end(), wanted) == q.threads.end()) continue;
        Thread* t = take(cpu, v, probe_ns, wanted);
        if (t) cpu.count(local ? "steal" : "remote_steal");
        lost_race = !t;
        return t;
      }
    }
    return nullptr;
  }

  size_t remote_threshold_;
  std::vector<std::vector<int>> node_cores_, nodes_by_distance_;
};

SchedulerRegistry::Add reg(
    "scheduler", "numa-aware",
    "per-core queues; a thread runs on the node of its memory (home node, else its last core's node); idle cores "
    "take work from their own node first",
    NumaAwareParams::declare().schema(),
    [](const Params& p) { return std::make_unique<NumaAware>(NumaAwareParams::declare().read(p)); });

}  // namespace
}  // namespace mksim
