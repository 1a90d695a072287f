// Reconstruction of per-thread behaviour from scheduling events, and the replay plan.
//
// Runs: a sched_switch ends the previous task's run and starts the next one's. A task found running when its CPU's
// events begin counts from the first of the consecutive events its CPU wrote in its name. A switch that contradicts
// what the CPU was running (lost events) closes the stale run there and is counted.
//
// Dependencies: between two runs of a thread that left its CPU asleep (or in a state the trace does not tell), the
// wake-up that ended the sleep is the first one after it left the CPU, else the last one while it was still on it
// (a wake-up can race with going to sleep); sched_waking is preferred to the sched_wakeup that follows it, since
// waking is written by the waker and wakeup may be written on the target CPU. A wake-up written by a traced thread
// outside interrupt context becomes a wait/wake pair; one from an interrupt or the idle task a timed sleep.
//
// The replay plan orders each thread's steps by the index of the events they come from: a wait sits just before the
// run it releases, a wake-up at its event. Every wait then depends only on an earlier event, so the replay cannot
// deadlock: the blocked wait with the earliest event would need a wake-up that its waker, blocked on an even earlier
// event, has not given.
#include "workloads/trace_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

namespace mksim {

double TraceThread::run_s() const {
  double s = 0;
  for (const auto& r : runs) s += r.seconds();
  return s;
}

double TraceModel::run_s() const {
  double s = 0;
  for (const auto& t : threads) s += t.run_s();
  return s;
}

namespace {

struct CpuState {
  int current = -1;         // thread running there; -1: idle
  bool known = false;       // whether a switch told us
  int32_t block_task = -1;  // task named by the CPU's latest run of consecutive events, and where that run began
  double block_start_s = 0;
  uint32_t block_seq = 0;
};

class ModelBuilder {
 public:
  explicit ModelBuilder(const ParsedTrace& tr) : tr_(tr) {
    m_.start_s = tr.first_s;
    m_.end_s = tr.last_s;
    m_.cpus = tr.cpus;
    cpus_.resize(static_cast<size_t>(std::max(1, tr.cpus)));
  }

  TraceModel build() {
    for (uint32_t seq = 0; seq < tr_.events.size(); ++seq) event(seq, tr_.events[seq]);
    for (size_t th = 0; th < running_on_.size(); ++th)
      if (running_on_[th] >= 0)
        close(static_cast<int>(th), m_.end_s, static_cast<uint32_t>(tr_.events.size()), LeaveState::Runnable);
    return std::move(m_);
  }

 private:
  int thread_of(int32_t tid) {
    if (tid == 0) return -1;
    auto [it, fresh] = index_.emplace(tid, static_cast<int>(m_.threads.size()));
    if (fresh) {
      TraceThread t;
      t.tid = tid;
      auto c = tr_.comm.find(tid);
      t.name = c != tr_.comm.end() ? fmt::format("{}-{}", c->second, tid) : fmt::format("task-{}", tid);
      auto g = tr_.tgid.find(tid);
      t.tgid = g != tr_.tgid.end() ? g->second : -1;
      m_.threads.push_back(std::move(t));
      running_on_.push_back(-1);
      open_start_.push_back(0);
      open_seq_.push_back(0);
    }
    return it->second;
  }

  void open(int th, int cpu, double t, uint32_t seq) {
    running_on_[th] = cpu;
    open_start_[th] = t;
    open_seq_[th] = seq;
  }

  void close(int th, double t, uint32_t seq, LeaveState left) {
    const int cpu = running_on_[th];
    if (cpu < 0) return;
    m_.threads[th].runs.push_back({open_start_[th], std::max(t, open_start_[th]), cpu, open_seq_[th], seq, left});
    running_on_[th] = -1;
  }

