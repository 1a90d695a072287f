// The engine's end of run (sim/engine_impl.hpp): the results document and the invariants checked on it.
#include <variant>

#include "mksim_version.hpp"
#include "sim/engine_impl.hpp"

namespace mksim {

// The engine's own types, shared by its files and by nothing else: hidden (not exported from the position-independent
// core), so that calls among them stay direct and the compiler may inline them.
#pragma GCC visibility push(hidden)
namespace engine_detail {

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
  for (const auto& [k, v] : m) std::visit([&out, &key = k](const auto& x) { out[key] = x; }, v);
  return out;
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
    memory.push_back(
        {{"node", n},
         {"read_bytes", tr.read_bytes},
         {"write_bytes", tr.write_bytes},
         {"local_bytes", tr.local_bytes},
         {"remote_bytes", tr.remote_bytes},
         {"mean_bandwidth_gb_s", T > 0 ? bytes / T / 1e9 : 0.0},
         {"controller_utilisation", T > 0 ? bytes / bw / T : 0.0},
         {"latency_bound_loads", std::llround(tr.latency_bound_loads)},
         {"mean_load_wait_ns", tr.latency_bound_loads > 0 ? tr.load_wait_s / tr.latency_bound_loads * 1e9 : 0.0}});
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

}  // namespace engine_detail
#pragma GCC visibility pop
}  // namespace mksim
