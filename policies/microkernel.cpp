// Microkernel (L4/seL4/NOVA/Genode style): the kernel only does IPC, scheduling and address spaces; OS services are
// user-level servers. A system call becomes a synchronous IPC call to the server that owns the service: the fast-path
// IPC (Liedtke, "Improving IPC by Kernel Design", SOSP 1993; seL4 comparative performance figures), an address-space
// switch into the server and back, and the TLB/cache refill it causes. A server on another core needs a cross-core
// wake-up (an IPI) each way, and a single-threaded server is a queue that saturates. The kernel still shoots down TLB
// entries by IPIs. Default costs and sources: docs/calibration.md.
#include <fmt/format.h>

#include <array>
#include <utility>

#include "policies/kernel_costs.hpp"
#include "policies/server_queue.hpp"
#include "sim/api/kernel.hpp"

namespace mksim {

namespace {

struct MicrokernelParams {
  double switch_pages = 0, ipi_send_cycles = 0, ipi_latency_ns = 0, ipi_handler_cycles = 0;
  double trap_cycles = 0, ipc_fastpath_cycles = 0, register_payload_bytes = 0, copy_bytes_per_cycle = 0,
         context_switch_cycles = 0, page_table_cycles_per_page = 0;
  int64_t file_server_core = 0, memory_server_core = 0, process_server_core = 0, net_server_core = 0,
          server_threads = 0;

  static const ParamStruct<MicrokernelParams>& declare() {
    using P = MicrokernelParams;
    static const ParamStruct<P> d = InterruptCosts::bind(
        ParamStruct<P>()
            .bind(&P::trap_cycles,
                  Field::number("trap_cycles", 40, "cycles",
                                "the kernel's own path of a call it serves itself, besides the CPU's entry and exit "
                                "(machine.cpu.kernel_entry_exit_cycles)")
                      .at_least(0))
            .bind(&P::ipc_fastpath_cycles,
                  Field::number("ipc_fastpath_cycles", 140, "cycles",
                                "the kernel's one-way IPC fast path, besides the CPU's entry and exit and the "
                                "address-space switch (machine.cpu)")
                      .at_least(0))
            .bind(&P::switch_pages, AddressSpaceSwitch::field())
            .bind(&P::register_payload_bytes,
                  Field::number("register_payload_bytes", 64, "bytes", "message size carried in registers (no copy)")
                      .at_least(0))
            .bind(&P::copy_bytes_per_cycle,
                  Field::number("copy_bytes_per_cycle", 8, "bytes/cycle", "copy speed for long IPC").above(0))
            .bind(&P::context_switch_cycles,
                  Field::number(
                      "context_switch_cycles", 800, "cycles",
                      "the kernel's own part of a thread switch by the scheduler; a switch to another process adds "
                      "the address-space switch of machine.cpu")
                      .at_least(0))
            .bind(&P::page_table_cycles_per_page, page_table_field())
            .bind(&P::file_server_core, Field::integer("file_server_core", -1, "core",
                                                       "core of the file-system server (-1: the caller's core)")
                                            .at_least(-1))
            .bind(&P::memory_server_core,
                  Field::integer("memory_server_core", -1, "core", "core of the memory server (-1: the caller's core)")
                      .at_least(-1))
            .bind(&P::process_server_core, Field::integer("process_server_core", -1, "core",
                                                          "core of the process server (-1: the caller's core)")
                                               .at_least(-1))
            .bind(&P::net_server_core,
                  Field::integer("net_server_core", -1, "core", "core of the network server (-1: the caller's core)")
                      .at_least(-1))
            .bind(&P::server_threads,
                  Field::integer("server_threads", 1, "",
                                 "worker threads per server, one per core from the server's core on (1: a "
                                 "single-threaded queue)")
                      .at_least(1)
                      .at_most(4096)));
    return d;
  }
};

class Microkernel final : public KernelArchitecture {
 public:
  Microkernel(const MicrokernelParams& p, const Params& params)
      : trap_cycles_(p.trap_cycles),
        fastpath_cycles_(p.ipc_fastpath_cycles),
        payload_bytes_(p.register_payload_bytes),
        copy_bytes_per_cycle_(p.copy_bytes_per_cycle),
        context_switch_cycles_(p.context_switch_cycles),
        page_table_cycles_per_page_(p.page_table_cycles_per_page),
        as_(p),
        ipi_(p) {
    const int threads = static_cast<int>(p.server_threads);
    servers_ = {ServerQueue("kernel", -1, 1), ServerQueue("fs", static_cast<int>(p.file_server_core), threads),
                ServerQueue("memory", static_cast<int>(p.memory_server_core), threads),
                ServerQueue("process", static_cast<int>(p.process_server_core), threads),
                ServerQueue("net", static_cast<int>(p.net_server_core), threads)};
    params_ = params;
    server_core_params_ = {0, p.file_server_core, p.memory_server_core, p.process_server_core, p.net_server_core};
  }

