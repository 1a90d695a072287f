// Unmap latency of a shared address space (Baumann et al., "The Multikernel", SOSP 2009, the TLB-shootdown case study
// and Figure 7): threads of one process run on k cores, so that every one of those cores may cache the process's
// translations; one thread then maps and unmaps pages again and again, and each unmap must invalidate them in every
// such core's TLB (an IPI broadcast in a monolithic kernel, messages to per-core monitors in a multikernel). The other
// threads first run on their cores and then wait, idle, until the measurements are done. Reports the mean unmap
// latency in cycles of the unmapping core.
#include <memory>

#include "sim/api/param_struct.hpp"
#include "workloads/synthetic.hpp"

namespace mksim {

namespace {

struct UnmapParams {
  int64_t cores = 0, first_core = 0, pages = 0, iterations = 0;
  double helper_cycles = 0;

  static const ParamStruct<UnmapParams>& declare() {
    using P = UnmapParams;
    static const ParamStruct<P> d =
        ParamStruct<P>()
            .bind(&P::cores, Field::integer("cores", 2, "",
                                            "cores the address space's threads run on (k), the unmapper on the first")
                                 .at_least(1)
                                 .at_most(65536))
            .bind(&P::first_core,
                  Field::integer("first_core", 0, "core id", "the k cores are first_core .. first_core + k - 1")
                      .at_least(0)
                      .at_most(65535))
            .bind(&P::pages, Field::integer("pages", 1, "pages", "4 KiB pages mapped and unmapped each time")
                                 .at_least(1)
                                 .at_most(268435456))
            .bind(&P::iterations,
                  Field::integer("iterations", 100, "", "unmaps measured").at_least(1).at_most(100000000))
            .bind(&P::helper_cycles, Field::number("helper_cycles", 10000, "cycles",
                                                   "work each other thread does on its core before it waits")
                                         .at_least(0));
    return d;
  }
};

class Unmap final : public Workload {
 public:
  explicit Unmap(const Params& p) : p_(p), v_(UnmapParams::declare().read(p)) {}

  void setup(WorkloadEnv& env) override {
    const Machine& m = env.machine();
    const int k = static_cast<int>(v_.cores);
    const int first = static_cast<int>(v_.first_core);
    auto cores = consecutive_cores(p_, m, "first_core", first, k,
                                   fmt::format("the address space's threads on {} core{}", k, k == 1 ? "" : "s"));
    hz_ = m.cores[cores[0]].freq_ghz * 1e9;
    st_ = std::make_shared<State>();
    const uint64_t bytes = static_cast<uint64_t>(v_.pages) * 4096;
    const int iterations = static_cast<int>(v_.iterations);
    uint32_t proc = env.create_process("unmap", cores);
    std::vector<uint32_t> helpers;
    st_->unmapper = env.create_thread(proc, {"unmap.unmapper", {cores[0]}, m.cores[cores[0]].node},
                                      boxed(unmapper(st_, bytes, iterations, k - 1)));
    for (int i = 1; i < k; ++i)
      st_->helpers.push_back(env.create_thread(proc,
                                               {fmt::format("unmap.helper{}", i), {cores[i]}, m.cores[cores[i]].node},
                                               boxed(helper(st_, v_.helper_cycles))));
  }

  Metrics metrics(const RunView&) const override {
    const double mean_s = mean_of(st_->latency_s);
    return {{"latency_cycles", mean_s * hz_},
            {"latency_ns", mean_s * 1e9},
            {"unmaps", static_cast<double>(st_->latency_s.size())}};
  }

 private:
  struct State {
    uint32_t unmapper = 0;
    std::vector<uint32_t> helpers;
    std::vector<double> latency_s;
  };

  // Runs on its core (so the core holds the address space's translations), tells the unmapper, then sleeps.
  static Program helper(std::shared_ptr<State> st, double cycles) {
    co_await Op::compute(cycles);
    co_await Op::wake(st->unmapper);
    co_await Op::wait();
  }

  static Program unmapper(std::shared_ptr<State> st, uint64_t bytes, int iterations, int helpers) {
    for (int i = 0; i < helpers; ++i) co_await Op::wait();  // every helper has run on its core
    for (int i = 0; i < iterations; ++i) {
      OpResult mapped = co_await Op::map(bytes);
      OpResult unmapped = co_await Op::unmap(bytes);
      st->latency_s.push_back(unmapped.time_s - mapped.time_s);
    }
    for (uint32_t h : st->helpers) co_await Op::wake(h);
  }

  Params p_;
  UnmapParams v_;
  double hz_ = 1e9;
  std::shared_ptr<State> st_;
};

WorkloadRegistry::Add reg(
    "workload", "unmap",
    "one thread unmaps pages of an address space whose threads ran on k cores: TLB shootdown latency",
    UnmapParams::declare().schema(), [](const Params& p) { return std::make_unique<Unmap>(p); });

}  // namespace
}  // namespace mksim
