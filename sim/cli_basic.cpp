// The basic subcommands: run, validate, machine, list, docs.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <map>

#include "sim/cli.hpp"
#include "sim/config.hpp"
#include "sim/docs.hpp"
#include "sim/engine.hpp"
#include "sim/input.hpp"
#include "sim/machine_config.hpp"
#include "sim/outputs.hpp"

namespace mksim {

namespace {

namespace fs = std::filesystem;

class RunCommand final : public Command {
 public:
  void setup(CLI::App& sub) override {
    sub.add_option("config", config_, "config file (JSON)")->required();
    sub.add_option("-o,--out", outdir_, "output folder (default: out/CONFIG-NAME)");
    sub.add_option("--seed", seed_, "seed of every random stream (overrides run.seed)");
    sub.add_option("--set", sets_, "override a config field: dotted.path=value (repeatable)");
    sub.add_flag("-q,--quiet", quiet_, "print nothing on success");
    // --NAME for each built-in output (sim/outputs.hpp): run.outputs.NAME=true.
    for (const auto& o : output_files())
      sub.add_flag("--" + o.output, outputs_[o.output],
                   fmt::format("also write {} (run.outputs.{})", o.what, o.output));
  }
  int run() override {
    for (const auto& [name, on] : outputs_)
      if (on) sets_.push_back("run.outputs." + name + "=true");
    if (seed_) {
      if (*seed_ < 0)
        throw InputError("<command line>", "--seed", fmt::format("found {}, expected a seed of 0 or more", *seed_));
      sets_.push_back(fmt::format("run.seed={}", *seed_));
    }
    Scenario sc = load_scenario(config_, sets_);
    if (outdir_.empty()) outdir_ = (fs::path("out") / fs::path(config_).stem()).string();
    make_output_folder(outdir_);
    auto outputs = make_outputs(sc, outdir_);
    std::vector<Observer*> observers;
    for (auto& o : outputs) observers.push_back(o.get());
    RunResults res = simulate(sc, observers);
    res.write(outdir_, sc.run.csv);
    if (!quiet_) std::cout << res.summary_text() << "  results in " << outdir_ << "/results.json\n";
    return 0;
  }

 private:
  std::string config_, outdir_;
  std::vector<std::string> sets_;
  std::optional<int64_t> seed_;
  bool quiet_ = false;
  std::map<std::string, bool> outputs_;  // by output name: its --NAME flag (node-based: CLI11 keeps references)
};

class ValidateCommand final : public Command {
 public:
  void setup(CLI::App& sub) override {
    sub.add_option("config", config_, "config file (JSON)")->required();
    sub.add_option("--set", sets_, "override a config field: dotted.path=value (repeatable)");
    sub.add_flag("--print", print_, "print the fully resolved config");
  }
  int run() override {
    Scenario sc = load_scenario(config_, sets_);
    validate_scenario(sc);
    if (print_)
      std::cout << sc.resolved.dump(2) << "\n";
    else
      std::cout << fmt::format("{}: valid ({} cores, {} NUMA nodes, {} workload(s), architecture {})\n", config_,
                               sc.machine.num_cores(), sc.machine.num_nodes(), sc.workloads.size(),
                               sc.architecture.name);
    return 0;
  }

 private:
  std::string config_;
  std::vector<std::string> sets_;
  bool print_ = false;
};

class MachineCommand final : public Command {
 public:
  void setup(CLI::App& sub) override {
    sub.add_option("what", what_, "a preset name, a hwloc XML file (.xml) or a config file (.json)");
    sub.add_flag("--this-host", this_host_, "describe the machine mksim runs on (hwloc discovery)");
    sub.add_flag("--json", json_, "print JSON instead of text");
  }
  int run() override {
    if (this_host_) what_ = "--this-host";
    if (what_.empty())
      throw InputError("<command line>", "", "give a preset, a hwloc XML file, a config file or --this-host");
    Machine m = machine_from_argument(what_);
    if (json_)
      std::cout << machine_summary_json(m).dump(2) << "\n";
    else
      std::cout << machine_summary_text(m);
    return 0;
  }

 private:
  std::string what_;
  bool this_host_ = false, json_ = false;
};

class ListCommand final : public Command {
 public:
  void setup(CLI::App& sub) override {
    std::string slots;
    for (const auto& slot : all_slots()) slots += slot.plural + " | ";
    sub.add_option("what", what_, slots + "presets (default: all)");
  }
  int run() override {
    // Every declared slot, by its name and its plural (`mksim list schedulers`), and the machine presets.
    std::vector<std::pair<std::string, std::string>> names;
    for (const auto& slot : all_slots()) {
      names.emplace_back(slot.plural, slot.name);
      names.emplace_back(slot.name, slot.name);
    }
    names.emplace_back("presets", "presets");
    names.emplace_back("preset", "presets");
    if (what_.empty()) {
      std::cout << list_components("") << list_presets();
      return 0;
    }
    for (const auto& [k, slot] : names)
      if (k == what_) {
        std::cout << (slot == "presets" ? list_presets() : list_components(slot));
        return 0;
      }
    std::vector<std::string> known;
    for (const auto& [k, slot] : names) known.push_back(k);
    throw InputError("<command line>", "", fmt::format("unknown list '{}', {}", what_, one_of(what_, known)));
  }

 private:
  std::string what_;
};

class DocsCommand final : public Command {
 public:
  void setup(CLI::App& sub) override {
    sub.add_option("what", what_,
                   "config: the config reference (docs/config.md); outputs: the output files and columns "
                   "(docs/outputs.md)")
        ->required();
  }
  int run() override {
    std::cout << generated_doc(what_);
    return 0;
  }

 private:
  std::string what_;
};

RegisterCommand r1("run", "Run one simulation from a JSON config; write results.json and CSV tables into OUTDIR", 10,
                   [] { return std::make_unique<RunCommand>(); });
RegisterCommand r2("validate", "Check a config without running it", 20,
                   [] { return std::make_unique<ValidateCommand>(); });
RegisterCommand r3("machine", "Print a machine's summary: packages, NUMA nodes, cores, PUs, caches, distance matrix",
                   30, [] { return std::make_unique<MachineCommand>(); });
RegisterCommand r4("list",
                   "List the registered components of every slot (architectures, schedulers, ..., workloads, outputs) "
                   "and the machine presets",
                   40, [] { return std::make_unique<ListCommand>(); });
RegisterCommand r5(
    "docs", "Print generated reference documentation (docs config > docs/config.md, docs outputs > docs/outputs.md)",
    90, [] { return std::make_unique<DocsCommand>(); });

}  // namespace
}  // namespace mksim
