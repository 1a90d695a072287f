// Loaded latency (models/link_queues.hpp): the bytes window-limited flows queue at the links that limit them, and the
// wait of a request that crosses those links.
#include <catch2/catch.hpp>
#include <vector>

#include "models/link_queues.hpp"

using namespace mksim;

TEST_CASE("below saturation nothing waits; at saturation a request takes n x window / capacity in all") {
  LinkQueues q;
  const int controller = q.add_link(100e9);      // 100 GB/s
  const double window = 12 * 64.0, rtt = 81e-9;  // 12 misses in flight, 81 ns: 9.5 GB/s a flow
  std::vector<int> flows;
  for (int i = 0; i < 10; ++i) flows.push_back(q.add_flow(std::vector<int>{controller}, window, rtt));
  const std::vector<int> route{controller};
  CHECK(q.wait_s(route) == 0);  // 10 x 9.5 GB/s < 100 GB/s: every flow is limited by its window
  for (int i = 10; i < 19; ++i) flows.push_back(q.add_flow(std::vector<int>{controller}, window, rtt));
  // 19 flows share 100 GB/s (5.26 GB/s each): each keeps window - rate x rtt bytes queued
  CHECK(q.queued_bytes(controller) == Approx(19 * window - 100e9 * rtt));
  CHECK(rtt + q.wait_s(route) == Approx(19 * window / 100e9));  // the closed loop's response time, 146 ns
  for (int id : flows) q.remove_flow(id);
  CHECK(q.active_flows() == 0);
  CHECK(q.wait_s(route) == 0);
}

TEST_CASE("a flow queues only at its bottleneck, and a request waits at every link of its path") {
  LinkQueues q;
  const int core_link = q.add_link(14e9), controller = q.add_link(100e9), remote = q.add_link(20e9);
  const double window = 768, rtt = 100e-9;
  // Four flows through the remote link (5 GB/s each there) and the controller: the remote link limits them.
  for (int i = 0; i < 4; ++i) q.add_flow(std::vector<int>{remote, controller}, window, rtt);
  CHECK(q.queued_bytes(controller) == 0);
  CHECK(q.queued_bytes(remote) == Approx(4 * (window - 5e9 * rtt)));
  const std::vector<int> local{controller, core_link}, across{remote, controller, core_link};
  CHECK(q.wait_s(local) == 0);
  CHECK(q.wait_s(across) == Approx(4 * (window - 5e9 * rtt) / 20e9));
}

TEST_CASE("flow ids are reused and a link rejects a capacity that is not positive") {
  LinkQueues q;
  const int l = q.add_link(1e9);
  const int a = q.add_flow(std::vector<int>{l}, 64, 1e-7);
  q.remove_flow(a);
  q.remove_flow(a);  // twice: no effect
  CHECK(q.add_flow(std::vector<int>{l}, 64, 1e-7) == a);
  CHECK(q.active_flows() == 1);
  CHECK_THROWS_AS(q.add_link(0), std::invalid_argument);
}

TEST_CASE("a core's window shared by its flows: each holds its bytes' part of the time in flight") {
  // One flow: the whole window, at window / rtt.
  WindowShare one = share_window(640, {1e6}, {80e-9});
  CHECK(one.windows == std::vector<double>{640});
  CHECK(one.rate == Approx(640 / 80e-9));
  // Half the bytes at 80 ns and half at 130: the far half holds 130 / 210 of the window, and both move at
  // window / 105 ns together, between the near node's rate alone and the far one's.
  WindowShare two = share_window(640, {1e6, 1e6}, {80e-9, 130e-9});
  CHECK(two.windows[0] == Approx(640 * 80.0 / 210));
  CHECK(two.windows[1] == Approx(640 * 130.0 / 210));
  CHECK(two.rate == Approx(640 / 105e-9));
  CHECK(two.windows[0] / 80e-9 == Approx(two.windows[1] / 130e-9));  // each flow at half the rate: they end together
  // Nothing to move: no rate.
  CHECK(share_window(640, {}, {}).rate == 0);
}

TEST_CASE("a flow's window can change while it runs, and the queue follows") {
  LinkQueues q;
  const int controller = q.add_link(10e9);
  const std::vector<int> route{controller};
  const int a = q.add_flow(route, 1000, 100e-9), b = q.add_flow(route, 1000, 100e-9);
  // 5 GB/s each at the controller: 500 bytes each in transit, the rest queued.
  CHECK(q.queued_bytes(controller) == Approx(2 * (1000 - 500)));
  q.set_window(a, 600);
  CHECK(q.queued_bytes(controller) == Approx((600 - 500) + (1000 - 500)));
  q.remove_flow(b);
  q.set_window(b, 5000);  // an ended flow keeps no window
  CHECK(q.queued_bytes(controller) == Approx(0));
}
