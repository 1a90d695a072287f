// larson: under the default global-heap allocator (one lock) throughput stops scaling with threads; with enough work
// between allocations it scales again, which shows the limit is the allocator's lock.
#include "test_workload_support.hpp"

using namespace mksim;
using namespace mksim::test;

namespace {

json larson(int threads, double work_cycles) {
  return {{"machine", small_machine(2, 8)},
          {"kernel", {{"allocator", "global-heap"}}},
          {"workload",
           {{"kind", "larson"},
            {"threads", threads},
            {"objects_per_thread", 200},
            {"duration_s", 2e-4},
            {"work_cycles", work_cycles}}}};
}

}  // namespace

TEST_CASE("larson: under the global heap, throughput stops scaling with threads") {
  std::map<int, json> r;
  for (int t : {1, 2, 4, 8}) r[t] = run_metrics(larson(t, 0));
  auto ops = [&](int t) { return metric(r[t], "ops_per_s"); };
  INFO("ops/s with 1, 2, 4, 8 threads: " << ops(1) << ", " << ops(2) << ", " << ops(4) << ", " << ops(8));
  CHECK(ops(2) < 1.5 * ops(1));
  CHECK(ops(4) < 1.2 * ops(2));
  CHECK(ops(8) < 1.2 * ops(4));
  CHECK(ops(8) < 1.5 * ops(1));
  for (int t : {2, 4, 8}) CHECK(metric(r[t], "ops_per_s_per_thread") < metric(r[t / 2], "ops_per_s_per_thread"));
  for (int t : {1, 2, 4, 8}) CHECK(metric(r[t], "ops_per_s_per_thread") == Approx(ops(t) / t));

  // The same threads with 20,000 cycles of work per replacement rarely meet at the lock: nearly linear.
  const double one = metric(run_metrics(larson(1, 2e4)), "ops_per_s");
  const double eight = metric(run_metrics(larson(8, 2e4)), "ops_per_s");
  CHECK(eight > 6.5 * one);
}

TEST_CASE("larson: bad parameters are errors") {
  json doc = larson(2, 0);
  doc["workload"]["min_bytes"] = 2000;
  CHECK_THAT(setup_error(doc), Catch::Contains("workload.min_bytes") && Catch::Contains("more than max_bytes"));
  doc = larson(2, 0);
  doc["workload"]["threads"] = 17;
  CHECK_THAT(setup_error(doc), Catch::Contains("workload.first_core") &&
                                   Catch::Contains("cores 0..16 are needed for 17 threads, one per core"));
  doc["workload"]["threads"] = 8;
  doc["workload"]["first_core"] = 8;
  CHECK(setup_error(doc).empty());
  doc = larson(2, 0);
  doc["workload"]["handoff_fraction"] = 2;
  CHECK_THAT(setup_error(doc), Catch::Contains("workload.handoff_fraction"));
}
