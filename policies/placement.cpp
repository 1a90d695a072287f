// Page placement policies, as Linux's NUMA memory policies define them (set_mempolicy(2)): first-touch (the default:
// a page goes to the node of the core that first touches it), interleave (pages round-robin over nodes), bind (all
// pages on one node), local (the thread's preferred node, else the touching core's).
#include <fmt/format.h>

#include "policies/memory.hpp"

namespace mksim {

namespace {

std::vector<double> on_node(const Machine& m, int node) {
  std::vector<double> share(m.num_nodes(), 0.0);
  share[node] = 1.0;
  return share;
}

class FirstTouch final : public PagePlacement {
 public:
  std::vector<double> place(const Machine& m, const Region&, const Thread&, int core) override {
    return on_node(m, m.cores[core].node);
  }
};

class Local final : public PagePlacement {
 public:
  std::vector<double> place(const Machine& m, const Region&, const Thread& t, int core) override {
    return on_node(m, t.home_node >= 0 && t.home_node < m.num_nodes() ? t.home_node : m.cores[core].node);
  }
};

class Interleave final : public PagePlacement {
 public:
  explicit Interleave(const Params& p) : nodes_(p.numbers("nodes")) {}
  std::vector<double> place(const Machine& m, const Region&, const Thread&, int) override {
    std::vector<double> share(m.num_nodes(), 0.0);
    std::vector<int> nodes;
    for (double n : nodes_)
      if (static_cast<int>(n) < m.num_nodes()) nodes.push_back(static_cast<int>(n));
    if (nodes.empty())
      for (int n = 0; n < m.num_nodes(); ++n) nodes.push_back(n);
    for (int n : nodes) share[n] += 1.0 / nodes.size();
    return share;
  }

 private:
  std::vector<double> nodes_;
};

class Bind final : public PagePlacement {
 public:
  explicit Bind(const Params& p) : node_(static_cast<int>(p.integer("node"))) {}
  std::vector<double> place(const Machine& m, const Region&, const Thread&, int) override {
    if (node_ >= m.num_nodes())
      throw InputError("", "kernel.bind.node",
                       fmt::format("node {} does not exist, the machine has nodes 0..{}", node_, m.num_nodes() - 1));
    return on_node(m, node_);
  }

 private:
  int node_;
};

PlacementRegistry::Add r1("memory_policy", "first-touch", "a page goes to the node of the core that first touches it",
                          Schema{}, [](const Params&) { return std::make_unique<FirstTouch>(); });
PlacementRegistry::Add r2("memory_policy", "local", "pages go to the thread's preferred node, else the touching core's",
                          Schema{}, [](const Params&) { return std::make_unique<Local>(); });
PlacementRegistry::Add r3("memory_policy", "interleave", "pages spread evenly over a set of nodes",
                          Schema{Field::numbers("nodes", "node ids", "nodes to interleave over (empty: all)").at_least(0)},
                          [](const Params& p) { return std::make_unique<Interleave>(p); });
PlacementRegistry::Add r4("memory_policy", "bind", "every page on one node",
                          Schema{Field::integer("node", 0, "", "the node").at_least(0)},
                          [](const Params& p) { return std::make_unique<Bind>(p); });

}  // namespace
}  // namespace mksim