  void event(uint32_t seq, const SchedEvent& e) {
    if (static_cast<size_t>(e.cpu) >= cpus_.size()) cpus_.resize(static_cast<size_t>(e.cpu) + 1);
    CpuState& c = cpus_[e.cpu];
    if (e.task != c.block_task) {
      c.block_task = e.task;
      c.block_start_s = e.time_s;
      c.block_seq = seq;
    }
    switch (e.kind) {
      case SchedEventKind::Switch: {
        const int prev = thread_of(e.prev), next = thread_of(e.next);
        if (c.known && c.current != prev) {
          if (c.current >= 0) close(c.current, e.time_s, seq, LeaveState::Unknown);
          ++m_.inconsistencies;
        }
        if (prev >= 0 && running_on_[prev] != e.cpu) {
          if (running_on_[prev] >= 0) lost_elsewhere(prev, e.time_s, seq);
          const bool named = c.block_task == e.prev;
          open(prev, e.cpu, named ? c.block_start_s : e.time_s, named ? c.block_seq : seq);
        }
        if (prev >= 0) {
          close(prev, e.time_s, seq, e.prev_state);
          if (e.prev_state == LeaveState::Dead) m_.threads[prev].exited = true;
        }
        if (next >= 0) {
          if (running_on_[next] >= 0) lost_elsewhere(next, e.time_s, seq);
          open(next, e.cpu, e.time_s, seq);
        }
        c.current = next;
        c.known = true;
        c.block_task = e.next;
        c.block_start_s = e.time_s;
        c.block_seq = seq;
        break;
      }
      case SchedEventKind::Wakeup:
      case SchedEventKind::Waking:
      case SchedEventKind::WakeupNew:
      case SchedEventKind::Fork: {
        const int target = thread_of(e.pid);
        if (target < 0) break;
        const int32_t by = e.kind == SchedEventKind::Fork ? e.parent : e.task;
        const int waker = (e.irq || by == 0) ? -1 : thread_of(by);
        m_.threads[target].woken.push_back({seq, e.time_s, waker, e.kind});
        break;
      }
      case SchedEventKind::Exit: {
        const int th = thread_of(e.pid);
        if (th >= 0) m_.threads[th].exited = true;
        break;
      }
      case SchedEventKind::Other:
        break;
    }
  }

  // `th` shows up on another CPU while we believed it ran elsewhere: the switch away was lost.
  void lost_elsewhere(int th, double t, uint32_t seq) {
    const int other = running_on_[th];
    close(th, t, seq, LeaveState::Unknown);
    cpus_[other].current = -1;
    cpus_[other].known = false;
    ++m_.inconsistencies;
  }

