// Tests of the CFS-like scheduler: the least-run thread runs next, slices come from the target latency and minimum
// granularity, new and woken threads neither starve others nor are starved, load balancing pulls from the nearest
// domain first and counts the migration; end to end, equal shares on one core and balance across cores.
#include <catch2/catch.hpp>

#include "test_sched_support.hpp"

using namespace mksim;
using namespace mksim::test;

namespace {

// The engine's cycle for a thread on `cpu`: it runs `seconds`, then is preempted back into the queue.
void run_and_preempt(Scheduler& s, FakeCpu& cpu, Thread& t, double seconds) {
  s.ran(t, cpu.core(), seconds);
  s.enqueue(t, &cpu, EnqueueReason::Preempted);
}

}  // namespace

TEST_CASE("scheduler: cfs runs the thread that has received the least CPU time") {
  Machine m = machine_of(two_node_machine());
  auto s = make_scheduler("cfs", m);
  Threads ts;
  Thread& a = ts.add("a", {0});
  Thread& b = ts.add("b", {0});
  Thread& c = ts.add("c", {0});
  FakeCpu c0(m, 0);
  for (Thread* t : {&a, &b, &c}) s->enqueue(*t, nullptr, EnqueueReason::Spawned);
  CHECK(pick(*s, c0) == &a);
  run_and_preempt(*s, c0, a, 3e-3);
  CHECK(pick(*s, c0) == &b);
  run_and_preempt(*s, c0, b, 1e-3);
  CHECK(pick(*s, c0) == &c);
  run_and_preempt(*s, c0, c, 2e-3);
  CHECK(pick(*s, c0) == &b);  // 1 ms < 2 ms < 3 ms
  run_and_preempt(*s, c0, b, 1.5e-3);
  CHECK(pick(*s, c0) == &c);  // b: 2.5 ms, c: 2 ms
}

TEST_CASE("scheduler: cfs slices share the target latency, never below the minimum granularity") {
  Machine m = machine_of(two_node_machine());
  auto s = make_scheduler("cfs", m, {{"target_latency_us", 6000}, {"min_granularity_us", 750}});
  Threads ts;
  FakeCpu c0(m, 0);
  auto slice_with = [&](int n) {
    for (int i = 0; i < n; ++i) s->enqueue(ts.add("t", {0}), nullptr, EnqueueReason::Spawned);
    Thread* t = pick(*s, c0);
    double slice = s->time_slice_s(0, *t);
    s->ran(*t, 0, 0);
    while (Thread* u = pick(*s, c0)) s->ran(*u, 0, 0);  // empty the queue again
    return slice;
  };
  CHECK(slice_with(1) == Approx(6e-3));
  CHECK(slice_with(2) == Approx(3e-3));
  CHECK(slice_with(4) == Approx(1.5e-3));
  CHECK(slice_with(10) == Approx(0.75e-3));  // 10 x 0.75 ms > 6 ms: the period stretches
}

TEST_CASE("scheduler: cfs starts a new thread at the queue's minimum virtual runtime") {
  Machine m = machine_of(two_node_machine());
  auto s = make_scheduler("cfs", m);
  Threads ts;
  Thread& old = ts.add("old", {0});
  FakeCpu c0(m, 0);
  s->enqueue(old, nullptr, EnqueueReason::Spawned);
  CHECK(pick(*s, c0) == &old);
  run_and_preempt(*s, c0, old, 0.1);  // ran alone for 100 ms
  CHECK(pick(*s, c0) == &old);
  Thread& fresh = ts.add("fresh", {0});
  s->enqueue(fresh, &c0, EnqueueReason::Spawned);
  run_and_preempt(*s, c0, old, 1e-3);
  // The newcomer does not get 100 ms of catch-up: the two alternate.
  Thread* last = pick(*s, c0);
  CHECK(last == &fresh);
  for (int i = 0; i < 6; ++i) {
    run_and_preempt(*s, c0, *last, 1e-3);
    Thread* next = pick(*s, c0);
    CHECK(next != last);
    last = next;
  }
}

TEST_CASE("scheduler: cfs gives a woken thread at most half a target latency of credit") {
  Machine m = machine_of(two_node_machine());
  auto s = make_scheduler("cfs", m, {{"target_latency_us", 6000}});
  Threads ts;
  Thread& sleeper = ts.add("sleeper", {0});
  Thread& hog = ts.add("hog", {0});
  FakeCpu c0(m, 0);
  s->enqueue(sleeper, nullptr, EnqueueReason::Spawned);
  s->enqueue(hog, nullptr, EnqueueReason::Spawned);
  CHECK(pick(*s, c0) == &sleeper);
  s->ran(sleeper, 0, 1e-3);  // and blocks
  CHECK(pick(*s, c0) == &hog);
  run_and_preempt(*s, c0, hog, 0.1);
  CHECK(pick(*s, c0) == &hog);
  s->enqueue(sleeper, &c0, EnqueueReason::Woken);
  run_and_preempt(*s, c0, hog, 1e-3);
  CHECK(pick(*s, c0) == &sleeper);         // it runs first: it is behind
  run_and_preempt(*s, c0, sleeper, 5e-3);  // its 3 ms of credit used up, and then some
  CHECK(pick(*s, c0) == &hog);
}

