#include "sim/outputs.hpp"

#include <algorithm>

namespace mksim {

std::vector<std::unique_ptr<Observer>> make_outputs(const Scenario& sc, const std::string& outdir) {
  std::vector<std::unique_ptr<Observer>> out;
  for (const auto& name : sc.run.outputs) {
    const auto* e = OutputRegistry::instance().find(name);
    if (!e) throw InputError(sc.file, "run.outputs." + name, "this output is not available in this build");
    const std::string path = "run.outputs." + name;
    out.push_back(e->make(Params(e->info.params->resolve(json::object(), path, sc.file), path, sc.file), sc, outdir));
  }
  return out;
}

namespace {
std::vector<OutputFile>& files() {
  static std::vector<OutputFile> list;
  return list;
}
}  // namespace

std::vector<OutputFile> output_files() {
  std::vector<OutputFile> out = files();  // in static-initialisation order, which the link order decides: sort
  std::sort(out.begin(), out.end(), [](const OutputFile& a, const OutputFile& b) { return a.output < b.output; });
  return out;
}

AddOutput::AddOutput(OutputFile file, std::string description, OutputRegistry::Factory make)
    : reg("output", file.output, std::move(description), Schema{}, std::move(make)) {
  files().push_back(std::move(file));
}

}  // namespace mksim
