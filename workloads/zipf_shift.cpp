// A skewed working set whose hot set moves: the access pattern tiered-memory studies use to exercise page placement
// (TPP, Maruf et al., ASPLOS 2023; HeMem, Raybuck et al., SOSP 2021, whose GUPS variant shifts its hot set). The
// working set is `working_set_bytes` of objects of `object_bytes` (each a memory region: the unit whose accesses are
// counted and whose pages move); threads first load it (each writes its share of the objects in order, as a database
// load does, so that first-touch fills the nearest memory with whatever was loaded first), then access objects for
// `duration_s`: each access picks a Zipfian rank (theta `theta`, Gray et al., SIGMOD 1994) and reads (or, with
// probability `write_fraction`, writes) `access_bytes` at random in the object of that rank, after `compute_cycles` of
// work. Ranks map to objects through a hash salted with the current period: every `shift_period_s` of a thread's access
// phase the hot set moves to other objects.
#include <cmath>
#include <memory>

#include "sim/api/param_struct.hpp"
#include "workloads/common.hpp"
#include "workloads/synthetic.hpp"

namespace mksim {

namespace {

struct ZipfShiftParams {
  int64_t threads = 0;
  double working_set_bytes = 0, object_bytes = 0, access_bytes = 0, theta = 0, shift_period_s = 0, duration_s = 0,
         compute_cycles = 0, write_fraction = 0;
  bool load = false;

  static const ParamStruct<ZipfShiftParams>& declare() {
    using P = ZipfShiftParams;
    static const ParamStruct<P> d =
        ParamStruct<P>()
            .bind(&P::threads, Field::integer("threads", 1, "", "threads (one process); they share the objects")
                                   .at_least(1)
                                   .at_most(4096))
            .bind(&P::working_set_bytes,
                  Field::number("working_set_bytes", 64.0 * 1048576, "bytes", "total size of the objects")
                      .at_least(1)
                      .at_most(1125899906842624.0))
            .bind(&P::object_bytes,
                  Field::number(
                      "object_bytes", 65536, "bytes",
                      "one object: a memory region, the unit of access counts (larger than the caches' small regions)")
                      .at_least(1)
                      .at_most(1073741824.0))
            .bind(&P::access_bytes, Field::number("access_bytes", 4096, "bytes",
                                                  "bytes one access reads or writes at random in its object")
                                        .at_least(1)
                                        .at_most(1073741824.0))
            .bind(&P::theta,
                  Field::number("theta", 0.99, "", "Zipfian skew (0: uniform; YCSB: 0.99)").at_least(0).at_most(3))
            .bind(&P::shift_period_s,
                  Field::number("shift_period_s", 0.01, "s", "the hot set moves to other objects this often").above(0))
            .bind(&P::duration_s,
                  Field::number("duration_s", 0.05, "s", "simulated time each thread accesses objects after its load")
                      .above(0))
            .bind(&P::compute_cycles,
                  Field::number("compute_cycles", 200, "cycles", "work between two accesses").at_least(0))
            .bind(&P::write_fraction,
                  Field::number("write_fraction", 0, "", "share of accesses that write").at_least(0).at_most(1))
            .bind(&P::load, Field::boolean("load", true,
                                           "threads first write their share of the objects in order (the load phase)"))
            .unbound(cores_field());
    return d;
  }
};

// Zipfian ranks in [0, n), rank 0 the most popular, by the inverse of the exact CDF (n is at most a few million).
class ZipfTable {
 public:
  ZipfTable(uint64_t n, double theta) {
    double sum = 0;
    cdf_.reserve(n);
    for (uint64_t i = 0; i < n; ++i) cdf_.push_back(sum += std::pow(static_cast<double>(i + 1), -theta));
    for (double& c : cdf_) c /= sum;
  }
  uint64_t next(Rng& rng) const {
    const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), rng.uniform());
    return std::min<uint64_t>(static_cast<uint64_t>(it - cdf_.begin()), cdf_.size() - 1);
  }

 private:
  std::vector<double> cdf_;
};

uint64_t object_of(uint64_t rank, uint64_t period, uint64_t n) {
  uint64_t h = rank + 0x9e3779b97f4a7c15ull * (period + 1);
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return (h ^ (h >> 31)) % n;
}

struct Shared {
  std::vector<uint32_t> objects;                 // region ids
  std::vector<uint64_t> accesses;                // per thread, in its access phase before the deadline
  std::vector<double> access_s;                  // per thread: time in its accesses (memory operations)
  std::vector<double> load_end_s;                // per thread
  std::vector<std::vector<uint64_t>> by_period;  // per thread, accesses per shift period
};

struct Settings {
  uint64_t access_bytes;
  double compute_cycles, write_fraction, duration_s, shift_period_s;
  size_t periods;
};

class ZipfShift final : public Workload {
 public:
  explicit ZipfShift(const Params& p) : p_(p), v_(ZipfShiftParams::declare().read(p)) {}

