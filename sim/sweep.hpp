// Batches of runs: parameter sweeps (`mksim sweep`, mksim.sweep in Python) and regression checks of expected metrics
// (`mksim check`). SimGrid allows one engine per process, so every run happens in a forked child process that writes
// its own output folder; the parent only resolves configs, starts children, reaps them and records what they left.
// A child that fails (bad input, an internal error, or death by a signal) becomes a failed record, never a failed
// batch. The on-disk layout of a sweep (docs/python.md) is shared by the CLI and the Python package, so a sweep
// started by one can be resumed by the other.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/child_process.hpp"
#include "sim/config.hpp"

namespace mksim {

// ---- one run in a child process ----

struct RunOutcome {
  bool ok = false;
  json results;             // results.json, when ok
  std::string kind;         // on failure: "input" (bad config), "internal", "signal" (the child died), "lost"
  std::string message;      // on failure: mksim's message
  std::string file, where;  // on an input error: where it is
};

// Forks a child that runs `sc` and writes `outdir`: results.json, the CSV tables and the outputs the config turns on
// (trace.json, ...), or error.json on failure. Returns the child's pid; the caller reaps it and calls finish_run.
pid_t start_run(const Scenario& sc, const std::string& outdir);
// What a reaped child left in `outdir`; `wait_status` as waitpid gave it.
RunOutcome finish_run(int wait_status, const std::string& outdir);
// start_run, wait, finish_run. Safe to call from several threads at once (one child each); cancel_runs() kills the
// children of every call still waiting.
RunOutcome run_in_child(const Scenario& sc, const std::string& outdir);
void cancel_runs();

// The hooks around the fork() of start_run (a Python host's GIL): ForkHooks and set_fork_hooks, sim/child_process.hpp.

// ---- metrics ----

// Checks that a results document read from a file has the shape mksim writes (summary, workload, threads, cores,
// memory); an InputError names the file and the key otherwise.
void check_results(const json& results, const std::string& file);

// The scalar figures of a results document as one flat object, the columns of a sweep table: the summary's scalars
// (status, sim_time_s, events, cores, architecture, ...), `events.KIND` for each event kind, and the workload's
// scalar metrics (`NAME.METRIC` when there are several workloads; `workload.METRIC` when a name clashes with the
// summary's). Lists are left out.
json tidy_metrics(const json& results);
// A metric by name: a tidy name, else a dotted path into the results document (`cores.3.utilisation`). Null if absent.
json metric_value(const json& results, const json& tidy, const std::string& name);

// ---- sweeps ----

// The most runs one sweep may have: a typo of a few zeros fails at once, naming the grid or the seeds.
inline constexpr size_t kMaxSweepPoints = 1000000;

struct SweepPoint {
  std::string id;                // a hash of params and seed: stable across reruns, names the run's folder
  json params = json::object();  // dotted config path -> value
  std::optional<uint64_t> seed;  // run.seed, when the sweep sets seeds
};

struct SweepSpec {
  std::string file;                 // the sweep file, for messages
  json base;                        // the base config with the sweep's fixed `set` overrides applied
  std::string base_file, base_dir;  // where the base config came from and where its relative paths resolve
  std::vector<SweepPoint> points;
  std::vector<std::string> metrics;  // columns to keep; empty: every tidy metric
  int64_t replications = 0;          // N independent runs per point (seeds run.seed + 0 .. N-1); 0: not set
};

// Reads a sweep document (see docs/python.md): base (a path or an inline config), set, grid or points, seeds,
// metrics. `dir` is where relative paths resolve. Errors name the file and JSON path.
SweepSpec parse_sweep(const json& doc, const std::string& file, const std::string& dir);
SweepSpec load_sweep(const std::string& path);
// The points of a grid (every combination, keys in sorted order, the last key varying fastest) or of a list of
// points, times the seeds (null: the config's own seed; an integer N: 1..N; a list).
std::vector<SweepPoint> expand_points(const json& grid, const json& points, const json& seeds, const std::string& file);
std::string point_id(const json& params, std::optional<uint64_t> seed);
// The config document of one point: the base with the point's overrides and seed applied.
json point_config(const json& base, const SweepPoint& p);

// A sweep's output folder: sweep.json (what was swept), points.jsonl (one record per finished run, appended as each
// finishes), runs/ID/ (each run's own output), results.csv (the table, rewritten at the end).
class SweepFolder {
 public:
  // Creates or reopens `dir`. A folder that holds a sweep of a different base config is an InputError.
  SweepFolder(std::string dir, const SweepSpec& spec);
  // Latest record of each point recorded so far (a torn last line, from an interrupted sweep, is ignored).
  const std::map<std::string, json>& records() const { return records_; }
  bool done(const std::string& id) const;  // recorded and ok
  std::string run_dir(const std::string& id) const;
  void append(const json& record);
  // The latest records of the spec's points, in the spec's order (points never run are left out).
  json table(const SweepSpec& spec) const;

