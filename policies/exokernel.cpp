// Exokernel (Aegis/Xok style; Engler, Kaashoek, O'Toole, "Exokernel: an operating system architecture for
// application-level resource management", SOSP 1995): the kernel only protects resources through secure bindings
// and offers a cheap protected control transfer; resource management lives in a library OS inside the application, so
// most system calls are library calls. A call that touches a hardware resource (memory mappings, network filters)
// crosses into the kernel only to check its binding. Library OSes that share state (a file system's buffer cache)
// coordinate through shared memory under a lock. Default costs and sources: docs/calibration.md.
#include <array>

#include "policies/kernel_costs.hpp"
#include "sim/api/kernel.hpp"

namespace mksim {

namespace {

struct ExokernelParams {
  double switch_pages = 0, ipi_send_cycles = 0, ipi_latency_ns = 0, ipi_handler_cycles = 0;
  double libos_call_cycles = 0, protected_call_cycles = 0, binding_check_cycles = 0, shared_state_cycles = 0,
         context_switch_cycles = 0, page_table_cycles_per_page = 0;
  int64_t shared_state_every = 0;

  static const ParamStruct<ExokernelParams>& declare() {
    using P = ExokernelParams;
    static const ParamStruct<P> d = InterruptCosts::bind(
        ParamStruct<P>()
            .bind(&P::libos_call_cycles,
                  Field::number("libos_call_cycles", 20, "cycles", "a call into the library OS (a procedure call)")
                      .at_least(0))
            .bind(
                &P::protected_call_cycles,
                Field::number("protected_call_cycles", 0, "cycles",
                              "the kernel's own path of a protected control transfer, besides the CPU's entry and exit "
                              "(machine.cpu.kernel_entry_exit_cycles)")
                    .at_least(0))
            .bind(&P::binding_check_cycles,
                  Field::number("binding_check_cycles", 30, "cycles", "checking a secure binding").at_least(0))
            .bind(&P::shared_state_every,
                  Field::integer("shared_state_every", 10, "calls",
                                 "one call in this many touches state shared with other library OSes (0: never)")
                      .at_least(0))
            .bind(&P::shared_state_cycles,
                  Field::number("shared_state_cycles", 200, "cycles", "work under the shared lock").at_least(0))
            .bind(&P::context_switch_cycles,
                  Field::number("context_switch_cycles", 500, "cycles",
                                "the kernel's own part of a context switch; a switch to another process adds the "
                                "address-space switch of machine.cpu")
                      .at_least(0))
            .bind(&P::switch_pages, AddressSpaceSwitch::field())
            .bind(&P::page_table_cycles_per_page, page_table_field()));
    return d;
  }
};

class Exokernel final : public KernelArchitecture {
 public:
  explicit Exokernel(const ExokernelParams& p)
      : libos_call_cycles_(p.libos_call_cycles),
        protected_call_cycles_(p.protected_call_cycles),
        binding_check_cycles_(p.binding_check_cycles),
        shared_every_(p.shared_state_every),
        shared_cycles_(p.shared_state_cycles),
        context_switch_cycles_(p.context_switch_cycles),
        page_table_cycles_per_page_(p.page_table_cycles_per_page),
        as_(p),
        ipi_(p) {
    const char* names[] = {"null", "fs-shared", "mem-shared", "proc-shared", "net-shared"};
    for (size_t i = 0; i < locks_.size(); ++i) locks_[i].name = names[i];
  }

  void init(const Machine& m, const KernelOptions& o) override {
    KernelArchitecture::init(m, o);
    calls_.assign(m.num_cores(), 0);
  }

  void syscall(Cpu& cpu, Thread& t, SyscallClass c, double work_cycles) override {
    cpu.count("libos_call");
    // The library OS does the work in user mode.
    cpu.spend_cycles(libos_call_cycles_ + work_cycles, Work::User);
    if (c == SyscallClass::Memory || c == SyscallClass::Net || c == SyscallClass::Process) {
      // Touching a hardware resource: a protected control transfer into the kernel to check the secure binding.
      cpu.spend_cycles(protected_call(cpu) + binding_check_cycles_, Work::Kernel);
      cpu.count("protected_call");
    }
    if (c != SyscallClass::Null && shared_every_ > 0 && ++calls_[cpu.core()] % shared_every_ == 0) {
      // State shared with other library OSes, updated in shared memory under a lock.
      SpinLock& l = locks_[static_cast<size_t>(c)];
      cpu.lock(l);
      cpu.spend_cycles(shared_cycles_, Work::User);
      cpu.unlock(l);
    }
  }

