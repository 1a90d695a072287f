// mksim's command line. Exit status: 0 success, 2 bad input (config, topology, trace: the message names the file and
// the JSON path or line), 1 any other failure.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <stdexcept>

#include "mksim_version.hpp"
#include "sim/api/params.hpp"
#include "sim/api/registry.hpp"
#include "sim/child_process.hpp"
#include "sim/cli.hpp"
#include "sim/plugins.hpp"

using namespace mksim;

namespace {

// A bad command line, as one message like every other bad input.
std::string usage_error(const std::vector<std::string>& commands, int argc, char** argv, const CLI::ParseError& e) {
  const std::string first = argc > 1 ? argv[1] : "";
  if (!first.empty() && first[0] != '-' && std::find(commands.begin(), commands.end(), first) == commands.end())
    return InputError("<command line>", "", fmt::format("unknown command '{}', {}", first, one_of(first, commands)))
        .what();
  return InputError(
             "<command line>", "",
             fmt::format("{} (`mksim --help` lists the commands, `mksim COMMAND --help` their options)", e.what()))
      .what();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "mksim " MKSIM_VERSION
      ": discrete-event simulator of many-core NUMA operating-system designs.\n"
      "Describe a machine, pick a kernel architecture, scheduler and memory policies, run a workload, compare."};
  try {
    check_registrations();
  } catch (const std::logic_error& e) {
    std::cerr << "mksim: error: " << e.what() << "\n";
    return 1;
  }
  app.require_subcommand(1);
  app.set_version_flag("--version", MKSIM_VERSION);
  // Plugins load before any command runs, so that every command (run, list, docs, sweep, ...) sees their components.
  // The option may come before or after the command (`mksim --plugin libx.so list`, `mksim run c.json --plugin ...`).
  std::vector<std::string> plugins;
  app.add_option("--plugin", plugins, "load a plugin's components (a shared library, sim/api/plugin.hpp); repeatable");
  app.fallthrough();
  auto infos = cli_commands();
  std::sort(infos.begin(), infos.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  std::vector<std::pair<CLI::App*, std::unique_ptr<Command>>> commands;
  std::vector<std::string> names;
  for (const auto& info : infos) {
    names.push_back(info.name);
    auto* sub = app.add_subcommand(info.name, info.help);
    auto cmd = info.make();
    cmd->setup(*sub);
    commands.emplace_back(sub, std::move(cmd));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "mksim: error: " << usage_error(names, argc, argv, e) << "\n";
    return 2;
  }
  try {
    for (const auto& p : plugins) load_plugin(p, "<command line>", "--plugin");
    for (auto& [sub, cmd] : commands)
      if (sub->parsed()) return cmd->run();
  } catch (const InputError& e) {
    std::cerr << "mksim: error: " << e.what() << "\n";
    return 2;
  } catch (const Interrupted& e) {  // a batch command's InterruptWatch: its children were ended
    std::cerr << "mksim: " << e.what() << "\n";
    return 128 + e.signal;
  } catch (const std::exception& e) {
    std::cerr << "mksim: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
