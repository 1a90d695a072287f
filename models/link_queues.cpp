#include "models/link_queues.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace mksim {

WindowShare share_window(double window_bytes, const std::vector<double>& bytes, const std::vector<double>& rtt_s) {
  WindowShare w;
  w.windows.assign(bytes.size(), 0.0);
  double total = 0, weighted = 0;
  for (size_t i = 0; i < bytes.size(); ++i) total += bytes[i], weighted += bytes[i] * rtt_s[i];
  if (!(weighted > 0)) return w;
  for (size_t i = 0; i < bytes.size(); ++i) w.windows[i] = window_bytes * bytes[i] * rtt_s[i] / weighted;
  w.rate = window_bytes * total / weighted;
  return w;
}

int LinkQueues::add_link(double capacity_bytes_s) {
  if (!(capacity_bytes_s > 0)) throw std::invalid_argument("LinkQueues: a link's capacity must be > 0");
  links_.push_back({capacity_bytes_s, {}});
  return static_cast<int>(links_.size()) - 1;
}

int LinkQueues::add_flow(std::span<const int> links, double window_bytes, double rtt_s) {
  int id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<int>(flows_.size());
    flows_.emplace_back();
  }
  Flow& f = flows_[id];
  f.links.assign(links.begin(), links.end());
  f.window = window_bytes;
  f.rtt = rtt_s;
  f.live = true;
  for (int l : f.links) links_.at(l).flows.push_back(id);
  ++live_;
  return id;
}

void LinkQueues::remove_flow(int id) {
  Flow& f = flows_.at(id);
  if (!f.live) return;
  for (int l : f.links) {
    auto& v = links_[l].flows;
    v.erase(std::find(v.begin(), v.end(), id));
  }
  f.live = false;
  free_.push_back(id);
  --live_;
}

void LinkQueues::set_window(int id, double window_bytes) {
  Flow& f = flows_.at(id);
  if (f.live) f.window = window_bytes;
}

double LinkQueues::queued_bytes(int link) const {
  double queued = 0;
  for (int id : links_.at(link).flows) {
    const Flow& f = flows_[id];
    // The flow's rate: its window over its round trip, or its share of the link that gives it the least.
    double rate = f.rtt > 0 ? f.window / f.rtt : std::numeric_limits<double>::infinity();
    int bottleneck = -1;
    for (int l : f.links) {
      const double share = links_[l].capacity / static_cast<double>(links_[l].flows.size());
      if (share < rate) rate = share, bottleneck = l;
    }
    if (bottleneck == link) queued += std::max(0.0, f.window - rate * f.rtt);
  }
  return queued;
}

double LinkQueues::wait_s(std::span<const int> route) const {
  if (live_ == 0) return 0;
  double wait = 0;
  for (int l : route) wait += queued_bytes(l) / links_.at(l).capacity;
  return wait;
}

}  // namespace mksim
