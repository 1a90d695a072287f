// The small machine the coherence, protocol and kernel-mechanism tests state their expectations on, to the nanosecond:
// 2 sockets x 4 cores at 2 GHz, a 4-cycle L1 (2 ns), a 40-cycle L3 shared per socket (20 ns), 100 ns local memory and
// 150 ns between the sockets.
#pragma once

#include "sim/machine_config.hpp"

namespace mksim::test {

inline json two_socket_doc() {
  return json::parse(R"({"sockets": 2, "cores_per_socket": 4, "freq_ghz": 2.0,
      "caches": {"l1": {"latency_cycles": 4}, "l3": {"shared_by": "socket", "latency_cycles": 40}},
      "interconnect": {"latency_ns": [[100, 150], [150, 100]]}})");
}

inline Machine two_socket() {
  return build_machine(two_socket_doc(), "machine", "test", ".");
}

// Moving a line another core modified (models/costs.hpp): between cores of a socket, the request to the L3 and the
// L3's snoop of the owner, 20 ns each; across the sockets, the interconnect's round trip (150 - 100 ns) and the owner
// socket's L3 and snoop.
inline constexpr double kSocketNs = 2 * 20, kCrossNs = (150 - 100) + 2 * 20;

}  // namespace mksim::test
