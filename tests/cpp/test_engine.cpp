#include <catch2/catch.hpp>

#include "sim/api/workload.hpp"
#include "sim/config.hpp"
#include "sim/engine.hpp"
#include "test_workload_support.hpp"

using namespace mksim;
using mksim::test::run_checked;

namespace {

// A test-only workload: `threads` threads that each wait on a channel nobody sends to (a deadlock on purpose).
class RecvForever final : public Workload {
 public:
  explicit RecvForever(const Params& p) : threads_(static_cast<int>(p.integer("threads"))) {}
  void setup(WorkloadEnv& env) override {
    uint32_t proc = env.create_process("stuck", {});
    uint32_t ch = env.create_channel("nobody-sends");
    for (int i = 0; i < threads_; ++i) env.create_thread(proc, {"stuck", {}, -1}, boxed(body(ch)));
  }
  Metrics metrics(const RunView&) const override { return {}; }

 private:
  static Program body(uint32_t ch) {
    co_await Op::compute(1000);
    co_await Op::recv(ch);
  }
  int threads_;
};
WorkloadRegistry::Add reg_stuck("workload", "test-recv-forever", "test: threads blocked forever",
                                Schema{Field::integer("threads", 2, "", "threads")},
                                [](const Params& p) { return std::make_unique<RecvForever>(p); });

// A test-only workload whose thread finds bad input half-way through the run (as a trace replay may).
class FailsMidway final : public Workload {
 public:
  explicit FailsMidway(const Params&) {}
  void setup(WorkloadEnv& env) override {
    uint32_t proc = env.create_process("p", {});
    env.create_thread(proc, {"ok", {1}, -1}, boxed(fine()));
    env.create_thread(proc, {"bad", {0}, -1}, boxed(bad()));
  }
  Metrics metrics(const RunView&) const override { return {}; }

 private:
  static Program fine() { co_await Op::compute(1e6); }
  static Program bad() {
    co_await Op::compute(1000);
    throw InputError("trace.txt", "line 7", "found garbage, expected an event");
    co_return;
  }
};
WorkloadRegistry::Add reg_fails("workload", "test-fails-midway", "test: a thread that meets bad input", Schema{},
                                [](const Params& p) { return std::make_unique<FailsMidway>(p); });

json two_socket_machine() {
  return json::parse(R"({"sockets": 2, "cores_per_socket": 4, "freq_ghz": 2.0,
      "memory": {"local_latency_ns": 80, "controller_bandwidth_gb_s": 10, "core_bandwidth_gb_s": 50, "core_mlp": 1000},
      "interconnect": {"latency_ns": [[80, 130], [130, 80]], "link_bandwidth_gb_s": 100}})");
}

double metric(const json& r, const char* name) {
  return r["workload"]["metrics"][name].get<double>();
}

}  // namespace

TEST_CASE("engine: a remote access costs what the config says and a local one less") {
  auto run_chase = [](int node) {
    json doc = {{"machine", two_socket_machine()},
                {"workload",
                 {{"kind", "stream"},
                  {"pattern", "chase"},
                  {"cores", {0}},
                  {"node", {node}},
                  {"bytes_per_thread", 64 * 20000},
                  {"chunk_bytes", 64 * 1000}}}};
    return metric(run_checked(doc), "makespan_s");
  };
  double local = run_chase(0), remote = run_chase(1);
  // 20,000 dependent loads at the configured latency (plus one context switch into the thread).
  CHECK(local == Approx(20000 * 80e-9).epsilon(0.002));
  CHECK(remote == Approx(20000 * 130e-9).epsilon(0.002));
  CHECK(local < remote);
}

