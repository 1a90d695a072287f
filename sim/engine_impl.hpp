// The engine's internals, shared by its files (docs/ARCHITECTURE.md, "where each concept lives"): the per-core runtime
// (CoreRt, the Cpu that kernel models act through), the engine's objects (processes, regions, channels, user locks,
// timers) and EngineImpl, the WorkloadEnv that runs a scenario. Its members are defined in
//   engine.cpp          the hot loop: per-core runtime and spin locks, scheduling and timers, `execute` with its
//                       operation families, the memory path (one translation unit, so that it inlines);
//   engine_setup.cpp    building the models, setting the workloads up, starting SimGrid (prepare, run);
//   engine_results.cpp  the results document and the end-of-run invariants;
//   engine_isolated.cpp run_isolated, a run in a child process (sim/child_process.hpp).
// Nothing outside these files includes this header: the engine's interface is sim/engine.hpp.
#pragma once

// simgrid/version.h uses SG_BEGIN_DECL and XBT_PUBLIC without including xbt/base.h, which defines them.
// clang-format off
#include <xbt/base.h>
#include <simgrid/version.h>
// clang-format on

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <simgrid/s4u.hpp>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "models/coherence.hpp"
#include "models/costs.hpp"
#include "models/link_queues.hpp"
#include "models/memory_capacity.hpp"
#include "models/platform.hpp"
#include "sim/api/kernel.hpp"
#include "sim/api/memory.hpp"
#include "sim/api/scheduler.hpp"
#include "sim/api/workload.hpp"
#include "sim/engine.hpp"

namespace sg4 = simgrid::s4u;

