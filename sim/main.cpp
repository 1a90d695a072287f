// mksim's command line: run, validate, machine, list, docs. Exit status: 0 success, 2 bad input (config, topology,
// trace: the message names the file and the JSON path or line), 1 any other failure.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>

#include "mksim_version.hpp"
#include "sim/config.hpp"
#include "sim/docs.hpp"
#include "sim/engine.hpp"
#include "sim/machine_config.hpp"

namespace fs = std::filesystem;
using namespace mksim;

int main(int argc, char** argv) {
  CLI::App app{"mksim " MKSIM_VERSION
               ": discrete-event simulator of many-core NUMA operating-system designs.\n"
               "Describe a machine, pick a kernel architecture, scheduler and memory policies, run a workload."};
  app.require_subcommand(1);
  app.set_version_flag("--version", MKSIM_VERSION);

  std::string config, outdir, machine_arg, list_what, docs_what;
  std::vector<std::string> sets;
  uint64_t seed = 0;
  bool seed_given = false, json_out = false, quiet = false;

  auto* run = app.add_subcommand("run", "Run one simulation from a JSON config and write results into OUTDIR");
  run->add_option("config", config, "config file (JSON)")->required();
  run->add_option("-o,--out", outdir, "output folder (default: out/CONFIG-NAME)");
  run->add_option("--seed", seed, "seed of every random stream (overrides run.seed)")->each([&](const std::string&) {
    seed_given = true;
  });
  run->add_option("--set", sets, "override a config field: dotted.path=value (repeatable)");
  run->add_flag("-q,--quiet", quiet, "print nothing on success");
  bool want_trace = false, want_record = false;
  run->add_flag("--trace", want_trace, "also write a Chrome Trace Event timeline (run.outputs.trace)");
  run->add_flag("--record", want_record, "also write the operation stream as ops.jsonl (run.outputs.record)");

  auto* validate = app.add_subcommand("validate", "Check a config without running it");
  validate->add_option("config", config, "config file (JSON)")->required();
  validate->add_option("--set", sets, "override a config field: dotted.path=value (repeatable)");
  validate->add_flag("--print", json_out, "print the fully resolved config");

  auto* machine = app.add_subcommand(
      "machine", "Print a machine's summary: packages, NUMA nodes, cores, PUs, caches, distance matrix");
  machine->add_option("what", machine_arg, "a preset name, a hwloc XML file or a config file");
  bool this_host = false;
  machine->add_flag("--this-host", this_host, "describe the machine mksim runs on (hwloc discovery)");
  machine->add_flag("--json", json_out, "print JSON instead of text");

  auto* list = app.add_subcommand(
      "list", "List the registered architectures, schedulers, memory policies, allocators, workloads and presets");
  list->add_option("what", list_what,
                   "architecture | scheduler | memory_policy | allocator | workload | presets (default: everything)");

  auto* docs = app.add_subcommand("docs", "Print generated reference documentation");
  docs->add_option("what", docs_what, "config: the config reference (docs/config.md)")->required();

  CLI11_PARSE(app, argc, argv);

  try {
    if (*run || *validate) {
      if (want_trace) sets.push_back("run.outputs.trace=true");
      if (want_record) sets.push_back("run.outputs.record=true");
      if (seed_given) sets.push_back(fmt::format("run.seed={}", seed));
      Scenario sc = load_scenario(config, sets);
      if (*validate) {
        if (json_out) std::cout << sc.resolved.dump(2) << "\n";
        else
          std::cout << fmt::format("{}: valid ({} cores, {} NUMA nodes, {} workload(s), architecture {})\n", config,
                                   sc.machine.num_cores(), sc.machine.num_nodes(), sc.workloads.size(),
                                   sc.architecture.name);
        return 0;
      }
      if (outdir.empty()) outdir = (fs::path("out") / fs::path(config).stem()).string();
      RunResults res = simulate(sc);
      res.write(outdir, sc.run.csv);
      if (!quiet) std::cout << res.summary_text() << "  results in " << outdir << "/results.json\n";
      return 0;
    }
    if (*machine) {
      if (this_host) machine_arg = "--this-host";
      if (machine_arg.empty()) throw InputError("<command line>", "", "give a preset, a hwloc XML file, a config or --this-host");
      Machine m = machine_from_argument(machine_arg);
      if (json_out) std::cout << machine_summary_json(m).dump(2) << "\n";
      else std::cout << machine_summary_text(m);
      return 0;
    }
    if (*list) {
      if (list_what == "presets") std::cout << list_presets();
      else {
        std::string slot = list_what;
        if (!slot.empty() && slot.back() == 's') slot.pop_back();  // "schedulers" -> "scheduler"
        if (slot == "memory_policie") slot = "memory_policy";
        static const std::vector<std::string> slots = {"architecture", "scheduler", "memory_policy", "allocator",
                                                       "workload", "preset"};
        if (!slot.empty() && std::find(slots.begin(), slots.end(), slot) == slots.end())
          throw InputError("<command line>", "", fmt::format("unknown list '{}', {}", list_what, one_of(list_what, slots)));
        std::cout << list_components(slot);
        if (slot.empty()) std::cout << list_presets();
      }
      return 0;
    }
    if (*docs) {
      if (docs_what != "config") throw InputError("<command line>", "", "unknown docs '" + docs_what + "', expected: config");
      std::cout << config_reference_markdown();
      return 0;
    }
  } catch (const InputError& e) {
    std::cerr << "mksim: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "mksim: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
