#include <fmt/format.h>
#include <hwloc.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "sim/config.hpp"
#include "sim/engine.hpp"
#include "sim/machine_config.hpp"

using namespace mksim;

namespace {

json minimal() {
  return json::parse(R"({"machine": {"sockets": 2, "cores_per_socket": 4},
                         "workload": {"kind": "compute", "threads": 2}})");
}

std::string error_of(const json& doc) {
  try {
    validate_scenario(resolve_scenario(doc, "cfg.json", "."));
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("config: defaults are filled in and written back into the resolved config") {
  Scenario sc = resolve_scenario(minimal(), "cfg.json", ".");
  CHECK(sc.architecture.name == "monolithic");
  CHECK(sc.scheduler.name == "round-robin");
  CHECK(sc.placement.name == "first-touch");
  CHECK(sc.allocator.name == "global-heap");
  CHECK(sc.run.seed == 1);
  CHECK(sc.resolved["kernel"]["monolithic"]["trap_cycles"].get<double>() > 0);
  CHECK(sc.resolved["workload"]["cycles_per_thread"].get<double>() > 0);
  CHECK(sc.resolved["machine"]["memory"]["local_latency_ns"].get<double>() > 0);
  // The resolved config is itself a valid config that resolves to the same thing.
  Scenario again = resolve_scenario(sc.resolved, "resolved.json", ".");
  CHECK(again.resolved == sc.resolved);
}

TEST_CASE("config: errors name the file, the JSON path, what was found and what was expected") {
  auto doc = minimal();
  doc["kernel"]["scheduler"] = "round-robn";
  auto msg = error_of(doc);
  CHECK_THAT(msg, Catch::Contains("cfg.json") && Catch::Contains("kernel.scheduler") &&
                      Catch::Contains("did you mean 'round-robin'"));

  doc = minimal();
  doc["machine"]["sockets"] = "two";
  msg = error_of(doc);
  CHECK_THAT(msg, Catch::Contains("machine.sockets") && Catch::Contains("string \"two\"") &&
                      Catch::Contains("expected an integer"));

  doc = minimal();
  doc["machine"]["memory"] = {{"local_latency_ns", -5}};
  CHECK_THAT(error_of(doc), Catch::Contains("machine.memory.local_latency_ns") && Catch::Contains("greater than 0"));

  doc = minimal();
  doc["workload"]["thread"] = 3;
  CHECK_THAT(error_of(doc), Catch::Contains("workload.thread") && Catch::Contains("did you mean 'threads'"));

  doc = minimal();
  doc["workload"] = json::array({{{"kind", "compute"}}, {{"kind", "strem"}}});
  CHECK_THAT(error_of(doc), Catch::Contains("workload[1].kind") && Catch::Contains("did you mean 'stream'"));

  doc = minimal();
  doc.erase("workload");
  CHECK_THAT(error_of(doc), Catch::Contains("workload") && Catch::Contains("missing"));

  doc = minimal();
  doc["machine"]["interconnect"] = {{"latency_ns", {{80, 130}, {130}}}};
  CHECK_THAT(error_of(doc), Catch::Contains("machine.interconnect.latency_ns[1]") && Catch::Contains("square"));

  doc = minimal();
  doc["machine"]["interconnect"] = {{"distances", {{10, 20, 30}, {20, 10, 30}, {30, 30, 10}}}};
  CHECK_THAT(error_of(doc), Catch::Contains("3x3") && Catch::Contains("expected 2x2"));

  doc = minimal();
  doc["machine"]["interconnect"] = {{"links", {{0, 5}}}};
  CHECK_THAT(error_of(doc), Catch::Contains("machine.interconnect.links[0]") && Catch::Contains("0..1"));

  doc = minimal();
  doc["workload"]["cores"] = {0, 99};
  CHECK_THAT(error_of(doc), Catch::Contains("core 99 does not exist"));

  doc = minimal();
  doc["machine"]["preset"] = "opteron";
  CHECK_THAT(error_of(doc), Catch::Contains("machine.preset") && Catch::Contains("opteron-4s-64c"));

  doc = minimal();
  doc["extra"] = 1;
  CHECK_THAT(error_of(doc), Catch::Contains("unknown section 'extra'"));
}

TEST_CASE("config: invalid JSON gives the line and column") {
  try {
    parse_json_text("{\n  \"machine\": {\n    \"sockets\": 2,\n  }\n}", "bad.json");
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("bad.json: line 4"));
  }
}

TEST_CASE("config: --set overrides any field by dotted path, with JSON or bare-string values") {
  json doc = minimal();
  apply_override(doc, "kernel.scheduler=round-robin");
  apply_override(doc, "machine.memory.local_latency_ns=90.5");
  apply_override(doc, "workload.threads=3");
  CHECK(doc["kernel"]["scheduler"] == "round-robin");
  CHECK(doc["machine"]["memory"]["local_latency_ns"] == 90.5);
  CHECK(doc["workload"]["threads"] == 3);
  doc["workload"] = json::array({{{"kind", "compute"}}, {{"kind", "stream"}}});
  apply_override(doc, "workload[1].threads=4");
  apply_override(doc, "workload.0.threads=2");
  CHECK(doc["workload"][1]["threads"] == 4);
  CHECK(doc["workload"][0]["threads"] == 2);
  CHECK_THROWS_AS(apply_override(doc, "workload.7.threads=1"), InputError);
  CHECK_THROWS_AS(apply_override(doc, "no-equals-sign"), InputError);
  CHECK_THROWS_AS(apply_override(doc, "kernel.scheduler.x=1"), InputError);
}

TEST_CASE("config: --set machine.preset or machine.hwloc replaces the machine description, not merges into it") {
  // A hand-written 1-node machine with its own 1x1 latency matrix (as configs/trace-replay.json has clocks and cores).
  json doc = json::parse(R"({"machine": {"sockets": 1, "cores_per_socket": 4, "freq_ghz": 2.5,
                                         "interconnect": {"latency_ns": [[90]]}},
                             "workload": {"kind": "compute", "threads": 2}})");
  json chosen = doc;
  apply_override(chosen, "machine.preset=server-2s");
  CHECK(chosen["machine"] == json{{"preset", "server-2s"}});
  Scenario sc = resolve_scenario(chosen, "cfg.json", ".");
  Machine preset = build_machine(json{{"preset", "server-2s"}}, "machine", "t", ".");
  CHECK(sc.machine.num_cores() == preset.num_cores());
  CHECK(sc.machine.num_nodes() == 2);
  CHECK(sc.machine.interconnect.latency_ns == preset.interconnect.latency_ns);
  CHECK(sc.machine.cores[0].freq_ghz == Approx(2.1));  // the preset's clock, not the old 2.5
  // A field set beside the choice overrides the chosen machine, whichever order the assignments come in.
  for (const auto& sets : {std::vector<std::string>{"machine.preset=server-2s", "machine.freq_ghz=3"},
                           std::vector<std::string>{"machine.freq_ghz=3", "machine[preset]=server-2s"}}) {
    json d = doc;
    apply_overrides(d, sets);
    Scenario s = resolve_scenario(d, "cfg.json", ".");
    CHECK(s.machine.num_nodes() == 2);
    CHECK(s.machine.cores[0].freq_ghz == Approx(3));
  }
  // hwloc replaces a preset the same way (no "give either 'preset' or 'hwloc'" from the old description).
  json h = json::parse(R"({"machine": {"preset": "opteron-4s-64c", "memory": {"local_latency_ns": 70}}})");
  apply_override(h, "machine.hwloc=topo.xml");
  CHECK(h["machine"] == json{{"hwloc", "topo.xml"}});
  // Other machine fields still merge into the description.
  apply_override(h, "machine.memory.local_latency_ns=99");
  CHECK(h["machine"]["hwloc"] == "topo.xml");
  CHECK(h["machine"]["memory"]["local_latency_ns"] == 99);
}

