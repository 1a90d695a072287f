// Tests of the hwloc topology importer against real hwloc exports (data/realdata/hwloc, see SOURCES.md there):
// exact counts, cache sharing, NUMA distances in dense node order, the 3.0-format workaround, and errors for bad files.
#include <hwloc.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "sim/api/params.hpp"
#include "sim/hwloc_import.hpp"

namespace fs = std::filesystem;
using mksim::import_hwloc_xml;
using mksim::ImportedTopology;
using mksim::InputError;

namespace {

fs::path realdata_dir() {
  return fs::path(MKSIM_SOURCE_DIR "/data/realdata/hwloc");
}

std::string realdata(const std::string& name) {
  const fs::path dir = realdata_dir();
  REQUIRE(fs::is_directory(dir));
  return (dir / name).string();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A file in the temp directory, removed when the test ends.
struct TempFile {
  fs::path path;
  explicit TempFile(const std::string& name, const std::string& content) {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("mksim-hwloc-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + name);
    std::ofstream out(path, std::ios::binary);
    out << content;
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path, ec);
  }
  std::string str() const { return path.string(); }
};

std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

bool has_note(const ImportedTopology& t, const std::string& part) {
  return std::any_of(t.notes.begin(), t.notes.end(), [&](const std::string& n) { return n.find(part) != n.npos; });
}

std::set<double> slit_values(const ImportedTopology& t) {
  std::set<double> v;
  for (const auto& row : t.slit) v.insert(row.begin(), row.end());
  return v;
}

// Number of cache instances of `level` and how many cores each is shared by.
std::map<size_t, int> sharing(const mksim::Machine& m, int level) {
  std::map<size_t, int> out;
  for (const auto& c : m.caches)
    if (c.level == level) out[c.cores.size()]++;
  return out;
}

int cores_on_node(const mksim::Machine& m, int node) {
  return static_cast<int>(std::count_if(m.cores.begin(), m.cores.end(), [&](const auto& c) { return c.node == node; }));
}

// Structural invariants every import must satisfy, whatever the machine.
void check_structure(const ImportedTopology& t) {
  const mksim::Machine& m = t.machine;
  REQUIRE(m.num_cores() > 0);
  REQUIRE(m.num_nodes() > 0);
  CHECK(m.pus() >= m.num_cores());
  for (int i = 0; i < m.num_cores(); ++i) {
    const auto& c = m.cores[i];
    CHECK(c.id == i);
    CHECK(c.hw_threads >= 1);
    CHECK(static_cast<int>(c.pu_os_index.size()) == c.hw_threads);
    CHECK(c.package >= 0);
    CHECK(c.package < m.packages);
    CHECK(c.die >= 0);
    CHECK(c.die < m.dies);
    CHECK(c.node >= 0);
    CHECK(c.node < m.num_nodes());
    for (size_t k = 0; k < c.caches.size(); ++k) {
      const auto& cache = m.caches.at(c.caches[k]);
      CHECK(std::find(cache.cores.begin(), cache.cores.end(), i) != cache.cores.end());
      if (k > 0) CHECK(m.caches[c.caches[k - 1]].level < cache.level);
    }
  }
  for (const auto& cache : m.caches) {
    CHECK(!cache.cores.empty());
    CHECK(cache.level >= 1);
    CHECK(cache.line_bytes > 0);
  }
  for (int i = 0; i < m.num_nodes(); ++i) {
    CHECK(m.nodes[i].id == i);
    CHECK(m.nodes[i].package < m.packages);
  }
  std::set<int> pus;
  for (const auto& c : m.cores) pus.insert(c.pu_os_index.begin(), c.pu_os_index.end());
  CHECK(static_cast<int>(pus.size()) == m.pus());  // no PU counted twice
  if (!t.slit.empty()) {
    REQUIRE(static_cast<int>(t.slit.size()) == m.num_nodes());
    for (int i = 0; i < m.num_nodes(); ++i) {
      REQUIRE(static_cast<int>(t.slit[i].size()) == m.num_nodes());
      CHECK(t.slit[i][i] == 10);
      for (int j = 0; j < m.num_nodes(); ++j)
        if (j != i) CHECK(t.slit[i][j] >= 10);
    }
  }
  // Once the caller adds latencies, the machine must be a valid one.
  mksim::Machine filled = m;
  if (t.slit.empty()) {
    const size_t n = filled.nodes.size();
    filled.interconnect.latency_ns.assign(n, std::vector<double>(n, 100));
  } else {
    filled.interconnect.latency_ns = mksim::latencies_from_slit(t.slit, filled.nodes);
  }
  CHECK(filled.check() == "");
}

// Runs f with stderr redirected to a file and returns what was written there.
template <class F>
std::string captured_stderr(F&& f) {
  std::fflush(stderr);
  TempFile sink("stderr.txt", "");
  const int saved = ::dup(2);
  FILE* out = std::fopen(sink.str().c_str(), "w");
  REQUIRE(out != nullptr);
  ::dup2(::fileno(out), 2);
  try {
    f();
  } catch (...) {
  }
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::fclose(out);
  return slurp(sink.str());
}

// Expects import_hwloc_xml(path) to throw an InputError naming the file; returns it.
InputError expect_input_error(const std::string& path) {
  try {
    import_hwloc_xml(path);
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find(path) != std::string::npos);
    CHECK(e.file() == path);
    return e;
  }
  FAIL("no InputError for " << path);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("hwloc: every real-data XML file loads with a consistent structure") {
  const fs::path dir = realdata_dir();
  REQUIRE(fs::is_directory(dir));
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".xml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 11);  // the files listed in SOURCES.md
  for (const auto& f : files) {
    INFO(f.string());
    const ImportedTopology t = import_hwloc_xml(f.string());
    CHECK(t.machine.name == f.stem().string());
    CHECK(t.machine.source == "hwloc:" + f.string());
    check_structure(t);
  }
}

TEST_CASE("hwloc: 4x Opteron 6272 (64amd64-4p2n4ca2co)") {
  const ImportedTopology t = import_hwloc_xml(realdata("64amd64-4p2n4ca2co.xml"));
  const auto& m = t.machine;
  CHECK(m.packages == 4);
  CHECK(m.num_nodes() == 8);
  CHECK(m.num_cores() == 64);
  CHECK(m.pus() == 64);
  // Each Opteron 6272 is two dies, each with its L3 and memory controller: dies follow the L3.
  CHECK(m.dies == 8);
  CHECK(has_note(t, "dies follow the L3"));
  CHECK(sharing(m, 1) == std::map<size_t, int>{{1, 64}});
  CHECK(sharing(m, 2) == std::map<size_t, int>{{2, 32}});
  CHECK(sharing(m, 3) == std::map<size_t, int>{{8, 8}});
  const mksim::Cache* l3 = m.last_level_cache(0);
  REQUIRE(l3 != nullptr);
  CHECK(l3->size_bytes == 6291456);
  CHECK(l3->line_bytes == 64);
  CHECK(m.shared_cache(0, 1)->level == 2);
  CHECK(m.shared_cache(0, 7)->level == 3);
  CHECK(m.shared_cache(0, 8) == nullptr);
  for (int n = 0; n < 8; ++n) {
    CHECK(cores_on_node(m, n) == 8);
    CHECK(m.nodes[n].package == n / 2);
  }
  CHECK(m.nodes[0].memory_bytes == 16822734848ull);
  for (const auto& c : m.cores) CHECK(c.die == c.node);  // one die and one node per L3 here
  REQUIRE(t.slit.size() == 8);
  CHECK(slit_values(t) == std::set<double>{10, 16, 22});
  // Dense node 1 is OS node 1, dense node 2 is OS node 6 (hwloc's logical order): rows follow dense ids.
  CHECK(t.slit[1] == std::vector<double>{16, 10, 22, 16, 22, 16, 16, 22});
  CHECK(t.slit[2] == std::vector<double>{16, 22, 10, 16, 16, 22, 16, 22});
  CHECK(has_note(t, "format 3.0 read as 2.0"));
}

TEST_CASE("hwloc: SGI UV2000 (192em64t-24n8c2t)") {
  const ImportedTopology t = import_hwloc_xml(realdata("192em64t-24n8c2t.xml"));
  const auto& m = t.machine;
  CHECK(m.packages == 24);
  CHECK(m.dies == 24);
  CHECK(m.num_nodes() == 24);
  CHECK(m.num_cores() == 192);
  CHECK(m.pus() == 384);
  for (const auto& c : m.cores) CHECK(c.hw_threads == 2);
  CHECK(m.cores[0].pu_os_index == std::vector<int>{0, 192});
  CHECK(sharing(m, 3) == std::map<size_t, int>{{8, 24}});
  for (int n = 0; n < 24; ++n) CHECK(cores_on_node(m, n) == 8);
  REQUIRE(t.slit.size() == 24);
  CHECK(slit_values(t) == std::set<double>{10, 50, 65, 79});
  CHECK(t.slit[0][1] == 50);
  CHECK(t.slit[0][23] == 79);
}

TEST_CASE("hwloc: 2x EPYC 9654 Zen4, Die objects and CCX L3") {
  const ImportedTopology t = import_hwloc_xml(realdata("AMD-19h-Zen4-2xEpyc-9654.xml"));
  const auto& m = t.machine;
  CHECK(m.packages == 2);
  CHECK(m.dies == 24);
  CHECK(m.num_cores() == 192);
  CHECK(m.pus() == 384);
  CHECK(m.num_nodes() == 1);
  CHECK(t.slit.empty());
  CHECK(sharing(m, 3) == std::map<size_t, int>{{8, 24}});
  for (const auto& c : m.caches)
    if (c.level == 3)
      for (int core : c.cores) CHECK(m.cores[core].die == m.cores[c.cores.front()].die);
  CHECK(std::count_if(m.cores.begin(), m.cores.end(), [](const auto& c) { return c.package == 1; }) == 96);
  CHECK(has_note(t, "no memory"));  // CPUID-only dump: the node's size is unknown
}

TEST_CASE("hwloc: 2x EPYC 7763 Zen3 without Die objects: dies follow the L3") {
  const ImportedTopology t = import_hwloc_xml(realdata("AMD-19h-Zen3-2xEpyc-7763.xml"));
  CHECK(t.machine.packages == 2);
  CHECK(t.machine.num_cores() == 128);
  CHECK(t.machine.dies == 16);
  CHECK(has_note(t, "dies follow the L3"));
}

TEST_CASE("hwloc: memory-side caches and sub-NUMA clusters (memorysidecaches)") {
  const ImportedTopology t = import_hwloc_xml(realdata("memorysidecaches.xml"));
  const auto& m = t.machine;
  CHECK(m.packages == 2);
  CHECK(m.dies == 2);
  CHECK(m.num_nodes() == 4);
  CHECK(m.num_cores() == 40);
  CHECK(m.pus() == 80);
  CHECK(sharing(m, 3) == std::map<size_t, int>{{20, 2}});
  for (int n = 0; n < 4; ++n) CHECK(cores_on_node(m, n) == 10);
  CHECK(m.nodes[1].package == 0);  // dense node 1 is OS node 2, on the first package
  CHECK(m.nodes[2].package == 1);
  CHECK(has_note(t, "memory-side caches"));
  REQUIRE(t.slit.size() == 4);
  CHECK(slit_values(t) == std::set<double>{10, 11, 21});
  CHECK(t.slit[0] == std::vector<double>{10, 11, 21, 21});
  CHECK(t.slit[2] == std::vector<double>{21, 21, 10, 11});
}

TEST_CASE("hwloc: disallowed PUs are imported and noted") {
  const ImportedTopology t = import_hwloc_xml(realdata("irregulargroups-disallowed.xml"));
  CHECK(t.machine.num_cores() == 64);
  CHECK(t.machine.num_nodes() == 8);
  CHECK(t.machine.packages == 8);
  CHECK(has_note(t, "48 of 64 PUs"));
  CHECK(has_note(t, "disallowed"));
}

TEST_CASE("hwloc: DRAM + HBM nodes sharing the same cores (64intel64-heteromem)") {
  const ImportedTopology t = import_hwloc_xml(realdata("64intel64-heteromem.xml"));
  const auto& m = t.machine;
  CHECK(m.num_nodes() == 8);
  CHECK(m.num_cores() == 16);
  CHECK(m.pus() == 64);
  int with_cores = 0;
  uint64_t memory = 0;
  for (const auto& n : m.nodes) {
    with_cores += cores_on_node(m, n.id) > 0;
    memory += n.memory_bytes;
    // Cores go to the 1 GiB DRAM nodes; the 2 GiB HBM nodes are memory only.
    CHECK((cores_on_node(m, n.id) > 0) == (n.memory_bytes == (1ull << 30)));
  }
  CHECK(with_cores == 4);
  CHECK(memory == 12ull << 30);
  CHECK(t.slit.empty());
  CHECK(has_note(t, "no NUMA distances"));
  CHECK(has_note(t, "several NUMA nodes"));
}

TEST_CASE("hwloc: a per-core L3 does not make dies (POWER8)") {
  const ImportedTopology t = import_hwloc_xml(realdata("power8gpudistances.xml"));
  CHECK(t.machine.packages == 2);
  CHECK(t.machine.dies == 2);
  CHECK(t.machine.num_cores() == 8);
  CHECK(t.machine.pus() == 16);
  CHECK(t.slit.size() == 2);
  CHECK(has_note(t, "no line size"));
}

TEST_CASE("hwloc: format 3.0 and 2.0 files give the same machine") {
  const std::string path = realdata("64amd64-4p2n4ca2co.xml");
  const std::string v3 = slurp(path);
  REQUIRE(v3.find("<topology version=\"3.0\">") != std::string::npos);
  TempFile v2("v2.xml", replace_once(v3, "<topology version=\"3.0\">", "<topology version=\"2.0\">"));
  const ImportedTopology a = import_hwloc_xml(path), b = import_hwloc_xml(v2.str());
  CHECK(has_note(a, "format 3.0 read as 2.0"));
  CHECK_FALSE(has_note(b, "format"));
  CHECK(a.machine.num_cores() == b.machine.num_cores());
  CHECK(a.machine.caches.size() == b.machine.caches.size());
  CHECK(a.slit == b.slit);
  // Windows line ends and a byte-order mark do not matter either.
  std::string crlf = "\xEF\xBB\xBF";
  for (char c : v3) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  TempFile dos("crlf.xml", crlf);
  CHECK(import_hwloc_xml(dos.str()).machine.num_cores() == 64);
}

TEST_CASE("hwloc: distance matrices that are not plain SLIT") {
  const std::string good = slurp(realdata("64amd64-4p2n4ca2co.xml"));
  const size_t begin = good.find("<distances2 ");
  const size_t end = good.find("</distances2>") + std::string("</distances2>").size();
  REQUIRE(begin != std::string::npos);
  auto with_distances = [&](const std::string& block) {
    std::string s = good;
    return s.replace(begin, end - begin, block);
  };
  SECTION("values in other units are rescaled to 10 = local") {
    // The file's own matrix, in tenths (100/160/220), written back as one u64values element.
    std::string values;
    for (size_t at = good.find("<u64values", begin); at < end; at = good.find("<u64values", at + 1)) {
      const size_t text = good.find('>', at) + 1;
      std::istringstream in(good.substr(text, good.find('<', text) - text));
      for (unsigned v; in >> v;) values += std::to_string(v * 10) + " ";
    }
    REQUIRE(std::count(values.begin(), values.end(), ' ') == 64);
    TempFile f("tenths.xml",
               with_distances("<distances2 type=\"NUMANode\" nbobjs=\"8\" kind=\"5\" name=\"NUMALatency\" "
                              "indexing=\"os\">\n    <indexes length=\"16\">0 1 2 3 4 5 6 7 </indexes>\n"
                              "    <u64values length=\"" +
                              std::to_string(values.size()) + "\">" + values + "</u64values>\n  </distances2>"));
    const ImportedTopology t = import_hwloc_xml(f.str());
    CHECK(slit_values(t) == std::set<double>{10, 16, 22});
    CHECK(t.slit[1] == std::vector<double>{16, 10, 22, 16, 22, 16, 16, 22});
    CHECK(has_note(t, "rescaled"));
  }
  SECTION("a matrix over some of the nodes is completed with the farthest distance") {
    TempFile f("partial.xml",
               with_distances("<distances2 type=\"NUMANode\" nbobjs=\"2\" kind=\"5\" name=\"NUMALatency\" "
                              "indexing=\"os\">\n    <indexes length=\"4\">0 1 </indexes>\n"
                              "    <u64values length=\"12\">10 16 16 10 </u64values>\n"
                              "  </distances2>"));
    const ImportedTopology t = import_hwloc_xml(f.str());
    REQUIRE(t.slit.size() == 8);
    CHECK(t.slit[0][1] == 16);
    CHECK(t.slit[5][5] == 10);
    CHECK(t.slit[0][5] == 16);
    CHECK(slit_values(t) == std::set<double>{10, 16});
    CHECK(has_note(t, "cover 2 of 8 nodes"));
  }
}

TEST_CASE("hwloc: bad inputs throw InputError naming the file") {
  const std::string good = slurp(realdata("64amd64-4p2n4ca2co.xml"));

  SECTION("missing file") {
    const std::string missing = (fs::temp_directory_path() / "mksim-no-such-topology.xml").string();
    const InputError e = expect_input_error(missing);
    CHECK(std::string(e.what()).find("cannot open") != std::string::npos);
  }
  SECTION("empty file") {
    TempFile f("empty.xml", "");
    CHECK(std::string(expect_input_error(f.str()).what()).find("empty") != std::string::npos);
  }
  SECTION("truncated XML names a line") {
    TempFile f("truncated.xml", good.substr(0, good.size() / 2));
    const InputError e = expect_input_error(f.str());
    CHECK(e.where().rfind("line ", 0) == 0);
    CHECK(std::string(e.what()).find("truncated") != std::string::npos);
  }
  SECTION("truncated after a whole line: the unclosed element is named") {
    const size_t cut = good.find("<distances2");
    REQUIRE(cut != std::string::npos);
    TempFile f("truncated2.xml", good.substr(0, cut));
    const InputError e = expect_input_error(f.str());
    CHECK(std::string(e.what()).find("<topology> opened on line 3") != std::string::npos);
  }
  SECTION("garbage bytes") {
    std::string junk;
    unsigned x = 12345;
    for (int i = 0; i < 4096; ++i) junk += static_cast<char>((x = x * 1103515245u + 12345u) >> 16);
    TempFile f("garbage.xml", junk);
    const InputError e = expect_input_error(f.str());
    CHECK(e.where() == "line 1");
  }
  SECTION("mismatched tag names the line") {
    const size_t at = good.find("</object>", good.find("type=\"PU\""));
    std::string bad = good;
    bad.replace(at, 9, "</objec>");
    const int line = 1 + static_cast<int>(std::count(good.begin(), good.begin() + static_cast<long>(at), '\n'));
    TempFile f("mismatch.xml", bad);
    const InputError e = expect_input_error(f.str());
    CHECK(e.where() == "line " + std::to_string(line));
    CHECK(std::string(e.what()).find("</objec>") != std::string::npos);
  }
  SECTION("well-formed XML that is no topology") {
    TempFile f("html.xml", "<?xml version=\"1.0\"?>\n<html><body/></html>\n");
    const InputError e = expect_input_error(f.str());
    CHECK(std::string(e.what()).find("expected <topology>") != std::string::npos);
  }
  SECTION("a format version hwloc cannot read") {
    TempFile f("v4.xml", replace_once(good, "version=\"3.0\"", "version=\"4.0\""));
    const InputError e = expect_input_error(f.str());
    CHECK(e.where() == "line 3");
    CHECK(std::string(e.what()).find("4.0") != std::string::npos);
  }
}

namespace {

// Every field of two imports, compared.
void check_same(const ImportedTopology& a, const ImportedTopology& b) {
  const mksim::Machine &x = a.machine, &y = b.machine;
  CHECK(x.name == y.name);
  CHECK(x.source == y.source);
  CHECK(x.packages == y.packages);
  CHECK(x.dies == y.dies);
  REQUIRE(x.nodes.size() == y.nodes.size());
  for (size_t i = 0; i < x.nodes.size(); ++i) {
    CHECK(x.nodes[i].id == y.nodes[i].id);
    CHECK(x.nodes[i].package == y.nodes[i].package);
    CHECK(x.nodes[i].memory_bytes == y.nodes[i].memory_bytes);
  }
  REQUIRE(x.cores.size() == y.cores.size());
  for (size_t i = 0; i < x.cores.size(); ++i) {
    const auto &p = x.cores[i], &q = y.cores[i];
    CHECK(std::tie(p.id, p.package, p.die, p.node, p.hw_threads, p.pu_os_index, p.caches) ==
          std::tie(q.id, q.package, q.die, q.node, q.hw_threads, q.pu_os_index, q.caches));
  }
  REQUIRE(x.caches.size() == y.caches.size());
  for (size_t i = 0; i < x.caches.size(); ++i) {
    const auto &p = x.caches[i], &q = y.caches[i];
    CHECK(std::tie(p.level, p.size_bytes, p.line_bytes, p.cores) ==
          std::tie(q.level, q.size_bytes, q.line_bytes, q.cores));
  }
  CHECK(a.slit == b.slit);
  CHECK(a.notes == b.notes);
}

struct InProcess {
  InProcess() { mksim::set_hwloc_import_isolation(false); }
  ~InProcess() { mksim::set_hwloc_import_isolation(true); }
};

}  // namespace

TEST_CASE("hwloc: import in a child process gives the same machine as in this one") {
  const fs::path dir = realdata_dir();
  REQUIRE(fs::is_directory(dir));
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().extension() != ".xml") continue;
    INFO(e.path().string());
    const ImportedTopology isolated = import_hwloc_xml(e.path().string());
    InProcess here;
    check_same(isolated, import_hwloc_xml(e.path().string()));
  }
}

