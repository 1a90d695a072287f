// Multikernel (Barrelfish style; Baumann et al., "The Multikernel: a new OS architecture for scalable multicore
// systems", SOSP 2009): a CPU driver per core plus a monitor, no shared kernel state. OS state is replicated per core
// or per NUMA node; a global operation (unmap, capability changes, process creation) is a protocol of explicit messages
// over cache-line channels (URPC): each message costs the cache-line transfers between the cores involved, seen by a
// polling receiver or, when the receiver is idle, after a notification. Agreement uses unicast, broadcast, multicast or
// NUMA-aware multicast (kernel.shootdown; default numa-multicast), and replicated state is kept by a two-phase commit
// (prepare + commit rounds). Default costs and sources: docs/calibration.md.
#include <fmt/format.h>

#include "policies/kernel_costs.hpp"
#include "policies/server_queue.hpp"
#include "sim/api/kernel.hpp"

namespace mksim {

namespace {

struct MultikernelParams {
  double switch_pages = 0, ipi_send_cycles = 0, ipi_latency_ns = 0, ipi_handler_cycles = 0;
  double trap_cycles = 0, context_switch_cycles = 0, urpc_send_cycles = 0, urpc_receive_cycles = 0,
         monitor_handler_cycles = 0, monitor_request_cycles = 0, poll_delay_ns = 0, page_table_cycles_per_page = 0;
  std::string notification, service_replicas;

  static const ParamStruct<MultikernelParams>& declare() {
    using P = MultikernelParams;
    static const ParamStruct<P> d = InterruptCosts::bind(
        ParamStruct<P>()
            .bind(&P::trap_cycles,
                  Field::number("trap_cycles", 40, "cycles",
                                "the local CPU driver's own entry and exit path, besides the CPU's crossing "
                                "(machine.cpu.kernel_entry_exit_cycles)")
                      .at_least(0))
            .bind(&P::context_switch_cycles,
                  Field::number(
                      "context_switch_cycles", 437, "cycles",
                      "the CPU driver's dispatch of another dispatcher and that dispatcher's upcall (software); "
                      "another domain's dispatch adds the address-space switch of machine.cpu")
                      .at_least(0))
            .bind(&P::switch_pages, AddressSpaceSwitch::field())
            .bind(&P::urpc_send_cycles,
                  Field::number("urpc_send_cycles", 60, "cycles", "writing one cache-line message into a channel")
                      .at_least(0))
            .bind(&P::urpc_receive_cycles,
                  Field::number("urpc_receive_cycles", 60, "cycles", "polling and reading one cache-line message")
                      .at_least(0))
            .bind(&P::monitor_handler_cycles,
                  Field::number(
                      "monitor_handler_cycles", 800, "cycles",
                      "a monitor's handling of a replicated-state agreement request (a two-phase commit's "
                      "prepare or commit) and its ack; a TLB shootdown's handler is the CPU driver's "
                      "invalidation (trap_cycles, page_table_cycles_per_page) between the URPC receive and send")
                      .at_least(0))
            .bind(&P::monitor_request_cycles,
                  Field::number("monitor_request_cycles", 5994, "cycles",
                                "the initiating monitor's own work on a global operation (capability checks, protocol "
                                "set-up), besides the messages")
                      .at_least(0))
            .bind(&P::poll_delay_ns,
                  Field::number("poll_delay_ns", 0, "ns", "mean delay until a busy receiver polls its channel")
                      .at_least(0))
            .bind(&P::notification,
                  Field::choice("notification", "poll", {"poll", "ipi"},
                                "how receivers learn of messages: polling (IPI only to idle cores) or always an IPI"))
            .bind(&P::service_replicas, Field::choice("service_replicas", "per-core", {"per-core", "per-node"},
                                                      "where replicas of file/network services run"))
            .bind(&P::page_table_cycles_per_page, page_table_field()));
    return d;
  }
};

class Multikernel final : public KernelArchitecture {
 public:
  explicit Multikernel(const MultikernelParams& p)
      : trap_cycles_(p.trap_cycles),
        context_switch_cycles_(p.context_switch_cycles),
        send_cycles_(p.urpc_send_cycles),
        receive_cycles_(p.urpc_receive_cycles),
        handler_cycles_(p.monitor_handler_cycles),
        monitor_request_cycles_(p.monitor_request_cycles),
        poll_delay_ns_(p.poll_delay_ns),
        notify_(p.notification),
        replicas_(p.service_replicas),
        page_table_cycles_per_page_(p.page_table_cycles_per_page),
        as_(p),
        ipi_(p) {}

