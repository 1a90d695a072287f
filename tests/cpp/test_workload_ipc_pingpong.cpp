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

namespace {

// Two sockets of two cores at 2 GHz with private caches only: a cache line moves between two cores of a socket at the
// local memory latency, 50 ns = 100 cycles.
json private_caches_machine() {
  return json::parse(R"({"sockets": 2, "cores_per_socket": 2, "freq_ghz": 2.0, "caches": {"l3": {"size_kib": 0}},
      "memory": {"local_latency_ns": 50}, "interconnect": {"hop_latency_ns": 100}})");
}

json urpc_window(int window, const json& multikernel = json::object()) {
  return {{"machine", private_caches_machine()},
          {"kernel", {{"architecture", "multikernel"}, {"multikernel", multikernel}}},
          {"workload",
           {{"kind", "ipc-pingpong"},
            {"placement", "same-socket"},
            {"round_trips", 4000},
            {"warmup_round_trips", 40},
            {"window", window}}}};
}

}  // namespace

TEST_CASE("ipc-pingpong: a window of outstanding messages pipelines the channel up to its busiest stage") {
  // URPC on polled lines (multikernel defaults: 60 cycles to write a message, 60 to read it): one way is the write,
  // the invalidation of the receiver's copy and its fetch (2 x 100), and the read: 320 cycles.
  std::map<int, json> r;
  for (int w : {1, 2, 4, 8, 32}) r[w] = run_metrics(urpc_window(w));
  const json& one = r[1];
  CHECK(metric(one, "one_way_cycles") == Approx(320).epsilon(1e-6));
  CHECK(metric(one, "window") == 1);
  // One message at a time: the rate is one per round trip.
  CHECK(metric(one, "messages_per_kcycle") == Approx(1000 / metric(one, "round_trip_cycles")).epsilon(1e-6));
  CHECK(metric(one, "message_interval_cycles") == Approx(metric(one, "round_trip_cycles")).epsilon(1e-6));
  // Two in flight during one round trip: twice the rate, the round trip itself unchanged.
  CHECK(metric(r[2], "messages_per_kcycle") == Approx(2 * metric(one, "messages_per_kcycle")).epsilon(1e-3));
  CHECK(metric(r[2], "round_trip_cycles") == Approx(metric(one, "round_trip_cycles")).epsilon(1e-3));
  // More in flight: each core is busy all the time, taking a reply (its fetch from the other core's cache, 100
  // cycles, and the read, 60) and writing the next message (60; its ownership request overlaps what follows). (The
  // last replies of a run are taken without a send after them: a finite run is a little faster, under 0.2% here.)
  const double bottleneck_cycles = 100 + 60 + 60;
  for (int w : {4, 8, 32}) {
    INFO("window " << w);
    CHECK(metric(r[w], "messages_per_kcycle") == Approx(1000 / bottleneck_cycles).epsilon(2e-3));
    // Little's law: the messages in flight wait behind each other.
    CHECK(metric(r[w], "round_trip_cycles") == Approx(w * bottleneck_cycles).epsilon(0.01));
  }
  // Throughput never falls with the window, and pipelining beats one message at a time.
  CHECK(metric(r[4], "messages_per_kcycle") > 1.4 * metric(r[2], "messages_per_kcycle"));
  CHECK(metric(r[32], "messages_per_kcycle") >= metric(r[8], "messages_per_kcycle") * 0.999);

  // The busiest stage sets the rate: a slower read moves the plateau by exactly its extra cycles.
  const json slow = run_metrics(urpc_window(8, {{"urpc_receive_cycles", 200}}));
  CHECK(metric(slow, "messages_per_kcycle") == Approx(1000 / (bottleneck_cycles + 140)).epsilon(2e-3));
}

TEST_CASE("ipc-pingpong: a message sent while the receiver is busy goes to the receiver's core") {
  // With a window the client writes messages while the server is still working on earlier ones. They are URPC
  // messages to the server's core, not LRPCs on the sender's core: every measured message costs the URPC path.
  json doc = urpc_window(8);
  json res = run_isolated(resolve_scenario(doc, "test", ".")).doc;
  REQUIRE(res["summary"]["status"] == "completed");
  const json& ev = res["summary"]["events_by_kind"];
  const int messages = 2 * (4000 + 40);
  // Before the server's first read the channel's reader is unknown (at most the messages sent before it).
  CHECK(ev.value("lrpc", 0) <= 8);
  CHECK(ev.at("urpc_message").get<int>() >= messages - 8);
}

TEST_CASE("ipc-pingpong: window and address_spaces are checked") {
  json doc = pingpong(ring_machine(), "same-die");
  doc["workload"]["window"] = 0;
  CHECK_THAT(setup_error(doc), Catch::Contains("workload.window") && Catch::Contains("between 1 and"));
  doc["workload"]["window"] = 2;
  doc["workload"]["address_spaces"] = "seperate";
  CHECK_THAT(setup_error(doc),
             Catch::Contains("workload.address_spaces") && Catch::Contains("did you mean 'separate'"));
}

