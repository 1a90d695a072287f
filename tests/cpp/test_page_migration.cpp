// Pages that move: NUMA balancing and TPP-like tiering (policies/numa_balancing.cpp), the migration mechanism of the
// engine (PageMover, sim/engine.cpp), the zipf-shift workload and the tiering output.
#include <fmt/format.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/api/workload.hpp"
#include "sim/config.hpp"
#include "sim/engine.hpp"
#include "test_workload_support.hpp"

using namespace mksim;
using mksim::test::run_checked;

namespace {

// A test-only workload: a writer on `writer_core` fills a region (first touch: the writer's node), then a reader on
// `reader_core` reads it `reads` times.
class RemoteReader final : public Workload {
 public:
  explicit RemoteReader(const Params& p)
      : writer_(static_cast<int>(p.integer("writer_core"))),
        reader_(static_cast<int>(p.integer("reader_core"))),
        reads_(static_cast<int>(p.integer("reads"))),
        bytes_(static_cast<uint64_t>(p.integer("bytes"))) {}
  void setup(WorkloadEnv& env) override {
    const uint32_t proc = env.create_process("p", {});
    const uint32_t region = env.create_region(proc, bytes_);
    const uint32_t w = env.create_thread(proc, {"writer", {writer_}, -1}, boxed(write(region, bytes_)));
    env.create_thread(proc, {"reader", {reader_}, -1}, boxed(read(w, region, bytes_, reads_)));
  }
  Metrics metrics(const RunView&) const override { return {}; }

 private:
  static Program write(uint32_t region, uint64_t bytes) {
    co_await Op::mem(region, bytes, AccessPattern::Sequential, AccessKind::Write);
  }
  static Program read(uint32_t writer, uint32_t region, uint64_t bytes, int reads) {
    co_await Op::join(writer);
    for (int i = 0; i < reads; ++i) {
      co_await Op::compute(20000);
      co_await Op::mem(region, bytes / 16, AccessPattern::Random);
    }
  }
  int writer_, reader_, reads_;
  uint64_t bytes_;
};
WorkloadRegistry::Add reg_reader(
    "workload", "test-remote-reader", "test: a region written on one node, read on another",
    Schema{Field::integer("writer_core", 0, "", "writer's core"), Field::integer("reader_core", 2, "", "reader's core"),
           Field::integer("reads", 400, "", "reads"), Field::integer("bytes", 1048576, "bytes", "region size")},
    [](const Params& p) { return std::make_unique<RemoteReader>(p); });

// Two nodes of two cores; node 1 is the slow tier of node 0's cores: 3.75x the latency behind a 10 GB/s link. Node
// memory is small (node_size_gib) so that a working set overflows the fast tier.
json two_tier_machine(double node_mib) {
  json m = json::parse(R"({"sockets": 2, "cores_per_socket": 2, "freq_ghz": 2.0,
      "memory": {"local_latency_ns": 80, "controller_bandwidth_gb_s": 20},
      "interconnect": {"latency_ns": [[80, 300], [300, 80]], "link_bandwidth_gb_s": 10}})");
  m["memory"]["node_size_gib"] = node_mib / 1024.0;
  return m;
}

// DRAM and a CXL expander: node 0 (`dram_mib` of DRAM, 80 ns) holds cores 0 and 1; node 1 is a memory-only CXL node
// (`cxl_mib`, the CXL kind's defaults: 170 ns, 16 GB/s).
json dram_cxl_machine(double dram_mib, double cxl_mib) {
  json m = json::parse(R"({"sockets": 1, "cores_per_socket": 2, "freq_ghz": 2.0,
      "memory": {"local_latency_ns": 80, "controller_bandwidth_gb_s": 20}})");
  m["memory"]["node_size_gib"] = dram_mib / 1024.0;
  m["memory"]["memory_nodes"] = {{{"kind", "CXL"}, {"package", 0}, {"size_gib", cxl_mib / 1024.0}}};
  return m;
}

// 24 MiB of 64 KiB objects on 8 MiB of DRAM and 32 MiB of CXL memory; the hot set moves every 25 ms.
json zipf_doc(const json& kernel, const json& outputs = json::object()) {
  return {{"machine", dram_cxl_machine(8, 32)},
          {"kernel", kernel},
          {"workload",
           {{"kind", "zipf-shift"},
            {"threads", 2},
            {"cores", {0, 1}},
            {"working_set_bytes", 24.0 * 1048576},
            {"object_bytes", 65536},
            {"theta", 0.99},
            {"shift_period_s", 0.025},
            {"duration_s", 0.05}}},
          {"run", {{"seed", 3}, {"outputs", outputs}}}};
}

