// Periodic and sporadic real-time tasks (Liu and Layland, JACM 1973): task i releases a job every period T_i (after an
// offset; a sporadic task waits T_i plus a random release jitter between two jobs), each job runs its execution time as
// compute work and must finish within its relative deadline D_i (default T_i). Tasks come from an explicit list or
// from UUniFast-Discard (Bini and Buttazzo, "Measuring the Performance of Schedulability Tests", Real-Time Systems
// 2005; Davis and Burns 2009 for discarding sets with a task above utilisation 1): n utilisations summing to U, periods
// drawn log-uniformly in a range (Emberson, Stafford and Davis, WATERS 2010), WCET = u_i T_i.
//
// Each task is one thread of the process "rt" that declares its attributes (Thread::sched: period, WCET, deadline) and
// starts each job with Op::next_job, so EDF and rate-monotonic schedulers see the job's absolute deadline; preemption
// and migration happen through the scheduler and the engine, with the kernel's context-switch cost and the cache
// refill of a task's working set, as for every scheduler. Jobs that miss their deadline run to completion.
#include <fmt/format.h>

#include <memory>
#include <numbers>
#include <numeric>

#include "sim/api/param_struct.hpp"
#include "workloads/synthetic.hpp"

namespace mksim {

namespace {

struct PeriodicParams {
  int64_t task_count = 0;
  double period_min_ms = 0, period_max_ms = 0, period_granularity_ms = 0, jitter_fraction = 0, duration_ms = 0,
         bcet_fraction = 0, acet_fraction = 0, stddev_fraction = 0, working_set_kib = 0;
  std::string period_distribution, execution;

  static const ParamStruct<PeriodicParams>& declare() {
    using P = PeriodicParams;
    static const ParamStruct<P> d =
        ParamStruct<P>()
            .unbound(Field::optional(
                "tasks", FieldType::Any, "",
                "explicit task set: a list of {name, period_ms, wcet_ms, deadline_ms (0: period), offset_ms, "
                "jitter_ms (sporadic), core (bind to a core)}"))
            .unbound(
                Field::optional("utilisation", FieldType::Number, "",
                                "generate a task set (UUniFast-Discard) with this total utilisation instead of a list"))
            .bind(
                &P::task_count,
                Field::integer("task_count", 8, "", "generated task set: number of tasks").at_least(1).at_most(100000))
            .bind(&P::period_min_ms,
                  Field::number("period_min_ms", 10, "ms", "generated task set: shortest period").above(0))
            .bind(&P::period_max_ms,
                  Field::number("period_max_ms", 100, "ms", "generated task set: longest period").above(0))
            .bind(&P::period_distribution,
                  Field::choice("period_distribution", "log-uniform", {"log-uniform", "uniform"},
                                "generated task set: how periods are drawn in their range"))
            .bind(&P::period_granularity_ms, Field::number("period_granularity_ms", 1, "ms",
                                                           "generated task set: periods rounded to multiples (0: none)")
                                                 .at_least(0))
            .bind(
                &P::jitter_fraction,
                Field::number("jitter_fraction", 0, "",
                              "generated task set: sporadic release jitter, as a fraction of the period (0: periodic)")
                    .at_least(0))
            .bind(
                &P::duration_ms,
                Field::number("duration_ms", 0, "ms",
                              "jobs are released before this simulated time (0: one hyperperiod after the last offset)")
                    .at_least(0))
            .bind(&P::execution,
                  Field::choice(
                      "execution", "wcet", {"wcet", "uniform", "normal"},
                      "execution time of a job: its WCET, uniform in [bcet_fraction, 1] x WCET, or normal with mean "
                      "acet_fraction x WCET and deviation stddev_fraction x WCET, cut at the WCET"))
            .bind(&P::bcet_fraction,
                  Field::number("bcet_fraction", 0.5, "", "uniform execution: best case as a fraction of the WCET")
                      .at_least(0)
                      .at_most(1))
            .bind(&P::acet_fraction,
                  Field::number("acet_fraction", 0.75, "", "normal execution: mean as a fraction of the WCET")
                      .at_least(0)
                      .at_most(1))
            .bind(&P::stddev_fraction,
                  Field::number("stddev_fraction", 0.1, "", "normal execution: deviation as a fraction of the WCET")
                      .at_least(0))
            .bind(&P::working_set_kib,
                  Field::number(
                      "working_set_kib", 0, "KiB",
                      "data each task keeps in its core's caches, refilled after a preemption or migration evicted it")
                      .at_least(0))
            .unbound(Field::optional("cores", FieldType::NumberList, "core ids",
                                     "cores the tasks may run on (default: all)"));
    return d;
  }
};

struct Task {
  std::string name;
  double period_s = 0, wcet_s = 0, deadline_s = 0, offset_s = 0, jitter_s = 0;
  int core = -1;  // explicit partition: pinned to this core
};

enum class Execution { Wcet, Uniform, Normal };

class Periodic final : public Workload {
 public:
  explicit Periodic(const Params& p) : p_(p), v_(PeriodicParams::declare().read(p)) {}

