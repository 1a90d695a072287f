// Shared by the scheduler and allocator tests: a fake Cpu that records what a policy makes the hardware do (time spent,
// locks taken and the line transfers they cost, counted events), small machines, policies built through their
// registries as a config would build them, and a test-only allocation workload for end-to-end runs.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/costs.hpp"
#include "sim/api/cpu.hpp"
#include "sim/api/memory.hpp"
#include "sim/api/scheduler.hpp"
#include "sim/api/thread.hpp"
#include "sim/config.hpp"
#include "sim/engine.hpp"
#include "sim/machine_config.hpp"
#include "workloads/common.hpp"

namespace mksim::test {

// Two sockets of `cores_per_socket` cores at 2 GHz, one NUMA node and one shared L3 (50 cycles) per socket; a remote
// line or memory access costs 130 ns, a local one 80 ns.
inline json two_node_machine(int cores_per_socket = 4) {
  return {{"sockets", 2},
          {"cores_per_socket", cores_per_socket},
          {"freq_ghz", 2.0},
          {"memory", {{"local_latency_ns", 80}, {"controller_bandwidth_gb_s", 20}}},
          {"interconnect", {{"latency_ns", {{80, 130}, {130, 80}}}}}};
}

// Moving a line another core modified (a lock, a queue's head) on two_node_machine() (models/costs.hpp): within a
// socket, the request to the L3 and the L3's snoop of the owner, 25 ns each; across the sockets, the interconnect's
// round trip (130 - 80 ns) and the same at the owner's socket.
inline constexpr double kSocketTransferNs = 2 * 25, kCrossTransferNs = (130 - 80) + 2 * 25;

inline Machine machine_of(const json& j) {
  return build_machine(j, "machine", "test", ".");
}

// Records instead of simulating: a single core's clock advanced by what it spends; locks are never contended here.
class FakeCpu final : public Cpu {
 public:
  FakeCpu(const Machine& m, int core) : m_(&m), core_(core) {}

  int core() const override { return core_; }
  const Machine& machine() const override { return *m_; }
  double now_s() const override { return now; }
  void spend_cycles(double cycles, Work w) override { spend_s(cycles_to_s(*m_, core_, cycles), w); }
  void spend_s(double s, Work w) override {
    now += s;
    spent_s += s;
  }
  void lock(SpinLock& l) override {
    if (l.held) throw std::logic_error("FakeCpu: lock '" + l.name + "' is already held");
    const double ns = l.last_core >= 0 && l.last_core != core_ ? line_transfer_ns(*m_, l.last_core, core_) : 0;
    spend_s(ns * 1e-9, Work::Kernel);
    transfer_ns += ns;
    l.held = true;
    l.last_core = core_;
    locks.push_back(l.name);
  }
  void unlock(SpinLock& l) override {
    l.held = false;
    l.free_at_s = now;
  }
  void run_handler(int, int, double, double, double) override {}
  void count(const char* kind, uint64_t n) override { counts[kind] += n; }
  void sync() override { ++syncs; }
  void block_until(double until_s, const char* why) override {}
  bool is_idle(int core) const override { return false; }

  // Forget what was recorded (the clock goes on).
  void clear() {
    spent_s = transfer_ns = 0;
    locks.clear();
    counts.clear();
  }
  size_t times_locked(const std::string& name) const {
    size_t n = 0;
    for (const auto& l : locks) n += l == name;
    return n;
  }

  double now = 0;
  double spent_s = 0;      // everything spent, line transfers included
  double transfer_ns = 0;  // of which lock-line transfers
  std::vector<std::string> locks;
  std::map<std::string, uint64_t> counts;
  int syncs = 0;

