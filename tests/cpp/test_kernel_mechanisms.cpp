// The mechanisms the validation against published measurements rests on (docs/validation.md), each checked to the
// nanosecond on a small machine whose line transfers are known (test_two_sockets.hpp).
#include <catch2/catch.hpp>
#include <map>

#include "sim/api/agreement.hpp"
#include "sim/api/kernel.hpp"
#include "sim/config.hpp"
#include "sim/engine.hpp"
#include "sim/machine_config.hpp"
#include "test_cpu_double.hpp"
#include "test_two_sockets.hpp"

using namespace mksim;
using mksim::test::kCrossNs;
using mksim::test::kSocketNs;
using mksim::test::two_socket_doc;

namespace {

// A Cpu that keeps accounts only, to run a protocol without a simulation.
class LedgerCpu final : public QuietCpu {
 public:
  using QuietCpu::QuietCpu;
  void run_handler(int, int target, double, double, double seconds) override { handled_s[target] += seconds; }
  std::map<int, double> handled_s;  // handler time each core ran
};

double protocol_ns(const std::string& a, std::vector<int> targets, AgreementCosts k) {
  Machine m = build_machine(two_socket_doc(), "machine", "test", ".");
  LedgerCpu cpu(m, 0);
  return run_agreement(cpu, *make_agreement(a), targets, k) * 1e9;
}

json run_metrics(const json& kernel, const json& workload) {
  json doc = {{"machine", two_socket_doc()}, {"kernel", kernel}, {"workload", workload}, {"run", {{"seed", 1}}}};
  json r = run_isolated(resolve_scenario(doc, "test", ".")).doc;
  REQUIRE(r["summary"]["status"] == "completed");
  return r["workload"]["metrics"];
}

double one_way_cycles(const json& kernel, const json& placement, const std::string& address_spaces = "shared",
                      const json& cpu = json::object()) {
  json doc = {
      {"machine", two_socket_doc()},
      {"kernel", kernel},
      {"workload",
       {{"kind", "ipc-pingpong"}, {"placement", placement}, {"round_trips", 50}, {"address_spaces", address_spaces}}},
      {"run", {{"seed", 1}}}};
  doc["machine"]["cpu"] = cpu;
  json r = run_isolated(resolve_scenario(doc, "test", ".")).doc;
  REQUIRE(r["summary"]["status"] == "completed");
  return r["workload"]["metrics"].at("one_way_cycles").get<double>();
}

double unmap_cycles(const json& kernel, int cores) {
  return run_metrics(kernel, {{"kind", "unmap"}, {"cores", cores}, {"iterations", 10}})
      .at("latency_cycles")
      .get<double>();
}

}  // namespace

TEST_CASE("agreement: IPI broadcast pays two mask-line transfers per acknowledgement (the initiator spins on it)") {
  const AgreementCosts ipi{300, 1000, 500};  // 150 ns per send, 500 ns per handler at 2 GHz
  // Send (150) + request line (kCrossNs) + delivery (500) + handler (500) = 1,240 ns, then the target takes the mask
  // line from the spinning initiator (kCrossNs) and the initiator reads it back (kCrossNs).
  CHECK(protocol_ns("ipi-broadcast", {4}, ipi) == Approx(150 + 3 * kCrossNs + 500 + 500));
  // A second target on the same socket: its IPI leaves 150 ns later and it reads the request line from core 4
  // (kSocketNs); its clear (at 300 + 500 + 40 + 500 = 1,340 ns) comes after the spinning initiator's read, issued when
  // core 4's clear took the line (1,330 ns): the line goes back to the initiator (1,420), then to core 5 (kCrossNs to
  // invalidate the initiator's copy across the sockets: 1,510) and back (1,600).
  CHECK(protocol_ns("ipi-broadcast", {4, 5}, ipi) == Approx(1240 + 4 * kCrossNs).margin(3));
  CHECK(protocol_ns("ipi-broadcast", {4, 5}, ipi) > protocol_ns("ipi-broadcast", {4}, ipi));
  // Inside a socket the line moves through the shared L3: kSocketNs a transfer.
  CHECK(protocol_ns("ipi-broadcast", {1}, ipi) == Approx(150 + kSocketNs + 500 + 500 + 2 * kSocketNs));
}

TEST_CASE("agreement: a message on a polled line is seen two transfers after it is written") {
  const AgreementCosts urpc{60, 860, 0};  // 30 ns to send, 430 ns to handle
  // Send (30), invalidate + fetch (2 transfers), handle (430); the initiator's copy of the ack line is invalidated and
  // its next poll fetches it (2 transfers).
  CHECK(protocol_ns("unicast", {4}, urpc) == Approx(30 + 2 * kCrossNs + 430 + 2 * kCrossNs));
  CHECK(protocol_ns("unicast", {1}, urpc) == Approx(30 + 2 * kSocketNs + 430 + 2 * kSocketNs));
}