// Linux's tiering parameters scaled from seconds to the run's milliseconds (as configs/tiering-zipf.json).
json tpp() {
  return {{"memory_policy", "tpp"},
          {"tpp",
           {{"scan_delay_ms", 1},
            {"scan_period_min_ms", 2},
            {"scan_period_max_ms", 16},
            {"hot_threshold_ms", 2},
            {"promote_rate_limit_mb_s", 100}}}};
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("page migration: numa-balancing moves a thread's pages to its node") {
  json doc = {{"machine", two_tier_machine(1024)},
              {"kernel",
               {{"memory_policy", "numa-balancing"},
                {"numa-balancing", {{"scan_delay_ms", 0.1}, {"scan_period_min_ms", 0.2}, {"page_kib", 4}}}}},
              {"workload", {{"kind", "test-remote-reader"}, {"bytes", 1048576}, {"reads", 1000}}}};
  json r = run_checked(doc);
  const auto& pm = r["page_migration"];
  // Every page of the region (written on node 0 by core 0) moves once, to node 1 where its reader runs, and none back.
  CHECK(pm["pages_migrated"] == 256);
  CHECK(pm["promoted_pages"] == 256);
  CHECK(pm["demoted_pages"] == 0);
  CHECK(pm["bytes_migrated"] == pm["pages_migrated"].get<uint64_t>() * pm["page_bytes"].get<uint64_t>());
  CHECK(pm["hinting_faults"].get<uint64_t>() >= 256);
  CHECK(pm["migration_s"].get<double>() > 0);
  // The copies are memory traffic: node 1 was written at least the migrated bytes (the reader only reads).
  CHECK(r["memory"][1]["write_bytes"].get<uint64_t>() >= pm["bytes_migrated"].get<uint64_t>());
  CHECK(r["summary"]["events_by_kind"]["page_migration"].get<uint64_t>() == pm["migrations"].get<uint64_t>());
  // The scans' shootdowns ran through the architecture's agreement protocol; the migrations of the pages that took a
  // hinting fault needed none (the scan had flushed their entries).
  CHECK(pm["migrations"].get<uint64_t>() > 0);
  CHECK(r["summary"]["events_by_kind"]["tlb_shootdown"] == pm["protection_changes"]);

  // Without balancing the pages stay remote: the same reads take longer.
  json stay = doc;
  stay["kernel"] = {{"memory_policy", "first-touch"}};
  json s = run_checked(stay);
  CHECK_FALSE(s.contains("page_migration"));
  CHECK(s["threads"][1]["end_s"].get<double>() > r["threads"][1]["end_s"].get<double>());
}

TEST_CASE("page migration: tpp keeps a shifting hot set in DRAM and runs faster than first-touch") {
  // First touch fills the 8 MiB of DRAM with whatever was loaded first; the hot set then moves around 24 MiB. The same
  // placement under tpp whose scan never comes moves nothing and serves the same share from DRAM.
  json first_touch_doc = zipf_doc({{"memory_policy", "first-touch"}});
  json first_touch = run_checked(first_touch_doc);
  json never = tpp();
  never["tpp"]["scan_delay_ms"] = 1e9;
  json fixed = run_checked(zipf_doc(never));
  json moving = run_checked(zipf_doc(tpp()));
  CHECK(fixed["page_migration"]["pages_migrated"] == 0);
  CHECK(fixed["workload"]["metrics"]["ops_per_s"] == first_touch["workload"]["metrics"]["ops_per_s"]);
  const auto& pm = moving["page_migration"];
  CHECK(pm["promoted_pages"].get<uint64_t>() > 0);
  CHECK(pm["demoted_pages"].get<uint64_t>() > 0);  // room for the promotions made by demoting cold pages
  const double fixed_share = fixed["page_migration"]["fast_tier_share"];
  const double moving_share = pm["fast_tier_share"];
  CHECK(fixed_share < 0.5);  // a third of the objects fit in DRAM, most hot ones were not among them
  CHECK(moving_share > fixed_share + 0.3);
  // The accesses served from DRAM outweigh what moving the pages costs (the hinting faults, the copies, the demotions'
  // shootdowns), which shows in the threads' kernel time.
  CHECK(moving["workload"]["metrics"]["ops_per_s"].get<double>() >
        first_touch["workload"]["metrics"]["ops_per_s"].get<double>());
  CHECK(pm["migration_s"].get<double>() > 0);
  CHECK(moving["threads"][0]["kernel_s"].get<double>() > fixed["threads"][0]["kernel_s"].get<double>());
  // Promotions are of pages that took a hinting fault, whose entries the scan had already flushed: the shootdowns are
  // those of the scans and the demotion batches, fewer than the migrations.
  CHECK(moving["summary"]["events_by_kind"]["tlb_shootdown"].get<uint64_t>() < pm["migrations"].get<uint64_t>());
}

TEST_CASE("page migration: the promotion rate limit bounds what tpp moves") {
  json unlimited = tpp();
  unlimited["tpp"]["promote_rate_limit_mb_s"] = 65536;
  json limited = tpp();
  limited["tpp"]["promote_rate_limit_mb_s"] = 20;
  const auto promoted = [](const json& r) { return r["page_migration"]["promoted_pages"].get<uint64_t>(); };
  json a = run_checked(zipf_doc(unlimited));
  json b = run_checked(zipf_doc(limited));
  CHECK(promoted(b) < promoted(a));
  // At most the limit per second of candidates, counted from the start of the one-second window (Linux's
  // numa_promotion_rate_limit): here 20 MiB/s over a run shorter than a second allows 20 MiB of candidates.
  CHECK(promoted(b) * 4096 <= 20u * 1048576);
}

TEST_CASE("page migration: migrations appear in the timeline and the tiering series, deterministically") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / fmt::format("mksim-page-migration-{}", ::getpid());
  const json outputs = {{"trace", true}, {"tiering", true}, {"csv", false}};
  json a = run_checked(zipf_doc(tpp(), outputs), (dir / "a").string());
  json b = run_checked(zipf_doc(tpp(), outputs), (dir / "b").string());
  a.erase("wall_clock");
  b.erase("wall_clock");
  CHECK(a == b);
  const std::string trace = slurp(dir / "a" / "trace.json");
  CHECK(trace == slurp(dir / "b" / "trace.json"));
  const std::string series = slurp(dir / "a" / "tiering.csv");
  CHECK(series == slurp(dir / "b" / "tiering.csv"));
  CHECK(trace.find(R"("cat":"migration")") != std::string::npos);
  CHECK(trace.find("NUMA hinting fault") != std::string::npos);

  // The series adds up to the run's totals.
  std::istringstream in(series);
  std::string line;
  std::getline(in, line);
  CHECK(line ==
        "start_s,end_s,fast_bytes,slow_bytes,fast_hit_ratio,pages_migrated,bytes_migrated,migration_s,promoted_pages,"
        "demoted_pages");
  uint64_t pages = 0, rows = 0;
  double fast = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ls(line);
    for (std::string c; std::getline(ls, c, ',');) cells.push_back(c);
    REQUIRE(cells.size() >= 9);
    fast += std::stod(cells[2]);
    pages += std::stoull(cells[5]);
    ++rows;
  }
  CHECK(rows > 1);
  CHECK(pages == a["page_migration"]["pages_migrated"].get<uint64_t>());
  CHECK(fast == Approx(a["page_migration"]["fast_tier_bytes"].get<double>()).epsilon(1e-3));
  fs::remove_all(dir);
}

