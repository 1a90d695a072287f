// mksim_bench: the parts of the benchmarks (bench/run) that must live inside an mksim process.
//   run CONFIG [--set PATH=VALUE]...      one simulation in this process; prints the summary, the host time and the
//                                         peak memory as one JSON line (no files written)
//   record CONFIG STREAM [--set ...]      one simulation with SimGrid's signals recording every activity each actor
//                                         starts (sleeps, communications, executions) and the platform, into STREAM,
//                                         for the plain SimGrid program (raw_simgrid) to replay
//   platform CORES NODES                  builds the machine description and the SimGrid platform of a uniform
//                                         machine; prints build times and memory
// It also registers `bench-os`, a workload made only for the benchmarks: one fixed pattern of OS operations per run
// (system calls, IPC, context switches, memory operations, wake-ups), so that events per second can be measured per
// kind of event and kernel architecture, independently of how the real workloads evolve.
#include <dlfcn.h>
#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <simgrid/s4u.hpp>
#include <string>
#include <vector>

#include "bench/platform_dump.hpp"
#include "models/platform.hpp"
#include "sim/api/workload.hpp"
#include "sim/config.hpp"
#include "sim/engine.hpp"
#include "sim/machine_config.hpp"

namespace sg4 = simgrid::s4u;

namespace mksim {
namespace {

// ---- the bench-os workload ----

// Each pattern isolates one kind of OS-level event; `local` is the core-local mix (system calls and latency-bound
// memory operations that no other core can observe, so the engine sums them into one SimGrid activity per time
// slice); `mixed` gives every iteration one SimGrid sleep and one memory stream (the scaling benchmark).
class BenchOs final : public Workload {
 public:
  explicit BenchOs(const Params& p) : p_(p) {}

  void setup(WorkloadEnv& env) override {
    const Machine& m = env.machine();
    const std::string pattern = p_.text("pattern");
    const auto n = static_cast<uint64_t>(p_.integer("iterations"));
    const double cycles = p_.number("compute_cycles");
    const auto bytes = static_cast<uint64_t>(p_.number("bytes"));
    int cores = static_cast<int>(p_.integer("cores"));
    if (cores == 0 || cores > m.num_cores()) cores = m.num_cores();
    uint32_t proc = env.create_process("bench", {});
    auto spec = [&](int core, const std::string& role) {
      return ThreadSpec{fmt::format("{}.{}", role, core), {core}, m.cores[core].node};
    };
    if (pattern == "ipc" || pattern == "wakeup") {
      // Pairs of threads on neighbouring cores: (0, 1), (2, 3), ...
      for (int c = 0; c + 1 < cores; c += 2) {
        if (pattern == "ipc") {
          uint32_t ab = env.create_channel(fmt::format("ping{}", c)), ba = env.create_channel(fmt::format("pong{}", c));
          env.create_thread(proc, spec(c, "client"), boxed(ipc_client(ab, ba, n)));
          env.create_thread(proc, spec(c + 1, "server"), boxed(ipc_server(ab, ba, n)));
        } else {
          auto a = std::make_shared<uint32_t>(0), b = std::make_shared<uint32_t>(0);
          *a = env.create_thread(proc, spec(c, "waker"), boxed(waker(b, n, cycles)));
          *b = env.create_thread(proc, spec(c + 1, "wakee"), boxed(wakee(a, n, cycles)));
        }
      }
      return;
    }
    for (int c = 0; c < cores; ++c) {
      const int node = m.cores[c].node;
      if (pattern == "syscall") {
        env.create_thread(proc, spec(c, "sys"), boxed(syscalls(n, cycles)));
      } else if (pattern == "switch") {
        for (int k = 0; k < static_cast<int>(p_.integer("threads_per_core")); ++k)
          env.create_thread(proc, spec(c, fmt::format("yield{}", k)), boxed(yielder(n, cycles)));
      } else if (pattern == "memory") {
        uint32_t r = env.create_region(proc, bytes * n, node);
        env.create_thread(proc, spec(c, "stream"), boxed(memory(r, n, bytes, AccessPattern::Sequential, 0)));
      } else if (pattern == "local") {
        uint32_t r = env.create_region(proc, bytes * n, node);
        env.create_thread(proc, spec(c, "local"), boxed(local(r, n, bytes, cycles)));
      } else {  // mixed
        uint32_t r = env.create_region(proc, bytes * n, node);
        env.create_thread(proc, spec(c, "mixed"), boxed(memory(r, n, bytes, AccessPattern::Sequential, cycles)));
      }
    }
  }

