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

namespace mksim {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

std::mutex g_children_mutex;
std::set<pid_t> g_children;  // children of run_in_child / run_batch not reaped yet
ForkHooks g_fork_hooks;

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

// waitpid for one child, retried when a signal interrupts it.
int wait_child(pid_t pid, int flags) {
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, flags);
    if (r == pid) return status;
    if (r == 0) return -1;  // WNOHANG: still running
    if (errno != EINTR) throw std::runtime_error(fmt::format("waitpid: {}", std::strerror(errno)));
  }
}

void forget_child(pid_t pid) {
  std::lock_guard<std::mutex> lock(g_children_mutex);
  g_children.erase(pid);
}

bool is_scalar(const json& v) {
  return v.is_number() || v.is_string() || v.is_boolean();
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

}  // namespace

// ---- one run in a child process ----

pid_t start_run(const Scenario& sc, const std::string& outdir) {
  fs::create_directories(outdir);
  std::error_code ec;
  for (const char* f : {"results.json", "error.json", "trace.json", "ops.jsonl"}) fs::remove(fs::path(outdir) / f, ec);
  fflush(nullptr);
  if (g_fork_hooks.before) g_fork_hooks.before();
  pid_t pid = fork();
  const int fork_errno = errno;
  if (pid != 0 && g_fork_hooks.parent) g_fork_hooks.parent();
  if (pid < 0) throw std::runtime_error(fmt::format("fork: {}", std::strerror(fork_errno)));
  if (pid > 0) {
    std::lock_guard<std::mutex> lock(g_children_mutex);
    g_children.insert(pid);
    return pid;
  }
  if (g_fork_hooks.child) g_fork_hooks.child();
  // The child: a host process (Python, a CLI sweep) may have installed its own handlers.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGPIPE, SIG_DFL);
  int code = 0;
  try {
    auto outputs = make_outputs(sc, outdir);
    std::vector<Observer*> observers;
    for (auto& o : outputs) observers.push_back(o.get());
    RunResults res = simulate(sc, observers);
    res.write(outdir, sc.run.csv);
  } catch (const InputError& e) {
    code = 2;
    try {
      write_text(fs::path(outdir) / "error.json",
                 json{{"kind", "input"}, {"message", e.what()}, {"file", e.file()}, {"where", e.where()}}.dump(2));
    } catch (...) {
    }
  } catch (const std::exception& e) {
    code = 1;
    try {
      write_text(fs::path(outdir) / "error.json", json{{"kind", "internal"}, {"message", e.what()}}.dump(2));
    } catch (...) {
    }
  }
  fflush(nullptr);
  _exit(code);
}

RunOutcome finish_run(int status, const std::string& outdir) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    return failure("signal", fmt::format("the simulation process died of signal {} ({})", sig, strsignal(sig)));
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 0) {
    std::string text = read_text(fs::path(outdir) / "results.json");
    if (text.empty()) return failure("lost", "the simulation process ended without writing results.json");
    RunOutcome r;
    r.ok = true;
    r.results = json::parse(text);
    return r;
  }
  std::string text = read_text(fs::path(outdir) / "error.json");
  if (text.empty())
    return failure("lost", fmt::format("the simulation process exited with status {} and no message", code));
  json e = json::parse(text);
  RunOutcome r = failure(e.value("kind", "internal"), e.value("message", ""));
  r.file = e.value("file", "");
  r.where = e.value("where", "");
  return r;
}

RunOutcome run_in_child(const Scenario& sc, const std::string& outdir) {
  pid_t pid = start_run(sc, outdir);
  int status;
  try {
    status = wait_child(pid, 0);
  } catch (...) {
    forget_child(pid);
    throw;
  }
  forget_child(pid);
  return finish_run(status, outdir);
}

void set_fork_hooks(const ForkHooks& hooks) {
  g_fork_hooks = hooks;
}

void cancel_runs() {
  std::lock_guard<std::mutex> lock(g_children_mutex);
  for (pid_t pid : g_children) kill(pid, SIGKILL);
}

