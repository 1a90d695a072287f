// Memory kinds (issue 17, item 1): NUMA nodes of different kinds with their own read and write bandwidth, latency and
// capacity, from the config, presets and defaults by kind, each figure's origin recorded; the engine streams at the
// node's own rates; node capacity (item 6) through Linux's fallback order.
#include <catch2/catch.hpp>

#include "models/memory_capacity.hpp"
#include "models/memory_kinds.hpp"
#include "sim/config.hpp"
#include "sim/engine.hpp"
#include "sim/machine_config.hpp"
#include "test_workload_support.hpp"

using namespace mksim;
using mksim::test::run_checked;

namespace {

// One socket of 4 cores with 8 GiB of DDR (node 0) and a 2 GiB memory-only node of `kind` (node 1).
json two_tier(const std::string& kind, const json& figures = json()) {
  json m = json::parse(R"({"sockets": 1, "cores_per_socket": 4, "freq_ghz": 2.0,
      "memory": {"node_size_gib": 8, "local_latency_ns": 80, "controller_bandwidth_gb_s": 10,
                 "core_bandwidth_gb_s": 100, "core_mlp": 1000}})");
  m["memory"]["memory_nodes"] = json::array({{{"kind", kind}, {"size_gib", 2}}});
  if (!figures.is_null()) m["memory"]["kinds"] = {{kind, figures}};
  return m;
}

Machine machine_of(const json& m) {
  return build_machine(m, "machine", "test.json", ".");
}

// One thread on core 0 streaming 1e8 bytes from (or to) `node`.
double stream_gb_s(const json& machine, int node, const std::string& access = "read") {
  json doc = {{"machine", machine},
              {"workload",
               {{"kind", "stream"},
                {"cores", {0}},
                {"node", {node}},
                {"access", access},
                {"bytes_per_thread", 1e8},
                {"chunk_bytes", 1e7}}}};
  return run_checked(doc)["workload"]["metrics"]["per_thread_bandwidth_gb_s"][0].get<double>();
}

}  // namespace

TEST_CASE("memory kinds: a memory-only node takes its kind's defaults, marked assumed") {
  Machine m = machine_of(two_tier("HBM"));
  REQUIRE(m.num_nodes() == 2);
  CHECK(m.nodes[0].kind == "DRAM");
  CHECK(m.nodes[1].kind == "HBM");
  CHECK_FALSE(m.has_cores(1));
  CHECK(m.nearest_cpu_node(1) == 0);
  CHECK(m.nodes[1].memory_bytes == 2ull << 30);
  const MemoryKindFigures* hbm = memory_kind_defaults("HBM");
  REQUIRE(hbm);
  CHECK(m.nodes[1].read_bandwidth_gb_s() == hbm->read_bandwidth_gb_s);
  CHECK(m.nodes[1].local_latency_ns == hbm->latency_ns);
  // Reached from the cores beside it at its own latency, not over an interconnect hop.
  CHECK(m.mem_latency_ns(0, 1) == hbm->latency_ns);
  CHECK(m.mem_latency_ns(0, 0) == 80);
  CHECK(m.assumed("memory.kinds.HBM.read_bandwidth_gb_s"));
  CHECK(m.assumed("memory.kinds.HBM.latency_ns"));
  // The DRAM node keeps the memory section's figures.
  CHECK(m.nodes[0].controller_bandwidth_gb_s == 10);
  CHECK(m.nodes[0].write_gb_s() == 10);
  const std::string text = machine_summary_text(m);
  CHECK_THAT(text, Catch::Contains("node 1: HBM, package 0, 0 cores, 2.0 GiB"));
  CHECK_THAT(text, Catch::Contains("memory.kinds.HBM.latency_ns"));
  json j = machine_summary_json(m);
  CHECK(j["nodes"][1]["kind"] == "HBM");
}

TEST_CASE("memory kinds: figures given by kind are the config's; hwloc's names map onto the kinds") {
  Machine m = machine_of(two_tier("MCDRAM", {{"read_bandwidth_gb_s", 40}, {"latency_ns", 150}}));
  CHECK(m.nodes[1].kind == "HBM");
  CHECK(m.nodes[1].read_bandwidth_gb_s() == 40);
  CHECK(m.nodes[1].local_latency_ns == 150);
  CHECK(m.provenance.at("memory.kinds.HBM.read_bandwidth_gb_s").origin == Origin::Config);
  CHECK(m.assumed("memory.kinds.HBM.write_bandwidth_gb_s"));
  CHECK(memory_kind_name("pmem") == "NVM");
  CHECK(memory_kind_name("GPUMemory") == "GPUMemory");
}