  void setup(WorkloadEnv& env) override {
    const Machine& m = env.machine();
    const bool listed = p_.has("tasks"), generated = p_.has("utilisation");
    if (listed == generated)
      p_.fail(listed ? "utilisation" : "tasks",
              listed ? "give either an explicit task list (tasks) or a task-set generation (utilisation, task_count), "
                       "not both"
                     : "no tasks: give an explicit task list (tasks) or a total utilisation to generate a task set "
                       "from (utilisation, with task_count and the period range)");
    tasks_ = listed ? read_tasks(m) : generate(env.seed());
    duration_s_ = duration_s();
    const std::string exec = v_.execution;
    execution_ = exec == "uniform" ? Execution::Uniform : exec == "normal" ? Execution::Normal : Execution::Wcet;

    std::vector<int> cores;
    if (p_.has("cores"))
      for (double c : p_.numbers("cores")) cores.push_back(checked_core(p_, m, "cores", c));
    const uint32_t proc = env.create_process("rt", cores);
    const double hz = m.cores[0].freq_ghz * 1e9;
    const auto working_set = static_cast<uint64_t>(v_.working_set_kib * 1024);
    st_ = std::make_shared<State>();
    st_->jobs.assign(tasks_.size(), {});
    st_->released.assign(tasks_.size(), 0);
    for (size_t i = 0; i < tasks_.size(); ++i) {
      const Task& t = tasks_[i];
      ThreadSpec spec;
      spec.name = "rt." + t.name;
      if (t.core >= 0) spec.affinity = {t.core};
      spec.working_set_bytes = working_set;
      spec.sched.period_s = t.period_s;
      spec.sched.runtime_s = t.wcet_s;
      spec.sched.relative_deadline_s = t.deadline_s;
      // The first job, declared before the thread runs: it waits in the run queues with its deadline from the start.
      spec.sched.release_s = t.offset_s;
      spec.sched.deadline_s = t.offset_s + t.deadline_s;
      threads_.push_back(env.create_thread(
          proc, spec, boxed(body(st_, i, t, duration_s_, hz, execution_, exec_params(), env.seed(), stream(i)))));
    }
  }

  Metrics metrics(const RunView& run) const override {
    std::vector<double> period, wcet, deadline, util, jobs, misses, rmin, rmean, rmax, rp99, preempt, migr, unfinished;
    double total_jobs = 0, total_misses = 0, total_preempt = 0, total_migr = 0, total_util = 0, worst = 0;
    double first_miss = -1;
    for (size_t i = 0; i < tasks_.size(); ++i) {
      const Task& t = tasks_[i];
      std::vector<double> r;
      double m = 0;
      for (const Job& j : st_->jobs[i]) {
        r.push_back((j.end_s - j.release_s) * 1e3);
        if (j.end_s - (j.release_s + t.deadline_s) > kLateS) {
          ++m;
          const double at = (j.release_s + t.deadline_s) * 1e3;
          if (first_miss < 0 || at < first_miss) first_miss = at;
        }
      }
      std::sort(r.begin(), r.end());
      const auto& th = run.threads.at(threads_[i]);
      period.push_back(t.period_s * 1e3);
      wcet.push_back(t.wcet_s * 1e3);
      deadline.push_back(t.deadline_s * 1e3);
      util.push_back(t.wcet_s / t.period_s);
      jobs.push_back(static_cast<double>(r.size()));
      misses.push_back(m);
      unfinished.push_back(static_cast<double>(st_->released[i] - st_->jobs[i].size()));
      rmin.push_back(r.empty() ? 0 : r.front());
      rmean.push_back(mean_of(r));
      rmax.push_back(r.empty() ? 0 : r.back());
      rp99.push_back(percentile(r, 0.99));
      preempt.push_back(static_cast<double>(th.preemptions));
      migr.push_back(static_cast<double>(th.migrations));
      total_jobs += jobs.back(), total_misses += m, total_preempt += preempt.back(), total_migr += migr.back();
      total_util += util.back();
      worst = std::max(worst, rmax.back());
    }
    return {{"tasks", static_cast<double>(tasks_.size())},
            {"utilisation", total_util},
            {"duration_ms", duration_s_ * 1e3},
            {"task_period_ms", period},
            {"task_wcet_ms", wcet},
            {"task_deadline_ms", deadline},
            {"task_utilisation", util},
            {"jobs", jobs},
            {"deadline_misses", misses},
            {"unfinished_jobs", unfinished},
            {"response_time_min_ms", rmin},
            {"response_time_mean_ms", rmean},
            {"response_time_max_ms", rmax},
            {"response_time_p99_ms", rp99},
            {"preemptions", preempt},
            {"migrations", migr},
            {"total_jobs", total_jobs},
            {"total_deadline_misses", total_misses},
            {"deadline_miss_ratio", total_jobs > 0 ? total_misses / total_jobs : 0.0},
            {"total_preemptions", total_preempt},
            {"total_migrations", total_migr},
            {"max_response_time_ms", worst},
            {"first_miss_ms", first_miss}};
  }

