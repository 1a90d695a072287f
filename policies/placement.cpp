// Page placement policies, as Linux's NUMA memory policies define them (set_mempolicy(2)): first-touch (the default:
// a page goes to the node of the core that first touches it), interleave (pages round-robin over nodes), bind (all
// pages on one node), local (the thread's preferred node, else the touching core's).
#include <fmt/format.h>

#include <cmath>

#include "sim/api/memory.hpp"
#include "sim/api/param_struct.hpp"

namespace mksim {

namespace {

struct InterleaveParams {
  std::vector<double> nodes;

  static const ParamStruct<InterleaveParams>& declare() {
    static const ParamStruct<InterleaveParams> d = ParamStruct<InterleaveParams>().bind(
        &InterleaveParams::nodes,
        Field::numbers("nodes", "node ids", "nodes to interleave over (empty: all)").at_least(0));
    return d;
  }
};

struct BindParams {
  int64_t node = 0;

  static const ParamStruct<BindParams>& declare() {
    static const ParamStruct<BindParams> d =
        ParamStruct<BindParams>().bind(&BindParams::node, Field::integer("node", 0, "", "the node").at_least(0));
    return d;
  }
};

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
  Interleave(const InterleaveParams& v, const Params& p) : params_(p), given_(v.nodes) {}
  void init(const Machine& m) override {
    for (size_t i = 0; i < given_.size(); ++i) {
      const double n = given_[i];
      if (n != std::floor(n) || n >= m.num_nodes())
        throw InputError(params_.file(), join_path(join_path(params_.path(), "nodes"), i),
                         fmt::format("node {} does not exist, the machine has nodes 0..{}", n, m.num_nodes() - 1));
      nodes_.push_back(static_cast<int>(n));
    }
    if (nodes_.empty())
      for (int n = 0; n < m.num_nodes(); ++n) nodes_.push_back(n);
  }
  std::vector<double> place(const Machine& m, const Region&, const Thread&, int) override {
    std::vector<double> share(m.num_nodes(), 0.0);
    for (int n : nodes_) share[n] += 1.0 / nodes_.size();
    return share;
  }

 private:
  Params params_;
  std::vector<double> given_;
  std::vector<int> nodes_;  // checked by init
};

class Bind final : public PagePlacement {
 public:
  Bind(const BindParams& v, const Params& p) : params_(p), node_(v.node) {}
  void init(const Machine& m) override {
    if (node_ >= m.num_nodes())
      params_.fail("node",
                   fmt::format("node {} does not exist, the machine has nodes 0..{}", node_, m.num_nodes() - 1));
  }
  std::vector<double> place(const Machine& m, const Region&, const Thread&, int) override {
    return on_node(m, static_cast<int>(node_));
  }
  bool binds() const override { return true; }

 private:
  Params params_;
  int64_t node_;  // checked by init
};

PlacementRegistry::Add r1("memory_policy", "first-touch", "a page goes to the node of the core that first touches it",
                          Schema{}, [](const Params&) { return std::make_unique<FirstTouch>(); });
PlacementRegistry::Add r2("memory_policy", "local", "pages go to the thread's preferred node, else the touching core's",
                          Schema{}, [](const Params&) { return std::make_unique<Local>(); });
PlacementRegistry::Add r3("memory_policy", "interleave", "pages spread evenly over a set of nodes",
                          InterleaveParams::declare().schema(), [](const Params& p) {
                            return std::make_unique<Interleave>(InterleaveParams::declare().read(p), p);
                          });
PlacementRegistry::Add r4("memory_policy", "bind", "every page on one node", BindParams::declare().schema(),
                          [](const Params& p) { return std::make_unique<Bind>(BindParams::declare().read(p), p); });

}  // namespace
}  // namespace mksim
