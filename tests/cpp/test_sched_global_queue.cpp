// Tests of the global-queue scheduler: one lock taken on every enqueue and pick, whose line moves between cores; FIFO
// order that respects affinity; and, end to end, lock spinning that grows with the number of cores.
#include <catch2/catch.hpp>

#include "test_sched_support.hpp"

using namespace mksim;
using namespace mksim::test;

TEST_CASE("scheduler: global-queue takes its one lock on every enqueue and pick") {
  Machine m = machine_of(two_node_machine());
  auto s = make_scheduler("global-queue", m, {{"queue_op_cycles", 100}});
  Threads ts;
  Thread& a = ts.add("a");
  FakeCpu c0(m, 0), c1(m, 1), c5(m, 5);

  CHECK(s->enqueue(a, &c0, EnqueueReason::Spawned) == -1);  // any idle core may take it
  CHECK(c0.locks == std::vector<std::string>{"runqueue"});
  CHECK(c0.transfer_ns == 0);
  CHECK(c0.spent_s == Approx(100 / 2e9));

  // A core of the other socket picks it: the lock's line crosses the interconnect.
  CHECK(pick(*s, c5) == &a);
  CHECK(c5.locks == std::vector<std::string>{"runqueue"});
  CHECK(c5.transfer_ns == Approx(kCrossTransferNs));

  // Back on socket 0, a core sharing the L3 with the last holder would pay kSocketTransferNs; core 1 pays the remote
  // line again.
  s->ran(a, 5, 1e-3);
  s->enqueue(a, &c1, EnqueueReason::Preempted);
  CHECK(c1.transfer_ns == Approx(kCrossTransferNs));
  CHECK(pick(*s, c0) == &a);
  CHECK(c0.transfer_ns == Approx(kSocketTransferNs));
}

TEST_CASE("scheduler: global-queue serves threads in FIFO order and skips those pinned elsewhere") {
  Machine m = machine_of(two_node_machine());
  auto s = make_scheduler("global-queue", m);
  Threads ts;
  Thread& pinned = ts.add("pinned", {3});
  Thread& b = ts.add("b");
  Thread& c = ts.add("c");
  for (Thread* t : {&pinned, &b, &c}) s->enqueue(*t, nullptr, EnqueueReason::Spawned);
  FakeCpu c0(m, 0), c3(m, 3);
  CHECK(s->has_waiting(0));
  CHECK(pick(*s, c0) == &b);
  CHECK(pick(*s, c0) == &c);
  CHECK_FALSE(s->has_waiting(0));  // only a thread it may not run is left
  CHECK(s->has_waiting(3));
  const size_t locks_before = c0.locks.size();
  CHECK(pick(*s, c0) == nullptr);
  CHECK(c0.locks.size() == locks_before);  // an idle core looks without taking the lock
  CHECK(pick(*s, c3) == &pinned);
}

TEST_CASE("scheduler: global-queue's lock spinning grows with cores while round-robin's stays zero") {
  // Twice as many unpinned threads as cores and short slices: every slice end enqueues and picks under the one lock.
  auto mean_spin_s = [](const std::string& scheduler, int cores) {
    json doc = {{"machine", two_node_machine(cores / 2)},
                {"kernel", {{"scheduler", scheduler}, {scheduler, {{"time_slice_us", 20}}}}},
                {"workload",
                 {{"kind", "compute"},
                  {"threads", 2 * cores},
                  {"pin", false},
                  {"cycles_per_thread", 4e5},
                  {"chunk_cycles", 4e5}}}};
    json r = run_doc(doc);
    REQUIRE(r["summary"]["status"] == "completed");
    double spin = 0;
    for (const auto& c : r["cores"]) spin += c["spin_s"].get<double>();
    return spin / cores;
  };
  const double two = mean_spin_s("global-queue", 2), eight = mean_spin_s("global-queue", 8),
               sixteen = mean_spin_s("global-queue", 16);
  CHECK(two < eight);
  CHECK(eight < sixteen);
  CHECK(sixteen > 4 * two);
  CHECK(mean_spin_s("round-robin", 16) == 0);
}
