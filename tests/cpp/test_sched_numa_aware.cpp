// Tests of the NUMA-aware scheduler: threads are placed on their home node, else their last core's node, else their
// spawner's; the nearest usable node when they may not run at home; idle cores take work from their own node first and
// from other nodes only past a threshold or for threads that belong to their node, and never a thread queued for an
// idle core; end to end, unpinned streaming threads stay on the node of their memory, and an even load (YCSB on 40
// cores) keeps every core busy.
#include <catch2/catch.hpp>

#include "test_sched_support.hpp"

using namespace mksim;
using namespace mksim::test;

namespace {

// A test-only workload: unpinned threads that stream a buffer bound to `node`, which is also their home node (the
// stream workload pins its threads, so it cannot show where a scheduler puts them).
class HomedStream final : public Workload {
 public:
  explicit HomedStream(const Params& p) : p_(p) {}
  void setup(WorkloadEnv& env) override {
    const int node = static_cast<int>(p_.integer("node"));
    const auto bytes = static_cast<uint64_t>(p_.number("bytes_per_thread"));
    uint32_t proc = env.create_process("homed", {});
    for (int i = 0; i < p_.integer("threads"); ++i) {
      uint32_t region = env.create_region(proc, bytes, node);
      env.create_thread(proc, {"homed." + std::to_string(i), {}, node}, boxed(body(region, bytes)));
    }
  }
  Metrics metrics(const RunView& run) const override {
    return {{"makespan_s", makespan_s(run, 0, run.threads.size())}};
  }

 private:
  static Program body(uint32_t region, uint64_t bytes) {
    for (uint64_t done = 0; done < bytes; done += 1 << 20) co_await Op::mem(region, 1 << 20);
  }
  Params p_;
};
WorkloadRegistry::Add reg_homed("workload", "test-homed-stream", "test: unpinned streams homed on a node",
                                Schema{Field::integer("threads", 4, "", "threads"),
                                       Field::integer("node", 1, "", "node"),
                                       Field::number("bytes_per_thread", 8 << 20, "bytes", "bytes")},
                                [](const Params& p) { return std::make_unique<HomedStream>(p); });

int node_of(const Machine& m, int core) {
  return m.cores[core].node;
}

}  // namespace

TEST_CASE("scheduler: numa-aware places a thread on its home node, else its last core's node, else its spawner's") {
  Machine m = machine_of(two_node_machine());
  auto s = make_scheduler("numa-aware", m);
  Threads ts;
  FakeCpu c0(m, 0), c5(m, 5);
  CHECK(node_of(m, s->enqueue(ts.add("homed", {}, 1), &c0, EnqueueReason::Spawned)) == 1);
  Thread& moved = ts.add("moved");
  moved.last_core = 6;
  CHECK(s->enqueue(moved, &c0, EnqueueReason::Woken) == 6);  // its node, and no core there is less loaded
  CHECK(node_of(m, s->enqueue(ts.add("child"), &c5, EnqueueReason::Spawned)) == 1);
  // Homed on node 1 but allowed only cores 0 and 1: the nearest node it may use.
  const int fallback = s->enqueue(ts.add("exiled", {0, 1}, 1), &c5, EnqueueReason::Spawned);
  CHECK((fallback == 0 || fallback == 1));
  // Threads homed on one node spread over that node's cores, not further.
  Machine m2 = machine_of(two_node_machine());
  auto s2 = make_scheduler("numa-aware", m2);
  std::set<int> used;
  for (int i = 0; i < 8; ++i) used.insert(s2->enqueue(ts.add("h", {}, 0), nullptr, EnqueueReason::Spawned));
  CHECK(used == std::set<int>{0, 1, 2, 3});
}

TEST_CASE("scheduler: numa-aware idle cores take work from their own node first") {
  Machine m = machine_of(two_node_machine());
  auto s = make_scheduler("numa-aware", m);
  Threads ts;
  FakeCpu c0(m, 0), c1(m, 1), c2(m, 2), c4(m, 4), c5(m, 5);
  // Cores 1 and 5 each run a thread and have two more of their node waiting.
  for (FakeCpu* c : {&c1, &c5}) {
    for (int i = 0; i < 3; ++i) {
      Thread& t = ts.add("t");
      t.last_core = c->core();
      s->enqueue(t, c, EnqueueReason::Preempted);
    }
    REQUIRE(pick(*s, *c) != nullptr);
  }
  Thread* a = pick(*s, c0);
  REQUIRE(a != nullptr);
  CHECK(c0.counts["steal"] == 1);
  CHECK(c0.times_locked("runqueue1") == 1);
  CHECK(s->queue_length(1) == 1);
  CHECK(s->queue_length(5) == 2);
  // Core 4 (node 1) takes from core 5, its own node, though core 1 holds work too.
  pick(*s, c4);
  CHECK(s->queue_length(5) == 1);
  CHECK(c4.counts["remote_steal"] == 0);
}

