// A user-level server (a microkernel's file system, memory manager, network stack): `threads` worker threads that
// serve requests first come, first served. A single-threaded server is a queue that saturates; its utilisation and
// queueing delay show in the results.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

namespace mksim {

struct ServerQueue {
  std::string name;
  int core = -1;                  // where it runs; -1: on the caller's core (a per-core server, NOVA/Genode style)
  std::vector<double> free_at_s;  // when each worker thread is next free
  uint64_t served = 0;
  double busy_s = 0, queued_s = 0;

  ServerQueue(std::string n, int c, int threads) : name(std::move(n)), core(c), free_at_s(std::max(1, threads), 0.0) {}

  // A request arriving at `arrival_s` needing `service_s`: returns when its service ends. Requests must be admitted
  // in arrival order (callers synchronise their clocks first).
  double admit(double arrival_s, double service_s) {
    auto it = std::min_element(free_at_s.begin(), free_at_s.end());
    double start = std::max(arrival_s, *it);
    queued_s += start - arrival_s;
    busy_s += service_s;
    ++served;
    *it = start + service_s;
    return *it;
  }
};

}  // namespace mksim
