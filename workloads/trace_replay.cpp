// Workload `trace`: replays a Linux scheduler trace (ftrace, trace-cmd, perf sched, systrace; workloads/trace_parse.*)
// on the simulated machine under the simulated kernel and scheduler. Each traced thread becomes a simulated thread
// that computes its recorded run bursts (scaled by the source clock over the target core's clock), waits where the
// trace shows it asleep until a traced thread woke it, wakes the threads it woke, and sleeps for the recorded time
// where the wake-up came from outside the trace (interrupts, timers, the idle task). The scheduling itself is the
// simulated scheduler's: where and when the bursts run is up to it. Reconstruction rules: workloads/trace_model.*,
// docs/traces.md.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "sim/api/param_struct.hpp"
#include "sim/config.hpp"
#include "sim/input.hpp"
#include "workloads/common.hpp"
#include "workloads/trace_model.hpp"

namespace mksim {

namespace {

struct TraceReplayParams {
  std::string format, cpu_map;
  double time_scale = 0, source_freq_ghz = 0, min_burst_us = 0;

  static const ParamStruct<TraceReplayParams>& declare() {
    using P = TraceReplayParams;
    static const ParamStruct<P> d =
        ParamStruct<P>()
            .unbound(Field::optional("file", FieldType::String, "", "trace file, relative to the config's folder"))
            .bind(&P::format, Field::choice("format", "auto", {"auto", "ftrace", "trace-cmd", "perf-sched", "systrace"},
                                            "trace format (auto: from the content)"))
            .bind(&P::time_scale,
                  Field::number("time_scale", 1, "", "multiplies every traced duration (bursts and sleeps)").above(0))
            .bind(&P::source_freq_ghz,
                  Field::number(
                      "source_freq_ghz", 0, "GHz",
                      "clock of the traced CPUs: bursts become cycles at this clock (0: the simulated core 0's clock, "
                      "so that bursts keep their traced length)")
                      .at_least(0))
            .bind(&P::cpu_map,
                  Field::choice(
                      "cpu_map", "same", {"same", "free"},
                      "same: a thread may run on the cores it ran on in the trace (trace CPU i -> core i mod cores); "
                      "free: the scheduler places threads anywhere"))
            .bind(&P::min_burst_us,
                  Field::number("min_burst_us", 0, "us", "drop run bursts shorter than this").at_least(0));
    return d;
  }
};

class TraceReplaySource final : public OpSource {
 public:
  TraceReplaySource(std::vector<ReplayStep> steps, std::shared_ptr<const std::vector<uint32_t>> ids,
                    double cycles_per_trace_s, double time_scale)
      : steps_(std::move(steps)), ids_(std::move(ids)), cycles_per_s_(cycles_per_trace_s), time_scale_(time_scale) {}

  bool next(const OpResult&, Op& out) override {
    if (pos_ >= steps_.size()) return false;
    const ReplayStep& s = steps_[pos_++];
    switch (s.kind) {
      case ReplayStep::Compute:
        out = Op::compute(s.seconds * cycles_per_s_);
        break;
      case ReplayStep::Wait:
        out = Op::wait();
        break;
      case ReplayStep::Wake:
        out = Op::wake((*ids_)[s.thread]);
        break;
      case ReplayStep::Sleep:
        out = Op::sleep(s.seconds * time_scale_);
        break;
    }
    return true;
  }

 private:
  std::vector<ReplayStep> steps_;
  size_t pos_ = 0;
  std::shared_ptr<const std::vector<uint32_t>> ids_;
  double cycles_per_s_, time_scale_;
};

// "cpu_idle" -> "skipped_cpu_idle"; anything but letters, digits and '_' becomes '_'.
std::string skipped_key(const std::string& event) {
  std::string k = "events_skipped_";
  for (char c : event) k += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_';
  while (!k.empty() && k.back() == '_') k.pop_back();
  return k;
}

class TraceReplayWorkload final : public Workload {
 public:
  explicit TraceReplayWorkload(const Params& p) : p_(p), v_(TraceReplayParams::declare().read(p)) {}