 private:
  const Machine* m_;
  int core_;
};

// The component `name` of a registry, with `params` checked and completed by its declared schema, as a config would.
template <class R>
auto make_component(const R& registry, const std::string& name, const json& params) {
  const auto* e = registry.find(name);
  if (!e) throw std::invalid_argument("no component named " + name);
  const std::string path = "kernel." + name;
  return e->make(Params(e->info.params->resolve(params, path, "test"), path, "test"));
}

inline std::unique_ptr<Scheduler> make_scheduler(const std::string& name, const Machine& m,
                                                 const json& params = json::object()) {
  auto s = make_component(SchedulerRegistry::instance(), name, params);
  s->init(m);
  return s;
}

inline std::unique_ptr<Allocator> make_allocator(const std::string& name, const Machine& m,
                                                 const json& params = json::object()) {
  auto a = make_component(AllocatorRegistry::instance(), name, params);
  a->init(m);
  return a;
}

// Thread control blocks, as the engine makes them.
class Threads {
 public:
  Thread& add(std::string name, std::vector<int> affinity = {}, int home_node = -1) {
    auto t = std::make_unique<Thread>();
    t->id = static_cast<uint32_t>(all_.size());
    t->name = std::move(name);
    t->affinity = std::move(affinity);
    t->home_node = home_node;
    all_.push_back(std::move(t));
    return *all_.back();
  }

 private:
  std::vector<std::unique_ptr<Thread>> all_;
};

// What the engine does when a core picks a thread: the thread now runs there.
inline Thread* pick(Scheduler& s, FakeCpu& cpu) {
  Thread* t = s.pick_next(cpu);
  if (t) t->last_core = cpu.core();
  return t;
}

inline json run_doc(const json& doc) {
  return run_isolated(resolve_scenario(doc, "test", ".")).doc;
}

// A workload metric of a results document. (Not `metric`: test_workload_support.hpp has a `metric` of a metrics
// object with the same signature; two inline functions of one name in one namespace are an ODR violation, and a
// Debug build linked the wrong one into every test.)
inline double workload_metric(const json& r, const char* name) {
  return r.at("workload").at("metrics").at(name).get<double>();
}

// A test-only workload: each thread allocates an object, works `work_cycles`, frees it, `iterations` times; pinned to
// `cores` (thread i on cores[i % len]). Reports operations (allocations and frees) per second.
class AllocLoop final : public Workload {
 public:
  explicit AllocLoop(const Params& p) : p_(p) {}
  void setup(WorkloadEnv& env) override {
    threads_ = static_cast<int>(p_.integer("threads"));
    auto cores = thread_cores(p_, env.machine(), threads_);
    uint32_t proc = env.create_process("alloc", {});
    for (int i = 0; i < threads_; ++i)
      env.create_thread(proc, {"alloc." + std::to_string(i), {cores[i]}, -1},
                        boxed(body(static_cast<int>(p_.integer("iterations")),
                                   static_cast<uint64_t>(p_.number("bytes")), p_.number("work_cycles"))));
  }
  Metrics metrics(const RunView& run) const override {
    double span = makespan_s(run, 0, static_cast<uint32_t>(threads_));
    double ops = 2.0 * threads_ * p_.integer("iterations");
    return {{"ops_per_s", span > 0 ? ops / span : 0.0}};
  }

 private:
  static Program body(int iterations, uint64_t bytes, double work) {
    for (int i = 0; i < iterations; ++i) {
      OpResult r = co_await Op::alloc(bytes);
      co_await Op::compute(work);
      co_await Op::free(static_cast<uint32_t>(r.value));
    }
  }
  Params p_;
  int threads_ = 0;
};

inline WorkloadRegistry::Add reg_alloc_loop("workload", "test-alloc-loop", "test: allocate, work, free in a loop",
                                            Schema{Field::integer("threads", 1, "", "threads").at_least(1),
                                                   Field::integer("iterations", 100, "", "loops"),
                                                   Field::number("bytes", 64, "bytes", "object size"),
                                                   Field::number("work_cycles", 1000, "cycles", "work"), cores_field()},
                                            [](const Params& p) { return std::make_unique<AllocLoop>(p); });

// Allocation throughput of `threads` threads spread over both nodes of a 16-core, 2-node machine (thread i on core
// i/2 of node i%2), with `allocator`.
inline double alloc_ops_per_s(const std::string& allocator, int threads) {
  json doc = {{"machine", two_node_machine(8)},
              {"kernel", {{"allocator", allocator}}},
              {"workload",
               {{"kind", "test-alloc-loop"},
                {"threads", threads},
                {"iterations", 400},
                {"work_cycles", 1000},
                {"cores", {0, 8, 1, 9, 2, 10, 3, 11}}}}};
  return workload_metric(run_doc(doc), "ops_per_s");
}

}  // namespace mksim::test
