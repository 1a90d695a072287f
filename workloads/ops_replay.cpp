// The workload `ops` that replays mksim's own operation trace (sim/ops_format.hpp): the recorded processes, threads,
// regions, channels and locks are created again in the same order, so that they get the same ids, and each thread
// issues its recorded operations one by one. Spawned threads become one thread template each; regions made by alloc
// operations and threads started by spawn operations get their engine ids when those operations complete.
#include "workloads/ops_replay.hpp"

#include <filesystem>
#include <set>

#include "sim/api/param_struct.hpp"
#include "sim/input.hpp"
#include "workloads/common.hpp"

namespace mksim {

namespace {

struct OpsReplayParams {
  std::string affinity;

  static const ParamStruct<OpsReplayParams>& declare() {
    using P = OpsReplayParams;
    static const ParamStruct<P> d =
        ParamStruct<P>()
            .unbound(Field::optional("file", FieldType::String, "", "ops trace, relative to the config's folder"))
            .bind(&P::affinity,
                  Field::choice(
                      "affinity", "recorded", {"recorded", "wrap", "free"},
                      "recorded: cores and NUMA nodes as recorded (they must exist); wrap: core i -> i mod cores, "
                      "node n -> n mod nodes; free: drop pinning and memory binding"));
    return d;
  }
};

constexpr uint32_t kNone = UINT32_MAX;
}  // namespace

bool OpsReplaySource::next(const OpResult& last, Op& out) {
  if (pos_ > 0 && polls_ == 0) {  // what the previous operation made
    const RecordedOp& prev = (*ops_)[indexes_[pos_ - 1]];
    if (prev.op.kind == OpKind::Spawn) ids_->thread[prev.op.target] = static_cast<uint32_t>(last.value);
    if (prev.op.kind == OpKind::Alloc) ids_->region[prev.region] = static_cast<uint32_t>(last.value);
  }
  while (pos_ < indexes_.size()) {
    const RecordedOp& r = (*ops_)[indexes_[pos_]];
    out = r.op;
    const std::vector<uint32_t>* ids = nullptr;
    switch (r.op.kind) {
      case OpKind::MemAccess:
      case OpKind::Free:
        ids = &ids_->region;
        break;
      case OpKind::Send:
      case OpKind::Recv:
        ids = &ids_->channel;
        break;
      case OpKind::Lock:
      case OpKind::Unlock:
        ids = &ids_->lock;
        break;
      case OpKind::Join:
      case OpKind::Wake:
        ids = &ids_->thread;
        break;
      case OpKind::Spawn:
        ids = &ids_->template_of_thread;
        break;
      default:
        break;
    }
    if (ids && (*ids)[r.op.target] == kNone) {
      if (polls_ < kMaxPolls) {  // made by another thread that has not got there yet
        ++polls_;
        ++ids_->waits_for_maker;
        out = Op::sleep(kPollSeconds);
        return true;
      }
      ++ids_->dropped;
      polls_ = 0;
      ++pos_;
      continue;
    }
    if (ids) out.target = (*ids)[r.op.target];
    polls_ = 0;
    ++pos_;
    return true;
  }
  return false;
}

namespace {

class OpsReplayWorkload final : public Workload {
 public:
  explicit OpsReplayWorkload(const Params& p) : p_(p), v_(OpsReplayParams::declare().read(p)) {}