namespace mksim {

// The engine's own types, shared by its files and by nothing else: hidden (not exported from the position-independent
// core), so that calls among them stay direct and the compiler may inline them.
#pragma GCC visibility push(hidden)
namespace engine_detail {

using Clock = std::chrono::steady_clock;

// SimGrid's clock, kept here: sg4::Engine::get_clock() is an out-of-line call through Engine::get_instance(), made
// several times per operation (a tenth of mksim's own instructions on runs of tiny activities). The clock moves only
// in SimGrid's maestro, which then fires Engine::on_time_advance; actors read it between their blocking calls. Debug
// builds (the sanitizer suite runs one) check every read against SimGrid.
extern double g_clock_s;

inline double sim_clock() {
  assert(g_clock_s == sg4::Engine::get_clock());
  return g_clock_s;
}

// An operation's result, written as one 16-byte store: the operation source copies it right away with one 16-byte
// load, and x86 cannot forward two 8-byte stores to that load; it waits for them to reach the cache (a
// store-forwarding stall, a sixth of run_thread's time on runs of tiny activities).
inline void set_result(OpResult& r, double time_s, uint64_t value) {
  static_assert(std::is_trivially_copyable_v<OpResult> && sizeof(OpResult) == 16 && offsetof(OpResult, time_s) == 0 &&
                offsetof(OpResult, value) == 8);
  using Pair = uint64_t __attribute__((vector_size(16)));
  const Pair v = {std::bit_cast<uint64_t>(time_s), value};
  std::memcpy(static_cast<void*>(&r), &v, sizeof v);
}

struct Message {
  uint64_t bytes;
  uint64_t value;
  int sender_core;
  double visible_s;
};

struct Channel {
  std::string name;
  std::deque<Message> messages;
  std::deque<Thread*> waiters;
  uint64_t sent = 0, received = 0;
  int reader_core = -1;  // where the channel was last read: a message sent while no one waits goes there
};

struct UserLock {
  std::string name;
  Thread* owner = nullptr;
  int last_core = -1;
  std::deque<Thread*> waiters;
};

struct Process {
  uint32_t id;
  std::string name;
  std::vector<int> cores;
  std::vector<bool> ran_on;  // by core: may its TLB hold the process's translations?
  uint32_t threads = 0;      // created so far
};

struct Template {
  uint32_t process;
  ThreadSpec spec;
  std::function<std::unique_ptr<OpSource>()> make;
};

struct NodeTraffic {
  uint64_t read_bytes = 0, write_bytes = 0, local_bytes = 0, remote_bytes = 0;
  double latency_bound_loads = 0;  // loads from this memory that waited for their line alone (chases, coherence)
  double load_wait_s = 0;          // their total wait behind the memory flows (loaded latency)
  void add_latency_bound_loads(double loads, double wait_s) {
    latency_bound_loads += loads;
    load_wait_s += loads * wait_s;
  }
};

enum class Step { Continue, Blocked, Exited, Yielded };

// The events the engine itself counts (summary.events_by_kind); kernel models count theirs by name (Cpu::count).
enum class EngineEvent { ContextSwitch, Preemption, CacheRefill, Interrupt, LockAcquire, Sleep, Count };
inline constexpr const char* kEngineEventNames[] = {"context_switch", "preemption",   "cache_refill",
                                                    "interrupt",      "lock_acquire", "sleep"};
static_assert(std::size(kEngineEventNames) == static_cast<size_t>(EngineEvent::Count));

class EngineImpl;

// One core: its SimGrid host and actor, its own clock, and the Cpu interface kernel models act through.
class CoreRt final : public Cpu {
 public:
  EngineImpl* e = nullptr;
  int id = 0;
  sg4::Host* host = nullptr;
  double hz = 1e9;
  double pending_s = 0;      // private work not yet handed to SimGrid
  double stolen_cycles = 0;  // handler work other cores' messages asked of this one (Cpu::run_handler)
  struct PendingIpi {
    int from;
    double cycles, sent_s;
    double ran_s;  // when the handler ran
  };
  std::vector<PendingIpi> ipis;  // the IPIs behind stolen_cycles, kept only for observers
  Thread* current = nullptr;
  const Thread* prev = nullptr;
  sg4::SemaphorePtr sem;
  bool waiting = false, notified = false, idle_wait = false;
  double grant_s = -1;      // spin-lock hand-off time set by the releaser
  uint64_t fill_bytes = 0;  // bytes brought into (or touched again in) this core's private caches so far: LRU order
  // The largest cache only this core's contexts use (its private L2, or L1 where the L2 is shared): what a thread
  // keeps on the core between its runs.
  uint64_t private_cache_bytes = 0;
  // SMT (Machine::smt, docs/smt.md): the first context of this context's physical core, which keeps the fill counter
  // of the private caches they share (this core itself without SMT), and the other contexts of that core (none
  // without SMT: the non-SMT path tests one empty vector).
  CoreRt* phys = this;
  std::vector<const CoreRt*> siblings;
  // The memory flows in progress that hold this physical core's misses in flight (all its contexts'): their ids in
  // the engine's LinkQueues, bytes and round trips (EngineImpl::move).
  struct WindowFlow {
    int id;
    double bytes, rtt_s;
  };
  std::vector<WindowFlow> window_flows;
  const Smt* smt = nullptr;
  double end_s = 0;
  double resume_s = 0;  // when this core's actor next gets control back from SimGrid (its next poll point)
  std::vector<std::pair<double, double>> idle_handlers;  // (start, end) of handlers run in the current idle period

  // statistics
  double busy_s = 0, kernel_s = 0, idle_s = 0, spin_s = 0;
  uint64_t ops = 0, context_switches = 0, interrupts = 0;

  int core() const override { return id; }
  const Machine& machine() const override;
  double now_s() const override { return sim_clock() + pending_s; }
  void spend_cycles(double cycles, Work w) override { spend_s(cycles / hz, w); }
  void spend_s(double s, Work w) override;
  void lock(SpinLock& l) override;
  void unlock(SpinLock& l) override;
  void count(const char* kind, uint64_t n) override;
  void sync() override { flush(); }
  void block_until(double until_s, const char* why) override {
    block_until_s = until_s;
    block_why = why;
  }
  bool is_idle(int core) const override;
  double handler_start_s(int target, double visible_s, bool ipi) const override;
  void run_handler(int from, int target, double sent_s, double start_s, double seconds) override;
  double access_shared_lines(std::span<CacheLine> lines, bool write, int home_node) override;
  HomeQueue& home_queue(int node) override;
  double block_until_s = -1;  // set by a kernel model: the current thread waits until then
  const char* block_why = "";