TEST_CASE("engine: two streams on one memory controller each get half its bandwidth") {
  auto run_two = [](int node_a, int node_b, int core_b) {
    json doc = {{"machine", two_socket_machine()},
                {"workload",
                 {{"kind", "stream"},
                  {"threads", 2},
                  {"cores", {0, core_b}},
                  {"node", {node_a, node_b}},
                  {"bytes_per_thread", 1e8},
                  {"chunk_bytes", 1e7}}}};
    return run_checked(doc)["workload"]["metrics"]["per_thread_bandwidth_gb_s"].get<std::vector<double>>();
  };
  auto shared = run_two(0, 0, 1);  // both on node 0's controller (10 GB/s)
  CHECK(shared[0] == Approx(5).epsilon(0.01));
  CHECK(shared[1] == Approx(5).epsilon(0.01));
  auto apart = run_two(0, 1, 4);  // each on its own node's controller
  CHECK(apart[0] == Approx(10).epsilon(0.01));
  CHECK(apart[1] == Approx(10).epsilon(0.01));
  // A near (80 ns) and a far (130 ns, core 4 on socket 1) stream on node 0's controller also get half each. SimGrid's
  // CM02 weighs a flow's share by its route's latency (TCP's RTT unfairness); a memory controller serving two closed
  // loops that both saturate it does not.
  auto near_far = run_two(0, 0, 4);
  CHECK(near_far[0] == Approx(5).epsilon(0.01));
  CHECK(near_far[1] == Approx(5).epsilon(0.01));
}

TEST_CASE("engine: one core's stream is bounded by Little's law over its misses in flight") {
  json m = two_socket_machine();
  m["memory"]["core_mlp"] = 10;
  m["memory"]["controller_bandwidth_gb_s"] = 100;
  auto bw = [&](int node) {
    json doc = {
        {"machine", m},
        {"workload",
         {{"kind", "stream"}, {"cores", {0}}, {"node", {node}}, {"bytes_per_thread", 1e8}, {"chunk_bytes", 1e7}}}};
    return run_checked(doc)["workload"]["metrics"]["per_thread_bandwidth_gb_s"][0].get<double>();
  };
  // 10 lines of 64 bytes in flight per load latency.
  CHECK(bw(0) == Approx(10 * 64 / 80.0).epsilon(0.01));
  CHECK(bw(1) == Approx(10 * 64 / 130.0).epsilon(0.01));
}

TEST_CASE("engine: a stream over interleaved pages shares the core's misses in flight (Little's law over the mean)") {
  json m = two_socket_machine();
  m["memory"]["core_mlp"] = 10;
  m["memory"]["controller_bandwidth_gb_s"] = 100;
  auto bw = [&](const char* policy, json node) {
    json doc = {
        {"machine", m},
        {"kernel", {{"memory_policy", policy}}},
        {"workload",
         {{"kind", "stream"}, {"cores", {0}}, {"node", node}, {"bytes_per_thread", 1e8}, {"chunk_bytes", 1e7}}}};
    return run_checked(doc)["workload"]["metrics"]["per_thread_bandwidth_gb_s"][0].get<double>();
  };
  const double local = bw("first-touch", {0}), remote = bw("first-touch", {1}),
               interleaved = bw("interleave", json::array());
  // Half the lines at 80 ns and half at 130: 10 lines of 64 bytes per mean latency of 105 ns, between the two nodes'
  // rates and not their sum (until the core's window was shared, each node's half had a window of its own: 12.9 GB/s).
  CHECK(interleaved == Approx(10 * 64 / 105.0).epsilon(0.002));
  CHECK(remote < interleaved);
  CHECK(interleaved < local);
}

TEST_CASE("engine: a remote stream is limited by the interconnect link it crosses") {
  json m = two_socket_machine();
  m["interconnect"]["link_bandwidth_gb_s"] = 4;
  json doc = {{"machine", m},
              {"workload",
               {{"kind", "stream"},
                {"threads", 2},
                {"cores", {0, 1}},
                {"node", {1, 1}},
                {"bytes_per_thread", 4e7},
                {"chunk_bytes", 4e6}}}};
  auto bw = run_checked(doc)["workload"]["metrics"]["per_thread_bandwidth_gb_s"].get<std::vector<double>>();
  CHECK(bw[0] == Approx(2).epsilon(0.01));
  CHECK(bw[1] == Approx(2).epsilon(0.01));
}

