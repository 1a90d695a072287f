#include "sim/outputs.hpp"

namespace mksim {

std::vector<std::unique_ptr<Observer>> make_outputs(const Scenario& sc, const std::string& outdir) {
  std::vector<std::unique_ptr<Observer>> out;
  const std::pair<const char*, bool> wanted[] = {{"trace", sc.run.trace}, {"record", sc.run.record}};
  for (auto [name, on] : wanted) {
    if (!on) continue;
    const auto* e = OutputRegistry::instance().find(name);
    if (!e) throw InputError(sc.file, std::string("run.outputs.") + name, "this output is not available in this build");
    out.push_back(e->make(Params(), sc, outdir));
  }
  return out;
}

}  // namespace mksim