  // line_transfer_ns(machine, from, this core): what taking a spin lock or a user lock last held on `from` costs.
  // Memoised by `from`, direct-mapped (exact up to 64 cores; beyond, a collision recomputes): Machine::shared_cache
  // searches the cache's list of cores, about 120 instructions for every lock taken from another core.
  double transfer_from_ns(int from) {
    TransferMemo& m = transfer_memo_[static_cast<unsigned>(from) % transfer_memo_.size()];
    if (m.from != from) m = {from, line_transfer_ns(machine(), from, id)};
    return m.ns;
  }

  // Hand the accumulated private work to SimGrid, so this core's clock and SimGrid's agree.
  void flush() {
    if (pending_s > 0) {
      double d = pending_s;
      pending_s = 0;
      resume_s = sim_clock() + d;
      sg4::this_actor::sleep_for(d);
    }
  }

 private:
  struct TransferMemo {
    int from = -1;
    double ns = 0;
  };
  std::array<TransferMemo, 64> transfer_memo_{};
};

struct Timer {
  double at_s;
  uint64_t seq;
  Thread* thread;  // a sleeper to wake, or nullptr
  int core;        // a core to notify (thread == nullptr)
  bool operator>(const Timer& o) const { return at_s != o.at_s ? at_s > o.at_s : seq > o.seq; }
};

class EngineImpl final : public WorkloadEnv, public PageMover, public PathWaits {
 public:
  explicit EngineImpl(const Scenario& sc, const std::vector<Observer*>& obs)
      : sc_(sc), m_(sc.machine), obs_(obs), homes_(static_cast<size_t>(sc.machine.num_nodes())) {
    for (auto& h : homes_) h.set_waits(this);  // their requests wait behind this run's memory flows
  }

  // Builds the models and sets the workloads up: everything but SimGrid (so `mksim validate` finds what they reject).
  void prepare();
  RunResults run();

  // WorkloadEnv
  const Machine& machine() const override { return m_; }
  uint64_t seed() const override { return sc_.run.seed; }
  uint32_t create_process(const std::string& name, std::vector<int> cores) override {
    for (int c : cores)
      if (c < 0 || c >= m_.num_cores())
        throw InputError(
            sc_.file, current_workload_path_,
            fmt::format("process '{}' names core {}, but the machine has cores 0..{}", name, c, m_.num_cores() - 1));
    processes_.push_back(
        {static_cast<uint32_t>(processes_.size()), name, std::move(cores), std::vector<bool>(m_.num_cores(), false)});
    return processes_.back().id;
  }
  uint32_t create_thread(uint32_t process, ThreadSpec spec, std::unique_ptr<OpSource> source) override {
    auto t = std::make_unique<Thread>();
    t->id = static_cast<uint32_t>(threads_.size());
    t->process = process;
    t->name = spec.name.empty() ? fmt::format("{}.{}", processes_.at(process).name, t->id) : spec.name;
    t->affinity = spec.affinity.empty() ? processes_.at(process).cores : spec.affinity;
    for (int c : t->affinity)
      if (c < 0 || c >= m_.num_cores())
        throw InputError(sc_.file, current_workload_path_,
                         fmt::format("thread '{}' is pinned to core {}, but the machine has cores 0..{}", t->name, c,
                                     m_.num_cores() - 1));
    t->home_node = spec.home_node;
    t->working_set_bytes = spec.working_set_bytes;
    t->sched = spec.sched;
    t->source = std::move(source);
    ++processes_.at(process).threads;
    threads_.push_back(std::move(t));
    ++live_threads_;
    if (started_) start_thread(*threads_.back(), current_core_);
    return threads_.back()->id;
  }
  uint32_t create_region(uint32_t process, uint64_t bytes, int bind_node) override {
    Region r;
    r.id = static_cast<uint32_t>(regions_.size());
    r.process = process;
    r.bytes = bytes;
    r.bind_node = bind_node;
    if (bind_node >= m_.num_nodes())
      throw InputError(
          sc_.file, current_workload_path_,
          fmt::format("memory bound to NUMA node {}, but the machine has nodes 0..{}", bind_node, m_.num_nodes() - 1));
    regions_.push_back(r);
    return r.id;
  }
  uint32_t create_channel(const std::string& name) override {
    channels_.push_back({name, {}, {}, 0, 0});
    return static_cast<uint32_t>(channels_.size() - 1);
  }
  uint32_t create_lock(const std::string& name) override {
    locks_.push_back({name, nullptr, -1, {}});
    return static_cast<uint32_t>(locks_.size() - 1);
  }
  uint32_t create_template(uint32_t process, ThreadSpec spec,
                           std::function<std::unique_ptr<OpSource>()> make) override {
    templates_.push_back({process, std::move(spec), std::move(make)});
    return static_cast<uint32_t>(templates_.size() - 1);
  }

