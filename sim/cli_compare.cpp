// `mksim compare A B ...`: a side-by-side table of the metrics of several runs. Each argument is a results.json, a
// run's output folder, or a config (run here, each in its own child process).
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <set>

#include "sim/child_process.hpp"
#include "sim/cli.hpp"
#include "sim/sweep.hpp"

namespace mksim {

namespace {

namespace fs = std::filesystem;

// Rows in an order that reads well: what was run, then how it went, then the workload's figures, then event counts.
std::vector<std::string> row_order(const std::vector<json>& tidies) {
  static const std::vector<std::string> first = {"architecture", "scheduler", "cores",     "numa_nodes",
                                                 "threads",      "status",    "sim_time_s"};
  std::vector<std::string> rows, events;
  std::set<std::string> seen;
  for (const auto& f : first)
    for (const auto& t : tidies)
      if (t.contains(f) && seen.insert(f).second) rows.push_back(f);
  for (const auto& t : tidies)
    for (auto it = t.begin(); it != t.end(); ++it)
      if (seen.insert(it.key()).second) (it.key().rfind("events.", 0) == 0 ? events : rows).push_back(it.key());
  rows.insert(rows.end(), events.begin(), events.end());
  return rows;
}

std::string cell(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_number_float()) return fmt::format("{:.6g}", v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

class CompareCommand final : public Command {
 public:
  void setup(CLI::App& sub) override {
    sub.add_option("inputs", inputs_, "results.json files, run output folders, or configs to run")
        ->required()
        ->expected(1, -1);
    sub.add_option("--set", sets_, "override a field of every config input: dotted.path=value (repeatable)");
    sub.add_option("-m,--metrics", metrics_, "only these metrics (tidy names or dotted paths into results.json)")
        ->delimiter(',');
    sub.add_option("-j,--jobs", jobs_, "config inputs run at once (default: the cores available)");
    sub.add_flag("--csv", csv_, "print CSV instead of an aligned table");
  }

  int run() override {
    InterruptWatch watch;  // Ctrl-C or SIGTERM ends the runs and removes the temporary folder
    std::vector<json> results(inputs_.size());
    std::vector<std::string> labels;
    std::vector<BatchItem> items;
    std::vector<size_t> item_input;
    std::string tmp;
    for (size_t i = 0; i < inputs_.size(); ++i) {
      fs::path p(inputs_[i]);
      if (fs::is_directory(p)) {
        results[i] = load_json_file((p / "results.json").string());
        check_results(results[i], (p / "results.json").string());
        labels.push_back(p.filename().empty() ? p.parent_path().filename().string() : p.filename().string());
        continue;
      }
      json doc = load_json_file(p.string());
      if (doc.is_object() && doc.contains("summary")) {
        check_results(doc, p.string());
        results[i] = doc;
        labels.push_back(p.filename() == "results.json" && p.has_parent_path() ? p.parent_path().filename().string()
                                                                               : p.stem().string());
        continue;
      }
      if (tmp.empty()) {
        std::string tmpl = (fs::temp_directory_path() / "mksim-compare-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        tmp = tmpl;
      }
      const std::string path = p.string();
      const auto sets = sets_;
      items.push_back(
          {[path, sets] { return load_scenario(path, sets); }, (fs::path(tmp) / std::to_string(i)).string()});
      item_input.push_back(i);
      labels.push_back(p.stem().string());
    }
    std::vector<RunOutcome> outcomes;
    try {
      outcomes = run_batch(items, jobs_ > 0 ? jobs_ : default_jobs());
    } catch (...) {
      if (!tmp.empty()) fs::remove_all(tmp);
      throw;
    }
    if (!tmp.empty()) fs::remove_all(tmp);
    for (size_t k = 0; k < outcomes.size(); ++k) {
      if (!outcomes[k].ok) {
        if (outcomes[k].kind == "input") throw InputError(outcomes[k].file, outcomes[k].where, strip(outcomes[k]));
        throw std::runtime_error(fmt::format("{}: {}", inputs_[item_input[k]], outcomes[k].message));
      }
      results[item_input[k]] = std::move(outcomes[k].results);
    }
    for (size_t i = 0; i < labels.size(); ++i)  // tell identical labels apart
      for (size_t j = i + 1; j < labels.size(); ++j)
        if (labels[j] == labels[i]) labels[j] += fmt::format("#{}", j + 1);

    std::vector<json> tidies;
    for (const auto& r : results) tidies.push_back(tidy_metrics(r));
    std::vector<std::string> rows = metrics_.empty() ? row_order(tidies) : metrics_;
    std::vector<std::string> header = {"metric"};
    header.insert(header.end(), labels.begin(), labels.end());
    const bool ratio = results.size() == 2;
    if (ratio) header.push_back(fmt::format("{}/{}", labels[1], labels[0]));
    std::vector<std::vector<std::string>> table = {header};
    for (const auto& name : rows) {
      std::vector<std::string> line = {name};
      std::vector<json> vals;
      for (size_t i = 0; i < results.size(); ++i) vals.push_back(metric_value(results[i], tidies[i], name));
      for (const auto& v : vals) line.push_back(cell(v));
      if (ratio)
        line.push_back(vals[0].is_number() && vals[1].is_number() && vals[0].get<double>() != 0
                           ? fmt::format("{:.4g}", vals[1].get<double>() / vals[0].get<double>())
                           : "");
      table.push_back(line);
    }
    if (csv_) {
      for (const auto& line : table) {
        for (size_t c = 0; c < line.size(); ++c) std::cout << (c ? "," : "") << csv_cell(line[c]);
        std::cout << "\n";
      }
      return 0;
    }
    std::vector<size_t> w(header.size(), 0);
    for (const auto& line : table)
      for (size_t c = 0; c < line.size(); ++c) w[c] = std::max(w[c], line[c].size());
    for (const auto& line : table) {
      std::string out = fmt::format("{:<{}}", line[0], w[0]);
      for (size_t c = 1; c < line.size(); ++c) out += fmt::format("  {:>{}}", line[c], w[c]);
      while (!out.empty() && out.back() == ' ') out.pop_back();
      std::cout << out << "\n";
    }
    return 0;
  }

 private:
  // The message of an input error without the "file: where: " prefix that InputError adds again.
  static std::string strip(const RunOutcome& r) {
    std::string prefix = InputError(r.file, r.where, "").what();
    return r.message.substr(std::min(r.message.size(), prefix.size()));
  }

  std::vector<std::string> inputs_, sets_, metrics_;
  int jobs_ = 0;
  bool csv_ = false;
};

RegisterCommand reg("compare", "Print the metrics of several runs side by side (results, run folders or configs)", 70,
                    [] { return std::make_unique<CompareCommand>(); });

}  // namespace
}  // namespace mksim
