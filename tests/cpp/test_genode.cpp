// Tests of the `genode` workload: components land on the cores of their affinity rectangles (the affinity space laid
// row-major over the machine), see only those cores, carry their start names and live within their RAM quanta; the
// example scenario runs; bad XML and bad component definitions are InputErrors that name the XML file and line or
// the config's JSON path (workload.binaries.NAME...).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "sim/config.hpp"
#include "sim/engine.hpp"

using namespace mksim;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("mksim-genode-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = (path / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
};

json eight_cores() {
  return {{"sockets", 2}, {"cores_per_socket", 4}, {"freq_ghz", 2.0}};
}

json genode_doc(const std::string& xml, json binaries, json machine = eight_cores()) {
  return {{"machine", machine}, {"workload", {{"kind", "genode"}, {"file", xml}, {"binaries", binaries}}}};
}

json compute(int threads) {
  return {{"kind", "compute"}, {"threads", threads}, {"cycles_per_thread", 2e5}};
}

// The error a config gives when run: "file | where | message", or "" when it runs.
struct Failure {
  std::string file, where, what;
};
Failure failure(const json& doc) {
  try {
    run_isolated(resolve_scenario(doc, "genode.json", "."));
  } catch (const InputError& e) {
    return {e.file(), e.where(), e.what()};
  }
  return {};
}

const char* kThree = R"(<config>
  <affinity-space width="4" height="2"/>
  <start name="left"><binary name="worker"/><affinity xpos="0" ypos="0" width="2" height="1"/>
    <resource name="RAM" quantum="4M"/></start>
  <start name="right"><binary name="worker"/>
    <affinity xpos="2" ypos="0" width="2" height="2"/><resource name="RAM" quantum="4M"/></start>
  <start name="mem"><resource name="RAM" quantum="2M"/></start>
</config>
)";

}  // namespace

TEST_CASE("genode: components run on the cores of their affinity rectangles, within their RAM quanta") {
  TempDir dir;
  const std::string xml = dir.write("three.xml", kThree);
  json bins = {{"worker", compute(0)},  // one thread per core of the component
               {"mem", {{"kind", "stream"}, {"threads", 1}, {"bytes_per_thread", 1 << 20}}}};
  json r = run_isolated(resolve_scenario(genode_doc(xml, bins), "genode.json", ".")).doc;
  REQUIRE(r["summary"]["status"] == "completed");
  const json& m = r["workload"]["metrics"];
  CHECK(m["components"] == 3);
  CHECK(m["left.cores"] == 2);   // cells 0, 1 of 8 on 8 cores: cores 0, 1
  CHECK(m["right.cores"] == 4);  // cells 2, 3, 6, 7: cores 2, 3, 6, 7
  CHECK(m["mem.cores"] == 8);    // no <affinity>: the whole space
  CHECK(m["mem.ram_quantum_bytes"] == 2 << 20);
  CHECK(m["mem.region_bytes"] == 1 << 20);
  CHECK(m["left.ram_quantum_bytes"] == 4 << 20);
  CHECK(m.contains("left.makespan_s"));  // the compute workload's own metrics, under the start name
  CHECK(m.contains("mem.bandwidth_gb_s"));
  std::map<std::string, std::set<int>> cores;
  std::map<std::string, int> threads;
  for (const auto& t : r["threads"]) {
    const std::string name = t["name"];
    const std::string comp = name.substr(0, name.find('/'));
    CHECK(t["process"] == comp);
    cores[comp].insert(t["last_core"].get<int>());
    ++threads[comp];
  }
  CHECK(threads["left"] == 2);
  CHECK(threads["right"] == 4);
  CHECK(cores["left"] == std::set<int>{0, 1});
  CHECK(cores["right"] == std::set<int>{2, 3, 6, 7});
  CHECK(threads["mem"] == 1);
}

TEST_CASE("genode: a larger affinity space than cores shares cores between cells") {
  TempDir dir;
  const std::string xml = dir.write("wide.xml", R"(<config><affinity-space width="8" height="2"/>
    <start name="a"><affinity xpos="0" ypos="1" width="4" height="1"/></start>
    <start name="b"><affinity xpos="7" ypos="0" width="1" height="1"/></start></config>)");
  json machine = {{"sockets", 1}, {"cores_per_socket", 4}};
  json r = run_isolated(
               resolve_scenario(genode_doc(xml, {{"a", compute(0)}, {"b", compute(0)}}, machine), "genode.json", "."))
               .doc;
  REQUIRE(r["summary"]["status"] == "completed");
  std::map<std::string, std::set<int>> cores;
  for (const auto& t : r["threads"]) cores[t["process"]].insert(t["last_core"].get<int>());
  CHECK(cores["a"] == std::set<int>{2});  // cells 8..11 of 16 on 4 cores: the third quarter
  CHECK(cores["b"] == std::set<int>{1});  // cell 7
}

TEST_CASE("genode: the example scenario runs two instances on disjoint halves") {
  json r = run_isolated(load_scenario(MKSIM_SOURCE_DIR "/configs/genode-two-instances.json")).doc;
  REQUIRE(r["summary"]["status"] == "completed");
  std::map<std::string, std::set<int>> cores;
  for (const auto& t : r["threads"]) cores[t["process"]].insert(t["last_core"].get<int>());
  CHECK(cores["ycsb_kv_1"] == std::set<int>{0, 1, 2, 3});
  CHECK(cores["ycsb_kv_2"] == std::set<int>{4, 5, 6, 7});
  const json& m = r["workload"]["metrics"];
  CHECK(m["ycsb_kv_1.region_bytes"].get<double>() <= m["ycsb_kv_1.ram_quantum_bytes"].get<double>());
  CHECK(m["ycsb_kv_1.ops_per_s"].get<double>() > 0);
  CHECK(m["ycsb_kv_2.ops_per_s"].get<double>() > 0);
}