TEST_CASE("engine: busy time is the work plus the modelled overheads, and idle time fills the rest") {
  json doc = {{"machine", two_socket_machine()},
              {"kernel", {{"monolithic", {{"context_switch_cycles", 1000}}}}},
              {"workload", {{"kind", "compute"}, {"threads", 3}, {"cycles_per_thread", 2e6}, {"chunk_cycles", 1e5}}}};
  json r = run_checked(doc);
  const double T = r["summary"]["sim_time_s"];
  CHECK(T == Approx((2e6 + 1000) / 2e9));
  int busy_cores = 0;
  for (const auto& c : r["cores"]) {
    double busy = c["busy_s"], idle = c["idle_s"];
    CHECK(busy + idle == Approx(T));
    if (busy > 0) {
      ++busy_cores;
      CHECK(busy == Approx((2e6 + 1000) / 2e9));
      CHECK(c["kernel_s"].get<double>() == Approx(1000 / 2e9));
    }
  }
  CHECK(busy_cores == 3);
  CHECK(r["invariants"]["ok"] == true);
  CHECK(r["invariants"]["violations"].empty());
  CHECK(r["summary"]["events_by_kind"]["compute"] == 3 * 20);
  CHECK(r["summary"]["events_by_kind"]["context_switch"] == 3);
  CHECK(r["summary"]["status"] == "completed");
}

TEST_CASE("engine: threads sharing a core take turns by time slice") {
  json doc = {
      {"machine", two_socket_machine()},
      {"kernel", {{"round-robin", {{"time_slice_us", 100}}}, {"monolithic", {{"context_switch_cycles", 0}}}}},
      {"workload",
       {{"kind", "compute"}, {"threads", 2}, {"cores", {0}}, {"cycles_per_thread", 2e6}, {"chunk_cycles", 2e6}}}};
  json r = run_checked(doc);
  // Two 1 ms threads on one core: both finish near 2 ms, after ~20 switches, each waiting about half the time.
  CHECK(r["summary"]["sim_time_s"].get<double>() == Approx(2e-3).epsilon(1e-6));
  for (const auto& t : r["threads"]) {
    CHECK(t["end_s"].get<double>() > 1.8e-3);
    CHECK(t["wait_s"].get<double>() == Approx(1e-3).epsilon(0.1));
    CHECK(t["context_switches"].get<int>() >= 9);
  }
}

TEST_CASE("engine: a 1,024-core machine builds and runs") {
  json doc = json::parse(R"({"machine": {"sockets": 16, "cores_per_socket": 64, "nodes_per_socket": 1},
      "workload": [{"kind": "compute", "threads": 1024, "cycles_per_thread": 1e5, "chunk_cycles": 5e4},
                   {"kind": "stream", "threads": 16, "bytes_per_thread": 1e6, "chunk_bytes": 1e6,
                    "cores": [0, 64, 128, 192, 256, 320, 384, 448, 512, 576, 640, 704, 768, 832, 896, 960],
                    "node": [15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]}]})");
  json r = run_checked(doc);
  CHECK(r["summary"]["cores"] == 1024);
  CHECK(r["summary"]["numa_nodes"] == 16);
  CHECK(r["summary"]["threads_finished"] == 1040);
  CHECK(r["memory"][0]["remote_bytes"].get<double>() == Approx(1e6));
}

TEST_CASE("engine: the same seed gives byte-identical results apart from wall_clock") {
  json doc = {
      {"machine", two_socket_machine()},
      {"workload",
       json::array(
           {{{"kind", "compute"},
             {"threads", 6},
             {"pin", false},
             {"cycles_per_thread", 1e6},
             {"syscalls_per_chunk", 2},
             {"syscall_class", "file"}},
            {{"kind", "stream"}, {"threads", 2}, {"cores", {0, 4}}, {"node", {1, 0}}, {"bytes_per_thread", 1e7}}})}};
  json a = run_checked(doc), b = run_checked(doc);
  a.erase("wall_clock");
  b.erase("wall_clock");
  CHECK(a.dump() == b.dump());
}

