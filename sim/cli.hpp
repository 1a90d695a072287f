// mksim's subcommands register themselves, one file each (sim/cli_*.cpp), like every other component: a new command
// is one file and one registration line. main() builds the CLI11 app from the registry.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mksim {

class Command {
 public:
  virtual ~Command() = default;
  // Declare options and positionals on the subcommand.
  virtual void setup(CLI::App& sub) = 0;
  // Run; returns the exit status. May throw InputError (exit 2) or other exceptions (exit 1).
  virtual int run() = 0;
};

struct CommandInfo {
  std::string name;
  std::string help;
  int order;  // position in --help
  std::function<std::unique_ptr<Command>()> make;
};

std::vector<CommandInfo>& cli_commands();

struct RegisterCommand {
  RegisterCommand(std::string name, std::string help, int order, std::function<std::unique_ptr<Command>()> make) {
    cli_commands().push_back({std::move(name), std::move(help), order, std::move(make)});
  }
};

}  // namespace mksim