  // --- used by CoreRt ---
  const Machine& m_ref() const { return m_; }
  // Kinds are string literals (stable pointers): count through a table keyed on the pointer, not by building strings.
  // Open addressing on the pointer's bits: a hit is a multiply, a shift and a compare (a std::unordered_map lookup was
  // a division and a chain walk, 40 instructions, made for every kernel-model event). Two literals with the same text
  // get two entries pointing at the same counter.
  void count(const char* kind, uint64_t n) {
    *kind_slot(kind) += n;
    total_events_ += n;
  }
  // The engine's own events: an array slot per kind, no lookup.
  void count(EngineEvent k) {
    uint64_t* slot = engine_slots_[static_cast<size_t>(k)];
    if (!slot) [[unlikely]]
      slot = engine_slots_[static_cast<size_t>(k)] = kind_slot(kEngineEventNames[static_cast<size_t>(k)]);
    ++*slot;
    ++total_events_;
  }
  // The count of one completed operation: an array slot per kind, no lookup.
  void count_op(OpKind k) {
    uint64_t* slot = op_slots_[static_cast<size_t>(k)];
    if (!slot) [[unlikely]]
      slot = add_op_slot(k);
    ++*slot;
    ++total_events_;
  }
  [[gnu::noinline]] uint64_t* add_op_slot(OpKind k) {
    return op_slots_[static_cast<size_t>(k)] = &events_[std::string(to_string(k))];
  }
  void notify(CoreRt& c) {
    if (c.waiting && !c.notified) {
      c.notified = true;
      if (c.idle_wait) ++active_;
      c.sem->release();
    }
  }
  bool finished() const { return finished_; }
  std::vector<std::unique_ptr<CoreRt>>& cores() { return cores_; }
  bool observed() const { return !obs_.empty(); }
  // A protocol's handler ran on the idle core `t` from `start_s` (Cpu::run_handler).
  void observe_handler(int from, const CoreRt& t, double cycles, double sent_s, double start_s, double seconds) {
    for (auto* o : obs_) o->on_ipi(from, t.id, cycles, sent_s, start_s);
    for (auto* o : obs_) o->on_kernel(t.id, "interrupt", start_s, start_s + seconds);
  }
  // Core `c` idled from `start_s` to `end_s` except while it ran the handlers of c.idle_handlers: observers see the
  // idle stretches between them (a handler is kernel work, not idle time).
  void observe_idle(CoreRt& c, double start_s, double end_s) {
    std::sort(c.idle_handlers.begin(), c.idle_handlers.end());
    double from = start_s;
    for (const auto& [a, b] : c.idle_handlers) {
      const double to = std::min(a, end_s);
      if (to > from)
        for (auto* o : obs_) o->on_idle(c.id, from, to);
      from = std::max(from, b);
    }
    c.idle_handlers.clear();
    if (end_s > from)
      for (auto* o : obs_) o->on_idle(c.id, from, end_s);
  }