  void setup(WorkloadEnv& env) override {
    if (!p_.has("file") || p_.text("file").empty()) p_.fail("file", "missing, expected the path of an ops trace");
    const std::string path = p_.input_path("file");
    OpsTrace t;
    try {
      t = read_ops_trace_file(path);
    } catch (const InputFileError& e) {
      p_.fail("file", fmt::format("'{}': {} (looked for {}; a relative path starts at the config's folder)",
                                  p_.text("file"), e.reason(), path));
    }
    const Machine& m = env.machine();
    const std::string mode = v_.affinity;
    auto core = [&](int c, const std::string& whose) {
      if (mode == "wrap") return c % m.num_cores();
      if (c >= m.num_cores())
        p_.fail("affinity", fmt::format("{} ({}) names core {}, but the machine has cores 0..{}: use affinity 'wrap' "
                                        "or 'free' to replay it on a smaller machine",
                                        whose, path, c, m.num_cores() - 1));
      return c;
    };
    auto cores = [&](const std::vector<int>& cs, const std::string& whose) {
      std::set<int> out;
      if (mode != "free")
        for (int c : cs) out.insert(core(c, whose));
      return std::vector<int>(out.begin(), out.end());
    };
    auto node = [&](int n, const std::string& whose) {
      if (n < 0 || mode == "free") return -1;
      if (mode == "wrap") return n % m.num_nodes();
      if (n >= m.num_nodes())
        p_.fail("affinity", fmt::format("{} ({}) is bound to NUMA node {}, but the machine has nodes 0..{}", whose,
                                        path, n, m.num_nodes() - 1));
      return n;
    };

    auto ids = ids_ = std::make_shared<OpsReplayIds>();
    ids->thread.assign(t.threads.size(), kNone);
    ids->region.assign(t.regions.size(), kNone);
    ids->template_of_thread.assign(t.threads.size(), kNone);
    std::vector<uint32_t> procs;
    for (const auto& p : t.processes) procs.push_back(env.create_process(p.name, cores(p.cores, "process " + p.name)));
    for (size_t i = 0; i < t.regions.size(); ++i) {
      const OpsRegion& r = t.regions[i];
      if (!r.allocated)
        ids->region[i] = env.create_region(procs[r.process], r.bytes, node(r.node, fmt::format("region {}", i)));
    }
    for (const auto& c : t.channels) ids->channel.push_back(env.create_channel(c));
    for (const auto& l : t.locks) ids->lock.push_back(env.create_lock(l));

    std::vector<std::vector<uint32_t>> per_thread(t.threads.size());
    for (uint32_t i = 0; i < t.ops.size(); ++i) per_thread[t.ops[i].thread].push_back(i);
    auto ops = std::make_shared<const std::vector<RecordedOp>>(std::move(t.ops));
    ops_ = ops->size();
    first_ = kNone;
    for (size_t i = 0; i < t.threads.size(); ++i) {
      const OpsThread& th = t.threads[i];
      ThreadSpec spec{th.name, cores(th.affinity, "thread " + th.name), node(th.home_node, "thread " + th.name)};
      if (th.spawned) {
        ++spawned_;
        ids->template_of_thread[i] = env.create_template(procs[th.process], spec, [ops, idx = per_thread[i], ids] {
          return std::make_unique<OpsReplaySource>(ops, idx, ids);
        });
      } else {
        ids->thread[i] =
            env.create_thread(procs[th.process], spec, std::make_unique<OpsReplaySource>(ops, per_thread[i], ids));
        first_ = std::min(first_, ids->thread[i]);
        last_ = std::max(last_, ids->thread[i] + 1);
      }
    }
    if (first_ == kNone) first_ = last_ = 0;
    recorded_sim_time_s_ = t.sim_time_s;
  }

  Metrics metrics(const RunView& run) const override {
    return {{"threads", static_cast<double>(last_ - first_)},
            {"spawned_threads", static_cast<double>(spawned_)},
            {"ops", static_cast<double>(ops_)},
            {"recorded_sim_time_s", recorded_sim_time_s_},
            {"replay_makespan_s", makespan_s(run, first_, last_)},
            {"polls_for_spawn_or_alloc", static_cast<double>(ids_->waits_for_maker)},
            {"dropped_ops", static_cast<double>(ids_->dropped)}};
  }

 private:
  Params p_;
  OpsReplayParams v_;
  uint32_t first_ = 0, last_ = 0;
  size_t ops_ = 0, spawned_ = 0;
  double recorded_sim_time_s_ = 0;
  std::shared_ptr<OpsReplayIds> ids_;
};

WorkloadRegistry::Add reg("workload", "ops",
                          "replays mksim's own operation trace (ops.jsonl, as `mksim run --record` writes it)",
                          OpsReplayParams::declare().schema(),
                          [](const Params& p) { return std::make_unique<OpsReplayWorkload>(p); });

}  // namespace
}  // namespace mksim
