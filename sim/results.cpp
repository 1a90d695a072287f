#include "sim/results.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

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

std::string table_csv(const json& rows) {
  if (!rows.is_array() || rows.empty()) return "";
  std::vector<std::string> cols;
  for (auto it = rows[0].begin(); it != rows[0].end(); ++it) cols.push_back(it.key());
  std::string out;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (i) out += ',';
    out += cols[i];
  }
  out += '\n';
  for (const auto& r : rows) {
    for (size_t i = 0; i < cols.size(); ++i) {
      if (i) out += ',';
      out += csv_cell(r.value(cols[i], json()));
    }
    out += '\n';
  }
  return out;
}

void RunResults::write(const std::string& dir, bool csv) const {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  // Names come from inputs (trace task names are bytes): the readers escape what is not UTF-8, and should one slip
  // through, a replacement character is better than losing the whole run's results to a type_error at the end.
  write_file(fs::path(dir) / "results.json", doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
  if (!csv) return;
  write_file(fs::path(dir) / "threads.csv", table_csv(doc["threads"]));
  write_file(fs::path(dir) / "cores.csv", table_csv(doc["cores"]));
  write_file(fs::path(dir) / "memory.csv", table_csv(doc["memory"]));
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