  void init(const Machine& m, const KernelOptions& o) override {
    KernelArchitecture::init(m, o);
    direct_.assign(m.num_cores(), nullptr);
    const char* keys[] = {"", "file_server_core", "memory_server_core", "process_server_core", "net_server_core"};
    for (size_t i = 1; i < servers_.size(); ++i)
      if (server_core_params_[i] >= m.num_cores())  // the parameter itself: `core` is an int, it may have wrapped
        params_.fail(keys[i], fmt::format("core {} does not exist, the machine has cores 0..{} (-1: the caller's core)",
                                          server_core_params_[i], m.num_cores() - 1));
    const auto threads = static_cast<int>(servers_[1].free_at_s.size());
    if (threads > m.num_cores())  // worker i runs on the i-th core from its server's: two may not share one
      params_.fail("server_threads",
                   fmt::format("{} worker threads need {} cores, the machine has {}; expected at most {}", threads,
                               threads, m.num_cores(), m.num_cores()));
  }

  void syscall(Cpu& cpu, Thread& t, SyscallClass c, double work_cycles) override {
    if (c == SyscallClass::Null) {  // served by the kernel itself
      cpu.spend_cycles(trap_cycles(cpu, trap_cycles_) + work_cycles, Work::Kernel);
      cpu.count("syscall_trap");
      return;
    }
    call_server(cpu, servers_[static_cast<size_t>(c)], work_cycles, 0);
  }

  void context_switch(Cpu& cpu, const Thread* prev, const Thread& next) override {
    const Thread* handed_off = std::exchange(direct_[cpu.core()], nullptr);
    // An IPC to a thread waiting on the same core switches to it directly inside the fast path (Liedtke's direct
    // process switch, SOSP 1993): the scheduler's switch is not paid again, only the switch into the receiver's
    // address space (and, on an untagged TLB, the refill) when it is another process.
    const double software = prev && prev == handed_off ? 0.0 : context_switch_cycles_;
    cpu.spend_cycles(as_.context_switch(cpu, prev, next, software), Work::Kernel);
  }

  double message_send(Cpu& cpu, Thread& t, uint64_t bytes, int receiver_core) override {
    cpu.spend_cycles(one_way_cycles(cpu, bytes), Work::Kernel);
    cpu.count("ipc");
    if (receiver_core == cpu.core()) {
      direct_[cpu.core()] = &t;
      return ipi_.wake(cpu, receiver_core);
    }
    // To another core: the message's lines (MessageLines) are there once the kernel's copy has written them.
    const double written = messages_.write(cpu, receiver_core, bytes) - cpu.now_s();
    return std::max(written, ipi_.wake(cpu, receiver_core));
  }

  void message_receive(Cpu& cpu, Thread& t, uint64_t bytes, int sender_core) override {
    // The receive half of the IPC: the copy of a long message (the address-space switch, if any, happened when the
    // core switched to the receiver: context_switch).
    if (sender_core != cpu.core()) {
      const double now = cpu.now_s();
      cpu.spend_s(messages_.read(cpu, sender_core, bytes) - now, Work::Kernel);
    }
    cpu.spend_cycles(copy_cycles(bytes), Work::Kernel);
  }

  double wakeup(Cpu& cpu, int target_core) override { return ipi_.wake(cpu, target_core); }

  void map(Cpu& cpu, Thread& t, uint64_t bytes) override {
    // The memory server decides; the kernel installs the mapping (a capability invocation).
    call_server(cpu, servers_[static_cast<size_t>(SyscallClass::Memory)], 0,
                pages_of(bytes) * page_table_cycles_per_page_);
  }

  void unmap(Cpu& cpu, Thread& t, uint64_t bytes, const std::vector<int>& tlb_cores) override {
    call_server(cpu, servers_[static_cast<size_t>(SyscallClass::Memory)], 0,
                pages_of(bytes) * page_table_cycles_per_page_);
    shootdown(cpu, tlb_cores);
  }

  // Pages move under the memory server (the pager), which has the kernel change the entries: one call to it.
  void update_ptes(Cpu& cpu, Thread&, uint64_t pages, const std::vector<int>& tlb_cores) override {
    call_server(cpu, servers_[static_cast<size_t>(SyscallClass::Memory)], 0,
                static_cast<double>(pages) * page_table_cycles_per_page_);
    if (!tlb_cores.empty()) shootdown(cpu, tlb_cores);
  }