int default_jobs() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

// ---- metrics ----

void check_results(const json& results, const std::string& file) {
  if (!results.is_object()) throw InputError(file, "top level", "expected a results.json object");
  auto want = [&](const char* key, bool object) {
    if (!results.contains(key)) throw InputError(file, key, "missing: is this a results.json written by mksim?");
    const json& v = results[key];
    if (object ? !v.is_object() : !v.is_array())
      throw InputError(file, key,
                       fmt::format("found {}, expected an {}", v.dump().substr(0, 60), object ? "object" : "array"));
    if (!object)
      for (size_t i = 0; i < v.size(); ++i)
        if (!v[i].is_object())
          throw InputError(file, join_path(key, i),
                           fmt::format("found {}, expected an object", v[i].dump().substr(0, 60)));
  };
  want("summary", true);
  want("workload", true);
  want("threads", false);
  want("cores", false);
  want("memory", false);
  if (results["workload"].contains("metrics") && !results["workload"]["metrics"].is_object())
    throw InputError(file, "workload.metrics", "expected an object");
}

json tidy_metrics(const json& results) {
  json out = json::object();
  if (!results.is_object()) return out;
  json s = results.value("summary", json::object());
  if (!s.is_object()) s = json::object();
  for (auto it = s.begin(); it != s.end(); ++it) {
    if (it.key() == "events_by_kind" && it.value().is_object()) {
      for (auto jt = it.value().begin(); jt != it.value().end(); ++jt) out["events." + jt.key()] = jt.value();
    } else if (is_scalar(it.value())) {
      out[it.key()] = it.value();
    }
  }
  // Whole-machine figures that sweeps over placement and scheduling compare most often.
  if (results.contains("cores") && results["cores"].is_array() && !results["cores"].empty()) {
    double u = 0;
    for (const auto& c : results["cores"]) u += c.is_object() ? c.value("utilisation", 0.0) : 0.0;
    out["mean_utilisation"] = u / static_cast<double>(results["cores"].size());
  }
  if (results.contains("memory") && results["memory"].is_array()) {
    uint64_t local = 0, remote = 0;
    for (const auto& n : results["memory"]) {
      if (!n.is_object()) continue;
      local += n.value("local_bytes", uint64_t{0});
      remote += n.value("remote_bytes", uint64_t{0});
    }
    out["local_bytes"] = local;
    out["remote_bytes"] = remote;
    out["remote_fraction"] =
        local + remote > 0 ? static_cast<double>(remote) / static_cast<double>(local + remote) : 0.0;
  }
  json wl = results.value("workload", json::object());
  if (!wl.is_object()) wl = json::object();
  json m = wl.value("metrics", json::object());
  if (!m.is_object()) m = json::object();
  const bool several = wl.contains("instances") && wl["instances"].is_array() && wl["instances"].size() > 1;
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (several && it.value().is_object()) {
      for (auto jt = it.value().begin(); jt != it.value().end(); ++jt)
        if (is_scalar(jt.value())) out[it.key() + "." + jt.key()] = jt.value();
    } else if (is_scalar(it.value())) {
      out[out.contains(it.key()) ? "workload." + it.key() : it.key()] = it.value();
    }
  }
  return out;
}

json metric_value(const json& results, const json& tidy, const std::string& name) {
  if (tidy.contains(name)) return tidy[name];
  const json* node = &results;
  std::string step;
  std::istringstream in(name);
  while (std::getline(in, step, '.')) {
    if (node->is_object() && node->contains(step)) {
      node = &(*node)[step];
    } else if (node->is_array() && !step.empty() && step.find_first_not_of("0123456789") == std::string::npos &&
               std::stoul(step) < node->size()) {
      node = &(*node)[std::stoul(step)];
    } else {
      return nullptr;
    }
  }
  return *node;
}

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

// ---- batches ----

