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

// SimGrid settings mksim relies on: exact max-min bandwidth sharing, a time precision for nanosecond events, and the
// window that bounds each flow by Little's law. Must run after the Engine exists and before any platform is built.
void configure_simgrid(const Machine& m);

// The bytes a core keeps in flight (its misses times the line size): SimGrid's TCP-gamma window of every memory flow.
double flow_window_bytes(const Machine& m);

// Latency that SimGrid itself puts on a memory flow from a core of node `from` to memory of node `to` (half the load
// latency: a flow's rate is bounded by window / (2 x route latency), and the window is a core's misses in flight, so
// each flow gets Little's law's bandwidth, core_mlp x line / load latency). The engine adds the other half.
double route_latency_s(const Machine& m, int from, int to);

// Builds the machine's platform in the current engine.
Platform build_platform(const Machine& m);

}  // namespace mksim