TEST_CASE("engine: a deadlocked workload ends with a report of who waits for what") {
  json doc = {{"machine", two_socket_machine()}, {"workload", {{"kind", "test-recv-forever"}, {"threads", 2}}}};
  json r = run_checked(doc);
  CHECK(r["summary"]["status"] == "deadlock");
  CHECK(r["summary"]["partial"] == true);
  CHECK(r["summary"]["threads_finished"] == 0);
  REQUIRE(r["blocked"].size() == 2);
  CHECK_THAT(r["blocked"][0]["waits_for"].get<std::string>(), Catch::Contains("nobody-sends"));
  CHECK(r["invariants"]["threads_unfinished"] == 2);
  CHECK(r["invariants"]["ok"] == true);
}

TEST_CASE("engine: run limits stop a run cleanly with partial results marked") {
  json doc = {{"machine", two_socket_machine()},
              {"workload", {{"kind", "compute"}, {"threads", 2}, {"cycles_per_thread", 1e9}}},
              {"run", {{"max_sim_time_s", 0.01}}}};
  json r = run_checked(doc);
  CHECK(r["summary"]["partial"] == true);
  CHECK_THAT(r["summary"]["status"].get<std::string>(), Catch::Contains("max_sim_time_s"));
  CHECK(r["summary"]["sim_time_s"].get<double>() == Approx(0.01).epsilon(0.5));
  doc["run"] = {{"max_events", 50}};
  r = run_checked(doc);
  CHECK_THAT(r["summary"]["status"].get<std::string>(), Catch::Contains("max_events"));
  CHECK(r["summary"]["events"].get<int>() <= 52);
}

TEST_CASE("engine: results carry versions, the resolved config, the seed and per-node traffic") {
  json doc = {{"machine", two_socket_machine()},
              {"workload", {{"kind", "stream"}, {"cores", {0}}, {"node", {1}}, {"bytes_per_thread", 1e6}}},
              {"run", {{"seed", 42}}}};
  json r = run_checked(doc);
  CHECK(r["seed"] == 42);
  CHECK(r["simgrid_version"] == "3.32");
  CHECK(r.contains("mksim_version"));
  CHECK(r["config"]["machine"]["sockets"] == 2);
  CHECK(r["memory"][1]["read_bytes"] == 1000000);
  CHECK(r["memory"][1]["remote_bytes"] == 1000000);
  CHECK(r["memory"][0]["read_bytes"] == 0);
  CHECK(r["wall_clock"]["total_s"].get<double>() >= 0);
}