 private:
  static constexpr double kLateS = 1e-9;  // a job later than its deadline by more than this misses it

  struct Job {
    double release_s, end_s;
  };
  struct State {
    std::vector<std::vector<Job>> jobs;  // completed jobs, by task
    std::vector<uint64_t> released;
  };
  struct ExecParams {
    double bcet_fraction, acet_fraction, stddev_fraction;
  };

  ExecParams exec_params() const { return {v_.bcet_fraction, v_.acet_fraction, v_.stddev_fraction}; }
  std::string stream(size_t task) const { return stream_name(p_, fmt::format("task{}", task)); }

  // Execution time of one job of WCET `wcet_s`: the WCET, uniform in [bcet, wcet], or normal around the average
  // (SimSo's ACET model) cut to [0, wcet].
  static double execution_s(Execution e, const ExecParams& x, double wcet_s, Rng& rng) {
    if (e == Execution::Uniform) return rng.uniform(x.bcet_fraction * wcet_s, wcet_s);
    if (e == Execution::Normal) {
      // Box-Muller on two uniforms (rng.hpp writes its own distributions, for results equal everywhere).
      const double u1 = 1 - rng.uniform(), u2 = rng.uniform();
      const double z = std::sqrt(-2 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
      return std::clamp((x.acet_fraction + x.stddev_fraction * z) * wcet_s, 0.0, wcet_s);
    }
    return wcet_s;
  }

  static Program body(std::shared_ptr<State> st, size_t i, Task t, double duration_s, double hz, Execution e,
                      ExecParams x, uint64_t seed, std::string stream) {
    Rng rng(seed, stream);
    double jitter = 0;  // sporadic: the delays so far beyond the minimum inter-arrival times
    for (uint64_t k = 0;; ++k) {
      const double release = t.offset_s + static_cast<double>(k) * t.period_s + jitter;
      if (release >= duration_s) break;
      co_await Op::next_job(release);
      ++st->released[i];
      const OpResult r = co_await Op::compute(execution_s(e, x, t.wcet_s, rng) * hz);
      st->jobs[i].push_back({release, r.time_s});
      if (t.jitter_s > 0) jitter += rng.uniform(0, t.jitter_s);
    }
  }

  // The `tasks` list, every entry checked (errors name its JSON path).
  std::vector<Task> read_tasks(const Machine& m) const {
    const json& list = p_.raw().at("tasks");
    const std::string path = join_path(p_.path(), "tasks");
    if (!list.is_array() || list.empty())
      throw InputError(p_.file(), path, fmt::format("found {}, expected a non-empty list of tasks", list.dump()));
    std::vector<Task> out;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string at = join_path(path, i);
      static const Schema schema{
          Field::text("name", "", "task name (default: its index)"),
          Field::optional("period_ms", FieldType::Number, "ms", "period"),
          Field::optional("wcet_ms", FieldType::Number, "ms", "worst-case execution time"),
          Field::number("deadline_ms", 0, "ms", "relative deadline (0: the period)").at_least(0),
          Field::number("offset_ms", 0, "ms", "release of the first job").at_least(0),
          Field::number("jitter_ms", 0, "ms", "sporadic: up to this much more than the period between two releases")
              .at_least(0),
          Field::optional("core", FieldType::Integer, "core id", "partitioned schedulers: bind the task to this core"),
      };
      const json v = schema.resolve(list[i], at, p_.file());
      const Params tp(v, at, p_.file());
      Task t;
      t.name = tp.text("name").empty() ? std::to_string(i) : tp.text("name");
      for (const char* key : {"period_ms", "wcet_ms"})
        if (!tp.has(key) || !(tp.number(key) > 0)) tp.fail(key, "expected a duration above 0 ms");
      t.period_s = tp.number("period_ms") * 1e-3;
      t.wcet_s = tp.number("wcet_ms") * 1e-3;
      t.deadline_s = tp.number("deadline_ms") > 0 ? tp.number("deadline_ms") * 1e-3 : t.period_s;
      t.offset_s = tp.number("offset_ms") * 1e-3;
      t.jitter_s = tp.number("jitter_ms") * 1e-3;
      if (t.wcet_s > t.deadline_s)
        tp.fail("wcet_ms", fmt::format("{} ms is longer than the task's deadline ({} ms): no scheduler can meet it",
                                       t.wcet_s * 1e3, t.deadline_s * 1e3));
      if (tp.has("core")) t.core = checked_core(tp, m, "core", tp.number("core"));
      for (const Task& o : out)
        if (o.name == t.name) tp.fail("name", fmt::format("task '{}' is listed twice", t.name));
      out.push_back(t);
    }
    return out;
  }

