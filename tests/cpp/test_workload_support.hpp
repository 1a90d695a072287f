// Helpers of the workload tests: run a config document in a child process (one SimGrid engine per process) and read
// its metrics, or get the error a config's set-up gives.
#pragma once

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "sim/config.hpp"
#include "sim/engine.hpp"

namespace mksim::test {

// Runs `doc` (its output files in `outdir` when given) and returns results.json, checking the end-of-run invariants:
// every run accounts for all its time and messages.
inline json run_checked(const json& doc, const std::string& outdir = "") {
  json r = run_isolated(resolve_scenario(doc, "test", "."), outdir).doc;
  INFO(r["invariants"].dump());
  REQUIRE(r.contains("invariants"));
  CHECK(r["invariants"]["ok"] == true);
  return r;
}

// Runs `doc` to completion with the trace output (in a temporary directory named `name`, removed afterwards);
// returns results.json and the trace's events.
inline std::pair<json, json> run_traced(json doc, const std::string& name) {
  namespace fs = std::filesystem;
  const std::string out = (fs::temp_directory_path() / name).string();
  fs::remove_all(out);
  doc["run"]["outputs"]["trace"] = true;
  json r = run_checked(doc, out);
  REQUIRE(r["summary"]["status"] == "completed");
  std::ifstream in(out + "/trace.json");
  std::stringstream ss;
  ss << in.rdbuf();
  fs::remove_all(out);
  json trace = json::parse(ss.str());
  return {r, trace.is_array() ? trace : trace["traceEvents"]};
}

// Runs `doc` to completion and returns results.json's workload.metrics.
inline json run_metrics(const json& doc) {
  json r = run_isolated(resolve_scenario(doc, "test", ".")).doc;
  INFO(r["summary"].dump());
  REQUIRE(r["summary"]["status"] == "completed");
  return r["workload"]["metrics"];
}

inline double metric(const json& metrics, const char* name) {
  return metrics.at(name).get<double>();
}

// The message of the InputError that checking `doc` (config and workload set-up) gives, or "" if none.
inline std::string setup_error(const json& doc) {
  try {
    validate_scenario(resolve_scenario(doc, "test.json", "."));
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// A uniform machine section: `sockets` x `cores_per_socket` cores at 2.5 GHz, one NUMA node per socket.
inline json small_machine(int sockets, int cores_per_socket) {
  return {{"sockets", sockets}, {"cores_per_socket", cores_per_socket}, {"freq_ghz", 2.5}};
}

}  // namespace mksim::test