TEST_CASE("genode: bad XML is an InputError with the XML file and line") {
  TempDir dir;
  json bins = {{"worker", compute(1)}};
  auto xml_error = [&](const std::string& text) {
    const std::string xml = dir.write("bad.xml", text);
    Failure f = failure(genode_doc(xml, bins));
    CHECK(f.file == xml);
    return f;
  };
  CHECK(xml_error("<config>\n  <start name=\"w\"><binary name=\"worker\"/>\n  </stat>\n</config>\n").where ==
        "line 3, column 5");  // mismatched end tag
  CHECK(xml_error("<config>\n<start name=\"w\"><binary name=\"worker\"/></start>\n").where.rfind("line ", 0) == 0);
  CHECK(xml_error("").where.rfind("line 1", 0) == 0);  // empty file
  CHECK(xml_error(std::string("\x7f"
                              "ELF\x02\x01\0\0\x03",
                              9))
            .where.rfind("line 1", 0) == 0);                // binary garbage
  CHECK(xml_error("<init>\n</init>\n").where == "line 1");  // not a <config>
  CHECK(xml_error("<config>\n</config>\n").what.find("no <start>") != std::string::npos);
  CHECK(xml_error("<config>\n\n<start><binary name=\"worker\"/></start></config>").where == "line 3");  // no name
  CHECK(xml_error("<config><start name=\"w\"/>\n<start name=\"w\"/></config>").where == "line 2");      // twice
  CHECK(xml_error("<config><affinity-space width=\"2\" height=\"1\"/>\n<start name=\"w\"><binary name=\"worker\"/>"
                  "\n<affinity xpos=\"1\" ypos=\"0\" width=\"2\" height=\"1\"/></start></config>")
            .where == "line 3");  // leaves the space
  CHECK(xml_error("<config><affinity-space width=\"two\"/><start name=\"w\"/></config>").where == "line 1");
  Failure q = xml_error(
      "<config>\n<start name=\"w\"><binary name=\"worker\"/>\n<resource name=\"RAM\" "
      "quantum=\"64Q\"/></start></config>");
  CHECK(q.where == "line 3");
  CHECK(q.what.find("64Q") != std::string::npos);
  Failure unknown = xml_error("<config>\n<start name=\"w\"><binary name=\"wroker\"/></start></config>");
  CHECK(unknown.where == "line 2");
  CHECK(unknown.what.find("did you mean 'worker'") != std::string::npos);
}

TEST_CASE("genode: bad component definitions name their JSON path in the config") {
  TempDir dir;
  const std::string xml = dir.write("one.xml", R"(<config>
  <affinity-space width="2" height="1"/>
  <start name="kv"><binary name="ycsb_kv"/><affinity xpos="0" ypos="0" width="1" height="1"/>
    <resource name="RAM" quantum="1M"/></start>
</config>)");
  auto err = [&](json def) { return failure(genode_doc(xml, {{"ycsb_kv", def}})); };
  Failure f = err({{"kind", "compute"}, {"threads", -1}});
  CHECK(f.file == "genode.json");
  CHECK(f.where == "workload.binaries.ycsb_kv.threads");
  CHECK(err({{"kind", "compute"}, {"thraeds", 2}}).where == "workload.binaries.ycsb_kv.thraeds");
  CHECK(err({{"kind", "compuet"}}).where == "workload.binaries.ycsb_kv.kind");
  CHECK(err({{"threads", 2}}).where == "workload.binaries.ycsb_kv.kind");
  CHECK(err({{"kind", "genode"}}).where == "workload.binaries.ycsb_kv.kind");
  // The component has one cell of two, cores 0-3 of the machine's 8, which it sees as 0-3: its core 4 does not exist.
  CHECK(err({{"kind", "compute"}, {"threads", 1}, {"cores", {3}}}).where.empty());
  CHECK(err({{"kind", "compute"}, {"threads", 1}, {"cores", {4}}}).where == "workload.binaries.ycsb_kv.cores");
  // 4 MiB of buffer in a 1 MiB quantum: an error at the component's <start>.
  Failure ram = err({{"kind", "stream"}, {"bytes_per_thread", 4 << 20}});
  CHECK(ram.file == xml);
  CHECK(ram.where == "line 3");
  CHECK(ram.what.find("RAM quantum") != std::string::npos);
  // Unless the quantum is not enforced.
  json lax = genode_doc(xml, {{"ycsb_kv", {{"kind", "stream"}, {"bytes_per_thread", 4 << 20}}}});
  lax["workload"]["enforce_ram"] = false;
  CHECK(failure(lax).where.empty());
  // A definition for a binary the XML does not run.
  Failure extra = failure(genode_doc(xml, {{"ycsb_kv", compute(1)}, {"nic_drv", compute(1)}}));
  CHECK(extra.where == "workload.binaries.nic_drv");
  // Missing parameters and files.
  json no_file = genode_doc(xml, {{"ycsb_kv", compute(1)}});
  no_file["workload"].erase("file");
  CHECK(failure(no_file).where == "workload.file");
  CHECK(failure(genode_doc(xml + ".missing", {{"ycsb_kv", compute(1)}})).where == "workload.file");
  json no_bins = genode_doc(xml, json::object());
  no_bins["workload"].erase("binaries");
  CHECK(failure(no_bins).where == "workload.binaries");
  CHECK_THROWS_AS(resolve_scenario(genode_doc(xml, json::array({1})), "genode.json", "."), InputError);
}
