// The agreement slot (`kernel.shootdown`): how a core gets every other core in a set to do something and waits until
// all have: TLB shootdown in a shared kernel, and the agreement protocols of a multikernel's monitors. Protocols
// (policies/agreement.cpp: ipi-broadcast, unicast, broadcast, multicast, numa-multicast) register like any other
// component; kernel architectures run the one the config chose, or their own default. A protocol runs as messages:
// each request and acknowledgement is a cache-line write the receiver's core must see through the coherence model
// (models/coherence.hpp), each target runs its handler when its core does (Cpu::handler_start_s, Cpu::run_handler),
// and the initiator waits until it has read every acknowledgement (docs/protocols.md).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/api/cpu.hpp"
#include "sim/api/params.hpp"
#include "sim/api/registry.hpp"

namespace mksim {

struct AgreementCosts {
  double send_cycles = 100;     // initiator (or forwarder) cost to post one request (write a line or send an IPI)
  double handler_cycles = 800;  // a target's cost to handle the request (invalidate its TLB) and acknowledge
  double notify_ns = 0;         // an interrupt's delivery (APIC), when targets are interrupted
  bool ipi = false;             // targets are interrupted (an IPI with each request) rather than polling channels
  double receive_cycles = 0;    // a poll loop's cost to take one acknowledgement message it has read (URPC receive)
};

class AgreementProtocol {
 public:
  virtual ~AgreementProtocol() = default;
  // Runs the protocol from `cpu` (its clock in step with the others: Cpu::sync) to `to` (not empty, without the
  // initiator); has each target run its handler (Cpu::run_handler) and returns the initiator's wait in ns, from its
  // start until it has read every acknowledgement. Counts one agreement_ack per acknowledgement a target sent.
  virtual double run_ns(Cpu& cpu, const std::vector<int>& to, const AgreementCosts& k) const = 0;
};

using AgreementRegistry = Registry<AgreementProtocol>;

// The registered protocol `name` with its default parameters (a protocol is stateless: one object serves a run).
inline std::shared_ptr<const AgreementProtocol> make_agreement(const std::string& name) {
  const auto* e = AgreementRegistry::instance().find(name);
  if (!e) throw std::logic_error("no agreement protocol '" + name + "' is registered");
  return e->make(Params(e->info.params->resolve(json::object(), "kernel.shootdown", ""), "kernel.shootdown", ""));
}

// Runs `protocol` from `cpu` to `targets` (the initiator itself is skipped) and returns the initiator's wait in
// seconds; counts one agreement_message per target.
inline double run_agreement(Cpu& cpu, const AgreementProtocol& protocol, const std::vector<int>& targets,
                            const AgreementCosts& k) {
  std::vector<int> to;
  for (int c : targets)
    if (c != cpu.core()) to.push_back(c);
  if (to.empty()) return 0;
  cpu.sync();
  double ns = protocol.run_ns(cpu, to, k);
  cpu.count("agreement_message", to.size());
  return ns * 1e-9;
}

}  // namespace mksim