  Metrics metrics(const RunView& run) const override { return {}; }

 private:
  static Program syscalls(uint64_t n, double cycles) {
    for (uint64_t i = 0; i < n; ++i) {
      co_await Op::compute(cycles);
      co_await Op::syscall(SyscallClass::Null, 0);
    }
  }
  static Program yielder(uint64_t n, double cycles) {
    for (uint64_t i = 0; i < n; ++i) {
      co_await Op::compute(cycles);
      co_await Op::yield();
    }
  }
  static Program memory(uint32_t region, uint64_t n, uint64_t bytes, AccessPattern p, double cycles) {
    for (uint64_t i = 0; i < n; ++i) {
      if (cycles > 0) {
        co_await Op::compute(cycles);
        co_await Op::syscall(SyscallClass::Null, 0);
      }
      co_await Op::mem(region, bytes, p);
    }
  }
  static Program local(uint32_t region, uint64_t n, uint64_t bytes, double cycles) {
    for (uint64_t i = 0; i < n; ++i) {
      co_await Op::compute(cycles);
      co_await Op::syscall(SyscallClass::Null, 0);
      co_await Op::mem(region, bytes, AccessPattern::Chase);
    }
  }
  static Program ipc_client(uint32_t ab, uint32_t ba, uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      co_await Op::send(ab, 64, i);
      co_await Op::recv(ba);
    }
  }
  static Program ipc_server(uint32_t ab, uint32_t ba, uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      co_await Op::recv(ab);
      co_await Op::send(ba, 64, i);
    }
  }
  static Program waker(std::shared_ptr<uint32_t> partner, uint64_t n, double cycles) {
    for (uint64_t i = 0; i < n; ++i) {
      co_await Op::compute(cycles);
      co_await Op::wake(*partner);
      co_await Op::wait();
    }
  }
  static Program wakee(std::shared_ptr<uint32_t> partner, uint64_t n, double cycles) {
    for (uint64_t i = 0; i < n; ++i) {
      co_await Op::wait();
      co_await Op::compute(cycles);
      co_await Op::wake(*partner);
    }
  }

  Params p_;
};

WorkloadRegistry::Add reg(
    "workload", "bench-os", "benchmark-only: one fixed pattern of OS operations per core (bench/mksim_bench.cpp)",
    Schema{
        Field::choice("pattern", "syscall", {"syscall", "ipc", "switch", "memory", "wakeup", "local", "mixed"},
                      "which OS operations each thread repeats"),
        Field::integer("iterations", 1000, "", "repetitions per thread").at_least(1),
        Field::integer("cores", 0, "", "cores used, from core 0 (0: all)").at_least(0),
        Field::integer("threads_per_core", 2, "", "threads per core (pattern switch)").at_least(1).at_most(1000),
        Field::number("compute_cycles", 200, "cycles", "user work between two operations").at_least(0),
        Field::number("bytes", 4096, "bytes", "bytes per memory operation").above(0),
    },
    [](const Params& p) { return std::make_unique<BenchOs>(p); });

// ---- helpers ----

long maxrss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

long current_rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Scenario scenario_from_args(int argc, char** argv, int first, std::string& config) {
  std::vector<std::string> sets;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--set" && i + 1 < argc)
      sets.emplace_back(argv[++i]);
    else if (config.empty())
      config = a;
    else
      throw std::runtime_error("unexpected argument " + a);
  }
  if (config.empty()) throw std::runtime_error("no config given");
  return load_scenario(config, sets);
}