TEST_CASE("config: relative paths resolve against the config file's folder") {
  CHECK(resolve_path("topo.xml", "/a/b") == "/a/b/topo.xml");
  CHECK(resolve_path("../t/x.xml", "/a/b") == "/a/t/x.xml");
  CHECK(resolve_path("/abs.xml", "/a/b") == "/abs.xml");
  // A config in a folder naming a hwloc file relative to itself.
  auto dir = std::filesystem::temp_directory_path() / "mksim-test-rel";
  std::filesystem::create_directories(dir / "topo");
  std::filesystem::copy_file(MKSIM_SOURCE_DIR "/data/realdata/hwloc/64amd64-4p2n4ca2co.xml", dir / "topo" / "r815.xml",
                             std::filesystem::copy_options::overwrite_existing);
  json doc = {{"machine", {{"hwloc", "topo/r815.xml"}}}, {"workload", {{"kind", "compute"}}}};
  Scenario sc = resolve_scenario(doc, (dir / "c.json").string(), dir.string());
  CHECK(sc.machine.num_cores() == 64);
  CHECK(sc.machine.num_nodes() == 8);
}

TEST_CASE("machine: the short uniform form builds a machine of any size") {
  Machine m = build_machine(json::parse(R"({"sockets": 16, "cores_per_socket": 64, "nodes_per_socket": 1})"), "machine",
                            "t", ".");
  CHECK(m.num_cores() == 1024);
  CHECK(m.num_nodes() == 16);
  CHECK(m.packages == 16);
  CHECK(m.cores[64].node == 1);
  CHECK(m.cores[64].package == 1);
  // Hop model: local latency plus one hop for every remote node of a full mesh.
  CHECK(m.interconnect.latency_ns[0][0] == Approx(80));
  CHECK(m.interconnect.latency_ns[0][5] == Approx(130));
  CHECK(m.interconnect.hops[0][5] == 1);
}