  // PageMover: what a memory policy that moves pages asks of the engine (sim/api/memory.hpp).
  uint64_t migrate(Cpu& cpu, Thread& t, Region& r, int from, int to, uint64_t pages, bool shootdown) override;
  void hinting_faults(Cpu& cpu, Thread& t, uint64_t faults, double handler_cycles) override;
  void change_protection(Cpu& cpu, Thread& t, uint64_t pages) override;
  uint64_t free_bytes(int node) const override { return free_on(m_, node_used_bytes_, node); }
  size_t regions() const override { return regions_.size(); }
  Region& region(uint32_t id) override { return regions_.at(id); }
  void add_timer_notify(int core, double at_s) { add_timer({at_s, seq_++, nullptr, core}); }

 private:
  void core_main(CoreRt& c);
  void timer_main();
  void idle(CoreRt& c);
  [[gnu::always_inline]] void run_thread(CoreRt& c, Thread& t);
  Step execute(CoreRt& c, Thread& t, double slice_end_s);
  [[gnu::always_inline]] Step memory_access(CoreRt& c, Thread& t);
  [[gnu::always_inline]] Step coherent_access(CoreRt& c, Thread& t, const Region& r, double line_bytes);
  // Cycles of a Compute operation, as many as the time slice leaves (at least one); completes it when none are left.
  // (c.spend_cycles(run) divides run by the clock rate. When the slice leaves room for the whole rest, run is that
  // rest, whose time does not depend on the core's clock: divided first, the division, 20 % of this loop's time, is
  // off the clock's chain of dependent arithmetic. Same operands, same result.)
  [[gnu::always_inline]] Step compute(CoreRt& c, Thread& t, double slice_end_s) {
    if (preemptive_) return compute_preemptible(c, t, slice_end_s);
    if (!c.siblings.empty()) [[unlikely]]
      return compute_smt(c, t, slice_end_s);
    const double left = t.op_left_cycles;
    const double left_s = left / c.hz;
    const double t0 = c.now_s();
    double budget = std::max(0.0, (slice_end_s - t0) * c.hz);
    const double cap = std::max(budget, 1.0);
    double run = left;  // std::min(left, cap)
    double run_s = left_s;
    if (cap < left) {
      run = cap;
      run_s = cap / c.hz;
    }
    c.spend_s(run_s, Work::User);
    t.op_left_cycles = left - run;
    if (t.op_left_cycles <= 1e-9) complete(c, t, t0);
    return Step::Continue;
  }
  Step compute_preemptible(CoreRt& c, Thread& t, double slice_end_s);
  // With SMT simulated: the share of its physical core this context gets (Smt::share of the busy contexts: this one
  // and the siblings running a thread), sampled on SimGrid's clock at the start of each Compute operation (a flush
  // first, so that the siblings' states are those of this moment) and held for the operation (docs/smt.md).
  double smt_share(const CoreRt& c) const {
    int busy = 1;
    for (const CoreRt* s : c.siblings) busy += s->current != nullptr;
    return c.smt->share(busy);
  }
  [[gnu::noinline]] Step compute_smt(CoreRt& c, Thread& t, double slice_end_s) {
    c.flush();
    const double hz = c.hz * smt_share(c);
    const double left = t.op_left_cycles;
    const double t0 = c.now_s();
    const double run = std::min(left, std::max(std::max(0.0, (slice_end_s - t0) * hz), 1.0));
    c.spend_s(run / hz, Work::User);
    t.op_left_cycles = left - run;
    if (t.op_left_cycles <= 1e-9) complete(c, t, t0);
    return Step::Continue;
  }
  void preempt(CoreRt& c, Thread& t, double slice_start_s);
  void complete(CoreRt& c, Thread& t, double started_s, uint64_t value = 0) {
    t.has_op = false;
    set_result(t.last_result, c.now_s(), value);
    ++t.stats.ops;
    ++c.ops;
    count_op(t.op.kind);
    if (!obs_.empty()) [[unlikely]]
      observe_op(c, t, started_s);
  }
  void syscall(CoreRt& c, Thread& t) {
    const double t0 = c.now_s();
    kernel_->syscall(c, t, static_cast<SyscallClass>(t.op.target), t.op.cycles);
    complete(c, t, t0);
  }
  void observe_op(CoreRt& c, Thread& t, double started_s);
  void take_interrupts(CoreRt& c);
  Step block(CoreRt& c, Thread& t, const char* on, const std::string* object = nullptr);
  Step block_for_reply(CoreRt& c, Thread& t);
  void refill_working_set(CoreRt& c, Thread& t);
  void exit_thread(CoreRt& c, Thread& t);
  void make_runnable(Thread& t, int from_core, EnqueueReason why, double delay_s);
  void start_thread(Thread& t, int from_core);
  void add_timer(Timer t);
  void finish(std::string status);
  void check_limits(CoreRt& c);
  void set_state(Thread& t, ThreadState s, double at_s);
  json build_results(double wall_setup_s, double wall_sim_s);
  json check_invariants(double T, const json& doc) const;

