// What a run produces: the summary, the workload's metrics, per-thread, per-core and per-node tables, and the
// host-dependent figures kept apart (wall_clock) so that everything else is byte-identical between runs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/api/params.hpp"

namespace mksim {

// One column of an output table (or one field of results.json), declared once: the tables are written in this order
// and checked against it, and `mksim docs outputs` (docs/outputs.md) is generated from it.
struct OutputColumn {
  std::string name;
  std::string unit;  // "s", "bytes", "GB/s", "" for counts and names
  std::string meaning;
};

// A table of results.json (an array of rows under `key`), also written as `key`.csv.
struct OutputTable {
  std::string key;  // "threads", "cores", "memory"
  std::string row;  // what one row is
  std::vector<OutputColumn> columns;
};

// The tables and the summary fields of results.json, as declared.
const std::vector<OutputTable>& output_tables();
const std::vector<OutputColumn>& summary_fields();
const std::vector<OutputColumn>& wall_clock_fields();
const std::vector<OutputColumn>& invariant_fields();
// results.json `page_migration`, written when the memory policy moves pages (numa-balancing, tpp).
const std::vector<OutputColumn>& page_migration_fields();
// tiering.csv (run.outputs.tiering): the memory served by each tier and the migrations over time.
const std::vector<OutputColumn>& tiering_columns();

// docs/outputs.md: every output file and every column, from the declarations above.
std::string outputs_reference_markdown();

struct RunResults {
  json doc;  // results.json, as written

  // Writes results.json and (when asked) threads.csv, cores.csv, memory.csv into `dir`.
  void write(const std::string& dir, bool csv) const;
  // The short human summary printed on stdout.
  std::string summary_text() const;
};

// A table of a results document as CSV text, its columns in their declared order. Throws std::logic_error if a row's
// keys are not exactly the declared columns (a column written but not declared would be undocumented).
std::string table_csv(const json& rows, const OutputTable& table);

}  // namespace mksim
