// Helpers shared by the synthetic workloads: where their threads go, and the figures every workload reports.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "sim/api/workload.hpp"

namespace mksim {

// The cores a workload's threads are pinned to: the `cores` list when given (thread i on cores[i % len]), else
// thread i on core i % cores-of-the-machine. Names a core that does not exist in the error.
inline std::vector<int> thread_cores(const Params& p, const Machine& m, int threads) {
  std::vector<int> listed;
  if (p.has("cores"))
    for (double c : p.numbers("cores")) {
      if (c < 0 || c >= m.num_cores() || c != std::floor(c))  // in range before any cast to int
        p.fail("cores", fmt::format("core {} does not exist, the machine has cores 0..{}", c, m.num_cores() - 1));
      listed.push_back(static_cast<int>(c));
    }
  std::vector<int> out;
  for (int i = 0; i < threads; ++i)
    out.push_back(listed.empty() ? i % m.num_cores() : listed[static_cast<size_t>(i) % listed.size()]);
  return out;
}

inline Field cores_field() {
  Field f = Field::optional("cores", FieldType::NumberList, "core ids",
                            "cores the threads are pinned to, thread i on cores[i % len] (default: 0, 1, 2, ...)");
  f.min = 0;
  return f;
}

// Makespan of a set of threads: from the first start to the last end.
inline double makespan_s(const RunView& run, uint32_t first, uint32_t last) {
  double start = 1e300, end = 0;
  for (uint32_t i = first; i < last; ++i) {
    start = std::min(start, run.threads[i].start_s);
    end = std::max(end, run.threads[i].finished ? run.threads[i].end_s : run.sim_time_s);
  }
  return last > first ? end - start : 0;
}

}  // namespace mksim