json run_summary(const RunResults& r) {
  json out;
  out["summary"] = r.doc["summary"];
  out["wall_clock"] = r.doc["wall_clock"];
  out["metrics"] = r.doc["workload"]["metrics"];
  out["maxrss_kb"] = maxrss_kb();
  return out;
}

int cmd_run(int argc, char** argv) {
  std::string config;
  Scenario sc = scenario_from_args(argc, argv, 2, config);
  auto t0 = std::chrono::steady_clock::now();
  RunResults r = simulate(sc);
  json out = run_summary(r);
  out["process_simulate_s"] = seconds_since(t0);
  std::cout << out.dump() << "\n";
  return 0;
}

// ---- recording the SimGrid activity stream ----

// SimGrid 3.32 declares the Comm::on_start signal but libsimgrid.so.3.32 does not define it (linking against it fails
// with an undefined reference), so communications are seen by wrapping the one call mksim starts them with: this
// definition of Comm::sendto_async in the executable takes precedence over the library's (ELF symbol interposition),
// tells the recorder, and forwards to SimGrid's own. Only mksim_bench has it; `mksim` and the timed runs do not.
std::function<void(sg4::Host*, sg4::Host*, uint64_t)> comm_started;

}  // namespace
}  // namespace mksim

simgrid::s4u::CommPtr simgrid::s4u::Comm::sendto_async(Host* from, Host* to, uint64_t simulated_size_in_bytes) {
  using Real = CommPtr (*)(Host*, Host*, uint64_t);
  static const auto real =
      reinterpret_cast<Real>(dlsym(RTLD_NEXT, "_ZN7simgrid3s4u4Comm12sendto_asyncEPNS0_4HostES3_m"));
  if (!real) throw std::runtime_error("cannot find SimGrid's Comm::sendto_async");
  if (mksim::comm_started) mksim::comm_started(from, to, simulated_size_in_bytes);
  return real(from, to, simulated_size_in_bytes);
}