TEST_CASE("page migration: bad parameters name their path") {
  json doc = zipf_doc({{"memory_policy", "tpp"}, {"tpp", {{"fast_nodes", {5}}}}});
  CHECK_THROWS_WITH(run_isolated(resolve_scenario(doc, "test.json", ".")),
                    Catch::Contains("kernel.tpp.fast_nodes[0]") && Catch::Contains("node 5 does not exist"));
  json small = zipf_doc(json::object());
  small["workload"]["object_bytes"] = 4096;
  CHECK_THROWS_WITH(run_isolated(resolve_scenario(small, "test.json", ".")),
                    Catch::Contains("object_bytes") && Catch::Contains("stay in the caches"));
}

TEST_CASE("page migration: stream and ycsb run on a two-tier machine under the moving policies") {
  // A stream buffer twice the fast tier: placement splits it over the tiers (Linux's fallback), NUMA balancing leaves
  // the local half alone and TPP keeps promoting and demoting.
  for (const char* policy : {"numa-balancing", "tpp"}) {
    json doc = {
        {"machine", dram_cxl_machine(8, 32)},
        {"kernel", {{"memory_policy", policy}, {policy, {{"scan_delay_ms", 0.1}, {"scan_period_min_ms", 0.2}}}}},
        {"workload",
         {{"kind", "stream"},
          {"threads", 1},
          {"cores", {0}},
          {"bytes_per_thread", 16.0 * 1048576},
          {"chunk_bytes", 262144},
          {"pattern", "random"}}}};
    json r = run_checked(doc);
    INFO(policy);
    const double share = r["page_migration"]["fast_tier_share"];
    CHECK(share > 0.3);
    CHECK(share < 1.0);
    CHECK(r["memory"][1]["read_bytes"].get<double>() > 0);  // the half that did not fit is read from node 1
  }
  json ycsb = {
      {"machine", dram_cxl_machine(4, 32)},
      {"kernel", {{"memory_policy", "tpp"}, {"tpp", {{"scan_delay_ms", 0.1}, {"scan_period_min_ms", 0.2}}}}},
      {"workload", {{"kind", "ycsb"}, {"record_count", 20000}, {"cores_per_instance", 2}, {"duration_s", 0.002}}}};
  json r = run_checked(ycsb);
  CHECK(r["workload"]["metrics"]["ops_per_s"].get<double>() > 0);
  CHECK(r["page_migration"]["hinting_faults"].get<uint64_t>() > 0);
}
