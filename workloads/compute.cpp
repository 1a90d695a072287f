// Compute-bound threads: each runs a fixed number of cycles in chunks, optionally with system calls between chunks
// (the knob that makes kernel architectures differ). Reports the makespan and the delivered compute rate.
#include "sim/api/param_struct.hpp"
#include "workloads/common.hpp"

namespace mksim {

namespace {

struct ComputeParams {
  int threads = 0, syscalls_per_chunk = 0;
  double cycles_per_thread = 0, chunk_cycles = 0, syscall_cycles = 0, working_set_kib = 0;
  std::string syscall_class;
  bool pin = false;

  static const ParamStruct<ComputeParams>& declare() {
    using P = ComputeParams;
    static const ParamStruct<P> d =
        ParamStruct<P>()
            .bind(&P::threads,
                  Field::integer("threads", 0, "", "number of threads (0: one per core)").at_least(0).at_most(1000000))
            .bind(&P::cycles_per_thread,
                  Field::number("cycles_per_thread", 1e7, "cycles", "work of each thread").above(0))
            .bind(&P::chunk_cycles,
                  Field::number("chunk_cycles", 1e5, "cycles", "work between two system-call points").above(0))
            .bind(&P::syscalls_per_chunk, Field::integer("syscalls_per_chunk", 0, "", "system calls after each chunk")
                                              .at_least(0)
                                              .at_most(100000))
            .bind(&P::syscall_class,
                  Field::choice("syscall_class", "null", {"null", "file", "memory", "process", "net"},
                                "kind of kernel service the system calls use"))
            .bind(&P::syscall_cycles,
                  Field::number("syscall_cycles", 0, "cycles", "service work inside each system call").at_least(0))
            .bind(&P::pin,
                  Field::boolean("pin", true, "pin thread i to its core; false lets the scheduler place threads"))
            .bind(&P::working_set_kib, Field::number("working_set_kib", 0, "KiB",
                                                     "data each thread keeps in its core's caches (refilled after a "
                                                     "context switch, as much as other threads evicted)")
                                           .at_least(0)
                                           .at_most(1073741824))
            .unbound(cores_field());  // read by thread_cores
    return d;
  }
};

class ComputeWorkload final : public Workload {
 public:
  explicit ComputeWorkload(const Params& p) : p_(p), v_(ComputeParams::declare().read(p)) {}

  void setup(WorkloadEnv& env) override {
    const Machine& m = env.machine();
    int threads = v_.threads;
    if (threads == 0) threads = m.num_cores();
    auto cores = thread_cores(p_, m, threads);
    SyscallClass sc;
    parse_syscall_class(v_.syscall_class, sc);
    uint32_t proc = env.create_process("compute", {});
    first_ = UINT32_MAX;
    for (int i = 0; i < threads; ++i) {
      ThreadSpec spec{fmt::format("compute.{}", i), v_.pin ? std::vector<int>{cores[i]} : std::vector<int>{}, -1,
                      static_cast<uint64_t>(v_.working_set_kib * 1024)};
      uint32_t id = env.create_thread(
          proc, spec, boxed(body(v_.cycles_per_thread, v_.chunk_cycles, v_.syscalls_per_chunk, sc, v_.syscall_cycles)));
      first_ = std::min(first_, id);
      last_ = id + 1;
    }
    total_cycles_ = threads * v_.cycles_per_thread;
  }

  Metrics metrics(const RunView& run) const override {
    double span = makespan_s(run, first_, last_);
    double mean = 0;
    for (uint32_t i = first_; i < last_; ++i) mean += run.threads[i].end_s - run.threads[i].start_s;
    mean /= std::max<uint32_t>(1, last_ - first_);
    return {{"makespan_s", span},
            {"mean_thread_time_s", mean},
            {"throughput_gcycles_per_s", span > 0 ? total_cycles_ / span / 1e9 : 0.0}};
  }

 private:
  static Program body(double cycles, double chunk, int syscalls, SyscallClass sc, double syscall_cycles) {
    for (double done = 0; done < cycles; done += chunk) {
      co_await Op::compute(std::min(chunk, cycles - done));
      for (int k = 0; k < syscalls; ++k) co_await Op::syscall(sc, syscall_cycles);
    }
  }

  Params p_;  // for thread_cores (the cores list and its errors)
  ComputeParams v_;
  uint32_t first_ = 0, last_ = 0;
  double total_cycles_ = 0;
};

WorkloadRegistry::Add reg("workload", "compute",
                          "compute-bound threads, optionally making system calls between chunks of work",
                          ComputeParams::declare().schema(),
                          [](const Params& p) { return std::make_unique<ComputeWorkload>(p); });

}  // namespace
}  // namespace mksim