  void init(const Machine& m, const KernelOptions& o) override {
    KernelArchitecture::init(m, o);
    // One service replica per NUMA node (its first core) or per core; requests go to the caller's replica.
    replica_of_core_.assign(m.num_cores(), 0);
    std::vector<int> node_first(m.num_nodes(), -1);
    for (const auto& c : m.cores)
      if (node_first[c.node] < 0) node_first[c.node] = c.id;
    for (const auto& c : m.cores) replica_of_core_[c.id] = replicas_ == "per-core" ? c.id : node_first[c.node];
    for (int i = 0; i < m.num_cores(); ++i) servers_.emplace_back(fmt::format("replica{}", i), i, 1);
  }

  void syscall(Cpu& cpu, Thread& t, SyscallClass c, double work_cycles) override {
    cpu.spend_cycles(trap_cycles(cpu, trap_cycles_), Work::Kernel);  // into the local CPU driver
    cpu.count("syscall_trap");
    if (c == SyscallClass::Null || c == SyscallClass::Memory) {
      // Local state only: the core's own CPU driver and memory-server partition.
      cpu.spend_cycles(work_cycles, Work::Kernel);
      return;
    }
    if (c == SyscallClass::Process) {
      // Replicated dispatcher state: a two-phase commit with every core the process runs on.
      cpu.spend_cycles(work_cycles, Work::Kernel);
      two_phase_commit(cpu, cores_of(t));
      return;
    }
    // File and network services: a request over URPC to this core's service replica.
    const int r = replica_of_core_[cpu.core()];
    if (r == cpu.core()) {
      cpu.spend_cycles(send_cycles_ + receive_cycles_ + work_cycles, Work::Kernel);
      return;
    }
    const Machine& m = cpu.machine();
    cpu.sync();
    cpu.spend_cycles(send_cycles_, Work::Kernel);
    const double sent = cpu.now_s();
    // The request is a line of the channel to the replica's monitor: its write goes through the coherence model in
    // time order with the run's other coherent accesses (the store retires into the store buffer). The monitor sees
    // it at its next poll: an idle core once an IPI has woken it (with notification "ipi", any core at once), a busy
    // one when its kernel next gets the core (Cpu::handler_start_s); it reads the line and serves the request when
    // the requests before it are done, then writes its reply, which this core's poll reads once it has been written.
    // The replica's and the reply's accesses come later than SimGrid's time: they book their turns at the home nodes
    // ahead of time (MessageLines::read_at, write_at).
    const double written = requests_.write(cpu, r, kRequestBytes);
    const Notice notice = noticed(cpu, r, written);
    const double polled = cpu.handler_start_s(r, notice.visible_s, notice.ipi);
    const double seen = requests_.read_at(cpu, r, cpu.core(), kRequestBytes, polled);
    const double service_s = (receive_cycles_ + work_cycles + send_cycles_) / (m.cores[r].freq_ghz * 1e9);
    const double done = servers_[r].admit(seen, service_s).done_s;
    cpu.run_handler(cpu.core(), r, sent, done - service_s, service_s);  // the replica's core serves it then
    cpu.count("urpc_message", 2);
    const double replied = replies_.write_at(cpu, r, cpu.core(), kRequestBytes, done);
    const double answered = replies_.read_at(cpu, cpu.core(), r, kRequestBytes, replied + poll_delay_ns_ * 1e-9);
    cpu.spend_cycles(receive_cycles_, Work::Kernel);
    cpu.block_until(answered, "a URPC reply");
  }

  void context_switch(Cpu& cpu, const Thread* prev, const Thread& next) override {
    // The CPU driver dispatches the next dispatcher; another domain's also needs its address space.
    cpu.spend_cycles(as_.context_switch(cpu, prev, next, context_switch_cycles_), Work::Kernel);
  }

