// The cache-coherence model of small shared data (models/coherence.hpp), to the nanosecond on a machine whose costs
// are known (test_two_sockets.hpp); and through the engine, with the shared-update workload.
#include <catch2/catch.hpp>
#include <map>

#include "models/coherence.hpp"
#include "models/costs.hpp"
#include "sim/machine_config.hpp"
#include "test_two_sockets.hpp"
#include "test_workload_support.hpp"

using namespace mksim;
using namespace mksim::test;

namespace {

// Core `core` writes (or reads) `lines` at `at_s`; returns how long it took, in ns.
double access_ns(const Machine& m, std::vector<CacheLine>& lines, int core, bool write, double at_s = 0,
                 LineAccessCost* out = nullptr) {
  HomeQueue home;
  LineAccessCost c = access_lines(m, lines, core, write, false, 0, at_s, home);
  if (out) *out = c;
  return (c.done_s - at_s) * 1e9;
}

}  // namespace

TEST_CASE("coherence: a core re-accessing lines it holds hits in its own L1") {
  Machine m = two_socket();
  std::vector<CacheLine> lines(8);
  LineAccessCost c;
  // First touch: no cache holds them; the 8 misses overlap (core_mlp 10 in flight).
  CHECK(access_ns(m, lines, 0, true, 0, &c) == Approx(100));
  CHECK(c.from_memory == 8);
  CHECK(access_ns(m, lines, 0, true, 1e-6, &c) == Approx(2));
  CHECK(c.hits == 8);
  CHECK(access_ns(m, lines, 0, false, 2e-6, &c) == Approx(2));
  CHECK(c.hits == 8);
  // Dependent accesses do not overlap: 8 hits one after the other.
  HomeQueue home;
  LineAccessCost d = access_lines(m, lines, 0, true, true, 0, 3e-6, home);
  CHECK((d.done_s - 3e-6) * 1e9 == Approx(16));
}

namespace {
// The run's traffic as the engine would report it: node 0's memory loaded, the interconnect loaded.
struct LoadedMachine final : PathWaits {
  double memory_wait_s(int, int node) override { return node == 0 ? 50e-9 : 0; }
  double transfer_wait_s(int from, int to) override { return (from < 4) != (to < 4) ? 30e-9 : 0; }
};
}  // namespace

TEST_CASE("coherence: lines from a loaded memory or across a loaded interconnect wait behind the run's traffic") {
  Machine m = two_socket();
  LoadedMachine loaded;
  HomeQueue home, idle;
  home.set_waits(&loaded);
  std::vector<CacheLine> lines(1), same(1);
  const double from_memory = access_lines(m, same, 0, true, true, 0, 0, idle).done_s;
  CHECK(access_lines(m, lines, 0, true, true, 0, 0, home).done_s == Approx(from_memory + 50e-9));
  // Core 1 (same socket) takes the line from core 0's cache: no memory access, no interconnect, no wait.
  const double t = 1e-6;
  CHECK(access_lines(m, lines, 1, true, true, 0, t, home).done_s ==
        Approx(access_lines(m, same, 1, true, true, 0, t, idle).done_s));
  // Core 4 (the other socket) takes it across the interconnect: the transfer waits there.
  const double u = 2e-6;
  CHECK(access_lines(m, lines, 4, true, true, 0, u, home).done_s ==
        Approx(access_lines(m, same, 4, true, true, 0, u, idle).done_s + 30e-9));
}

TEST_CASE("coherence: a line written by another core costs the transfer between them, more across sockets") {
  Machine m = two_socket();
  std::vector<CacheLine> line(1);
  access_ns(m, line, 0, true);
  LineAccessCost c;
  CHECK(access_ns(m, line, 1, true, 1e-6, &c) == Approx(kSocketNs));  // same socket: the shared L3 snoops core 0
  CHECK(c.transfers == 1);
  CHECK(access_ns(m, line, 5, true, 2e-6, &c) == Approx(kCrossNs));  // the other socket: across the interconnect
  CHECK(c.transfers == 1);
  CHECK(line[0].owner == 5);
  CHECK(access_ns(m, line, 5, true, 3e-6) == Approx(2));  // and now it is core 5's own
}

