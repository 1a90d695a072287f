// A test plugin that registers a memory policy under a built-in name ("first-touch") beside a fresh one: mksim must
// refuse the whole plugin, naming it, and register neither.
#include "sim/api/memory.hpp"
#include "sim/api/plugin.hpp"

MKSIM_PLUGIN();

namespace {

using namespace mksim;

class NodeZero final : public PagePlacement {
 public:
  std::vector<double> place(const Machine& m, const Region&, const Thread&, int) override {
    std::vector<double> share(m.num_nodes(), 0.0);
    share[0] = 1.0;
    return share;
  }
};

PlacementRegistry::Add r1("memory_policy", "test-dup-fresh", "node 0 (a test plugin)", Schema{},
                          [](const Params&) { return std::make_unique<NodeZero>(); });
PlacementRegistry::Add r2("memory_policy", "first-touch", "a clash with the built-in policy (a test plugin)", Schema{},
                          [](const Params&) { return std::make_unique<NodeZero>(); });

}  // namespace
