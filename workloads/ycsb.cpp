// YCSB core workloads A-F (Cooper et al., "Benchmarking cloud serving systems with YCSB", SoCC 2010, and the core
// workload definitions of its distribution) against an in-memory B-link tree (Lehman & Yao, TODS 1981) holding the
// records, run as one or several independent instances (processes) on the same or on disjoint cores.
//
// What an operation costs: a lookup descends the tree's depth, one node per level: the upper levels that fit in the
// last-level cache cost a cache hit each, every level below one dependent memory miss (a pointer chase over the
// tree's memory), plus a key search in each node; reading a record streams its bytes from the record store. An update
// is a lookup, then the leaf's latch (a user-level lock; leaves are striped over `leaf_locks` latches), the write of
// one field, and the unlock; an insert writes a whole record under the leaf latch and splits a leaf every fanout/2
// inserts; a scan reads consecutive leaves and their records. Keys follow YCSB's scrambled Zipfian distribution (Gray
// et al., "Quickly generating billion-record synthetic databases", SIGMOD 1994), or "latest" for workload D.
//
// Where the memory is: each instance's tree and its record store are two regions with no loader thread; the memory
// policy places each when a client first touches it, whole. Under first-touch (the default) that is the node of the
// core running the instance's first operation: its first client (ycsb.N.0, started first, on the instance's first
// core), so one instance spread over two sockets has all its data on the first socket's node and the other socket's
// clients make remote accesses. `kernel.memory_policy: interleave` spreads both regions over the nodes instead.
#include <cmath>
#include <memory>

#include "sim/api/param_struct.hpp"
#include "workloads/synthetic.hpp"

namespace mksim {

namespace {

struct YcsbParams {
  std::string mix, instance_placement;
  int64_t record_count = 0, fanout = 0, cached_levels = 0, record_bytes = 0, value_bytes = 0, scan_length_max = 0,
          leaf_locks = 0, instances = 0, cores_per_instance = 0, threads_per_instance = 0, first_core = 0;
  double zipf_theta = 0, op_cycles = 0, node_cycles = 0, duration_s = 0;

  static const ParamStruct<YcsbParams>& declare() {
    using P = YcsbParams;
    static const ParamStruct<P> d =
        ParamStruct<P>()
            .bind(&P::mix,
                  Field::choice(
                      "mix", "A", {"A", "B", "C", "D", "E", "F"},
                      "YCSB core workload: A 50/50 read/update, B 95/5 read/update, C read only, D read latest + 5% "
                      "inserts, E short scans + 5% inserts, F read-modify-write"))
            .bind(&P::record_count, Field::integer("record_count", 1000000, "", "records loaded in the tree")
                                        .at_least(1)
                                        .at_most(1000000000000))
            .bind(&P::fanout, Field::integer("fanout", 32, "", "keys per tree node").at_least(2).at_most(65536))
            .bind(&P::zipf_theta,
                  Field::number("zipf_theta", 0.99, "", "Zipfian skew of the keys (YCSB: 0.99; 0: uniform)")
                      .at_least(0)
                      .at_most(0.999))
            .bind(&P::cached_levels,
                  Field::integer("cached_levels", -1, "",
                                 "upper tree levels served by the last-level cache (-1: as many as fit in it)")
                      .at_least(-1))
            .bind(&P::record_bytes,
                  Field::integer("record_bytes", 1000, "bytes", "record size (YCSB: 10 fields of 100 bytes)")
                      .at_least(1)
                      .at_most(1073741824))
            .bind(&P::value_bytes, Field::integer("value_bytes", 100, "bytes", "bytes an update writes (one field)")
                                       .at_least(1)
                                       .at_most(1073741824))
            .bind(&P::scan_length_max,
                  Field::integer("scan_length_max", 100, "", "longest scan (lengths are uniform from 1)")
                      .at_least(1)
                      .at_most(1000000000))
            .bind(&P::op_cycles,
                  Field::number("op_cycles", 1000, "cycles", "request handling per operation besides the tree")
                      .at_least(0))
            .bind(&P::node_cycles,
                  Field::number("node_cycles", 40, "cycles", "key search inside one tree node").at_least(0))
            .bind(&P::leaf_locks, Field::integer("leaf_locks", 1024, "",
                                                 "latches the leaves are striped over (leaf i uses latch i mod this)")
                                      .at_least(1)
                                      .at_most(1000000))
            .bind(&P::instances,
                  Field::integer("instances", 1, "", "independent instances, each a process with its own tree")
                      .at_least(1)
                      .at_most(65536))
            .bind(&P::instance_placement,
                  Field::choice("instance_placement", "disjoint-cores", {"disjoint-cores", "same-cores"},
                                "every instance on its own cores, or all instances on the same cores"))
            .bind(&P::cores_per_instance, Field::integer("cores_per_instance", 4, "", "cores each instance may run on")
                                              .at_least(1)
                                              .at_most(65536))
            .bind(&P::threads_per_instance,
                  Field::integer("threads_per_instance", 0, "", "client threads per instance (0: one per core)")
                      .at_least(0)
                      .at_most(65536))
            .bind(&P::first_core, Field::integer("first_core", 0, "core id", "the instances' cores start here")
                                      .at_least(0)
                                      .at_most(65535))
            .bind(&P::duration_s, Field::number("duration_s", 0.02, "s", "simulated time the clients run").above(0));
    return d;
  }
};

// Zipfian ranks in [0, n), rank 0 the most popular, P(rank i) proportional to 1 / (i + 1)^theta (theta in [0, 1)).
// Gray et al.'s constant-time method; an exact table for small n, where that method is coarse.
class Zipfian {
 public:
  Zipfian(uint64_t n, double theta) : n_(n), theta_(theta) {
    if (theta_ <= 0 || n_ < 2) return;
    if (n_ <= kTable) {
      double sum = 0;
      for (uint64_t i = 0; i < n_; ++i) cdf_.push_back(sum += std::pow(static_cast<double>(i + 1), -theta_));
      for (double& c : cdf_) c /= sum;
      return;
    }
    zeta_n_ = zeta(n_, theta_);
    alpha_ = 1.0 / (1.0 - theta_);
    eta_ = (1.0 - std::pow(2.0 / static_cast<double>(n_), 1.0 - theta_)) / (1.0 - zeta(2, theta_) / zeta_n_);
  }

