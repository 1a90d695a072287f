// Independent replications of sweep points: the seeds of N replications, and the table of their means with 95%
// confidence intervals (Student's t), as `mksim sweep` and mksim.sweep give them when a sweep has `replications`.
// Source of the interval: the standard t interval for the mean of n independent, identically distributed runs,
// mean +- t(0.975, n - 1) * s / sqrt(n), with s the sample standard deviation (e.g. Law, "Simulation Modeling and
// Analysis", 5th ed., 2015, section 9.4.1: the replication/deletion approach for terminating simulations).
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "sim/input.hpp"
#include "sim/sweep.hpp"

namespace mksim {

namespace fs = std::filesystem;

double student_t_975(int df) {
  if (df < 1) throw std::invalid_argument(fmt::format("student_t_975: {} degrees of freedom, expected >= 1", df));
  // t(0.975, df) for df = 1 .. 30 (six significant digits, as tabulated e.g. by NIST/SEMATECH e-Handbook of
  // Statistical Methods, 1.3.6.7.2).
  static const double table[30] = {12.7062, 4.30265, 3.18245, 2.77645, 2.57058, 2.44691, 2.36462, 2.30600,
                                   2.26216, 2.22814, 2.20099, 2.17881, 2.16037, 2.14479, 2.13145, 2.11991,
                                   2.10982, 2.10092, 2.09302, 2.08596, 2.07961, 2.07387, 2.06866, 2.06390,
                                   2.05954, 2.05553, 2.05183, 2.04841, 2.04523, 2.04227};
  if (df <= 30) return table[df - 1];
  // Beyond 30: the Cornish-Fisher expansion around the normal quantile (Abramowitz & Stegun 26.7.5), within 1e-5.
  const double z = 1.959964, n = df, z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
  return z + (z3 + z) / (4 * n) + (5 * z5 + 16 * z3 + 3 * z) / (96 * n * n) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * n * n * n);
}

json replication_seeds(const json& base, int64_t n, const std::string& file) {
  if (n < 1 || n > static_cast<int64_t>(kMaxSweepPoints))
    throw InputError(file, "replications", fmt::format("found {}, expected a count from 1 to {}", n, kMaxSweepPoints));
  uint64_t first = 1;  // run.seed's default
  if (base.is_object() && base.contains("run") && base["run"].is_object() && base["run"].contains("seed")) {
    const json& s = base["run"]["seed"];
    if (!s.is_number_integer() || s.get<int64_t>() < 0)
      throw InputError(file, "base.run.seed", fmt::format("found {}, expected a seed >= 0", s.dump()));
    first = s.get<uint64_t>();
  }
  json seeds = json::array();
  for (int64_t r = 0; r < n; ++r) seeds.push_back(first + static_cast<uint64_t>(r));
  return seeds;
}

json replication_summary(const json& records, const std::vector<std::string>& metrics) {
  // Points in order of first appearance; a point is its params (every replication of it has the same params).
  std::vector<std::string> order;
  std::map<std::string, std::vector<const json*>> by_point;
  for (const auto& r : records) {
    const std::string key = r.value("params", json::object()).dump();
    if (!by_point.count(key)) order.push_back(key);
    by_point[key].push_back(&r);
  }
  // Metric columns: those asked for in their order, then every other numeric metric by name.
  std::vector<std::string> names = metrics;
  std::map<std::string, bool> numeric;
  for (const auto& r : records) {
    if (!r.contains("metrics") || !r["metrics"].is_object()) continue;
    for (auto it = r["metrics"].begin(); it != r["metrics"].end(); ++it)
      if (it.value().is_number() && !it.value().is_boolean()) numeric[it.key()] = true;
  }
  for (const auto& [name, yes] : numeric)
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  std::vector<std::string> columns;
  auto column = [&](const std::string& c) {
    if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
  };
  json rows = json::array();
  for (const auto& key : order) {
    const auto& runs = by_point[key];
    json row = json::object();
    const json params = json::parse(key);
    for (auto it = params.begin(); it != params.end(); ++it) {
      row[it.key()] = it.value();
      column(it.key());
    }
    size_t ok = 0;
    for (const json* r : runs) ok += r->value("ok", false);
    row["runs"] = runs.size();
    row["runs_ok"] = ok;
    rows.push_back(std::move(row));
  }
  column("runs");
  column("runs_ok");
  for (const auto& name : names)
    for (const char* suffix : {"_mean", "_ci95_lo", "_ci95_hi", "_n"}) column(name + suffix);
  for (size_t i = 0; i < order.size(); ++i) {
    json& row = rows[i];
    for (const auto& name : names) {
      std::vector<double> v;
      for (const json* r : by_point[order[i]]) {
        if (!r->value("ok", false) || !r->contains("metrics")) continue;
        const json& m = (*r)["metrics"];
        if (m.contains(name) && m[name].is_number() && !m[name].is_boolean()) v.push_back(m[name].get<double>());
      }
      json mean, lo, hi;
      if (!v.empty()) {
        double sum = 0;
        for (double x : v) sum += x;
        const double mu = sum / static_cast<double>(v.size());
        mean = mu;
        if (v.size() >= 2) {
          double ss = 0;
          for (double x : v) ss += (x - mu) * (x - mu);
          const double n = static_cast<double>(v.size());
          const double half = student_t_975(static_cast<int>(v.size() - 1)) * std::sqrt(ss / (n - 1)) / std::sqrt(n);
          lo = mu - half;
          hi = mu + half;
        }
      }
      row[name + "_mean"] = mean;
      row[name + "_ci95_lo"] = lo;
      row[name + "_ci95_hi"] = hi;
      row[name + "_n"] = v.size();
    }
  }
  return json{{"columns", columns}, {"rows", rows}};
}

void write_replication_csv(const std::string& dir, const json& records, const std::vector<std::string>& metrics) {
  // One row per run, as results.csv is without replications, goes to runs.csv; results.csv holds the summary.
  write_sweep_csv(dir, records, metrics);
  fs::rename(fs::path(dir) / "results.csv", fs::path(dir) / "runs.csv");
  const json summary = replication_summary(records, metrics);
  const auto cols = summary["columns"].get<std::vector<std::string>>();
  std::string out;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (i) out += ',';  // appended apart from the cell: GCC 12 -O3 sees a false overlap in "," + cell (-Wrestrict)
    out += csv_cell(cols[i]);
  }
  out += '\n';
  for (const auto& r : summary["rows"]) {
    for (size_t i = 0; i < cols.size(); ++i) {
      if (i) out += ',';
      out += csv_cell(r.value(cols[i], json()));
    }
    out += '\n';
  }
  const fs::path tmp = fs::path(dir) / "results.csv.tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) throw std::runtime_error(fmt::format("cannot write {}", tmp.string()));
    f << out;
  }
  fs::rename(tmp, fs::path(dir) / "results.csv");
}

}  // namespace mksim