  void context_switch(Cpu& cpu, const Thread* prev, const Thread& next) override {
    cpu.spend_cycles(as_.context_switch(cpu, prev, next, context_switch_cycles_), Work::Kernel);
  }

  double message_send(Cpu& cpu, Thread& t, uint64_t bytes, int receiver_core) override {
    // Shared-memory messaging set up by the library OSes (their queue's lines: MessageLines); only the wake-up
    // crosses the kernel. The message is there once its lines are written.
    cpu.spend_cycles(libos_call_cycles_ + MessageLines::lines_of(bytes) * 8, Work::User);
    return receiver_core == cpu.core() ? 0 : queues_.write(cpu, receiver_core, bytes) - cpu.now_s();
  }

  void message_receive(Cpu& cpu, Thread& t, uint64_t bytes, int sender_core) override {
    if (sender_core != cpu.core()) {
      const double now = cpu.now_s();
      cpu.spend_s(queues_.read(cpu, sender_core, bytes) - now, Work::User);
    }
    cpu.spend_cycles(libos_call_cycles_ + MessageLines::lines_of(bytes) * 8, Work::User);
  }

  double wakeup(Cpu& cpu, int target_core) override {
    if (target_core < 0 || target_core == cpu.core()) return 0;
    cpu.spend_cycles(protected_call(cpu), Work::Kernel);
    return ipi_.wake(cpu, target_core);
  }

  void map(Cpu& cpu, Thread& t, uint64_t bytes) override {
    // The library OS builds the mapping; the kernel checks each page's binding as it installs it.
    cpu.spend_cycles(protected_call(cpu) + pages_of(bytes) * (page_table_cycles_per_page_ + binding_check_cycles_),
                     Work::Kernel);
  }

  void unmap(Cpu& cpu, Thread& t, uint64_t bytes, const std::vector<int>& tlb_cores) override {
    cpu.spend_cycles(protected_call(cpu) + pages_of(bytes) * page_table_cycles_per_page_, Work::Kernel);
    shootdown(cpu, tlb_cores);
  }

  void update_ptes(Cpu& cpu, Thread&, uint64_t pages, const std::vector<int>& tlb_cores) override {
    cpu.spend_cycles(static_cast<double>(pages) * page_table_cycles_per_page_, Work::Kernel);
    if (!tlb_cores.empty()) shootdown(cpu, tlb_cores);
  }

 private:
  void shootdown(Cpu& cpu, const std::vector<int>& tlb_cores) {
    cpu.spend_s(run_agreement(cpu, shootdown_protocol("ipi-broadcast"), tlb_cores, ipi_.as_agreement()), Work::Kernel);
    cpu.count("tlb_shootdown");
  }
  // A protected control transfer into the kernel and back: the CPU's crossing plus the kernel's own path.
  double protected_call(const Cpu& cpu) const { return trap_cycles(cpu, protected_call_cycles_); }

  double libos_call_cycles_, protected_call_cycles_, binding_check_cycles_;
  int64_t shared_every_;
  double shared_cycles_, context_switch_cycles_, page_table_cycles_per_page_;
  AddressSpaceSwitch as_;
  InterruptCosts ipi_;
  std::array<SpinLock, static_cast<size_t>(SyscallClass::Count)> locks_;
  std::vector<int64_t> calls_;
  MessageLines queues_;  // the library OSes' shared-memory queues between cores
};

ArchitectureRegistry::Add reg(
    "architecture", "exokernel",
    "Aegis/Xok style: the kernel only protects (secure bindings); library OSes manage resources in the application",
    ExokernelParams::declare().schema(),
    [](const Params& p) { return std::make_unique<Exokernel>(ExokernelParams::declare().read(p)); });

}  // namespace
}  // namespace mksim
