// Tests of the work-stealing scheduler: where threads are queued, that an idle core steals nearest first and pays the
// victim's lock line, that it never steals a thread it may not run, and, end to end, that stealing finishes an
// unbalanced load earlier than round-robin.
#include <catch2/catch.hpp>

#include "test_sched_support.hpp"

using namespace mksim;
using namespace mksim::test;

TEST_CASE("scheduler: work-stealing queues a thread where it last ran, a spawned one on its spawner's core") {
  Machine m = machine_of(two_node_machine());
  auto s = make_scheduler("work-stealing", m);
  Threads ts;
  FakeCpu c2(m, 2), c3(m, 3);
  Thread& child = ts.add("child");
  CHECK(s->enqueue(child, &c2, EnqueueReason::Spawned) == 2);
  CHECK(s->queue_length(2) == 1);
  Thread& woken = ts.add("woken");
  woken.last_core = 6;
  CHECK(s->enqueue(woken, &c2, EnqueueReason::Woken) == 6);
  CHECK(s->has_waiting(6));
  // Initial threads (no spawner) spread over the least loaded cores.
  for (int i = 0; i < 6; ++i) s->enqueue(ts.add("t" + std::to_string(i)), nullptr, EnqueueReason::Spawned);
  for (int c : {0, 1, 3, 4, 5, 7}) CHECK(s->queue_length(c) == 1);
}

TEST_CASE("scheduler: work-stealing wakes an idle core when a thread joins a busy core's queue") {
  Machine m = machine_of(two_node_machine());
  auto s = make_scheduler("work-stealing", m);
  Threads ts;
  FakeCpu c2(m, 2), c3(m, 3), c7(m, 7);
  Thread& a = ts.add("a");
  a.last_core = 3;
  s->enqueue(a, &c2, EnqueueReason::Woken);
  CHECK(pick(*s, c3) == &a);  // core 3 is busy now
  Thread& b = ts.add("b");
  b.last_core = 3;
  CHECK(s->enqueue(b, &c2, EnqueueReason::Woken) == 3);  // no core idles: core 3 sees it when its slice ends
  CHECK(pick(*s, c7) == &b);                             // core 7 steals it
  CHECK(pick(*s, c7) == nullptr);                        // and idles
  Thread& c = ts.add("c");
  c.last_core = 3;
  CHECK(s->enqueue(c, &c2, EnqueueReason::Woken) == 7);  // the idle core is woken, and will steal it
}

TEST_CASE("scheduler: work-stealing steals nearest first and pays the victim queue's lock line") {
  Machine m = machine_of(two_node_machine());
  auto s = make_scheduler("work-stealing", m, {{"steal_cycles", 300}});
  Threads ts;
  FakeCpu c0(m, 0), c1(m, 1), c5(m, 5);
  Thread& near = ts.add("near");
  Thread& far = ts.add("far");
  near.last_core = 1;
  far.last_core = 5;
  s->enqueue(far, &c5, EnqueueReason::Preempted);  // queued first, but on the other socket
  s->enqueue(near, &c1, EnqueueReason::Preempted);

  CHECK(pick(*s, c0) == &near);
  CHECK(c0.counts["steal"] == 1);
  CHECK(c0.locks == std::vector<std::string>{"runqueue1"});
  // Probing core 1's queue and taking its lock: two transfers within the socket, plus the work of the steal.
  CHECK(c0.transfer_ns == Approx(kSocketTransferNs));
  CHECK(c0.spent_s == Approx(2 * kSocketTransferNs * 1e-9 + 300 / 2e9));

  c0.clear();
  CHECK(pick(*s, c0) == &far);
  CHECK(c0.locks == std::vector<std::string>{"runqueue5"});
  CHECK(c0.transfer_ns == Approx(kCrossTransferNs));  // across the interconnect
  CHECK(c0.spent_s == Approx(2 * kCrossTransferNs * 1e-9 + 300 / 2e9));
}

TEST_CASE("scheduler: work-stealing never steals a thread that may not run on the thief, and a failed search is free") {
  Machine m = machine_of(two_node_machine());
  auto s = make_scheduler("work-stealing", m);
  Threads ts;
  Thread& pinned = ts.add("pinned", {5});
  FakeCpu c0(m, 0), c5(m, 5);
  s->enqueue(pinned, &c5, EnqueueReason::Spawned);
  CHECK(pick(*s, c0) == nullptr);
  CHECK(c0.spent_s == 0);
  CHECK(c0.locks.empty());
  CHECK(pick(*s, c5) == &pinned);
}

TEST_CASE("scheduler: work-stealing finishes an unbalanced load earlier than round-robin") {
  // Six 20 ms threads on four cores: round-robin keeps two on each of cores 0 and 1 (40 ms); with stealing, cores 2 and
  // 3 take the waiting ones once their own threads end, and all finish near 30 ms.
  auto makespan = [](const std::string& scheduler) {
    json doc = {
        {"machine", {{"cores_per_socket", 4}, {"freq_ghz", 2.5}}},
        {"kernel", {{"scheduler", scheduler}, {scheduler, {{"time_slice_us", 1000}}}}},
        {"workload",
         {{"kind", "compute"}, {"threads", 6}, {"pin", false}, {"cycles_per_thread", 5e7}, {"chunk_cycles", 1e7}}}};
    json r = run_doc(doc);
    REQUIRE(r["summary"]["status"] == "completed");
    return workload_metric(r, "makespan_s");
  };
  const double rr = makespan("round-robin"), ws = makespan("work-stealing");
  CHECK(rr == Approx(40e-3).epsilon(0.02));
  CHECK(ws == Approx(30e-3).epsilon(0.05));
  CHECK(ws < 0.8 * rr);
}