TEST_CASE("machine: a ring topology makes hops and latency grow with distance") {
  Machine m = build_machine(json::parse(R"({"sockets": 8, "cores_per_socket": 2,
      "interconnect": {"topology": "ring", "hop_latency_ns": 40}})"),
                            "machine", "t", ".");
  CHECK(m.interconnect.hops[0][1] == 1);
  CHECK(m.interconnect.hops[0][4] == 4);
  CHECK(m.interconnect.latency_ns[0][4] == Approx(80 + 4 * 40));
}

TEST_CASE("machine: SLIT distances convert to latencies as local x d / 10") {
  Machine m = build_machine(json::parse(R"({"sockets": 2, "cores_per_socket": 2,
      "memory": {"local_latency_ns": 100}, "interconnect": {"distances": [[10, 21], [21, 10]]}})"),
                            "machine", "t", ".");
  CHECK(m.interconnect.latency_ns[0][1] == Approx(210));
  CHECK(m.interconnect.latency_ns[1][1] == Approx(100));
}

TEST_CASE("machine: preset fields can be overridden beside the preset") {
  Machine base = build_machine(json{{"preset", "server-2s"}}, "machine", "t", ".");
  Machine m = build_machine(json::parse(R"({"preset": "server-2s", "memory": {"controller_bandwidth_gb_s": 50}})"),
                            "machine", "t", ".");
  CHECK(m.nodes[0].controller_bandwidth_gb_s == Approx(50));
  CHECK(base.nodes[0].controller_bandwidth_gb_s == Approx(100));
  CHECK(m.num_cores() == base.num_cores());
  CHECK(m.interconnect.latency_ns == base.interconnect.latency_ns);
}

TEST_CASE("machine: every preset builds and is consistent") {
  for (const char* name : {"server-2s", "opteron-4s-64c", "desktop-1s"}) {
    Machine m = build_machine(json{{"preset", name}}, "machine", "t", ".");
    INFO(name);
    CHECK(m.check().empty());
    CHECK(m.num_cores() > 0);
    CHECK(!m.caches.empty());
  }
  Machine op = build_machine(json{{"preset", "opteron-4s-64c"}}, "machine", "t", ".");
  CHECK(op.num_cores() == 64);
  CHECK(op.num_nodes() == 8);
  CHECK(op.packages == 4);
}

