// A user-level server (a microkernel's file system, memory manager, network stack): `threads` worker threads that
// serve requests first come, first served. A single-threaded server is a queue that saturates: its queueing delay
// shows in the callers' blocked time and in the workloads' latencies.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

namespace mksim {

struct ServerQueue {
  std::string name;
  int core = -1;                  // where it runs; -1: on the caller's core (a per-core server, NOVA/Genode style)
  std::vector<double> free_at_s;  // when each worker thread is next free

  ServerQueue(std::string n, int c, int threads) : name(std::move(n)), core(c), free_at_s(std::max(1, threads), 0.0) {}

  struct Service {
    double start_s, done_s;
    int worker;  // which worker thread serves it
  };
  // A request arriving at `arrival_s` needing `service_s`: the first worker free takes it. Requests must be admitted
  // in arrival order (callers synchronise their clocks first).
  Service admit(double arrival_s, double service_s) { return admit_to(next_worker(), arrival_s, service_s); }
  // The worker that takes the next request (the first free), and a request given to that worker.
  int next_worker() const {
    return static_cast<int>(std::min_element(free_at_s.begin(), free_at_s.end()) - free_at_s.begin());
  }
  Service admit_to(int worker, double arrival_s, double service_s) {
    double& free = free_at_s[static_cast<size_t>(worker)];
    const double start = std::max(arrival_s, free);
    free = start + service_s;
    return {start, free, worker};
  }
};

}  // namespace mksim