 private:
  void shootdown(Cpu& cpu, const std::vector<int>& tlb_cores) {
    cpu.spend_s(run_agreement(cpu, shootdown_protocol("ipi-broadcast"), tlb_cores, ipi_.as_agreement()), Work::Kernel);
    cpu.count("tlb_shootdown");
  }
  double copy_cycles(uint64_t bytes) const {
    return bytes > payload_bytes_ ? (bytes - payload_bytes_) / copy_bytes_per_cycle_ : 0.0;
  }
  // The send half of an IPC: into the kernel, its fast path, and the copy of a long message.
  double one_way_cycles(const Cpu& cpu, uint64_t bytes) const {
    return trap_cycles(cpu, fastpath_cycles_) + copy_cycles(bytes);
  }

  // Synchronous call: IPC into the server, its work, IPC back. `kernel_cycles` is kernel work the call causes on the
  // caller's core afterwards (installing a mapping).
  void call_server(Cpu& cpu, ServerQueue& s, double work_cycles, double kernel_cycles) {
    const Machine& m = cpu.machine();
    cpu.count("ipc", 2);
    // One IPC into a server (a process of its own) or back: the fast path and the address-space switch.
    const double ipc = trap_cycles(cpu, fastpath_cycles_);
    const double switch_in = ipc + as_.cycles(cpu);
    if (s.core < 0 || s.core == cpu.core()) {
      // The server's thread on this core: call and reply are two same-core IPCs with address-space switches.
      cpu.spend_cycles(2 * switch_in + work_cycles + kernel_cycles, Work::Kernel);
      return;
    }
    // A server on another core (its worker threads on consecutive cores from its own; the first free takes the
    // call): the kernel copies the message into the worker's receive buffer, a line that core reads, and wakes it with
    // an IPI, which preempts whatever that core runs (Cpu::handler_start_s); calls queue at the server's threads. The
    // reply comes back the same way. The worker's accesses and the reply's come later than SimGrid's time: they are
    // booked at the home nodes ahead of time (MessageLines::read_at, write_at).
    cpu.sync();
    cpu.spend_cycles(ipc, Work::Kernel);
    const int worker = s.next_worker();
    const int worker_core = (s.core + worker) % m.num_cores();
    const double sent = cpu.now_s();
    const double written = calls_.write(cpu, worker_core, kCallBytes);
    cpu.spend_cycles(ipi_.send_cycles, Work::Kernel);
    cpu.count("ipi", 2);  // the call's and the reply's
    const double delivered = std::max(written, cpu.now_s() + ipi_.latency_ns * 1e-9);
    const double seen =
        calls_.read_at(cpu, worker_core, cpu.core(), kCallBytes, cpu.handler_start_s(worker_core, delivered, true));
    // On the worker's core: its receive (the switch into the server's address space), the work, the reply's IPC.
    const double server_ipc = trap_cycles(m, worker_core, fastpath_cycles_);
    const double service_s =
        (server_ipc + as_.cycles(m, worker_core) + work_cycles + server_ipc) / (m.cores[worker_core].freq_ghz * 1e9);
    const auto served = s.admit_to(worker, seen, service_s);
    cpu.run_handler(cpu.core(), worker_core, sent, served.start_s, service_s);
    const double replied = calls_.write_at(cpu, worker_core, cpu.core(), kCallBytes, served.done_s);
    const double reply = calls_.read_at(cpu, cpu.core(), worker_core, kCallBytes,
                                        std::max(replied, served.done_s + ipi_.latency_ns * 1e-9));
    cpu.spend_cycles(as_.cycles(cpu) + kernel_cycles, Work::Kernel);
    cpu.block_until(reply, "a reply from a server");
  }

  double trap_cycles_, fastpath_cycles_, payload_bytes_, copy_bytes_per_cycle_;
  double context_switch_cycles_, page_table_cycles_per_page_;
  AddressSpaceSwitch as_;
  InterruptCosts ipi_;
  std::vector<ServerQueue> servers_;
  std::vector<const Thread*> direct_;            // per core: the thread whose IPC handed the core to its receiver
  Params params_;                                // for errors naming a server core's parameter
  std::array<int64_t, 5> server_core_params_{};  // as configured, by server (0: the kernel)
  MessageLines messages_;                        // IPC messages between cores
  MessageLines calls_;                           // calls to servers on other cores, and their replies
  static constexpr uint64_t kCallBytes = 64;     // a call's message registers fit one line
};

ArchitectureRegistry::Add reg(
    "architecture", "microkernel",
    "L4/seL4/NOVA style: OS services in user-level servers reached by synchronous IPC; servers may sit on other cores",
    MicrokernelParams::declare().schema(),
    [](const Params& p) { return std::make_unique<Microkernel>(MicrokernelParams::declare().read(p), p); });

}  // namespace
}  // namespace mksim
