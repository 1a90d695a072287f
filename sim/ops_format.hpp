// mksim's own operation trace (`ops.jsonl`): JSON lines, a header naming the processes, threads, memory regions,
// channels and locks to create, then one line per completed operation of one thread, in completion order. `mksim run
// --record` writes it (sim/recorder.cpp); the `ops` workload (workloads/ops_replay.hpp) replays it, and replaying a
// recording reproduces the run.
// The format: docs/traces.md.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim/api/program.hpp"

namespace mksim {

struct OpsProcess {
  std::string name;
  std::vector<int> cores;  // empty: every core
};

struct OpsThread {
  std::string name;
  uint32_t process = 0;
  std::vector<int> affinity;  // empty: the cores of its process
  int home_node = -1;
  bool spawned = false;  // started at run time by another thread's spawn operation
};

struct OpsRegion {
  uint32_t process = 0;
  uint64_t bytes = 0;
  int node = -1;           // bound to this NUMA node; -1: the memory policy places it
  bool allocated = false;  // made by an alloc operation at run time (not created before the run)
};

// One operation. Targets are ids in the file's own numbering: `op.target` is the region (mem_access, free), channel
// (send, recv), lock (lock, unlock), thread (join, wake, and spawn: the thread it starts) or syscall class.
struct RecordedOp {
  uint32_t thread = 0;
  Op op;
  uint32_t region = 0;  // alloc: the region it made
};

struct OpsTrace {
  std::vector<OpsProcess> processes;
  std::vector<OpsThread> threads;  // ids are positions
  std::vector<OpsRegion> regions;
  std::vector<std::string> channels, locks;
  double sim_time_s = 0;  // of the recorded run (information only)
  std::vector<RecordedOp> ops;
};

constexpr int kOpsFormatVersion = 1;

// The header line and one operation's line (without the newline).
std::string ops_header_line(const OpsTrace& t);
std::string ops_op_line(const RecordedOp& r);
void write_ops_trace(std::ostream& out, const OpsTrace& t);

// Reads and checks a trace: every id refers to something the header declares; errors name the file and the line.
OpsTrace parse_ops_trace(std::string_view text, const std::string& file);
OpsTrace read_ops_trace_file(const std::string& path);

}  // namespace mksim