TEST_CASE("machine: every real hwloc file loads through a config, with hwloc's structure and config numbers") {
  namespace fs = std::filesystem;
  int files = 0;
  for (const auto& e : fs::directory_iterator(MKSIM_SOURCE_DIR "/data/realdata/hwloc")) {
    if (e.path().extension() != ".xml") continue;
    INFO(e.path().string());
    Machine m =
        build_machine(json{{"hwloc", e.path().string()}, {"memory", {{"local_latency_ns", 90}}}}, "machine", "t", ".");
    CHECK(m.check().empty());
    CHECK(m.num_cores() > 0);
    // The memory section's figures are those of its kind (DRAM); other kinds (the heteromem file's HBM) keep theirs.
    for (const auto& n : m.nodes)
      if (n.kind == "DRAM") CHECK(n.local_latency_ns == Approx(90));
    ++files;
  }
  CHECK(files >= 11);
  Machine uv =
      build_machine(json{{"hwloc", MKSIM_SOURCE_DIR "/data/realdata/hwloc/192em64t-24n8c2t.xml"}}, "machine", "t", ".");
  CHECK(uv.num_nodes() == 24);
  CHECK(uv.num_cores() == 192);
  CHECK(uv.pus() == 384);
  // SLIT 10/50 from the file: remote = 5x local.
  double ratio_max = 0;
  for (int j = 1; j < 24; ++j)
    ratio_max = std::max(ratio_max, uv.interconnect.latency_ns[0][j] / uv.interconnect.latency_ns[0][0]);
  CHECK(ratio_max == Approx(7.9));
  CHECK_THROWS_WITH(build_machine(json{{"hwloc", "x.xml"}, {"sockets", 2}}, "machine", "t", "."),
                    Catch::Contains("machine.sockets") && Catch::Contains("cannot be combined"));
}

namespace {

// This host's topology exported by libhwloc as `lstopo --disallowed --of xml FILE` would write it.
std::string export_this_host(const std::filesystem::path& file) {
  hwloc_topology_t t;
  REQUIRE(hwloc_topology_init(&t) == 0);
  hwloc_topology_set_flags(t, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
  REQUIRE(hwloc_topology_load(t) == 0);
  REQUIRE(hwloc_topology_export_xml(t, file.c_str(), 0) == 0);
  hwloc_topology_destroy(t);
  return file.string();
}

// A summary without its first line (the name and where it came from) and the line naming the file or discovery.
std::string summary_body(const Machine& m) {
  std::istringstream in(machine_summary_text(m));
  std::string line, out;
  std::getline(in, line);
  while (std::getline(in, line))
    if (line.find("read from: ") == std::string::npos) out += line + "\n";
  return out;
}

}  // namespace

TEST_CASE("machine: this host has one description, discovered or exported by hwloc and read back") {
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("mksim-test-host-{}", getpid());
  std::filesystem::create_directories(dir);
  const std::string xml = export_this_host(dir / "host.xml");
  Machine discovered = machine_from_argument("--this-host");
  Machine read_back = machine_from_argument(xml);
  std::filesystem::remove_all(dir);
  CHECK(summary_body(discovered) == summary_body(read_back));
  json a = machine_summary_json(discovered), b = machine_summary_json(read_back);
  for (auto* j : {&a, &b}) {
    j->erase("name");
    j->erase("source");
    for (auto& [path, pv] : (*j)["provenance"].items())
      if (pv["origin"] == "file") pv["source"] = "";  // the file's name or "hwloc discovery of this host"
  }
  CHECK(a == b);
  // Neither discovery nor an XML export gives a clock or hit latencies: they are marked as assumptions.
  CHECK(discovered.assumed("freq_ghz"));
  CHECK(discovered.assumed("caches.l1.latency_cycles"));
  CHECK(discovered.assumed("memory.controller_bandwidth_gb_s"));
  CHECK(discovered.provenance.at("caches.l1.size_kib").origin == Origin::File);
  CHECK(discovered.provenance.at("memory.node_size_gib").origin == Origin::File);
}

TEST_CASE("machine: each figure records where it comes from, and the summary marks the assumed ones") {
  // A preset: its own figures cite its sources; what it leaves out (the CPU costs) is assumed.
  Machine preset = build_machine(json{{"preset", "server-2s"}}, "machine", "cfg.json", ".");
  CHECK(preset.provenance.at("freq_ghz").origin == Origin::Preset);
  CHECK_THAT(preset.provenance.at("freq_ghz").source, Catch::Contains("server-2s") && Catch::Contains("Intel"));
  CHECK(preset.provenance.at("interconnect.latency_ns").origin == Origin::Preset);
  CHECK(preset.assumed("cpu.kernel_entry_exit_cycles"));
  CHECK(!preset.assumed("caches.l2.latency_cycles"));
  std::string text = machine_summary_text(preset);
  CHECK_THAT(text, Catch::Contains("clock 2.10 GHz\n") && Catch::Contains("14 cycles,") &&
                       Catch::Contains("kernel entry+exit 60 cycles*") && Catch::Contains("* assumed") &&
                       Catch::Contains("cpu.kernel_entry_exit_cycles"));
  json j = machine_summary_json(preset);
  CHECK(j["provenance"]["freq_ghz"]["origin"] == "preset");
  const auto assumed = j["assumed"].get<std::vector<std::string>>();
  CHECK(std::count(assumed.begin(), assumed.end(), "cpu.page_walk_cycles") == 1);
  CHECK(std::count(assumed.begin(), assumed.end(), "freq_ghz") == 0);

  // A description: what the user wrote is the config's, the rest is assumed; overriding an assumption removes its mark.
  Machine desc = build_machine(json::parse(R"({"sockets": 2, "cores_per_socket": 4, "freq_ghz": 3,
                                               "caches": {"l3": {"size_kib": 0}}})"),
                               "machine", "cfg.json", ".");
  CHECK(desc.provenance.at("freq_ghz").origin == Origin::Config);
  CHECK(desc.provenance.at("freq_ghz").source == "cfg.json");
  CHECK(desc.assumed("caches.l2.latency_cycles"));
  CHECK(desc.assumed("interconnect.latency_ns"));                 // the hop model's numbers
  CHECK(desc.provenance.count("caches.l3.latency_cycles") == 0);  // no L3: nothing to assume about it
  CHECK_THAT(machine_summary_text(desc), Catch::Contains("clock 3.00 GHz\n") && Catch::Contains("14 cycles*"));
  Machine told = build_machine(json::parse(R"({"sockets": 2, "cores_per_socket": 4, "freq_ghz": 3,
                                               "caches": {"l2": {"latency_cycles": 12}}})"),
                               "machine", "cfg.json", ".");
  CHECK(!told.assumed("caches.l2.latency_cycles"));
  CHECK_THAT(machine_summary_text(told), Catch::Contains("12 cycles,"));

  // One NUMA node: no interconnect figures to assume.
  Machine one = build_machine(json{{"cores_per_socket", 2}}, "machine", "cfg.json", ".");
  for (const auto& [path, pv] : one.provenance) CHECK(path.rfind("interconnect.", 0) != 0);
}

