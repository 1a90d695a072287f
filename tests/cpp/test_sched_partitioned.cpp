// Tests of the partitioned scheduler: partitions from the processes' cores, named partitions that override them,
// exclusive reservation, one lock per partition, errors that name the parameter; end to end, processes that never run
// outside their partitions.
#include <catch2/catch.hpp>

#include "test_sched_support.hpp"

using namespace mksim;
using namespace mksim::test;

namespace {

// A test-only workload: processes kv0 and kv1 with `threads` compute threads each, unpinned. With `split`, kv0 is
// created on the first half of the cores and kv1 on the second half (Genode-style affinity spaces); else both may use
// every core.
class TwoProcesses final : public Workload {
 public:
  explicit TwoProcesses(const Params& p) : p_(p) {}
  void setup(WorkloadEnv& env) override {
    const int n = env.machine().num_cores();
    for (int k = 0; k < 2; ++k) {
      std::vector<int> cores;
      if (p_.boolean("split"))
        for (int c = k * n / 2; c < (k + 1) * n / 2; ++c) cores.push_back(c);
      const std::string name = "kv" + std::to_string(k);
      uint32_t proc = env.create_process(name, cores);
      for (int i = 0; i < p_.integer("threads"); ++i)
        env.create_thread(proc, {name + "." + std::to_string(i), {}, -1}, boxed(body(p_.number("cycles"))));
    }
  }
  Metrics metrics(const RunView& run) const override { return {}; }

 private:
  static Program body(double cycles) {
    for (int i = 0; i < 10; ++i) co_await Op::compute(cycles / 10);
  }
  Params p_;
};
WorkloadRegistry::Add reg_two("workload", "test-two-processes", "test: processes kv0 and kv1",
                              Schema{Field::integer("threads", 4, "", "threads per process"),
                                     Field::boolean("split", false, "disjoint cores"),
                                     Field::number("cycles", 1e7, "cycles", "work per thread")},
                              [](const Params& p) { return std::make_unique<TwoProcesses>(p); });

}  // namespace

TEST_CASE("scheduler: partitioned serves each process's threads only on the cores of its process") {
  Machine m = machine_of(two_node_machine());
  auto s = make_scheduler("partitioned", m);
  Threads ts;
  Thread& a = ts.add("left.0", {0, 1, 2, 3});
  Thread& b = ts.add("right.0", {4, 5, 6, 7});
  Thread& c = ts.add("left.1", {0, 1, 2, 3});
  FakeCpu c0(m, 0), c2(m, 2), c6(m, 6);
  for (Thread* t : {&a, &b, &c}) s->enqueue(*t, &c0, EnqueueReason::Spawned);
  CHECK(s->queue_length(0) == 2);  // one queue for the partition {0..3}
  CHECK(s->queue_length(2) == 2);
  CHECK(s->queue_length(6) == 1);
  CHECK(pick(*s, c6) == &b);
  CHECK(pick(*s, c6) == nullptr);  // never a thread of the other partition
  CHECK(pick(*s, c2) == &a);       // any core of the partition takes the next one, in FIFO order
  CHECK(pick(*s, c0) == &c);
  // The partition's lock: core 2 took it after core 0, sharing the L3.
  CHECK(c2.locks == std::vector<std::string>{"partition0"});
  CHECK(c2.transfer_ns == Approx(kSocketTransferNs));
}

TEST_CASE("scheduler: partitioned named partitions override the process's cores and reserve theirs") {
  Machine m = machine_of(two_node_machine());
  Threads ts;
  FakeCpu c1(m, 1), c3(m, 3);
  SECTION("exclusive (default)") {
    auto s = make_scheduler("partitioned", m, {{"partitions", {{"kv0", {0, 1}}}}});
    Thread& kv = ts.add("kv0.7");     // may run anywhere, but its process is given cores 0 and 1
    Thread& other = ts.add("web.0");  // may run anywhere but on the cores kv0 owns
    s->enqueue(kv, nullptr, EnqueueReason::Spawned);
    s->enqueue(other, nullptr, EnqueueReason::Spawned);
    CHECK(pick(*s, c1) == &kv);
    CHECK(pick(*s, c1) == nullptr);
    CHECK(pick(*s, c3) == &other);
  }
  SECTION("shared") {
    auto s = make_scheduler("partitioned", m, {{"partitions", {{"kv0", {0, 1}}}}, {"exclusive", false}});
    Thread& other = ts.add("web.0");
    s->enqueue(other, nullptr, EnqueueReason::Spawned);
    CHECK(pick(*s, c1) == &other);
  }
}

