// Agreement protocols run as messages (policies/agreement.cpp, docs/protocols.md): targets handle requests when their
// core runs the handler, the initiator waits for real acknowledgements, and the four protocols of Baumann et al.'s
// Figure 6 differ by mechanism.
#include <catch2/catch.hpp>
#include <map>

#include "sim/api/agreement.hpp"
#include "sim/config.hpp"
#include "sim/engine.hpp"
#include "sim/machine_config.hpp"
#include "test_cpu_double.hpp"
#include "test_two_sockets.hpp"
#include "test_workload_support.hpp"

using namespace mksim;
using mksim::test::kCrossNs;
using mksim::test::kSocketNs;
using mksim::test::two_socket;

namespace {

// A Cpu double whose cores are busy until a given time: a polling target reads its channel only then.
class BusyCpu final : public QuietCpu {
 public:
  using QuietCpu::QuietCpu;
  void count(const char* kind, uint64_t n) override { counts[kind] += n; }
  double handler_start_s(int target, double visible_s, bool ipi) const override {
    auto it = busy_until_s.find(target);
    return ipi || it == busy_until_s.end() ? visible_s : std::max(visible_s, it->second);
  }
  void run_handler(int from, int target, double sent_s, double start_s, double seconds) override {
    handler_start[target] = start_s;
    handlers[target] += 1;
  }
  std::map<int, double> busy_until_s, handler_start;
  std::map<int, int> handlers;
  std::map<std::string, uint64_t> counts;
};

const AgreementCosts kUrpc{60, 860, 500, false};  // 30 ns to send, 430 ns to handle; IPIs take 500 ns

std::vector<int> range(int from, int to) {
  std::vector<int> v;
  for (int i = from; i < to; ++i) v.push_back(i);
  return v;
}

// Two packages of 4 cores under broadcast coherence whose home nodes take one request per microsecond: where a
// channel's lines are and what else queues there shows in a protocol's time.
Machine slow_home_machine() {
  return build_machine(json::parse(R"({"sockets": 2, "cores_per_socket": 4, "freq_ghz": 2.0,
      "coherence": {"protocol": "broadcast", "home_occupancy_ns": 1000},
      "interconnect": {"latency_ns": [[100, 150], [150, 100]]}})"),
                       "machine", "test", ".");
}

json run_doc(const json& doc, const std::string& outdir = "") {
  json r = test::run_checked(doc, outdir);
  REQUIRE(r["summary"]["status"] == "completed");
  return r;
}

// Runs the unmap workload (20 unmaps of one page by 8 cores) on `preset` with the trace output; returns the results
// and the trace's events.
std::pair<json, json> traced_unmap(const char* preset, const std::string& name) {
  json doc = {{"machine", {{"preset", preset}}},
              {"kernel", {{"architecture", "monolithic"}}},
              {"workload", {{"kind", "unmap"}, {"cores", 8}, {"pages", 1}, {"iterations", 20}}},
              {"run", {{"seed", 1}}}};
  return test::run_traced(doc, name);
}

// The agreement part of the Barrelfish unmap on the 8x4-core AMD (the validation's Figure 6 experiment): the unmap's
// latency at `k` cores less the same at 1 core, in cycles.
double fig6_cycles(const std::string& protocol, int k) {
  auto latency = [&](int cores) {
    json doc = {{"machine", {{"preset", "amd-8x4-2009"}}},
                {"kernel", {{"architecture", "multikernel"}, {"shootdown", protocol}}},
                {"workload", {{"kind", "unmap"}, {"cores", cores}, {"pages", 1}, {"iterations", 10}}},
                {"run", {{"seed", 1}}}};
    return run_doc(doc)["workload"]["metrics"]["latency_cycles"].get<double>();
  };
  return latency(k) - latency(1);
}

}  // namespace

