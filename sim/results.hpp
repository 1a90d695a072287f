// What a run produces: the summary, the workload's metrics, per-thread, per-core and per-node tables, and the
// host-dependent figures kept apart (wall_clock) so that everything else is byte-identical between runs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/api/params.hpp"

namespace mksim {

struct RunResults {
  json doc;  // results.json, as written

  // Writes results.json and (when asked) threads.csv, cores.csv, memory.csv into `dir`.
  void write(const std::string& dir, bool csv) const;
  // The short human summary printed on stdout.
  std::string summary_text() const;
};

// The tables of a results document as CSV text.
std::string table_csv(const json& rows);

}  // namespace mksim
