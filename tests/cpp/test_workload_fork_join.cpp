// fork-join: with large tasks the speedup follows the number of workers (and never exceeds it) in both modes; with
// tiny tasks the cost of creating and dispatching them eats the parallelism; bad parameters are errors.
#include "test_workload_support.hpp"

using namespace mksim;
using namespace mksim::test;

namespace {

json fork_join(const char* mode, int workers, double task_cycles, int tasks = 64) {
  return {
      {"machine", small_machine(1, 8)},
      {"workload",
       {{"kind", "fork-join"}, {"mode", mode}, {"workers", workers}, {"tasks", tasks}, {"task_cycles", task_cycles}}}};
}

}  // namespace

TEST_CASE("fork-join: speedup grows with workers and never exceeds their number") {
  for (const char* mode : {"spawn", "queue"}) {
    double previous = 0;
    for (int w : {1, 2, 4, 8}) {
      json m = run_metrics(fork_join(mode, w, 1e6));
      INFO(mode << ", " << w << " workers: " << m.dump());
      const double speedup = metric(m, "speedup");
      CHECK(speedup <= w);
      CHECK(speedup > 0.9 * w);  // 64 tasks of 0.4 ms split evenly; dispatch costs are microseconds
      CHECK(speedup > previous);
      CHECK(metric(m, "work_s") == Approx(64 * 1e6 / 2.5e9));
      CHECK(metric(m, "makespan_s") == Approx(metric(m, "work_s") / speedup));
      CHECK(metric(m, "tasks_per_s") == Approx(64 / metric(m, "makespan_s")));
      CHECK(metric(m, "efficiency") == Approx(speedup / w));
      previous = speedup;
    }
  }
}

TEST_CASE("fork-join: tiny tasks are dominated by creating and dispatching them") {
  for (const char* mode : {"spawn", "queue"}) {
    INFO(mode);
    const double big = metric(run_metrics(fork_join(mode, 8, 1e6)), "efficiency");
    const double tiny = metric(run_metrics(fork_join(mode, 8, 1e3, 256)), "efficiency");
    CHECK(tiny < 0.5 * big);
  }
  json doc = fork_join("spawn", 9, 1e3);
  CHECK_THAT(setup_error(doc),
             Catch::Contains("workload.first_core") && Catch::Contains("cores 0..8 are needed for the 9 workers"));
  doc = fork_join("queue", 2, 1e3);
  doc["workload"]["tasks"] = 0;
  CHECK_THAT(setup_error(doc), Catch::Contains("workload.tasks"));
}