TEST_CASE("machine: the summary shows what taking a line another core modified costs, by where that core is") {
  // The Multikernel paper's 2x4-core Intel: two cores of a die share an L2 (14 cycles at 2.66 GHz), the two dies of a
  // package share the front-side bus (105 ns loads, of which the DRAM's part is 30 ns), the sockets join through the
  // chipset.
  Machine m = machine_from_argument("intel-2x4-2009");
  json j = machine_summary_json(m);
  REQUIRE(j["line_transfer_to_core0_ns"].size() == 3);
  CHECK(j["line_transfer_to_core0_ns"][0]["owner"] == "sharing its L2");
  CHECK(j["line_transfer_to_core0_ns"][0]["ns"].get<double>() == Approx(2 * 14 / 2.66));
  CHECK(j["line_transfer_to_core0_ns"][1]["owner"] == "node 0 without a shared cache");
  CHECK(j["line_transfer_to_core0_ns"][1]["ns"].get<double>() == Approx(105 - 30 + 14 / 2.66));
  CHECK(j["line_transfer_to_core0_ns"][2]["owner"] == "node 1");
  CHECK(j["line_transfer_to_core0_ns"][2]["ns"].get<double>() == Approx(105));
  CHECK(j["dram_access_ns"] == 30);
  CHECK_THAT(machine_summary_text(m), Catch::Contains("line transfers to core 0 (a line another core modified; DRAM "
                                                      "part 30 ns): sharing its L2 10.5 ns, node 0 without a shared "
                                                      "cache 80.3 ns, node 1 105.0 ns\n"));
}