TEST_CASE("protocols: a polled message to a busy target waits until its handler runs; an IPI preempts it") {
  Machine m = two_socket();
  const auto unicast = make_agreement("unicast");
  BusyCpu idle(m, 0);
  const double free_ns = unicast->run_ns(idle, {4}, kUrpc);
  // Send (30), invalidate the target's copy and its poll's miss (a transfer each), handle (430), the ack's two.
  CHECK(free_ns == Approx(30 + 2 * kCrossNs + 430 + 2 * kCrossNs));
  CHECK(idle.handler_start[4] == Approx((30 + kCrossNs) * 1e-9));  // the write completed: the idle target polls then

  BusyCpu busy(m, 0);
  busy.busy_until_s[4] = 10e-6;  // core 4 runs other work until 10 us: it polls its channel only then
  const double waited_ns = make_agreement("unicast")->run_ns(busy, {4}, kUrpc);
  CHECK(busy.handler_start[4] == Approx(10e-6));
  CHECK(waited_ns == Approx(10000 + kCrossNs + 430 + 2 * kCrossNs));  // the read, the handler and the ack at 10 us

  // With an IPI the busy target's handler starts when the interrupt arrives (send + 500 ns), not at 10 us.
  AgreementCosts ipi = kUrpc;
  ipi.ipi = true;
  BusyCpu preempted(m, 0);
  preempted.busy_until_s[4] = 10e-6;
  const double ipi_ns = make_agreement("unicast")->run_ns(preempted, {4}, ipi);
  CHECK(preempted.handler_start[4] == Approx((30 + 500) * 1e-9));  // sent at 0, the ICR write, delivery
  CHECK(ipi_ns < 2000);
}

TEST_CASE("protocols: NUMA-aware multicast keeps both buffers of a channel at its far end; multicast at its sender") {
  // Under broadcast coherence a transfer costs the same wherever its line's memory is (models/costs.hpp), but every
  // request for a line is ordered by the home node that backs it: with a slow ordering point (1 us a request) where
  // the buffers live shows in the time. Targets: core 1 (the initiator's package) and core 4 (the other).
  Machine m = slow_home_machine();
  BusyCpu numa(m, 0), plain(m, 0);
  const double numa_ns = make_agreement("numa-multicast")->run_ns(numa, {1, 4}, kUrpc);
  const double plain_ns = make_agreement("multicast")->run_ns(plain, {1, 4}, kUrpc);
  INFO("numa-multicast " << numa_ns << " ns, multicast " << plain_ns << " ns");
  // Multicast: both channels' four accesses each (request written and read, acknowledgement written and read) are
  // ordered by node 0, eight in a row (the first finds it free). NUMA-aware: core 4's channel is backed by node 1, so
  // the two channels' accesses are ordered by two homes side by side: four in a row.
  CHECK(plain_ns > 7 * 1000);
  CHECK(numa_ns < 4 * 1000);
  CHECK(plain_ns - numa_ns == Approx(4 * 1000).margin(600));
}

TEST_CASE("protocols: a protocol's messages take turns at the home node with the rest of the run's requests") {
  // A slow ordering point (1 us a request) backs every line of multicast's channel from core 0 to core 1 (node 0).
  Machine m = slow_home_machine();
  BusyCpu quiet(m, 0), loaded(m, 0);
  // In the loaded run, other cores' five requests reached node 0 just before the protocol started.
  for (int i = 0; i < 5; ++i) loaded.home_queue(0).book(0, 0, 1e-6);
  const double quiet_ns = make_agreement("multicast")->run_ns(quiet, {1}, kUrpc);
  const double loaded_ns = make_agreement("multicast")->run_ns(loaded, {1}, kUrpc);
  INFO("quiet " << quiet_ns << " ns, loaded " << loaded_ns << " ns");
  // The protocol's four requests (request written and read, acknowledgement written and read) come after the five.
  CHECK(loaded_ns == Approx(quiet_ns + 5 * 1000).margin(100));
  // And they hold the node for the requests that come after them: its turns are booked until the protocol's end.
  CHECK(quiet.home_queue(0).last_end_s() * 1e9 >= 4 * 1000);
  CHECK(quiet.home_queue(0).first_free(1e-9, 1e-9, 1e-6) * 1e9 > 4 * 1000);
}