std::vector<RunOutcome> run_batch(const std::vector<BatchItem>& items, int jobs,
                                  const std::function<void(size_t, const RunOutcome&)>& on_done) {
  jobs = std::max(1, jobs);
  std::vector<RunOutcome> outcomes(items.size());
  std::map<pid_t, size_t> running;
  size_t next = 0;
  auto finish = [&](size_t i, RunOutcome r) {
    outcomes[i] = std::move(r);
    if (on_done) on_done(i, outcomes[i]);
  };
  try {
    while (next < items.size() || !running.empty()) {
      while (static_cast<int>(running.size()) < jobs && next < items.size()) {
        const size_t i = next++;
        Scenario sc;
        try {
          sc = items[i].scenario();
        } catch (const InputError& e) {
          finish(i, input_failure(e));
          continue;
        } catch (const std::exception& e) {
          finish(i, failure("internal", e.what()));
          continue;
        }
        running[start_run(sc, items[i].outdir)] = i;
      }
      // Reap whichever children have ended; only our own pids, so that a host process's other children are left
      // alone (Python, Dask).
      bool reaped = false;
      for (auto it = running.begin(); it != running.end();) {
        int status = wait_child(it->first, WNOHANG);
        if (status == -1) {
          ++it;
          continue;
        }
        forget_child(it->first);
        const size_t i = it->second;
        it = running.erase(it);
        reaped = true;
        finish(i, finish_run(status, items[i].outdir));
      }
      if (!reaped && !running.empty()) usleep(5000);
    }
  } catch (...) {
    for (const auto& [pid, i] : running) kill(pid, SIGKILL), wait_child(pid, 0), forget_child(pid);
    throw;
  }
  return outcomes;
}

// ---- expectations ----

namespace {

std::string slug(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
  return out.empty() ? "case" : out;
}

std::string value_text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_number_float()) return fmt::format("{:.6g}", v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

}  // namespace

