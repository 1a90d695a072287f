// The real-time schedulers (gedf, pedf, rm) with the periodic workload, against schedules computed by hand and
// published schedulability results: EDF is optimal on one core up to utilisation 1 (Liu and Layland 1973), so a task
// set partitioned at utilisation 1 per core misses nothing under partitioned EDF; rate-monotonic meets every deadline
// below the Liu and Layland bound n(2^(1/n) - 1) but not always above it (Buttazzo, "Rate Monotonic vs. EDF:
// Judgment Day", Real-Time Systems 2005, tasks (2, 5) and (4, 7)); global EDF misses a deadline on Dhall's task set
// (Dhall and Liu 1978) at a total utilisation barely above 1 on any number of cores. Overheads are zero unless a test
// says otherwise: no context-switch cost, free scheduling decisions, no working set.
#include <cmath>

#include "test_workload_support.hpp"

namespace mksim::test {

namespace {

// A machine of `cores` cores and a kernel whose context switches and scheduling decisions cost nothing.
json zero_overhead(const std::string& scheduler, int cores, json workload, json sched_params = json::object()) {
  sched_params["queue_op_cycles"] = 0;
  return {{"machine", small_machine(1, cores)},
          {"kernel",
           {{"architecture", "monolithic"},
            {"scheduler", scheduler},
            {"monolithic", {{"context_switch_cycles", 0}}},
            {scheduler, sched_params}}},
          {"workload", std::move(workload)}};
}

json task(double period_ms, double wcet_ms, double deadline_ms = 0, int core = -1) {
  json t = {{"period_ms", period_ms}, {"wcet_ms", wcet_ms}};
  if (deadline_ms > 0) t["deadline_ms"] = deadline_ms;
  if (core >= 0) t["core"] = core;
  return t;
}

json periodic(json tasks, double duration_ms = 0) {
  json w = {{"kind", "periodic"}, {"tasks", std::move(tasks)}};
  if (duration_ms > 0) w["duration_ms"] = duration_ms;
  return w;
}

std::vector<double> list(const json& m, const char* name) {
  return m.at(name).get<std::vector<double>>();
}

// Task 1: C = 2, T = D = 4. Task 2: C = 3, T = 8, D = 7. One hyperperiod (8 ms) on one core.
const json kHandTasks = json::array({task(4, 2), task(8, 3, 7)});

}  // namespace

TEST_CASE("realtime: EDF on one core follows the hand-computed schedule") {
  // t=0: both released; task 1 (deadline 4) runs 0-2, task 2 (deadline 7) 2-4. t=4: task 1's second job has deadline
  // 8, later than task 2's 7, so task 2 goes on (4-5), then task 1 (5-7). Responses: task 1 {2, 3}, task 2 {5}.
  for (const char* sched : {"pedf", "gedf"}) {
    INFO(sched);
    json m = run_metrics(zero_overhead(sched, 1, periodic(kHandTasks)));
    CHECK(metric(m, "duration_ms") == Approx(8));
    CHECK(list(m, "jobs") == std::vector<double>{2, 1});
    CHECK(list(m, "response_time_min_ms")[0] == Approx(2).margin(1e-9));
    CHECK(list(m, "response_time_max_ms")[0] == Approx(3).margin(1e-9));
    CHECK(list(m, "response_time_mean_ms")[0] == Approx(2.5).margin(1e-9));
    CHECK(list(m, "response_time_max_ms")[1] == Approx(5).margin(1e-9));
    CHECK(metric(m, "total_preemptions") == 0);
    CHECK(metric(m, "total_deadline_misses") == 0);
    CHECK(metric(m, "total_migrations") == 0);
  }
}

TEST_CASE("realtime: rate-monotonic on one core follows the hand-computed schedule") {
  // Task 1 has the shorter period, so the higher priority: at t=4 it preempts task 2 (2 of 3 ms done), runs 4-6, and
  // task 2 ends at 7, exactly at its deadline (not a miss). Responses: task 1 {2, 2}, task 2 {7}.
  json m = run_metrics(zero_overhead("rm", 1, periodic(kHandTasks)));
  CHECK(list(m, "response_time_max_ms")[0] == Approx(2).margin(1e-9));
  CHECK(list(m, "response_time_max_ms")[1] == Approx(7).margin(1e-9));
  CHECK(list(m, "preemptions") == std::vector<double>{0, 1});
  CHECK(metric(m, "total_deadline_misses") == 0);
}

TEST_CASE("realtime: overheads from the kernel model lengthen the hand-computed schedule") {
  // The same rate-monotonic schedule with a 10 us context switch (25000 cycles at 2.5 GHz): task 2 switches in twice
  // and out once before it ends, and task 1's switches delay it too, so it ends well after 7 ms and misses.
  json doc = zero_overhead("rm", 1, periodic(kHandTasks));
  doc["kernel"]["monolithic"]["context_switch_cycles"] = 25000;
  json m = run_metrics(doc);
  CHECK(list(m, "response_time_max_ms")[1] > 7 + 3 * 0.01 - 1e-9);
  CHECK(list(m, "deadline_misses")[1] == 1);
}

TEST_CASE("realtime: partitioned EDF at utilisation 1 per core misses no deadline") {
  // Utilisations 0.5, 0.5, 0.6, 0.4: first-fit decreasing puts {3/5, 4/10} on core 0 and {2/4, 3/6} on core 1, each
  // exactly 1. Hyperperiod 60 ms.
  json tasks = json::array({task(4, 2), task(6, 3), task(5, 3), task(10, 4)});
  json m = run_metrics(zero_overhead("pedf", 2, periodic(tasks)));
  CHECK(metric(m, "utilisation") == Approx(2));
  CHECK(metric(m, "total_jobs") == 15 + 10 + 12 + 6);
  CHECK(metric(m, "total_deadline_misses") == 0);
  CHECK(metric(m, "total_preemptions") > 0);  // EDF preempts here: the schedule is not trivially sequential
  CHECK(metric(m, "total_migrations") == 0);  // partitioned: a task never leaves its core
  // Rate-monotonic on the same partition misses on core 1: {2/4, 3/6} has response time 7 > 6 for the second task.
  json rm_tasks = json::array({task(4, 2, 0, 1), task(6, 3, 0, 1), task(5, 3, 0, 0), task(10, 4, 0, 0)});
  json r = run_metrics(zero_overhead("rm", 2, periodic(rm_tasks)));
  CHECK(list(r, "deadline_misses")[0] == 0);
  CHECK(list(r, "deadline_misses")[1] > 0);
  CHECK(list(r, "deadline_misses")[2] == 0);
  CHECK(list(r, "deadline_misses")[3] == 0);
}

TEST_CASE("realtime: EDF on one core schedules generated task sets at utilisation 1") {
  for (int seed : {1, 2, 3}) {
    INFO("seed " << seed);
    json w = {{"kind", "periodic"}, {"utilisation", 1.0},  {"task_count", 6},
              {"period_min_ms", 5}, {"period_max_ms", 50}, {"duration_ms", 500}};
    json doc = zero_overhead("pedf", 1, w);
    doc["run"] = {{"seed", seed}};
    json m = run_metrics(doc);
    CHECK(metric(m, "utilisation") == Approx(1));
    CHECK(metric(m, "total_jobs") > 60);
    CHECK(metric(m, "total_deadline_misses") == 0);
  }
}

TEST_CASE("realtime: rate-monotonic meets every deadline below the Liu and Layland bound") {
  const int n = 4;
  const double bound = n * (std::pow(2.0, 1.0 / n) - 1);  // 0.7568
  for (int seed : {1, 2, 3, 4}) {
    INFO("seed " << seed);
    json w = {{"kind", "periodic"}, {"utilisation", bound - 0.001}, {"task_count", n},
              {"period_min_ms", 5}, {"period_max_ms", 50},          {"duration_ms", 500}};
    json doc = zero_overhead("rm", 1, w);
    doc["run"] = {{"seed", seed}};
    json m = run_metrics(doc);
    CHECK(metric(m, "total_jobs") > 40);
    CHECK(metric(m, "total_deadline_misses") == 0);
  }
}

TEST_CASE("realtime: above the Liu and Layland bound rate-monotonic misses where EDF does not") {
  // Buttazzo's example: (C=2, T=5) and (C=4, T=7), U = 0.971 > 2(sqrt 2 - 1) = 0.828. Under RM task 2's first job is
  // preempted at 5 and ends at 8 > 7; EDF meets every deadline of the hyperperiod (35 ms).
  json tasks = json::array({task(5, 2), task(7, 4)});
  json rm = run_metrics(zero_overhead("rm", 1, periodic(tasks)));
  CHECK(list(rm, "deadline_misses")[0] == 0);
  CHECK(list(rm, "deadline_misses")[1] > 0);
  CHECK(metric(rm, "first_miss_ms") == Approx(7));
  json edf = run_metrics(zero_overhead("pedf", 1, periodic(tasks)));
  CHECK(metric(edf, "total_jobs") == 7 + 5);
  CHECK(metric(edf, "total_deadline_misses") == 0);
}

TEST_CASE("realtime: global EDF shows the Dhall effect") {
  // m light tasks (C = 0.2, T = 10) and one heavy task (C = 10, T = 10.1) on m cores: total utilisation
  // 0.02 m + 0.99. Global EDF runs the light jobs first (earlier deadlines) on every core, so the heavy job starts at
  // 0.2 and ends at 10.2, after its deadline 10.1. Partitioned EDF gives the heavy task a core of its own.
  for (int cores : {2, 4}) {
    INFO(cores << " cores");
    json tasks = json::array();
    for (int i = 0; i < cores; ++i) tasks.push_back(task(10, 0.2));
    tasks.push_back(task(10.1, 10));
    json g = run_metrics(zero_overhead("gedf", cores, periodic(tasks, 10)));
    CHECK(list(g, "deadline_misses").back() == 1);
    CHECK(list(g, "response_time_max_ms").back() == Approx(10.2).margin(1e-9));
    json p = run_metrics(zero_overhead("pedf", cores, periodic(tasks, 10)));
    CHECK(metric(p, "total_deadline_misses") == 0);
  }
}

TEST_CASE("realtime: global EDF migrates preempted jobs, partitioned EDF never does") {
  json w = {{"kind", "periodic"}, {"utilisation", 3.0},  {"task_count", 10},
            {"period_min_ms", 5}, {"period_max_ms", 50}, {"duration_ms", 300}};
  json g = run_metrics(zero_overhead("gedf", 4, w));
  CHECK(metric(g, "total_preemptions") > 0);
  CHECK(metric(g, "total_migrations") > 0);
  json p = run_metrics(zero_overhead("pedf", 4, w));
  CHECK(metric(p, "total_migrations") == 0);
  CHECK(metric(p, "total_jobs") == metric(g, "total_jobs"));
}

TEST_CASE("realtime: the periodic workload rejects bad task sets with the JSON path") {
  json w = periodic(json::array({task(4, 5)}));
  CHECK_THAT(setup_error(zero_overhead("pedf", 1, w)),
             Catch::Contains("workload.tasks[0].wcet_ms") && Catch::Contains("longer than the task's deadline"));
  w = periodic(json::array({task(4, 1)}));
  w["utilisation"] = 0.5;
  CHECK_THAT(setup_error(zero_overhead("pedf", 1, w)), Catch::Contains("not both"));
  json g = {{"kind", "periodic"}, {"utilisation", 3.0}, {"task_count", 2}};
  CHECK_THAT(setup_error(zero_overhead("pedf", 1, g)), Catch::Contains("at most 1"));
  json none = {{"kind", "periodic"}};
  CHECK_THAT(setup_error(zero_overhead("pedf", 1, none)), Catch::Contains("no tasks"));
}

}  // namespace mksim::test
