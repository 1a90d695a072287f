// Fork-join task parallelism on a pool of worker cores, as task-based runtimes do it (MxTasking, Mühlig & Teubner,
// DaMoN 2021; Cilk's spawn/sync, Blumofe et al., PPoPP 1995): a master hands out `tasks` tasks and waits for all of
// them. Either each task is a thread the master spawns and joins (the kernel creates, places and reaps every task), or
// a fixed pool of worker threads, one per core, takes tasks from a queue (a channel) and reports each completion on
// another. The speedup against one worker shows what task creation, dispatch and completion cost the architecture.
#include <memory>

#include "sim/api/param_struct.hpp"
#include "workloads/synthetic.hpp"

namespace mksim {

namespace {

struct ForkJoinParams {
  std::string mode, task_distribution;
  int64_t tasks = 0, workers = 0, first_core = 0;
  double task_cycles = 0;

  static const ParamStruct<ForkJoinParams>& declare() {
    using P = ForkJoinParams;
    static const ParamStruct<P> d =
        ParamStruct<P>()
            .bind(&P::mode,
                  Field::choice(
                      "mode", "spawn", {"spawn", "queue"},
                      "spawn: one thread per task, spawned and joined; queue: one worker thread per core taking "
                      "tasks from a channel"))
            .bind(&P::tasks, Field::integer("tasks", 64, "", "number of tasks").at_least(1).at_most(10000000))
            .bind(&P::task_cycles, Field::number("task_cycles", 1e6, "cycles", "mean work of one task").above(0))
            .bind(&P::task_distribution, Field::choice("task_distribution", "fixed", {"fixed", "exponential"},
                                                       "task sizes: all equal, or exponential"))
            .bind(&P::workers,
                  Field::integer("workers", 0, "",
                                 "number of worker cores (0: every core from first_core on); the master runs "
                                 "on the first of them")
                      .at_least(0)
                      .at_most(65536))
            .bind(&P::first_core,
                  Field::integer("first_core", 0, "core id", "workers use cores first_core .. first_core + workers - 1")
                      .at_least(0)
                      .at_most(65535));
    return d;
  }
};

constexpr uint64_t kStop = UINT64_MAX;

class ForkJoin final : public Workload {
 public:
  explicit ForkJoin(const Params& p) : p_(p), v_(ForkJoinParams::declare().read(p)) {}

  void setup(WorkloadEnv& env) override {
    const Machine& m = env.machine();
    int workers = static_cast<int>(v_.workers);
    const int first = static_cast<int>(v_.first_core);
    if (workers == 0) workers = m.num_cores() - std::min(first, m.num_cores() - 1);
    auto cores = consecutive_cores(p_, m, "first_core", first, workers,
                                   fmt::format("the {} worker{}", workers, workers == 1 ? "" : "s"));
    workers_ = workers;
    const auto tasks = static_cast<size_t>(v_.tasks);
    st_ = std::make_shared<State>();
    Rng rng(env.seed(), stream_name(p_, "task-cycles"));
    const double cycles = v_.task_cycles;
    const bool exponential = v_.task_distribution == "exponential";
    for (size_t i = 0; i < tasks; ++i) st_->task_cycles.push_back(exponential ? rng.exponential(cycles) : cycles);
    for (double c : st_->task_cycles) work_s_ += c / (m.cores[cores[0]].freq_ghz * 1e9);

    uint32_t proc = env.create_process("fork-join", cores);
    const int master_core = cores[0];
    ThreadSpec master{"fork-join.master", {master_core}, m.cores[master_core].node};
    if (v_.mode == "spawn") {
      auto st = st_;
      uint32_t tmpl = env.create_template(proc, {"fork-join.task", cores, -1}, [st] {
        double c = st->task_cycles.at(st->next_task++);
        return boxed(task(c));
      });
      env.create_thread(proc, master, boxed(spawner(st_, tmpl, tasks)));
    } else {
      uint32_t queue = env.create_channel("tasks"), done = env.create_channel("done");
      env.create_thread(proc, master, boxed(dispatcher(st_, queue, done, tasks, workers)));
      for (int w = 0; w < workers; ++w)
        env.create_thread(proc, {fmt::format("fork-join.worker{}", w), {cores[w]}, m.cores[cores[w]].node},
                          boxed(worker(st_, queue, done)));
    }
  }

  Metrics metrics(const RunView&) const override {
    const double span = st_->end_s - st_->start_s;
    const double n = static_cast<double>(st_->task_cycles.size());
    const double speedup = span > 0 ? work_s_ / span : 0.0;
    return {{"makespan_s", span},
            {"tasks_per_s", span > 0 ? n / span : 0.0},
            {"speedup", speedup},
            {"efficiency", speedup / workers_},
            {"work_s", work_s_}};
  }

 private:
  struct State {
    std::vector<double> task_cycles;
    size_t next_task = 0;
    double start_s = 0, end_s = 0;
  };

  static Program task(double cycles) { co_await Op::compute(cycles); }

  static Program spawner(std::shared_ptr<State> st, uint32_t tmpl, size_t tasks) {
    OpResult r = co_await Op::compute(0);  // a time stamp
    st->start_s = r.time_s;
    std::vector<uint32_t> ids;
    for (size_t i = 0; i < tasks; ++i) ids.push_back(static_cast<uint32_t>((co_await Op::spawn(tmpl)).value));
    for (uint32_t id : ids) r = co_await Op::join(id);
    st->end_s = r.time_s;
  }

  static Program dispatcher(std::shared_ptr<State> st, uint32_t queue, uint32_t done, size_t tasks, int workers) {
    OpResult r = co_await Op::compute(0);
    st->start_s = r.time_s;
    for (size_t i = 0; i < tasks; ++i) co_await Op::send(queue, 64, i);
    for (size_t i = 0; i < tasks; ++i) r = co_await Op::recv(done);
    st->end_s = r.time_s;
    for (int w = 0; w < workers; ++w) co_await Op::send(queue, 0, kStop);
  }

  static Program worker(std::shared_ptr<State> st, uint32_t queue, uint32_t done) {
    for (;;) {
      OpResult r = co_await Op::recv(queue);
      if (r.value == kStop) break;
      co_await Op::compute(st->task_cycles.at(r.value));
      co_await Op::send(done, 8, r.value);
    }
  }

  Params p_;
  ForkJoinParams v_;
  int workers_ = 1;
  double work_s_ = 0;
  std::shared_ptr<State> st_;
};

WorkloadRegistry::Add reg(
    "workload", "fork-join",
    "a master hands tasks to a pool of worker cores (spawned threads or a task queue) and waits for all of them",
    ForkJoinParams::declare().schema(), [](const Params& p) { return std::make_unique<ForkJoin>(p); });

}  // namespace
}  // namespace mksim
