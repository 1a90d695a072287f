// The `trace` output (`mksim run --trace`, run.outputs.trace): a timeline in the Trace Event format
// (https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU), which Perfetto UI
// (ui.perfetto.dev) and speedscope (www.speedscope.app) open. Layout: one process per NUMA node, one thread track per
// core carrying the thread run slices, kernel work (system calls, map/unmap, spawn, and interrupt handlers) and memory
// operations nested inside them, context switches between them, and idle slices; instant events for wake-ups and
// inter-processor interrupts (on the sender when sent, on the target when handled); flow arrows from each message send
// to its receive and from each IPI to its handler; page migrations as slices on the core that does them; counters for
// run-queue lengths (per core) and memory bandwidth (per node). Same config and seed give a byte-identical file.
//
// Times. The format's `ts` and `dur` are microseconds, and viewers add them in binary floating point: speedscope
// computes a slice's end as ts + dur, so with decimal microseconds (0.1 + 0.2 > 0.3) a slice would end just after the
// next one starts and nest under it. Each time is therefore written on a grid of 1/4096 us (0.244 ns), whose points
// are exact in binary floating point (and in decimal, with 12 digits at most): ts and dur come from integer begin and
// end ticks, so ts + dur is exactly the next slice's ts in any viewer, and a viewer that reads integer nanoseconds
// (Perfetto: llround(ts * 1000)) gets the simulated nanosecond back exactly, for ts and for dur (the grid is finer than
// a quarter of a nanosecond). Empty slices (shorter than half a nanosecond) are left out.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "mksim_version.hpp"
#include "sim/outputs.hpp"

