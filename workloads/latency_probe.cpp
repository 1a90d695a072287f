// Idle memory latency matrix, measured the way Intel's Memory Latency Checker does (`mlc --latency_matrix`): a single
// thread on a core of each NUMA node chases pointers through a buffer bound to each node in turn (one dependent load
// per cache line, buffer larger than the last-level cache so that every load misses), with nothing else running; the
// mean time per load is the latency from that node to that memory. Probes run one after another, so the machine is
// idle during each. Reports the node x node matrix the simulated machine delivers, which is how a preset or a hwloc
// import is checked against the published MLC figures it was calibrated from.
#include <memory>

#include "sim/api/param_struct.hpp"
#include "workloads/synthetic.hpp"

namespace mksim {

namespace {

struct LatencyProbeParams {
  std::string source;
  double buffer_bytes = 0;

  static const ParamStruct<LatencyProbeParams>& declare() {
    using P = LatencyProbeParams;
    static const ParamStruct<P> d =
        ParamStruct<P>()
            .bind(&P::source,
                  Field::choice("source", "node", {"node", "core"},
                                "probe from one core per NUMA node, or from every core (adds core_latency_ns)"))
            .unbound(Field::optional(
                "probe_cores", FieldType::NumberList, "core ids",
                "source \"node\": the probing core of each NUMA node, in node order (default: each node's "
                "first core)"))
            .bind(&P::buffer_bytes,
                  Field::number("buffer_bytes", 512.0 * 1048576, "bytes",
                                "buffer chased on each node; must exceed the last-level cache so every load misses")
                      .above(0)
                      .at_most(1125899906842624.0));
    return d;
  }
};

class LatencyProbe final : public Workload {
 public:
  explicit LatencyProbe(const Params& p) : p_(p), v_(LatencyProbeParams::declare().read(p)) {}

  void setup(WorkloadEnv& env) override {
    const Machine& m = env.machine();
    nodes_ = m.num_nodes();
    std::vector<int> probe_cores = choose_cores(m);
    buffer_bytes_ = static_cast<uint64_t>(v_.buffer_bytes);
    for (int core : probe_cores) {
      const Cache* llc = m.last_level_cache(core);
      if (llc && static_cast<double>(buffer_bytes_) <= static_cast<double>(llc->size_bytes))
        p_.fail("buffer_bytes", fmt::format("{} bytes fit in core {}'s last-level cache ({} bytes): the probe must "
                                            "miss in every cache, give a larger buffer",
                                            buffer_bytes_, core, llc->size_bytes));
    }
    uint32_t proc = env.create_process("latency-probe", {});
    std::vector<uint32_t> buffers;
    for (int n = 0; n < nodes_; ++n) buffers.push_back(env.create_region(proc, buffer_bytes_, n));
    state_ = std::make_shared<State>();
    state_->done_s.assign(probe_cores.size(), std::vector<double>(nodes_ + 1, 0.0));
    for (size_t i = 0; i < probe_cores.size(); ++i) {
      int core = probe_cores[i];
      const Cache* llc = m.last_level_cache(core);
      probes_.push_back({core, m.cores[core].node, llc ? llc->line_bytes : 64.0});
      ThreadSpec spec{fmt::format("latency-probe.core{}", core), {core}, m.cores[core].node};
      state_->ids.push_back(env.create_thread(proc, spec, boxed(probe(state_, i, buffers, buffer_bytes_))));
    }
  }

