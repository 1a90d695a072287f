// The SimGrid platform of a machine, behind one small adapter (SimGrid's platform API changes between versions): one
// host per core (SimGrid's advice for pinning), one host per NUMA node's memory behind its memory-controller link,
// interconnect links between nodes. Hierarchical zones: a star zone per NUMA node inside a full zone of nodes, so the
// route tables grow with nodes², not cores².
#pragma once

#include <simgrid/s4u.hpp>
#include <vector>

#include "models/machine.hpp"

namespace mksim {

struct Platform {
  std::vector<simgrid::s4u::Host*> cores;       // index: core id
  std::vector<simgrid::s4u::Link*> core_links;  // a core's own path to the memory system (its miss buffers)
  std::vector<simgrid::s4u::Host*> memory;      // index: NUMA node id
  std::vector<simgrid::s4u::Link*> controllers;
  std::vector<simgrid::s4u::Link*> links;
};

// SimGrid settings mksim relies on: exact max-min bandwidth sharing (CM02 without its latency weighting: the routes
// carry no latency) and a time precision for nanosecond events. Must run after the Engine exists and before any
// platform is built.
void configure_simgrid();

// The bytes a core keeps in flight: its misses times the line size.
double flow_window_bytes(const Machine& m);

// Builds the machine's platform in the current engine.
Platform build_platform(const Machine& m);

}  // namespace mksim
