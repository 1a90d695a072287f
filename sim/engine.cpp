// The engine's hot loop (sim/engine_impl.hpp): each core's actor, its runtime and spin locks, scheduling and timers,
// `execute` with its operation families and the memory path, kept in one translation unit so that they inline. The
// members used only here are `inline`: like the functions of an anonymous namespace, their out-of-line copies may be
// dropped, so the compiler inlines them as it did when the engine was one file (a function called once, ...).
#include <set>

#include "models/memory_capacity.hpp"
#include "sim/engine_impl.hpp"

namespace mksim {

// The engine's own types, shared by its files and by nothing else: hidden (not exported from the position-independent
// core), so that calls among them stay direct and the compiler may inline them.
#pragma GCC visibility push(hidden)
namespace engine_detail {

// SimGrid's clock, kept here (engine_impl.hpp, sim_clock).
double g_clock_s = 0;

const Machine& CoreRt::machine() const {
  return e->m_ref();
}

bool CoreRt::is_idle(int core) const {
  const CoreRt& c = *e->cores()[core];
  return c.waiting && c.idle_wait;
}

double CoreRt::handler_start_s(int target, double visible_s, bool ipi) const {
  const CoreRt& c = *e->cores()[target];
  // An interrupt preempts at once; an idle core polls (or is woken by the interrupt) at once; a busy core polls when
  // its actor next gets control, at the end of the work SimGrid is timing for it.
  if (ipi || target == id || (c.waiting && c.idle_wait)) return visible_s;
  return std::max(visible_s, c.resume_s);
}

void CoreRt::run_handler(int from, int target, double sent_s, double start_s, double seconds) {
  CoreRt& t = *e->cores()[target];
  e->count(EngineEvent::Interrupt);
  if (t.waiting && t.idle_wait) {  // an idle core runs the handler in its idle time, when it comes
    t.busy_s += seconds;
    t.kernel_s += seconds;
    ++t.interrupts;
    t.idle_handlers.emplace_back(start_s, start_s + seconds);
    if (e->observed()) e->observe_handler(from, t, seconds * t.hz, sent_s, start_s, seconds);
    return;
  }
  t.stolen_cycles += seconds * t.hz;  // taken from the work it was doing then (its clock goes on from there)
  if (e->observed()) t.ipis.push_back({from, seconds * t.hz, sent_s, start_s});
}

double CoreRt::access_shared_lines(std::span<CacheLine> lines, bool write, int home_node) {
  flush();  // ordered by SimGrid's clock with the other cores' coherent accesses
  const LineAccessCost cost =
      access_lines(machine(), lines, id, write, false, home_node, sim_clock(), home_queue(home_node));
  const Cache* llc = machine().last_level_cache(id);
  phys->fill_bytes += static_cast<uint64_t>((cost.transfers + cost.from_memory) * (llc ? llc->line_bytes : 64));
  return cost.done_s;
}

HomeQueue& CoreRt::home_queue(int node) {
  HomeQueue& q = e->homes_[static_cast<size_t>(node)];
  q.forget_before(sim_clock());  // every request from now on is for SimGrid's time or later
  return q;
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

inline void EngineImpl::make_runnable(Thread& t, int from_core, EnqueueReason why, double delay_s) {
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

inline void EngineImpl::check_limits(CoreRt& c) {
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

inline void EngineImpl::idle(CoreRt& c) {
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
  // The handlers run in this idle period: a handler that a queue put after its end (a server's requests waiting for
  // the ones before them) runs while the core does something else: that part is taken from it (stolen time).
  double handled = 0;
  for (const auto& [a, b] : c.idle_handlers) {
    handled += std::max(0.0, std::min(b, end) - a);
    const double late = b - std::max(a, end);
    if (late > 0) {
      c.busy_s -= late;
      c.kernel_s -= late;
      c.stolen_cycles += late * c.hz;
      if (a >= end) --c.interrupts;  // counted when it is taken
    }
  }
  c.idle_s += end - start - handled;
  if (!obs_.empty()) observe_idle(c, start, end);
  c.idle_handlers.clear();
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

inline void EngineImpl::run_thread(CoreRt& c, Thread& t) {
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
  t.fill_mark = c.phys->fill_bytes;
  sched_->ran(t, c.id, end - slice_start);
  for (auto* o : obs_) o->on_slice(c.id, t, slice_start, end);
  c.current = nullptr;
  c.prev = &t;
  if (step == Step::Continue && finished_) return;  // stopped by a limit while running
}

// `t` gives way to another thread on `c` (its time slice ended, or a more urgent thread came).
inline void EngineImpl::preempt(CoreRt& c, Thread& t, double slice_start_s) {
  t.fill_mark = c.phys->fill_bytes;
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
inline Step EngineImpl::compute_preemptible(CoreRt& c, Thread& t, double slice_end_s) {
  c.flush();  // run_thread asked preempts() on SimGrid's clock just before
  const double start = sim_clock();
  const double left = t.op_left_cycles;
  if (left <= 1e-9) {  // nothing to compute (a time stamp)
    t.op_left_cycles = 0;
    complete(c, t, start);
    return Step::Continue;
  }
  const double hz = c.siblings.empty() ? c.hz : c.hz * smt_share(c);
  const double run = std::min(left, std::max((slice_end_s - start) * hz, 1.0));
  c.waiting = true;
  c.idle_wait = c.notified = false;
  c.resume_s = start + run / hz;
  const bool timed_out = c.sem->acquire_timeout(run / hz);
  // A notification that came after the timeout fired but before this actor resumed left a token: take it.
  if (timed_out && c.notified) c.sem->acquire();
  c.waiting = c.notified = false;
  const double elapsed = sim_clock() - start;
  // The core computed meanwhile: busy time that SimGrid's clock already holds (as a memory stall).
  c.busy_s += elapsed;
  t.stats.run_s += elapsed;
  t.op_left_cycles = timed_out ? left - run : std::max(0.0, left - std::min(run, elapsed * hz));
  if (t.op_left_cycles <= 1e-9) complete(c, t, start);
  return Step::Continue;
}

// Handler work other cores' messages asked of this one (Cpu::run_handler: IPIs, polled requests), taken from the
// running thread's time; observers see each handler at the time it ran.
inline void EngineImpl::take_interrupts(CoreRt& c) {
  c.spend_cycles(c.stolen_cycles, Work::Kernel);
  ++c.interrupts;
  c.stolen_cycles = 0;
  if (!obs_.empty()) {
    for (const auto& i : c.ipis) {
      for (auto* o : obs_) o->on_ipi(i.from, c.id, i.cycles, i.sent_s, i.ran_s);
      for (auto* o : obs_) o->on_kernel(c.id, "interrupt", i.ran_s, i.ran_s + i.cycles / c.hz);
    }
    c.ipis.clear();
  }
}

inline void EngineImpl::observe_op(CoreRt& c, Thread& t, double started_s) {
  for (auto* o : obs_) o->on_op(c.id, t, t.op, started_s, t.last_result.time_s);
}

inline Step EngineImpl::block(CoreRt& c, Thread& t, const char* on, const std::string* object) {
  set_state(t, ThreadState::Blocked, c.now_s());
  t.blocked_on = on;
  t.blocked_on_object = object;
  return Step::Blocked;
}

// The indirect cost of a context switch: the part of the thread's working set that other work evicted from this
// core's private caches since it last ran here (on another core: all it had in the private caches, and what it had in
// the last-level cache too when it leaves that) is refilled, from the shared last-level cache when it still holds it,
// else from memory, with the core's misses in flight overlapping.
// Eviction is LRU's (Mattson et al., "Evaluation techniques for storage hierarchies", IBM Systems Journal, 1970: a
// line survives while fewer bytes than the cache holds were brought in after it): the thread's lines were the most
// recent min(working set, capacity) bytes of the private caches, the bytes touched since (the core's fill counter:
// lines brought in, and each thread's working set, which it touches again when it runs) push them down, and those
// pushed past the capacity are gone. So two threads whose working sets together fit the caches evict nothing of each
// other's (Li, Ding and Shen, ExpCS 2007, Figure 1: the indirect cost appears once both arrays exceed the L2).
inline void EngineImpl::refill_working_set(CoreRt& c, Thread& t) {
  if (t.working_set_bytes == 0) return;
  const uint64_t capacity = c.private_cache_bytes;
  const uint64_t resident = std::min<uint64_t>(t.working_set_bytes, capacity);
  // The last-level cache, when other physical cores share it (else it is one of the private caches): a thread that
  // last ran on a core under it (this one included) finds there what its private caches lost, if it fits.
  const Cache* llc = m_.last_level_cache(c.id);
  if (llc && llc->size_bytes <= capacity) llc = nullptr;
  const bool same_llc =
      llc && t.last_core >= 0 && std::find(llc->cores.begin(), llc->cores.end(), t.last_core) != llc->cores.end();
  uint64_t evicted = resident;
  // (With SMT simulated, a context shares its physical core's private caches and their fill counter: a thread that
  // last ran on a sibling finds what the siblings have not evicted since.)
  if (t.last_core >= 0 && cores_[t.last_core]->phys == c.phys) {
    const uint64_t since = c.phys->fill_bytes - t.fill_mark;
    evicted = resident - std::min(resident, capacity - std::min(capacity, since));
  } else if (llc && !same_llc) {  // a first run, or a move away from its last-level cache: what it had there too
    evicted = std::min<uint64_t>(t.working_set_bytes, llc->size_bytes);
  }
  c.phys->fill_bytes += resident;  // its working set is now the most recently used
  if (evicted == 0) return;
  const Cache* line_cache = m_.last_level_cache(c.id);
  const double line = line_cache ? line_cache->line_bytes : 64.0;
  // The refill's loads are independent: up to the core's misses in flight overlap, from the cache or from memory.
  const double per_line_ns =
      (same_llc && evicted <= llc->size_bytes ? llc->hit_latency_cycles / c.hz * 1e9
                                              : memory_latency_ns(m_, c.id, m_.cores[c.id].node)) /
      m_.core_mlp;
  const double s = std::ceil(evicted / line) * per_line_ns * 1e-9;
  c.spend_s(s, Work::User);
  t.stats.refill_s += s;
  count(EngineEvent::CacheRefill);
}

// A kernel model blocked the thread until a reply arrives (synchronous IPC to a server on another core): the
// operation already counted as complete; the thread sleeps until the reply time, like a timed sleep.
inline Step EngineImpl::block_for_reply(CoreRt& c, Thread& t) {
  const double until = std::max(c.block_until_s, c.now_s());
  c.block_until_s = -1;
  c.flush();  // the timer fires on SimGrid's clock
  Step s = block(c, t, c.block_why);
  add_timer({until, seq_++, &t, -2});
  return s;
}

inline void EngineImpl::exit_thread(CoreRt& c, Thread& t) {
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
  // Waking the joiners is the exiting thread's last kernel work (an IPI to another core costs the sender): its life
  // ends after it, or the time would be charged to a thread that no longer lives.
  t.stats.end_s = c.now_s();
  t.state_since_s = t.stats.end_s;
  if (live_threads_ == 0) finish("completed");
}

inline Step EngineImpl::execute(CoreRt& c, Thread& t, double slice_end_s) {
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
      release_placed(r.node_bytes, node_used_bytes_);
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

inline Step EngineImpl::memory_access(CoreRt& c, Thread& t) {
  Op& op = t.op;
  const double t0 = c.now_s();
  Region& r = regions_.at(op.target);
  if (r.node_share.empty()) {
    std::vector<double> want;
    bool bound = r.bind_node >= 0;  // a workload's explicit node binds like a bind policy
    if (bound) {
      want.assign(m_.num_nodes(), 0.0);
      want[r.bind_node] = 1.0;
    } else {
      want = placement_->place(m_, r, t, c.id);
      bound = placement_->binds();
    }
    // Within the nodes' capacity, as Linux's page allocator falls back (models/memory_capacity.hpp).
    Placed placed = place_within_capacity(m_, want, r.bytes, node_used_bytes_, bound);
    if (!placed.error.empty())
      throw InputError(sc_.file, "machine.memory",
                       fmt::format("thread '{}' first touching region {} of process '{}': {}", t.name, r.id,
                                   processes_[r.process].name, placed.error));
    r.node_share = std::move(placed.share);
    r.node_bytes = std::move(placed.bytes);
  }
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
  c.phys->fill_bytes += op.bytes;
  if (op.pattern == AccessPattern::Chase) {
    // Dependent loads: one miss at a time, latency-bound; too little bandwidth to contend, but each load waits behind
    // the streams that saturate its path (loaded latency). A long chase is taken in slices, each at the load of its
    // own time, so that it follows streams that start or end while it runs; a short one, while no stream runs, at
    // once, ahead of SimGrid's clock like other private work.
    constexpr double kSliceLines = 4096;
    double lines = std::ceil(op.bytes / line);
    while (lines > 0) {
      const bool loaded = queues_.active_flows() > 0;
      const double k = loaded || lines > kSliceLines ? std::min(lines, kSliceLines) : lines;
      if (loaded || lines > kSliceLines) c.flush();
      double ns = 0;
      for (int n = 0; n < m_.num_nodes(); ++n) {
        if (r.node_share[n] <= 0) continue;
        const double loads = r.node_share[n] * k, wait = route_wait_s(c.id, n);
        ns += loads * (memory_latency_ns(m_, c.id, n) + wait * 1e9);
        traffic_[n].add_latency_bound_loads(loads, wait);
      }
      c.spend_s(ns * 1e-9, Work::User);
      lines -= k;
    }
  } else {
    // The first line's latency, then the transfer through the core's own link, the memory controllers and the
    // interconnect, shared with every other flow by SimGrid's max-min model; the core's link holds its flows to
    // Little's law over its misses in flight (share_core_window).
    double first = 0;
    for (int n = 0; n < m_.num_nodes(); ++n)
      if (r.node_share[n] > 0) first = std::max(first, memory_latency_ns(m_, c.id, n) * 1e-9);
    c.spend_s(first, Work::User);
    c.flush();
    const double start = sim_clock();
    std::vector<FlowSpec> specs;
    for (int n = 0; n < m_.num_nodes(); ++n) {
      if (r.node_share[n] <= 0) continue;
      auto b = static_cast<uint64_t>(std::llround(op.bytes * r.node_share[n]));
      if (b == 0) continue;
      auto from = platform_.memory[n], to = platform_.cores[c.id];
      if (op.access == AccessKind::Write) std::swap(from, to);
      specs.push_back({from, to, b, memory_latency_ns(m_, c.id, n) * 1e-9});
    }
    move(c, specs);
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

// Page migration (Linux's migrate_pages): change the pages' entries (the page-table work, and the TLB shootdown on the
// cores the process ran on through the kernel architecture's protocol when the old entries may be cached), copy them
// on this core (read from the source node and written to the destination at once, SimGrid flows that contend with
// all other traffic), and remap them (the new entries are written with the same page-table work: not charged twice).
uint64_t EngineImpl::migrate(Cpu& cpu, Thread& t, Region& r, int from, int to, uint64_t pages, bool shootdown) {
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
  const uint64_t held = std::min(bytes, r.node_bytes[from]);  // the region's last page may be partly used
  r.node_bytes[from] -= held;
  r.node_bytes[to] += held;
  node_used_bytes_[from] -= std::min(node_used_bytes_[from], held);
  node_used_bytes_[to] += held;
  kernel_->update_ptes(c, t, pages, shootdown ? tlb_cores(t.process) : std::vector<int>{});
  c.flush();
  const double start = sim_clock();
  move(c, {{platform_.memory[from], platform_.cores[c.id], bytes, memory_latency_ns(m_, c.id, from) * 1e-9},
           {platform_.cores[c.id], platform_.memory[to], bytes, memory_latency_ns(m_, c.id, to) * 1e-9}});
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
  kernel_->update_ptes(c, t, pages, tlb_cores(t.process));
  ++moved_.protection_changes;
  c.count("numa_scan", 1);
  for (auto* o : obs_) o->on_kernel(c.id, "NUMA scan", t0, c.now_s());
}

// Loaded latency (models/link_queues.hpp): memory flows on the links of SimGrid's own routes, and the waits of the
// requests that cross them.
const EngineImpl::FlowRoute& EngineImpl::flow_route(const sg4::Host* from, const sg4::Host* to) {
  auto [it, fresh] = routes_.try_emplace({from, to});
  if (fresh) {
    std::vector<sg4::Link*> links;
    double latency = 0;  // SimGrid's routes carry none (platform.cpp); the engine charges each access's latency
    from->route_to(to, links, &latency);
    for (const sg4::Link* l : links) {
      auto [id, added] = link_ids_.try_emplace(l, -1);
      if (added) id->second = queues_.add_link(l->get_bandwidth());
      it->second.links.push_back(id->second);
    }
  }
  return it->second;
}

void EngineImpl::move(CoreRt& c, const std::vector<FlowSpec>& parts) {
  std::vector<sg4::CommPtr> comms;
  std::vector<int> ids;
  for (const FlowSpec& p : parts) {
    comms.push_back(sg4::Comm::sendto_async(p.from, p.to, p.bytes));
    ids.push_back(queues_.add_flow(flow_route(p.from, p.to).links, flow_window_bytes(m_), p.rtt_s));
    c.phys->window_flows.push_back({ids.back(), static_cast<double>(p.bytes), p.rtt_s});
  }
  share_core_window(*c.phys);
  while (!comms.empty()) {  // each flow leaves the queues, and the core's window, when it ends
    const auto k = static_cast<size_t>(sg4::Comm::wait_any(comms));
    queues_.remove_flow(ids[k]);
    auto& w = c.phys->window_flows;
    w.erase(std::find_if(w.begin(), w.end(), [&](const CoreRt::WindowFlow& f) { return f.id == ids[k]; }));
    share_core_window(*c.phys);
    comms.erase(comms.begin() + static_cast<std::ptrdiff_t>(k));
    ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(k));
  }
}

void EngineImpl::share_core_window(CoreRt& phys) {
  sg4::Link* link = platform_.core_links[phys.id];
  const double own = m_.core_bandwidth_gb_s * 1e9;
  const auto& flows = phys.window_flows;
  std::vector<double> bytes, rtt;
  for (const auto& f : flows) bytes.push_back(f.bytes), rtt.push_back(f.rtt_s);
  const WindowShare share = share_window(flow_window_bytes(m_), bytes, rtt);
  for (size_t i = 0; i < flows.size(); ++i) queues_.set_window(flows[i].id, share.windows[i]);
  // Between accesses the link keeps its last capacity: the next access sets it before any of its bytes move.
  if (share.rate > 0) link->set_bandwidth(std::min(own, share.rate));
}

double EngineImpl::route_wait_s(int core, int node) {
  if (queues_.active_flows() == 0) return 0;
  return queues_.wait_s(flow_route(platform_.memory[node], platform_.cores[core]).links);
}

double EngineImpl::memory_wait_s(int core, int node) {
  const double wait = route_wait_s(core, node);
  traffic_[node].add_latency_bound_loads(1, wait);
  return wait;
}

double EngineImpl::transfer_wait_s(int from_core, int to_core) {
  if (queues_.active_flows() == 0 || m_.cores[from_core].node == m_.cores[to_core].node) return 0;
  return queues_.wait_s(flow_route(platform_.cores[from_core], platform_.cores[to_core]).links);
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
inline Step EngineImpl::coherent_access(CoreRt& c, Thread& t, const Region& r, double line_bytes) {
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
  HomeQueue unordered;
  unordered.set_waits(this);
  const LineAccessCost cost =
      access_lines(m_, std::span(lines).first(n), c.id, op.access == AccessKind::Write,
                   op.pattern == AccessPattern::Chase, home, t0, shared ? c.home_queue(home) : unordered);
  c.spend_s(cost.done_s - t0, Work::User);
  t.stats.bytes_accessed += op.bytes;
  c.phys->fill_bytes += static_cast<uint64_t>((cost.transfers + cost.from_memory) * line_bytes);
  if (cost.from_memory > 0) {  // only the lines no cache held reach the memory controller
    const auto b = static_cast<uint64_t>(cost.from_memory * line_bytes);
    traffic_[home].read_bytes += b;
    (home == m_.cores[c.id].node ? traffic_[home].local_bytes : traffic_[home].remote_bytes) += b;
    for (auto* o : obs_) o->on_memory(c.id, home, b, t0, cost.done_s);
  }
  complete(c, t, t0);
  return Step::Continue;
}

}  // namespace engine_detail
#pragma GCC visibility pop
}  // namespace mksim