TEST_CASE("engine: a context switch costs the refill of what other threads evicted of the working set") {
  // Private caches of 1 MiB (the L2), an 8 MiB L3 per socket at 40 cycles (20 ns), memory at 80 ns; the refill's
  // loads overlap 1,000 at a time: a 64-byte line costs 0.08 ns from memory and 0.02 ns from the L3.
  json machine = two_socket_machine();
  machine["caches"] = {{"l2", {{"size_kib", 1024}}}, {"l3", {{"size_kib", 8192}, {"latency_cycles", 40}}}};
  auto run = [&](int threads, double ws_kib) {
    json doc = {{"machine", machine},
                {"kernel", {{"round-robin", {{"time_slice_us", 100}}}, {"monolithic", {{"context_switch_cycles", 0}}}}},
                {"workload",
                 {{"kind", "compute"},
                  {"threads", threads},
                  {"cores", {0}},
                  {"cycles_per_thread", 2e6},
                  {"chunk_cycles", 2e6},
                  {"working_set_kib", ws_kib}}}};
    return run_checked(doc);
  };
  auto lines = [](double kib) { return kib * 1024 / 64; };
  const double from_memory_s = 0.08e-9, from_l3_s = 0.02e-9;
  auto refill_s = [](const json& r) { return r["threads"][0]["refill_s"].get<double>(); };
  auto switches = [](const json& r) { return r["threads"][0]["context_switches"].get<int>(); };

  // A working set that fills the private caches alone: the first run fills it from memory (cold); sharing the core,
  // the other thread's pushes it out whole, and each later switch refills it from the L3, which still holds it.
  json alone = run(1, 1024), shared = run(2, 1024), none = run(2, 0);
  CHECK(refill_s(alone) == Approx(lines(1024) * from_memory_s));
  CHECK(switches(shared) >= 9);
  CHECK(refill_s(shared) == Approx(lines(1024) * (from_memory_s + (switches(shared) - 1) * from_l3_s)));
  CHECK(refill_s(none) == 0);
  CHECK(shared["summary"]["sim_time_s"].get<double>() > none["summary"]["sim_time_s"].get<double>());

  // LRU: two working sets that fit together evict nothing of each other's: only the cold fill.
  const json fit = run(2, 256);
  CHECK(refill_s(fit) == Approx(lines(256) * from_memory_s));
  // 768 KiB each: the other thread's 768 KiB push all but the most recent 256 KiB of this one's out, so each switch
  // after the first refills 512 of its 768 KiB.
  const json part = run(2, 768);
  CHECK(refill_s(part) == Approx(lines(768) * from_memory_s + (switches(part) - 1) * lines(512) * from_l3_s));
  // Larger than the private caches: a thread keeps 1 MiB there and the rest in the L3, so its first run fills 4 MiB
  // from memory and each switch refills only what the private caches held.
  const json big = run(2, 4096);
  CHECK(refill_s(big) == Approx(lines(4096) * from_memory_s + (switches(big) - 1) * lines(1024) * from_l3_s));
}

TEST_CASE("engine: bad input met during the run ends it with that error, not an abort") {
  json doc = {{"machine", two_socket_machine()}, {"workload", {{"kind", "test-fails-midway"}}}};
  CHECK_THROWS_WITH(run_isolated(resolve_scenario(doc, "test", ".")),
                    Catch::Contains("trace.txt: line 7: found garbage"));
}

TEST_CASE("engine: interleave spreads traffic over the memory controllers while first-touch concentrates it") {
  auto traffic = [](const char* policy) {
    json m = json::parse(R"({"sockets": 4, "cores_per_socket": 4, "freq_ghz": 2.0})");
    json doc = {{"machine", m},
                {"kernel", {{"memory_policy", policy}}},
                {"workload",
                 {{"kind", "stream"},
                  {"threads", 4},
                  {"cores", {0, 1, 2, 3}},
                  {"bytes_per_thread", 4e6},
                  {"chunk_bytes", 1e6}}}};
    json r = run_checked(doc);
    std::vector<double> bytes;
    for (const auto& n : r["memory"]) bytes.push_back(n["read_bytes"].get<double>());
    return std::make_pair(bytes, r["workload"]["metrics"]["bandwidth_gb_s"].get<double>());
  };
  auto [ft, ft_bw] = traffic("first-touch");
  auto [il, il_bw] = traffic("interleave");
  CHECK(ft == std::vector<double>{16e6, 0, 0, 0});  // all on the node of the touching cores
  for (double b : il) CHECK(b == Approx(4e6));      // a quarter on each node
  // First touch: the four cores could move 10 x 64 B / 80 ns each, node 0's controller gives 20 GB/s. Interleaved,
  // a quarter of each core's lines are local and the rest 130 ns away: 640 B / 117.5 ns each, which no controller or
  // link limits.
  CHECK(ft_bw == Approx(20).epsilon(0.01));
  CHECK(il_bw == Approx(4 * 640 / 117.5).epsilon(0.01));
}