  double message_send(Cpu& cpu, Thread& t, uint64_t bytes, int receiver_core) override {
    if (receiver_core == cpu.core()) {
      // Same core: LRPC through the CPU driver, which carries the payload in registers and dispatches the receiver
      // (Baumann et al., section 4.3 and Table 1); the dispatch is the context switch the core then makes.
      cpu.spend_cycles(trap_cycles(cpu, trap_cycles_), Work::Kernel);
      cpu.count("lrpc");
      return 0;
    }
    // User-level URPC (Baumann et al., section 4.6): the sender writes the message's cache lines into the slots of a
    // channel the receiver polls. Each slot is shared by its writer and its reader since the last exchange, so the
    // write's ownership request invalidates the receiver's copy, through the coherence model at the machine's
    // transfer costs and in turn with the other cores' requests at the home node. The stores retire into the store
    // buffer and the sender goes on meanwhile (another message can follow at once); the receiver can notice the
    // message once the write has completed, at its next poll.
    cpu.spend_cycles(send_cycles_ * MessageLines::lines_of(bytes), Work::User);
    cpu.count("urpc_message");
    const double written = channels_.write(cpu, receiver_core, bytes);
    return std::max(0.0, written - cpu.now_s()) + poll_delay_ns_ * 1e-9;
  }

  void message_receive(Cpu& cpu, Thread& t, uint64_t bytes, int sender_core) override {
    if (sender_core == cpu.core()) return;  // an LRPC: delivered in registers
    // The receiver reads the message's slots (MessageLines), whether it was polling when the message came or the
    // message waited in the channel, then takes it.
    const double now = cpu.now_s();
    cpu.spend_s(channels_.read(cpu, sender_core, bytes) - now, Work::User);
    cpu.spend_cycles(receive_cycles_ * MessageLines::lines_of(bytes), Work::User);
  }

  double wakeup(Cpu& cpu, int target_core) override {
    if (target_core < 0 || target_core == cpu.core()) return 0;
    // A message to the target's monitor: a line of its channel that this core writes and the monitor reads when it
    // polls; an idle (halted) core also needs an IPI to notice it. Both accesses are booked at the home node ahead of
    // time (MessageLines::write_at, read_at): a wake-up can come where the engine does not bring the clocks in step.
    cpu.spend_cycles(send_cycles_, Work::Kernel);
    cpu.count("urpc_message");
    const double now = cpu.now_s();
    const double written = requests_.write_at(cpu, cpu.core(), target_core, kRequestBytes, now);
    const double visible = noticed(cpu, target_core, written).visible_s;
    return requests_.read_at(cpu, target_core, cpu.core(), kRequestBytes, visible) - now;
  }

  void map(Cpu& cpu, Thread& t, uint64_t bytes) override {
    // Mapping memory the core already holds capabilities for is local to its CPU driver.
    cpu.spend_cycles(trap_cycles(cpu, trap_cycles_) + pages_of(bytes) * page_table_cycles_per_page_, Work::Kernel);
  }

  void unmap(Cpu& cpu, Thread& t, uint64_t bytes, const std::vector<int>& tlb_cores) override {
    // The domain asks its core's monitor by LRPC; the monitor checks the capability, has its CPU driver change the
    // page table and invalidate the local TLB, runs the agreement with the monitors of the other cores that may
    // cache the mapping, and answers by LRPC (Baumann et al., section 5.1 and Figure 7).
    // Each LRPC: a trap into the CPU driver and the dispatch of the other domain, in its own address space.
    const double lrpc = trap_cycles(cpu, trap_cycles_) + context_switch_cycles_ + as_.cycles(cpu);
    cpu.spend_cycles(
        lrpc + monitor_request_cycles_ + trap_cycles(cpu, trap_cycles_) + pages_of(bytes) * page_table_cycles_per_page_,
        Work::Kernel);
    const auto& protocol = shootdown_protocol("numa-multicast");
    cpu.spend_s(run_agreement(cpu, protocol, tlb_cores, shootdown_costs(cpu, pages_of(bytes))), Work::Kernel);
    cpu.spend_cycles(lrpc, Work::Kernel);
    cpu.count("lrpc", 2);
    cpu.count("tlb_shootdown");
  }

