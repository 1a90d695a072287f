// Compute-bound threads: each runs a fixed number of cycles in chunks, optionally with system calls between chunks
// (the knob that makes kernel architectures differ). Reports the makespan and the delivered compute rate.
#include "workloads/common.hpp"

namespace mksim {

namespace {

class ComputeWorkload final : public Workload {
 public:
  explicit ComputeWorkload(const Params& p) : p_(p) {}

  void setup(WorkloadEnv& env) override {
    const Machine& m = env.machine();
    int threads = static_cast<int>(p_.integer("threads"));
    if (threads == 0) threads = m.num_cores();
    auto cores = thread_cores(p_, m, threads);
    SyscallClass sc;
    parse_syscall_class(p_.text("syscall_class"), sc);
    uint32_t proc = env.create_process("compute", {});
    first_ = UINT32_MAX;
    for (int i = 0; i < threads; ++i) {
      ThreadSpec spec{fmt::format("compute.{}", i), p_.boolean("pin") ? std::vector<int>{cores[i]} : std::vector<int>{},
                      -1, static_cast<uint64_t>(p_.number("working_set_kib") * 1024)};
      uint32_t id = env.create_thread(
          proc, spec,
          boxed(body(p_.number("cycles_per_thread"), p_.number("chunk_cycles"),
                     static_cast<int>(p_.integer("syscalls_per_chunk")), sc, p_.number("syscall_cycles"))));
      first_ = std::min(first_, id);
      last_ = id + 1;
    }
    total_cycles_ = threads * p_.number("cycles_per_thread");
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

  Params p_;
  uint32_t first_ = 0, last_ = 0;
  double total_cycles_ = 0;
};

WorkloadRegistry::Add reg(
    "workload", "compute", "compute-bound threads, optionally making system calls between chunks of work",
    Schema{
        Field::integer("threads", 0, "", "number of threads (0: one per core)").at_least(0).at_most(1000000),
        Field::number("cycles_per_thread", 1e7, "cycles", "work of each thread").above(0),
        Field::number("chunk_cycles", 1e5, "cycles", "work between two system-call points").above(0),
        Field::integer("syscalls_per_chunk", 0, "", "system calls after each chunk").at_least(0).at_most(100000),
        Field::choice("syscall_class", "null", {"null", "file", "memory", "process", "net"},
                      "kind of kernel service the system calls use"),
        Field::number("syscall_cycles", 0, "cycles", "service work inside each system call").at_least(0),
        Field::boolean("pin", true, "pin thread i to its core; false lets the scheduler place threads"),
        Field::number("working_set_kib", 0, "KiB",
                      "data each thread keeps in its core's caches (refilled after a "
                      "context switch, as much as other threads evicted)")
            .at_least(0)
            .at_most(1073741824),
        cores_field(),
    },
    [](const Params& p) { return std::make_unique<ComputeWorkload>(p); });

}  // namespace
}  // namespace mksim