TEST_CASE("agreement: NUMA-aware multicast serves the initiator's own package directly, others through a leader") {
  const AgreementCosts urpc{60, 860, 0};
  CHECK(protocol_ns("numa-multicast", {1, 2, 3}, urpc) == Approx(protocol_ns("unicast", {1, 2, 3}, urpc)));
  // The other socket's four cores: one message across to core 4 (seen at 30 + 2 x 90 = 210 ns), which forwards it
  // first to 5, 6, 7 through their shared L3 (writes at 240, 270, 300 ns, each read two transfers of 40 ns later and
  // handled in 430 ns, each ack seen two transfers after), handles its own request (300 + 430 = 730 ns), has the three
  // acks (the last by 300 + 80 + 430 + 80 = 890 ns), then its aggregated ack crosses back (2 x 90).
  CHECK(protocol_ns("numa-multicast", {4, 5, 6, 7}, urpc) ==
        Approx(30 + 2 * kCrossNs + 3 * 30 + 2 * kSocketNs + 430 + 2 * kSocketNs + 2 * kCrossNs));
  Machine m = build_machine(two_socket_doc(), "machine", "test", ".");
  LedgerCpu cpu(m, 0);
  run_agreement(cpu, *make_agreement("numa-multicast"), {0, 1, 2, 3, 4, 5, 6, 7}, urpc);
  CHECK(cpu.handled_s.size() == 7);  // every other core handled the request once
}

TEST_CASE("microkernel: a same-core IPC switches to the receiver inside the fast path, with no scheduler switch") {
  json k = {{"architecture", "microkernel"}, {"microkernel", {{"context_switch_cycles", 5000}}}};
  // Kernel entry + exit 60 (machine default) + fast path 140: seL4 on Haswell, 301 cycles, between two address
  // spaces, whose switch adds the machine's 100 cycles.
  CHECK(one_way_cycles(k, "same-core", "shared") == Approx(200).epsilon(0.001));
  CHECK(one_way_cycles(k, "same-core", "separate") == Approx(300).epsilon(0.001));
  // On a CPU without a tagged TLB the four pages the IPC touches again (microkernel.switch_pages) are walked again.
  const json untagged = {{"tagged_tlb", false}, {"page_walk_cycles", 30}};
  CHECK(one_way_cycles(k, "same-core", "separate", untagged) == Approx(420).epsilon(0.001));
  k["microkernel"]["switch_pages"] = 2;
  CHECK(one_way_cycles(k, "same-core", "separate", untagged) == Approx(360).epsilon(0.001));
}

TEST_CASE("multikernel: same-core messages are LRPCs (trap + dispatch), cross-core ones URPC over polled lines") {
  json k = {{"architecture", "multikernel"}, {"multikernel", {{"trap_cycles", 100}, {"context_switch_cycles", 700}}}};
  // Kernel entry + exit 60 + the CPU driver's 100, then the dispatch 700; another domain's adds its address space.
  CHECK(one_way_cycles(k, "same-core") == Approx(860).epsilon(0.001));
  CHECK(one_way_cycles(k, "same-core", "separate") == Approx(960).epsilon(0.001));
  CHECK(one_way_cycles(k, "same-core", "separate", {{"tagged_tlb", false}, {"page_walk_cycles", 50}}) ==
        Approx(960 + 4 * 50).epsilon(0.001));
  // send 60 + 2 transfers + receive 60, at 2 cycles a ns: within a socket, across the sockets.
  CHECK(one_way_cycles(k, json::array({0, 1})) == Approx(60 + 2 * 2 * kSocketNs + 60).epsilon(0.001));
  CHECK(one_way_cycles(k, json::array({0, 4})) == Approx(60 + 2 * 2 * kCrossNs + 60).epsilon(0.001));
  // Cross-core messages enter no kernel and switch no address space: the CPU's costs do not matter.
  CHECK(one_way_cycles(k, json::array({0, 4}), "separate", {{"kernel_entry_exit_cycles", 500}}) ==
        Approx(60 + 2 * 2 * kCrossNs + 60).epsilon(0.001));
}