TEST_CASE("protocols: in a run, a shootdown's messages wait at the home node for other cores' requests") {
  // Barrelfish unmaps by cores 0 and 1 of the 8x4-core AMD (unicast: the channel's buffers are in node 0's memory),
  // alone and while cores 2 and 3 update a shared structure whose lines node 0 also backs (its first toucher's node).
  const json unmap = {{"kind", "unmap"}, {"cores", 2}, {"pages", 1}, {"iterations", 20}};
  const json update = {{"kind", "shared-update"}, {"mode", "shared-memory"},
                       {"sync", "none"},          {"cores", 2},
                       {"first_core", 2},         {"lines", 8},
                       {"update_cycles", 20},     {"updates_per_core", 3000}};
  auto doc = [](json workload) {
    return json{{"machine", {{"preset", "amd-8x4-2009"}}},
                {"kernel", {{"architecture", "multikernel"}, {"shootdown", "unicast"}}},
                {"workload", std::move(workload)},
                {"run", {{"seed", 1}}}};
  };
  const double alone = run_doc(doc(unmap))["workload"]["metrics"]["latency_cycles"].get<double>();
  const json both = run_doc(doc(json::array({unmap, update})))["workload"]["metrics"];
  const double loaded = both["unmap-0"]["latency_cycles"].get<double>();
  INFO("alone " << alone << " cycles, with the updates " << loaded << " cycles");
  // Each of the unmap's four requests at node 0 (request written and read, acknowledgement written and read) finds
  // the updaters' requests queued there: node 0 takes one per 37.5 ns (75 cycles at 2 GHz).
  CHECK(loaded > alone + 4 * 75);
}

TEST_CASE("protocols: the initiator takes the acknowledgements it reads one after another") {
  Machine m = two_socket();
  BusyCpu fast(m, 0), slow(m, 0);
  AgreementCosts k = kUrpc;
  const double without_ns = make_agreement("unicast")->run_ns(fast, range(1, 8), k);
  k.receive_cycles = 20000;  // 10 us to take each: the 7 acknowledgements, read within 1 us, are taken in turn
  const double with_ns = make_agreement("unicast")->run_ns(slow, range(1, 8), k);
  CHECK(with_ns - without_ns == Approx(7 * 10000).margin(1000));
  CHECK(with_ns - without_ns <= 7 * 10000);
}

TEST_CASE("protocols: every target acknowledges exactly once, and the initiator reads every acknowledgement") {
  Machine m = two_socket();
  for (const char* p : {"ipi-broadcast", "unicast", "broadcast", "multicast", "numa-multicast"}) {
    INFO(p);
    BusyCpu cpu(m, 0);
    AgreementCosts k = kUrpc;
    k.ipi = std::string(p) == "ipi-broadcast";
    run_agreement(cpu, *make_agreement(p), range(0, 8), k);
    CHECK(cpu.counts["agreement_ack"] == 7);
    CHECK(cpu.counts["agreement_message"] == 7);
    CHECK(cpu.handlers.size() == 7);
    for (const auto& [core, n] : cpu.handlers) CHECK(n == 1);
    CHECK(cpu.handlers.count(0) == 0);
  }
}

TEST_CASE("protocols: multicast forwards through one aggregation core per package; broadcast's line bounces") {
  Machine m = two_socket();
  BusyCpu cpu(m, 0);
  // Core 4 sees the request two transfers across after its send (30 + 2 x kCrossNs) and forwards it to 5, 6 and 7
  // through their shared L3 before handling its own: their handlers start after its forwards (30 ns each, the write's
  // invalidation within the socket), not after the initiator's sends.
  make_agreement("multicast")->run_ns(cpu, {4, 5, 6, 7}, kUrpc);
  const double seen_ns = 30 + 2 * kCrossNs;
  CHECK(cpu.handler_start[4] == Approx((30 + kCrossNs) * 1e-9));
  CHECK(cpu.handler_start[5] == Approx((seen_ns + 30 + kSocketNs) * 1e-9));
  CHECK(cpu.handler_start[6] == Approx((seen_ns + 60 + kSocketNs) * 1e-9));
  // Broadcast: one line that the targets read one after another (kSocketNs each inside the socket): each added reader
  // waits for the reads before its own.
  BusyCpu b1(m, 0), b3(m, 0);
  const double one = make_agreement("broadcast")->run_ns(b1, {1}, kUrpc);
  const double three = make_agreement("broadcast")->run_ns(b3, {1, 2, 3}, kUrpc);
  CHECK(three >= one + 2 * kSocketNs - 1e-6);
}