  uint64_t next(Rng& rng) const {
    if (n_ < 2) return 0;
    if (theta_ <= 0) return rng.below(n_);
    const double u = rng.uniform();
    if (!cdf_.empty()) return static_cast<uint64_t>(std::upper_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
    const double uz = u * zeta_n_;
    if (uz < 1.0) return 0;
    if (uz < 1.0 + std::pow(0.5, theta_)) return 1;
    auto rank = static_cast<uint64_t>(static_cast<double>(n_) * std::pow(eta_ * u - eta_ + 1.0, alpha_));
    return std::min(rank, n_ - 1);
  }

 private:
  static constexpr uint64_t kTable = 4096;
  // sum_{i=1..n} i^-theta: exactly for the first million terms, the rest by the integral with the midpoint rule.
  static double zeta(uint64_t n, double theta) {
    const uint64_t exact = std::min<uint64_t>(n, 1000000);
    double s = 0;
    for (uint64_t i = 1; i <= exact; ++i) s += std::pow(static_cast<double>(i), -theta);
    if (n > exact)
      s += (std::pow(static_cast<double>(n) + 0.5, 1.0 - theta) -
            std::pow(static_cast<double>(exact) + 0.5, 1.0 - theta)) /
           (1.0 - theta);
    return s;
  }

  uint64_t n_;
  double theta_;
  double zeta_n_ = 0, alpha_ = 0, eta_ = 0;
  std::vector<double> cdf_;
};

// YCSB scrambles Zipfian ranks with a hash, so the popular keys are spread over the key space (and the tree).
uint64_t scramble(uint64_t rank, uint64_t n) {
  uint64_t h = rank + 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return (h ^ (h >> 31)) % n;
}

enum class YcsbOp : uint8_t { Read, Update, Insert, Scan, ReadModifyWrite };

struct Mix {
  double read, update, insert, scan, rmw;
  bool latest;  // keys skewed towards the most recently inserted (workload D)
};

Mix mix_of(const std::string& name) {
  // Cooper et al. 2010, Table 2 and the core workload files.
  if (name == "A") return {0.50, 0.50, 0, 0, 0, false};  // update heavy
  if (name == "B") return {0.95, 0.05, 0, 0, 0, false};  // read mostly
  if (name == "C") return {1.00, 0, 0, 0, 0, false};     // read only
  if (name == "D") return {0.95, 0, 0.05, 0, 0, true};   // read latest
  if (name == "E") return {0, 0, 0.05, 0.95, 0, false};  // short ranges
  return {0.50, 0, 0, 0, 0.50, false};                   // F: read-modify-write
}

struct Tree {
  uint64_t records = 0, fanout = 2;
  int depth = 1;          // levels, leaves included
  int cached_levels = 0;  // upper levels served by the last-level cache
  double line_bytes = 64, node_bytes = 0, llc_hit_cycles = 0;
};

struct Costs {
  double op_cycles, node_cycles;
  uint64_t record_bytes, value_bytes, scan_length_max;
  double duration_s;
};

// One instance: a process with its tree, record store, leaf latches and insert counter.
struct Instance {
  uint32_t tree_region = 0, record_region = 0;
  std::vector<uint32_t> latches;
  uint64_t inserted = 0;  // records inserted so far (keys record_count, record_count + 1, ...)
  uint64_t ops = 0;       // operations completed before the deadline
};

class Ycsb final : public Workload {
 public:
  explicit Ycsb(const Params& p) : p_(p), v_(YcsbParams::declare().read(p)) {}

