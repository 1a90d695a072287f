#include <catch2/catch.hpp>
#include <map>

#include "models/costs.hpp"
#include "sim/api/agreement.hpp"
#include "sim/api/kernel.hpp"
#include "sim/api/workload.hpp"
#include "sim/config.hpp"
#include "sim/engine.hpp"
#include "sim/machine_config.hpp"
#include "test_workload_support.hpp"

using namespace mksim;
using mksim::test::run_checked;

namespace {

// A Cpu that only keeps accounts: for exercising kernel models and protocols without a simulation.
class AccountingCpu final : public Cpu {
 public:
  AccountingCpu(const Machine& m, int core) : m_(m), core_(core) {}
  int core() const override { return core_; }
  const Machine& machine() const override { return m_; }
  double now_s() const override { return spent_s; }
  void spend_cycles(double cycles, Work w) override { spend_s(cycles / (m_.cores[core_].freq_ghz * 1e9), w); }
  void spend_s(double s, Work w) override { (w == Work::Kernel ? kernel_s : user_s) += s, spent_s += s; }
  void lock(SpinLock&) override { ++locks; }
  void unlock(SpinLock&) override {}
  void run_handler(int, int target, double, double, double seconds) override { handled_s[target] += seconds; }
  void count(const char* kind, uint64_t n) override { counts[kind] += n; }
  void sync() override {}
  void block_until(double until_s, const char*) override { blocked_until = until_s; }
  bool is_idle(int) const override { return false; }

  double spent_s = 0, kernel_s = 0, user_s = 0, blocked_until = -1;
  int locks = 0;
  std::map<int, double> handled_s;  // handler time each core ran
  std::map<std::string, uint64_t> counts;

 private:
  const Machine& m_;
  int core_;
};

// 8 sockets x 4 cores, one node per socket, HyperTransport-like hop latencies on a ring of sockets.
Machine eight_socket() {
  return build_machine(json::parse(R"({"sockets": 8, "cores_per_socket": 4, "freq_ghz": 2.0,
      "caches": {"l3": {"shared_by": "socket", "latency_cycles": 40}},
      "interconnect": {"topology": "ring", "hop_latency_ns": 60}})"),
                       "machine", "test", ".");
}

std::vector<int> first_cores(int k) {
  std::vector<int> v;
  for (int i = 0; i < k; ++i) v.push_back(i);
  return v;
}

// The architectures' default costs: interrupts for IPI broadcast, URPC messages handled by monitors otherwise.
double agreement_cycles(const Machine& m, const std::string& a, int k) {
  AccountingCpu cpu(m, 0);
  AgreementCosts costs = a == "ipi-broadcast" ? AgreementCosts{300, 1000, 500} : AgreementCosts{60, 860, 0};
  return run_agreement(cpu, *make_agreement(a), first_cores(k), costs) * m.cores[0].freq_ghz * 1e9;
}

// A test-only workload: `threads` threads pinned to cores 0..k-1 that make `calls` system calls of one class.
class SyscallLoop final : public Workload {
 public:
  explicit SyscallLoop(const Params& p) : p_(p) {}
  void setup(WorkloadEnv& env) override {
    uint32_t proc = env.create_process("calls", {});
    SyscallClass c;
    parse_syscall_class(p_.text("class"), c);
    for (int i = 0; i < p_.integer("threads"); ++i)
      env.create_thread(proc, {"caller", {i}, -1},
                        boxed(body(static_cast<int>(p_.integer("calls")), c, p_.number("work_cycles"))));
  }
  Metrics metrics(const RunView& run) const override {
    double span = 0;
    for (const auto& t : run.threads) span = std::max(span, t.end_s - t.start_s);
    return {{"makespan_s", span}};
  }

 private:
  static Program body(int calls, SyscallClass c, double work) {
    for (int i = 0; i < calls; ++i) {
      co_await Op::compute(100);
      co_await Op::syscall(c, work);
    }
  }
  Params p_;
};
WorkloadRegistry::Add reg_loop("workload", "test-syscall-loop", "test: threads making system calls",
                               Schema{Field::integer("threads", 1, "", ""), Field::integer("calls", 1000, "", ""),
                                      Field::text("class", "file", ""), Field::number("work_cycles", 300, "", "")},
                               [](const Params& p) { return std::make_unique<SyscallLoop>(p); });