  // The CPU driver changes the entries; when they may be cached elsewhere its monitor runs the agreement with the
  // other cores' monitors (as for an unmap, without the domain's LRPCs: the kernel moves the pages itself).
  void update_ptes(Cpu& cpu, Thread&, uint64_t pages, const std::vector<int>& tlb_cores) override {
    cpu.spend_cycles(static_cast<double>(pages) * page_table_cycles_per_page_, Work::Kernel);
    if (tlb_cores.empty()) return;
    cpu.spend_cycles(monitor_request_cycles_, Work::Kernel);
    cpu.spend_s(run_agreement(cpu, shootdown_protocol("numa-multicast"), tlb_cores,
                              shootdown_costs(cpu, static_cast<double>(pages))),
                Work::Kernel);
    cpu.count("tlb_shootdown");
  }

 private:
  // How `target`'s monitor learns of a message written at `written_s`: with an IPI (notification "ipi", or an idle
  // core that must be woken) once it is delivered, else at a poll, after the poll delay.
  struct Notice {
    double visible_s;
    bool ipi;
  };
  Notice noticed(const Cpu& cpu, int target, double written_s) const {
    const bool ipi = notify_ == "ipi" || cpu.is_idle(target);
    return {written_s + (poll_delay_ns_ + (ipi ? ipi_.latency_ns : 0)) * 1e-9, ipi};
  }

  AgreementCosts agreement_costs() const {
    return {send_cycles_, handler_cycles_ + receive_cycles_, ipi_.latency_ns, notify_ == "ipi", receive_cycles_};
  }

  // A TLB shootdown's request: each target's monitor receives it, has its CPU driver invalidate the pages, as the
  // initiating monitor does for its own TLB (a trap into the CPU driver and the per-page work), and sends its
  // acknowledgement (Baumann et al., section 5.1: the monitors invalidate through their CPU drivers).
  AgreementCosts shootdown_costs(const Cpu& cpu, double pages) const {
    AgreementCosts k = agreement_costs();
    k.handler_cycles =
        receive_cycles_ + trap_cycles(cpu, trap_cycles_) + pages * page_table_cycles_per_page_ + send_cycles_;
    return k;
  }

  std::vector<int> cores_of(const Thread& t) const {
    if (!t.affinity.empty()) return t.affinity;
    std::vector<int> all;
    for (int i = 0; i < machine_->num_cores(); ++i) all.push_back(i);
    return all;
  }

  void two_phase_commit(Cpu& cpu, const std::vector<int>& cores) {
    const auto& protocol = shootdown_protocol("numa-multicast");
    double s = run_agreement(cpu, protocol, cores, agreement_costs());  // prepare
    s += run_agreement(cpu, protocol, cores, agreement_costs());        // commit
    cpu.spend_s(s, Work::Kernel);
    cpu.count("two_phase_commit");
  }

  double trap_cycles_, context_switch_cycles_, send_cycles_, receive_cycles_, handler_cycles_, monitor_request_cycles_;
  double poll_delay_ns_;
  std::string notify_, replicas_;
  double page_table_cycles_per_page_;
  AddressSpaceSwitch as_;
  InterruptCosts ipi_;
  std::vector<int> replica_of_core_;
  std::vector<ServerQueue> servers_;
  MessageLines channels_;                        // the URPC channels between cores
  MessageLines requests_;                        // the channels from each core to its service replica's monitor
  MessageLines replies_;                         // and back
  static constexpr uint64_t kRequestBytes = 64;  // a request is one cache-line message
};

ArchitectureRegistry::Add reg(
    "architecture", "multikernel",
    "Barrelfish style: a kernel per core, replicated state, agreement by URPC messages between monitors",
    MultikernelParams::declare().schema(),
    [](const Params& p) { return std::make_unique<Multikernel>(MultikernelParams::declare().read(p)); });

}  // namespace
}  // namespace mksim