  void setup(WorkloadEnv& env) override {
    const Machine& m = env.machine();
    const int instances = static_cast<int>(v_.instances);
    const int per = static_cast<int>(v_.cores_per_instance);
    int threads = static_cast<int>(v_.threads_per_instance);
    if (threads == 0) threads = per;
    const int first = static_cast<int>(v_.first_core);
    const bool disjoint = v_.instance_placement == "disjoint-cores";
    if (disjoint)
      consecutive_cores(p_, m, "cores_per_instance", first, instances * per,
                        fmt::format("{} instances on disjoint sets of {} cores", instances, per));
    else
      consecutive_cores(p_, m, "cores_per_instance", first, per, fmt::format("instances of {} cores", per));

    mix_ = mix_of(v_.mix);
    tree_.records = static_cast<uint64_t>(v_.record_count);
    tree_.fanout = static_cast<uint64_t>(v_.fanout);
    const Cache* llc = m.last_level_cache(first);
    tree_.line_bytes = llc ? llc->line_bytes : 64.0;
    tree_.llc_hit_cycles = llc ? llc->hit_latency_cycles : 0.0;
    tree_.node_bytes = static_cast<double>(tree_.fanout) * 16;  // 8-byte keys and 8-byte pointers
    // Levels from the leaves up: leaves hold `fanout` records each, inner nodes `fanout` children.
    std::vector<double> level_nodes;
    for (double n = std::ceil(static_cast<double>(tree_.records) / tree_.fanout);; n = std::ceil(n / tree_.fanout)) {
      level_nodes.push_back(n);
      if (n <= 1) break;
    }
    tree_.depth = static_cast<int>(level_nodes.size());
    if (v_.cached_levels >= 0) {
      tree_.cached_levels = static_cast<int>(std::min<int64_t>(v_.cached_levels, tree_.depth));
    } else {
      // Top levels whose nodes all fit in the last-level cache together.
      double bytes = 0;
      const double llc_bytes = llc ? static_cast<double>(llc->size_bytes) : 0.0;
      for (auto it = level_nodes.rbegin(); it != level_nodes.rend(); ++it) {
        bytes += *it * tree_.node_bytes;
        if (bytes > llc_bytes) break;
        ++tree_.cached_levels;
      }
    }
    costs_ = {v_.op_cycles,
              v_.node_cycles,
              static_cast<uint64_t>(v_.record_bytes),
              static_cast<uint64_t>(v_.value_bytes),
              static_cast<uint64_t>(v_.scan_length_max),
              v_.duration_s};
    if (costs_.value_bytes > costs_.record_bytes)
      p_.fail("value_bytes", fmt::format("{} is more than record_bytes ({}): an update writes one field of a record",
                                         costs_.value_bytes, costs_.record_bytes));
    zipf_ = std::make_shared<Zipfian>(tree_.records, v_.zipf_theta);

    double tree_bytes = 0;
    for (double n : level_nodes) tree_bytes += n * tree_.node_bytes;
    const auto latches = static_cast<int>(v_.leaf_locks);
    for (int i = 0; i < instances; ++i) {
      std::vector<int> cores;
      const int base = disjoint ? first + i * per : first;
      for (int c = 0; c < per; ++c) cores.push_back(base + c);
      uint32_t proc = env.create_process(fmt::format("ycsb.{}", i), cores);
      auto inst = std::make_shared<Instance>();
      inst->tree_region = env.create_region(proc, static_cast<uint64_t>(tree_bytes));
      inst->record_region = env.create_region(proc, tree_.records * costs_.record_bytes);
      for (int l = 0; l < latches; ++l) inst->latches.push_back(env.create_lock(fmt::format("ycsb.{}.leaf{}", i, l)));
      for (int t = 0; t < threads; ++t)
        env.create_thread(proc, {fmt::format("ycsb.{}.{}", i, t), {}, -1},
                          boxed(client(inst, tree_, costs_, mix_, zipf_, env.seed(),
                                       stream_name(p_, fmt::format("instance{}.thread{}", i, t)))));
      instances_.push_back(inst);
    }
  }