TEST_CASE("ipc-pingpong: URPC slots are cache lines that queue at their home node with every other request") {
  // The channel's slots go through the coherence model like any shared line: with a home node that takes one
  // request per 500 ns (1,000 cycles), longer than anything else a message does, and both cores on that node, each
  // one-way message is two requests in turn at the home node (the sender's write, the receiver's read).
  json doc = urpc_window(1);
  doc["machine"]["coherence"] = {{"home_occupancy_ns", 500}};
  doc["workload"]["round_trips"] = 400;
  const json slow = run_metrics(doc);
  CHECK(metric(slow, "one_way_cycles") == Approx(2 * 1000).epsilon(1e-3));
  CHECK(metric(slow, "one_way_cycles") > 5 * metric(run_metrics(urpc_window(1)), "one_way_cycles"));
  // The other architectures' messages between cores cross lines the same way (a pipe's kernel buffer, an IPC copy, a
  // library OS's queue): with a home node that takes one request per 5 us, far longer than their traps, copies and
  // wake-ups, each one-way message is at least its write and its read in turn there (20,000 cycles).
  for (const char* arch : {"monolithic", "microkernel", "exokernel"}) {
    INFO(arch);
    json arch_doc = urpc_window(1);
    arch_doc["kernel"] = {{"architecture", arch}};
    arch_doc["machine"]["coherence"] = {{"home_occupancy_ns", 5000}};
    arch_doc["workload"]["round_trips"] = 100;
    CHECK(metric(run_metrics(arch_doc), "one_way_cycles") == Approx(2 * 10000).epsilon(0.02));
  }
}

TEST_CASE("ipc-pingpong: same-thread is the ping-pong's system calls and copies without its context switches") {
  // Li, Ding and Shen's direct cost (and lmbench's lat_ctx): a two-process ping-pong on one core less one process
  // passing the message through its own pipes. On the monolithic kernel the difference is exactly one context switch
  // per message: the kernel's switch path, the address-space switch and, untagged, the page walks after it.
  json doc = pingpong(ring_machine(), "same-thread");
  doc["kernel"] = {{"architecture", "monolithic"}, {"monolithic", {{"context_switch_cycles", 1000}}}};
  doc["machine"]["cpu"] = {{"address_space_switch_cycles", 200}, {"tagged_tlb", false}, {"page_walk_cycles", 25}};
  doc["workload"]["address_spaces"] = "separate";
  const json solo = run_metrics(doc);
  doc["workload"]["placement"] = "same-core";
  const json two = run_metrics(doc);
  CHECK(metric(solo, "one_way_cycles") > 0);
  CHECK(metric(two, "one_way_cycles") - metric(solo, "one_way_cycles") == Approx(1000 + 200 + 4 * 25).epsilon(1e-6));
  // The baseline pays the same system calls as the ping-pong: dearer kernel entries move both alike.
  doc["machine"]["cpu"]["kernel_entry_exit_cycles"] = 500;
  const json two_slow = run_metrics(doc);
  doc["workload"]["placement"] = "same-thread";
  const json solo_slow = run_metrics(doc);
  CHECK(metric(solo_slow, "one_way_cycles") - metric(solo, "one_way_cycles") == Approx(2 * 440).epsilon(1e-6));
  CHECK(metric(two_slow, "one_way_cycles") - metric(solo_slow, "one_way_cycles") ==
        Approx(metric(two, "one_way_cycles") - metric(solo, "one_way_cycles")).epsilon(1e-6));
  // One message at a time only.
  doc["workload"]["window"] = 4;
  CHECK_THAT(setup_error(doc), Catch::Contains("workload.window") && Catch::Contains("same-thread"));
}

TEST_CASE("ipc-pingpong: a message across the interconnect waits behind the streams that saturate it") {
  // A 10 GB/s interconnect; a stream keeps 10 lines in flight over the 150 ns remote latency (4.3 GB/s).
  json machine = small_machine(2, 4);
  machine["memory"] = {{"controller_bandwidth_gb_s", 100}, {"core_bandwidth_gb_s", 50}, {"core_mlp", 10}};
  machine["interconnect"] = {{"latency_ns", {{100, 150}, {150, 100}}}, {"link_bandwidth_gb_s", 10}};
  auto round_trip_ns = [&](int streams, int stream_node) {
    json pingpong = {{"kind", "ipc-pingpong"}, {"name", "pp"}, {"placement", {0, 4}}, {"round_trips", 200}};
    json load = {{"kind", "stream"},
                 {"threads", streams},
                 {"cores", {5, 6, 7}},
                 {"node", {stream_node, stream_node, stream_node}},
                 {"bytes_per_thread", 1e9}};
    json doc = {{"machine", machine}, {"kernel", {{"architecture", "multikernel"}}}, {"workload", {pingpong}}};
    if (streams > 0) doc["workload"].push_back(load);
    const json m = run_metrics(doc);  // a list of one workload reports its metrics as a single workload does
    return (m.contains("pp") ? m["pp"] : m)["round_trip_ns"].get<double>();
  };
  const double idle = round_trip_ns(0, 0);
  // Streams from socket 1's own memory do not cross the interconnect: the messages do not wait.
  CHECK(round_trip_ns(3, 1) == Approx(idle).epsilon(1e-6));
  // Three streams from node 0 ask 12.8 GB/s of the 10 GB/s link towards socket 1: each keeps 640 - 3.33 GB/s x 150 ns
  // = 140 bytes queued there, and whatever crosses from socket 0 to socket 1 waits 420 B / 10 GB/s = 42 ns. Twice a
  // round trip: core 4 fetches the ping's line from core 0, and core 4's write of a reply waits for core 0's copy of
  // the reply line to be invalidated (the acknowledgement comes from socket 0). Nothing queues the other way.
  CHECK(round_trip_ns(3, 0) == Approx(idle + 2 * 42).epsilon(1e-3));
}