  void setup(WorkloadEnv& env) override {
    const Machine& m = env.machine();
    const int threads = static_cast<int>(v_.threads);
    const auto cores = thread_cores(p_, m, threads);
    const auto object = static_cast<uint64_t>(v_.object_bytes);
    if (object <= m.coherent_region_max_bytes)
      p_.fail("object_bytes", fmt::format("{} bytes would stay in the caches (machine.memory.coherent_region_max_kib "
                                          "is {} KiB): objects must stream from memory to have pages that move",
                                          object, m.coherent_region_max_bytes / 1024.0));
    const auto ws = static_cast<uint64_t>(v_.working_set_bytes);
    const uint64_t n = std::max<uint64_t>(1, ws / object);
    if (n > 4000000)
      p_.fail("working_set_bytes",
              fmt::format("{} objects of {} bytes: at most 4e6 objects (raise object_bytes)", n, object));
    s_ = {static_cast<uint64_t>(v_.access_bytes),
          v_.compute_cycles,
          v_.write_fraction,
          v_.duration_s,
          v_.shift_period_s,
          0};
    if (s_.duration_s / s_.shift_period_s > 1e6)
      p_.fail("shift_period_s",
              fmt::format("{} s gives more than 1e6 periods in duration_s ({} s)", s_.shift_period_s, s_.duration_s));
    s_.periods = std::max<size_t>(1, static_cast<size_t>(std::ceil(s_.duration_s / s_.shift_period_s - 1e-9)));
    if (s_.access_bytes > object)
      p_.fail("access_bytes", fmt::format("{} is more than object_bytes ({})", s_.access_bytes, object));
    zipf_ = std::make_shared<ZipfTable>(n, v_.theta);
    shared_ = std::make_shared<Shared>();
    const uint32_t proc = env.create_process("zipf-shift", {});
    for (uint64_t i = 0; i < n; ++i) shared_->objects.push_back(env.create_region(proc, object));
    shared_->accesses.assign(threads, 0);
    shared_->access_s.assign(threads, 0);
    shared_->load_end_s.assign(threads, 0);
    shared_->by_period.assign(threads, std::vector<uint64_t>(s_.periods, 0));
    const bool load = v_.load;
    for (int i = 0; i < threads; ++i)
      env.create_thread(proc, {fmt::format("zipf-shift.{}", i), {cores[i]}, -1},
                        boxed(body(shared_, zipf_, s_, i, threads, object, load, env.seed(),
                                   stream_name(p_, fmt::format("thread{}", i)))));
  }

  Metrics metrics(const RunView&) const override {
    uint64_t total = 0;
    double time = 0, load = 0;
    std::vector<double> per_period(s_.periods, 0.0);
    for (size_t t = 0; t < shared_->accesses.size(); ++t) {
      total += shared_->accesses[t];
      time += shared_->access_s[t];
      load = std::max(load, shared_->load_end_s[t]);
      for (size_t k = 0; k < s_.periods; ++k)
        per_period[k] += static_cast<double>(shared_->by_period[t][k]) /
                         std::min(s_.shift_period_s, s_.duration_s - static_cast<double>(k) * s_.shift_period_s);
    }
    return {{"ops_per_s", static_cast<double>(total) / s_.duration_s},
            {"accesses", static_cast<double>(total)},
            {"mean_access_ns", total ? time / static_cast<double>(total) * 1e9 : 0.0},
            {"load_s", load},
            {"ops_per_s_by_period", per_period},
            {"objects", static_cast<double>(shared_->objects.size())}};
  }

 private:
  static Program body(std::shared_ptr<Shared> sh, std::shared_ptr<const ZipfTable> zipf, Settings s, int me,
                      int threads, uint64_t object, bool load, uint64_t seed, std::string stream) {
    Rng rng(seed, stream);
    const uint64_t n = sh->objects.size();
    OpResult r{};
    if (load)
      for (uint64_t i = static_cast<uint64_t>(me); i < n; i += static_cast<uint64_t>(threads))
        r = co_await Op::mem(sh->objects[i], object, AccessPattern::Sequential, AccessKind::Write);
    const double start = r.time_s;
    sh->load_end_s[me] = start;
    for (double now = start;;) {
      const auto period = static_cast<uint64_t>((now - start) / s.shift_period_s);
      const uint32_t region = sh->objects[object_of(zipf->next(rng), period, n)];
      const AccessKind kind = rng.uniform() < s.write_fraction ? AccessKind::Write : AccessKind::Read;
      if (s.compute_cycles > 0) now = (co_await Op::compute(s.compute_cycles)).time_s;
      r = co_await Op::mem(region, s.access_bytes, AccessPattern::Random, kind);
      if (r.time_s - start > s.duration_s) break;
      sh->access_s[me] += r.time_s - now;
      ++sh->accesses[me];
      ++sh->by_period[me][std::min<size_t>(period, s.periods - 1)];
      now = r.time_s;
    }
  }

  Params p_;
  ZipfShiftParams v_;
  Settings s_{};
  std::shared_ptr<const ZipfTable> zipf_;
  std::shared_ptr<Shared> shared_;
};

WorkloadRegistry::Add reg(
    "workload", "zipf-shift",
    "a working set of objects loaded in order, then accessed with a Zipfian skew whose hot set moves every "
    "shift_period_s (tiered-memory and page-migration studies)",
    ZipfShiftParams::declare().schema(), [](const Params& p) { return std::make_unique<ZipfShift>(p); });

}  // namespace
}  // namespace mksim