  const ParsedTrace& tr_;
  TraceModel m_;
  std::vector<CpuState> cpus_;
  std::unordered_map<int32_t, int> index_;
  std::vector<int> running_on_;
  std::vector<double> open_start_;
  std::vector<uint32_t> open_seq_;
};

// The wake-up that released run `k` of `t` (see the file comment), or nullptr.
const TraceWake* releasing_wake(const TraceThread& t, size_t k) {
  const TraceRun& r = t.runs[k];
  const TraceWake* chosen = nullptr;
  size_t chosen_i = 0;
  if (k == 0) {
    for (size_t i = 0; i < t.woken.size() && t.woken[i].seq < r.seq_in; ++i) chosen = &t.woken[i], chosen_i = i;
  } else {
    const TraceRun& before = t.runs[k - 1];
    for (size_t i = 0; i < t.woken.size() && t.woken[i].seq < r.seq_in; ++i) {
      const TraceWake& w = t.woken[i];
      if (w.seq <= before.seq_in) continue;
      if (w.seq > before.seq_out) {
        chosen = &w, chosen_i = i;
        break;
      }
      chosen = &w, chosen_i = i;  // the last one before it left: a wake-up racing with going to sleep
    }
  }
  if (chosen && chosen->kind == SchedEventKind::Wakeup) {
    const uint32_t floor = k == 0 ? 0 : t.runs[k - 1].seq_in + 1;
    for (size_t i = chosen_i; i-- > 0 && t.woken[i].seq >= floor;)
      if (t.woken[i].kind == SchedEventKind::Waking) return &t.woken[i];
  }
  return chosen;
}

}  // namespace

TraceModel build_trace_model(const ParsedTrace& trace) {
  return ModelBuilder(trace).build();
}

ReplayPlan plan_replay(const TraceModel& m, double min_burst_s) {
  const size_t n = m.threads.size();
  ReplayPlan p;
  p.threads.resize(n);
  struct Edge {
    uint32_t seq;
    double time_s;
    uint32_t target;
  };
  struct Resume {
    enum Kind : uint8_t { None, Wait, Sleep } kind = None;
    double seconds = 0;
  };
  std::vector<std::vector<Edge>> gives(n);
  std::vector<std::vector<Resume>> resume(n);
  uint64_t woken_total = 0;
  for (size_t ti = 0; ti < n; ++ti) {
    const TraceThread& t = m.threads[ti];
    for (size_t i = 0; i < t.woken.size(); ++i) {
      // A sched_wakeup right after the sched_waking of the same wake-up (no run in between) is not another one.
      bool pair = i > 0 && t.woken[i].kind == SchedEventKind::Wakeup && t.woken[i - 1].kind == SchedEventKind::Waking;
      if (pair) {
        auto r = std::upper_bound(t.runs.begin(), t.runs.end(), t.woken[i - 1].seq,
                                  [](uint32_t seq, const TraceRun& run) { return seq < run.seq_in; });
        pair = r == t.runs.end() || r->seq_in > t.woken[i].seq;
      }
      woken_total += !pair;
    }
    resume[ti].resize(t.runs.size());
    for (size_t k = 0; k < t.runs.size(); ++k) {
      const TraceRun& r = t.runs[k];
      const double since = k == 0 ? m.start_s : t.runs[k - 1].end_s;
      const LeaveState left = k == 0 ? LeaveState::Unknown : t.runs[k - 1].left;
      Resume& res = resume[ti][k];
      if (left == LeaveState::Runnable || left == LeaveState::Dead) continue;  // preempted: the scheduler decides
      if (const TraceWake* w = releasing_wake(t, k)) {
        if (w->waker >= 0) {
          res.kind = Resume::Wait;
          gives[static_cast<size_t>(w->waker)].push_back({w->seq, w->time_s, static_cast<uint32_t>(ti)});
          ++p.wake_edges;
        } else {
          res = {Resume::Sleep, std::max(0.0, w->time_s - since)};
          ++p.external_wakes;
        }
      } else if (k == 0 || left == LeaveState::Blocked) {
        // Asleep (or not started) with no wake-up in the trace: keep the recorded gap.
        res = {Resume::Sleep, std::max(0.0, r.start_s - since)};
        if (k > 0) ++p.unexplained_sleeps;
      }
    }
  }
  p.unused_wakes = woken_total - std::min(woken_total, p.wake_edges + p.external_wakes);

  for (size_t ti = 0; ti < n; ++ti) {
    const TraceThread& t = m.threads[ti];
    auto& steps = p.threads[ti];
    auto& g = gives[ti];
    std::sort(g.begin(), g.end(), [](const Edge& a, const Edge& b) { return a.seq < b.seq; });
    auto compute = [&](double s) {
      if (!(s > 0)) return;
      if (!steps.empty() && steps.back().kind == ReplayStep::Compute)
        steps.back().seconds += s;
      else
        steps.push_back({ReplayStep::Compute, s, 0});
    };
    auto wake = [&](const Edge& e) { steps.push_back({ReplayStep::Wake, 0, e.target}); };
    size_t gi = 0;
    for (size_t k = 0; k < t.runs.size(); ++k) {
      const TraceRun& r = t.runs[k];
      for (; gi < g.size() && g[gi].seq < r.seq_in; ++gi) wake(g[gi]);
      const Resume& res = resume[ti][k];
      if (res.kind == Resume::Wait) steps.push_back({ReplayStep::Wait, 0, 0});
      if (res.kind == Resume::Sleep && res.seconds > 0) steps.push_back({ReplayStep::Sleep, res.seconds, 0});
      const bool keep = r.seconds() >= min_burst_s;
      if (!keep) ++p.dropped_bursts, p.dropped_run_s += r.seconds();
      double cursor = r.start_s;
      for (; gi < g.size() && g[gi].seq <= r.seq_out; ++gi) {
        const double at = std::clamp(g[gi].time_s, cursor, r.end_s);
        if (keep) compute(at - cursor);
        cursor = at;
        wake(g[gi]);
      }
      if (keep) compute(r.end_s - cursor);
    }
    for (; gi < g.size(); ++gi) wake(g[gi]);
  }
  return p;
}

}  // namespace mksim
