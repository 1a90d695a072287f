// Agreement protocols (the `kernel.shootdown` slot, sim/api/agreement.hpp): TLB shootdown in a shared kernel, and the
// agreement protocols of a multikernel's monitors (Baumann et al., "The Multikernel", SOSP 2009, section 5.1 and
// Figure 6: unicast, broadcast, multicast and NUMA-aware multicast over URPC channels). Each protocol is computed from
// cache-line transfer costs between the cores involved (models/costs.hpp), so it scales with the machine's topology
// rather than with a per-protocol constant.
#include "sim/api/agreement.hpp"

#include <algorithm>
#include <map>

#include "models/costs.hpp"

namespace mksim {

namespace {

struct Group {
  int leader;
  std::vector<int> members;  // leader first
};

// Times are in ns from the protocol's start, on the initiator's clock.
class Protocol {
 public:
  Protocol(Cpu& cpu, const AgreementCosts& k) : cpu_(cpu), m_(cpu.machine()), k_(k) {}

  double line(int from, int to) const { return line_transfer_ns(m_, from, to); }
  double cycles_ns(int core, double cycles) const { return cycles / m_.cores[core].freq_ghz; }

  // A line that `to` polls and `from` writes: the write's ownership request first invalidates the poller's copy, then
  // the poller's next read misses and fetches the new value, so the poller sees it two transfers after the write
  // (the cache-line ping-pong of a URPC channel; Baumann et al., section 4.6).
  double polled(int from, int to, double written) const { return written + 2 * line(from, to); }

  // `from` polls every ack channel in turn: each acknowledgement, once its write has invalidated `from`'s copy, costs
  // one miss to fetch, and the misses of one polling core do not overlap.
  double collect(int from, std::vector<std::pair<double, int>> ready, double start) const {
    std::sort(ready.begin(), ready.end());
    double seen = start;
    for (auto [r, c] : ready) seen = std::max(seen, r + line(c, from)) + line(c, from);
    return seen;
  }

  // A target that saw the request at `seen` handles it; returns when its acknowledgement is written.
  double handle(int target, double seen) {
    cpu_.interrupt(target, k_.handler_cycles);
    return seen + k_.notify_ns + cycles_ns(target, k_.handler_cycles);
  }

  // Point-to-point: `from` posts one request to each of `to` in order, starting at `start`; each target acks on its
  // own channel. Returns when `from` has seen the last ack.
  double unicast(int from, const std::vector<int>& to, double start) {
    double t = start;
    std::vector<std::pair<double, int>> ready;
    for (int c : to) {
      t += cycles_ns(from, k_.send_cycles);
      ready.emplace_back(handle(c, polled(from, c, t)), c);
    }
    return collect(from, ready, t);
  }

  // One shared request line that every target polls: the write invalidates every copy at once (the farthest answers
  // last), then the owner serves the targets' read misses one after another.
  double broadcast(int from, const std::vector<int>& to, double start) {
    double served = start + cycles_ns(from, k_.send_cycles);
    double invalidated = 0;
    for (int c : to) invalidated = std::max(invalidated, line(from, c));
    served += invalidated;
    std::vector<std::pair<double, int>> ready;
    for (int c : to) {
      served += line(from, c);
      ready.emplace_back(handle(c, served), c);
    }
    return collect(from, ready, start);
  }

  // Linux-style shootdown (flush_tlb_others, Linux 2.6 x86-64): the initiator writes the request (mm, address) into
  // a per-sender line and sends one IPI per target in turn (physical destination mode: each ICR write waits for the
  // previous IPI to leave; `send_cycles`); each target's handler reads the request line and clears its bit in the
  // shared cpumask with a locked instruction, while the initiator spins reading that mask until it is empty. So
  // every acknowledgement takes the mask line from the spinning initiator and gives it back to the initiator's next
  // read: two transfers per target, one after another, whatever order the targets finish in.
  double ipi_broadcast(int from, const std::vector<int>& to, double start) {
    double t = start;
    std::vector<std::pair<double, int>> ready;
    for (int c : to) {
      t += cycles_ns(from, k_.send_cycles);
      ready.emplace_back(handle(c, t + line(from, c)), c);
    }
    std::sort(ready.begin(), ready.end());
    double seen = t;
    for (auto [r, c] : ready) seen = std::max(seen, r) + line(from, c) + line(c, from);
    return seen;
  }

