// mksim's command line. Exit status: 0 success, 2 bad input (config, topology, trace: the message names the file and
// the JSON path or line), 1 any other failure.
#include <algorithm>
#include <iostream>

#include "mksim_version.hpp"
#include "sim/cli.hpp"
#include "sim/params.hpp"

using namespace mksim;

int main(int argc, char** argv) {
  CLI::App app{"mksim " MKSIM_VERSION
               ": discrete-event simulator of many-core NUMA operating-system designs.\n"
               "Describe a machine, pick a kernel architecture, scheduler and memory policies, run a workload, compare."};
  app.require_subcommand(1);
  app.set_version_flag("--version", MKSIM_VERSION);
  auto infos = cli_commands();
  std::sort(infos.begin(), infos.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  std::vector<std::pair<CLI::App*, std::unique_ptr<Command>>> commands;
  for (const auto& info : infos) {
    auto* sub = app.add_subcommand(info.name, info.help);
    auto cmd = info.make();
    cmd->setup(*sub);
    commands.emplace_back(sub, std::move(cmd));
  }
  CLI11_PARSE(app, argc, argv);
  try {
    for (auto& [sub, cmd] : commands)
      if (sub->parsed()) return cmd->run();
  } catch (const InputError& e) {
    std::cerr << "mksim: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "mksim: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