TEST_CASE("memory kinds: bad memory-node and kind figures are input errors naming their path") {
  auto error_of = [](const json& m) -> std::string {
    try {
      machine_of(m);
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  };
  json m = two_tier("HBM");
  m["memory"]["memory_nodes"][0]["package"] = 3;
  CHECK_THAT(error_of(m), Catch::Contains("machine.memory.memory_nodes[0].package") && Catch::Contains("0..0"));
  m = two_tier("HBM", {{"read_bandwidth_gb_s", -1}});
  CHECK_THAT(error_of(m), Catch::Contains("machine.memory.kinds.HBM.read_bandwidth_gb_s"));
  m = two_tier("HBM");
  m["memory"]["memory_nodes"] = 5;
  CHECK_THAT(error_of(m), Catch::Contains("machine.memory.memory_nodes") && Catch::Contains("expected a list"));
}

TEST_CASE("memory kinds: the Knights Landing flat-mode preset has DDR4 and MCDRAM with their published figures") {
  Machine m = machine_from_argument("knl-7250-flat");
  REQUIRE(m.num_nodes() == 2);
  CHECK(m.num_cores() == 68);
  CHECK(m.pus() == 272);
  CHECK(m.nodes[0].kind == "DRAM");
  CHECK(m.nodes[1].kind == "HBM");
  CHECK(m.nodes[1].memory_bytes == 16ull << 30);
  CHECK(m.nodes[0].memory_bytes == 96ull << 30);
  CHECK(m.nodes[1].read_bandwidth_gb_s() == 490);
  CHECK(m.nodes[0].read_bandwidth_gb_s() == 90);
  CHECK(m.mem_latency_ns(0, 1) == 154);
  CHECK(m.mem_latency_ns(0, 0) == 130);
  CHECK(m.provenance.at("memory.kinds.HBM.read_bandwidth_gb_s").origin == Origin::Preset);
  CHECK_FALSE(m.assumed("memory.kinds.HBM.latency_ns"));
}

TEST_CASE("memory kinds: streaming from an HBM node is faster than from DRAM, writing to NVM slower than reading") {
  const double dram = stream_gb_s(two_tier("HBM", {{"read_bandwidth_gb_s", 40}, {"write_bandwidth_gb_s", 40}}), 0);
  const double hbm = stream_gb_s(two_tier("HBM", {{"read_bandwidth_gb_s", 40}, {"write_bandwidth_gb_s", 40}}), 1);
  CHECK(dram == Approx(10).epsilon(0.01));  // the DRAM controller
  CHECK(hbm == Approx(40).epsilon(0.01));   // the HBM node's own controller, not an interconnect link
  const json nvm = two_tier("NVM", {{"read_bandwidth_gb_s", 6}, {"write_bandwidth_gb_s", 2}});
  CHECK(stream_gb_s(nvm, 1, "read") == Approx(6).epsilon(0.01));
  CHECK(stream_gb_s(nvm, 1, "write") == Approx(2).epsilon(0.01));
  // DRAM reads and writes alike.
  CHECK(stream_gb_s(nvm, 0, "write") == Approx(10).epsilon(0.01));
}

TEST_CASE("capacity: regions that fit keep their shares; a full node spills to the nearest as Linux does") {
  Machine m = machine_of(json::parse(R"({"sockets": 2, "cores_per_socket": 2, "nodes_per_socket": 1,
      "memory": {"node_size_gib": 1}, "interconnect": {"latency_ns": [[80, 130], [130, 80]]}})"));
  std::vector<uint64_t> used(2, 0);
  const uint64_t gib = 1ull << 30;
  Placed a = place_within_capacity(m, {1.0, 0.0}, gib / 2, used, false);
  CHECK(a.error.empty());
  CHECK(a.share == std::vector<double>{1.0, 0.0});
  CHECK(used[0] == gib / 2);
  Placed b = place_within_capacity(m, {1.0, 0.0}, gib, used, false);  // half fits on node 0, half on node 1
  CHECK(b.error.empty());
  CHECK(b.share[0] == Approx(0.5));
  CHECK(b.share[1] == Approx(0.5));
  CHECK(used[0] == gib);
  CHECK(used[1] == gib / 2);
  // Bound to node 0, which is full: no fallback.
  Placed c = place_within_capacity(m, {1.0, 0.0}, gib / 4, used, true);
  CHECK_THAT(c.error, Catch::Contains("NUMA node 0") && Catch::Contains("full") && Catch::Contains("bind"));
  CHECK(used[1] == gib / 2);  // nothing placed
  // More than the machine has left.
  Placed d = place_within_capacity(m, {0.0, 1.0}, gib, used, false);
  CHECK_THAT(d.error, Catch::Contains("out of memory") && Catch::Contains("NUMA node 1") && Catch::Contains("1 GiB"));
  release_placed(b.bytes, used);
  CHECK(used[0] == gib / 2);
  CHECK(used[1] == 0);
}

TEST_CASE("capacity: a stream bound to a full memory-only node fails the run, naming the node and the demand") {
  json machine = two_tier("HBM");  // node 1: 2 GiB of HBM
  json doc = {{"machine", machine},
              {"workload",
               {{"kind", "stream"},
                {"threads", 2},
                {"cores", {0, 1}},
                {"node", {1}},
                {"bytes_per_thread", 1.5 * (1ull << 30)},
                {"chunk_bytes", 1 << 24}}}};
  std::string error;
  try {
    run_isolated(resolve_scenario(doc, "test.json", "."));
  } catch (const InputError& e) {
    error = e.what();
  }
  CHECK_THAT(error, Catch::Contains("NUMA node 1 (HBM, 2 GiB) is full") && Catch::Contains("1.5 GiB"));
  // One such thread fits.
  doc["workload"]["threads"] = 1;
  doc["workload"]["cores"] = {0};
  json r = run_checked(doc);
  CHECK(r["summary"]["status"] == "completed");
}
