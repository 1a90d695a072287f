// The Larson allocator benchmark (Larson & Krishnan, "Memory allocation for long-running server applications", ISMM
// 1998), the server-like load Hoard was measured with (Berger et al., ASPLOS 2000): each thread keeps an array of live
// objects of random sizes and, in a loop, frees a random one and allocates a replacement. Objects migrate between
// threads as in a server where one thread allocates a buffer and another frees it: here a fraction of the new objects
// are exchanged for an object of another thread, which that thread will later free (the benchmark's "bleeding" of
// objects across threads). After all threads have filled their arrays, each runs for `duration_s` of simulated time;
// throughput is replacements (one free plus one allocation) per second. Under one global heap lock it stops scaling.
#include <memory>

#include "sim/api/param_struct.hpp"
#include "workloads/synthetic.hpp"

namespace mksim {

namespace {

struct LarsonParams {
  int64_t threads = 0, objects_per_thread = 0, first_core = 0;
  double min_bytes = 0, max_bytes = 0, handoff_fraction = 0, duration_s = 0, work_cycles = 0;

  static const ParamStruct<LarsonParams>& declare() {
    using P = LarsonParams;
    static const ParamStruct<P> d =
        ParamStruct<P>()
            .bind(&P::threads,
                  Field::integer("threads", 4, "", "number of threads, one pinned to each core from first_core on")
                      .at_least(1)
                      .at_most(65536))
            .bind(&P::objects_per_thread,
                  Field::integer("objects_per_thread", 1000, "", "live objects each thread keeps")
                      .at_least(1)
                      .at_most(10000000))
            .bind(&P::min_bytes, Field::number("min_bytes", 8, "bytes", "smallest object (sizes are uniform)")
                                     .at_least(1)
                                     .at_most(1099511627776.0))
            .bind(&P::max_bytes,
                  Field::number("max_bytes", 1000, "bytes", "largest object").at_least(1).at_most(1099511627776.0))
            .bind(&P::handoff_fraction,
                  Field::number("handoff_fraction", 0.1, "",
                                "fraction of new objects exchanged for a live object of another thread (freed there)")
                      .at_least(0)
                      .at_most(1))
            .bind(&P::duration_s,
                  Field::number("duration_s", 1e-3, "s", "simulated time of the timed phase, after every array is full")
                      .above(0))
            .bind(&P::work_cycles,
                  Field::number("work_cycles", 0, "cycles", "user work between two replacements (0: allocator only)")
                      .at_least(0))
            .bind(&P::first_core, Field::integer("first_core", 0, "core id",
                                                 "threads run on cores first_core .. first_core + threads - 1")
                                      .at_least(0)
                                      .at_most(65535));
    return d;
  }
};

constexpr uint32_t kEmpty = UINT32_MAX;  // a slot whose object is being replaced

class Larson final : public Workload {
 public:
  explicit Larson(const Params& p) : p_(p), v_(LarsonParams::declare().read(p)) {}

  void setup(WorkloadEnv& env) override {
    const Machine& m = env.machine();
    const int threads = static_cast<int>(v_.threads);
    const int first = static_cast<int>(v_.first_core);
    auto cores = consecutive_cores(p_, m, "first_core", first, threads,
                                   fmt::format("{} thread{}, one per core", threads, threads == 1 ? "" : "s"));
    if (v_.min_bytes > v_.max_bytes)
      p_.fail("min_bytes", fmt::format("{} is more than max_bytes ({})", v_.min_bytes, v_.max_bytes));
    st_ = std::make_shared<State>();
    st_->slots.assign(threads, std::vector<uint32_t>(static_cast<size_t>(v_.objects_per_thread), kEmpty));
    st_->ops.assign(threads, 0);
    st_->threads = threads;
    Config cfg{static_cast<uint64_t>(v_.min_bytes),
               static_cast<uint64_t>(v_.max_bytes),
               v_.handoff_fraction,
               v_.duration_s,
               v_.work_cycles,
               env.seed(),
               ""};
    duration_s_ = cfg.duration_s;
    uint32_t proc = env.create_process("larson", {});
    for (int i = 0; i < threads; ++i) {
      cfg.stream = stream_name(p_, fmt::format("thread{}", i));
      st_->ids.push_back(env.create_thread(proc, {fmt::format("larson.{}", i), {cores[i]}, m.cores[cores[i]].node},
                                           boxed(body(st_, i, cfg))));
    }
  }

  Metrics metrics(const RunView&) const override {
    double total = 0;
    for (uint64_t n : st_->ops) total += static_cast<double>(n);
    const double per_s = total / duration_s_;
    return {{"ops_per_s", per_s}, {"ops_per_s_per_thread", per_s / st_->threads}, {"ops", total}};
  }

 private:
  struct State {
    std::vector<std::vector<uint32_t>> slots;  // [thread][slot]: region id of a live object
    std::vector<uint64_t> ops;                 // replacements each thread finished within its timed phase
    std::vector<uint32_t> ids;
    int threads = 0, arrived = 0;
  };
  struct Config {
    uint64_t min_bytes, max_bytes;
    double handoff_fraction, duration_s, work_cycles;
    uint64_t seed;
    std::string stream;
  };

  static Program body(std::shared_ptr<State> st, int me, Config cfg) {
    Rng rng(cfg.seed, cfg.stream);
    auto size = [&] { return cfg.min_bytes + rng.below(cfg.max_bytes - cfg.min_bytes + 1); };
    auto& mine = st->slots[me];
    for (auto& s : mine) s = static_cast<uint32_t>((co_await Op::alloc(size())).value);
    // Barrier: the timed phase starts when every thread has filled its array.
    if (++st->arrived < st->threads) {
      co_await Op::wait();
    } else {
      for (int t = 0; t < st->threads; ++t)
        if (t != me) co_await Op::wake(st->ids[t]);
    }
    OpResult r = co_await Op::compute(0);  // a time stamp
    const double deadline = r.time_s + cfg.duration_s;
    while (r.time_s < deadline) {
      const size_t k = rng.below(mine.size());
      const uint32_t victim = mine[k];
      mine[k] = kEmpty;
      co_await Op::free(victim);
      uint32_t fresh = static_cast<uint32_t>((co_await Op::alloc(size())).value);
      if (st->threads > 1 && rng.uniform() < cfg.handoff_fraction) {
        // Exchange the new object for a live one of another thread: each will free the other's object.
        int other = static_cast<int>(rng.below(static_cast<uint64_t>(st->threads - 1)));
        if (other >= me) ++other;
        auto& theirs = st->slots[other];
        const size_t j = rng.below(theirs.size());
        if (theirs[j] != kEmpty) std::swap(fresh, theirs[j]);
      }
      mine[k] = fresh;
      r = co_await Op::compute(cfg.work_cycles);  // also the time stamp of this replacement
      if (r.time_s <= deadline) ++st->ops[me];
    }
  }

  Params p_;
  LarsonParams v_;
  double duration_s_ = 1;
  std::shared_ptr<State> st_;
};

WorkloadRegistry::Add reg(
    "workload", "larson",
    "Larson server allocator benchmark: threads replace random-size objects, some freed by other threads",
    LarsonParams::declare().schema(), [](const Params& p) { return std::make_unique<Larson>(p); });

}  // namespace
}  // namespace mksim
