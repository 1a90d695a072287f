// The kernel's view of a simulated thread (its thread control block): what schedulers, kernel architectures and
// allocators read and keep per thread. The engine owns the threads and drives their operation sources.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/api/ops.hpp"
#include "sim/api/program.hpp"

namespace mksim {

// Real-time scheduling attributes, the parameters of Linux's sched_setattr(2) for SCHED_DEADLINE (runtime, deadline,
// period): a workload declares them for a thread (ThreadSpec::sched) and starts each job of the thread with
// Op::next_job, which sets the job's release and absolute deadline. Schedulers that know them (EDF, rate-monotonic)
// read them; the others ignore them.
struct SchedAttributes {
  double runtime_s = 0;            // worst-case execution time of one job; 0: not declared
  double period_s = 0;             // (minimum) time between two releases; 0: not periodic
  double relative_deadline_s = 0;  // a job's deadline after its release; 0: the period
  // The current job, set by Op::next_job; a workload may declare the first one when it creates the thread, so that
  // the thread waits in run queues with its deadline before it runs its first next_job.
  double release_s = -1;
  double deadline_s = INFINITY;  // absolute; infinity: none
};

enum class ThreadState : uint8_t { Created, Runnable, Running, Blocked, Exited };

struct ThreadStats {
  double run_s = 0;      // on a core, user and kernel work
  double kernel_s = 0;   // of which in the kernel (traps, IPC, shootdowns, context switches)
  double wait_s = 0;     // runnable, waiting for a core
  double blocked_s = 0;  // blocked (recv, join, sleep, lock)
  double refill_s = 0;   // of run_s: refilling its working set after other threads evicted it (indirect switch cost)
  uint64_t ops = 0;
  uint64_t context_switches = 0;
  uint64_t migrations = 0;
  uint64_t preemptions = 0;  // taken off its core while runnable (time slice over, or a more urgent thread)
  uint64_t bytes_accessed = 0;
  double start_s = -1, end_s = -1;
};

struct Thread {
  uint32_t id = 0;
  uint32_t process = 0;
  std::string name;
  std::vector<int> affinity;       // cores it may run on; empty: any core of its process
  int home_node = -1;              // preferred NUMA node (NUMA-aware placement); -1: none
  uint64_t working_set_bytes = 0;  // data it keeps in its core's private caches
  uint64_t fill_mark = 0;          // its last core's fill counter when it last left that core
  int last_core = -1;
  int queued_core = -1;  // run queue it waits in, when Runnable
  ThreadState state = ThreadState::Created;
  double state_since_s = 0;

  std::unique_ptr<OpSource> source;
  Op op;  // current operation
  bool has_op = false;
  double op_left_cycles = 0;  // what remains of a Compute operation that a time slice cut
  OpResult last_result;
  uint32_t wake_tokens = 0;  // Wake before Wait
  // What it waits for, for deadlock reports: a description and the name of the object (formatted only if reported).
  const char* blocked_on = "";
  const std::string* blocked_on_object = nullptr;

  SchedAttributes sched;  // set by the workload (ThreadSpec::sched) and by Op::next_job

  ThreadStats stats;

  bool may_run_on(int core) const {
    if (affinity.empty()) return true;
    for (int c : affinity)
      if (c == core) return true;
    return false;
  }
};

}  // namespace mksim
