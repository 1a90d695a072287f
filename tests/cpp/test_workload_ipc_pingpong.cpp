// ipc-pingpong: the round trip grows with the distance between the two cores, the named placements pick pairs that
// fit their definitions, and impossible placements are clear errors.
#include "test_workload_support.hpp"

using namespace mksim;
using namespace mksim::test;

namespace {

// 4 sockets in a ring (so some sockets are two hops apart), each with 2 dies of 2 cores; a die has its own L3.
json ring_machine() {
  return json::parse(R"({"sockets": 4, "cores_per_socket": 4, "dies_per_socket": 2, "freq_ghz": 2.5,
      "caches": {"l3": {"shared_by": "die", "latency_cycles": 40}},
      "memory": {"local_latency_ns": 80},
      "interconnect": {"topology": "ring", "hop_latency_ns": 60}})");
}

json pingpong(const json& machine, const json& placement) {
  return {{"machine", machine},
          {"workload", {{"kind", "ipc-pingpong"}, {"placement", placement}, {"round_trips", 200}}}};
}

}  // namespace

TEST_CASE("ipc-pingpong: round trip grows with distance") {
  const json machine = ring_machine();
  const Machine m = resolve_scenario(pingpong(machine, "same-die"), "test", ".").machine;
  std::map<std::string, json> r;
  for (const char* p : {"same-core", "same-die", "same-socket", "one-hop", "two-hops"})
    r[p] = run_metrics(pingpong(machine, p));

  auto pair = [&](const char* p) {
    auto v = r[p]["core_pair"].get<std::vector<int>>();
    return std::pair<int, int>{v[0], v[1]};
  };
  // Each named placement chose a pair that fits its definition.
  CHECK(pair("same-core").first == pair("same-core").second);
  auto [d0, d1] = pair("same-die");
  CHECK((d0 != d1 && m.shared_cache(d0, d1) != nullptr));
  auto [s0, s1] = pair("same-socket");
  CHECK((m.cores[s0].package == m.cores[s1].package && m.shared_cache(s0, s1) == nullptr));
  for (auto [p, hops] : {std::pair{"one-hop", 1}, std::pair{"two-hops", 2}}) {
    auto [a, b] = pair(p);
    CHECK(m.cores[a].package != m.cores[b].package);
    CHECK(m.interconnect.hops[m.cores[a].node][m.cores[b].node] == hops);
  }

  auto one_way_ns = [&](const char* p) { return metric(r[p], "one_way_ns"); };
  CHECK(one_way_ns("same-die") < one_way_ns("same-socket"));
  CHECK(one_way_ns("same-socket") < one_way_ns("one-hop"));
  CHECK(one_way_ns("one-hop") < one_way_ns("two-hops"));
  // A message's cache line must cross to the receiver: one hop further costs at least that hop's latency one way.
  CHECK(one_way_ns("two-hops") - one_way_ns("one-hop") >= 60 * 0.999);
  for (const auto& [p, met] : r) {
    INFO(p);
    CHECK(metric(met, "round_trip_ns") == Approx(2 * metric(met, "one_way_ns")));
    CHECK(metric(met, "round_trip_cycles") == Approx(2.5 * metric(met, "round_trip_ns")));
    CHECK(metric(met, "one_way_cycles") == Approx(metric(met, "round_trip_cycles") / 2));
  }
}

TEST_CASE("ipc-pingpong: an explicit pair of cores, and clear errors for placements the machine lacks") {
  json m = run_metrics(pingpong(ring_machine(), json::array({3, 12})));
  CHECK(m["core_pair"] == json::array({3, 12}));

  const json two_sockets = small_machine(2, 4);
  CHECK_THAT(
      setup_error(pingpong(two_sockets, "two-hops")),
      Catch::Contains("workload.placement") && Catch::Contains("no two cores on sockets 2 interconnect hops apart"));
  CHECK_THAT(setup_error(pingpong(small_machine(1, 4), "one-hop")), Catch::Contains("it has one socket"));
  CHECK_THAT(setup_error(pingpong(two_sockets, json::array({0, 8}))), Catch::Contains("core 8 does not exist"));
  CHECK_THAT(setup_error(pingpong(two_sockets, json::array({0}))), Catch::Contains("expected a pair of core ids"));
  CHECK_THAT(setup_error(pingpong(two_sockets, "same-dye")), Catch::Contains("did you mean 'same-die'"));
  json one_core = small_machine(1, 1);
  CHECK_THAT(setup_error(pingpong(one_core, "same-socket")), Catch::Contains("no socket with two cores"));
}