namespace mksim {

namespace {

int64_t to_ns(double s) {
  return static_cast<int64_t>(std::llround(s * 1e9));
}

// Ticks of 1/4096 us from integer nanoseconds, to the nearest (ns x 4096 / 1000 = ns x 512 / 125).
constexpr int64_t kTicksPerUs = 4096;
int64_t ticks(int64_t ns) {
  const int64_t scaled = ns * 512;
  return scaled >= 0 ? (scaled + 62) / 125 : -((-scaled + 62) / 125);
}

// A tick count as exact decimal microseconds: "12", "12.5", "12.000244140625".
std::string us_ticks(int64_t t) {
  const char* sign = t < 0 ? "-" : "";
  const int64_t a = t < 0 ? -t : t;
  const int64_t frac = a % kTicksPerUs;
  if (frac == 0) return fmt::format("{}{}", sign, a / kTicksPerUs);
  std::string digits = fmt::format("{:012}", frac * 244140625);  // 1e12 / 4096 = 244140625
  digits.erase(digits.find_last_not_of('0') + 1);
  return fmt::format("{}{}.{}", sign, a / kTicksPerUs, digits);
}

// A timestamp (ts) from integer nanoseconds.
std::string ts_text(int64_t ns) {
  return us_ticks(ticks(ns));
}

// "12.345" microseconds from 12345 ns, exactly: for durations shown in args, which no viewer adds up.
std::string us(int64_t ns) {
  const char* sign = ns < 0 ? "-" : "";
  int64_t a = ns < 0 ? -ns : ns;
  return fmt::format("{}{}.{:03}", sign, a / 1000, a % 1000);
}

std::string quoted(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string bytes_text(uint64_t b) {
  if (b >= (1ull << 30) && b % (1ull << 30) == 0) return fmt::format("{} GiB", b >> 30);
  if (b >= (1ull << 20) && b % (1ull << 20) == 0) return fmt::format("{} MiB", b >> 20);
  if (b >= (1ull << 10) && b % (1ull << 10) == 0) return fmt::format("{} KiB", b >> 10);
  return fmt::format("{} B", b);
}

// One event, kept until the end so that the file can be written in a canonical order.
struct Event {
  int64_t ts_ns = 0;
  int rank = 0;        // order of phases at the same time: metadata, counters, slices (longest first), instants, flows
  int64_t dur_ns = 0;  // X only
  uint64_t seq = 0;    // arrival order, the last tie-breaker
  std::string text;    // the JSON object
};

struct Flow {
  int core;
  int64_t ts_ns;
};

class ChromeTrace final : public Observer {
 public:
  ChromeTrace(const Scenario& sc, std::string outdir) : sc_(sc), outdir_(std::move(outdir)) {}

  void on_start(const Machine& m) override {
    m_ = &m;
    for (int n = 0; n < m.num_nodes(); ++n) {
      meta(pid_of_node(n), -1, "process_name", fmt::format(R"({{"name":{}}})", quoted(fmt::format("NUMA node {}", n))));
      meta(pid_of_node(n), -1, "process_sort_index", fmt::format(R"({{"sort_index":{}}})", n));
    }
    for (int c = 0; c < m.num_cores(); ++c) {
      int pid = pid_of_core(c);
      meta(pid, tid_of_core(c), "thread_name", fmt::format(R"({{"name":"core {}"}})", c));
      meta(pid, tid_of_core(c), "thread_sort_index", fmt::format(R"({{"sort_index":{}}})", c));
    }
  }

  void on_slice(int core, const Thread& t, double start_s, double end_s) override {
    slice(core, t.name, "thread", start_s, end_s,
          fmt::format(R"({{"thread_id":{},"process_id":{}}})", t.id, t.process));
  }

  void on_idle(int core, double start_s, double end_s) override {
    if (end_s > start_s) slice(core, "idle", "idle", start_s, end_s, "{}");
  }

  void on_op(int core, const Thread& t, const Op& op, double start_s, double end_s) override {
    if (core < 0) return;
    switch (op.kind) {
      case OpKind::Syscall:
        slice(core, fmt::format("syscall {}", to_string(static_cast<SyscallClass>(op.target))), "kernel", start_s,
              end_s, fmt::format(R"({{"thread":{},"work_cycles":{}}})", quoted(t.name), op.cycles));
        break;
      case OpKind::Map:
      case OpKind::Unmap:
        slice(core, fmt::format("{} {}", to_string(op.kind), bytes_text(op.bytes)), "kernel", start_s, end_s,
              fmt::format(R"({{"thread":{},"bytes":{}}})", quoted(t.name), op.bytes));
        break;
      case OpKind::Spawn:
      case OpKind::Alloc:
      case OpKind::Free:
        if (end_s > start_s)
          slice(core, std::string(to_string(op.kind)), "kernel", start_s, end_s,
                fmt::format(R"({{"thread":{}}})", quoted(t.name)));
        break;
      case OpKind::MemAccess:
        slice(core,
              fmt::format("{} {} {}", op.access == AccessKind::Read ? "read" : "write", bytes_text(op.bytes),
                          to_string(op.pattern)),
              "memory", start_s, end_s,
              fmt::format(R"({{"thread":{},"region":{},"bytes":{}}})", quoted(t.name), op.target, op.bytes));
        break;
      case OpKind::Lock:
      case OpKind::Unlock:
        if (end_s > start_s)
          slice(core, fmt::format("{} {}", to_string(op.kind), op.target), "lock", start_s, end_s,
                fmt::format(R"({{"thread":{}}})", quoted(t.name)));
        break;
      case OpKind::Send:
      case OpKind::Recv: {
        const bool send = op.kind == OpKind::Send;
        slice(core, fmt::format("{} channel {}", send ? "send" : "recv", op.target), "ipc", start_s, end_s,
              fmt::format(R"({{"thread":{},"channel":{}}})", quoted(t.name), op.target));
        // Channels are FIFO: the k-th receive on a channel takes the k-th message sent on it.
        (send ? sends_ : recvs_)[op.target].push_back({core, to_ns(start_s)});
        break;
      }
      default:
        break;  // compute, sleep, join, wait, wake, yield: visible as the slices around them
    }
  }

  void on_wakeup(int from_core, int to_core, const Thread& t, double sent_s, double at_s) override {
    int core = to_core >= 0 ? to_core : from_core;
    std::string args = fmt::format(R"({{"thread":{},"from_core":{},"to_core":{},"latency_us":{}}})", quoted(t.name),
                                   from_core, to_core, us(to_ns(at_s) - to_ns(sent_s)));
    if (core < 0) {  // a thread started before any core ran: a global instant (drawn across every track)
      add(to_ns(at_s), 3, 0,
          fmt::format(R"({{"name":"wake-up","cat":"wakeup","ph":"i","s":"g","ts":{},"pid":{},"args":{}}})",
                      ts_text(to_ns(at_s)), pid_of_node(0), args));
      return;
    }
    instant(core, "wake-up", "wakeup", at_s, args);
  }

  void on_kernel(int core, const char* what, double start_s, double end_s) override {
    if (end_s > start_s) slice(core, what, "kernel", start_s, end_s, "{}");
  }

  void on_ipi(int from_core, int to_core, double handler_cycles, double sent_s, double handled_s) override {
    if (from_core < 0 || to_core < 0 || !m_) return;
    instant(from_core, "IPI sent", "ipi", sent_s,
            fmt::format(R"({{"to_core":{},"handler_cycles":{}}})", to_core, handler_cycles));
    if (handled_s < 0) return;  // never handled: the target idled to the end of the run
    instant(to_core, "IPI", "ipi", handled_s,
            fmt::format(R"({{"from_core":{},"handler_cycles":{},"latency_us":{}}})", from_core, handler_cycles,
                        us(to_ns(handled_s) - to_ns(sent_s))));
    ipis_.push_back({{from_core, to_ns(sent_s)}, {to_core, to_ns(handled_s)}});
  }

  void on_run_queue(int core, size_t length, double at_s) override {
    if (core < 0) return;
    add(to_ns(at_s), 1, 0,
        fmt::format(
            R"({{"name":"run queue core {}","cat":"scheduler","ph":"C","ts":{},"pid":{},"args":{{"length":{}}}}})",
            core, ts_text(to_ns(at_s)), pid_of_core(core), length));
  }

  void on_memory(int core, int node, uint64_t bytes, double start_s, double end_s) override {
    int64_t a = to_ns(start_s), b = to_ns(end_s);
    if (b <= a || node < 0) return;
    double gb_s = static_cast<double>(bytes) / (static_cast<double>(b - a) * 1e-9) / 1e9;
    auto& steps = bandwidth_[node];
    steps[a] += gb_s;
    steps[b] -= gb_s;
  }

  void on_migration(int core, uint32_t region, int from_node, int to_node, uint64_t pages, uint64_t bytes,
                    double start_s, double end_s) override {
    slice(core, fmt::format("migrate {} node {} -> {}", bytes_text(bytes), from_node, to_node), "migration", start_s,
          end_s, fmt::format(R"({{"region":{},"pages":{},"bytes":{}}})", region, pages, bytes));
    on_memory(core, from_node, bytes, start_s, end_s);
    on_memory(core, to_node, bytes, start_s, end_s);
  }

  void on_end(double sim_time_s) override {
    add_bandwidth_counters();
    add_flows();
    std::stable_sort(events_.begin(), events_.end(), [](const Event& x, const Event& y) {
      if (x.ts_ns != y.ts_ns) return x.ts_ns < y.ts_ns;
      if (x.rank != y.rank) return x.rank < y.rank;
      if (x.dur_ns != y.dur_ns) return x.dur_ns > y.dur_ns;  // a parent slice before the slices it encloses
      return x.seq < y.seq;
    });
    std::string out = "{\"traceEvents\":[\n";
    for (size_t i = 0; i < events_.size(); ++i) {
      out += events_[i].text;
      out += i + 1 < events_.size() ? ",\n" : "\n";
    }
    json other = {{"mksim_version", MKSIM_VERSION},      {"config", sc_.file},
                  {"machine", m_ ? m_->name : ""},       {"architecture", sc_.architecture.name},
                  {"scheduler", sc_.scheduler.name},     {"seed", sc_.run.seed},
                  {"sim_time_us", us(to_ns(sim_time_s))}};
    // No displayTimeUnit: it only changes how catapult labels times, and some Perfetto versions read it as the unit of
    // ts, which stays microseconds here.
    out += "],\"otherData\":" + other.dump() + "}\n";
    std::filesystem::create_directories(outdir_);
    auto path = std::filesystem::path(outdir_) / "trace.json";
    std::ofstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error(fmt::format("cannot write {}", path.string()));
    f << out;
  }

 private:
  int pid_of_node(int node) const { return node + 1; }
  int pid_of_core(int core) const { return pid_of_node(m_->cores[core].node); }
  int tid_of_core(int core) const { return core + 1; }

  void add(int64_t ts_ns, int rank, int64_t dur_ns, std::string text) {
    events_.push_back({ts_ns, rank, dur_ns, seq_++, std::move(text)});
  }

  void meta(int pid, int tid, const char* name, const std::string& args) {
    add(0, 0, 0,
        tid < 0 ? fmt::format(R"({{"name":"{}","ph":"M","pid":{},"args":{}}})", name, pid, args)
                : fmt::format(R"({{"name":"{}","ph":"M","pid":{},"tid":{},"args":{}}})", name, pid, tid, args));
  }

  void instant(int core, const char* name, const char* cat, double at_s, const std::string& args) {
    add(to_ns(at_s), 3, 0,
        fmt::format(R"({{"name":"{}","cat":"{}","ph":"i","s":"t","ts":{},"pid":{},"tid":{},"args":{}}})", name, cat,
                    ts_text(to_ns(at_s)), pid_of_core(core), tid_of_core(core), args));
  }

  void slice(int core, const std::string& name, const char* cat, double start_s, double end_s,
             const std::string& args) {
    if (core < 0 || !m_) return;
    const int64_t a = to_ns(start_s), b = to_ns(end_s);
    if (b <= a) return;  // empty: viewers would draw nothing, or (speedscope) nest the next slice under it
    add(a, 2, b - a,
        fmt::format(R"({{"name":{},"cat":"{}","ph":"X","ts":{},"dur":{},"pid":{},"tid":{},"args":{}}})", quoted(name),
                    cat, ts_text(a), us_ticks(ticks(b) - ticks(a)), pid_of_core(core), tid_of_core(core), args));
  }

  // Memory bandwidth per node as a step function: the sum of the rates of the flows active at each moment.
  void add_bandwidth_counters() {
    for (const auto& [node, steps] : bandwidth_) {
      double level = 0;
      for (const auto& [ts, delta] : steps) {
        level += delta;
        double shown = level < 1e-9 ? 0.0 : level;  // sums of opposite rates leave rounding dust
        add(ts, 1, 0,
            fmt::format(
                R"({{"name":"memory bandwidth GB/s","cat":"memory","ph":"C","ts":{},"pid":{},"args":{{"node {}":{:.6g}}}}})",
                ts_text(ts), pid_of_node(node), node, shown));
      }
    }
  }

  // Flow arrows, numbered across messages and IPIs so that every arrow has its own id.
  void add_flows() {
    uint64_t id = 0;
    for (const auto& [channel, sends] : sends_) {
      auto it = recvs_.find(channel);
      if (it == recvs_.end()) continue;
      const auto& recvs = it->second;
      const std::string args = fmt::format(R"({{"channel":{}}})", channel);
      for (size_t k = 0; k < std::min(sends.size(), recvs.size()); ++k)
        flow(++id, "message", "ipc", sends[k], recvs[k], args);
    }
    for (const auto& [from, to] : ipis_) flow(++id, "IPI", "ipi", from, to, "{}");
  }

  void flow(uint64_t id, const char* name, const char* cat, const Flow& from, const Flow& to, const std::string& args) {
    add(from.ts_ns, 4, 0,
        fmt::format(R"({{"name":"{}","cat":"{}","ph":"s","id":{},"ts":{},"pid":{},"tid":{},"args":{}}})", name, cat, id,
                    ts_text(from.ts_ns), pid_of_core(from.core), tid_of_core(from.core), args));
    add(to.ts_ns, 4, 0,
        fmt::format(R"({{"name":"{}","cat":"{}","ph":"f","bp":"e","id":{},"ts":{},"pid":{},"tid":{},"args":{}}})", name,
                    cat, id, ts_text(to.ts_ns), pid_of_core(to.core), tid_of_core(to.core), args));
  }

  const Scenario& sc_;
  std::string outdir_;
  const Machine* m_ = nullptr;
  std::vector<Event> events_;
  uint64_t seq_ = 0;
  std::map<int, std::map<int64_t, double>> bandwidth_;
  std::map<uint32_t, std::vector<Flow>> sends_, recvs_;
  std::vector<std::pair<Flow, Flow>> ipis_;  // sent, handled
};

AddOutput reg({"trace", "trace.json", "a timeline, trace.json, for Perfetto UI or speedscope", "the timeline",
               "see docs/python.md (Timelines)"},
              "Trace Event timeline (trace.json) for Perfetto UI (ui.perfetto.dev) or speedscope",
              [](const Params&, const Scenario& sc, const std::string& outdir) {
                return std::make_unique<ChromeTrace>(sc, outdir);
              });

}  // namespace
}  // namespace mksim