  Metrics metrics(const RunView&) const override {
    std::vector<std::vector<double>> matrix(nodes_, std::vector<double>(nodes_, 0.0));
    std::vector<std::vector<double>> per_core;
    std::vector<int> probes_of_node(nodes_, 0);
    for (size_t i = 0; i < probes_.size(); ++i) {
      const Probe& pr = probes_[i];
      double lines = std::ceil(static_cast<double>(buffer_bytes_) / pr.line_bytes);
      std::vector<double> row(nodes_);
      for (int n = 0; n < nodes_; ++n) row[n] = (state_->done_s[i][n + 1] - state_->done_s[i][n]) / lines * 1e9;
      for (int n = 0; n < nodes_; ++n) matrix[pr.node][n] += row[n];
      ++probes_of_node[pr.node];
      per_core.push_back(row);
    }
    double local = 0, remote = 0;
    int local_n = 0, remote_n = 0;
    for (int a = 0; a < nodes_; ++a) {
      if (probes_of_node[a] == 0) continue;  // a node without cores (memory only): its row stays 0
      for (int n = 0; n < nodes_; ++n) {
        matrix[a][n] /= probes_of_node[a];
        (a == n ? local : remote) += matrix[a][n];
        ++(a == n ? local_n : remote_n);
      }
    }
    Metrics out{{"latency_ns", matrix},
                {"local_latency_ns", local_n ? local / local_n : 0.0},
                {"mean_remote_latency_ns", remote_n ? remote / remote_n : 0.0}};
    if (v_.source == "core") {
      std::vector<double> cores;
      for (const auto& pr : probes_) cores.push_back(pr.core);
      out["core_latency_ns"] = per_core;
      out["probe_cores"] = cores;
    }
    return out;
  }

 private:
  struct State {
    std::vector<uint32_t> ids;                // probe threads, in the order they run
    std::vector<std::vector<double>> done_s;  // [probe][k]: time stamp before node k's chase (k = 0) / after (k + 1)
  };
  struct Probe {
    int core, node;
    double line_bytes;
  };

  std::vector<int> choose_cores(const Machine& m) const {
    std::vector<int> out;
    if (v_.source == "core") {
      if (p_.has("probe_cores"))
        p_.fail("probe_cores", "is for source \"node\"; source \"core\" probes from every core");
      for (int c = 0; c < m.num_cores(); ++c) out.push_back(c);
      return out;
    }
    if (p_.has("probe_cores")) {
      auto given = p_.numbers("probe_cores");
      if (static_cast<int>(given.size()) != m.num_nodes())
        p_.fail("probe_cores", fmt::format("lists {} cores, expected one per NUMA node ({}), in node order",
                                           given.size(), m.num_nodes()));
      for (size_t n = 0; n < given.size(); ++n) {
        int c = checked_core(p_, m, "probe_cores", given[n]);
        if (m.cores[c].node != static_cast<int>(n))
          p_.fail("probe_cores", fmt::format("core {} is on NUMA node {}, but entry {} must be a core of node {}", c,
                                             m.cores[c].node, n, n));
        out.push_back(c);
      }
      return out;
    }
    for (int n = 0; n < m.num_nodes(); ++n)
      for (const Core& c : m.cores)
        if (c.node == n) {
          out.push_back(c.id);
          break;
        }
    return out;
  }

  // Probe i waits for probe i-1 to finish, chases each node's buffer once, then lets probe i+1 run.
  static Program probe(std::shared_ptr<State> st, size_t i, std::vector<uint32_t> buffers, uint64_t bytes) {
    if (i > 0) co_await Op::wait();
    OpResult r = co_await Op::compute(0);  // a time stamp
    st->done_s[i][0] = r.time_s;
    for (size_t n = 0; n < buffers.size(); ++n) {
      r = co_await Op::mem(buffers[n], bytes, AccessPattern::Chase);
      st->done_s[i][n + 1] = r.time_s;
    }
    if (i + 1 < st->ids.size()) co_await Op::wake(st->ids[i + 1]);
  }

  Params p_;
  LatencyProbeParams v_;
  int nodes_ = 0;
  uint64_t buffer_bytes_ = 0;
  std::vector<Probe> probes_;
  std::shared_ptr<State> state_;
};

WorkloadRegistry::Add reg(
    "workload", "latency-probe",
    "idle core-to-memory latency matrix by pointer chasing from each NUMA node (as Intel MLC's latency matrix)",
    LatencyProbeParams::declare().schema(), [](const Params& p) { return std::make_unique<LatencyProbe>(p); });

}  // namespace
}  // namespace mksim