  Metrics metrics(const RunView&) const override {
    std::vector<double> per;
    double total = 0;
    for (const auto& inst : instances_) {
      per.push_back(static_cast<double>(inst->ops) / costs_.duration_s);
      total += per.back();
    }
    return {{"ops_per_s", total},
            {"ops_per_s_per_instance", per},
            {"tree_depth", static_cast<double>(tree_.depth)},
            {"cached_levels", static_cast<double>(tree_.cached_levels)}};
  }

 private:
  static YcsbOp pick(const Mix& mx, double u) {
    if ((u -= mx.read) < 0) return YcsbOp::Read;
    if ((u -= mx.update) < 0) return YcsbOp::Update;
    if ((u -= mx.insert) < 0) return YcsbOp::Insert;
    if ((u -= mx.scan) < 0) return YcsbOp::Scan;
    return mx.rmw > 0 ? YcsbOp::ReadModifyWrite : YcsbOp::Read;
  }

  // Runs operations until the instance's deadline (`duration_s` of simulated time from the start of the run).
  static Program client(std::shared_ptr<Instance> in, Tree tree, Costs c, Mix mx, std::shared_ptr<const Zipfian> zipf,
                        uint64_t seed, std::string stream) {
    Rng rng(seed, stream);
    const int misses = tree.depth - tree.cached_levels;
    const double lookup_cycles = c.op_cycles + tree.depth * c.node_cycles + tree.cached_levels * tree.llc_hit_cycles;
    const auto line = static_cast<uint64_t>(tree.line_bytes);
    for (;;) {
      const YcsbOp op = pick(mx, rng.uniform());
      const uint64_t all = tree.records + in->inserted;
      uint64_t key;
      if (op == YcsbOp::Insert) {
        key = all;
        ++in->inserted;
      } else if (mx.latest) {
        key = all - 1 - std::min(zipf->next(rng), all - 1);
      } else {
        key = scramble(zipf->next(rng), tree.records);
      }
      const uint32_t latch = in->latches[(key / tree.fanout) % in->latches.size()];
      OpResult r = co_await Op::compute(lookup_cycles);
      if (misses > 0) r = co_await Op::mem(in->tree_region, misses * line, AccessPattern::Chase);
      switch (op) {
        case YcsbOp::Read:
          r = co_await Op::mem(in->record_region, c.record_bytes, AccessPattern::Random);
          break;
        case YcsbOp::ReadModifyWrite:
          co_await Op::mem(in->record_region, c.record_bytes, AccessPattern::Random);
          [[fallthrough]];
        case YcsbOp::Update:
          co_await Op::lock(latch);
          co_await Op::mem(in->record_region, c.value_bytes, AccessPattern::Random, AccessKind::Write);
          r = co_await Op::unlock(latch);
          break;
        case YcsbOp::Insert:
          co_await Op::lock(latch);
          co_await Op::mem(in->record_region, c.record_bytes, AccessPattern::Random, AccessKind::Write);
          if (key % std::max<uint64_t>(1, tree.fanout / 2) == 0)  // a leaf split: write the new sibling node
            co_await Op::mem(in->tree_region, static_cast<uint64_t>(tree.node_bytes), AccessPattern::Sequential,
                             AccessKind::Write);
          r = co_await Op::unlock(latch);
          break;
        case YcsbOp::Scan: {
          const uint64_t length = 1 + rng.below(c.scan_length_max);
          const uint64_t leaves = (length + tree.fanout - 1) / tree.fanout;
          if (leaves > 1) co_await Op::mem(in->tree_region, (leaves - 1) * line, AccessPattern::Chase);
          r = co_await Op::mem(in->record_region, length * c.record_bytes, AccessPattern::Sequential);
          break;
        }
      }
      if (r.time_s > c.duration_s) break;
      ++in->ops;
    }
  }

  Params p_;
  YcsbParams v_;
  Mix mix_{};
  Tree tree_;
  Costs costs_{};
  std::shared_ptr<const Zipfian> zipf_;
  std::vector<std::shared_ptr<Instance>> instances_;
};

WorkloadRegistry::Add reg(
    "workload", "ycsb",
    "YCSB workloads A-F on an in-memory B-link tree, as one or several instances on shared or disjoint cores; an "
    "instance's tree and records are placed, whole, by the memory policy when first touched (first-touch: on the node "
    "of its first client's core, ycsb.N.0; interleave spreads them)",
    YcsbParams::declare().schema(), [](const Params& p) { return std::make_unique<Ycsb>(p); });

}  // namespace
}  // namespace mksim
