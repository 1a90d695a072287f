// `mksim sweep SWEEP.json`: every point of a parameter sweep, each in its own child process, --jobs at a time; each
// result is recorded as it finishes, so an interrupted sweep loses nothing and a rerun skips what is done.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "sim/child_process.hpp"
#include "sim/cli.hpp"
#include "sim/sweep.hpp"

namespace mksim {

namespace {

namespace fs = std::filesystem;

std::string params_text(const json& params, const json& seed) {
  std::string out;
  for (auto it = params.begin(); it != params.end(); ++it)
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", it.key(),
                       it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
  if (!seed.is_null()) out += fmt::format("{}seed={}", out.empty() ? "" : " ", seed.dump());
  return out.empty() ? "(base)" : out;
}

class SweepCommand final : public Command {
 public:
  void setup(CLI::App& sub) override {
    sub.add_option("sweep", file_, "sweep file (JSON: base, grid or points, seeds, metrics; see docs/python.md)")
        ->required();
    sub.add_option("-j,--jobs", jobs_, "runs at once (default: the cores available)");
    sub.add_option("-o,--out", outdir_, "output folder (default: out/SWEEP-NAME); rerunning with it resumes");
    sub.add_option("-r,--replications", replications_,
                   "independent runs of every point, seeds run.seed + 0 .. N-1; results.csv then holds each "
                   "metric's mean and 95% interval (runs.csv every run)");
    sub.add_option("--set", sets_, "override a field of the base config: dotted.path=value (repeatable)");
    sub.add_flag("-q,--quiet", quiet_, "print only the final line");
  }
  int run() override {
    SweepSpec spec;
    if (replications_ > 0) {
      json doc = load_json_file(file_);
      if (doc.is_object()) doc["replications"] = replications_;
      const auto dir = fs::path(file_).parent_path().string();
      spec = parse_sweep(doc, file_, dir.empty() ? "." : dir);
    } else {
      spec = load_sweep(file_);
    }
    apply_overrides(spec.base, sets_);
    if (outdir_.empty()) outdir_ = (fs::path("out") / fs::path(file_).stem()).string();
    size_t ran = 0, failed = 0;
    const size_t width = std::to_string(spec.points.size()).size();
    auto progress = [&](const json& rec, size_t done, size_t total) {
      ++ran;
      const bool ok = rec["ok"];
      failed += !ok;
      if (quiet_) return;
      std::cout << fmt::format("[{:>{}}/{}] {} {}: {}\n", done, width, total, rec["id"].get<std::string>(),
                               params_text(rec["params"], rec["seed"]),
                               ok ? "ok" : "FAILED: " + rec["error"].get<std::string>())
                << std::flush;
    };
    InterruptWatch watch;  // Ctrl-C or SIGTERM: the running points are ended, what is done stays recorded
    json rows;
    try {
      rows = run_sweep(spec, outdir_, jobs_ > 0 ? jobs_ : default_jobs(), progress);
    } catch (const Interrupted& e) {
      std::cout << std::flush;
      std::cerr << fmt::format(
          "mksim sweep: {}: the running points were ended; {} of {} points are recorded in "
          "{}/points.jsonl; the same command finishes the rest\n",
          e.what(), SweepFolder(outdir_, spec).records().size(), spec.points.size(), outdir_);
      return 128 + e.signal;
    }
    size_t bad = 0;
    for (const auto& r : rows) bad += !r["ok"].get<bool>();
    std::cout << fmt::format("{} points: {} ok, {} failed; {} run now, {} done before; table in {}/results.csv{}\n",
                             rows.size(), rows.size() - bad, bad, ran, rows.size() - ran, outdir_,
                             spec.replications > 0 ? " (mean and 95% interval per point; every run in runs.csv)" : "");
    return bad > 0 ? 1 : 0;
  }

 private:
  std::string file_, outdir_;
  std::vector<std::string> sets_;
  int jobs_ = 0;
  int64_t replications_ = 0;
  bool quiet_ = false;
};

RegisterCommand reg("sweep", "Run a parameter sweep (SWEEP.json) in parallel child processes; resumable", 50,
                    [] { return std::make_unique<SweepCommand>(); });

}  // namespace
}  // namespace mksim
