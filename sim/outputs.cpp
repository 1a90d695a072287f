#include "sim/outputs.hpp"

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

}  // namespace mksim
