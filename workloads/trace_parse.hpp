// Readers of Linux scheduler traces in their text forms: ftrace's `trace` file, `trace-cmd report`, `perf sched
// script` (= `perf script` on a `perf sched record` file) and the ftrace text that Android's systrace embeds in its
// HTML. They keep the scheduling events (sched_switch, sched_wakeup, sched_waking, sched_wakeup_new,
// sched_process_fork, sched_process_exit) as plain values in file order and count every other event by name. A line
// that is not a trace line, an event missing a field it must have, a timestamp going back in time or binary data is
// an InputError naming the file and the line. Formats: docs/traces.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mksim {

enum class TraceFormat : uint8_t { Auto, Ftrace, TraceCmd, PerfSched, Systrace };

std::string_view to_string(TraceFormat f);
bool parse_trace_format(std::string_view s, TraceFormat& out);

// How a task left its CPU (sched_switch prev_state): still runnable (preempted), asleep until someone wakes it,
// exiting, or a numeric state whose meaning depends on the kernel version.
enum class LeaveState : uint8_t { Runnable, Blocked, Dead, Unknown };

// Letters ("S", "R+", "D|K", "X") or a number (kernel task state bits) to LeaveState.
LeaveState parse_leave_state(std::string_view s);

// Other: any other event, kept only for what its line says: which task was on the CPU at that time.
enum class SchedEventKind : uint8_t { Switch, Wakeup, Waking, WakeupNew, Fork, Exit, Other };

struct SchedEvent {
  SchedEventKind kind = SchedEventKind::Switch;
  bool irq = false;     // written in hard or soft interrupt context (ftrace flags column, when the trace has one)
  bool success = true;  // sched_wakeup success=0: the task was not asleep, nothing happened
  int cpu = 0;
  int line = 0;  // line in the file
  double time_s = 0;
  int32_t task = 0;  // the task current on `cpu` when the event was written (the line's TASK-PID)
  // Switch: `prev` leaves the CPU in `prev_state`, `next` gets it. Wake-ups and exit: `pid`. Fork: child `pid` of
  // `parent`.
  int32_t prev = 0, next = 0, pid = 0, parent = 0;
  LeaveState prev_state = LeaveState::Unknown;
};

struct ParsedTrace {
  std::string file;
  TraceFormat format = TraceFormat::Auto;  // the format found (never Auto)
  std::vector<SchedEvent> events;          // in file order, which is time order; skipped ones as Other
  std::map<int32_t, std::string> comm;     // latest known name of each task
  std::map<int32_t, int32_t> tgid;         // thread group of each task, when the trace has a TGID column
  int cpus = 0;                            // from the header (#P:, cpus=) or the highest CPU seen + 1
  double first_s = 0, last_s = 0;          // time stamps of the first and last event
  uint64_t lines = 0;
  uint64_t events_total = 0;                // event lines
  uint64_t events_used = 0;                 // scheduling events used
  std::map<std::string, uint64_t> skipped;  // event lines not kept, by event name
  uint64_t lost_events = 0;                 // trace-cmd's "CPU:N [LOST k EVENTS]"
  uint64_t events_skipped() const;
};

// Reads a trace file. `format` Auto looks at the content.
ParsedTrace parse_sched_trace_file(const std::string& path, TraceFormat format = TraceFormat::Auto);
// The same on text already in memory; `file` names it in errors.
ParsedTrace parse_sched_trace(std::string_view text, const std::string& file, TraceFormat format = TraceFormat::Auto);

}  // namespace mksim
