// Helpers of the synthetic workload suite (latency-probe, ipc-pingpong, client-server, fork-join, larson, ycsb, unmap,
// shared-update): checked core choices with errors that say what the machine has, named random streams per workload
// instance, and order statistics.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "sim/api/workload.hpp"

namespace mksim {

// Core `core` named by parameter `name`, checked to exist.
inline int checked_core(const Params& p, const Machine& m, const std::string& name, double core) {
  if (core != std::floor(core) || core < 0 || core >= m.num_cores())
    p.fail(name, fmt::format("core {} does not exist, the machine has cores 0..{}", core, m.num_cores() - 1));
  return static_cast<int>(core);
}

// `count` consecutive cores from `first` (the value of parameter `first_name`) for `what` ("the 4 server threads");
// the error says which cores the machine has.
inline std::vector<int> consecutive_cores(const Params& p, const Machine& m, const std::string& first_name, int first,
                                          int count, const std::string& what) {
  checked_core(p, m, first_name, first);
  if (first + count > m.num_cores())
    p.fail(first_name, fmt::format("cores {}..{} are needed for {}, but the machine has cores 0..{}", first,
                                   first + count - 1, what, m.num_cores() - 1));
  std::vector<int> out;
  for (int i = 0; i < count; ++i) out.push_back(first + i);
  return out;
}

// Name of a random stream private to one workload instance (its JSON path tells instances apart), so two instances
// of one workload in a run draw different numbers and adding a stream never shifts another's.
inline std::string stream_name(const Params& p, const std::string& what) {
  return fmt::format("{}:{}", p.path(), what);
}

// Nearest-rank percentile `q` in [0, 1] of `sorted` (ascending); 0 for an empty list.
inline double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

inline double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

}  // namespace mksim
