// Hooks through which statistics, timelines and recorders attach to the engine, instead of fields sprinkled into the
// models. Every callback receives simulated times in seconds; the default does nothing.
#pragma once

#include <cstdint>
#include <string>

#include "models/machine.hpp"
#include "sim/api/ops.hpp"
#include "sim/api/thread.hpp"

namespace mksim {

struct Machine;

class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_start(const Machine& m) {}
  // Thread `t` ran on `core` from `start_s` to `end_s` (one scheduling slice).
  virtual void on_slice(int core, const Thread& t, double start_s, double end_s) {}
  // `core` idled from `start_s` to `end_s`.
  virtual void on_idle(int core, double start_s, double end_s) {}
  // Thread `t` issued `op` on `core`; it took from `start_s` to `end_s` (end == start for ops that block).
  virtual void on_op(int core, const Thread& t, const Op& op, double start_s, double end_s) {}
  // `from` made `t` runnable (a wake-up, message delivery or IPI), visible on `to_core` at `at_s`.
  virtual void on_wakeup(int from_core, int to_core, const Thread& t, double sent_s, double at_s) {}
  // `core` did kernel work outside any operation of a thread: `what` is "context switch" (the kernel's switch path
  // plus refilling the incoming thread's working set) or "interrupt" (handlers other cores' IPIs asked of it).
  // `what` is a string literal.
  virtual void on_kernel(int core, const char* what, double start_s, double end_s) {}
  // `from_core` sent an inter-processor interrupt to `to_core` at `sent_s` asking `handler_cycles` of work; the target
  // ran the handler at `handled_s`, or handled_s < 0 when the run ended first (it was idle from then on).
  virtual void on_ipi(int from_core, int to_core, double handler_cycles, double sent_s, double handled_s) {}
  virtual void on_run_queue(int core, size_t length, double at_s) {}
  virtual void on_memory(int core, int node, uint64_t bytes, double start_s, double end_s) {}
  // `core` migrated `pages` pages (`bytes`) of region `region` from node `from_node` to `to_node` (a policy that moves
  // pages: sim/api/memory.hpp), from `start_s` to `end_s`: page-table update, TLB shootdown and copy. The copy's
  // traffic (`bytes` read from `from_node` and written to `to_node`) is reported here only, not through on_memory.
  virtual void on_migration(int core, uint32_t region, int from_node, int to_node, uint64_t pages, uint64_t bytes,
                            double start_s, double end_s) {}
  virtual void on_end(double sim_time_s) {}
};

}  // namespace mksim
