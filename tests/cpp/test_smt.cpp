// SMT (issue 17, item 7): with machine.cpu.smt every PU is a schedulable context; the contexts of one physical core
// share its pipeline (a core with k busy contexts delivers smt_throughput[k-1] in all), its private caches and its miss
// buffers (docs/smt.md). Off, the machine runs one context per core exactly as before.
#include <catch2/catch.hpp>
#include <filesystem>

#include "sim/config.hpp"
#include "sim/engine.hpp"
#include "sim/machine_config.hpp"
#include "test_workload_support.hpp"

using namespace mksim;
using mksim::test::run_checked;

namespace {

// 16 cores with `tpc` PUs each at 2.5 GHz, SMT simulated or not.
json machine(int tpc, bool smt, const json& throughput = json()) {
  json m = {{"sockets", 1}, {"cores_per_socket", 16}, {"threads_per_core", tpc}, {"freq_ghz", 2.5}};
  m["cpu"] = {{"smt", smt}};
  if (!throughput.is_null()) m["cpu"]["smt_throughput"] = throughput;
  return m;
}

// Makespan of `threads` compute threads of 1e6 cycles each (pinned to contexts 0, 1, ... or to `cores`).
double compute_makespan(const json& m, int threads, const json& cores = json()) {
  json w = {{"kind", "compute"}, {"threads", threads}, {"cycles_per_thread", 1e6}};
  if (!cores.is_null()) w["cores"] = cores;
  return run_checked({{"machine", m}, {"workload", w}})["workload"]["metrics"]["makespan_s"].get<double>();
}

std::string error_of(const json& m) {
  try {
    build_machine(m, "machine", "test.json", ".");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("smt: off, the issue's example keeps today's numbers (one context per core, PUs only displayed)") {
  const json m = machine(4, false);
  CHECK(build_machine(m, "machine", "test.json", ".").num_cores() == 16);
  const double one = compute_makespan(m, 16);
  CHECK(one == Approx(4.0e-4).epsilon(0.01));
  CHECK(compute_makespan(m, 32) == Approx(2 * one).epsilon(1e-9));
  CHECK(compute_makespan(m, 64) == Approx(4 * one).epsilon(1e-9));
}

TEST_CASE("smt: on, 16, 32 and 64 threads on 16 cores x 4 PUs no longer take 0.40, 0.80 and 1.60 ms") {
  const json m = machine(4, true);  // default throughput [1, 1.3]: past its end, the last value holds
  const double alone = compute_makespan(machine(4, false), 16);
  const double t16 = compute_makespan(m, 16), t32 = compute_makespan(m, 32), t64 = compute_makespan(m, 64);
  CHECK(t16 == Approx(alone).epsilon(1e-9));  // contexts 0-15: one per physical core
  CHECK(t32 == Approx(alone * 2 / 1.3).epsilon(0.005));
  CHECK(t64 == Approx(alone * 4 / 1.3).epsilon(0.005));
  CHECK(t32 < 2 * alone * 0.8);  // not the 0.80 ms of one context per core
}

TEST_CASE("smt: with 2-way SMT and smt_throughput [1, 1.25], two threads per core take 2/1.25 of one's time") {
  const json m = machine(2, true, {1.0, 1.25});
  const double one = compute_makespan(m, 16);
  const double two = compute_makespan(m, 32);
  CHECK(two / one == Approx(2 / 1.25).epsilon(0.005));
  // the same work on 32 separate cores takes one thread's time: siblings are slower than separate cores
  json wide = machine(1, false);
  wide["cores_per_socket"] = 32;
  CHECK(compute_makespan(wide, 32) == Approx(one).epsilon(1e-9));
}

TEST_CASE("smt: two threads on sibling contexts are slower than on separate cores") {
  const json m = machine(2, true, {1.0, 1.25});
  const double siblings = compute_makespan(m, 2, {0, 16});  // contexts 0 and 16 share physical core 0
  const double separate = compute_makespan(m, 2, {0, 1});
  CHECK(siblings > separate * 1.5);
  CHECK(siblings / separate == Approx(2 / 1.25).epsilon(0.01));
}

TEST_CASE("smt: on with one PU per core gives exactly the results of off") {
  for (int threads : {8, 16, 40}) {
    json off = run_checked({{"machine", machine(1, false)},
                            {"workload", {{"kind", "compute"}, {"threads", threads}, {"working_set_kib", 64}}}});
    json on = run_checked({{"machine", machine(1, true)},
                           {"workload", {{"kind", "compute"}, {"threads", threads}, {"working_set_kib", 64}}}});
    CHECK(on["summary"]["sim_time_s"] == off["summary"]["sim_time_s"]);
    CHECK(on["workload"] == off["workload"]);
    CHECK(on["threads"] == off["threads"]);
  }
}

namespace {

// Per-thread bandwidth of two threads streaming 100 MB each from node 0's memory, pinned to `cores`, with the
// machine's memory section `memory`.
json smt_streams(const json& memory, const json& cores) {
  json m = machine(2, true);
  m["memory"] = memory;
  json doc = {
      {"machine", m},
      {"workload",
       {{"kind", "stream"}, {"threads", 2}, {"cores", cores}, {"bytes_per_thread", 1e8}, {"chunk_bytes", 1e7}}}};
  return run_checked(doc)["workload"]["metrics"]["per_thread_bandwidth_gb_s"];
}

}  // namespace

TEST_CASE("smt: sibling contexts share their core's miss buffers (core bandwidth)") {
  const json memory = {{"controller_bandwidth_gb_s", 100}, {"core_bandwidth_gb_s", 10}, {"core_mlp", 1000}};
  const json separate = smt_streams(memory, {0, 1}), siblings = smt_streams(memory, {0, 16});
  REQUIRE(separate.size() == 2);
  REQUIRE(siblings.size() == 2);
  CHECK(separate[0].get<double>() == Approx(10).epsilon(0.05));
  CHECK(siblings[0].get<double>() == Approx(5).epsilon(0.05));
  CHECK(siblings[1].get<double>() == Approx(5).epsilon(0.05));
}

TEST_CASE("smt: sibling contexts share their core's misses in flight (Little's law per physical core)") {
  const json memory = {
      {"controller_bandwidth_gb_s", 100}, {"core_bandwidth_gb_s", 100}, {"core_mlp", 10}, {"local_latency_ns", 80}};
  // One core's 10 lines of 64 bytes per 80 ns: two cores get that each, two contexts of one core half each.
  const json separate = smt_streams(memory, {0, 1}), siblings = smt_streams(memory, {0, 16});
  CHECK(separate[0].get<double>() == Approx(8).epsilon(0.002));
  CHECK(separate[1].get<double>() == Approx(8).epsilon(0.002));
  CHECK(siblings[0].get<double>() == Approx(4).epsilon(0.002));
  CHECK(siblings[1].get<double>() == Approx(4).epsilon(0.002));
}

TEST_CASE("smt: a thread's working set survives a move to a sibling context (shared private caches)") {
  // Two threads of 256 KiB working sets, not pinned, sharing core 0's contexts with a third thread: the refills a
  // context switch costs follow the physical core's fill counter, so the run completes with its invariants (checked
  // in run_doc) and the same refills whichever sibling runs the thread.
  json m = machine(2, true);
  json doc = {
      {"machine", m},
      {"workload",
       {{"kind", "compute"}, {"threads", 3}, {"pin", false}, {"cycles_per_thread", 1e7}, {"working_set_kib", 256}}}};
  doc["kernel"] = {{"scheduler", "global-queue"}};
  json r = run_checked(doc);
  CHECK(r["summary"]["status"] == "completed");
}

TEST_CASE("smt: the machine summary says how many contexts are schedulable and which share a core") {
  Machine m = build_machine(machine(4, true), "machine", "test.json", ".");
  CHECK(m.smt.on);
  CHECK(m.num_cores() == 64);
  CHECK(m.physical_cores() == 16);
  CHECK(m.pus() == 64);
  for (int i = 0; i < 64; ++i) CHECK(m.physical_core(i) == i % 16);
  // contexts of one core share its L1 and L2: a line moves between them at an L1 hit
  CHECK(m.shared_cache(0, 16)->level == 1);
  CHECK(m.shared_cache(0, 1)->level > 1);
  const json j = machine_summary_json(m);
  CHECK(j["cores"] == 16);
  CHECK(j["smt"]["simulated"] == true);
  CHECK(j["smt"]["contexts"] == 64);
  CHECK(j["smt"]["siblings"][3] == json({3, 19, 35, 51}));
  const std::string text = machine_summary_text(m);
  CHECK_THAT(text, Catch::Contains("64 schedulable contexts on 16 physical cores"));
  CHECK_THAT(text, Catch::Contains("core 1: 1 17 33 49"));
  Machine off = build_machine(machine(4, false), "machine", "test.json", ".");
  CHECK_FALSE(off.smt.on);
  CHECK(machine_summary_json(off)["smt"]["contexts"] == 16);
  CHECK_THAT(machine_summary_text(off), Catch::Contains("schedulable contexts: 16, one per core (its 64 PUs"));
}

TEST_CASE("smt: a hwloc file with two PUs per core gives contexts numbered like its PUs") {
  const std::string file = std::string(MKSIM_SOURCE_DIR) + "/data/realdata/hwloc/192em64t-24n8c2t.xml";
  REQUIRE(std::filesystem::exists(file));
  Machine m = build_machine({{"hwloc", file}, {"cpu", {{"smt", true}}}}, "machine", "test.json", ".");
  CHECK(m.num_cores() == 384);
  CHECK(m.physical_cores() == 192);
  for (int i = 0; i < 384; ++i) {
    REQUIRE(m.cores[i].pu_os_index.size() == 1);
    CHECK(m.cores[i].pu_os_index[0] == i);  // the file's PUs 0 and 192 are core 0's
    CHECK(m.cores[i].node == m.cores[i % 192].node);
  }
  CHECK(m.shared_cache(5, 197)->level == 1);
  // and it runs: 384 threads on 384 contexts, two per core at 1.3 x one context
  json doc = {{"machine", {{"hwloc", file}, {"cpu", {{"smt", true}}}}},
              {"workload", {{"kind", "compute"}, {"threads", 384}, {"cycles_per_thread", 1e6}}}};
  json half = doc;
  half["workload"]["threads"] = 192;
  const double two = run_checked(doc)["workload"]["metrics"]["makespan_s"].get<double>();
  const double one = run_checked(half)["workload"]["metrics"]["makespan_s"].get<double>();
  CHECK(two / one == Approx(2 / 1.3).epsilon(0.01));
}

TEST_CASE("smt: bad smt_throughput gives an error naming the JSON path") {
  CHECK_THAT(error_of(machine(2, true, {0.5})),
             Catch::Contains("machine.cpu.smt_throughput") && Catch::Contains("expected a number from 1 to 1"));
  CHECK_THAT(error_of(machine(2, true, {1, 2.5})),
             Catch::Contains("machine.cpu.smt_throughput") && Catch::Contains("element 1 is 2.5"));
  CHECK_THAT(error_of(machine(2, true, {1, 1.5, 1.2})),
             Catch::Contains("machine.cpu.smt_throughput") && Catch::Contains("non-decreasing"));
  CHECK_THAT(error_of(machine(2, true, "fast")), Catch::Contains("machine.cpu.smt_throughput"));
  json m = machine(2, true);
  m["cpu"]["smt"] = "yes";
  CHECK_THAT(error_of(m), Catch::Contains("machine.cpu.smt"));
}