 private:
  std::string dir_;
  std::map<std::string, json> records_;
};

// The record of one finished point: id, params, seed, ok, error, error_kind, metrics (selected), run_dir.
json point_record(const SweepSpec& spec, const SweepPoint& p, const RunOutcome& r);
// A record as a flat table row: id, seed, the params by path, ok, error, then the metrics.
json record_row(const json& record);
// Records as a CSV table (one record_row each: id, seed, params, ok, error, metrics) into DIR/results.csv.
// `metrics`: the metric columns' order (the sweep's `metrics`; others follow in name order).
// A cell of results.csv: doubles with 12 significant digits, text quoted when it holds a comma, quote or newline.
std::string csv_cell(const json& v);
void write_sweep_csv(const std::string& dir, const json& records, const std::vector<std::string>& metrics = {});

// Resolves and runs one point in a child process writing `outdir`, and returns its record; a bad config or a failed
// run gives a failed record, never an exception. Safe to call from several threads at once.
json run_point(const SweepSpec& spec, const SweepPoint& p, const std::string& outdir);

// Runs every point not done yet, up to `jobs` children at once, recording each as it finishes; `progress` (optional)
// sees each record and the counts. Returns the records of every point, in order; writes results.csv.
json run_sweep(const SweepSpec& spec, const std::string& out, int jobs,
               const std::function<void(const json& record, size_t done, size_t total)>& progress = {});

// ---- replications (sim/replications.cpp) ----

// Student's t quantile t(0.975, df), the factor of a two-sided 95% confidence interval; df >= 1.
double student_t_975(int df);
// The seeds of N replications of `base`: its run.seed (default 1) + 0 .. N-1. Each seed drives independent random
// streams (sim/rng.hpp mixes seed and stream name). An InputError names `file` for a bad count or seed.
json replication_seeds(const json& base, int64_t n, const std::string& file);
// The replications of each point (records with equal params, in order of first appearance) summarised:
// {"columns": [...], "rows": [{params..., runs, runs_ok, METRIC_mean, METRIC_ci95_lo, METRIC_ci95_hi, METRIC_n}]}
// for every numeric metric (those in `metrics` first), over the runs that completed; the interval is
// mean +- t(0.975, n-1) s / sqrt(n) (null with fewer than 2 runs).
json replication_summary(const json& records, const std::vector<std::string>& metrics = {});
// A sweep with replications: results.csv holds the summary (one row per point), runs.csv one row per run.
void write_replication_csv(const std::string& dir, const json& records, const std::vector<std::string>& metrics = {});

// ---- batches of independent runs (check, compare) ----

struct BatchItem {
  std::function<Scenario()> scenario;  // may throw InputError: the item fails with that message
  std::string outdir;
};
// Runs the items with up to `jobs` children at once; outcomes in item order.
std::vector<RunOutcome> run_batch(const std::vector<BatchItem>& items, int jobs,
                                  const std::function<void(size_t index, const RunOutcome&)>& on_done = {});

// ---- expectations (regression checks of policy models) ----

// Runs every case of an expectations file (see docs/python.md) and compares the measured metrics with the expected
// values within their tolerances. Returns the report: {"file", "passed", "cases": [{"name", "ok", "error",
// "checks": [{"metric", "measured", "expected", "abs_tol", "rel_tol", "pass", "why"}]}]}. With `update`, writes the
// measured values back into the file as the new expected values (tolerances and order kept).
json check_expectations(const std::string& path, bool update, int jobs, const std::string& outdir = "");
std::string check_report_text(const json& report);

// Default parallelism: the number of cores this process may use.
int default_jobs();

}  // namespace mksim