TEST_CASE("scheduler: numa-aware crosses nodes only past the threshold, or to bring a thread home") {
  Machine m = machine_of(two_node_machine());
  auto s = make_scheduler("numa-aware", m, {{"remote_steal_threshold", 2}});
  Threads ts;
  FakeCpu c1(m, 1), c4(m, 4);
  Thread& running = ts.add("running");
  running.last_core = 1;
  s->enqueue(running, &c1, EnqueueReason::Woken);
  REQUIRE(pick(*s, c1) == &running);
  Thread& a = ts.add("a");
  a.last_core = 1;
  s->enqueue(a, &c1, EnqueueReason::Preempted);
  CHECK(pick(*s, c4) == nullptr);  // one waiting thread on node 0: it stays there
  CHECK(c4.spent_s == 0);
  Thread& b = ts.add("b");
  b.last_core = 1;
  s->enqueue(b, &c1, EnqueueReason::Preempted);
  CHECK(pick(*s, c4) == &a);  // two are waiting: core 4 takes the oldest
  CHECK(c4.counts["remote_steal"] == 1);
  CHECK(c4.transfer_ns == Approx(kCrossTransferNs));

  // A thread homed on node 1 that waits on node 0 goes home whatever the threshold.
  Machine m2 = machine_of(two_node_machine());
  auto s2 = make_scheduler("numa-aware", m2, {{"remote_steal_threshold", 0}});
  FakeCpu d1(m2, 1), d4(m2, 4);
  Thread& busy = ts.add("busy");
  busy.last_core = 1;
  s2->enqueue(busy, &d1, EnqueueReason::Woken);
  REQUIRE(pick(*s2, d1) == &busy);
  Thread& plain = ts.add("plain");
  plain.last_core = 1;
  Thread& stray = ts.add("stray");
  stray.last_core = 1;
  s2->enqueue(plain, &d1, EnqueueReason::Preempted);
  s2->enqueue(stray, &d1, EnqueueReason::Preempted);
  stray.home_node = 1;  // its memory is on node 1 (as if it had just been bound there)
  CHECK(pick(*s2, d4) == &stray);
  CHECK(pick(*s2, d4) == nullptr);  // never takes `plain`: threshold 0 forbids remote steals
}

TEST_CASE("scheduler: numa-aware leaves a thread to the idle core it was queued on") {
  // A thread woken onto its idle last core is that core's next pick: another idle core must not take it (it would
  // only move the thread off its warm cache, and leave its core to take someone else's: migrations in a chain).
  Machine m = machine_of(two_node_machine());
  auto s = make_scheduler("numa-aware", m);
  Threads ts;
  FakeCpu c0(m, 0), c1(m, 1);
  CHECK(pick(*s, c1) == nullptr);  // core 1 idles
  Thread& t = ts.add("t");
  t.last_core = 1;
  CHECK(s->enqueue(t, &c0, EnqueueReason::Woken) == 1);  // back to its last core, which is woken for it
  CHECK(pick(*s, c0) == nullptr);
  CHECK(c0.counts["steal"] == 0);
  CHECK(pick(*s, c1) == &t);
  // Once core 1 runs it, a second thread queued behind it is fair game for an idle core.
  Thread& u = ts.add("u");
  u.last_core = 1;
  s->enqueue(u, &c1, EnqueueReason::Preempted);
  CHECK(pick(*s, c0) == &u);
  CHECK(c0.counts["steal"] == 1);
}

TEST_CASE("scheduler: numa-aware keeps every core of an evenly loaded machine busy (YCSB, one instance on 40 cores)") {
  // One YCSB-A instance with a client per core on 2 x 20 cores; its data all on node 0 (first touch). The clients
  // block on leaf latches and are woken back: numa-aware used to let idle cores steal them on the way back to their
  // own idle core, a chain of migrations that piled the clients onto the first cores of each node (utilisation 0.83
  // down to 0.00, 2,687 context switches, 31% fewer operations than cfs).
  auto run = [](const std::string& scheduler) {
    json doc = {{"machine", {{"sockets", 2}, {"cores_per_socket", 20}}},
                {"kernel", {{"scheduler", scheduler}}},
                {"workload",
                 {{"kind", "ycsb"}, {"cores_per_instance", 40}, {"threads_per_instance", 40}, {"duration_s", 0.002}}}};
    json r = run_doc(doc);
    REQUIRE(r["summary"]["status"] == "completed");
    return r;
  };
  json numa = run("numa-aware"), cfs = run("cfs");
  double lo = 1, hi = 0, cfs_lo = 1;
  for (const auto& c : numa["cores"]) {
    lo = std::min(lo, c["utilisation"].get<double>());
    hi = std::max(hi, c["utilisation"].get<double>());
  }
  for (const auto& c : cfs["cores"]) cfs_lo = std::min(cfs_lo, c["utilisation"].get<double>());
  CHECK(lo > 0.75 * hi);     // every core about as busy as the busiest (before: 0.83 down to 0.00)
  CHECK(lo > 0.9 * cfs_lo);  // and as busy as under cfs (the clients spend about 40% blocked on latches)
  uint64_t switches = 0;
  for (const auto& c : numa["cores"]) switches += c["context_switches"].get<uint64_t>();
  CHECK(switches <= 2 * 40);  // each client stays on its core
  CHECK(workload_metric(numa, "ops_per_s") > 0.95 * workload_metric(cfs, "ops_per_s"));
}

TEST_CASE("scheduler: numa-aware keeps unpinned streaming threads on the node of their memory") {
  auto run = [](const std::string& scheduler) {
    json doc = {{"machine", two_node_machine()},
                {"kernel", {{"scheduler", scheduler}}},
                {"workload", {{"kind", "test-homed-stream"}, {"threads", 4}, {"node", 1}}}};
    json r = run_doc(doc);
    REQUIRE(r["summary"]["status"] == "completed");
    return r;
  };
  const double total = 4.0 * (8 << 20);
  json numa = run("numa-aware"), rr = run("round-robin");
  CHECK(numa["memory"][1]["remote_bytes"].get<double>() == 0);
  CHECK(numa["memory"][1]["local_bytes"].get<double>() == total);
  for (const auto& t : numa["threads"]) CHECK(t["last_core"].get<int>() >= 4);
  // Round-robin fills the least loaded cores from core 0: all four on node 0, every byte remote.
  CHECK(rr["memory"][1]["remote_bytes"].get<double>() == total);
  CHECK(workload_metric(numa, "makespan_s") < workload_metric(rr, "makespan_s"));
}