// A test-only workload: a thread on core 0 computes `busy_cycles` while a thread on core 1 makes one file-service call
// after 1000 cycles; reports how long the caller took.
class BusyReplica final : public Workload {
 public:
  explicit BusyReplica(const Params& p) : p_(p) {}
  void setup(WorkloadEnv& env) override {
    uint32_t proc = env.create_process("calls", {});
    env.create_thread(proc, {"busy", {0}, -1}, boxed(busy(p_.number("busy_cycles"))));
    caller_ = env.create_thread(proc, {"caller", {1}, -1}, boxed(caller()));
  }
  Metrics metrics(const RunView& run) const override {
    const auto& t = run.threads[caller_];
    return {{"caller_s", t.end_s - t.start_s}};
  }

 private:
  static Program busy(double cycles) { co_await Op::compute(cycles); }
  static Program caller() {
    co_await Op::compute(1000);
    co_await Op::syscall(SyscallClass::File, 300);
  }
  Params p_;
  uint32_t caller_ = 0;
};
WorkloadRegistry::Add reg_busy("workload", "test-busy-replica", "test: a file call while core 0 computes",
                               Schema{Field::number("busy_cycles", 2e6, "", "")},
                               [](const Params& p) { return std::make_unique<BusyReplica>(p); });

// A test-only workload: `threads` threads on cores 0..k-1 run first (so their TLBs hold the address space), then
// thread 0 unmaps `unmaps` times while the others wait; they are released at the end.
class UnmapLoop final : public Workload {
 public:
  explicit UnmapLoop(const Params& p) : p_(p) {}
  void setup(WorkloadEnv& env) override {
    uint32_t proc = env.create_process("space", {});
    int k = static_cast<int>(p_.integer("threads"));
    for (int i = 1; i < k; ++i) env.create_thread(proc, {"sharer", {i}, -1}, boxed(sharer()));
    first_ = env.create_thread(proc, {"unmapper", {0}, -1}, boxed(unmapper(static_cast<int>(p_.integer("unmaps")), k)));
  }
  Metrics metrics(const RunView& run) const override {
    const auto& t = run.threads[first_];
    return {{"unmap_phase_s", t.end_s - t.start_s}};
  }

 private:
  static Program sharer() {
    co_await Op::compute(1000);
    co_await Op::wait();
  }
  static Program unmapper(int unmaps, int k) {
    co_await Op::compute(20000);  // the sharers have run by now
    for (int i = 0; i < unmaps; ++i) co_await Op::unmap(4096);
    for (int t = 0; t < k - 1; ++t) co_await Op::wake(static_cast<uint32_t>(t));
  }
  Params p_;
  uint32_t first_ = 0;
};
WorkloadRegistry::Add reg_unmap("workload", "test-unmap-loop", "test: one thread unmapping a shared address space",
                                Schema{Field::integer("threads", 2, "", ""), Field::integer("unmaps", 50, "", "")},
                                [](const Params& p) { return std::make_unique<UnmapLoop>(p); });

json small_machine() {
  return json::parse(R"({"sockets": 2, "cores_per_socket": 8, "freq_ghz": 2.0,
                         "interconnect": {"latency_ns": [[80, 140], [140, 80]]}})");
}

}  // namespace

TEST_CASE("architecture: all four are registered and accept the shootdown choices") {
  for (const char* a : {"monolithic", "microkernel", "multikernel", "exokernel"}) {
    INFO(a);
    REQUIRE(ArchitectureRegistry::instance().find(a));
    for (const auto& sd : AgreementRegistry::instance().names()) {
      json doc = {{"machine", small_machine()},
                  {"kernel", {{"architecture", a}, {"shootdown", sd}}},
                  {"workload", {{"kind", "compute"}, {"threads", 1}}}};
      CHECK_NOTHROW(resolve_scenario(doc, "t", "."));
    }
  }
  json bad = {
      {"machine", small_machine()}, {"kernel", {{"shootdown", "numa-multicst"}}}, {"workload", {{"kind", "compute"}}}};
  CHECK_THROWS_WITH(resolve_scenario(bad, "t", "."), Catch::Contains("did you mean 'numa-multicast'"));
}

TEST_CASE(
    "architecture: syscall-heavy work costs more under microkernel IPC than a monolithic trap, less as a "
    "library call") {
  std::map<std::string, double> span;
  for (const char* a : {"monolithic", "microkernel", "exokernel", "multikernel"}) {
    json doc = {{"machine", small_machine()},
                {"kernel", {{"architecture", a}}},
                {"workload", {{"kind", "test-syscall-loop"}, {"threads", 1}, {"calls", 2000}}}};
    span[a] = run_checked(doc)["workload"]["metrics"]["makespan_s"];
  }
  CHECK(span["microkernel"] > 1.3 * span["monolithic"]);
  CHECK(span["exokernel"] < 0.8 * span["monolithic"]);
  CHECK(span["multikernel"] < span["microkernel"]);
}

