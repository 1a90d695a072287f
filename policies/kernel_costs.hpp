// Cost parameters several kernel architectures share (interrupts, traps, page tables), declared once with their
// defaults, and the mechanisms built from them: waking a thread on another core and shooting down TLB entries.
// Sources of the defaults: docs/calibration.md.
#pragma once

#include <vector>

#include "models/costs.hpp"
#include "policies/agreement.hpp"
#include "policies/cpu.hpp"
#include "sim/params.hpp"

namespace mksim {

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
  explicit InterruptCosts(const Params& p)
      : send_cycles(p.number("ipi_send_cycles")),
        latency_ns(p.number("ipi_latency_ns")),
        handler_cycles(p.number("ipi_handler_cycles")) {}

  // Wake a thread on `target` with an IPI: the sender pays the send; returns the delay until the target notices.
  double wake(Cpu& cpu, int target) const {
    if (target < 0 || target == cpu.core()) return 0;
    cpu.spend_cycles(send_cycles, Work::Kernel);
    cpu.count("ipi");
    return (latency_ns + line_transfer_ns(cpu.machine(), cpu.core(), target)) * 1e-9;
  }

  AgreementCosts as_agreement() const { return {send_cycles, handler_cycles, latency_ns}; }
};

// Append fields to a schema, for architectures that combine shared and own parameters.
inline Schema with(Schema s, const std::vector<Field>& more) {
  for (const auto& f : more) s.fields.push_back(f);
  return s;
}

inline double pages_of(uint64_t bytes) { return static_cast<double>((bytes + 4095) / 4096); }

// The agreement protocol a config asked for, or the architecture's default.
inline Agreement shootdown_protocol(const std::string& option, Agreement fallback) {
  return option == "default" ? fallback : parse_agreement(option);
}

}  // namespace mksim