  const Scenario& sc_;
  const Machine& m_;
  std::vector<Observer*> obs_;
  std::unique_ptr<KernelArchitecture> kernel_;
  std::unique_ptr<Scheduler> sched_;
  std::unique_ptr<PagePlacement> placement_;
  std::unique_ptr<Allocator> allocator_;
  std::vector<std::unique_ptr<Workload>> workloads_;
  std::vector<std::pair<uint32_t, uint32_t>> workload_threads_;  // [first, last) thread ids per workload
  Platform platform_;

  std::vector<std::unique_ptr<CoreRt>> cores_;
  std::vector<std::unique_ptr<Thread>> threads_;
  std::vector<Process> processes_;
  // Deques: a core holds references to these across SimGrid activities, during which other cores may add more.
  std::deque<Region> regions_;
  std::vector<uint64_t> node_used_bytes_;  // bytes of placed regions on each node (models/memory_capacity.hpp)
  std::deque<Channel> channels_;
  std::deque<UserLock> locks_;
  std::vector<Template> templates_;
  std::vector<NodeTraffic> traffic_;
  std::unordered_map<uint32_t, std::vector<CacheLine>> region_lines_;  // of small regions, by region id
  std::vector<HomeQueue> homes_;  // per NUMA node: its coherence ordering point (Cpu::home_queue)
  // Loaded latency (models/link_queues.hpp): the memory flows in progress on SimGrid's links, so that a latency-bound
  // request waits behind the streams that saturate its path. Links get ids as routes first meet them.
  LinkQueues queues_;
  std::unordered_map<const simgrid::s4u::Link*, int> link_ids_;
  struct FlowRoute {
    std::vector<int> links;
  };
  std::map<std::pair<const simgrid::s4u::Host*, const simgrid::s4u::Host*>, FlowRoute> routes_;
  const FlowRoute& flow_route(const simgrid::s4u::Host* from, const simgrid::s4u::Host* to);
  // Memory traffic as SimGrid flows that queues_ knows of. One access of core `c` moves `bytes` from `from` to `to`
  // for each of its parts at once (the parts of an access spread over several nodes' memory; a page copy's read and
  // write), each over a round trip `rtt_s` (the load latency), and returns when all have arrived. Every flow holds
  // some of its physical core's misses in flight: while the core has flows in progress (of one access, or of its SMT
  // contexts), they share its window (share_window, models/link_queues.hpp): its own link to the memory system is
  // held to their rate together, Little's law over their mean round trip, and each keeps its part of the window in
  // the queues.
  struct FlowSpec {
    simgrid::s4u::Host* from;
    simgrid::s4u::Host* to;
    uint64_t bytes;
    double rtt_s;
  };
  void move(CoreRt& c, const std::vector<FlowSpec>& parts);
  // Shares the physical core's window anew among its flows in progress (after one starts or ends).
  void share_core_window(CoreRt& phys);
  // PathWaits: the wait of a load from `node`'s memory to `core`, or of a line between the caches of two cores of
  // different nodes (the interconnect), behind the flows in progress (0 when nothing saturates).
  double memory_wait_s(int core, int node) override;  // one load, counted in traffic_[node]
  double transfer_wait_s(int from_core, int to_core) override;
  double route_wait_s(int core, int node);  // the wait alone, uncounted
  friend class CoreRt;
  // Pages that move (a memory policy whose page_bytes() > 0): its page size, what moving them cost, where accesses
  // were served (the fast tier of a core: its nearest nodes by load latency), for results.json page_migration.
  uint64_t page_bytes_ = 0;
  struct PageMigrationStats {
    uint64_t pages = 0, migrations = 0, promoted = 0, demoted = 0, faults = 0, protection_changes = 0;
    uint64_t fast_bytes = 0, slow_bytes = 0;
    double seconds = 0;
  } moved_;
  std::vector<std::vector<bool>> fast_tier_;  // [core][node]
  std::vector<int> tlb_cores(uint32_t process) const {
    std::vector<int> out;
    for (int i = 0; i < m_.num_cores(); ++i)
      if (processes_[process].ran_on[i]) out.push_back(i);
    return out;
  }

  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  sg4::SemaphorePtr timer_sem_;
  bool timer_waiting_ = false;
  double timer_wait_until_ = 0;
  uint64_t seq_ = 0;

