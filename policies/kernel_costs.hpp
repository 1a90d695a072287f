// Cost parameters several kernel architectures share (interrupts, traps, address-space switches, page tables),
// declared once with their defaults, and the mechanisms built from them: entering the kernel, switching address spaces,
// waking a thread on another core and shooting down TLB entries. The hardware part of each comes from the machine
// (machine.cpu, models/machine.hpp: CpuCosts); kernels add their own software path lengths, which are the same on
// every machine. Sources of the defaults: docs/calibration.md.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <span>
#include <vector>

#include "models/costs.hpp"
#include "sim/api/agreement.hpp"
#include "sim/api/cpu.hpp"
#include "sim/api/param_struct.hpp"
#include "sim/api/params.hpp"
#include "sim/api/thread.hpp"

namespace mksim {

inline const CpuCosts& cpu_costs(const Machine& m, int core) {
  return m.cores[core].costs;
}
inline const CpuCosts& cpu_costs(const Cpu& cpu) {
  return cpu_costs(cpu.machine(), cpu.core());
}

// One kernel entry and exit on `core`: the CPU's crossing (machine.cpu.kernel_entry_exit_cycles) plus the kernel's own
// `software_cycles` on that path.
inline double trap_cycles(const Machine& m, int core, double software_cycles) {
  return cpu_costs(m, core).kernel_entry_exit_cycles + software_cycles;
}
inline double trap_cycles(const Cpu& cpu, double software_cycles) {
  return trap_cycles(cpu.machine(), cpu.core(), software_cycles);
}

// The page-table update of one 4 KiB page (map, unmap, protect), the kernel's own path besides any TLB invalidation:
// the same parameter in every architecture that edits page tables.
inline Field page_table_field(double cycles = 50) {
  return Field::number("page_table_cycles_per_page", cycles, "cycles", "page-table update per 4 KiB page").at_least(0);
}

// Switching a core to another address space: the CPU loads the new page-table root; on a CPU whose TLB is untagged
// that flushes the TLB, and every page the kernel's switch path and the code it resumes touch again costs a page walk.
// How many pages that is belongs to the software (`switch_pages`); what a load and a walk cost belongs to the CPU.
struct AddressSpaceSwitch {
  double pages;

  static Field field(double pages = 4) {
    return Field::number("switch_pages", pages, "pages",
                         "pages whose translations are touched again right after an address-space switch (the "
                         "switch path's and the resumed code's code, stack, message and data pages); each costs a "
                         "page walk on a CPU without a tagged TLB (machine.cpu)")
        .at_least(0)
        .at_most(1e6);
  }
  // From an architecture's parameter struct that binds field() to its `switch_pages` (sim/api/param_struct.hpp).
  template <class P>
  requires requires(const P& p) { p.switch_pages; }
  explicit AddressSpaceSwitch(const P& p) : pages(p.switch_pages) {}

  double cycles(const Machine& m, int core) const {
    const CpuCosts& k = cpu_costs(m, core);
    return k.address_space_switch_cycles + (k.tagged_tlb ? 0.0 : pages * k.page_walk_cycles);
  }
  double cycles(const Cpu& cpu) const { return cycles(cpu.machine(), cpu.core()); }

  // A context switch from `prev` to `next`: the kernel's own `software_cycles` (scheduler, register state), plus the
  // address-space switch when `next` belongs to another process than the thread the core ran before. Threads of one
  // process share their page tables, so switching between them keeps the TLB.
  double context_switch(const Cpu& cpu, const Thread* prev, const Thread& next, double software_cycles) const {
    return software_cycles + (prev && prev->process != next.process ? cycles(cpu) : 0.0);
  }
};

struct InterruptCosts {
  double send_cycles;     // sender's cost of one inter-processor interrupt
  double latency_ns;      // APIC delivery, besides the cache-line transfer of the request
  double handler_cycles;  // interrupt entry, TLB invalidation and exit on a target

  static std::vector<Field> fields(double send = 300, double latency_ns = 500, double handler = 1000) {
    return {
        Field::number("ipi_send_cycles", send, "cycles", "sender's cost of one inter-processor interrupt").at_least(0),
        Field::number("ipi_latency_ns", latency_ns, "ns", "APIC delivery of an IPI, besides the line transfer")
            .at_least(0),
        Field::number("ipi_handler_cycles", handler, "cycles", "interrupt entry, TLB invalidation and exit on a target")
            .at_least(0),
    };
  }
  // Binds the fields to `P::ipi_send_cycles`, `ipi_latency_ns` and `ipi_handler_cycles` of an architecture's parameter
  // struct (sim/api/param_struct.hpp), after the fields `d` already has.
  template <class P>
  static ParamStruct<P> bind(ParamStruct<P>&& d, double send = 300, double latency_ns = 500, double handler = 1000) {
    auto f = fields(send, latency_ns, handler);
    return std::move(d)
        .bind(&P::ipi_send_cycles, std::move(f[0]))
        .bind(&P::ipi_latency_ns, std::move(f[1]))
        .bind(&P::ipi_handler_cycles, std::move(f[2]));
  }
  // From a parameter struct with the bound members.
  template <class P>
  requires requires(const P& p) { p.ipi_send_cycles; }
  explicit InterruptCosts(const P& p)
      : send_cycles(p.ipi_send_cycles), latency_ns(p.ipi_latency_ns), handler_cycles(p.ipi_handler_cycles) {}

  // Wake a thread on `target` with an IPI: the sender pays the send; returns the delay until the target notices.
  double wake(Cpu& cpu, int target) const {
    if (target < 0 || target == cpu.core()) return 0;
    cpu.spend_cycles(send_cycles, Work::Kernel);
    cpu.count("ipi");
    return (latency_ns + line_transfer_ns(cpu.machine(), cpu.core(), target)) * 1e-9;
  }

