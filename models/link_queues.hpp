// Loaded latency: how long a latency-bound request (one load of a pointer chase, a cache line fetched from memory)
// waits behind the memory streams that share its path. SimGrid's fluid model shares each link's bandwidth among the
// flows crossing it but keeps no queue, so a request that is not itself a flow would see the idle latency however
// loaded the memory is. The queue follows from Little's law in a closed loop (Lazowska, Zahorjan, Graham, Sevcik,
// "Quantitative System Performance", 1984, ch. 5: the asymptotic bounds of a closed network): a flow keeps `window`
// bytes in flight (a core's misses) over a round trip `rtt` (the idle load latency), so it moves at most window / rtt;
// where a link gives it a smaller share, that link is its bottleneck, it moves at its share there, and the part of its
// window not in transit, window - rate x rtt, waits in that link's queue. A request crossing the link waits for the
// bytes queued there to drain: queued / capacity. Below saturation no flow is limited by a link and nothing waits, as
// in the fluid model; at saturation a request takes n x window / capacity in all, the response time of the closed loop.
//
// A flow's share of a link is estimated as capacity / flows on it (equal shares), and a flow queues at the first link
// of its path where that share is smallest. Plain model code (no SimGrid): the engine maps its links and memory flows
// to these ids.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace mksim {

// What the run's memory traffic adds to a latency-bound request (the engine's LinkQueues over SimGrid's routes): the
// coherence model asks it for the lines it fetches from memory and the lines it moves between caches.
class PathWaits {
 public:
  virtual ~PathWaits() = default;
  // A load from `node`'s memory to `core`.
  virtual double memory_wait_s(int core, int node) = 0;
  // A cache line from `from_core`'s cache to `to_core` (across the interconnect when their nodes differ).
  virtual double transfer_wait_s(int from_core, int to_core) = 0;
};

// A core's window shared by the memory flows it has in flight at once (one flow; the parts of an access spread over
// several nodes' memory; the streams of a core's SMT contexts): flow i moves `bytes[i]` over a round trip `rtt_s[i]`
// (the load latency). The core issues its misses in address order from one window, so each flow holds the part of
// the window that its bytes spend in flight, window x bytes[i] x rtt[i] / sum_j bytes[j] x rtt[j], and the flows
// together move at most at `rate`: window / (the byte-weighted mean round trip), Little's law over their mean latency
// (Bailey's memory-level parallelism bound), never faster than the same bytes from the nearest node alone.
struct WindowShare {
  std::vector<double> windows;  // bytes each flow keeps in flight
  double rate = 0;              // bytes per second of all of them together (0: nothing to move)
};
WindowShare share_window(double window_bytes, const std::vector<double>& bytes, const std::vector<double>& rtt_s);

class LinkQueues {
 public:
  // A link of `capacity` bytes per second (> 0); returns its id.
  int add_link(double capacity_bytes_s);
  // A flow over `links` keeping `window` bytes in flight over a round trip of `rtt_s`; returns its id.
  int add_flow(std::span<const int> links, double window_bytes, double rtt_s);
  void remove_flow(int id);
  // A live flow now keeps `window_bytes` in flight (a core's window shared anew among its flows).
  void set_window(int id, double window_bytes);
  // The wait of a request crossing `route`: the sum over its links of the bytes queued there / the link's capacity.
  double wait_s(std::span<const int> route) const;
  // The bytes queued at one link.
  double queued_bytes(int link) const;
  size_t active_flows() const { return live_; }

 private:
  struct Link {
    double capacity = 0;
    std::vector<int> flows;  // live flows crossing it, in the order they started
  };
  struct Flow {
    std::vector<int> links;
    double window = 0, rtt = 0;
    bool live = false;
  };
  std::vector<Link> links_;
  std::vector<Flow> flows_;
  std::vector<int> free_;  // ids of ended flows, reused (latest first)
  size_t live_ = 0;
};

}  // namespace mksim