json check_expectations(const std::string& path, bool update, int jobs, const std::string& outdir) {
  const std::string text = read_input_file(path, "the file");
  parse_json_text(text, path);  // syntax errors with line and column
  ojson doc = ojson::parse(text);
  static const std::vector<std::string> top = {"description", "defaults", "cases"};
  static const std::vector<std::string> case_keys = {"name", "description", "config", "set", "seed", "metrics"};
  static const std::vector<std::string> metric_keys = {"expected", "abs_tol", "rel_tol"};
  if (!doc.is_object()) throw InputError(path, "top level", "expected an object with 'cases'");
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (std::find(top.begin(), top.end(), it.key()) == top.end())
      throw InputError(path, it.key(), fmt::format("unknown key '{}', {}", it.key(), one_of(it.key(), top)));
  if (!doc.contains("cases") || !doc["cases"].is_array() || doc["cases"].empty())
    throw InputError(path, "cases", "expected a non-empty list of cases {name, config, metrics}");
  double default_rel = 0, default_abs = 0;
  if (doc.contains("defaults")) {
    const ojson& d = doc["defaults"];
    if (!d.is_object()) throw InputError(path, "defaults", "expected an object {rel_tol, abs_tol}");
    for (auto it = d.begin(); it != d.end(); ++it) {
      if (it.key() != "rel_tol" && it.key() != "abs_tol")
        throw InputError(path, join_path("defaults", it.key()),
                         fmt::format("unknown key '{}', expected one of: abs_tol, rel_tol", it.key()));
      if (!it.value().is_number() || it.value().get<double>() < 0)
        throw InputError(path, join_path("defaults", it.key()), "expected a number >= 0");
    }
    default_rel = d.value("rel_tol", 0.0);
    default_abs = d.value("abs_tol", 0.0);
  }
  auto dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";

  std::string work = outdir;
  bool temporary = false;
  if (work.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "mksim-check-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error(fmt::format("mkdtemp: {}", std::strerror(errno)));
    work = tmpl;
    temporary = true;
  }

  ojson& cases = doc["cases"];
  std::vector<BatchItem> items;
  std::set<std::string> names;
  for (size_t i = 0; i < cases.size(); ++i) {
    const ojson& c = cases[i];
    const std::string cpath = join_path("cases", i);
    if (!c.is_object()) throw InputError(path, cpath, "expected an object {name, config, metrics}");
    for (auto it = c.begin(); it != c.end(); ++it)
      if (std::find(case_keys.begin(), case_keys.end(), it.key()) == case_keys.end())
        throw InputError(path, join_path(cpath, it.key()),
                         fmt::format("unknown key '{}', {}", it.key(), one_of(it.key(), case_keys)));
    if (!c.contains("name") || !c["name"].is_string())
      throw InputError(path, join_path(cpath, "name"), "expected a name");
    if (!names.insert(c["name"].get<std::string>()).second)
      throw InputError(path, join_path(cpath, "name"), "this name is used by another case");
    if (!c.contains("config") || !c["config"].is_string())
      throw InputError(path, join_path(cpath, "config"), "expected the path of a config file");
    if (c.contains("set") && !c["set"].is_object())
      throw InputError(path, join_path(cpath, "set"), "expected an object {\"dotted.path\": value, ...}");
    if (c.contains("seed") && !c["seed"].is_number_unsigned())
      throw InputError(path, join_path(cpath, "seed"), "expected a seed >= 0");
    if (!c.contains("metrics") || !c["metrics"].is_object() || c["metrics"].empty())
      throw InputError(path, join_path(cpath, "metrics"), "expected an object {metric: {expected, rel_tol, abs_tol}}");
    for (auto it = c["metrics"].begin(); it != c["metrics"].end(); ++it) {
      const std::string mpath = join_path(join_path(cpath, "metrics"), it.key());
      if (!it.value().is_object()) throw InputError(path, mpath, "expected an object {expected, rel_tol, abs_tol}");
      for (auto jt = it.value().begin(); jt != it.value().end(); ++jt) {
        if (std::find(metric_keys.begin(), metric_keys.end(), jt.key()) == metric_keys.end())
          throw InputError(path, join_path(mpath, jt.key()),
                           fmt::format("unknown key '{}', {}", jt.key(), one_of(jt.key(), metric_keys)));
        if (jt.key() != "expected" && (!jt.value().is_number() || jt.value().get<double>() < 0))
          throw InputError(path, join_path(mpath, jt.key()), "expected a tolerance >= 0");
      }
    }
    const std::string config = resolve_path(c["config"].get<std::string>(), dir);
    json set = c.contains("set") ? json::parse(c["set"].dump()) : json::object();
    std::optional<uint64_t> seed;
    if (c.contains("seed")) seed = c["seed"].get<uint64_t>();
    items.push_back({[config, set, seed] {
                       std::vector<std::string> overrides;
                       for (auto it = set.begin(); it != set.end(); ++it)
                         overrides.push_back(it.key() + "=" + it.value().dump());
                       if (seed) overrides.push_back(fmt::format("run.seed={}", *seed));
                       return load_scenario(config, overrides);
                     },
                     (fs::path(work) / fmt::format("{:02}-{}", i, slug(c["name"].get<std::string>()))).string()});
  }

  std::vector<RunOutcome> outcomes;
  try {
    outcomes = run_batch(items, jobs);
  } catch (...) {
    if (temporary) fs::remove_all(work);
    throw;
  }
  if (temporary) fs::remove_all(work);

  json report = {{"file", path}, {"updated", update}, {"cases", json::array()}};
  bool all = true;
  for (size_t i = 0; i < cases.size(); ++i) {
    ojson& c = cases[i];
    const RunOutcome& r = outcomes[i];
    json rc = {
        {"name", c["name"]}, {"ok", r.ok}, {"error", r.ok ? json() : json(r.message)}, {"checks", json::array()}};
    json tidy = r.ok ? tidy_metrics(r.results) : json::object();
    for (auto it = c["metrics"].begin(); it != c["metrics"].end(); ++it) {
      ojson& m = it.value();
      json expected = m.contains("expected") ? json::parse(m["expected"].dump()) : json();
      const double abs_tol = m.value("abs_tol", default_abs), rel_tol = m.value("rel_tol", default_rel);
      json measured = r.ok ? metric_value(r.results, tidy, it.key()) : json();
      bool pass = false;
      std::string why;
      if (!r.ok) {
        why = "the run failed";
      } else if (measured.is_null()) {
        why = "no such metric in the results";
      } else if (expected.is_null()) {
        why = "no expected value yet (run with --update)";
      } else if (measured.is_number() && expected.is_number()) {
        const double e = expected.get<double>(), d = std::abs(measured.get<double>() - e);
        pass = d <= abs_tol + rel_tol * std::abs(e);
        if (!pass) why = fmt::format("off by {:.3g} ({:.3g}%)", d, e != 0 ? 100 * d / std::abs(e) : INFINITY);
      } else {
        pass = measured == expected;
        if (!pass) why = "differs";
      }
      if (update && r.ok && !measured.is_null()) m["expected"] = ojson::parse(measured.dump());
      all = all && pass;
      rc["checks"].push_back({{"metric", it.key()},
                              {"measured", measured},
                              {"expected", expected},
                              {"abs_tol", abs_tol},
                              {"rel_tol", rel_tol},
                              {"pass", pass},
                              {"why", why}});
    }
    all = all && r.ok;
    report["cases"].push_back(rc);
  }
  report["passed"] = all;
  if (update) {
    bool runs_ok = true;
    for (const auto& r : outcomes) runs_ok = runs_ok && r.ok;
    report["runs_ok"] = runs_ok;
    write_text(path, doc.dump(2) + "\n");
  }
  return report;
}

