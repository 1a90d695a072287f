// Memory-streaming threads (STREAM-like, McCalpin 1995): each thread walks its own buffer in chunks; the buffer lives
// on a chosen NUMA node or where the memory policy puts it. Shows local vs remote bandwidth and controller contention.
#include "sim/api/param_struct.hpp"
#include "workloads/common.hpp"

namespace mksim {

namespace {

struct StreamParams {
  int64_t threads = 0;
  double bytes_per_thread = 0, chunk_bytes = 0;
  std::vector<double> node;
  std::string pattern, access;

  static const ParamStruct<StreamParams>& declare() {
    using P = StreamParams;
    static const ParamStruct<P> d =
        ParamStruct<P>()
            .bind(&P::threads, Field::integer("threads", 1, "", "number of threads").at_least(1).at_most(1000000))
            .bind(&P::bytes_per_thread,
                  Field::number("bytes_per_thread", 64.0 * 1048576, "bytes", "bytes each thread streams")
                      .at_least(1)
                      .at_most(1125899906842624.0))
            .bind(&P::chunk_bytes, Field::number("chunk_bytes", 4.0 * 1048576, "bytes", "bytes per memory operation")
                                       .at_least(1)
                                       .at_most(1125899906842624.0))
            .bind(&P::node,
                  Field::numbers(
                      "node", "node ids",
                      "NUMA node of each thread's buffer, thread i on node[i % len] (empty: the memory policy decides)")
                      .at_least(0))
            .bind(&P::pattern,
                  Field::choice("pattern", "sequential", {"sequential", "random", "chase"}, "access pattern"))
            .bind(&P::access, Field::choice("access", "read", {"read", "write"}, "reads or writes"))
            .unbound(cores_field());
    return d;
  }
};

class StreamWorkload final : public Workload {
 public:
  explicit StreamWorkload(const Params& p) : p_(p), v_(StreamParams::declare().read(p)) {}

  void setup(WorkloadEnv& env) override {
    const Machine& m = env.machine();
    int threads = static_cast<int>(v_.threads);
    auto cores = thread_cores(p_, m, threads);
    std::vector<int> nodes;
    for (double n : v_.node) {
      if (n < 0 || n >= m.num_nodes() || n != std::floor(n))  // in range before any cast to int
        p_.fail("node", fmt::format("NUMA node {} does not exist, the machine has nodes 0..{}", n, m.num_nodes() - 1));
      nodes.push_back(static_cast<int>(n));
    }
    AccessPattern pattern;
    parse_access_pattern(v_.pattern, pattern);
    AccessKind access = v_.access == "write" ? AccessKind::Write : AccessKind::Read;
    bytes_ = static_cast<uint64_t>(v_.bytes_per_thread);
    uint64_t chunk = static_cast<uint64_t>(v_.chunk_bytes);
    uint32_t proc = env.create_process("stream", {});
    for (int i = 0; i < threads; ++i) {
      int node = nodes.empty() ? -1 : nodes[static_cast<size_t>(i) % nodes.size()];
      uint32_t region = env.create_region(proc, bytes_, node);
      ThreadSpec spec{fmt::format("stream.{}", i), {cores[i]}, node};
      uint32_t id = env.create_thread(proc, spec, boxed(body(region, bytes_, chunk, pattern, access)));
      if (i == 0) first_ = id;
      last_ = id + 1;
    }
  }

  Metrics metrics(const RunView& run) const override {
    std::vector<double> per_thread;
    double total = 0;
    for (uint32_t i = first_; i < last_; ++i) {
      double d = run.threads[i].end_s - run.threads[i].start_s;
      per_thread.push_back(d > 0 && run.threads[i].finished ? bytes_ / d / 1e9 : 0.0);
      total += bytes_;
    }
    double span = makespan_s(run, first_, last_);
    return {{"bandwidth_gb_s", span > 0 ? total / span / 1e9 : 0.0},
            {"per_thread_bandwidth_gb_s", per_thread},
            {"makespan_s", span}};
  }

 private:
  static Program body(uint32_t region, uint64_t bytes, uint64_t chunk, AccessPattern pattern, AccessKind access) {
    for (uint64_t done = 0; done < bytes; done += chunk)
      co_await Op::mem(region, std::min(chunk, bytes - done), pattern, access);
  }

  Params p_;
  StreamParams v_;
  uint64_t bytes_ = 0;
  uint32_t first_ = 0, last_ = 0;
};

WorkloadRegistry::Add reg("workload", "stream", "memory-streaming threads with their buffers on chosen NUMA nodes",
                          StreamParams::declare().schema(),
                          [](const Params& p) { return std::make_unique<StreamWorkload>(p); });

}  // namespace
}  // namespace mksim