  std::map<std::string, uint64_t> events_;
  struct KindSlot {
    const char* kind = nullptr;
    uint64_t* counter = nullptr;
  };
  std::vector<KindSlot> kind_table_ = std::vector<KindSlot>(64);  // a power of two, at most half full
  size_t kinds_ = 0;
  uint64_t* kind_slot(const char* kind) {
    const size_t mask = kind_table_.size() - 1;
    for (size_t i = (reinterpret_cast<uintptr_t>(kind) * 0x9E3779B97F4A7C15ull) >> 40;; ++i) {
      KindSlot& s = kind_table_[i & mask];
      if (s.kind == kind) return s.counter;
      if (!s.kind) return add_kind(kind);
    }
  }
  [[gnu::noinline]] uint64_t* add_kind(const char* kind) {
    if (2 * (kinds_ + 1) > kind_table_.size()) {  // grow: twice the size, every entry again
      std::vector<KindSlot> old = std::exchange(kind_table_, std::vector<KindSlot>(2 * kind_table_.size()));
      kinds_ = 0;
      for (const KindSlot& s : old)
        if (s.kind) insert_kind(s);
    }
    return insert_kind({kind, &events_[kind]});  // std::map nodes never move
  }
  uint64_t* insert_kind(KindSlot k) {
    const size_t mask = kind_table_.size() - 1;
    size_t i = (reinterpret_cast<uintptr_t>(k.kind) * 0x9E3779B97F4A7C15ull) >> 40;
    while (kind_table_[i & mask].kind) ++i;
    kind_table_[i & mask] = k;
    ++kinds_;
    return k.counter;
  }
  std::array<uint64_t*, static_cast<size_t>(EngineEvent::Count)> engine_slots_{};
  std::array<uint64_t*, static_cast<size_t>(OpKind::Count)> op_slots_{};
  uint64_t total_events_ = 0;
  int live_threads_ = 0;
  int active_ = 0;
  bool started_ = false;
  bool finished_ = false;
  bool has_limits_ = false;  // any of run.max_events, max_sim_time_s, max_wall_time_s (check_limits after each step)
  bool preemptive_ = false;  // the scheduler preempts on priority (Scheduler::preemptive)
  std::exception_ptr error_;
  std::string status_ = "completed";
  int current_core_ = -1;
  std::string current_workload_path_;
  Clock::time_point wall_start_;
  std::vector<std::vector<Thread*>> join_waiters_;
};

// The workload metrics as JSON (engine_results.cpp).
json metrics_json(const Metrics& m);

}  // namespace engine_detail
#pragma GCC visibility pop
}  // namespace mksim
