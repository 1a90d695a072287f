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

// A built-in output's file: what `mksim run --NAME` (the CLI's shorthand for run.outputs.NAME=true), the files a sweep
// clears before it runs a point again, and the table of files in docs/outputs.md are made of.
struct OutputFile {
  std::string output;  // the output's name (run.outputs.NAME, --NAME)
  std::string file;    // what it writes into the output folder
  std::string what;    // "a timeline, trace.json, for Perfetto UI or speedscope": the --NAME flag's help
  std::string brief;   // "the timeline": docs/outputs.md's table of files
  std::string see;     // "see docs/traces.md": where the file's format is described
};
// Every built-in output's file, by output name.
std::vector<OutputFile> output_files();

// A built-in output's one registration: the observer in OutputRegistry and its file.
//   AddOutput reg({"trace", "trace.json", "...", "the timeline", "see ..."}, "description", factory);
struct AddOutput {
  AddOutput(OutputFile file, std::string description, OutputRegistry::Factory make);
  OutputRegistry::Add reg;
};

}  // namespace mksim