  // Hierarchical: one request per group leader (a core of each other package), which forwards it to the rest of its
  // group by unicast and aggregates their acks before acking the initiator; the initiator is the leader of its own
  // package and serves those cores itself.
  double multicast(int from, std::vector<Group> groups, double start, bool farthest_first) {
    if (farthest_first)
      std::stable_sort(groups.begin(), groups.end(),
                       [&](const Group& a, const Group& b) { return line(from, a.leader) > line(from, b.leader); });
    double t = start;
    std::vector<std::pair<double, int>> ready;
    for (const auto& g : groups) {
      t += cycles_ns(from, k_.send_cycles);
      double seen = polled(from, g.leader, t);
      double leader_done = handle(g.leader, seen);
      std::vector<int> rest(g.members.begin() + 1, g.members.end());
      double group_done = rest.empty() ? leader_done : unicast(g.leader, rest, leader_done);
      ready.emplace_back(group_done, g.leader);
    }
    return collect(from, ready, t);
  }

  std::vector<Group> groups_by_package(int from, const std::vector<int>& to) const {
    std::map<int, Group> by_pkg;
    std::vector<Group> out;
    for (int c : to) {
      if (m_.cores[c].package == m_.cores[from].package) {
        out.push_back({c, {c}});  // a core of the initiator's own package: served directly
        continue;
      }
      auto& g = by_pkg[m_.cores[c].package];
      if (g.members.empty()) g.leader = c;
      g.members.push_back(c);
    }
    for (auto& [pkg, g] : by_pkg) out.push_back(g);
    return out;
  }

 private:
  Cpu& cpu_;
  const Machine& m_;
  const AgreementCosts& k_;
};

// One registered protocol: a Protocol walk from the initiator.
class Registered final : public AgreementProtocol {
 public:
  using Run = double (*)(Protocol& p, int me, const std::vector<int>& to);
  explicit Registered(Run run) : run_(run) {}
  double run_ns(Cpu& cpu, const std::vector<int>& to, const AgreementCosts& k) const override {
    Protocol p(cpu, k);
    return run_(p, cpu.core(), to);
  }

 private:
  Run run_;
};

std::unique_ptr<AgreementProtocol> made(Registered::Run run) {
  return std::make_unique<Registered>(run);
}

AgreementRegistry::Add r1("shootdown", "ipi-broadcast",
                          "Linux-style: one IPI per target in turn, acknowledgements through one shared cpumask line",
                          Schema{}, [](const Params&) {
                            return made([](Protocol& p, int me, const std::vector<int>& to) {
                              return p.ipi_broadcast(me, to, 0);
                            });
                          });
AgreementRegistry::Add r2("shootdown", "unicast",
                          "one request per target on its own channel; the initiator polls every ack channel", Schema{},
                          [](const Params&) {
                            return made(
                                [](Protocol& p, int me, const std::vector<int>& to) { return p.unicast(me, to, 0); });
                          });
AgreementRegistry::Add r3("shootdown", "broadcast",
                          "one shared request line every target polls; its owner serves their misses in turn", Schema{},
                          [](const Params&) {
                            return made(
                                [](Protocol& p, int me, const std::vector<int>& to) { return p.broadcast(me, to, 0); });
                          });
AgreementRegistry::Add r4("shootdown", "multicast",
                          "one request per package leader, which forwards it in its package and aggregates the acks",
                          Schema{}, [](const Params&) {
                            return made([](Protocol& p, int me, const std::vector<int>& to) {
                              return p.multicast(me, p.groups_by_package(me, to), 0, false);
                            });
                          });
AgreementRegistry::Add r5("shootdown", "numa-multicast",
                          "multicast to the farthest package first (Baumann et al., Figure 6)", Schema{},
                          [](const Params&) {
                            return made([](Protocol& p, int me, const std::vector<int>& to) {
                              return p.multicast(me, p.groups_by_package(me, to), 0, true);
                            });
                          });

}  // namespace
}  // namespace mksim