  void setup(WorkloadEnv& env) override {
    const Machine& m = env.machine();
    TraceFormat format = TraceFormat::Auto;
    parse_trace_format(v_.format, format);
    if (!p_.has("file") || p_.text("file").empty()) p_.fail("file", "missing, expected the path of a trace file");
    const std::string path = p_.input_path("file");
    ParsedTrace trace;
    try {
      trace = parse_sched_trace_file(path, format);
    } catch (const InputFileError& e) {
      p_.fail("file", fmt::format("'{}': {} (looked for {}; a relative path starts at the config's folder)",
                                  p_.text("file"), e.reason(), path));
    }
    TraceModel model = build_trace_model(trace);
    ReplayPlan plan = plan_replay(model, v_.min_burst_us * 1e-6);

    const double time_scale = v_.time_scale;
    const double source_ghz = v_.source_freq_ghz > 0 ? v_.source_freq_ghz : m.cores[0].freq_ghz;
    const bool same_cpus = v_.cpu_map == "same";

    // Threads with something to do, grouped into processes by thread group (when the trace has a TGID column) or
    // one process per thread.
    std::vector<size_t> kept;
    for (size_t i = 0; i < model.threads.size(); ++i)
      if (!plan.threads[i].empty()) kept.push_back(i);
    std::map<int32_t, std::vector<size_t>> groups;
    for (size_t i : kept) {
      const TraceThread& t = model.threads[i];
      groups[t.tgid >= 0 ? t.tgid : t.tid].push_back(i);
    }
    auto cores_of = [&](const TraceThread& t) {
      std::set<int> s;
      for (const auto& r : t.runs) s.insert(r.cpu % m.num_cores());
      return std::vector<int>(s.begin(), s.end());
    };
    auto ids = std::make_shared<std::vector<uint32_t>>(model.threads.size(), UINT32_MAX);
    first_ = UINT32_MAX;
    last_ = 0;
    for (const auto& [group, members] : groups) {
      std::set<int> cores;
      if (same_cpus)
        for (size_t i : members)
          for (int c : cores_of(model.threads[i])) cores.insert(c);
      auto leader = trace.comm.find(group);
      std::string name = leader != trace.comm.end() ? fmt::format("{}-{}", leader->second, group)
                                                    : model.threads[members.front()].name;
      uint32_t proc = env.create_process(name, std::vector<int>(cores.begin(), cores.end()));
      ++processes_;
      for (size_t i : members) {
        const TraceThread& t = model.threads[i];
        ThreadSpec spec{t.name, same_cpus ? cores_of(t) : std::vector<int>{}, -1};
        uint32_t id = env.create_thread(
            proc, spec,
            std::make_unique<TraceReplaySource>(plan.threads[i], ids, time_scale * source_ghz * 1e9, time_scale));
        (*ids)[i] = id;
        first_ = std::min(first_, id);
        last_ = std::max(last_, id + 1);
        run_s_trace_ += t.run_s();
      }
    }
    if (first_ == UINT32_MAX) first_ = last_ = 0;

    figures_ = {
        {"threads", static_cast<double>(kept.size())},
        {"processes", static_cast<double>(processes_)},
        {"trace_cpus", static_cast<double>(trace.cpus)},
        {"events_total", static_cast<double>(trace.events_total)},
        {"events_used", static_cast<double>(trace.events_used)},
        {"events_skipped", static_cast<double>(trace.events_skipped())},
        {"events_lost", static_cast<double>(trace.lost_events)},
        {"inconsistencies", static_cast<double>(model.inconsistencies)},
        {"trace_duration_s", trace.last_s - trace.first_s},
        {"wake_edges", static_cast<double>(plan.wake_edges)},
        {"external_wakes", static_cast<double>(plan.external_wakes)},
        {"unexplained_sleeps", static_cast<double>(plan.unexplained_sleeps)},
        {"unused_wakes", static_cast<double>(plan.unused_wakes)},
        {"dropped_bursts", static_cast<double>(plan.dropped_bursts)},
        {"dropped_run_s", plan.dropped_run_s},
        {"total_run_s_trace", run_s_trace_},
    };
    for (const auto& [event, n] : trace.skipped) figures_[skipped_key(event)] = static_cast<double>(n);
  }

  Metrics metrics(const RunView& run) const override {
    Metrics out;
    for (const auto& [k, v] : figures_) out[k] = v;
    double replay = 0;
    int unfinished = 0;
    for (uint32_t i = first_; i < last_; ++i) {
      replay += run.threads[i].run_s;
      unfinished += !run.threads[i].finished;
    }
    out["replay_makespan_s"] = makespan_s(run, first_, last_);
    out["total_run_s_replay"] = replay;
    out["run_time_ratio"] = run_s_trace_ > 0 ? replay / run_s_trace_ : 0.0;
    out["threads_unfinished"] = static_cast<double>(unfinished);
    return out;
  }

 private:
  Params p_;
  TraceReplayParams v_;
  uint32_t first_ = 0, last_ = 0;
  int processes_ = 0;
  double run_s_trace_ = 0;
  std::map<std::string, double> figures_;
};

WorkloadRegistry::Add reg(
    "workload", "trace",
    "replays a Linux scheduler trace (ftrace, trace-cmd report, perf sched script, systrace HTML): run bursts, "
    "sleeps and who woke whom",
    TraceReplayParams::declare().schema(), [](const Params& p) { return std::make_unique<TraceReplayWorkload>(p); });

}  // namespace
}  // namespace mksim
