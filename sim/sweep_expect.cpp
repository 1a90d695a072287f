// Expectations (sim/sweep.hpp, `mksim check`): cases run as a batch, their metrics compared with the expected values.
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
#include "sim/sweep.hpp"
#include "sim/sweep_detail.hpp"

namespace mksim {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;
using namespace sweep_detail;

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
