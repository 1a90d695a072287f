#include "models/coherence.hpp"

#include <algorithm>
#include <cmath>

#include "models/costs.hpp"

namespace mksim {

namespace {

// A hit: the load-to-use latency of the core's own first-level cache.
double hit_ns(const Machine& m, int core) {
  const auto& cs = m.cores[core].caches;
  return cs.empty() ? 0.0 : m.caches[cs.front()].hit_latency_cycles / m.cores[core].freq_ghz;
}

// A line from `from`'s cache to `to`'s, with the wait behind the run's traffic on the way.
double transfer_ns(const Machine& m, int from, int to, int home_node, const HomeQueue& home) {
  return line_transfer_ns(m, from, to, home_node) + (home.waits() ? home.waits()->transfer_wait_s(from, to) * 1e9 : 0);
}

// One line: what the access costs from `start_s`, and the line's new state.
double access_line(const Machine& m, CacheLine& l, int core, bool write, int home_node, double start_s, HomeQueue& home,
                   LineAccessCost& cost) {
  const bool sharer = std::find(l.sharers.begin(), l.sharers.end(), core) != l.sharers.end();
  double ns;
  bool hit = false;
  if (l.owner == core || (sharer && !write) || (sharer && l.sharers.size() == 1)) {
    ns = hit_ns(m, core);  // a sole sharer's write upgrades silently, as from Exclusive
    hit = true;
    ++cost.hits;
  } else if (l.owner >= 0) {
    ns = transfer_ns(m, l.owner, core, home_node, home);  // the owner forwards it (a write: and drops its copy)
    ++cost.transfers;
  } else if (!l.sharers.empty()) {
    // A read takes the nearest copy; a write also invalidates every copy and waits for the farthest acknowledgement.
    ns = write ? 0.0 : INFINITY;
    for (int s : l.sharers) {
      if (s == core) continue;
      const double t = transfer_ns(m, s, core, home_node, home);
      ns = write ? std::max(ns, t) : std::min(ns, t);
    }
    ++cost.transfers;
  } else {
    ns =
        memory_latency_ns(m, core, home_node) + (home.waits() ? home.waits()->memory_wait_s(core, home_node) * 1e9 : 0);
    ++cost.from_memory;
  }
  // The line is in one place at a time: this access starts once the previous one on the line has completed, and a
  // request that leaves the core's cache also waits for its turn at the home node.
  double start = std::max(start_s, l.busy_until_s);
  if (!hit && m.coherence.home_occupancy_ns > 0)
    start = home.book(start_s, start, m.coherence.home_occupancy_ns * 1e-9);
  const double done = start + ns * 1e-9;
  l.busy_until_s = done;
  if (write || (l.owner < 0 && l.sharers.empty())) {  // a write, or a read nobody else holds (Exclusive)
    l.owner = core;
    l.sharers.clear();
  } else if (l.owner >= 0 && l.owner != core) {  // a read of an owned line: both keep a read-only copy
    l.sharers = {l.owner, core};
    l.owner = -1;
  } else if (!sharer && l.owner != core) {
    l.sharers.push_back(core);
  }
  return done;
}

}  // namespace

std::pair<double, size_t> HomeQueue::place(double arrival_s, double ready_s, double occupancy_s) const {
  // In time order (the usual case): after the last turn, which ends last and came no later.
  if (turns_.size() == head_ || turns_.back().arrival <= arrival_s)
    return {turns_.size() == head_ ? ready_s : std::max(ready_s, turns_.back().end), turns_.size()};
  // The turns are disjoint and sorted by start, so their ends are sorted too: those that end by the arrival matter
  // neither for the order nor for the room.
  const auto first = std::partition_point(turns_.begin() + static_cast<std::ptrdiff_t>(head_), turns_.end(),
                                          [arrival_s](const Turn& x) { return x.end <= arrival_s; });
  double start = ready_s;
  for (auto it = first; it != turns_.end(); ++it)
    if (it->arrival <= arrival_s) start = std::max(start, it->end);  // first come, first served
  auto it = std::partition_point(first, turns_.end(), [start](const Turn& x) { return x.end <= start; });
  for (; it != turns_.end(); ++it) {
    if (start + occupancy_s <= it->start) break;  // a whole turn is free before this booking
    start = std::max(start, it->end);
  }
  return {start, static_cast<size_t>(it - turns_.begin())};
}

double HomeQueue::first_free(double arrival_s, double ready_s, double occupancy_s) const {
  return place(arrival_s, ready_s, occupancy_s).first;
}

double HomeQueue::book(double arrival_s, double ready_s, double occupancy_s) {
  const auto [start, before] = place(arrival_s, ready_s, occupancy_s);
  turns_.insert(turns_.begin() + static_cast<std::ptrdiff_t>(before), Turn{arrival_s, start, start + occupancy_s});
  return start;
}

void HomeQueue::forget_before(double t) {
  while (head_ < turns_.size() && turns_[head_].end <= t) ++head_;
  if (head_ > 64 && head_ * 2 > turns_.size()) {  // drop the forgotten turns now and then
    turns_.erase(turns_.begin(), turns_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

LineAccessCost access_lines(const Machine& m, std::span<CacheLine> lines, int core, bool write, bool dependent,
                            int home_node, double start_s, HomeQueue& home) {
  LineAccessCost cost;
  cost.done_s = start_s;
  // Independent lines: the (i + in_flight)-th is issued when the i-th completes.
  const size_t in_flight = dependent ? 1 : std::max<size_t>(1, static_cast<size_t>(std::floor(m.core_mlp)));
  std::vector<double> done;  // completion of each line, kept only when some wait for an earlier one
  if (lines.size() > in_flight) done.resize(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const double issue = i < in_flight ? start_s : done[i - in_flight];
    const double d = access_line(m, lines[i], core, write, home_node, issue, home, cost);
    if (!done.empty()) done[i] = d;
    cost.done_s = std::max(cost.done_s, d);
  }
  return cost;
}

}  // namespace mksim
