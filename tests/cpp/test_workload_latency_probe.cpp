// latency-probe: the matrix it measures is the machine's own latency matrix (preset, explicit matrix), per node and
// per core, and bad parameters give errors that say what is wrong.
#include "test_workload_support.hpp"

using namespace mksim;
using namespace mksim::test;

namespace {

void check_matrix(const json& got, const std::vector<std::vector<double>>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    REQUIRE(got[i].size() == want[i].size());
    for (size_t j = 0; j < want.size(); ++j) {
      INFO("accessing node " << i << ", memory node " << j);
      CHECK(got[i][j].get<double>() == Approx(want[i][j]).epsilon(1e-9));
    }
  }
}

void check_summary(const json& m, const std::vector<std::vector<double>>& want) {
  double local = 0, remote = 0;
  const size_t n = want.size();
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) (i == j ? local : remote) += want[i][j];
  CHECK(metric(m, "local_latency_ns") == Approx(local / n));
  CHECK(metric(m, "mean_remote_latency_ns") == Approx(remote / (n * n - n)));
}

}  // namespace

TEST_CASE("latency-probe: measures the opteron-4s-64c preset's latency matrix") {
  json doc = {{"machine", {{"preset", "opteron-4s-64c"}}}, {"workload", {{"kind", "latency-probe"}}}};
  const auto want = resolve_scenario(doc, "test", ".").machine.interconnect.latency_ns;
  REQUIRE(want.size() == 8);
  json m = run_metrics(doc);
  check_matrix(m["latency_ns"], want);
  check_summary(m, want);
  CHECK(metric(m, "mean_remote_latency_ns") > metric(m, "local_latency_ns"));
}

TEST_CASE("latency-probe: returns an explicit machine.interconnect.latency_ns, per node and per core") {
  // Asymmetric, so that a transposed matrix would show.
  const std::vector<std::vector<double>> want = {{70, 140, 190}, {150, 90, 145}, {200, 160, 75}};
  json machine = small_machine(3, 2);
  machine["interconnect"] = {{"latency_ns", want}};
  json doc = {{"machine", machine}, {"workload", {{"kind", "latency-probe"}, {"buffer_bytes", 64e6}}}};
  json m = run_metrics(doc);
  check_matrix(m["latency_ns"], want);
  check_summary(m, want);

  doc["workload"]["source"] = "core";
  m = run_metrics(doc);
  check_matrix(m["latency_ns"], want);
  REQUIRE(m["core_latency_ns"].size() == 6);
  for (int core = 0; core < 6; ++core) {
    INFO("core " << core);
    CHECK(m["probe_cores"][core] == core);
    for (int node = 0; node < 3; ++node)
      CHECK(m["core_latency_ns"][core][node].get<double>() == Approx(want[core / 2][node]));
  }

  doc["workload"] = {{"kind", "latency-probe"}, {"probe_cores", {1, 3, 5}}, {"buffer_bytes", 64e6}};
  check_matrix(run_metrics(doc)["latency_ns"], want);
}

TEST_CASE("latency-probe: bad parameters are errors that say what is wrong") {
  json doc = {{"machine", small_machine(2, 2)}, {"workload", {{"kind", "latency-probe"}, {"buffer_bytes", 1e6}}}};
  CHECK_THAT(setup_error(doc), Catch::Contains("workload.buffer_bytes") && Catch::Contains("last-level cache"));
  doc["workload"] = {{"kind", "latency-probe"}, {"probe_cores", {0, 1}}};
  CHECK_THAT(setup_error(doc), Catch::Contains("workload.probe_cores") && Catch::Contains("core 1 is on NUMA node 0"));
  doc["workload"] = {{"kind", "latency-probe"}, {"probe_cores", {0}}};
  CHECK_THAT(setup_error(doc), Catch::Contains("one per NUMA node (2)"));
  doc["workload"] = {{"kind", "latency-probe"}, {"probe_cores", {0, 9}}};
  CHECK_THAT(setup_error(doc), Catch::Contains("core 9 does not exist"));
}

TEST_CASE("latency-probe: a load waits behind the streams that saturate its node's memory (loaded latency)") {
  // Node 0's controller: 10 GB/s. A stream keeps 10 lines in flight over the 100 ns idle latency: 6.4 GB/s.
  json machine = small_machine(2, 4);
  machine["memory"] = {{"controller_bandwidth_gb_s", 10}, {"core_bandwidth_gb_s", 50}, {"core_mlp", 10}};
  machine["interconnect"] = {{"latency_ns", {{100, 150}, {150, 100}}}};
  auto doc_with_streams = [&](int streams) {
    json load = {{"kind", "stream"},      {"threads", streams},      {"cores", json::array()},
                 {"node", json::array()}, {"bytes_per_thread", 2e9}, {"chunk_bytes", 8388608}};
    for (int i = 0; i < streams; ++i) load["cores"].push_back(1 + i), load["node"].push_back(0);
    json probe = {{"kind", "latency-probe"}, {"name", "probe"}, {"buffer_bytes", 64e6}, {"probe_cores", {0, 4}}};
    return json{{"machine", machine}, {"workload", {probe, load}}};
  };
  auto run = [&](int streams) { return run_isolated(resolve_scenario(doc_with_streams(streams), "test", ".")).doc; };
  // Each node's memory serves the chases of both probe cores: 2 x 64e6 / 64 loads that wait for their line alone.
  const double loads = 2 * 64e6 / 64;
  // One stream: 6.4 GB/s of 10, nothing waits.
  json r = run(1);
  CHECK(r["workload"]["metrics"]["probe"]["latency_ns"][0][0].get<double>() == Approx(100).epsilon(1e-3));
  CHECK(r["memory"][0]["latency_bound_loads"].get<double>() == loads);
  CHECK(r["memory"][0]["mean_load_wait_ns"].get<double>() == 0);
  // Three streams ask 19.2 GB/s: each gets 3.3 GB/s and keeps the rest of its 640 bytes queued at the controller, so
  // a load takes 3 x 640 B / 10 GB/s = 192 ns in all (the closed loop's response time); node 1's memory is not loaded.
  r = run(3);
  const json& m = r["workload"]["metrics"];
  CHECK(m["probe"]["latency_ns"][0][0].get<double>() == Approx(3 * 640 / 10.0).epsilon(2e-3));
  CHECK(m["probe"]["latency_ns"][0][1].get<double>() == Approx(150).epsilon(1e-3));
  // results.json's memory table says so: node 0's loads waited (92 ns each while the streams ran), node 1's did not.
  CHECK(r["memory"][0]["latency_bound_loads"].get<double>() == loads);
  CHECK(r["memory"][0]["mean_load_wait_ns"].get<double>() > 40);
  CHECK(r["memory"][0]["mean_load_wait_ns"].get<double>() <= Approx(92));
  CHECK(r["memory"][1]["mean_load_wait_ns"].get<double>() == 0);
}
