#include "sim/results.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "sim/outputs.hpp"

namespace mksim {

namespace {

std::string csv_cell(const json& v) {
  if (v.is_string()) {
    auto s = v.get<std::string>();
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
  }
  return v.dump();
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  if (!out) throw std::runtime_error(fmt::format("cannot write {}", p.string()));
  out << text;
}

}  // namespace

const std::vector<OutputTable>& output_tables() {
  static const std::vector<OutputTable> tables = {
      {"threads",
       "simulated thread, in creation order",
       {
           {"id", "", "thread id (0, 1, ... in creation order)"},
           {"name", "", "thread name, as the workload gave it"},
           {"process", "", "name of the thread's process"},
           {"state", "", "state at the end of the run: `exited`, `blocked` or `runnable`"},
           {"start_s", "s", "simulated time it was started (-1: never)"},
           {"end_s", "s", "simulated time it exited (-1: it did not)"},
           {"run_s", "s",
            "time on a core: user and kernel work, spinning on kernel locks, refilling caches; run_s + wait_s + "
            "blocked_s = end_s - start_s for an exited thread"},
           {"kernel_s", "s",
            "of run_s, kernel work on its behalf: traps and system calls, IPC, map/unmap and TLB shootdowns, context "
            "switches, scheduler queue operations, spinning on kernel spin locks"},
           {"wait_s", "s", "runnable but waiting for a core (queued behind other threads)"},
           {"blocked_s", "s", "blocked: waiting for a message, a join, a sleep, a user-level lock or a kernel reply"},
           {"refill_s", "s",
            "of run_s, refilling its working set after other threads evicted it (the indirect cost of a context "
            "switch or migration)"},
           {"ops", "", "operations of its program completed"},
           {"context_switches", "", "times a core switched to it from another thread (or from idle)"},
           {"migrations", "", "times it ran on a different core from the one it last ran on"},
           {"bytes_accessed", "bytes", "bytes of the memory operations it issued"},
           {"last_core", "", "core it ran on last (-1: never ran)"},
       }},
      {"cores",
       "core",
       {
           {"id", "", "core id"},
           {"node", "", "its NUMA node"},
           {"busy_s", "s", "time doing work (user, kernel, spinning); busy_s + idle_s = summary.sim_time_s"},
           {"kernel_s", "s", "of busy_s, kernel work (see threads.kernel_s) and interrupt handlers"},
           {"spin_s", "s", "of kernel_s, spinning for kernel spin locks (run queues, kernel locks) another core held"},
           {"idle_s", "s", "time with nothing to run"},
           {"utilisation", "", "busy_s / summary.sim_time_s (0 to 1)"},
           {"ops", "", "operations completed on this core"},
           {"context_switches", "", "times it switched to a thread other than the one it ran last"},
           {"interrupts", "",
            "times it ran handler work for other cores' messages (IPIs, polled requests): each one while idle; "
            "while it ran a thread, those pending are taken together"},
       }},
      {"memory",
       "NUMA node (its memory)",
       {
           {"node", "", "NUMA node"},
           {"read_bytes", "bytes",
            "bytes read from this node's memory: a memory operation's bytes times the share of its region on this "
            "node; for small shared regions (the coherence model), only the lines no cache could supply"},
           {"write_bytes", "bytes", "bytes written to this node's memory (as read_bytes)"},
           {"local_bytes", "bytes", "of read_bytes + write_bytes, accessed by cores of this node"},
           {"remote_bytes", "bytes", "of read_bytes + write_bytes, accessed by cores of other nodes"},
           {"mean_bandwidth_gb_s", "GB/s", "(read_bytes + write_bytes) / summary.sim_time_s, in 1e9 bytes per second"},
           {"controller_utilisation", "",
            "mean_bandwidth_gb_s / the node's controller bandwidth (machine.memory_bandwidth_gb_s)"},
           {"latency_bound_loads", "",
            "loads from this node's memory that waited for their line alone: the lines of pointer chases (shared by "
            "the nodes a region spans) and the lines the coherence model fetched from memory"},
           {"mean_load_wait_ns", "ns",
            "mean time such a load waited behind the memory streams that saturated a link on its way (loaded "
            "latency, models/link_queues.hpp), beyond the idle latency; 0 while no link is saturated"},
       }},
  };
  return tables;
}

const std::vector<OutputColumn>& summary_fields() {
  static const std::vector<OutputColumn> fields = {
      {"status", "",
       "`completed`, `deadlock` (threads blocked forever), `error`, or `stopped: run.max_... reached` (a limit)"},
      {"partial", "", "true unless the status is `completed`: the figures cover the run up to where it stopped"},
      {"sim_time_s", "s", "simulated time at the end of the run"},
      {"events", "", "OS events simulated (the unit of run.max_events)"},
      {"events_by_kind", "",
       "those events by kind: the engine's (context_switch, preemption, cache_refill, interrupt, lock_acquire, sleep) "
       "and the kernel models' and schedulers' own (syscall, ipi, steal, remote_steal, ...)"},
      {"threads", "", "threads created"},
      {"threads_finished", "", "threads that exited"},
      {"cores", "", "cores of the machine"},
      {"numa_nodes", "", "NUMA nodes of the machine"},
      {"architecture", "", "kernel architecture (kernel.architecture)"},
      {"scheduler", "", "scheduler (kernel.scheduler)"},
  };
  return fields;
}

const std::vector<OutputColumn>& wall_clock_fields() {
  static const std::vector<OutputColumn> fields = {
      {"setup_s", "s", "host time to build the machine, kernel and workloads"},
      {"simulate_s", "s", "host time of the simulation itself"},
      {"total_s", "s", "setup_s + simulate_s"},
      {"events_per_s", "1/s", "summary.events / simulate_s"},
  };
  return fields;
}

const std::vector<OutputColumn>& invariant_fields() {
  static const std::vector<OutputColumn> fields = {
      {"ok", "", "true when no check failed"},
      {"violations", "",
       "what failed, one sentence each: a core's busy + idle time that is not the simulated time, a negative time, an "
       "exited thread's run + wait + blocked time that is not its lifetime, a channel whose messages do not add up"},
      {"messages_sent", "", "IPC messages sent over all channels"},
      {"messages_received", "", "IPC messages received"},
      {"messages_in_flight", "", "messages sent but not received when the run ended"},
      {"threads_unfinished", "", "threads that had not exited"},
  };
  return fields;
}

namespace {

void check_keys(const json& obj, const std::vector<OutputColumn>& cols, const std::string& what) {
  if (!obj.is_object()) throw std::logic_error(fmt::format("{}: not an object", what));
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (std::none_of(cols.begin(), cols.end(), [&](const OutputColumn& c) { return c.name == it.key(); }))
      throw std::logic_error(
          fmt::format("{}: column '{}' is written but not declared (sim/results.cpp)", what, it.key()));
  for (const auto& c : cols)
    if (!obj.contains(c.name))
      throw std::logic_error(fmt::format("{}: declared column '{}' is not written", what, c.name));
}

std::string column_rows(const std::vector<OutputColumn>& cols) {
  std::string out = "| column | unit | meaning |\n|---|---|---|\n";
  for (const auto& c : cols) out += fmt::format("| `{}` | {} | {} |\n", c.name, c.unit, c.meaning);
  return out;
}

}  // namespace

std::string table_csv(const json& rows, const OutputTable& table) {
  std::string out;
  for (size_t i = 0; i < table.columns.size(); ++i) out += (i ? "," : "") + table.columns[i].name;
  out += '\n';
  if (!rows.is_array()) throw std::logic_error(fmt::format("results.json {}: not an array", table.key));
  for (const auto& r : rows) {
    check_keys(r, table.columns, "results.json " + table.key);
    for (size_t i = 0; i < table.columns.size(); ++i) {
      if (i) out += ',';
      out += csv_cell(r[table.columns[i].name]);
    }
    out += '\n';
  }
  return out;
}

const std::vector<OutputColumn>& page_migration_fields() {
  static const std::vector<OutputColumn> fields = {
      {"policy", "", "the memory policy that moved pages (kernel.memory_policy)"},
      {"page_bytes", "bytes", "the page size it tracks and moves"},
      {"pages_migrated", "", "pages moved from one node to another"},
      {"bytes_migrated", "bytes",
       "pages_migrated x page_bytes: the bytes copied (read from one node, written to another)"},
      {"migrations", "", "migration operations (each moves one or more pages of one region)"},
      {"migration_s", "s",
       "core time spent migrating: page-table updates, TLB shootdowns and copies (of threads.kernel_s)"},
      {"promoted_pages", "", "of pages_migrated, pages moved to a node nearer the migrating core"},
      {"demoted_pages", "", "of pages_migrated, pages moved to a node farther from the migrating core"},
      {"hinting_faults", "", "NUMA hinting faults taken (each a trap into the kernel)"},
      {"protection_changes", "", "scans that made pages fault (page-table updates with a TLB shootdown)"},
      {"fast_tier_bytes", "bytes",
       "bytes of memory operations on regions larger than the caches' small regions served by the accessing core's "
       "nearest node (the fast tier)"},
      {"slow_tier_bytes", "bytes", "bytes of those memory operations served by other nodes"},
      {"fast_tier_share", "", "fast_tier_bytes / (fast_tier_bytes + slow_tier_bytes); 0 without accesses"},
  };
  return fields;
}

const std::vector<OutputColumn>& tiering_columns() {
  static const std::vector<OutputColumn> fields = {
      {"start_s", "s", "start of the interval (intervals are equal, at most 4096, together the whole run)"},
      {"end_s", "s", "end of the interval"},
      {"fast_bytes", "bytes",
       "bytes of memory traffic the accessing core's nearest node (the fast tier) served, by the start of the access"},
      {"slow_bytes", "bytes", "bytes other nodes served (the slow tier), migration copies excluded"},
      {"fast_hit_ratio", "", "fast_bytes / (fast_bytes + slow_bytes); empty when there was no traffic"},
      {"pages_migrated", "", "pages migrated by migrations that started in the interval"},
      {"bytes_migrated", "bytes", "their bytes"},
      {"migration_s", "s", "core time of those migrations"},
      {"promoted_pages", "", "of pages_migrated, pages moved nearer the migrating core"},
      {"demoted_pages", "", "of pages_migrated, pages moved farther from it"},
  };
  return fields;
}

std::string outputs_reference_markdown() {
  std::string out =
      "# Output reference\n\n"
      "<!-- Generated by `mksim docs outputs` from the column declarations in sim/results.cpp; do not edit by hand. "
      "-->\n\n"
      "A run (`mksim run CONFIG -o DIR`, or `mksim.run()` in Python) writes into its output folder:\n\n"
      "| file | what |\n|---|---|\n"
      "| `results.json` | everything below: the summary, the workload's metrics, the tables, the invariant checks, the "
      "resolved config (`config`), `seed`, `mksim_version`, `simgrid_version`, and the host's timings "
      "(`wall_clock`) |\n"
      "| `threads.csv`, `cores.csv`, `memory.csv` | the tables of results.json as CSV, one row per thread, core or "
      "node, columns in the order below (`run.outputs.csv`, on by default) |\n";
  for (const auto& o : output_files())  // the optional outputs' files (sim/outputs.hpp)
    out += fmt::format("| `{}` | {} (`--{}`, `run.outputs.{}`), {} |\n", o.file, o.brief, o.output, o.output, o.see);
  out +=
      "\n"
      "Everything except `wall_clock` is byte-identical for the same config and seed. Units are in the column names "
      "and in the tables: times in simulated seconds (`_s`), GB/s is 1e9 bytes per second. Numbers are written with "
      "the shortest decimal that reads back as the same double.\n\n";
  out += "## `summary`\n\n";
  out += column_rows(summary_fields());
  out +=
      "\n## `workload`\n\n"
      "`workload.metrics`: the workload's headline metrics (names with units, e.g. `ops_per_s`, `round_trip_ns`; see "
      "each workload's description in docs/config.md), or one object of them per workload name when the config runs "
      "a list of workloads. `workload.instances`: every workload with its `name`, `kind` and `metrics`.\n";
  for (const auto& t : output_tables()) {
    out += fmt::format("\n## `{}` (results.json) and `{}.csv`\n\nOne row per {}.\n\n", t.key, t.key, t.row);
    out += column_rows(t.columns);
  }
  out +=
      "\n## `page_migration`\n\nWritten only when the memory policy moves pages (`kernel.memory_policy`: "
      "`numa-balancing`, `tpp`; docs/tiering.md): what moving them cost and where the memory traffic was served.\n\n";
  out += column_rows(page_migration_fields());
  out += "\n## `tiering` (tiering.csv)\n\nWith `run.outputs.tiering`: one row per interval of the run.\n\n";
  out += column_rows(tiering_columns());
  out += "\n## `invariants`\n\nChecks of the run's own accounting, made at its end.\n\n";
  out += column_rows(invariant_fields());
  out += "\n## `wall_clock`\n\nThe host's timings: the only part that differs between two runs of a config.\n\n";
  out += column_rows(wall_clock_fields());
  out +=
      "\n## Sweeps: `results.csv`\n\n"
      "`mksim sweep` (and `mksim.sweep()`) writes one row per point: `id`, `seed`, one column per swept parameter "
      "(its dotted config path), `ok`, `error` (the message of a failed point), then the metrics: those the sweep "
      "file asks for, else every tidy metric of the run (the workload's metrics, `sim_time_s`, `events`, ...). "
      "Integers are written as they are, other numbers with 12 significant digits (C's `%.12g`: no trailing zeros, an "
      "exponent below 1e-5 or from 1e12). The metrics are doubles computed from the simulated clock in seconds "
      "(differences of absolute times, means of them, scaled by a clock rate), so a latency of exactly 5176 cycles "
      "comes out as 5175.999999999976: 12 digits print the decimal it stands for and keep more precision than any "
      "model has. The full doubles are in each point's `runs/ID/results.json` and in `points.jsonl`.\n";
  return out;
}

void RunResults::write(const std::string& dir, bool csv) const {
  namespace fs = std::filesystem;
  // Every field written is declared (and so documented in docs/outputs.md): a new one must be declared above.
  check_keys(doc.value("summary", json()), summary_fields(), "results.json summary");
  check_keys(doc.value("invariants", json()), invariant_fields(), "results.json invariants");
  check_keys(doc.value("wall_clock", json()), wall_clock_fields(), "results.json wall_clock");
  if (doc.contains("page_migration"))
    check_keys(doc["page_migration"], page_migration_fields(), "results.json page_migration");
  for (const auto& t : output_tables())
    for (const auto& r : doc.value(t.key, json::array())) check_keys(r, t.columns, "results.json " + t.key);
  fs::create_directories(dir);
  // Names come from inputs (trace task names are bytes): the readers escape what is not UTF-8, and should one slip
  // through, a replacement character is better than losing the whole run's results to a type_error at the end.
  write_file(fs::path(dir) / "results.json", doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
  if (!csv) return;
  for (const auto& t : output_tables()) write_file(fs::path(dir) / (t.key + ".csv"), table_csv(doc[t.key], t));
}

std::string RunResults::summary_text() const {
  const auto& s = doc["summary"];
  std::string out =
      fmt::format("{} on {} ({} cores, {} NUMA nodes), scheduler {}\n", s["architecture"].get<std::string>(),
                  doc["config"]["machine"]["name"].get<std::string>(), s["cores"].get<int>(),
                  s["numa_nodes"].get<int>(), s["scheduler"].get<std::string>());
  out += fmt::format("  status {}: simulated {:.6g} s, {} OS events, {}/{} threads finished\n",
                     s["status"].get<std::string>(), s["sim_time_s"].get<double>(), s["events"].get<uint64_t>(),
                     s["threads_finished"].get<int>(), s["threads"].get<int>());
  const auto& m = doc["workload"]["metrics"];
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (it.value().is_number())
      out += fmt::format("  {:<28} {:.6g}\n", it.key(), it.value().get<double>());
    else if (it.value().is_object())
      for (auto jt = it.value().begin(); jt != it.value().end(); ++jt)
        if (jt.value().is_number())
          out += fmt::format("  {:<28} {:.6g}\n", it.key() + "." + jt.key(), jt.value().get<double>());
  }
  if (doc.contains("blocked"))
    for (const auto& b : doc["blocked"])
      out += fmt::format("  blocked: {} waits for {}\n", b["thread"].get<std::string>(),
                         b["waits_for"].get<std::string>());
  out += fmt::format("  host time {:.3f} s\n", doc["wall_clock"]["total_s"].get<double>());
  return out;
}

}  // namespace mksim
