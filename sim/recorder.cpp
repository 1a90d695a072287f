// The `record` output (`mksim run --record`, run.outputs.record): the run's operation stream in mksim's own trace
// format (OUTDIR/ops.jsonl, sim/ops_format.hpp), which the `ops` workload replays into the same run.
//
// What a replay needs besides the operations is what the workloads created before the run: processes (names, cores),
// threads, memory regions (size, NUMA binding), channels and locks. Observers only see threads (through on_op) and
// memory traffic, so the recorder learns the rest by running the scenario's workload set-ups once more against a
// WorkloadEnv that only takes notes (set-up is deterministic: same machine, same seed). When that is not possible it
// falls back to what the operations show: one process per process id, regions sized by their largest access and bound
// to the one node all their traffic went to, numbered channels and locks.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "sim/api/workload.hpp"
#include "sim/ops_format.hpp"
#include "sim/outputs.hpp"

namespace mksim {

namespace {

constexpr uint32_t kNone = UINT32_MAX;

// A WorkloadEnv that notes what the workloads create.
class NotingEnv final : public WorkloadEnv {
 public:
  NotingEnv(const Machine& m, uint64_t seed) : m_(m), seed_(seed) {}
  const Machine& machine() const override { return m_; }
  uint64_t seed() const override { return seed_; }
  uint32_t create_process(const std::string& name, std::vector<int> cores) override {
    out.processes.push_back({name, std::move(cores)});
    return static_cast<uint32_t>(out.processes.size() - 1);
  }
  uint32_t create_thread(uint32_t process, ThreadSpec spec, std::unique_ptr<OpSource>) override {
    OpsThread t;
    t.name = spec.name.empty() ? fmt::format("{}.{}", out.processes.at(process).name, out.threads.size()) : spec.name;
    t.process = process;
    t.affinity = spec.affinity.empty() ? out.processes.at(process).cores : spec.affinity;
    t.home_node = spec.home_node;
    out.threads.push_back(std::move(t));
    return static_cast<uint32_t>(out.threads.size() - 1);
  }
  uint32_t create_region(uint32_t process, uint64_t bytes, int bind_node) override {
    out.regions.push_back({process, bytes, bind_node, false});
    return static_cast<uint32_t>(out.regions.size() - 1);
  }
  uint32_t create_channel(const std::string& name) override {
    out.channels.push_back(name);
    return static_cast<uint32_t>(out.channels.size() - 1);
  }
  uint32_t create_lock(const std::string& name) override {
    out.locks.push_back(name);
    return static_cast<uint32_t>(out.locks.size() - 1);
  }
  uint32_t create_template(uint32_t process, ThreadSpec spec, std::function<std::unique_ptr<OpSource>()>) override {
    templates.emplace_back(process, std::move(spec));
    return static_cast<uint32_t>(templates.size() - 1);
  }

  OpsTrace out;
  std::vector<std::pair<uint32_t, ThreadSpec>> templates;

 private:
  const Machine& m_;
  uint64_t seed_;
};

class OpsRecorder final : public Observer {
 public:
  OpsRecorder(const Scenario& sc, std::string outdir) : sc_(sc), outdir_(std::move(outdir)) {}

  void on_start(const Machine& m) override {
    pending_.assign(static_cast<size_t>(m.num_cores()), {});
    try {
      NotingEnv env(m, sc_.run.seed);
      for (const auto& w : sc_.workloads) WorkloadRegistry::instance().find(w.kind)->make(w.params)->setup(env);
      setup_ = std::move(env.out);
      templates_ = std::move(env.templates);
      have_setup_ = true;
    } catch (const std::exception&) {
      have_setup_ = false;  // fall back to what the operations show
    }
  }

  void on_memory(int core, int node, uint64_t bytes, double, double) override {
    if (static_cast<size_t>(core) < pending_.size()) pending_[core].emplace_back(node, bytes);
  }

  void on_op(int core, const Thread& t, const Op& op, double, double) override {
    if (!seen_.count(t.id)) seen_[t.id] = {t.name, t.process, t.affinity, t.home_node, false};
    RecordedOp r{t.id, op, 0};
    switch (op.kind) {
      case OpKind::Spawn: {
        const auto child = static_cast<uint32_t>(t.last_result.value);
        r.op.target = child;
        spawned_from_template_[child] = op.target;
        break;
      }
      case OpKind::Alloc:
        r.region = static_cast<uint32_t>(t.last_result.value);
        allocated_[r.region] = {t.process, op.bytes, -1, true};
        break;
      case OpKind::MemAccess:
      case OpKind::Free: {
        auto& use = used_regions_[op.target];
        use.process = t.process;
        use.bytes = std::max(use.bytes, op.bytes);
        if (op.kind == OpKind::MemAccess && static_cast<size_t>(core) < pending_.size()) {
          for (const auto& [node, bytes] : pending_[core]) use.nodes[node] += bytes;
          pending_[core].clear();
        }
        break;
      }
      case OpKind::Send:
      case OpKind::Recv:
        channels_ = std::max(channels_, op.target + 1);
        break;
      case OpKind::Lock:
      case OpKind::Unlock:
        locks_ = std::max(locks_, op.target + 1);
        break;
      default:
        break;
    }
    ops_.push_back(r);
  }

