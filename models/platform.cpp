#include "models/platform.hpp"

#include <fmt/format.h>

#include <deque>

namespace sg4 = simgrid::s4u;

namespace mksim {

void configure_simgrid() {
  // CM02 without its TCP corrections, so that flows share a link's bandwidth exactly max-min fairly: no bandwidth
  // weighting (weight-S), no reverse traffic, and routes that carry no latency (build_platform), because CM02 also
  // weighs a flow's share by its route's latency (TCP's RTT unfairness) and bounds its rate by TCP-gamma / (2 x
  // latency). The engine charges each load's latency itself and holds every core to Little's law through its own
  // link's capacity (EngineImpl::share_core_window).
  sg4::Engine::set_config("network/model:CM02");
  sg4::Engine::set_config("network/weight-S:0");
  sg4::Engine::set_config("network/crosstraffic:0");
  // Times are kept to a picosecond (default 1e-9 s would round away single-cycle costs).
  sg4::Engine::set_config("surf/precision:1e-12");
}

double flow_window_bytes(const Machine& m) {
  const Cache* llc = m.last_level_cache(0);
  return m.core_mlp * (llc ? llc->line_bytes : 64);
}

// Node-to-node paths over the physical links (shortest by hops, ties broken by lowest node id so that routes are
// deterministic).
static std::vector<int> shortest_path(const Machine& m, int src, int dst) {
  const int n = m.num_nodes();
  std::vector<std::vector<int>> adj(n);
  for (auto [a, b] : m.interconnect.links) adj[a].push_back(b), adj[b].push_back(a);
  for (auto& v : adj) std::sort(v.begin(), v.end());
  std::vector<int> prev(n, -1);
  std::vector<bool> seen(n, false);
  std::deque<int> q{src};
  seen[src] = true;
  while (!q.empty()) {
    int u = q.front();
    q.pop_front();
    for (int v : adj[u])
      if (!seen[v]) seen[v] = true, prev[v] = u, q.push_back(v);
  }
  std::vector<int> path;
  if (!seen[dst]) return path;
  for (int v = dst; v != -1; v = prev[v]) path.insert(path.begin(), v);
  return path;
}

Platform build_platform(const Machine& m) {
  Platform p;
  const int n = m.num_nodes();
  auto* root = sg4::create_full_zone("machine");
  std::vector<sg4::NetZone*> zones(n);
  std::vector<simgrid::kernel::routing::NetPoint*> gateways(n);
  p.memory.resize(n);
  p.cores.resize(m.num_cores());
  p.controllers.resize(n);
  p.core_links.resize(m.num_cores());
  std::vector<sg4::Link*> phys_links(m.physical_cores(), nullptr);

  std::vector<std::vector<int>> cores_of(n);
  for (const auto& c : m.cores) cores_of[c.node].push_back(c.id);
  // A memory-only node (HBM beside DDR, a CXL expander) sits in the zone of the node whose cores are nearest: its
  // memory is reached through its own controller, not over the interconnect, from there.
  std::vector<int> zone_of(n);
  for (int i = 0; i < n; ++i) zone_of[i] = cores_of[i].empty() ? m.nearest_cpu_node(i) : i;

  // One node's memory behind its controller link, in zone z. Reads and writes share the controller; the slower
  // direction (writes to NVM) is held to its own rate by a second link on its way only: reads leave the memory (the
  // star's UP route), writes enter it (DOWN).
  auto add_memory = [&](sg4::NetZone* z, int i) {
    const NumaNode& nd = m.nodes[i];
    const double read = nd.read_bandwidth_gb_s() * 1e9, write = nd.write_gb_s() * 1e9;
    p.memory[i] = z->create_host(fmt::format("mem{}", i), 1e9)->seal();
    p.controllers[i] = z->create_link(fmt::format("mc{}", i), std::max(read, write))->seal();
    if (read == write) {
      z->add_route(p.memory[i]->get_netpoint(), nullptr, nullptr, nullptr, {sg4::LinkInRoute(p.controllers[i])}, true);
      return;
    }
    std::vector<sg4::LinkInRoute> up{sg4::LinkInRoute(p.controllers[i])}, down = up;
    auto* slow =
        z->create_link(fmt::format("mc{}-{}", i, read < write ? "read" : "write"), std::min(read, write))->seal();
    (read < write ? up : down).emplace_back(slow);
    z->add_route(p.memory[i]->get_netpoint(), nullptr, nullptr, nullptr, up, false);
    z->add_route(nullptr, p.memory[i]->get_netpoint(), nullptr, nullptr, down, false);
  };

  for (int i = 0; i < n; ++i) {
    if (zone_of[i] != i) continue;
    auto* z = sg4::create_star_zone(fmt::format("node{}", i));
    z->set_parent(root);
    // Each core reaches the star's centre through its own link: the most one core can stream.
    // With SMT simulated, the contexts of one physical core share its link (its miss buffers): the first context of
    // each physical core creates it.
    for (int c : cores_of[i]) {
      p.cores[c] = z->create_host(fmt::format("core{}", c), m.cores[c].freq_ghz * 1e9)->seal();
      sg4::Link*& shared = phys_links[m.physical_core(c)];
      if (!shared) shared = z->create_link(fmt::format("core{}-mem", c), m.core_bandwidth_gb_s * 1e9)->seal();
      p.core_links[c] = shared;
      z->add_route(p.cores[c]->get_netpoint(), nullptr, nullptr, nullptr, {sg4::LinkInRoute(p.core_links[c])}, true);
    }
    for (int j = 0; j < n; ++j)
      if (zone_of[j] == i) add_memory(z, j);
    gateways[i] = z->create_router(fmt::format("gw{}", i));
    zones[i] = z->seal();
  }

  const double link_bw = m.interconnect.link_bandwidth_gb_s * 1e9;
  if (m.interconnect.links.empty()) {
    // A full mesh: one duplex link per pair of nodes.
    for (int a = 0; a < n; ++a)
      for (int b = a + 1; b < n; ++b) {
        if (!zones[a] || !zones[b]) continue;
        auto* l = root->create_split_duplex_link(fmt::format("ic{}-{}", a, b), link_bw);
        l->seal();
        p.links.push_back(l->get_link_up());
        root->add_route(zones[a]->get_netpoint(), zones[b]->get_netpoint(), gateways[a], gateways[b],
                        {sg4::LinkInRoute(l, sg4::LinkInRoute::Direction::UP)}, true);
      }
  } else {
    std::map<std::pair<int, int>, sg4::SplitDuplexLink*> phys;
    for (auto [a, b] : m.interconnect.links) {
      auto key = std::minmax(a, b);
      if (!phys.count(key)) {
        phys[key] = root->create_split_duplex_link(fmt::format("ic{}-{}", key.first, key.second), link_bw);
        phys[key]->seal();
      }
    }
    for (int a = 0; a < n; ++a)
      for (int b = a + 1; b < n; ++b) {
        if (!zones[a] || !zones[b]) continue;
        auto path = shortest_path(m, a, b);
        std::vector<sg4::LinkInRoute> route;
        for (size_t k = 0; k + 1 < path.size(); ++k) {
          int u = path[k], v = path[k + 1];
          auto dir = u < v ? sg4::LinkInRoute::Direction::UP : sg4::LinkInRoute::Direction::DOWN;
          route.emplace_back(phys[std::minmax(u, v)], dir);
        }
        root->add_route(zones[a]->get_netpoint(), zones[b]->get_netpoint(), gateways[a], gateways[b], route, true);
      }
    for (auto& [k, l] : phys) p.links.push_back(l->get_link_up());
  }
  root->seal();
  return p;
}

}  // namespace mksim
