// Optional outputs of a run (`run.outputs.NAME`: a timeline, an operation recording, ...) are observers that register
// under the output's name; `mksim run` creates the ones a config turns on and writes them into the output folder.
#pragma once

#include <memory>
#include <string>

#include "sim/api/observer.hpp"
#include "sim/api/registry.hpp"
#include "sim/config.hpp"

namespace mksim {

// An observer that writes its file when the run ends (Observer::on_end).
using OutputRegistry = Registry<Observer, const Scenario&, const std::string& /*output folder*/>;

// The observers for every output `sc` turns on; an output that is on but not built in is an InputError.
std::vector<std::unique_ptr<Observer>> make_outputs(const Scenario& sc, const std::string& outdir);

}  // namespace mksim