namespace mksim {
namespace {

struct Action {
  char kind;  // S: sleep until `t_end`; C: communication; E: execution
  double t_start, t_end;
  std::string a, b;  // C: source and destination hosts; E: host
  double amount;     // C: bytes; E: flops
};

struct ActorLog {
  std::string name, host;
  double sleep_start = 0, end = -1;
  std::vector<Action> actions;
};

int cmd_record(int argc, char** argv) {
  if (argc < 4) throw std::runtime_error("usage: mksim_bench record CONFIG STREAM [--set PATH=VALUE]...");
  std::string stream_path = argv[3];
  std::string config;
  std::vector<char*> rest(argv, argv + argc);
  rest.erase(rest.begin() + 3);
  Scenario sc = scenario_from_args(static_cast<int>(rest.size()), rest.data(), 2, config);

  std::map<long, ActorLog> logs;
  std::vector<long> order;
  std::string platform, construction;
  auto log_of = [&](const sg4::Actor& a) -> ActorLog& { return logs.at(a.get_pid()); };
  auto self_log = [&]() -> ActorLog& {
    auto* self = sg4::Actor::self();
    if (!self) throw std::runtime_error("an activity started outside any actor");
    return log_of(*self);
  };
  sg4::Actor::on_creation_cb([&](sg4::Actor& a) {
    logs[a.get_pid()] = ActorLog{a.get_name(), a.get_host()->get_name(), 0, -1, {}};
    order.push_back(a.get_pid());
  });
  sg4::Actor::on_sleep_cb([&](const sg4::Actor& a) { log_of(a).sleep_start = sg4::Engine::get_clock(); });
  sg4::Actor::on_wake_up_cb([&](const sg4::Actor& a) {
    auto& l = log_of(a);
    l.actions.push_back({'S', l.sleep_start, sg4::Engine::get_clock(), "", "", 0});
  });
  comm_started = [&](sg4::Host* from, sg4::Host* to, uint64_t bytes) {
    self_log().actions.push_back(
        {'C', sg4::Engine::get_clock(), 0, from->get_name(), to->get_name(), static_cast<double>(bytes)});
  };
  sg4::Exec::on_start_cb([&](const sg4::Exec& e) {
    self_log().actions.push_back({'E', sg4::Engine::get_clock(), 0, e.get_host()->get_name(), "", e.get_remaining()});
  });
  sg4::Actor::on_termination_cb([&](const sg4::Actor& a) { log_of(a).end = sg4::Engine::get_clock(); });
  sg4::Engine::on_simulation_start_cb([&] {
    platform = bench::describe_platform(true);
    construction = bench::describe_construction();
  });

  RunResults r = simulate(sc);
  const double sim_end = r.doc["summary"]["sim_time_s"].get<double>();

  std::FILE* f = std::fopen(stream_path.c_str(), "w");
  if (!f) throw std::runtime_error("cannot write " + stream_path);
  std::fprintf(f, "# mksim activity stream of %s\n", config.c_str());
  std::fputs(platform.c_str(), f);
  std::fputs(construction.c_str(), f);
  uint64_t sleeps = 0, comms = 0, execs = 0;
  for (long pid : order) {
    const auto& l = logs[pid];
    std::fprintf(f, "actor %s %s %s %zu\n", l.name.c_str(), l.host.c_str(),
                 bench::num(l.end < 0 ? sim_end : l.end).c_str(), l.actions.size());
    for (const auto& a : l.actions) {
      if (a.kind == 'S') {
        ++sleeps;
        std::fprintf(f, "S %.17g %.17g\n", a.t_start, a.t_end);
      } else if (a.kind == 'C') {
        ++comms;
        std::fprintf(f, "C %.17g %s %s %.17g\n", a.t_start, a.a.c_str(), a.b.c_str(), a.amount);
      } else {
        ++execs;
        std::fprintf(f, "E %.17g %s %.17g\n", a.t_start, a.a.c_str(), a.amount);
      }
    }
  }
  std::fprintf(f, "end %.17g\n", sim_end);
  std::fclose(f);
  json out = run_summary(r);
  out["recorded"] = {{"actors", order.size()}, {"sleeps", sleeps}, {"comms", comms}, {"execs", execs}};
  std::cout << out.dump() << "\n";
  return 0;
}

// ---- platform build ----

int cmd_platform(int argc, char** argv) {
  if (argc < 4) throw std::runtime_error("usage: mksim_bench platform CORES NODES");
  const int cores = std::stoi(argv[2]), nodes = std::stoi(argv[3]);
  if (nodes <= 0 || cores % nodes) throw std::runtime_error("CORES must split evenly over NODES");
  json out;
  out["cores"] = cores;
  out["nodes"] = nodes;
  out["rss_start_kb"] = current_rss_kb();
  auto t0 = std::chrono::steady_clock::now();
  json desc = {{"name", "bench"}, {"sockets", nodes}, {"cores_per_socket", cores / nodes}, {"freq_ghz", 2.5}};
  Machine m = build_machine(desc, "machine", "<bench>", ".");
  out["machine_s"] = seconds_since(t0);
  out["rss_machine_kb"] = current_rss_kb();
  auto t1 = std::chrono::steady_clock::now();
  std::vector<std::string> args = {"mksim_bench", "--log=root.thres:critical",
                                   "--cfg=contexts/factory:raw"};  // as sim/engine_setup.cpp
  std::vector<char*> av;
  for (auto& a : args) av.push_back(a.data());
  int ac = static_cast<int>(av.size());
  sg4::Engine engine(&ac, av.data());
  configure_simgrid();
  Platform p = build_platform(m);
  out["platform_s"] = seconds_since(t1);
  out["build_s"] = seconds_since(t0);
  out["rss_end_kb"] = current_rss_kb();
  out["maxrss_kb"] = maxrss_kb();
  out["hosts"] = engine.get_host_count();
  out["links"] = engine.get_link_count();
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace
}  // namespace mksim

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  try {
    if (cmd == "run") return mksim::cmd_run(argc, argv);
    if (cmd == "record") return mksim::cmd_record(argc, argv);
    if (cmd == "platform") return mksim::cmd_platform(argc, argv);
    std::cerr << "usage: mksim_bench run|record|platform ... (see bench/README.md)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "mksim_bench: " << e.what() << "\n";
    return 1;
  }
}