TEST_CASE("hwloc: what libhwloc 2.9 crashes on is refused before it sees the file, with the line") {
  const std::string good = slurp(realdata("64amd64-4p2n4ca2co.xml"));
  const size_t core = good.find("type=\"Core\"");
  REQUIRE(core != std::string::npos);
  const size_t tag = good.rfind("<object", core);
  const std::string line =
      "line " + std::to_string(1 + std::count(good.begin(), good.begin() + static_cast<long>(tag), '\n'));
  const size_t end = good.find('>', tag);
  const std::string core_tag = good.substr(tag, end - tag);
  auto without = [&](const std::string& attr) {
    const size_t at = core_tag.find(" " + attr + "=\"");
    REQUIRE(at != std::string::npos);
    const size_t close = core_tag.find('"', at + attr.size() + 3);
    std::string t = core_tag;
    t.erase(at, close + 1 - at);
    return replace_once(good, core_tag, t);
  };
  // Each would be a SIGSEGV inside hwloc_topology_load; run them in this process to show the checks come first.
  InProcess here;
  SECTION("cpuset without complete_cpuset") {
    TempFile f("no-complete-cpuset.xml", without("complete_cpuset"));
    const InputError e = expect_input_error(f.str());
    CHECK(e.where() == line);
    CHECK(e.reason() ==
          "<object type=\"Core\"> has cpuset but no complete_cpuset, expected both or neither (libhwloc " +
              std::string(HWLOC_VERSION) + " crashes on such objects)");
  }
  SECTION("nodeset without complete_nodeset, and the other way round") {
    TempFile f("no-complete-nodeset.xml", without("complete_nodeset"));
    CHECK(expect_input_error(f.str()).where() == line);
    TempFile g("no-nodeset.xml", without("nodeset"));
    CHECK(expect_input_error(g.str()).reason().find("has complete_nodeset but no nodeset") != std::string::npos);
  }
  SECTION("a set that is not a bitmap") {
    const size_t at = core_tag.find("complete_nodeset=\"");
    std::string t = core_tag;
    t.insert(at + 20, "&");
    TempFile f("bad-bitmap.xml", replace_once(good, core_tag, t));
    const InputError e = expect_input_error(f.str());
    CHECK(e.where() == line);
    CHECK(e.reason().find("is not an hwloc bitmap") != std::string::npos);
  }
  SECTION("bitmaps as hwloc writes them pass: empty words, short words, an infinite prefix") {
    for (const char* set : {"0x00000001,,,0x0", "0xf...f", "0xf...f,0x0000000f", ""}) {
      INFO(set);
      std::string t = core_tag;
      const size_t at = t.find("allowed_cpuset=\"");
      if (at == std::string::npos) t.insert(t.size(), std::string(" allowed_cpuset=\"") + set + "\"");
      TempFile f("good-bitmap.xml", replace_once(good, core_tag, t));
      CHECK_NOTHROW(import_hwloc_xml(f.str()));
    }
  }
}

