// ycsb: instances that would oversubscribe shared cores do better on disjoint cores; the mixes cost what their
// operations imply; bad placements are errors.
#include "test_workload_support.hpp"

using namespace mksim;
using namespace mksim::test;

namespace {

json ycsb(const json& params) {
  json w = {{"kind", "ycsb"}, {"record_count", 100000}, {"duration_s", 4e-3}};
  w.update(params);
  return {{"machine", small_machine(1, 4)}, {"kernel", {{"round-robin", {{"time_slice_us", 250}}}}}, {"workload", w}};
}

}  // namespace

TEST_CASE("ycsb: disjoint placement beats shared placement when instances would oversubscribe cores") {
  const json two = {{"instances", 2}, {"cores_per_instance", 2}, {"mix", "B"}};
  json disjoint = two, shared = two;
  disjoint["instance_placement"] = "disjoint-cores";
  shared["instance_placement"] = "same-cores";
  json d = run_metrics(ycsb(disjoint)), s = run_metrics(ycsb(shared));
  INFO("disjoint " << d.dump() << "\nshared " << s.dump());
  CHECK(metric(d, "ops_per_s") > 1.6 * metric(s, "ops_per_s"));
  auto d_per = d["ops_per_s_per_instance"].get<std::vector<double>>();
  auto s_per = s["ops_per_s_per_instance"].get<std::vector<double>>();
  REQUIRE(d_per.size() == 2);
  REQUIRE(s_per.size() == 2);
  CHECK(d_per[0] + d_per[1] == Approx(metric(d, "ops_per_s")));
  // Sharing two cores, both instances together do about what one does alone on its two cores, less switching.
  CHECK(metric(s, "ops_per_s") < 1.05 * d_per[0]);
  CHECK(metric(s, "ops_per_s") > 0.6 * d_per[0]);
}

TEST_CASE("ycsb: the mixes cost what their operations imply") {
  auto ops = [](const json& params) {
    json p = {{"cores_per_instance", 2}};
    p.update(params);
    return metric(run_metrics(ycsb(p)), "ops_per_s");
  };
  const double c = ops({{"mix", "C"}});
  CHECK(ops({{"mix", "F"}}) < c);        // half the operations add a latch and a write to the read
  CHECK(ops({{"mix", "E"}}) < 0.5 * c);  // a scan reads up to 100 records
  // Updates of workload A from 4 cores serialise on the latches: all leaves under one latch is much slower than
  // striped over 1,024.
  CHECK(ops({{"mix", "A"}, {"leaf_locks", 1}, {"cores_per_instance", 4}}) <
        0.7 * ops({{"mix", "A"}, {"leaf_locks", 1024}, {"cores_per_instance", 4}}));
  json m = run_metrics(ycsb({{"mix", "D"}, {"cores_per_instance", 2}}));
  CHECK(metric(m, "ops_per_s") > 0);
  CHECK(metric(m, "tree_depth") == 4);  // 100,000 records, 32 per node: 3,125 leaves, 98, 4, 1
}

TEST_CASE("ycsb: placements the machine cannot hold are errors") {
  CHECK_THAT(setup_error(ycsb({{"instances", 3}, {"cores_per_instance", 2}})),
             Catch::Contains("workload.cores_per_instance") &&
                 Catch::Contains("3 instances on disjoint sets of 2 cores") &&
                 Catch::Contains("machine has cores 0..3"));
  CHECK(setup_error(ycsb({{"instances", 3}, {"cores_per_instance", 2}, {"instance_placement", "same-cores"}})).empty());
  CHECK_THAT(setup_error(ycsb({{"mix", "G"}})), Catch::Contains("workload.mix"));
  CHECK_THAT(setup_error(ycsb({{"value_bytes", 2000}})), Catch::Contains("more than record_bytes"));
}