std::string check_report_text(const json& report) {
  struct Line {
    std::string c, metric, measured, expected, tol, result;
  };
  std::vector<Line> lines = {{"case", "metric", "measured", "expected", "tolerance", "result"}};
  size_t passed = 0, failed = 0;
  std::string errors;
  const bool updated = report.value("updated", false);
  for (const auto& c : report["cases"]) {
    const std::string name = c["name"];
    if (!c["ok"].get<bool>()) errors += fmt::format("  {}: the run failed: {}\n", name, c["error"].get<std::string>());
    for (const auto& k : c["checks"]) {
      const double a = k["abs_tol"], r = k["rel_tol"];
      std::string tol = (a == 0 && r == 0) || !k["expected"].is_number() ? "exact"
                        : r == 0                                         ? fmt::format("±{:.3g}", a)
                        : a == 0                                         ? fmt::format("±{:.3g}%", 100 * r)
                                 : fmt::format("±{:.3g} + {:.3g}%", a, 100 * r);
      const bool pass = k["pass"];
      (pass ? passed : failed) += 1;
      std::string result = pass ? "pass" : "FAIL";
      if (!pass && !k["why"].get<std::string>().empty()) result += ": " + k["why"].get<std::string>();
      lines.push_back({name, k["metric"], value_text(k["measured"]), value_text(k["expected"]), tol, result});
    }
  }
  size_t w[5] = {0, 0, 0, 0, 0};
  for (const auto& l : lines) {
    w[0] = std::max(w[0], l.c.size());
    w[1] = std::max(w[1], l.metric.size());
    w[2] = std::max(w[2], l.measured.size());
    w[3] = std::max(w[3], l.expected.size());
    w[4] = std::max(w[4], l.tol.size());
  }
  std::string out;
  for (const auto& l : lines)
    out += fmt::format("{:<{}}  {:<{}}  {:>{}}  {:>{}}  {:<{}}  {}\n", l.c, w[0], l.metric, w[1], l.measured, w[2],
                       l.expected, w[3], l.tol, w[4], l.result);
  out += errors;
  out +=
      fmt::format("{}: {} checks, {} passed, {} failed{}\n", report["file"].get<std::string>(), passed + failed, passed,
                  failed, updated ? " (before the update; expected values rewritten from the measured ones)" : "");
  return out;
}

}  // namespace mksim
