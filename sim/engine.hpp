// The engine: runs a Scenario on SimGrid. One SimGrid actor per core drives that core's threads (plain C++ objects)
// through the kernel models; a core's private work between two interactions with other cores is summed on the core's
// own clock and handed to SimGrid as one activity. Only what other cores can observe or contend for (memory traffic,
// locks, messages, wake-ups) synchronises with SimGrid's clock.
#pragma once

#include <memory>
#include <string>

#include "sim/api/observer.hpp"
#include "sim/config.hpp"
#include "sim/results.hpp"

namespace mksim {

// Runs the scenario in this process. SimGrid allows one engine per process: call it once per process (the CLI does;
// tests and Python use run_isolated).
RunResults simulate(const Scenario& sc, const std::vector<Observer*>& observers = {});

// Builds every model and sets the workloads up without simulating: the checks that need the machine (cores and
// nodes a workload names, ...) throw InputError here. No SimGrid engine is created.
void validate_scenario(const Scenario& sc);

// Runs the scenario in a forked child process and returns its results (errors come back as exceptions with the
// child's message). Safe to call many times from one process. With `outdir`, the child also writes the results files
// and the outputs the scenario turns on (run.outputs) there, as `mksim run -o outdir` does.
RunResults run_isolated(const Scenario& sc, const std::string& outdir = "");

}  // namespace mksim
