// unmap: under the monolithic kernel the unmap latency grows with the number of cores whose TLBs may hold the
// address space, since every one of them must be interrupted and acknowledge.
#include "test_workload_support.hpp"

using namespace mksim;
using namespace mksim::test;

namespace {

json unmap(int cores) {
  return {{"machine", small_machine(2, 8)},
          {"kernel", {{"architecture", "monolithic"}, {"monolithic", {{"ipi_latency_ns", 500}}}}},
          {"workload", {{"kind", "unmap"}, {"cores", cores}, {"iterations", 50}}}};
}

}  // namespace

TEST_CASE("unmap: latency grows with k under monolithic") {
  std::map<int, json> r;
  for (int k : {1, 2, 4, 8, 16}) r[k] = run_metrics(unmap(k));
  auto ns = [&](int k) { return metric(r[k], "latency_ns"); };
  INFO("unmap latency for 1, 2, 4, 8, 16 cores (ns): " << ns(1) << ", " << ns(2) << ", " << ns(4) << ", " << ns(8)
                                                       << ", " << ns(16));
  for (int k : {2, 4, 8, 16}) CHECK(ns(k) > ns(k / 2));
  // A shootdown waits at least for one interrupt to be delivered and acknowledged.
  CHECK(ns(2) - ns(1) >= 500);
  for (int k : {1, 2, 4, 8, 16}) {
    CHECK(metric(r[k], "unmaps") == 50);
    CHECK(metric(r[k], "latency_cycles") == Approx(2.5 * ns(k)));
  }
}

TEST_CASE("unmap: more cores than the machine has is an error") {
  CHECK_THAT(setup_error(unmap(17)), Catch::Contains("workload.first_core") &&
                                         Catch::Contains("cores 0..16 are needed") &&
                                         Catch::Contains("machine has cores 0..15"));
}
