// Sweeps (sim/sweep.hpp): points expanded from a grid or a list, each resolved and run in a child process
// (sweep_runs.cpp), recorded in a resumable folder, tabulated as CSV. Metrics: sweep_metrics.cpp; expectations:
// sweep_expect.cpp.
#include "sim/sweep.hpp"

#include <fmt/format.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "sim/engine.hpp"
#include "sim/input.hpp"
#include "sim/outputs.hpp"
#include "sim/sweep_detail.hpp"

namespace mksim {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;
using namespace sweep_detail;

namespace sweep_detail {

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  if (!out) throw std::runtime_error(fmt::format("cannot write {}", p.string()));
  out << text;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RunOutcome failure(const std::string& kind, const std::string& message) {
  RunOutcome r;
  r.kind = kind;
  r.message = message;
  return r;
}

RunOutcome input_failure(const InputError& e) {
  RunOutcome r = failure("input", e.what());
  r.file = e.file();
  r.where = e.where();
  return r;
}

}  // namespace sweep_detail

// ---- sweeps ----

std::string point_id(const json& params, std::optional<uint64_t> seed) {
  const std::string canonical = json{{"params", params}, {"seed", seed ? json(*seed) : json()}}.dump();
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a, 64 bits
  for (unsigned char ch : canonical) {
    h ^= ch;
    h *= 0x100000001b3ull;
  }
  h ^= h >> 33;  // a final mix, so that ids of neighbouring points do not look alike
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return fmt::format("{:016x}", h).substr(0, 12);
}

std::vector<SweepPoint> expand_points(const json& grid, const json& points, const json& seeds,
                                      const std::string& file) {
  if (!grid.is_null() && !points.is_null())
    throw InputError(file, "grid", "give either 'grid' (every combination) or 'points' (a list), not both");
  {  // the size first: a typo of a few zeros must not exhaust memory
    double n_combos = 1, n_seeds = 1;
    if (points.is_array()) n_combos = static_cast<double>(points.size());
    if (grid.is_object())
      for (auto it = grid.begin(); it != grid.end(); ++it)
        n_combos *= it.value().is_array() ? static_cast<double>(std::max<size_t>(1, it.value().size())) : 1.0;
    if (seeds.is_number_integer()) n_seeds = static_cast<double>(seeds.get<int64_t>());
    if (seeds.is_array()) n_seeds = static_cast<double>(seeds.size());
    if (n_combos * n_seeds > static_cast<double>(kMaxSweepPoints))
      throw InputError(
          file, n_seeds > static_cast<double>(kMaxSweepPoints) ? "seeds" : (grid.is_null() ? "points" : "grid"),
          fmt::format("{:.0f} parameter combinations x {:.0f} seeds = {:.0f} runs, more than the {} a sweep "
                      "may have; split it into several sweeps",
                      n_combos, n_seeds, n_combos * n_seeds, kMaxSweepPoints));
  }
  std::vector<json> combos;
  if (!points.is_null()) {
    if (!points.is_array() || points.empty())
      throw InputError(file, "points", "expected a non-empty list of objects {\"dotted.path\": value, ...}");
    for (size_t i = 0; i < points.size(); ++i) {
      if (!points[i].is_object())
        throw InputError(file, join_path("points", i),
                         fmt::format("found {}, expected an object {{\"dotted.path\": value, ...}}", points[i].dump()));
      combos.push_back(points[i]);
    }
  } else if (!grid.is_null()) {
    if (!grid.is_object()) throw InputError(file, "grid", "expected an object {\"dotted.path\": [values], ...}");
    combos.push_back(json::object());
    for (auto it = grid.begin(); it != grid.end(); ++it) {  // keys in sorted order; the last varies fastest
      if (!it.value().is_array() || it.value().empty())
        throw InputError(file, join_path("grid", it.key()),
                         fmt::format("found {}, expected a non-empty list of values", it.value().dump()));
      std::vector<json> next;
      for (const auto& c : combos)
        for (const auto& v : it.value()) {
          json n = c;
          n[it.key()] = v;
          next.push_back(std::move(n));
        }
      combos = std::move(next);
    }
  } else {
    combos.push_back(json::object());
  }
  std::vector<std::optional<uint64_t>> seed_list;
  if (seeds.is_null()) {
    seed_list.push_back(std::nullopt);
  } else if (seeds.is_number_integer()) {
    if (seeds.get<int64_t>() < 1) throw InputError(file, "seeds", "expected a count >= 1 or a list of seeds");
    for (int64_t s = 1; s <= seeds.get<int64_t>(); ++s) seed_list.push_back(static_cast<uint64_t>(s));
  } else if (seeds.is_array() && !seeds.empty()) {
    for (size_t i = 0; i < seeds.size(); ++i) {
      if (!seeds[i].is_number_integer() || seeds[i].get<int64_t>() < 0)
        throw InputError(file, join_path("seeds", i), fmt::format("found {}, expected a seed >= 0", seeds[i].dump()));
      seed_list.push_back(seeds[i].get<uint64_t>());
    }
  } else {
    throw InputError(file, "seeds", fmt::format("found {}, expected a count or a list of seeds", seeds.dump()));
  }
  std::vector<SweepPoint> out;
  std::map<std::string, size_t> seen;
  for (const auto& c : combos)
    for (const auto& s : seed_list) {
      SweepPoint p{point_id(c, s), c, s};
      auto [it, fresh] = seen.emplace(p.id, out.size());
      if (!fresh)
        throw InputError(file, points.is_null() ? "seeds" : "points",
                         fmt::format("point {} (seed {}) repeats point {}", c.dump(), s ? std::to_string(*s) : "-",
                                     out[it->second].params.dump()));
      out.push_back(std::move(p));
    }
  return out;
}

json point_config(const json& base, const SweepPoint& p) {
  json doc = base;
  std::vector<std::string> sets;
  for (auto it = p.params.begin(); it != p.params.end(); ++it) sets.push_back(it.key() + "=" + it.value().dump());
  if (p.seed) sets.push_back(fmt::format("run.seed={}", *p.seed));
  apply_overrides(doc, sets);
  return doc;
}

namespace {

// A swept path that names no config field fails every point the same way: refuse the sweep before running any. Each
// path is tried alone, with its first value, on the base config.
void check_paths(const SweepSpec& spec, const std::string& section) {
  std::map<std::string, std::pair<json, size_t>> first;  // path -> (first value, point index)
  for (size_t i = 0; i < spec.points.size(); ++i)
    for (auto it = spec.points[i].params.begin(); it != spec.points[i].params.end(); ++it)
      first.emplace(it.key(), std::make_pair(it.value(), i));
  for (const auto& [path, value] : first) {
    SweepPoint p;
    p.params = {{path, value.first}};
    const std::string where =
        section == "grid" ? join_path("grid", path) : join_path(join_path("points", value.second), path);
    try {
      resolve_scenario(point_config(spec.base, p), spec.base_file, spec.base_dir);
    } catch (const InputError& e) {
      const std::string what = e.what();
      const bool unknown =
          what.find("unknown key") != std::string::npos || what.find("unknown section") != std::string::npos;
      // The error is about this path itself (or a step of it), not about the value given to it.
      if (unknown && !e.where().empty() && (path + ".").rfind(e.where() + ".", 0) == 0)
        throw InputError(spec.file, where, fmt::format("this path matches no config field: {}", what));
      if (e.file() == "--set") throw InputError(spec.file, where, what);
    } catch (const std::exception&) {
      // other failures belong to the points, which record them
    }
  }
}

}  // namespace

SweepSpec parse_sweep(const json& doc, const std::string& file, const std::string& dir) {
  static const std::vector<std::string> keys = {"description", "base",  "set",          "grid",
                                                "points",      "seeds", "replications", "metrics"};
  if (!doc.is_object()) throw InputError(file, "top level", "expected an object with base, grid or points, seeds");
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (std::find(keys.begin(), keys.end(), it.key()) == keys.end())
      throw InputError(file, it.key(), fmt::format("unknown key '{}', {}", it.key(), one_of(it.key(), keys)));
  SweepSpec spec;
  spec.file = file;
  if (!doc.contains("base")) throw InputError(file, "base", "missing: the base config (a path or an inline config)");
  const json& base = doc["base"];
  if (base.is_string()) {
    spec.base_file = resolve_path(base.get<std::string>(), dir);
    spec.base = load_json_file(spec.base_file);
    auto parent = fs::path(spec.base_file).parent_path().string();
    spec.base_dir = parent.empty() ? "." : parent;
  } else if (base.is_object()) {
    spec.base = base;
    spec.base_file = file;
    spec.base_dir = dir.empty() ? "." : dir;
  } else {
    throw InputError(file, "base", fmt::format("found {}, expected a config path or an inline config", base.dump()));
  }
  if (doc.contains("set")) {
    if (!doc["set"].is_object()) throw InputError(file, "set", "expected an object {\"dotted.path\": value, ...}");
    for (auto it = doc["set"].begin(); it != doc["set"].end(); ++it)
      apply_override(spec.base, it.key() + "=" + it.value().dump());
  }
  json seeds = doc.value("seeds", json());
  if (doc.contains("replications")) {  // N seeds derived from the base config's run.seed
    if (doc.contains("seeds"))
      throw InputError(file, "replications", "give either 'seeds' or 'replications' (seeds derived from run.seed)");
    if (!doc["replications"].is_number_integer())
      throw InputError(file, "replications",
                       fmt::format("found {}, expected a count >= 1", doc["replications"].dump()));
    spec.replications = doc["replications"].get<int64_t>();
    seeds = replication_seeds(spec.base, spec.replications, file);
  }
  spec.points = expand_points(doc.value("grid", json()), doc.value("points", json()), seeds, file);
  check_paths(spec, doc.contains("grid") ? "grid" : "points");
  if (doc.contains("metrics")) {
    const json& m = doc["metrics"];
    if (!m.is_array()) throw InputError(file, "metrics", "expected a list of metric names");
    for (size_t i = 0; i < m.size(); ++i) {
      if (!m[i].is_string()) throw InputError(file, join_path("metrics", i), "expected a metric name");
      spec.metrics.push_back(m[i].get<std::string>());
    }
  }
  return spec;
}

SweepSpec load_sweep(const std::string& path) {
  auto dir = fs::path(path).parent_path().string();
  return parse_sweep(load_json_file(path), path, dir.empty() ? "." : dir);
}

SweepFolder::SweepFolder(std::string dir, const SweepSpec& spec) : dir_(std::move(dir)) {
  make_output_folder((fs::path(dir_) / "runs").string());
  const fs::path sweep_file = fs::path(dir_) / "sweep.json";
  if (fs::exists(sweep_file)) {
    json old = parse_json_text(read_text(sweep_file), sweep_file.string());
    if (!old.is_object() || old.value("base", json()) != spec.base)
      throw InputError(sweep_file.string(), "base",
                       "this folder holds a sweep of a different base config (or different fixed 'set' values): "
                       "use another output folder, or remove this one to start over");
  }
  json points = json::array();
  for (const auto& p : spec.points)
    points.push_back({{"id", p.id}, {"params", p.params}, {"seed", p.seed ? json(*p.seed) : json()}});
  json info = {{"sweep_file", spec.file},
               {"base_file", spec.base_file},
               {"base", spec.base},
               {"metrics", spec.metrics},
               {"points", points}};
  if (spec.replications > 0) info["replications"] = spec.replications;
  write_text(sweep_file, info.dump(2) + "\n");
  std::istringstream in(read_text(fs::path(dir_) / "points.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    json rec = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (rec.is_object() && rec.contains("id") && rec["id"].is_string()) records_[rec["id"].get<std::string>()] = rec;
  }
}

bool SweepFolder::done(const std::string& id) const {
  auto it = records_.find(id);
  return it != records_.end() && it->second.value("ok", false);
}

std::string SweepFolder::run_dir(const std::string& id) const {
  return (fs::path(dir_) / "runs" / id).string();
}

void SweepFolder::append(const json& record) {
  {
    std::ofstream out(fs::path(dir_) / "points.jsonl", std::ios::binary | std::ios::app);
    if (!out) throw std::runtime_error(fmt::format("cannot append to {}/points.jsonl", dir_));
    out << record.dump() << "\n";
  }
  records_[record["id"].get<std::string>()] = record;
}

json SweepFolder::table(const SweepSpec& spec) const {
  json rows = json::array();
  for (const auto& p : spec.points) {
    auto it = records_.find(p.id);
    if (it != records_.end()) rows.push_back(it->second);
  }
  return rows;
}

json point_record(const SweepSpec& spec, const SweepPoint& p, const RunOutcome& r) {
  json rec = {{"id", p.id},
              {"params", p.params},
              {"seed", p.seed ? json(*p.seed) : json()},
              {"ok", r.ok},
              {"error", r.ok ? json() : json(r.message)},
              {"error_kind", r.ok ? json() : json(r.kind)},
              {"run_dir", "runs/" + p.id}};
  json metrics = json::object();
  if (r.ok) {
    if (rec["seed"].is_null() && r.results.contains("seed")) rec["seed"] = r.results["seed"];
    json tidy = tidy_metrics(r.results);
    if (spec.metrics.empty())
      metrics = tidy;
    else
      for (const auto& name : spec.metrics) metrics[name] = metric_value(r.results, tidy, name);
  }
  rec["metrics"] = metrics;
  return rec;
}

namespace {

// Column order of a sweep table: id, seed, the swept params, ok, error, then the metrics.
std::vector<std::string> table_columns(const json& records, const std::vector<std::string>& metrics) {
  std::vector<std::string> cols = {"id", "seed"};
  auto add = [&](const std::string& c) {
    if (std::find(cols.begin(), cols.end(), c) == cols.end()) cols.push_back(c);
  };
  for (const auto& r : records)
    for (auto it = r["params"].begin(); it != r["params"].end(); ++it) add(it.key());
  add("ok");
  add("error");
  for (const auto& m : metrics) add(m);
  for (const auto& r : records)
    for (auto it = r["metrics"].begin(); it != r["metrics"].end(); ++it) add(it.key());
  return cols;
}

}  // namespace

// A cell of results.csv. Metrics are doubles computed from the simulated clock (times in seconds, differences of
// absolute times, means of them): a latency of exactly 5176 cycles comes out as 5175.999999999976. Doubles are written
// with 12 significant digits, which prints the decimal they stand for and keeps far more precision than any model
// has (results.json and points.jsonl keep the full values); integers and text as they are.
std::string csv_cell(const json& v) {
  if (v.is_null()) return "";
  if (v.is_number_float()) {
    const double d = v.get<double>();
    return std::isfinite(d) ? fmt::format("{:.12g}", d) : v.dump();
  }
  if (!v.is_string()) return v.dump();
  auto s = v.get<std::string>();
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

json record_row(const json& record) {
  json row = json::object();
  row["id"] = record["id"];
  row["seed"] = record["seed"];
  for (auto it = record["params"].begin(); it != record["params"].end(); ++it) row[it.key()] = it.value();
  row["ok"] = record["ok"];
  row["error"] = record["error"];
  for (auto it = record["metrics"].begin(); it != record["metrics"].end(); ++it)
    if (!row.contains(it.key())) row[it.key()] = it.value();
  return row;
}

void write_sweep_csv(const std::string& dir, const json& records, const std::vector<std::string>& metrics) {
  auto cols = table_columns(records, metrics);
  std::string out;
  // Appending the separator and the cell separately: `"," + std::string&&` inlines into a false -Wrestrict on GCC 12
  // at -O3 (a Release build).
  for (size_t i = 0; i < cols.size(); ++i) {
    if (i) out += ',';
    out += csv_cell(cols[i]);
  }
  out += "\n";
  for (const auto& rec : records) {
    json row = record_row(rec);
    for (size_t i = 0; i < cols.size(); ++i) {
      if (i) out += ',';
      out += csv_cell(row.value(cols[i], json()));
    }
    out += "\n";
  }
  const fs::path tmp = fs::path(dir) / "results.csv.tmp";
  write_text(tmp, out);
  fs::rename(tmp, fs::path(dir) / "results.csv");
}

json run_point(const SweepSpec& spec, const SweepPoint& p, const std::string& outdir) {
  RunOutcome r;
  try {
    Scenario sc = resolve_scenario(point_config(spec.base, p), spec.base_file, spec.base_dir);
    r = run_in_child(sc, outdir);
  } catch (const InputError& e) {
    r = input_failure(e);
  } catch (const std::exception& e) {
    r = failure("internal", e.what());
  }
  return point_record(spec, p, r);
}

json run_sweep(const SweepSpec& spec, const std::string& out, int jobs,
               const std::function<void(const json&, size_t, size_t)>& progress) {
  SweepFolder folder(out, spec);
  std::vector<const SweepPoint*> todo;
  for (const auto& p : spec.points)
    if (!folder.done(p.id)) todo.push_back(&p);
  const size_t total = spec.points.size();
  size_t finished = total - todo.size();
  std::vector<BatchItem> items;
  for (const SweepPoint* p : todo)
    items.push_back(
        {[&spec, p] { return resolve_scenario(point_config(spec.base, *p), spec.base_file, spec.base_dir); },
         folder.run_dir(p->id)});
  run_batch(items, jobs, [&](size_t i, const RunOutcome& r) {
    json rec = point_record(spec, *todo[i], r);
    folder.append(rec);
    ++finished;
    if (progress) progress(rec, finished, total);
  });
  json rows = folder.table(spec);
  if (spec.replications > 0)
    write_replication_csv(out, rows, spec.metrics);
  else
    write_sweep_csv(out, rows, spec.metrics);
  return rows;
}

}  // namespace mksim