TEST_CASE("coherence: under a directory a modified line costs the way to whoever knows its owner, and the snoop") {
  // Within a socket the L3 knows the owner and snoops its private cache: two trips like an L3 hit.
  Machine m = two_socket();
  CHECK(line_transfer_ns(m, 0, 1) == Approx(2 * 20));
  // Across: the interconnect's round trip (remote less local memory latency), then the owner socket's L3 and snoop,
  // with no memory access: cheaper than the remote memory latency.
  CHECK(line_transfer_ns(m, 0, 4) == Approx((150 - 100) + 2 * 20));
  CHECK(line_transfer_ns(m, 0, 4) < m.interconnect.latency_ns[1][0]);
  // Two hardware threads of one core find the line in the L1 they share: a hit, nobody to snoop.
  json smt = two_socket_doc();
  smt["threads_per_core"] = 2;
  smt["cpu"] = {{"smt", true}};
  Machine t = build_machine(smt, "machine", "test", ".");
  int sibling = -1;
  for (int c = 1; c < t.num_cores(); ++c)
    if (t.physical_core(c) == t.physical_core(0)) sibling = c;
  REQUIRE(sibling > 0);
  REQUIRE(t.shared_cache(0, sibling) == &t.caches[t.cores[0].caches.front()]);
  CHECK(line_transfer_ns(t, 0, sibling) == Approx(2));
  CHECK(line_transfer_ns(t, sibling, 0) == Approx(2));
  // Two dies per node, each with its own L3 (a front-side-bus package): no cache the two dies share and no cache
  // spanning the owner's node, so the node's memory controller resolves the miss: the memory latency, both within the
  // node and across.
  json dies = two_socket_doc();
  dies["dies_per_socket"] = 2;
  dies["caches"]["l3"]["shared_by"] = "die";
  Machine d = build_machine(dies, "machine", "test", ".");
  REQUIRE(d.shared_cache(0, 2) == nullptr);
  CHECK(line_transfer_ns(d, 0, 1) == Approx(2 * 20));
  CHECK(line_transfer_ns(d, 0, 2) == Approx(100));
  CHECK(line_transfer_ns(d, 0, 4) == Approx(150));
  // Given the DRAM's part of the local latency, the other die's L3 answers the miss instead of the DRAM: the rest of
  // the way of a memory access and that L3's lookup. Across the sockets nothing changes.
  dies["memory"]["dram_access_ns"] = 30;
  Machine b = build_machine(dies, "machine", "test", ".");
  CHECK(line_transfer_ns(b, 0, 2) == Approx(100 - 30 + 20));
  CHECK(line_transfer_ns(b, 0, 1) == Approx(2 * 20));
  CHECK(line_transfer_ns(b, 0, 4) == Approx(150));
}

TEST_CASE("coherence: readers share a line; a write invalidates every copy and waits for the farthest") {
  Machine m = two_socket();
  std::vector<CacheLine> line(1);
  access_ns(m, line, 0, true);
  CHECK(access_ns(m, line, 1, false, 1e-6) == Approx(kSocketNs));  // from the owner, which keeps a read-only copy
  CHECK(access_ns(m, line, 4, false, 2e-6) == Approx(kCrossNs));   // the nearest copy: the other socket either way
  CHECK(line[0].owner == -1);
  CHECK(line[0].sharers.size() == 3);
  CHECK(access_ns(m, line, 0, false, 3e-6) == Approx(2));  // a reader hits its copy
  // Core 1 writes: core 0's copy is on its socket, core 4's across: the write completes with the farthest
  // acknowledgement.
  CHECK(access_ns(m, line, 1, true, 4e-6) == Approx(kCrossNs));
  CHECK(line[0].owner == 1);
  CHECK(line[0].sharers.empty());
  CHECK(access_ns(m, line, 0, false, 5e-6) == Approx(kSocketNs));
}

TEST_CASE("coherence: k cores writing one line take turns, so their combined rate does not grow with k") {
  Machine m = two_socket();
  auto writes_per_us = [&](int k) {
    // Each core writes the line again as soon as its previous write completed; the earliest ready core goes next.
    std::vector<CacheLine> line(1);
    std::vector<double> ready(k, 0.0);
    HomeQueue home;
    const int writes = 200 * k;
    for (int i = 0; i < writes; ++i) {
      int core = static_cast<int>(std::min_element(ready.begin(), ready.end()) - ready.begin());
      ready[core] = access_lines(m, line, core, true, false, 0, ready[core], home).done_s;
    }
    return writes / (*std::max_element(ready.begin(), ready.end()) * 1e6);
  };
  std::map<int, double> rate;
  for (int k : {1, 2, 4, 8}) rate[k] = writes_per_us(k);
  INFO("writes per us with 1, 2, 4, 8 cores: " << rate[1] << ", " << rate[2] << ", " << rate[4] << ", " << rate[8]);
  CHECK(rate[1] > 5 * rate[2]);  // alone, a core hits its own L1
  // Two cores of a socket pass the line through their L3 (kSocketNs a write); eight, over both sockets, at most that.
  CHECK(rate[2] == Approx(1e3 / kSocketNs).epsilon(0.01));
  CHECK(rate[4] <= rate[2] * 1.01);
  CHECK(rate[8] < rate[4]);  // half the hand-overs now cross the interconnect
}

