// Monolithic kernel (Linux-like): system calls trap into one kernel shared by all cores; shared kernel state sits
// behind spin locks, so its cache lines bounce between the cores that use it and contention grows with their number
// and distance; IPC copies through the kernel; a TLB shootdown interrupts every core that may cache the mapping and
// waits for all acknowledgements (Linux's flush_tlb_others; Baumann et al., SOSP 2009, Figure 7). Default costs and
// their sources: docs/calibration.md.
#include <array>

#include "policies/kernel_costs.hpp"
#include "sim/api/kernel.hpp"

namespace mksim {

namespace {

struct MonolithicParams {
  double switch_pages = 0, ipi_send_cycles = 0, ipi_latency_ns = 0, ipi_handler_cycles = 0;
  double trap_cycles = 0, shared_state_cycles = 0, context_switch_cycles = 0, copy_bytes_per_cycle = 0,
         page_table_cycles_per_page = 0, vma_cycles = 0;

  static const ParamStruct<MonolithicParams>& declare() {
    using P = MonolithicParams;
    static const ParamStruct<P> d = InterruptCosts::bind(
        ParamStruct<P>()
            .bind(&P::trap_cycles,
                  Field::number("trap_cycles", 90, "cycles",
                                "the kernel's own system-call entry and exit path, besides the CPU's crossing "
                                "(machine.cpu.kernel_entry_exit_cycles)")
                      .at_least(0))
            .bind(&P::shared_state_cycles, Field::number("shared_state_cycles", 200, "cycles",
                                                         "work under a shared kernel lock per non-null syscall")
                                               .at_least(0))
            .bind(&P::context_switch_cycles,
                  Field::number("context_switch_cycles", 1500, "cycles",
                                "the kernel's own part of a context switch (scheduler, register state); a switch to "
                                "another process adds the address-space switch of machine.cpu")
                      .at_least(0))
            .bind(&P::switch_pages, AddressSpaceSwitch::field())
            .bind(&P::copy_bytes_per_cycle,
                  Field::number("copy_bytes_per_cycle", 8, "bytes/cycle", "kernel copy speed for IPC").above(0))
            .bind(&P::page_table_cycles_per_page, page_table_field())
            .bind(&P::vma_cycles,
                  Field::number("vma_cycles", 1870, "cycles",
                                "address-space bookkeeping of one map or unmap call (find, split or merge and free the "
                                "VMA, gather and flush), besides the per-page work")
                      .at_least(0)));
    return d;
  }
};

class Monolithic final : public KernelArchitecture {
 public:
  explicit Monolithic(const MonolithicParams& p)
      : trap_cycles_(p.trap_cycles),
        shared_state_cycles_(p.shared_state_cycles),
        context_switch_cycles_(p.context_switch_cycles),
        copy_bytes_per_cycle_(p.copy_bytes_per_cycle),
        page_table_cycles_per_page_(p.page_table_cycles_per_page),
        vma_cycles_(p.vma_cycles),
        as_(p),
        ipi_(p) {
    const char* names[] = {"null", "vfs", "mm", "tasks", "net"};
    for (size_t i = 0; i < locks_.size(); ++i) locks_[i].name = names[i];
  }

  void syscall(Cpu& cpu, Thread& t, SyscallClass c, double work_cycles) override {
    cpu.spend_cycles(trap_cycles(cpu, trap_cycles_), Work::Kernel);
    if (c != SyscallClass::Null) {
      // The part of the service that updates state every core shares (dentry caches, mm, task lists, sockets).
      SpinLock& l = locks_[static_cast<size_t>(c)];
      cpu.lock(l);
      cpu.spend_cycles(shared_state_cycles_, Work::Kernel);
      cpu.unlock(l);
    }
    cpu.spend_cycles(work_cycles, Work::Kernel);
    cpu.count("syscall_trap");
  }

  void context_switch(Cpu& cpu, const Thread* prev, const Thread& next) override {
    cpu.spend_cycles(as_.context_switch(cpu, prev, next, context_switch_cycles_), Work::Kernel);
  }

  double message_send(Cpu& cpu, Thread& t, uint64_t bytes, int receiver_core) override {
    // A pipe/socket write: trap, copy into a kernel buffer (whose lines the reader's core read last: MessageLines),
    // wake the reader. The message is there once the copy's stores have completed.
    cpu.spend_cycles(trap_cycles(cpu, trap_cycles_) + bytes / copy_bytes_per_cycle_, Work::Kernel);
    const double written = receiver_core == cpu.core() ? 0 : buffers_.write(cpu, receiver_core, bytes) - cpu.now_s();
    return std::max(written, ipi_.wake(cpu, receiver_core));
  }

  void message_receive(Cpu& cpu, Thread& t, uint64_t bytes, int sender_core) override {
    // Trap, then copy out of the kernel buffer whose lines the sender's core wrote.
    cpu.spend_cycles(trap_cycles(cpu, trap_cycles_), Work::Kernel);
    if (sender_core != cpu.core()) {
      const double now = cpu.now_s();
      cpu.spend_s(buffers_.read(cpu, sender_core, bytes) - now, Work::Kernel);
    }
    cpu.spend_cycles(bytes / copy_bytes_per_cycle_, Work::Kernel);
  }

  double wakeup(Cpu& cpu, int target_core) override { return ipi_.wake(cpu, target_core); }

  void map(Cpu& cpu, Thread& t, uint64_t bytes) override {
    syscall(cpu, t, SyscallClass::Memory, vma_cycles_ + pages_of(bytes) * page_table_cycles_per_page_);
  }

  void unmap(Cpu& cpu, Thread& t, uint64_t bytes, const std::vector<int>& tlb_cores) override {
    syscall(cpu, t, SyscallClass::Memory, vma_cycles_ + pages_of(bytes) * page_table_cycles_per_page_);
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

  double trap_cycles_, shared_state_cycles_, context_switch_cycles_, copy_bytes_per_cycle_;
  double page_table_cycles_per_page_, vma_cycles_;
  AddressSpaceSwitch as_;
  InterruptCosts ipi_;
  std::array<SpinLock, static_cast<size_t>(SyscallClass::Count)> locks_;
  MessageLines buffers_;  // pipe and socket buffers between cores
};

ArchitectureRegistry::Add reg(
    "architecture", "monolithic",
    "one kernel shared by all cores: traps, shared state behind spin locks, IPI-broadcast TLB shootdown",
    MonolithicParams::declare().schema(),
    [](const Params& p) { return std::make_unique<Monolithic>(MonolithicParams::declare().read(p)); });

}  // namespace
}  // namespace mksim