TEST_CASE("hwloc: a refusal gives hwloc's own reason") {
  const std::string good = slurp(realdata("64amd64-4p2n4ca2co.xml"));
  TempFile f("unknown-type.xml", replace_once(good, "type=\"Core\"", "type=\"Corr\""));
  const InputError e = expect_input_error(f.str());
  CHECK(e.reason().find("refused this topology: unrecognized object type string Corr") != std::string::npos);
}

TEST_CASE("hwloc: bad files do not make hwloc print to stderr") {
  const std::string good = slurp(realdata("64amd64-4p2n4ca2co.xml"));
  TempFile truncated("quiet-truncated.xml", good.substr(0, good.size() / 3));
  TempFile binary("quiet-binary.xml", std::string("\x00\x01\x02\xff\xfe", 5) + good);
  TempFile mismatch("quiet-mismatch.xml", replace_once(good, "</object>", "</objec>"));
  TempFile refused("quiet-refused.xml", replace_once(good, "type=\"Core\"", "type=\"Corr\""));  // hwloc's reason
  const std::string said = captured_stderr([&] {
    for (const auto* f : {&truncated, &binary, &mismatch, &refused})
      CHECK_THROWS_AS(import_hwloc_xml(f->str()), InputError);
  });
  CHECK(said == "");
}

TEST_CASE("hwloc: this host") {
  const ImportedTopology t = mksim::import_this_host();
  CHECK(t.machine.num_cores() >= 1);
  CHECK(t.machine.source == "hwloc:this-host");
  check_structure(t);
}
