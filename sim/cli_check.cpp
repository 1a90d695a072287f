// `mksim check EXPECTATIONS.json`: regression checks of policy models. Runs each case's config and compares the
// named metrics with their expected values within their tolerances; `--update` rewrites the expected values after a
// deliberate change.
#include <filesystem>
#include <iostream>

#include "sim/child_process.hpp"
#include "sim/cli.hpp"
#include "sim/sweep.hpp"

namespace mksim {

namespace {

class CheckCommand final : public Command {
 public:
  void setup(CLI::App& sub) override {
    sub.add_option("expectations", files_, "expectations file(s) (JSON: cases of config, metrics, tolerances)")
        ->required();
    sub.add_flag("--update", update_, "rewrite the expected values from the measured ones");
    sub.add_option("-j,--jobs", jobs_, "runs at once (default: the cores available)");
    sub.add_option("-o,--out", outdir_, "keep each case's run output in this folder (default: a temporary one)");
  }
  int run() override {
    InterruptWatch watch;  // Ctrl-C or SIGTERM ends the runs with the command
    bool ok = true;
    for (const auto& f : files_) {
      std::string out =
          outdir_.empty() ? "" : (std::filesystem::path(outdir_) / std::filesystem::path(f).stem()).string();
      json report = check_expectations(f, update_, jobs_ > 0 ? jobs_ : default_jobs(), out);
      std::cout << check_report_text(report);
      ok = ok && (update_ ? report.value("runs_ok", false) : report["passed"].get<bool>());
    }
    return ok ? 0 : 1;
  }

 private:
  std::vector<std::string> files_;
  std::string outdir_;
  bool update_ = false;
  int jobs_ = 0;
};

RegisterCommand reg("check", "Check metrics against an expectations file; --update rewrites the expected values", 60,
                    [] { return std::make_unique<CheckCommand>(); });

}  // namespace
}  // namespace mksim
