// The engine's start (sim/engine_impl.hpp): the models built from the scenario, the workloads set up, SimGrid
// started with one actor per core; and the engine's entry points (sim/engine.hpp).
#include <algorithm>
#include <cstdlib>

#include "sim/api/agreement.hpp"
#include "sim/engine_impl.hpp"

namespace mksim {

// The engine's own types, shared by its files and by nothing else: hidden (not exported from the position-independent
// core), so that calls among them stay direct and the compiler may inline them.
#pragma GCC visibility push(hidden)
namespace engine_detail {

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
  node_used_bytes_.assign(m_.num_nodes(), 0);
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
  configure_simgrid();
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
  if (m_.smt.on) {  // contexts of one physical core: the first keeps their shared fill counter (docs/smt.md)
    std::vector<CoreRt*> first(m_.physical_cores(), nullptr);
    for (auto& c : cores_) {
      CoreRt*& f = first[m_.physical_core(c->id)];
      if (!f) f = c.get();
      c->phys = f;
      c->smt = &m_.smt;
    }
    for (auto& c : cores_)
      for (auto& s : cores_)
        if (s != c && s->phys == c->phys) c->siblings.push_back(s.get());
  }
  for (auto& c : cores_)
    for (int ci : m_.cores[c->id].caches) {
      const Cache& k = m_.caches[ci];
      if (std::all_of(k.cores.begin(), k.cores.end(), [&](int x) { return cores_[x]->phys == c->phys; }))
        c->private_cache_bytes = std::max(c->private_cache_bytes, k.size_bytes);
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

}  // namespace engine_detail
#pragma GCC visibility pop

using engine_detail::EngineImpl;

RunResults simulate(const Scenario& sc, const std::vector<Observer*>& observers) {
  EngineImpl impl(sc, observers);
  return impl.run();
}

void validate_scenario(const Scenario& sc) {
  EngineImpl impl(sc, {});
  impl.prepare();
}

}  // namespace mksim
