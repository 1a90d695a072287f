#include "sim/engine.hpp"

// simgrid/version.h uses SG_BEGIN_DECL and XBT_PUBLIC without including xbt/base.h, which defines them.
// clang-format off
#include <xbt/base.h>
#include <simgrid/version.h>
// clang-format on

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <queue>
#include <set>
#include <simgrid/s4u.hpp>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "mksim_version.hpp"
#include "models/coherence.hpp"
#include "models/costs.hpp"
#include "models/platform.hpp"
#include "sim/api/kernel.hpp"
#include "sim/api/memory.hpp"
#include "sim/api/scheduler.hpp"
#include "sim/api/workload.hpp"
#include "sim/outputs.hpp"

namespace sg4 = simgrid::s4u;

namespace mksim {

namespace {

using Clock = std::chrono::steady_clock;

// SimGrid's clock, kept here: sg4::Engine::get_clock() is an out-of-line call through Engine::get_instance(), made
// several times per operation (a tenth of mksim's own instructions on runs of tiny activities). The clock moves only
// in SimGrid's maestro, which then fires Engine::on_time_advance; actors read it between their blocking calls. Debug
// builds (the sanitizer suite runs one) check every read against SimGrid.
double g_clock_s = 0;

double sim_clock() {
  assert(g_clock_s == sg4::Engine::get_clock());
  return g_clock_s;
}

// An operation's result, written as one 16-byte store: the operation source copies it right away with one 16-byte
// load, and x86 cannot forward two 8-byte stores to that load; it waits for them to reach the cache (a
// store-forwarding stall, a sixth of run_thread's time on runs of tiny activities).
void set_result(OpResult& r, double time_s, uint64_t value) {
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
};

enum class Step { Continue, Blocked, Exited, Yielded };

// The events the engine itself counts (summary.events_by_kind); kernel models count theirs by name (Cpu::count).
enum class EngineEvent { ContextSwitch, Preemption, CacheRefill, Interrupt, LockAcquire, Sleep, Count };
constexpr const char* kEngineEventNames[] = {"context_switch", "preemption",   "cache_refill",
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
  double stolen_cycles = 0;  // interrupt work other cores asked of this one
  struct PendingIpi {
    int from;
    double cycles, sent_s;
  };
  std::vector<PendingIpi> ipis;  // the IPIs behind stolen_cycles, kept only for observers
  Thread* current = nullptr;
  const Thread* prev = nullptr;
  sg4::SemaphorePtr sem;
  bool waiting = false, notified = false, idle_wait = false;
  double grant_s = -1;      // spin-lock hand-off time set by the releaser
  uint64_t fill_bytes = 0;  // bytes brought into this core's private caches so far (what evicts working sets)
  double end_s = 0;

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
  void interrupt(int target, double handler_cycles) override;
  void count(const char* kind, uint64_t n) override;
  void sync() override { flush(); }
  void block_until(double until_s, const char* why) override {
    block_until_s = until_s;
    block_why = why;
  }
  bool is_idle(int core) const override;
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

class EngineImpl final : public WorkloadEnv, public PageMover {
 public:
  explicit EngineImpl(const Scenario& sc, const std::vector<Observer*>& obs)
      : sc_(sc), m_(sc.machine), obs_(obs), home_free_s_(sc.machine.num_nodes(), 0.0) {}

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

  // PageMover: what a memory policy that moves pages asks of the engine (sim/api/memory.hpp).
  uint64_t migrate(Cpu& cpu, Thread& t, Region& r, int from, int to, uint64_t pages) override;
  void hinting_faults(Cpu& cpu, Thread& t, uint64_t faults, double handler_cycles) override;
  void change_protection(Cpu& cpu, Thread& t, uint64_t pages) override;
  size_t regions() const override { return regions_.size(); }
  Region& region(uint32_t id) override { return regions_.at(id); }
  void add_timer_notify(int core, double at_s) { add_timer({at_s, seq_++, nullptr, core}); }

 private:
  void core_main(CoreRt& c);
  void timer_main();
  void idle(CoreRt& c);
  void run_thread(CoreRt& c, Thread& t);
  Step execute(CoreRt& c, Thread& t, double slice_end_s);
  Step memory_access(CoreRt& c, Thread& t);
  Step coherent_access(CoreRt& c, Thread& t, const Region& r, double line_bytes);
  // Cycles of a Compute operation, as many as the time slice leaves (at least one); completes it when none are left.
  // (c.spend_cycles(run) divides run by the clock rate. When the slice leaves room for the whole rest, run is that
  // rest, whose time does not depend on the core's clock: divided first, the division, 20 % of this loop's time, is
  // off the clock's chain of dependent arithmetic. Same operands, same result.)
  Step compute(CoreRt& c, Thread& t, double slice_end_s) {
    if (preemptive_) return compute_preemptible(c, t, slice_end_s);
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
  std::deque<Channel> channels_;
  std::deque<UserLock> locks_;
  std::vector<Template> templates_;
  std::vector<NodeTraffic> traffic_;
  std::unordered_map<uint32_t, std::vector<CacheLine>> region_lines_;  // of small regions, by region id
  std::vector<double> home_free_s_;  // per NUMA node: when its coherence ordering point takes the next request
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

const Machine& CoreRt::machine() const {
  return e->m_ref();
}

bool CoreRt::is_idle(int core) const {
  const CoreRt& c = *e->cores()[core];
  return c.waiting && c.idle_wait;
}

void CoreRt::spend_s(double s, Work w) {
  if (!(s > 0)) return;
  pending_s += s;
  busy_s += s;
  if (w == Work::Kernel) kernel_s += s;
  if (current) {
    current->stats.run_s += s;
    if (w == Work::Kernel) current->stats.kernel_s += s;
  }
}

void CoreRt::count(const char* kind, uint64_t n) {
  e->count(kind, n);
}

void CoreRt::interrupt(int target, double handler_cycles) {
  CoreRt& t = *e->cores()[target];
  t.stolen_cycles += handler_cycles;
  if (e->observed()) t.ipis.push_back({id, handler_cycles, now_s()});
  e->count(EngineEvent::Interrupt);
}

void CoreRt::lock(SpinLock& l) {
  // Acquisitions are ordered by SimGrid's clock: synchronise first.
  flush();
  const double now = sim_clock();
  e->count(EngineEvent::LockAcquire);
  if (!l.held) {
    double start = std::max(now, l.free_at_s);  // its last holder may have released it "in the future"
    double spin = start - now;
    spin_s += spin;
    spend_s(spin, Work::Kernel);
    double transfer = (l.last_core >= 0 && l.last_core != id) ? transfer_from_ns(l.last_core) * 1e-9 : 0;
    spend_s(transfer, Work::Kernel);
    l.held = true;
    l.last_core = id;
    return;
  }
  // Held, release time unknown yet: spin until the holder hands it over.
  l.spinners.push_back(id);
  grant_s = -1;
  waiting = true;
  idle_wait = false;
  while (grant_s < 0 && !e->finished()) sem->acquire();
  waiting = notified = false;
  const double woke = sim_clock();
  double spin = std::max(0.0, grant_s - woke) + (woke - now);
  spin_s += spin;
  // The time spent blocked in SimGrid already passed on the clock: count it as busy kernel time, not as pending.
  busy_s += woke - now;
  kernel_s += woke - now;
  if (current) current->stats.run_s += woke - now, current->stats.kernel_s += woke - now;
  spend_s(std::max(0.0, grant_s - woke), Work::Kernel);
}

void CoreRt::unlock(SpinLock& l) {
  const double release = now_s();
  if (!l.spinners.empty()) {
    CoreRt& next = *e->cores()[l.spinners.front()];
    l.spinners.pop_front();
    l.last_core = next.id;
    next.grant_s = release + next.transfer_from_ns(id) * 1e-9;
    e->notify(next);
    return;
  }
  l.held = false;
  l.free_at_s = release;
}

void EngineImpl::set_state(Thread& t, ThreadState s, double at_s) {
  double d = std::max(0.0, at_s - t.state_since_s);
  if (t.state == ThreadState::Runnable) t.stats.wait_s += d;
  if (t.state == ThreadState::Blocked) t.stats.blocked_s += d;
  t.state = s;
  t.state_since_s = at_s;
}

void EngineImpl::add_timer(Timer t) {
  timers_.push(t);
  if (timer_waiting_ && t.at_s < timer_wait_until_) {
    timer_waiting_ = false;
    timer_sem_->release();
  }
}

void EngineImpl::make_runnable(Thread& t, int from_core, EnqueueReason why, double delay_s) {
  double now = from_core >= 0 ? cores_[from_core]->now_s() : sim_clock();
  set_state(t, ThreadState::Runnable, now + delay_s);
  int target = sched_->enqueue(t, from_core >= 0 ? cores_[from_core].get() : nullptr, why);
  t.queued_core = target;
  if (!obs_.empty()) [[unlikely]] {
    if (target >= 0)
      for (auto* o : obs_) o->on_run_queue(target, sched_->queue_length(target), now);
    for (auto* o : obs_) o->on_wakeup(from_core, target, t, now, now + delay_s);
  }
  if (target >= 0) {
    if (target == from_core) return;
    // A preemptive scheduler's busy core is interrupted only if the new thread takes its place.
    if (preemptive_ && cores_[target]->current && !sched_->preempts(target, *cores_[target]->current)) return;
    if (delay_s > 0 || now > sim_clock())
      add_timer_notify(target, now + delay_s);
    else
      notify(*cores_[target]);
    return;
  }
  // Any idle core that may run it.
  for (auto& c : cores_)
    if (c->waiting && c->idle_wait && !c->notified && t.may_run_on(c->id)) {
      if (delay_s > 0 || now > sim_clock())
        add_timer_notify(c->id, now + delay_s);
      else
        notify(*c);
      break;
    }
}

void EngineImpl::start_thread(Thread& t, int from_core) {
  double now = from_core >= 0 ? cores_[from_core]->now_s() : sim_clock();
  t.stats.start_s = now;
  t.state_since_s = now;
  make_runnable(t, from_core, EnqueueReason::Spawned, 0);
}

void EngineImpl::finish(std::string status) {
  if (finished_) return;
  finished_ = true;
  status_ = std::move(status);
  for (auto& c : cores_) notify(*c);
  if (timer_waiting_) timer_waiting_ = false, timer_sem_->release();
}

void EngineImpl::check_limits(CoreRt& c) {
  if (sc_.run.max_events && total_events_ >= sc_.run.max_events) finish("stopped: run.max_events reached");
  if (sc_.run.max_sim_time_s > 0 && c.now_s() >= sc_.run.max_sim_time_s) finish("stopped: run.max_sim_time_s reached");
  if (sc_.run.max_wall_time_s > 0 && (total_events_ & 1023) == 0 &&
      std::chrono::duration<double>(Clock::now() - wall_start_).count() >= sc_.run.max_wall_time_s)
    finish("stopped: run.max_wall_time_s reached");
}

void EngineImpl::timer_main() {
  while (!finished_) {
    if (timers_.empty()) {
      timer_waiting_ = true;
      timer_wait_until_ = INFINITY;
      timer_sem_->acquire();
      timer_waiting_ = false;
      continue;
    }
    Timer t = timers_.top();
    double now = sim_clock();
    if (t.at_s > now) {
      timer_waiting_ = true;
      timer_wait_until_ = t.at_s;
      timer_sem_->acquire_timeout(t.at_s - now);
      timer_waiting_ = false;
      continue;
    }
    timers_.pop();
    if (t.thread && t.core == -2) {  // a reply arrives: the operation completed when it was issued
      Thread& th = *t.thread;
      th.last_result.time_s = now;
      make_runnable(th, -1, EnqueueReason::Woken, 0);
    } else if (t.thread && t.thread->op.kind == OpKind::NextJob) {  // a real-time job is released
      Thread& th = *t.thread;
      th.has_op = false;
      th.last_result = {now, 0};
      ++th.stats.ops;
      count_op(OpKind::NextJob);
      for (auto* o : obs_) o->on_op(th.last_core, th, th.op, th.state_since_s, now);
      make_runnable(th, -1, EnqueueReason::Woken, 0);
    } else if (t.thread) {  // a sleep ends
      Thread& th = *t.thread;
      th.has_op = false;
      th.last_result = {now, 0};
      ++th.stats.ops;
      count(EngineEvent::Sleep);
      for (auto* o : obs_) o->on_op(th.last_core, th, th.op, now - th.op.seconds, now);
      make_runnable(th, -1, EnqueueReason::Woken, 0);
    } else if (t.core >= 0) {
      notify(*cores_[t.core]);
    } else {
      finish("stopped: run.max_sim_time_s reached");
    }
  }
}

void EngineImpl::idle(CoreRt& c) {
  c.flush();
  // The flush let other cores run: work may have been queued here meanwhile (its notification found us not waiting).
  if (finished_ || sched_->has_waiting(c.id)) return;
  const double start = sim_clock();
  c.waiting = true;
  c.idle_wait = true;
  --active_;
  if (active_ == 0 && timers_.empty()) {
    // Nothing runs, nothing is due: either everything finished or the remaining threads wait forever.
    c.waiting = false;
    ++active_;
    finish(live_threads_ > 0 ? "deadlock" : "completed");
    return;
  }
  c.sem->acquire();
  c.waiting = c.notified = c.idle_wait = false;
  const double end = sim_clock();
  c.idle_s += end - start;
  for (auto* o : obs_) o->on_idle(c.id, start, end);
}

void EngineImpl::core_main(CoreRt& c) {
  while (!finished_) {
    Thread* t = sched_->pick_next(c);
    if (t && !obs_.empty())
      for (auto* o : obs_) o->on_run_queue(c.id, sched_->queue_length(c.id), c.now_s());
    if (!t) {
      idle(c);
      continue;
    }
    run_thread(c, *t);
  }
  c.flush();
  c.end_s = sim_clock();
}

void EngineImpl::run_thread(CoreRt& c, Thread& t) {
  current_core_ = c.id;
  const double now = c.now_s();
  set_state(t, ThreadState::Running, now);
  const bool moved = t.last_core != c.id;
  if (moved && t.last_core >= 0) ++t.stats.migrations;
  c.current = &t;
  if (c.prev != &t) {
    kernel_->context_switch(c, c.prev, t);
    ++c.context_switches;
    ++t.stats.context_switches;
    count(EngineEvent::ContextSwitch);
    refill_working_set(c, t);
    for (auto* o : obs_) o->on_kernel(c.id, "context switch", now, c.now_s());
  }
  if (moved) {  // (only the engine sets last_core: a thread that last ran here already marked its process)
    t.last_core = c.id;
    processes_[t.process].ran_on[c.id] = true;
  }
  double slice_start = c.now_s();
  const double slice = sched_->time_slice_s(c.id, t);
  double slice_end = slice_start + slice;
  Step step = Step::Continue;
  while (step == Step::Continue && !finished_) {
    if (c.stolen_cycles > 0) [[unlikely]]
      take_interrupts(c);
    if (preemptive_) {  // a more urgent thread may have been queued for this core since the last operation
      c.flush();
      if (finished_) break;
      if (sched_->preempts(c.id, t)) {
        preempt(c, t, slice_start);
        return;
      }
    }
    if (!t.has_op) {
      if (!t.source->next(t.last_result, t.op)) {
        exit_thread(c, t);
        step = Step::Exited;
        break;
      }
      t.has_op = true;
      t.op_left_cycles = t.op.cycles;
    }
    // The two most common operations skip the dispatch: Compute (private work: no kernel model, never blocks) and
    // Syscall (as execute() does it).
    if (t.op.kind == OpKind::Compute) {
      step = compute(c, t, slice_end);
    } else if (t.op.kind == OpKind::Syscall) {
      current_core_ = c.id;
      c.block_until_s = -1;
      syscall(c, t);
      step = c.block_until_s >= 0 ? block_for_reply(c, t) : Step::Continue;
    } else {
      current_core_ = c.id;
      c.block_until_s = -1;
      step = execute(c, t, slice_end);
      if (c.block_until_s >= 0) step = block_for_reply(c, t);
    }
    if (has_limits_) check_limits(c);
    if (step == Step::Continue && c.now_s() >= slice_end) {
      c.flush();  // learn what other cores did meanwhile
      if (sched_->has_waiting(c.id)) {
        preempt(c, t, slice_start);
        return;
      }
      slice_end = c.now_s() + slice;
    }
  }
  const double end = c.now_s();
  t.fill_mark = c.fill_bytes;
  sched_->ran(t, c.id, end - slice_start);
  for (auto* o : obs_) o->on_slice(c.id, t, slice_start, end);
  c.current = nullptr;
  c.prev = &t;
  if (step == Step::Continue && finished_) return;  // stopped by a limit while running
}

// `t` gives way to another thread on `c` (its time slice ended, or a more urgent thread came).
void EngineImpl::preempt(CoreRt& c, Thread& t, double slice_start_s) {
  t.fill_mark = c.fill_bytes;
  sched_->ran(t, c.id, c.now_s() - slice_start_s);
  for (auto* o : obs_) o->on_slice(c.id, t, slice_start_s, c.now_s());
  c.current = nullptr;
  c.prev = &t;
  count(EngineEvent::Preemption);
  ++t.stats.preemptions;
  make_runnable(t, c.id, EnqueueReason::Preempted, 0);
}

// A Compute operation under a preemptive scheduler: the core computes on SimGrid's clock, waiting on its semaphore
// for the time the work takes, so that a notification (a more urgent thread queued for this core) interrupts it at
// the simulated time it happens; the cycles not done stay in the operation. The cost: one SimGrid activity per
// operation instead of private work summed ahead of the clock.
Step EngineImpl::compute_preemptible(CoreRt& c, Thread& t, double slice_end_s) {
  c.flush();  // run_thread asked preempts() on SimGrid's clock just before
  const double start = sim_clock();
  const double left = t.op_left_cycles;
  if (left <= 1e-9) {  // nothing to compute (a time stamp)
    t.op_left_cycles = 0;
    complete(c, t, start);
    return Step::Continue;
  }
  const double run = std::min(left, std::max((slice_end_s - start) * c.hz, 1.0));
  c.waiting = true;
  c.idle_wait = c.notified = false;
  const bool timed_out = c.sem->acquire_timeout(run / c.hz);
  // A notification that came after the timeout fired but before this actor resumed left a token: take it.
  if (timed_out && c.notified) c.sem->acquire();
  c.waiting = c.notified = false;
  const double elapsed = sim_clock() - start;
  // The core computed meanwhile: busy time that SimGrid's clock already holds (as a memory stall).
  c.busy_s += elapsed;
  t.stats.run_s += elapsed;
  t.op_left_cycles = timed_out ? left - run : std::max(0.0, left - std::min(run, elapsed * c.hz));
  if (t.op_left_cycles <= 1e-9) complete(c, t, start);
  return Step::Continue;
}

// Interrupt work other cores asked of this one (IPIs), taken from the running thread's time.
void EngineImpl::take_interrupts(CoreRt& c) {
  const double handled = c.now_s();
  c.spend_cycles(c.stolen_cycles, Work::Kernel);
  ++c.interrupts;
  c.stolen_cycles = 0;
  if (!obs_.empty()) {
    for (const auto& i : c.ipis)
      for (auto* o : obs_) o->on_ipi(i.from, c.id, i.cycles, i.sent_s, handled);
    c.ipis.clear();
    for (auto* o : obs_) o->on_kernel(c.id, "interrupt", handled, c.now_s());
  }
}

void EngineImpl::observe_op(CoreRt& c, Thread& t, double started_s) {
  for (auto* o : obs_) o->on_op(c.id, t, t.op, started_s, t.last_result.time_s);
}

Step EngineImpl::block(CoreRt& c, Thread& t, const char* on, const std::string* object) {
  set_state(t, ThreadState::Blocked, c.now_s());
  t.blocked_on = on;
  t.blocked_on_object = object;
  return Step::Blocked;
}

// The indirect cost of a context switch: the part of the thread's working set that other work evicted from this
// core's private caches since it last ran here (all of it on a core it has not run on) is refilled, from the shared
// last-level cache when it still holds it, else from memory, with the core's misses in flight overlapping.
void EngineImpl::refill_working_set(CoreRt& c, Thread& t) {
  if (t.working_set_bytes == 0) return;
  uint64_t evicted = t.working_set_bytes;
  if (t.last_core == c.id) evicted = std::min<uint64_t>(evicted, c.fill_bytes - t.fill_mark);
  if (evicted == 0) return;
  const Cache* llc = m_.last_level_cache(c.id);
  const double line = llc ? llc->line_bytes : 64.0;
  const bool in_llc = llc && llc->cores.size() > 1 && t.last_core >= 0 && m_.shared_cache(c.id, t.last_core) == llc &&
                      evicted <= llc->size_bytes;
  const double per_line_ns =
      in_llc ? llc->hit_latency_cycles / c.hz * 1e9 : memory_latency_ns(m_, c.id, m_.cores[c.id].node) / m_.core_mlp;
  const double s = std::ceil(evicted / line) * per_line_ns * 1e-9;
  c.spend_s(s, Work::User);
  t.stats.refill_s += s;
  c.fill_bytes += evicted;
  count(EngineEvent::CacheRefill);
}

// A kernel model blocked the thread until a reply arrives (synchronous IPC to a server on another core): the
// operation already counted as complete; the thread sleeps until the reply time, like a timed sleep.
Step EngineImpl::block_for_reply(CoreRt& c, Thread& t) {
  const double until = std::max(c.block_until_s, c.now_s());
  c.block_until_s = -1;
  c.flush();  // the timer fires on SimGrid's clock
  Step s = block(c, t, c.block_why);
  add_timer({until, seq_++, &t, -2});
  return s;
}

void EngineImpl::exit_thread(CoreRt& c, Thread& t) {
  const double now = c.now_s();
  set_state(t, ThreadState::Exited, now);
  t.stats.end_s = now;
  t.blocked_on = "";
  t.blocked_on_object = nullptr;
  --live_threads_;
  c.flush();  // joiners on other cores observe the exit
  for (Thread* j : join_waiters_[t.id])
    make_runnable(*j, c.id, EnqueueReason::Woken, j->last_core == c.id ? 0 : kernel_->wakeup(c, j->last_core));
  join_waiters_[t.id].clear();
  if (live_threads_ == 0) finish("completed");
}

Step EngineImpl::execute(CoreRt& c, Thread& t, double slice_end_s) {
  Op& op = t.op;
  const double t0 = c.now_s();
  auto done = [&](uint64_t value = 0) {
    complete(c, t, t0, value);
    return Step::Continue;
  };
  switch (op.kind) {
    case OpKind::Compute:
      return compute(c, t, slice_end_s);
    case OpKind::MemAccess:
      return memory_access(c, t);
    case OpKind::Syscall:
      syscall(c, t);
      return Step::Continue;
    case OpKind::Send: {
      Channel& ch = channels_.at(op.target);
      c.flush();
      // The receiver's core: the waiting thread's, else the core that read the channel last (a busy receiver that
      // will take the message from its queue); unknown before the first read: this core.
      int receiver = ch.waiters.empty() ? ch.reader_core : ch.waiters.front()->last_core;
      double delay = kernel_->message_send(c, t, op.bytes, receiver < 0 ? c.id : receiver);
      ch.messages.push_back({op.bytes, op.value, c.id, c.now_s() + delay});
      ++ch.sent;
      if (!ch.waiters.empty()) {
        Thread* w = ch.waiters.front();
        ch.waiters.pop_front();
        make_runnable(*w, c.id, EnqueueReason::Woken, w->last_core == c.id ? 0 : delay);
      }
      return done();
    }
    case OpKind::Recv: {
      Channel& ch = channels_.at(op.target);
      c.flush();
      if (!ch.messages.empty()) {
        Message msg = ch.messages.front();
        double now = c.now_s();
        if (msg.visible_s > now) c.spend_s(msg.visible_s - now, Work::User);  // waiting for the line to arrive
        ch.messages.pop_front();
        ++ch.received;
        ch.reader_core = c.id;
        kernel_->message_receive(c, t, msg.bytes, msg.sender_core);
        return done(msg.value);
      }
      ch.waiters.push_back(&t);
      return block(c, t, "a message on channel", &ch.name);
    }
    case OpKind::Lock: {
      UserLock& l = locks_.at(op.target);
      c.flush();
      if (l.owner == &t) {  // handed over by the previous owner while we slept
        if (l.last_core >= 0 && l.last_core != c.id) c.spend_s(c.transfer_from_ns(l.last_core) * 1e-9, Work::User);
        l.last_core = c.id;
        return done();
      }
      if (!l.owner) {
        l.owner = &t;
        if (l.last_core >= 0 && l.last_core != c.id) c.spend_s(c.transfer_from_ns(l.last_core) * 1e-9, Work::User);
        l.last_core = c.id;
        return done();
      }
      // Contended: futex-style sleep in the kernel.
      kernel_->syscall(c, t, SyscallClass::Null, 0);
      l.waiters.push_back(&t);
      return block(c, t, "lock", &l.name);
    }
    case OpKind::Unlock: {
      UserLock& l = locks_.at(op.target);
      c.flush();
      if (l.owner != &t)
        throw std::runtime_error(fmt::format("thread '{}' unlocks lock '{}' that it does not hold", t.name, l.name));
      l.last_core = c.id;
      if (l.waiters.empty()) {
        l.owner = nullptr;
        return done();
      }
      Thread* w = l.waiters.front();
      l.waiters.pop_front();
      l.owner = w;
      kernel_->syscall(c, t, SyscallClass::Null, 0);  // futex wake
      make_runnable(*w, c.id, EnqueueReason::Woken, w->last_core == c.id ? 0 : kernel_->wakeup(c, w->last_core));
      return done();
    }
    case OpKind::Alloc: {
      allocator_->allocate(c, t, op.bytes);
      uint32_t id = create_region(t.process, op.bytes, -1);
      return done(id);
    }
    case OpKind::Free: {
      Region& r = regions_.at(op.target);
      allocator_->release(c, t, r.bytes);
      r.freed = true;
      return done();
    }
    case OpKind::Map:
      kernel_->map(c, t, op.bytes);
      return done();
    case OpKind::Unmap: {
      const auto& ran = processes_[t.process].ran_on;
      std::vector<int> tlb_cores;
      for (int i = 0; i < m_.num_cores(); ++i)
        if (ran[i]) tlb_cores.push_back(i);
      kernel_->unmap(c, t, op.bytes, tlb_cores);
      return done();
    }
    case OpKind::Spawn: {
      const Template& tp = templates_.at(op.target);
      c.flush();
      kernel_->syscall(c, t, SyscallClass::Process, 0);
      uint32_t id = create_thread(tp.process, tp.spec, tp.make());
      join_waiters_.resize(threads_.size());
      return done(id);
    }
    case OpKind::Join: {
      c.flush();
      Thread& target = *threads_.at(op.target);
      if (target.state == ThreadState::Exited) return done();
      join_waiters_[op.target].push_back(&t);
      return block(c, t, "the exit of thread", &target.name);
    }
    case OpKind::Sleep:
      c.flush();                                            // the timer fires on SimGrid's clock
      add_timer({c.now_s() + op.seconds, seq_++, &t, -1});  // completes the operation
      return block(c, t, "sleep");
    case OpKind::NextJob: {
      c.flush();  // the timer fires on SimGrid's clock
      const double relative = t.sched.relative_deadline_s > 0 ? t.sched.relative_deadline_s : t.sched.period_s;
      t.sched.release_s = op.seconds;
      t.sched.deadline_s = relative > 0 ? op.seconds + relative : INFINITY;
      if (op.seconds <= c.now_s()) return done();  // released already (the previous job overran): run on
      add_timer({op.seconds, seq_++, &t, -1});     // completes the operation
      return block(c, t, "the release of its next job");
    }
    case OpKind::Wait:
      c.flush();
      if (t.wake_tokens > 0) {
        --t.wake_tokens;
        return done();
      }
      return block(c, t, "wake-up");
    case OpKind::Wake: {
      c.flush();
      Thread& target = *threads_.at(op.target);
      ++target.wake_tokens;
      if (target.state == ThreadState::Blocked && target.has_op && target.op.kind == OpKind::Wait)
        make_runnable(target, c.id, EnqueueReason::Woken,
                      target.last_core == c.id ? 0 : kernel_->wakeup(c, target.last_core));
      return done();
    }
    case OpKind::Yield:
      done();
      c.flush();
      if (sched_->has_waiting(c.id)) {
        make_runnable(t, c.id, EnqueueReason::Yielded, 0);
        return Step::Yielded;
      }
      return Step::Continue;
    case OpKind::Count:
      break;
  }
  throw std::runtime_error("unknown operation kind");
}

Step EngineImpl::memory_access(CoreRt& c, Thread& t) {
  Op& op = t.op;
  const double t0 = c.now_s();
  Region& r = regions_.at(op.target);
  if (r.node_share.empty()) {
    if (r.bind_node >= 0) {
      r.node_share.assign(m_.num_nodes(), 0.0);
      r.node_share[r.bind_node] = 1.0;
    } else {
      r.node_share = placement_->place(m_, r, t, c.id);
    }
  }
  ++r.accesses;
  const Cache* llc = m_.last_level_cache(c.id);
  const double line = llc ? llc->line_bytes : 64.0;
  if (r.bytes <= m_.coherent_region_max_bytes) return coherent_access(c, t, r, line);
  if (page_bytes_ > 0 && r.bind_node < 0) {  // a policy that moves pages (not those of explicitly bound memory)
    if (r.node_pages.empty()) pages_from_share(r, page_bytes_);
    placement_->on_access(*this, c, t, r, op);
  }
  const int my_node = m_.cores[c.id].node;
  for (int n = 0; n < m_.num_nodes(); ++n) {
    if (r.node_share[n] <= 0) continue;
    auto b = static_cast<uint64_t>(std::llround(op.bytes * r.node_share[n]));
    auto& tr = traffic_[n];
    (op.access == AccessKind::Read ? tr.read_bytes : tr.write_bytes) += b;
    (n == my_node ? tr.local_bytes : tr.remote_bytes) += b;
    if (page_bytes_ > 0) (fast_tier_[c.id][n] ? moved_.fast_bytes : moved_.slow_bytes) += b;
  }
  t.stats.bytes_accessed += op.bytes;
  c.fill_bytes += op.bytes;
  if (op.pattern == AccessPattern::Chase) {
    // Dependent loads: one miss at a time, latency-bound; too little bandwidth to contend.
    double lines = std::ceil(op.bytes / line), ns = 0;
    for (int n = 0; n < m_.num_nodes(); ++n) ns += r.node_share[n] * lines * memory_latency_ns(m_, c.id, n);
    c.spend_s(ns * 1e-9, Work::User);
  } else {
    // The first line's latency, then the transfer through the core's own link, the memory controllers and the
    // interconnect, shared with every other flow by SimGrid's max-min model; each flow is bounded by Little's law
    // over the core's misses in flight (see platform.hpp). SimGrid holds half of the load latency on the route.
    double first = 0;
    for (int n = 0; n < m_.num_nodes(); ++n)
      if (r.node_share[n] > 0)
        first = std::max(first, memory_latency_ns(m_, c.id, n) * 1e-9 - route_latency_s(m_, my_node, n));
    c.spend_s(first, Work::User);
    c.flush();
    const double start = sim_clock();
    std::vector<sg4::CommPtr> comms;
    for (int n = 0; n < m_.num_nodes(); ++n) {
      if (r.node_share[n] <= 0) continue;
      auto b = static_cast<uint64_t>(std::llround(op.bytes * r.node_share[n]));
      if (b == 0) continue;
      auto from = platform_.memory[n], to = platform_.cores[c.id];
      if (op.access == AccessKind::Write) std::swap(from, to);
      comms.push_back(sg4::Comm::sendto_async(from, to, b));
    }
    if (!comms.empty()) sg4::Comm::wait_all(comms);
    const double end = sim_clock();
    // The core stalled on memory: busy time that SimGrid's clock already holds.
    c.busy_s += end - start;
    t.stats.run_s += end - start;
    for (int n = 0; n < m_.num_nodes(); ++n)
      if (r.node_share[n] > 0)
        for (auto* o : obs_) o->on_memory(c.id, n, static_cast<uint64_t>(op.bytes * r.node_share[n]), start, end);
  }
  complete(c, t, t0);
  return Step::Continue;
}

// Page migration (Linux's migrate_pages): unmap the pages (the page-table update and the TLB shootdown on the cores
// the process ran on, through the kernel architecture and so its agreement protocol), copy them on this core (read
// from the source node and written to the destination at once, SimGrid flows that contend with all other traffic),
// and remap them (their new entries are written with the unmap's page-table work: not charged twice).
uint64_t EngineImpl::migrate(Cpu& cpu, Thread& t, Region& r, int from, int to, uint64_t pages) {
  auto& c = static_cast<CoreRt&>(cpu);
  if (from == to || r.node_pages.empty()) return 0;
  pages = std::min(pages, r.node_pages[from]);
  if (pages == 0) return 0;
  const uint64_t bytes = pages * page_bytes_;
  const double t0 = c.now_s();
  // The pages are the destination's from now on: accesses by other cores during the copy go there, and no other
  // migration takes them again.
  r.node_pages[from] -= pages;
  r.node_pages[to] += pages;
  share_from_pages(r);
  kernel_->unmap(c, t, bytes, tlb_cores(t.process));
  c.flush();
  const double start = sim_clock();
  std::vector<sg4::CommPtr> comms{sg4::Comm::sendto_async(platform_.memory[from], platform_.cores[c.id], bytes),
                                  sg4::Comm::sendto_async(platform_.cores[c.id], platform_.memory[to], bytes)};
  sg4::Comm::wait_all(comms);
  const double end = sim_clock();
  c.busy_s += end - start;  // the core copies: kernel time that SimGrid's clock already holds
  c.kernel_s += end - start;
  t.stats.run_s += end - start;
  t.stats.kernel_s += end - start;
  const int here = m_.cores[c.id].node;
  traffic_[from].read_bytes += bytes;
  (from == here ? traffic_[from].local_bytes : traffic_[from].remote_bytes) += bytes;
  traffic_[to].write_bytes += bytes;
  (to == here ? traffic_[to].local_bytes : traffic_[to].remote_bytes) += bytes;
  moved_.pages += pages;
  ++moved_.migrations;
  (m_.mem_latency_ns(c.id, to) < m_.mem_latency_ns(c.id, from) ? moved_.promoted : moved_.demoted) += pages;
  moved_.seconds += end - t0;
  c.count("page_migration", 1);
  for (auto* o : obs_) o->on_migration(c.id, r.id, from, to, pages, bytes, t0, end);
  return pages;
}

void EngineImpl::hinting_faults(Cpu& cpu, Thread& t, uint64_t faults, double handler_cycles) {
  auto& c = static_cast<CoreRt&>(cpu);
  const double t0 = c.now_s();
  for (uint64_t i = 0; i < faults; ++i) kernel_->syscall(c, t, SyscallClass::Memory, handler_cycles);
  moved_.faults += faults;
  c.count("numa_hinting_fault", faults);
  for (auto* o : obs_) o->on_kernel(c.id, "NUMA hinting fault", t0, c.now_s());
}

void EngineImpl::change_protection(Cpu& cpu, Thread& t, uint64_t pages) {
  auto& c = static_cast<CoreRt&>(cpu);
  const double t0 = c.now_s();
  kernel_->unmap(c, t, pages * page_bytes_, tlb_cores(t.process));
  ++moved_.protection_changes;
  c.count("numa_scan", 1);
  for (auto* o : obs_) o->on_kernel(c.id, "NUMA scan", t0, c.now_s());
}

// Small data stays in the caches (machine.memory.coherent_region_max_kib): its lines are tracked one by one, and an
// access costs hits in the core's own cache, transfers from the cores that hold the lines, invalidations of their
// copies, and for lines no cache holds yet a fetch from the home node's memory (models/coherence.hpp). The access
// touches the region's first lines (all of them when it is at least as large). The region of a process with one
// thread is that thread's alone: its accesses are private work and create no SimGrid activity. Any other thread may
// take a line away or want it at any time, so an access to a region of a process with several threads first brings
// the core's clock to SimGrid's (as taking a lock does): the lines then move between cores in the order of simulated
// time, and a core cannot count hits on lines that another core, earlier in simulated time, has taken. (A thread of
// another process touching the region of a single-threaded one is ordered after what that thread had done by then.)
Step EngineImpl::coherent_access(CoreRt& c, Thread& t, const Region& r, double line_bytes) {
  const Op& op = t.op;
  const bool shared = processes_[r.process].threads > 1 || t.process != r.process;
  if (shared) c.flush();
  const double t0 = c.now_s();
  auto& lines = region_lines_[r.id];
  if (lines.empty()) lines.resize(std::max<size_t>(1, static_cast<size_t>(std::ceil(r.bytes / line_bytes))));
  const size_t n = std::clamp<size_t>(static_cast<size_t>(std::ceil(op.bytes / line_bytes)), 1, lines.size());
  const int home = static_cast<int>(std::max_element(r.node_share.begin(), r.node_share.end()) - r.node_share.begin());
  // Only accesses ordered in simulated time queue at the home node: a private access runs ahead of SimGrid's clock
  // (its misses are the first touches of lines no other core wants), so it neither waits for nor delays the others.
  double private_home_free_s = 0;
  const LineAccessCost cost =
      access_lines(m_, std::span(lines).first(n), c.id, op.access == AccessKind::Write,
                   op.pattern == AccessPattern::Chase, home, t0, shared ? home_free_s_[home] : private_home_free_s);
  c.spend_s(cost.done_s - t0, Work::User);
  t.stats.bytes_accessed += op.bytes;
  c.fill_bytes += static_cast<uint64_t>((cost.transfers + cost.from_memory) * line_bytes);
  if (cost.from_memory > 0) {  // only the lines no cache held reach the memory controller
    const auto b = static_cast<uint64_t>(cost.from_memory * line_bytes);
    traffic_[home].read_bytes += b;
    (home == m_.cores[c.id].node ? traffic_[home].local_bytes : traffic_[home].remote_bytes) += b;
    for (auto* o : obs_) o->on_memory(c.id, home, b, t0, cost.done_s);
  }
  complete(c, t, t0);
  return Step::Continue;
}

// Checked at the end of every run: all time accounted for (a core is busy or idle; a finished thread ran, waited or
// was blocked between its start and its end), no negative durations, every message received or reported in flight,
// every thread finished or reported.
json EngineImpl::check_invariants(double T, const json& doc) const {
  std::vector<std::string> violations;
  const double eps = 1e-9 * std::max(1.0, T);
  for (const auto& c : doc["cores"]) {
    double busy = c["busy_s"], idle = c["idle_s"], kernel = c["kernel_s"];
    if (busy < -eps || idle < -eps || kernel < -eps || kernel > busy + eps)
      violations.push_back(fmt::format("core {}: negative or inconsistent time (busy {}, kernel {}, idle {})",
                                       c["id"].get<int>(), busy, kernel, idle));
    if (std::fabs(busy + idle - T) > eps + 1e-7 * T)
      violations.push_back(
          fmt::format("core {}: busy {} s + idle {} s != simulated time {} s", c["id"].get<int>(), busy, idle, T));
  }
  int unfinished = 0;
  for (const auto& t : threads_) {
    const auto& st = t->stats;
    if (st.run_s < -eps || st.wait_s < -eps || st.blocked_s < -eps)
      violations.push_back(fmt::format("thread {}: negative duration", t->name));
    if (t->state != ThreadState::Exited) {
      ++unfinished;
      continue;
    }
    double accounted = st.run_s + st.wait_s + st.blocked_s, lived = st.end_s - st.start_s;
    if (std::fabs(accounted - lived) > eps + 1e-6 * lived)
      violations.push_back(
          fmt::format("thread {}: run + wait + blocked = {} s but it lived {} s", t->name, accounted, lived));
  }
  uint64_t sent = 0, received = 0, in_flight = 0;
  for (const auto& ch : channels_) {
    sent += ch.sent, received += ch.received, in_flight += ch.messages.size();
    if (ch.sent != ch.received + ch.messages.size())
      violations.push_back(fmt::format("channel {}: {} sent, {} received, {} queued", ch.name, ch.sent, ch.received,
                                       ch.messages.size()));
  }
  return {{"ok", violations.empty()},      {"violations", violations},        {"messages_sent", sent},
          {"messages_received", received}, {"messages_in_flight", in_flight}, {"threads_unfinished", unfinished}};
}

json metrics_json(const Metrics& m) {
  json out = json::object();
  for (const auto& [k, v] : m) std::visit([&](const auto& x) { out[k] = x; }, v);
  return out;
}

void EngineImpl::prepare() {
  const auto& arch = *ArchitectureRegistry::instance().find(sc_.architecture.name);
  kernel_ = arch.make(sc_.architecture.params);
  KernelOptions options;
  if (sc_.shootdown != "default") options.shootdown = make_agreement(sc_.shootdown);
  kernel_->init(m_, options);
  sched_ = SchedulerRegistry::instance().find(sc_.scheduler.name)->make(sc_.scheduler.params);
  sched_->init(m_);
  placement_ = PlacementRegistry::instance().find(sc_.placement.name)->make(sc_.placement.params);
  placement_->init(m_);
  page_bytes_ = placement_->page_bytes();
  if (page_bytes_ > 0)
    for (int c = 0; c < m_.num_cores(); ++c) {
      const auto& lat = m_.interconnect.latency_ns[m_.cores[c].node];
      const double best = *std::min_element(lat.begin(), lat.end());
      fast_tier_.emplace_back(m_.num_nodes(), false);
      for (int n = 0; n < m_.num_nodes(); ++n) fast_tier_.back()[n] = lat[n] == best;
    }
  allocator_ = AllocatorRegistry::instance().find(sc_.allocator.name)->make(sc_.allocator.params);
  allocator_->init(m_);
  traffic_.assign(m_.num_nodes(), {});
  for (const auto& w : sc_.workloads) {
    current_workload_path_ = w.params.path();
    workloads_.push_back(WorkloadRegistry::instance().find(w.kind)->make(w.params));
    uint32_t first = static_cast<uint32_t>(threads_.size());
    workloads_.back()->setup(*this);
    workload_threads_.emplace_back(first, static_cast<uint32_t>(threads_.size()));
  }
  std::vector<std::string> process_names, thread_names;
  for (const auto& p : processes_) process_names.push_back(p.name);
  for (const auto& t : threads_) thread_names.push_back(t->name);
  for (const auto& t : templates_)
    if (!t.spec.name.empty()) thread_names.push_back(t.spec.name);
  sched_->setup_done(process_names, thread_names);
  join_waiters_.resize(threads_.size());
}

RunResults EngineImpl::run() {
  wall_start_ = Clock::now();
  prepare();
  has_limits_ = sc_.run.max_events || sc_.run.max_sim_time_s > 0 || sc_.run.max_wall_time_s > 0;
  preemptive_ = sched_->preemptive();
  // SimGrid's `raw` context factory (its own default): 1.5-2x faster than `ucontext`, whose swapcontext also makes wall
  // time grow faster than the number of cores (docs/performance.md); results are identical with either. Sanitizer
  // builds ask for `thread` (ASan follows neither raw nor ucontext stack switches), anyone may ask for another.
  const char* factory = std::getenv("MKSIM_CONTEXT_FACTORY");
  std::vector<std::string> args = {"mksim", "--log=root.thres:critical",
                                   std::string("--cfg=contexts/factory:") + (factory ? factory : "raw")};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  sg4::Engine engine(&argc, argv.data());
  g_clock_s = sg4::Engine::get_clock();
  static bool clock_hooked = false;  // one engine per process, but connect once whatever happens
  if (!clock_hooked) {
    sg4::Engine::on_time_advance_cb([](double) { g_clock_s = sg4::Engine::get_clock(); });
    clock_hooked = true;
  }
  configure_simgrid(m_);
  platform_ = build_platform(m_);

  for (int i = 0; i < m_.num_cores(); ++i) {
    auto c = std::make_unique<CoreRt>();
    c->e = this;
    c->id = i;
    c->host = platform_.cores[i];
    c->hz = m_.cores[i].freq_ghz * 1e9;
    c->sem = sg4::Semaphore::create(0);
    cores_.push_back(std::move(c));
  }
  timer_sem_ = sg4::Semaphore::create(0);
  active_ = m_.num_cores();
  for (auto* o : obs_) o->on_start(m_);
  started_ = true;
  for (auto& t : threads_) start_thread(*t, -1);
  if (threads_.empty()) finish("completed");
  if (sc_.run.max_sim_time_s > 0) add_timer({sc_.run.max_sim_time_s, seq_++, nullptr, -1});

  for (auto& c : cores_) {
    CoreRt* cp = c.get();
    sg4::Actor::create(fmt::format("core{}", cp->id), cp->host, [this, cp] {
      // An exception must not unwind through SimGrid (it would abort): stop the run, rethrow after it.
      try {
        core_main(*cp);
      } catch (...) {
        if (!error_) error_ = std::current_exception();
        finish("error");
      }
    });
  }
  sg4::Actor::create("timers", platform_.cores[0], [this] { timer_main(); });
  const double setup_s = std::chrono::duration<double>(Clock::now() - wall_start_).count();
  engine.run();
  if (error_) std::rethrow_exception(error_);
  const double sim_wall_s = std::chrono::duration<double>(Clock::now() - wall_start_).count() - setup_s;
  for (auto& c : cores_)  // IPIs still waiting for their target when the run ended (it stayed idle)
    for (const auto& i : c->ipis)
      for (auto* o : obs_) o->on_ipi(i.from, c->id, i.cycles, i.sent_s, -1);
  for (auto* o : obs_) o->on_end(sim_clock());
  RunResults res;
  res.doc = build_results(setup_s, sim_wall_s);
  return res;
}

json EngineImpl::build_results(double wall_setup_s, double wall_sim_s) {
  const double T = sim_clock();
  json doc;
  doc["mksim_version"] = MKSIM_VERSION;
  doc["simgrid_version"] = fmt::format("{}.{}", SIMGRID_VERSION_MAJOR, SIMGRID_VERSION_MINOR);
  doc["seed"] = sc_.run.seed;
  doc["config"] = sc_.resolved;

  int finished_threads = 0;
  json threads = json::array();
  for (const auto& t : threads_) {
    if (t->state != ThreadState::Exited) set_state(*t, t->state, T);
    finished_threads += t->state == ThreadState::Exited;
    threads.push_back({{"id", t->id},
                       {"name", t->name},
                       {"process", processes_[t->process].name},
                       {"state", t->state == ThreadState::Exited    ? "exited"
                                 : t->state == ThreadState::Blocked ? "blocked"
                                                                    : "runnable"},
                       {"start_s", t->stats.start_s},
                       {"end_s", t->stats.end_s},
                       {"run_s", t->stats.run_s},
                       {"kernel_s", t->stats.kernel_s},
                       {"wait_s", t->stats.wait_s},
                       {"blocked_s", t->stats.blocked_s},
                       {"refill_s", t->stats.refill_s},
                       {"ops", t->stats.ops},
                       {"context_switches", t->stats.context_switches},
                       {"migrations", t->stats.migrations},
                       {"bytes_accessed", t->stats.bytes_accessed},
                       {"last_core", t->last_core}});
  }
  json cores = json::array();
  for (const auto& c : cores_) {
    double idle = c->idle_s + std::max(0.0, T - c->end_s);
    cores.push_back({{"id", c->id},
                     {"node", m_.cores[c->id].node},
                     {"busy_s", c->busy_s},
                     {"kernel_s", c->kernel_s},
                     {"spin_s", c->spin_s},
                     {"idle_s", idle},
                     {"utilisation", T > 0 ? c->busy_s / T : 0.0},
                     {"ops", c->ops},
                     {"context_switches", c->context_switches},
                     {"interrupts", c->interrupts}});
  }
  json memory = json::array();
  for (int n = 0; n < m_.num_nodes(); ++n) {
    const auto& tr = traffic_[n];
    double bytes = static_cast<double>(tr.read_bytes + tr.write_bytes);
    double bw = m_.nodes[n].controller_bandwidth_gb_s * 1e9;
    memory.push_back({{"node", n},
                      {"read_bytes", tr.read_bytes},
                      {"write_bytes", tr.write_bytes},
                      {"local_bytes", tr.local_bytes},
                      {"remote_bytes", tr.remote_bytes},
                      {"mean_bandwidth_gb_s", T > 0 ? bytes / T / 1e9 : 0.0},
                      {"controller_utilisation", T > 0 ? bytes / bw / T : 0.0}});
  }

  json summary;
  summary["status"] = status_;
  summary["partial"] = status_ != "completed";
  summary["sim_time_s"] = T;
  summary["events"] = total_events_;
  summary["events_by_kind"] = events_;
  summary["threads"] = threads_.size();
  summary["threads_finished"] = finished_threads;
  summary["cores"] = m_.num_cores();
  summary["numa_nodes"] = m_.num_nodes();
  summary["architecture"] = sc_.architecture.name;
  summary["scheduler"] = sc_.scheduler.name;
  doc["summary"] = summary;

  if (status_ == "deadlock" || finished_threads < static_cast<int>(threads_.size())) {
    json waits = json::array();
    for (const auto& t : threads_)
      if (t->state == ThreadState::Blocked)
        waits.push_back(
            {{"thread", t->name},
             {"waits_for", t->blocked_on_object ? fmt::format("{} '{}'", t->blocked_on, *t->blocked_on_object)
                                                : std::string(t->blocked_on)}});
    doc["blocked"] = waits;
  }

  RunView view;
  view.sim_time_s = T;
  for (const auto& t : threads_)
    view.threads.push_back({t->id, t->stats.start_s, t->stats.end_s, t->stats.run_s, t->state == ThreadState::Exited,
                            t->stats.context_switches, t->stats.migrations, t->stats.preemptions});
  json wl;
  json instances = json::array();
  for (size_t i = 0; i < workloads_.size(); ++i) {
    json m = metrics_json(workloads_[i]->metrics(view));
    instances.push_back({{"name", sc_.workloads[i].name}, {"kind", sc_.workloads[i].kind}, {"metrics", m}});
  }
  if (instances.size() == 1) {
    wl["metrics"] = instances[0]["metrics"];
  } else {
    json m = json::object();
    for (const auto& in : instances) m[in["name"].get<std::string>()] = in["metrics"];
    wl["metrics"] = m;
  }
  wl["instances"] = instances;
  doc["workload"] = wl;
  doc["threads"] = threads;
  doc["cores"] = cores;
  doc["memory"] = memory;
  if (page_bytes_ > 0) {
    const double served = static_cast<double>(moved_.fast_bytes + moved_.slow_bytes);
    doc["page_migration"] = {{"policy", sc_.placement.name},
                             {"page_bytes", page_bytes_},
                             {"pages_migrated", moved_.pages},
                             {"bytes_migrated", moved_.pages * page_bytes_},
                             {"migrations", moved_.migrations},
                             {"migration_s", moved_.seconds},
                             {"promoted_pages", moved_.promoted},
                             {"demoted_pages", moved_.demoted},
                             {"hinting_faults", moved_.faults},
                             {"protection_changes", moved_.protection_changes},
                             {"fast_tier_bytes", moved_.fast_bytes},
                             {"slow_tier_bytes", moved_.slow_bytes},
                             {"fast_tier_share", served > 0 ? static_cast<double>(moved_.fast_bytes) / served : 0.0}};
  }
  doc["invariants"] = check_invariants(T, doc);
  doc["wall_clock"] = {{"setup_s", wall_setup_s},
                       {"simulate_s", wall_sim_s},
                       {"total_s", wall_setup_s + wall_sim_s},
                       {"events_per_s", wall_sim_s > 0 ? total_events_ / wall_sim_s : 0.0}};
  return doc;
}

}  // namespace

RunResults simulate(const Scenario& sc, const std::vector<Observer*>& observers) {
  EngineImpl impl(sc, observers);
  return impl.run();
}

void validate_scenario(const Scenario& sc) {
  EngineImpl impl(sc, {});
  impl.prepare();
}

RunResults run_isolated(const Scenario& sc, const std::string& outdir) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    close(fds[0]);
    // A crash in the child must end the child, not run the parent's handlers (a test framework's reporter).
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) signal(sig, SIG_DFL);
    json out;
    try {
      std::vector<std::unique_ptr<Observer>> outputs;
      std::vector<Observer*> observers;
      if (!outdir.empty()) {
        std::filesystem::create_directories(outdir);
        outputs = make_outputs(sc, outdir);
        for (auto& o : outputs) observers.push_back(o.get());
      }
      RunResults r = simulate(sc, observers);
      if (!outdir.empty()) r.write(outdir, sc.run.csv);
      out = {{"ok", r.doc}};
    } catch (const InputError& e) {
      out = {{"input_error", e.what()}, {"file", e.file()}, {"where", e.where()}};
    } catch (const std::exception& e) {
      out = {{"error", e.what()}};
    }
    std::string text = out.dump(-1, ' ', false, json::error_handler_t::replace);
    size_t off = 0;
    while (off < text.size()) {
      ssize_t n = write(fds[1], text.data() + off, text.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status))
    throw std::runtime_error(
        fmt::format("the simulation process died of signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status))));
  if (text.empty()) throw std::runtime_error("the simulation process ended without results");
  json out = json::parse(text);
  if (out.contains("input_error")) {
    std::string msg = out["input_error"];
    std::string file = out["file"], where = out["where"];
    // Rebuild the same message: InputError formats "file: where: what".
    std::string prefix = InputError(file, where, "").what();
    throw InputError(file, where, msg.substr(std::min(msg.size(), prefix.size())));
  }
  if (out.contains("error")) throw std::runtime_error(out["error"].get<std::string>());
  RunResults r;
  r.doc = std::move(out["ok"]);
  return r;
}

}  // namespace mksim