TEST_CASE("scheduler: partitioned wakes an idle core of the partition, not any idle core") {
  Machine m = machine_of(two_node_machine());
  auto s = make_scheduler("partitioned", m, {{"partitions", {{"kv0", {4, 5}}}}});
  Threads ts;
  FakeCpu c0(m, 0), c5(m, 5);
  CHECK(pick(*s, c0) == nullptr);  // core 0 idles
  CHECK(pick(*s, c5) == nullptr);  // core 5 idles
  CHECK(s->enqueue(ts.add("kv0.0"), &c0, EnqueueReason::Spawned) == 5);
}

TEST_CASE("scheduler: partitioned parameter errors name the parameter") {
  Machine m = machine_of(two_node_machine());
  auto error_of = [&](const json& params) -> std::string {
    try {
      make_scheduler("partitioned", m, params);
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  };
  auto bad_core = error_of({{"partitions", {{"kv0", {0, 99}}}}});
  CHECK_THAT(bad_core, Catch::Contains("kernel.partitioned.partitions.kv0") && Catch::Contains("core 99"));
  CHECK_THAT(error_of({{"partitions", {{"kv0", "0-3"}}}}), Catch::Contains("expected a non-empty list of core ids"));
  CHECK_THAT(error_of({{"partitions", {{"kv0", {0, 1}}, {"kv1", {1, 2}}}}}),
             Catch::Contains("core 1 is also in the partition of 'kv0'"));
  CHECK(error_of({{"partitions", {{"kv0", {0, 1}}, {"kv1", {1, 2}}}}, {"exclusive", false}}).empty());

  // A thread whose process has no core left.
  auto s = make_scheduler("partitioned", m, {{"partitions", {{"kv0", {0, 1}}}}});
  Threads ts;
  CHECK_THROWS_WITH(s->enqueue(ts.add("web.0", {0, 1}), nullptr, EnqueueReason::Spawned),
                    Catch::Contains("thread 'web.0' of process 'web' has no core left"));
  CHECK_THROWS_WITH(s->enqueue(ts.add("kv0.0", {6}), nullptr, EnqueueReason::Spawned),
                    Catch::Contains("may run on none of the cores of the partition of process 'kv0'"));
}

TEST_CASE("scheduler: partitioned keeps two processes on disjoint cores") {
  auto run = [](const std::string& scheduler, bool split, const json& params) {
    json doc = {{"machine", two_node_machine()},
                {"kernel", {{"scheduler", scheduler}, {scheduler, params}}},
                {"workload", {{"kind", "test-two-processes"}, {"threads", 4}, {"split", split}}}};
    json r = run_doc(doc);
    REQUIRE(r["summary"]["status"] == "completed");
    return r;
  };
  auto cores_of = [](const json& r, const std::string& process) {
    std::set<int> out;
    for (const auto& t : r["threads"])
      if (t["process"] == process) out.insert(t["last_core"].get<int>());
    return out;
  };
  // Named partitions: processes that may use every core get two cores each; the other four cores stay idle.
  json named = run("partitioned", false, {{"partitions", {{"kv0", {0, 1}}, {"kv1", {6, 7}}}}});
  CHECK(cores_of(named, "kv0") == std::set<int>{0, 1});
  CHECK(cores_of(named, "kv1") == std::set<int>{6, 7});
  for (int c : {2, 3, 4, 5}) CHECK(named["cores"][c]["busy_s"].get<double>() == 0);
  // Two threads per core: each process takes twice as long as with four cores of its own.
  json split = run("partitioned", true, json::object());
  CHECK(cores_of(split, "kv0") == std::set<int>{0, 1, 2, 3});
  CHECK(cores_of(split, "kv1") == std::set<int>{4, 5, 6, 7});
  CHECK(named["summary"]["sim_time_s"].get<double>() ==
        Approx(2 * split["summary"]["sim_time_s"].get<double>()).epsilon(0.02));
}