TEST_CASE("multikernel: a wake-up is a message to the target's monitor, with an IPI when that core is idle") {
  Machine m = build_machine(two_socket_doc(), "machine", "test", ".");
  const auto* e = ArchitectureRegistry::instance().find("multikernel");
  REQUIRE(e);
  auto wake_ns = [&](bool target_idle) {
    auto kernel =
        e->make(Params(e->info.params->resolve(json::object(), "kernel.multikernel", ""), "kernel.multikernel", ""));
    kernel->init(m, {});
    class IdleTargets final : public QuietCpu {
     public:
      IdleTargets(const Machine& m, bool idle) : QuietCpu(m, 0), idle_(idle) {}
      bool is_idle(int) const override { return idle_; }

     private:
      bool idle_;
    } cpu(m, target_idle);
    return kernel->wakeup(cpu, 4) * 1e9;
  };
  // Core 0 writes a line of the channel (invalidating core 4's copy across the sockets), core 4's monitor reads it;
  // an idle core 4 first needs the IPI (500 ns, the multikernel's default delivery).
  CHECK(wake_ns(false) == Approx(2 * kCrossNs));
  CHECK(wake_ns(true) == Approx(2 * kCrossNs + 500));
}

TEST_CASE("every kernel builds its traps and address-space switches on the machine's CPU costs") {
  // A same-core ping-pong: one more cycle of the CPU's kernel entry + exit costs each kernel one cycle per crossing on
  // a message's path; one more cycle of its address-space switch costs each kernel one cycle per message between two
  // processes (the core switches from one to the other once per message), and nothing between threads of one
  // process. The same piece of code (policies/kernel_costs.hpp) in every architecture.
  const std::map<std::string, double> crossings = {
      {"monolithic", 2},   // a pipe write and a read, each a system call
      {"microkernel", 1},  // the IPC fast path
      {"multikernel", 1},  // the LRPC trap into the CPU driver
      {"exokernel", 0},    // shared memory set up by the library OSes: no kernel on the way
  };
  for (const auto& [arch, n] : crossings) {
    INFO(arch);
    const json k = {{"architecture", arch}};
    const double base = one_way_cycles(k, "same-core", "shared");
    CHECK(one_way_cycles(k, "same-core", "shared", {{"kernel_entry_exit_cycles", 160}}) - base ==
          Approx(100 * n).margin(0.01));
    const double shared = one_way_cycles(k, "same-core", "shared", {{"address_space_switch_cycles", 350}});
    CHECK(shared == Approx(base).margin(0.01));
    CHECK(one_way_cycles(k, "same-core", "separate", {{"address_space_switch_cycles", 350}}) - shared ==
          Approx(350).margin(0.01));
    // Untagged: the switch also walks the pages touched again (each kernel's switch_pages, 4 by default).
    CHECK(one_way_cycles(k, "same-core", "separate",
                         {{"address_space_switch_cycles", 350}, {"tagged_tlb", false}, {"page_walk_cycles", 25}}) -
              shared ==
          Approx(350 + 4 * 25).margin(0.01));
  }
}

TEST_CASE("multikernel: an unmap is an LRPC to the monitor and back around the monitor's work and the agreement") {
  json k = {{"architecture", "multikernel"}, {"multikernel", {{"trap_cycles", 100}, {"context_switch_cycles", 1000}}}};
  // 2 LRPCs, each a trap (60 + 100), the dispatch (1000) and the switch to the other domain's address space (100);
  // monitor 5994; local invalidation (trap 160 + 1 page x 50); NUMA-aware multicast to core 1 through the shared L3:
  // send 60, 2 transfers of 80 cycles, the target monitor's handler (receive 60, its CPU driver's trap 160 and 1 page
  // x 50, the ack's send 60), 2 transfers, and the initiator's receive of the acknowledgement 60 = 770 cycles.
  const double multicast = 60 + 2 * 2 * kSocketNs + (60 + 160 + 50 + 60) + 2 * 2 * kSocketNs + 60;
  CHECK(unmap_cycles(k, 2) == Approx(2 * 1260 + 5994 + 210 + multicast).epsilon(0.001));
  k["multikernel"]["monitor_request_cycles"] = 0;
  CHECK(unmap_cycles(k, 2) == Approx(2 * 1260 + 210 + multicast).epsilon(0.001));
  // The targets' handlers do not use the replicated-state handler estimate.
  k["multikernel"]["monitor_handler_cycles"] = 100000;
  CHECK(unmap_cycles(k, 2) == Approx(2 * 1260 + 210 + multicast).epsilon(0.001));
}

TEST_CASE("monolithic: munmap pays its VMA bookkeeping besides the per-page work and the shootdown") {
  json k = {{"architecture", "monolithic"}};
  double with = unmap_cycles(k, 2);
  k["monolithic"] = {{"vma_cycles", 0}};
  CHECK(with - unmap_cycles(k, 2) == Approx(1870).epsilon(0.001));
}