TEST_CASE("coherence: with broadcast coherence a transfer costs the home node's probe round, plus a link crossing") {
  json doc = two_socket_doc();
  doc["coherence"] = {{"protocol", "broadcast"}};
  doc["interconnect"]["link_bandwidth_gb_s"] = 4;  // a 64-byte line crosses a link in 16 ns
  doc["interconnect"]["latency_ns"] = {{100, 150}, {150, 120}};
  Machine m = build_machine(doc, "machine", "test", ".");
  std::vector<CacheLine> line(1);  // backed by node 0
  access_ns(m, line, 0, true);
  LineAccessCost c;
  // Core 1 shares core 0's L3, but the request goes to the home memory controller, which answers once every node has
  // answered its probe: node 0's local access (100 ns), not the L3.
  CHECK(access_ns(m, line, 1, true, 1e-6, &c) == Approx(100));
  CHECK(c.transfers == 1);
  // From the other socket: the same probe round (the requester's distance does not add: node 0's memory costs core 5
  // 150 ns, the transfer does not), plus the line's crossing of the link.
  CHECK(access_ns(m, line, 5, true, 2e-6) == Approx(100 + 16));
  CHECK(access_ns(m, line, 6, true, 3e-6) == Approx(100));  // owner and reader on node 1: no crossing
  CHECK(access_ns(m, line, 2, true, 4e-6) == Approx(100 + 16));
  CHECK(access_ns(m, line, 2, true, 5e-6) == Approx(2));  // its own line: an L1 hit as before
  // The same rule for lines with no tracked home (locks, message slots): their home is the writer's node, whose own
  // probe round sets the cost.
  CHECK(line_transfer_ns(m, 0, 1) == Approx(100));
  CHECK(line_transfer_ns(m, 4, 0) == Approx(120 + 16));
  CHECK(line_transfer_ns(m, 0, 4) == Approx(100 + 16));
  CHECK(line_transfer_ns(m, 3, 3) == Approx(2));
  CHECK(line_transfer_ns(two_socket(), 0, 1) == Approx(kSocketNs));  // directory (the default): the shared L3
}

TEST_CASE("coherence: the home node takes one request per occupancy interval, whichever of its lines") {
  json doc = two_socket_doc();
  doc["coherence"] = {{"home_occupancy_ns", 10}};
  Machine m = build_machine(doc, "machine", "test", ".");
  std::vector<CacheLine> lines(8);
  HomeQueue home;
  // 8 first touches: they would overlap (100 ns), but the home node starts one every 10 ns: the last at 70 ns.
  LineAccessCost c = access_lines(m, lines, 0, true, false, 0, 0, home);
  CHECK(c.done_s * 1e9 == Approx(170));
  CHECK(home.last_end_s() * 1e9 == Approx(80));
  // Hits do not reach the home node.
  c = access_lines(m, lines, 0, true, false, 0, 1e-6, home);
  CHECK((c.done_s - 1e-6) * 1e9 == Approx(2));
  CHECK(home.last_end_s() * 1e9 == Approx(80));
  // Another core taking the 8 lines (kSocketNs each through the L3) waits for 8 turns as well; a third core's request
  // for another region of the same node, issued meanwhile, comes after them.
  c = access_lines(m, lines, 1, true, false, 0, 2e-6, home);
  CHECK((c.done_s - 2e-6) * 1e9 == Approx(70 + kSocketNs));
  std::vector<CacheLine> other(1);
  c = access_lines(m, other, 2, false, false, 0, 2e-6, home);
  CHECK((c.done_s - 2e-6) * 1e9 == Approx(80 + 100));
}

