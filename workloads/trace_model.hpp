// What a scheduler trace says each thread did: its run bursts (on which CPU, from when to when, how it left the CPU),
// the wake-ups it received (from which traced thread, or from outside: an interrupt, the idle task, a timer), and the
// replay plan derived from them: per thread, the sequence of compute bursts, waits for a traced waker, wake-ups it
// gives, and timed sleeps that stand for wake-ups from outside the trace. How the reconstruction decides:
// docs/traces.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "workloads/trace_parse.hpp"

namespace mksim {

struct TraceRun {
  double start_s = 0, end_s = 0;
  int cpu = 0;
  uint32_t seq_in = 0, seq_out = 0;  // index of the events that started and ended it
  LeaveState left = LeaveState::Runnable;
  double seconds() const { return end_s - start_s; }
};

struct TraceWake {
  uint32_t seq = 0;  // index of the event
  double time_s = 0;
  int waker = -1;  // index of the traced thread that woke it; -1: from outside (interrupt, idle task)
  SchedEventKind kind = SchedEventKind::Wakeup;
};

struct TraceThread {
  int32_t tid = 0;
  int32_t tgid = -1;  // -1: unknown
  std::string name;   // comm-tid
  std::vector<TraceRun> runs;
  std::vector<TraceWake> woken;  // wake-ups it received, in order
  bool exited = false;
  double run_s() const;
};

struct TraceModel {
  std::vector<TraceThread> threads;  // every task but the idle task (pid 0), in order of first appearance
  double start_s = 0, end_s = 0;
  int cpus = 0;
  uint64_t inconsistencies = 0;  // switches that contradict the CPU's current task (lost events)
  double run_s() const;
};

TraceModel build_trace_model(const ParsedTrace& trace);

// One step of a replayed thread. Times are trace seconds (unscaled).
struct ReplayStep {
  enum Kind : uint8_t { Compute, Wait, Wake, Sleep } kind = Compute;
  double seconds = 0;   // Compute, Sleep
  uint32_t thread = 0;  // Wake: index of the woken thread in TraceModel::threads
};

struct ReplayPlan {
  std::vector<std::vector<ReplayStep>> threads;  // by TraceModel thread index
  uint64_t wake_edges = 0;                       // wake-ups replayed as wait/wake between two traced threads
  uint64_t external_wakes = 0;                   // wake-ups from outside, replayed as timed sleeps
  uint64_t unexplained_sleeps = 0;               // blocked with no wake-up in the trace: slept for the recorded gap
  uint64_t unused_wakes = 0;                     // wake-ups that ended no sleep (duplicates, task already runnable)
  uint64_t dropped_bursts = 0;                   // runs shorter than min_burst_s
  double dropped_run_s = 0;
};

ReplayPlan plan_replay(const TraceModel& model, double min_burst_s);

}  // namespace mksim
