// The metrics of a results document (sim/sweep.hpp): its shape checked, its scalar figures as one flat row, a figure
// by name.
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

namespace mksim {

namespace {

bool is_scalar(const json& v) {
  return v.is_number() || v.is_string() || v.is_boolean();
}

}  // namespace

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

}  // namespace mksim