  AgreementCosts as_agreement() const { return {send_cycles, handler_cycles, latency_ns, true}; }
};

// The cache lines a message crosses between cores in (a URPC channel, a pipe's kernel buffer, a library OS's
// shared-memory queue): per pair of cores a ring of one-line slots in the sender's memory (a page of 64-byte lines),
// each shared by its writer and its reader since the last exchange. The sender's write obtains ownership (it
// invalidates the reader's copy) and the reader's read fetches the line from the sender's cache, both through the
// engine's coherence model (Cpu::access_shared_lines): at the machine's transfer costs, in time order with the run's
// other coherent accesses, queuing with them at the home node. The mechanism is Barrelfish's URPC channel (Baumann et
// al., "The Multikernel", SOSP 2009, section 4.6: cache-line-sized messages in shared memory, polled by the
// receiver); a pipe buffer or a shared-memory queue moves its lines between the two caches the same way.
class MessageLines {
 public:
  static double lines_of(uint64_t bytes) { return std::max(1.0, std::ceil(static_cast<double>(bytes) / 64.0)); }

  // The sender (`cpu`) writes a message of `bytes` for `receiver`; returns when the write completed (the stores
  // retire into the store buffer: the sender's clock does not move).
  double write(Cpu& cpu, int receiver, uint64_t bytes) {
    return step(cpu.machine(), ring(cpu.core(), receiver), true, bytes, cpu.now_s(), Now{cpu, true});
  }
  // The receiver (`cpu`) reads a message of `bytes` that `sender` wrote; returns when the reads completed (they are
  // independent loads: up to the core's misses in flight overlap). The lines are those of the ring to this core, or,
  // when the message was written while the receiving thread ran on another core, of the ring it was written to. A
  // message the sender wrote to no ring (sent before any core had received from it, to its own core) is fetched from
  // the sender's cache line by line.
  double read(Cpu& cpu, int sender, uint64_t bytes) {
    Ring* r = unread(sender, cpu.core(), static_cast<size_t>(lines_of(bytes)));
    if (!r) return cpu.now_s() + lines_of(bytes) * line_transfer_ns(cpu.machine(), sender, cpu.core()) * 1e-9;
    return step(cpu.machine(), *r, false, bytes, cpu.now_s(), Now{cpu, false});
  }
  // The same, by core `core` at `at_s`, a later time than SimGrid's (a server's core reading a request or writing its
  // reply when it serves it): simulated ahead of time, the accesses book their turns at the home node among the
  // run's other requests (Cpu::home_queue). `write_at` writes a message from `core` to `peer`; `read_at` reads the
  // oldest unread message on the ring from `peer` to `core`.
  double write_at(Cpu& cpu, int core, int peer, uint64_t bytes, double at_s) {
    return step(cpu.machine(), ring(core, peer), true, bytes, at_s, Ahead{cpu, core, true, at_s});
  }
  double read_at(Cpu& cpu, int core, int peer, uint64_t bytes, double at_s) {
    return step(cpu.machine(), ring(peer, core), false, bytes, at_s, Ahead{cpu, core, false, at_s});
  }

 private:
  static constexpr size_t kSlots = 64;
  struct Ring {
    int sender = 0;
    std::vector<CacheLine> slots;
    size_t written = 0, read = 0;  // lines so far
  };
  Ring& ring(int from, int to) {
    auto [it, fresh] = rings_.try_emplace({from, to});
    if (fresh) {
      it->second.sender = from;
      it->second.slots.resize(kSlots);
      for (auto& l : it->second.slots) l.sharers = {from, to};  // the steady state of a channel in use
    }
    return it->second;
  }
  Ring* unread(int from, int to, size_t n) {
    Ring& own = ring(from, to);
    if (own.written >= own.read + n) return &own;
    for (auto it = rings_.lower_bound({from, 0}); it != rings_.end() && it->first.first == from; ++it)
      if (it->second.written >= it->second.read + n) return &it->second;
    return nullptr;
  }
  // Writes (at the ring's write position) or reads (at its read position) the slots of a message of `bytes`, wrapping
  // around the ring, by `access(slots, home)`, and moves the position on; returns when the last access completed
  // (`from` if none).
  template <class Access>
  static double step(const Machine& m, Ring& r, bool write, uint64_t bytes, double from, Access access) {
    const auto n = static_cast<size_t>(lines_of(bytes));
    size_t& position = write ? r.written : r.read;
    const int home = m.cores[r.sender].node;
    double done = from;
    size_t at = position;
    for (size_t left = std::min(n, kSlots); left > 0;) {
      const size_t first = at % kSlots, len = std::min(left, kSlots - first);
      done = std::max(done, access(std::span(r.slots).subspan(first, len), home));
      at += len;
      left -= len;
    }
    position += n;
    return done;
  }
  // The calling core's accesses, now, in time order with the other cores' accesses.
  struct Now {
    Cpu& cpu;
    bool write;
    double operator()(std::span<CacheLine> lines, int home) const {
      return cpu.access_shared_lines(lines, write, home);
    }
  };
  // `core`'s accesses at `at_s`, ahead of time.
  struct Ahead {
    Cpu& cpu;
    int core;
    bool write;
    double at_s;
    double operator()(std::span<CacheLine> lines, int home) const {
      return access_lines(cpu.machine(), lines, core, write, false, home, at_s, cpu.home_queue(home)).done_s;
    }
  };
  std::map<std::pair<int, int>, Ring> rings_;  // by (sender core, receiver core)
};

inline double pages_of(uint64_t bytes) {
  return static_cast<double>((bytes + 4095) / 4096);
}

}  // namespace mksim
