// The kernel-architecture slot: for every OS operation a workload issues, where it runs, what it costs and what it
// contends on. Monolithic, microkernel, multikernel and exokernel models implement this; each composes the hardware
// actions of Cpu from the machine's own numbers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/machine.hpp"
#include "sim/api/agreement.hpp"
#include "sim/api/cpu.hpp"
#include "sim/api/registry.hpp"
#include "sim/api/thread.hpp"

namespace mksim {

// Choices the config makes for every architecture (kernel.*), beside each architecture's own parameters.
struct KernelOptions {
  // kernel.shootdown: the agreement protocol for TLB shootdown (sim/api/agreement.hpp); null: the architecture's own.
  std::shared_ptr<const AgreementProtocol> shootdown;
};

class KernelArchitecture {
 public:
  virtual ~KernelArchitecture() = default;
  virtual void init(const Machine& m, const KernelOptions& options) {
    machine_ = &m;
    options_ = options;
  }

  // A system call of class `c` that does `work_cycles` of service work.
  virtual void syscall(Cpu& cpu, Thread& t, SyscallClass c, double work_cycles) = 0;
  // Direct cost of switching `cpu` from `prev` (nullptr: from idle) to `next`.
  virtual void context_switch(Cpu& cpu, const Thread* prev, const Thread& next) = 0;
  // Sending a message of `bytes` to a thread that runs (or last ran) on `receiver_core`; returns the delay until the
  // receiver can see it.
  virtual double message_send(Cpu& cpu, Thread& t, uint64_t bytes, int receiver_core) = 0;
  // Taking a delivered message of `bytes` off a channel.
  virtual void message_receive(Cpu& cpu, Thread& t, uint64_t bytes, int sender_core) = 0;
  // Waking a blocked thread that will run on `target_core`; returns the delay until that core notices.
  virtual double wakeup(Cpu& cpu, int target_core) = 0;
  // Mapping / unmapping `bytes`; `tlb_cores` lists the cores that may cache the address space's translations.
  virtual void map(Cpu& cpu, Thread& t, uint64_t bytes) = 0;
  virtual void unmap(Cpu& cpu, Thread& t, uint64_t bytes, const std::vector<int>& tlb_cores) = 0;
  // Changing `pages` page-table entries of t's address space from inside the kernel (page migration, NUMA
  // balancing's protection changes): the caller is already in the kernel, so there is no entry, server call or VMA
  // bookkeeping, only the per-page page-table work and, when the old entries may be cached, a TLB shootdown on
  // `tlb_cores` through the architecture's protocol. Empty `tlb_cores`: no translation of them can be cached (entries
  // a NUMA scan made inaccessible and already flushed), so no shootdown (Linux: ptep_clear_flush flushes only an
  // accessible entry).
  virtual void update_ptes(Cpu& cpu, Thread& t, uint64_t pages, const std::vector<int>& tlb_cores) = 0;

 protected:
  // The protocol of TLB shootdowns and agreements: the config's kernel.shootdown, else this architecture's `fallback`
  // (a registered protocol's name), made once per run.
  const AgreementProtocol& shootdown_protocol(const char* fallback) {
    if (options_.shootdown) return *options_.shootdown;
    if (!fallback_) fallback_ = make_agreement(fallback);
    return *fallback_;
  }

  const Machine* machine_ = nullptr;
  KernelOptions options_;

 private:
  std::shared_ptr<const AgreementProtocol> fallback_;
};

using ArchitectureRegistry = Registry<KernelArchitecture>;

}  // namespace mksim