TEST_CASE("protocols: at 32 cores of the 8x4-core AMD, NUMA-aware multicast is cheapest and multicast second") {
  const double numa = fig6_cycles("numa-multicast", 32), multi = fig6_cycles("multicast", 32);
  const double uni = fig6_cycles("unicast", 32), broad = fig6_cycles("broadcast", 32);
  INFO("numa " << numa << " multicast " << multi << " unicast " << uni << " broadcast " << broad);
  CHECK(numa < multi);
  CHECK(multi < 0.6 * uni);
  CHECK(multi < 0.6 * broad);
}

TEST_CASE("protocols: an idle target handles an IPI when it arrives, and the trace shows it then") {
  const auto [r, events] = traced_unmap("amd-8x4-2009", "mksim_test_protocols_ipi");
  int ipis = 0;
  double worst_us = 0;
  for (const auto& e : events)
    if (e.value("name", "") == "IPI" && e.contains("args") && e["args"].contains("latency_us")) {
      ++ipis;
      worst_us = std::max(worst_us, e["args"]["latency_us"].get<double>());
    }
  // 20 unmaps x 7 targets, each handled when its IPI arrives: the ICR write (300 cycles, 150 ns) and the delivery
  // (500 ns) after it was sent, not when the core next runs a thread.
  CHECK(ipis == 20 * 7);
  CHECK(worst_us <= 0.15 + 0.5 + 1e-3);
}

TEST_CASE("protocols: handlers on an idle core split its idle slices, which add up to its idle time") {
  const auto [r, events] = traced_unmap("opteron-4s-64c", "mksim_test_protocols_idle");
  struct Span {
    double a, b;
  };
  std::map<int, std::vector<Span>> idle, handlers;  // by core (tid - 1), in microseconds
  for (const auto& e : events) {
    if (e.value("ph", "") != "X") continue;
    const Span s{e["ts"].get<double>(), e["ts"].get<double>() + e["dur"].get<double>()};
    if (e["name"] == "idle") idle[e["tid"].get<int>() - 1].push_back(s);
    if (e["name"] == "interrupt") handlers[e["tid"].get<int>() - 1].push_back(s);
  }
  int handled_while_idle = 0;
  for (int core = 1; core < 8; ++core) {
    INFO("core " << core);
    auto& spans = idle[core];
    std::sort(spans.begin(), spans.end(), [](const Span& x, const Span& y) { return x.a < y.a; });
    double total_us = 0;
    for (size_t i = 0; i < spans.size(); ++i) {
      total_us += spans[i].b - spans[i].a;
      if (i > 0) CHECK(spans[i].a > spans[i - 1].b);  // stretches that meet are one slice
    }
    // the trace's times are on a 1/4096 us grid: each slice's ends are within half a tick
    CHECK(std::abs(total_us - r["cores"][core]["idle_s"].get<double>() * 1e6) <= spans.size() * 2.5e-4);
    for (const Span& h : handlers[core])
      for (const Span& s : spans) {
        CHECK_FALSE((h.a < s.b && s.a < h.b));  // a handler is not idle time
        if (s.b == h.a) ++handled_while_idle;
      }
  }
  // the helpers wait on their cores, so every shootdown's handler (20 unmaps x 7 targets) interrupts an idle stretch
  CHECK(handled_while_idle == 20 * 7);
}