TEST_CASE("scheduler: cfs pulls work from the nearest domain first and counts the migration") {
  Machine m = machine_of(two_node_machine());
  // New-idle balancing only: periodic balancing is not due for a long time.
  auto s = make_scheduler("cfs", m, {{"migrate_cycles", 2000}, {"balance_interval_per_core_us", 1e6}});
  Threads ts;
  FakeCpu c0(m, 0), c1(m, 1), c2(m, 2), c5(m, 5);
  auto queue_on = [&](FakeCpu& cpu, int n) {
    for (int i = 0; i < n; ++i) {
      Thread& t = ts.add("t");
      t.last_core = cpu.core();
      s->enqueue(t, &cpu, EnqueueReason::Preempted);
    }
    pick(*s, cpu);  // one of them runs
  };
  queue_on(c1, 2);  // core 1: one running, one waiting
  queue_on(c5, 4);  // core 5 (other socket): one running, three waiting
  CHECK(s->queue_length(1) == 1);
  CHECK(s->queue_length(5) == 3);

  Thread* t = pick(*s, c0);
  REQUIRE(t != nullptr);
  CHECK(s->queue_length(1) == 0);  // from its LLC sibling, though core 5 is busier
  CHECK(s->queue_length(5) == 3);
  CHECK(c0.counts["migration"] == 1);
  CHECK(c0.times_locked("runqueue1") == 1);
  CHECK(c0.transfer_ns == Approx(kSocketTransferNs));
  CHECK(c0.spent_s >= 2000 / 2e9);

  // Nothing is left to take on socket 0: core 2 crosses to the other socket.
  CHECK(pick(*s, c2) != nullptr);
  CHECK(s->queue_length(5) == 2);
  CHECK(c2.counts["migration"] == 1);
  CHECK(c2.times_locked("runqueue5") == 1);
  CHECK(c2.transfer_ns == Approx(kCrossTransferNs));
}

TEST_CASE("scheduler: cfs periodic balancing moves a waiting thread from an overloaded core to a less loaded one") {
  Machine m = machine_of(two_node_machine());
  auto s = make_scheduler("cfs", m, {{"balance_interval_per_core_us", 1}});  // the LLC domain every 4 us
  Threads ts;
  FakeCpu c0(m, 0), c1(m, 1), c2(m, 2), c3(m, 3);
  Thread& a = ts.add("a", {1, 2});
  for (Thread* t : {&a, &ts.add("b", {1, 2}), &ts.add("c", {1, 2})}) {
    t->last_core = 1;
    s->enqueue(*t, &c1, EnqueueReason::Preempted);
  }
  Thread& d = ts.add("d", {2});
  s->enqueue(d, &c2, EnqueueReason::Spawned);
  CHECK(pick(*s, c2) == &d);  // core 2 runs one thread
  CHECK(pick(*s, c1) == &a);  // core 1 runs one and has two waiting
  CHECK(pick(*s, c0) == nullptr);
  CHECK(pick(*s, c3) == nullptr);
  CHECK(s->queue_length(1) == 2);
  c1.now += 10e-6;  // the balancing interval has passed
  run_and_preempt(*s, c1, a, 10e-6);
  c1.clear();
  CHECK(pick(*s, c1) != nullptr);
  // Three threads against one: core 1 moved one of its waiting threads to core 2, which runs it after its slice.
  CHECK(s->queue_length(1) == 1);
  CHECK(s->queue_length(2) == 1);
  CHECK(c1.counts["migration"] == 1);
  CHECK(c1.times_locked("runqueue2") == 1);
}

TEST_CASE("scheduler: cfs never moves a thread to a core it may not run on") {
  Machine m = machine_of(two_node_machine());
  auto s = make_scheduler("cfs", m);
  Threads ts;
  FakeCpu c0(m, 0), c5(m, 5);
  for (int i = 0; i < 3; ++i) s->enqueue(ts.add("pinned", {5}), &c5, EnqueueReason::Spawned);
  CHECK(s->queue_length(5) == 3);
  CHECK(pick(*s, c0) == nullptr);
  CHECK(c0.counts["migration"] == 0);
  CHECK(pick(*s, c5) != nullptr);
}

TEST_CASE("scheduler: cfs gives threads sharing one core equal CPU shares") {
  // Three 10 ms threads on core 0: slices of 6 ms / 3 = 2 ms, taken in turn; all end together near 30 ms.
  json doc = {
      {"machine", two_node_machine(1)},
      {"kernel", {{"scheduler", "cfs"}, {"monolithic", {{"context_switch_cycles", 0}}}}},
      {"workload",
       {{"kind", "compute"}, {"threads", 3}, {"cores", {0}}, {"cycles_per_thread", 2e7}, {"chunk_cycles", 2e7}}}};
  json r = run_doc(doc);
  REQUIRE(r["summary"]["status"] == "completed");
  for (const auto& t : r["threads"]) {
    CHECK(t["run_s"].get<double>() == Approx(10e-3).epsilon(0.01));
    CHECK(t["end_s"].get<double>() > 30e-3 - 2 * 2e-3 - 1e-9);       // within one round of the end
    CHECK(t["end_s"].get<double>() < 30e-3 * 1.001);                 // plus the queue operations
    CHECK(t["context_switches"].get<int>() == Approx(5).margin(1));  // 10 ms in 2 ms slices
  }
}

TEST_CASE("scheduler: cfs balances an unbalanced load across cores earlier than round-robin") {
  auto makespan = [](const std::string& scheduler) {
    json doc = {
        {"machine", {{"cores_per_socket", 4}, {"freq_ghz", 2.5}}},
        {"kernel", {{"scheduler", scheduler}, {"round-robin", {{"time_slice_us", 3000}}}}},
        {"workload",
         {{"kind", "compute"}, {"threads", 6}, {"pin", false}, {"cycles_per_thread", 5e7}, {"chunk_cycles", 1e7}}}};
    json r = run_doc(doc);
    REQUIRE(r["summary"]["status"] == "completed");
    return workload_metric(r, "makespan_s");
  };
  const double rr = makespan("round-robin"), cfs = makespan("cfs");
  CHECK(rr == Approx(40e-3).epsilon(0.02));
  CHECK(cfs < 0.85 * rr);
}