TEST_CASE("architecture: shared-lock contention grows with cores under monolithic, not under multikernel") {
  auto per_call_ns = [](const char* arch, int threads) {
    json doc = {{"machine", small_machine()},
                {"kernel", {{"architecture", arch}}},
                {"workload", {{"kind", "test-syscall-loop"}, {"threads", threads}, {"calls", 500}}}};
    json r = run_checked(doc);
    return r["workload"]["metrics"]["makespan_s"].get<double>() / 500 * 1e9;
  };
  double mono1 = per_call_ns("monolithic", 1), mono16 = per_call_ns("monolithic", 16);
  double multi1 = per_call_ns("multikernel", 1), multi16 = per_call_ns("multikernel", 16);
  CHECK(mono16 > 2.0 * mono1);
  CHECK(multi16 == Approx(multi1).epsilon(0.05));
}

TEST_CASE("architecture: a single-threaded server on another core is a queue that saturates") {
  auto span = [](int server_threads) {
    json doc = {{"machine", small_machine()},
                {"kernel",
                 {{"architecture", "microkernel"},
                  {"microkernel", {{"file_server_core", 12}, {"server_threads", server_threads}}}}},
                {"workload", {{"kind", "test-syscall-loop"}, {"threads", 8}, {"calls", 200}, {"work_cycles", 2000}}}};
    return run_checked(doc)["workload"]["metrics"]["makespan_s"].get<double>();
  };
  double one = span(1), four = span(4);
  // 8 clients x 200 calls x >= 2000 cycles of service at 2 GHz, all through one server thread.
  CHECK(one >= 8 * 200 * 2000 / 2e9);
  // Four workers on cores 12..15, which no client uses, serve four requests at a time.
  CHECK(four < 0.4 * one);
}

TEST_CASE("architecture: a multikernel's busy service replica sees a polled request at its next poll, an IPI at once") {
  // Per-node replicas: core 1's requests go to core 0's monitor, while core 0 computes for 1 ms (2e6 cycles at 2 GHz).
  auto caller_us = [](const char* notification) {
    json doc = {{"machine", small_machine()},
                {"kernel",
                 {{"architecture", "multikernel"},
                  {"multikernel", {{"service_replicas", "per-node"}, {"notification", notification}}}}},
                {"workload", {{"kind", "test-busy-replica"}, {"busy_cycles", 2e6}}}};
    return run_checked(doc)["workload"]["metrics"]["caller_s"].get<double>() * 1e6;
  };
  const double polled = caller_us("poll"), interrupted = caller_us("ipi");
  INFO("polled " << polled << " us, interrupted " << interrupted << " us");
  CHECK(polled >= 1000.0 - 0.5);  // the replica polls when its computation ends
  CHECK(interrupted < 5.0);       // an interrupt preempts the computation: a request's round trip of a few us
}

TEST_CASE(
    "architecture: a server on another core serves each request when its turn comes, and the trace shows it then") {
  json doc = {{"machine", small_machine()},
              {"kernel", {{"architecture", "microkernel"}, {"microkernel", {{"file_server_core", 12}}}}},
              {"workload", {{"kind", "test-syscall-loop"}, {"threads", 8}, {"calls", 50}, {"work_cycles", 2000}}}};
  const auto [r, events] = test::run_traced(doc, "mksim_test_architectures_server");
  std::vector<std::pair<double, double>> served;  // the server core's handler slices, in microseconds
  double longest_wait_us = 0;
  for (const auto& e : events) {
    if (e.value("tid", 0) != 13) continue;  // core 12
    if (e.value("ph", "") == "X" && e["name"] == "interrupt")
      served.emplace_back(e["ts"].get<double>(), e["ts"].get<double>() + e["dur"].get<double>());
    if (e.value("name", "") == "IPI" && e.contains("args") && e["args"].contains("latency_us"))
      longest_wait_us = std::max(longest_wait_us, e["args"]["latency_us"].get<double>());
  }
  // Every request is served on the server's core, one after the other, each for at least its 2000 cycles of work
  // (1 us at 2 GHz), while the run goes on: not taken all at once when that core next runs a thread.
  REQUIRE(served.size() == 8 * 50);
  std::sort(served.begin(), served.end());
  for (size_t i = 0; i < served.size(); ++i) {
    CHECK(served[i].second - served[i].first >= 1.0 - 1e-3);
    if (i > 0) CHECK(served[i].first >= served[i - 1].second - 1e-3);  // the trace's grid is 1/4096 us
  }
  const double makespan_us = r["workload"]["metrics"]["makespan_s"].get<double>() * 1e6;
  CHECK(served.back().second <= makespan_us);
  CHECK(served.front().first < 0.01 * makespan_us);
  // Eight callers share one server thread: requests wait for the ones before them.
  CHECK(longest_wait_us > 3.0);
  // The server's core did nothing else: its busy time is the requests' service.
  double serving_s = 0;
  for (const auto& [a, b] : served) serving_s += (b - a) * 1e-6;
  CHECK(r["cores"][12]["busy_s"].get<double>() == Approx(serving_s).epsilon(1e-3));
}