  void on_end(double sim_time_s) override {
    OpsTrace t = have_setup_ ? std::move(setup_) : OpsTrace{};
    t.sim_time_s = sim_time_s;
    infer_setup(t);
    // Threads: what the run showed wins over the set-up's notes (names of unnamed threads, spawned threads).
    uint32_t threads = static_cast<uint32_t>(t.threads.size());
    for (const auto& [id, th] : seen_) threads = std::max(threads, id + 1);
    for (const auto& [child, tmpl] : spawned_from_template_) threads = std::max(threads, child + 1);
    t.threads.resize(threads);
    for (uint32_t id = 0; id < threads; ++id) {
      OpsThread& th = t.threads[id];
      if (auto s = spawned_from_template_.find(id); s != spawned_from_template_.end()) {
        th.spawned = true;
        if (s->second < templates_.size()) {
          const auto& [proc, spec] = templates_[s->second];
          th.process = proc;
          th.affinity = spec.affinity.empty() && proc < t.processes.size() ? t.processes[proc].cores : spec.affinity;
          th.home_node = spec.home_node;
          th.name = spec.name;
        }
      }
      if (auto s = seen_.find(id); s != seen_.end()) {
        th.name = s->second.name;
        th.process = s->second.process;
        th.affinity = s->second.affinity;
        th.home_node = s->second.home_node;
      }
      if (th.name.empty()) th.name = fmt::format("thread.{}", id);
      while (th.process >= t.processes.size())
        t.processes.push_back({fmt::format("process.{}", t.processes.size()), {}});
    }
    // Regions made at run time follow the set-up's.
    for (const auto& [id, r] : allocated_) {
      if (id >= t.regions.size()) t.regions.resize(id + 1);
      t.regions[id] = r;
    }
    t.ops = std::move(ops_);
    std::filesystem::create_directories(outdir_);
    const std::string path = (std::filesystem::path(outdir_) / "ops.jsonl").string();
    std::ofstream out(path, std::ios::binary);
    if (!out) throw InputError(path, "", "cannot write the operation recording");
    write_ops_trace(out, t);
  }

 private:
  struct RegionUse {
    uint32_t process = 0;
    uint64_t bytes = 0;
    std::map<int, uint64_t> nodes;  // bytes moved from/to each NUMA node
  };

  // What the set-up's notes lack (all of it when there are none): regions, channels and locks from the operations
  // that use them.
  void infer_setup(OpsTrace& t) {
    const size_t declared = t.regions.size();
    uint32_t regions = static_cast<uint32_t>(declared);
    for (const auto& [id, use] : used_regions_) regions = std::max(regions, id + 1);
    t.regions.resize(regions, OpsRegion{0, 1, -1, false});
    for (const auto& [id, use] : used_regions_) {
      if (id < declared || allocated_.count(id)) continue;
      OpsRegion& r = t.regions[id];
      r.process = use.process;
      r.bytes = std::max<uint64_t>(use.bytes, 1);
      r.node = use.nodes.size() == 1 ? use.nodes.begin()->first : -1;
      while (r.process >= t.processes.size())
        t.processes.push_back({fmt::format("process.{}", t.processes.size()), {}});
    }
    while (t.channels.size() < channels_) t.channels.push_back(fmt::format("channel.{}", t.channels.size()));
    while (t.locks.size() < locks_) t.locks.push_back(fmt::format("lock.{}", t.locks.size()));
  }

  const Scenario& sc_;
  std::string outdir_;
  bool have_setup_ = false;
  OpsTrace setup_;
  std::vector<std::pair<uint32_t, ThreadSpec>> templates_;
  std::map<uint32_t, OpsThread> seen_;
  std::map<uint32_t, uint32_t> spawned_from_template_;  // child thread -> template
  std::map<uint32_t, OpsRegion> allocated_;
  std::map<uint32_t, RegionUse> used_regions_;
  std::vector<std::vector<std::pair<int, uint64_t>>> pending_;  // on_memory reports waiting for their on_op, by core
  uint32_t channels_ = 0, locks_ = 0;
  std::vector<RecordedOp> ops_;
};

AddOutput reg({"record", "ops.jsonl", "the operation stream, ops.jsonl", "the operation stream", "see docs/traces.md"},
              "the run's operation stream in mksim's trace format (ops.jsonl)",
              [](const Params&, const Scenario& sc, const std::string& outdir) {
                return std::make_unique<OpsRecorder>(sc, outdir);
              });

}  // namespace
}  // namespace mksim