  // UUniFast-Discard: utilisations summing to `utilisation`, none above 1 (redrawn otherwise); periods log-uniform or
  // uniform in [period_min_ms, period_max_ms], rounded to period_granularity_ms.
  std::vector<Task> generate(uint64_t seed) const {
    const auto n = static_cast<size_t>(v_.task_count);
    const double total = p_.number("utilisation");
    if (total > static_cast<double>(n))
      p_.fail("utilisation",
              fmt::format("{} is more than task_count ({}): a task's utilisation is at most 1", total, n));
    const double lo = v_.period_min_ms, hi = v_.period_max_ms, grain = v_.period_granularity_ms;
    if (hi < lo) p_.fail("period_max_ms", fmt::format("{} is below period_min_ms ({})", hi, lo));
    if (grain > lo) p_.fail("period_granularity_ms", fmt::format("{} ms is above period_min_ms ({} ms)", grain, lo));
    Rng rng(seed, stream_name(p_, "uunifast"));
    std::vector<double> u;
    for (int attempt = 0;; ++attempt) {
      if (attempt == 1000)
        p_.fail("utilisation", fmt::format("UUniFast-Discard found no set of {} tasks with utilisation {} and every "
                                           "task at most 1 in 1000 draws: use more tasks",
                                           n, total));
      u.clear();
      double sum = total;
      for (size_t i = 1; i < n; ++i) {
        const double next = sum * std::pow(rng.uniform(), 1.0 / static_cast<double>(n - i));
        u.push_back(sum - next);
        sum = next;
      }
      u.push_back(sum);
      if (std::all_of(u.begin(), u.end(), [](double x) { return x <= 1; })) break;
    }
    const bool log_uniform = v_.period_distribution == "log-uniform";
    std::vector<Task> out;
    for (size_t i = 0; i < n; ++i) {
      double period = log_uniform ? std::exp(rng.uniform(std::log(lo), std::log(hi))) : rng.uniform(lo, hi);
      if (grain > 0) period = std::clamp(std::round(period / grain) * grain, grain * std::ceil(lo / grain), hi);
      Task t;
      t.name = std::to_string(i);
      t.period_s = t.deadline_s = period * 1e-3;
      t.wcet_s = u[i] * t.period_s;
      t.jitter_s = v_.jitter_fraction * t.period_s;
      out.push_back(t);
    }
    return out;
  }

  // duration_ms, else one hyperperiod after the last first release when the periods are whole microseconds and it is
  // at most 10 s.
  double duration_s() const {
    if (v_.duration_ms > 0) return v_.duration_ms * 1e-3;
    uint64_t h = 1;
    double offset = 0;
    for (const Task& t : tasks_) {
      const double us = t.period_s * 1e6;
      const auto whole = static_cast<uint64_t>(std::llround(us));
      if (std::fabs(us - static_cast<double>(whole)) > 1e-6 * us || whole == 0 ||
          static_cast<double>(h) / static_cast<double>(std::gcd(h, whole)) * static_cast<double>(whole) > 1e7)
        p_.fail("duration_ms",
                "is 0 (one hyperperiod), but the periods' least common multiple is not a whole number "
                "of microseconds of at most 10 s: give the simulated duration");
      h = std::lcm(h, whole);
      offset = std::max(offset, t.offset_s);
    }
    return offset + static_cast<double>(h) * 1e-6;
  }

  Params p_;
  PeriodicParams v_;
  std::vector<Task> tasks_;
  double duration_s_ = 0;
  Execution execution_ = Execution::Wcet;
  std::vector<uint32_t> threads_;
  std::shared_ptr<State> st_;
};

WorkloadRegistry::Add reg(
    "workload", "periodic",
    "periodic/sporadic real-time tasks (explicit list or UUniFast), with deadline misses, response times, preemptions",
    PeriodicParams::declare().schema(), [](const Params& p) { return std::make_unique<Periodic>(p); });

}  // namespace
}  // namespace mksim
