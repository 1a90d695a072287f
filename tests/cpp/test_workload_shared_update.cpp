// shared-update: with shared memory and one lock, each update waits for the other cores' updates, so its cost grows
// with the number of cores; without a lock no thread ever sleeps, the lines alone move between the cores; the
// message-server mode runs, and its server must have a core of its own. (The costs of the lines themselves are
// checked in test_coherence.cpp.)
#include "test_workload_support.hpp"

using namespace mksim;
using namespace mksim::test;

namespace {

json shared_update(const char* mode, int cores) {
  return {{"machine", small_machine(2, 8)},
          {"workload", {{"kind", "shared-update"}, {"mode", mode}, {"cores", cores}, {"updates_per_core", 300}}}};
}

}  // namespace

TEST_CASE("shared-update: cycles per update grow with k in shared-memory mode") {
  std::map<int, json> r;
  for (int k : {1, 2, 4, 8}) r[k] = run_metrics(shared_update("shared-memory", k));
  auto cycles = [&](int k) { return metric(r[k], "cycles_per_update"); };
  INFO("cycles per update for 1, 2, 4, 8 cores: " << cycles(1) << ", " << cycles(2) << ", " << cycles(4) << ", "
                                                  << cycles(8));
  for (int k : {2, 4, 8}) CHECK(cycles(k) > cycles(k / 2));
  // Once the lock is always contended, each update waits for the k - 1 others: cost nearly proportional to k.
  CHECK(cycles(8) > 3 * cycles(2));
  // The lock serialises updates: more cores never update faster than one alone.
  CHECK(metric(r[8], "updates_per_s") <= metric(r[1], "updates_per_s"));
}

TEST_CASE("shared-update: without a lock no update sleeps, and contention costs less than under the mutex") {
  auto run = [](const char* sync) {
    json doc = shared_update("shared-memory", 8);
    doc["workload"]["sync"] = sync;
    json r = run_isolated(resolve_scenario(doc, "test", ".")).doc;
    REQUIRE(r["summary"]["status"] == "completed");
    return r;
  };
  json none = run("none"), mutex = run("mutex");
  const auto& events = none["summary"]["events_by_kind"];
  CHECK(!events.contains("lock"));
  CHECK(!events.contains("syscall"));
  CHECK(events.at("mem_access") == 8 * 300);
  for (const auto& t : none["threads"]) CHECK(t["blocked_s"].get<double>() == 0);
  // Under the mutex a contended update sleeps in the kernel and is woken by the releaser.
  CHECK(mutex["summary"]["events_by_kind"].at("lock").get<int>() == 8 * 300);
  double blocked = 0;
  for (const auto& t : mutex["threads"]) blocked += t["blocked_s"].get<double>();
  CHECK(blocked > 0);
  CHECK(metric(none["workload"]["metrics"], "cycles_per_update") <
        metric(mutex["workload"]["metrics"], "cycles_per_update") / 2);
}

TEST_CASE("shared-update: message-server mode and its errors") {
  for (bool wait : {true, false}) {
    json doc = shared_update("message-server", 4);
    doc["workload"]["wait_for_reply"] = wait;
    json m = run_metrics(doc);
    INFO("wait_for_reply " << wait << ": " << m.dump());
    CHECK(metric(m, "cycles_per_update") > 0);
    CHECK(metric(m, "updates_per_s") > 0);
  }
  // Without replies a client only pays for sending.
  json fire = shared_update("message-server", 4);
  fire["workload"]["wait_for_reply"] = false;
  CHECK(metric(run_metrics(fire), "cycles_per_update") <
        metric(run_metrics(shared_update("message-server", 4)), "cycles_per_update"));

  json doc = shared_update("message-server", 16);
  CHECK_THAT(setup_error(doc), Catch::Contains("workload.server_core") && Catch::Contains("core of its own"));
  doc["workload"]["cores"] = 4;
  doc["workload"]["server_core"] = 2;
  CHECK_THAT(setup_error(doc), Catch::Contains("core 2 is one of the clients' cores"));
  doc["workload"]["server_core"] = 4;
  CHECK(setup_error(doc).empty());
}
