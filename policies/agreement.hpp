// How a core gets every other core in a set to do something and waits until all have: TLB shootdown in a shared
// kernel, and the agreement protocols of a multikernel's monitors (Baumann et al., "The Multikernel", SOSP 2009,
// section 5.1 and Figure 6: unicast, broadcast, multicast and NUMA-aware multicast over URPC channels). Each protocol
// is computed from cache-line transfer costs between the cores involved (models/costs.hpp), so it scales with the
// machine's topology rather than with a per-protocol constant.
#pragma once

#include <string>
#include <vector>

#include "sim/api/cpu.hpp"
#include "sim/api/params.hpp"

namespace mksim {

enum class Agreement { IpiBroadcast, Unicast, Broadcast, Multicast, NumaMulticast };

const std::vector<std::string>& agreement_names();  // "ipi-broadcast", "unicast", "broadcast", "multicast", ...
Agreement parse_agreement(const std::string& name);

struct AgreementCosts {
  double send_cycles = 100;     // initiator (or forwarder) cost to post one request (write a line or send an IPI)
  double handler_cycles = 800;  // a target's cost to handle the request (invalidate its TLB) and acknowledge
  double notify_ns = 0;         // delay until a target notices a request (interrupt delivery, or polling)
};

// Runs the protocol from `cpu` to `targets` (the initiator itself is skipped); charges each target its handler time
// (Cpu::interrupt) and returns the initiator's wait in seconds, from start until it has seen every acknowledgement.
double run_agreement(Cpu& cpu, Agreement protocol, const std::vector<int>& targets, const AgreementCosts& k);

}  // namespace mksim