TEST_CASE(
    "coherence: the home node serves requests first come, first served, and an earlier one fits before turns "
    "booked ahead of time where there is room") {
  const double turn = 10e-9;
  // In time order: one turn after the other, and a request waiting for its line holds up the ones that came after it.
  HomeQueue fifo;
  double t = 0;
  for (int i = 0; i < 5; ++i) t = fifo.book(0, 0, turn) + turn;
  CHECK(t * 1e9 == Approx(50));
  CHECK(fifo.book(60e-9, 100e-9, turn) * 1e9 == Approx(100));  // its line is busy until 100 ns
  CHECK(fifo.book(70e-9, 70e-9, turn) * 1e9 == Approx(110));   // came after it: served after it

  // A protocol books two requests ahead of time, at 100 ns and 130 ns.
  HomeQueue home;
  CHECK(home.book(100e-9, 100e-9, turn) * 1e9 == Approx(100));
  CHECK(home.book(130e-9, 130e-9, turn) * 1e9 == Approx(130));
  // Requests made afterwards that came earlier: one fits before them; one that would overlap the booking at 100 ns
  // waits until it ends; the next that came at 100 ns is served after the two that came before it, in the 10 ns
  // free before 130 ns; the next after 140 ns.
  CHECK(home.book(50e-9, 50e-9, turn) * 1e9 == Approx(50));
  CHECK(home.book(95e-9, 95e-9, turn) * 1e9 == Approx(110));
  CHECK(home.first_free(100e-9, 100e-9, turn) * 1e9 == Approx(120));
  CHECK(home.book(100e-9, 100e-9, turn) * 1e9 == Approx(120));
  CHECK(home.book(100e-9, 100e-9, turn) * 1e9 == Approx(140));
  CHECK(home.last_end_s() * 1e9 == Approx(150));
  // Turns that ended are forgotten (no request comes earlier any more); the one still running stays.
  home.forget_before(145e-9);
  CHECK(home.first_free(145e-9, 145e-9, turn) * 1e9 == Approx(150));
  home.forget_before(151e-9);
  CHECK(home.last_end_s() == 0);
  CHECK(home.first_free(151e-9, 151e-9, turn) * 1e9 == Approx(151));
}

// --- through the engine: the shared-update workload without a lock ---

namespace {

json shared_update(int cores, json extra = json::object()) {
  json w = {{"kind", "shared-update"}, {"mode", "shared-memory"}, {"sync", "none"}, {"cores", cores}, {"lines", 8},
            {"update_cycles", 0},      {"updates_per_core", 200}};
  w.update(extra);
  return {{"machine", two_socket_doc()}, {"workload", w}, {"run", {{"seed", 1}}}};
}

}  // namespace

TEST_CASE("coherence: one core updating its own structure pays L1 hits, not memory writes") {
  const double alone = metric(run_metrics(shared_update(1)), "cycles_per_update");
  // 8 independent hits of 4 cycles overlap; the first touch (100 ns from memory) spreads over 200 updates.
  CHECK(alone == Approx(4 + 200.0 / 200).epsilon(0.05));
  // With the coherence path off, every update writes its 8 lines to memory again.
  json streamed = shared_update(1);
  streamed["machine"]["memory"]["coherent_region_max_kib"] = 0;
  CHECK(metric(run_metrics(streamed), "cycles_per_update") > 20 * alone);
}

TEST_CASE("coherence: cores updating one structure without a lock wait for its lines in turn") {
  // Two cores of one socket: each update waits for the other's hand-over of the 8 lines (kSocketNs each, overlapped).
  json same = shared_update(2);
  const double near = metric(run_metrics(same), "cycles_per_update");
  CHECK(near == Approx(2 * kSocketNs * 2.0).epsilon(0.1));
  // One core on each socket: kCrossNs a hand-over.
  json across = shared_update(2, {{"first_core", 3}});
  const double far = metric(run_metrics(across), "cycles_per_update");
  CHECK(far == Approx(2 * kCrossNs * 2.0).epsilon(0.1));
  // More cores: every update waits for the k - 1 others', and the rate does not grow.
  json four = run_metrics(shared_update(4)), eight = run_metrics(shared_update(8));
  CHECK(metric(four, "cycles_per_update") == Approx(4 * kSocketNs * 2.0).epsilon(0.1));
  CHECK(metric(eight, "cycles_per_update") > 2 * metric(four, "cycles_per_update"));
  CHECK(metric(eight, "updates_per_s") <= metric(four, "updates_per_s"));
}

TEST_CASE("coherence: with a busy home node an update's cost grows with the lines it writes and the cores") {
  // 20 ns per request at the home node, more than a hand-over through the L3 (kSocketNs) spread over 8 lines: with
  // many cores the home node sets the pace, one request per 20 ns for every line of every update.
  auto cycles = [](int cores, int lines) {
    json doc = shared_update(cores, {{"lines", lines}});
    doc["machine"]["coherence"] = {{"home_occupancy_ns", 20}};
    return metric(run_metrics(doc), "cycles_per_update");
  };
  const double two = cycles(4, 2), eight = cycles(4, 8);
  CHECK(eight == Approx(4 * 8 * 20 * 2.0).epsilon(0.1));   // k cores x n lines x 20 ns, at 2 GHz
  CHECK(eight / two == Approx(4).epsilon(0.15));           // linear in the lines
  CHECK(cycles(8, 8) / eight == Approx(2).epsilon(0.15));  // and in the cores
  // Without the occupancy, the 8 lines' hand-overs overlap: the cost hardly depends on the lines.
  CHECK(metric(run_metrics(shared_update(4, {{"lines", 8}})), "cycles_per_update") <
        1.5 * metric(run_metrics(shared_update(4, {{"lines", 2}})), "cycles_per_update"));
}