TEST_CASE(
    "architecture: NUMA-aware multicast shootdown beats IPI broadcast on a many-socket machine at high core "
    "counts") {
  Machine m = eight_socket();
  const double ipi2 = agreement_cycles(m, "ipi-broadcast", 2);
  const double ipi32 = agreement_cycles(m, "ipi-broadcast", 32);
  const double numa2 = agreement_cycles(m, "numa-multicast", 2);
  const double numa32 = agreement_cycles(m, "numa-multicast", 32);
  CHECK(numa32 < 0.6 * ipi32);
  CHECK(numa2 < ipi2);
  // IPI broadcast: every core acknowledges through one bouncing line; NUMA multicast: one message per socket,
  // forwarded inside it, so each added core costs far less.
  CHECK(numa32 - numa2 < 0.6 * (ipi32 - ipi2));
  // Point-to-point protocols pay per core, hierarchical ones per socket (Baumann et al., Figure 6). This machine has
  // no home-node occupancy, so unicast's overlapping stores only cost their sends and the initiator's reads.
  CHECK(agreement_cycles(m, "unicast", 32) > 1.1 * numa32);
  CHECK(agreement_cycles(m, "broadcast", 32) > 1.2 * numa32);
  // Every target was interrupted exactly once, whichever the protocol.
  AccountingCpu cpu(m, 0);
  run_agreement(cpu, *make_agreement("numa-multicast"), first_cores(32), AgreementCosts{60, 860, 0});
  CHECK(cpu.handled_s.size() == 31);
  CHECK(cpu.handled_s.count(0) == 0);
}

TEST_CASE(
    "architecture: in simulation, unmap latency grows with sharing cores faster under monolithic than under "
    "multikernel") {
  auto unmap_us = [](const char* arch, int k) {
    json doc = {{"machine", json::parse(R"({"sockets": 8, "cores_per_socket": 4, "freq_ghz": 2.0,
                                            "interconnect": {"topology": "ring", "hop_latency_ns": 60}})")},
                {"kernel", {{"architecture", arch}}},
                {"workload", {{"kind", "test-unmap-loop"}, {"threads", k}, {"unmaps", 20}}}};
    json r = run_checked(doc);
    CHECK(r["summary"]["status"] == "completed");
    return r["workload"]["metrics"]["unmap_phase_s"].get<double>() / 20 * 1e6;
  };
  double mono2 = unmap_us("monolithic", 2), mono32 = unmap_us("monolithic", 32);
  double multi2 = unmap_us("multikernel", 2), multi32 = unmap_us("multikernel", 32);
  CHECK(mono32 / mono2 > multi32 / multi2);
  CHECK(multi32 < mono32);
}

TEST_CASE("architecture: exokernel library OSes contend only when they touch shared state") {
  auto span = [](int every) {
    json doc = {{"machine", small_machine()},
                {"kernel", {{"architecture", "exokernel"}, {"exokernel", {{"shared_state_every", every}}}}},
                {"workload", {{"kind", "test-syscall-loop"}, {"threads", 16}, {"calls", 300}}}};
    json r = run_checked(doc);
    double spin = 0;
    for (const auto& c : r["cores"]) spin += c["spin_s"].get<double>();
    return std::make_pair(r["workload"]["metrics"]["makespan_s"].get<double>(), spin);
  };
  auto never = span(0), always = span(1);
  CHECK(never.second == 0);
  CHECK(always.second > 0);
  CHECK(always.first > never.first);
}
