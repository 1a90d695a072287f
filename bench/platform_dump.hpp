// A text description of the SimGrid platform and settings an engine holds, read through SimGrid's own API: the
// settings that shape the models, the zone tree with each zone's routing, hosts and their speeds, links with their
// bandwidth, latency and sharing, and the route (links and latency) between every pair of hosts. The recorder
// (mksim_bench record) writes it from mksim's engine; the plain SimGrid program (raw_simgrid) builds its platform from
// it with its own s4u calls and then compares its own description with it, so "the same platform" is checked, not
// assumed. Bench-only code: it uses SimGrid directly, nothing of mksim.
#pragma once

#include <algorithm>
#include <cstdio>
#include <functional>
#include <simgrid/kernel/routing/NetPoint.hpp>
#include <simgrid/kernel/routing/NetZoneImpl.hpp>
#include <simgrid/s4u.hpp>
#include <string>
#include <typeinfo>
#include <vector>
#include <xbt/config.hpp>

namespace bench {

// Settings that change what SimGrid computes or how fast, with their types (SimGrid's get_value<T> does not check the
// type: asking with the wrong one reads garbage). Both programs must agree on every one.
struct Setting {
  const char* key;
  char type;  // s: string, d: double, i: int, b: bool
};
inline const std::vector<Setting>& relevant_settings() {
  static const std::vector<Setting> keys = {
      {"network/model", 's'},
      {"network/weight-S", 'd'},
      {"network/crosstraffic", 'b'},
      {"network/optim", 's'},
      {"network/maxmin-selective-update", 'b'},
      {"network/latency-factor", 'd'},
      {"network/bandwidth-factor", 'd'},
      {"cpu/model", 's'},
      {"cpu/optim", 's'},
      {"cpu/maxmin-selective-update", 'b'},
      {"host/model", 's'},
      {"surf/precision", 'd'},
      {"maxmin/precision", 'd'},
      {"maxmin/concurrency-limit", 'i'},
      {"contexts/factory", 's'},
      {"contexts/stack-size", 'i'},
      {"contexts/guard-size", 'i'},
      {"contexts/nthreads", 'i'},
  };
  return keys;
}

inline std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

inline std::string setting_text(const Setting& s) {
  namespace cfg = simgrid::config;
  switch (s.type) {
    case 's':
      return cfg::get_value<std::string>(s.key);
    case 'd':
      return num(cfg::get_value<double>(s.key));
    case 'i':
      return std::to_string(cfg::get_value<int>(s.key));
    default:
      return cfg::get_value<bool>(s.key) ? "yes" : "no";
  }
}

// The routing of a zone, from its implementation's dynamic type (libsimgrid does not export every zone's typeinfo,
// so dynamic_cast cannot be used; the name from the object's own vtable can).
inline std::string zone_kind(const simgrid::s4u::NetZone* z) {
  const auto& impl = *z->get_impl();
  const std::string type = typeid(impl).name();
  if (type.find("StarZone") != std::string::npos) return "star";
  if (type.find("FullZone") != std::string::npos) return "full";
  return type;
}

inline std::vector<simgrid::s4u::Host*> hosts_by_name(std::vector<simgrid::s4u::Host*> hosts) {
  std::sort(hosts.begin(), hosts.end(), [](auto* a, auto* b) { return a->get_name() < b->get_name(); });
  return hosts;
}

// The description, one fact per line, in an order that does not depend on creation order. `routes`: also the route
// (links and latency) from every host to the first and the last host of every zone, which crosses every host's own
// links and every route between zones while staying linear in hosts.
inline std::string describe_platform(bool routes) {
  namespace sg4 = simgrid::s4u;
  auto* e = sg4::Engine::get_instance();
  std::string out;
  for (const auto& k : relevant_settings()) out += std::string("setting ") + k.key + " " + setting_text(k) + "\n";
  const sg4::NetZone* root = e->get_netzone_root();
  // (get_parent() of the root zone is not usable in SimGrid 3.32: the parent is known from the walk instead.)
  std::function<void(const sg4::NetZone*, const sg4::NetZone*)> walk = [&](const sg4::NetZone* z,
                                                                           const sg4::NetZone* parent) {
    out += "zone " + z->get_name() + " " + zone_kind(z) + " " + (parent ? parent->get_name() : "-") + "\n";
    auto children = z->get_children();
    std::sort(children.begin(), children.end(), [](auto* a, auto* b) { return a->get_name() < b->get_name(); });
    for (auto* c : children) walk(c, z);
  };
  walk(root, nullptr);
  for (auto* h : hosts_by_name(e->get_all_hosts()))
    out += "host " + h->get_name() + " " + h->get_englobing_zone()->get_name() + " " + num(h->get_speed()) + " " +
           std::to_string(h->get_core_count()) + "\n";
  std::vector<std::string> routers;
  for (auto* np : e->get_all_netpoints())
    if (np->is_router()) routers.push_back("router " + np->get_name() + " " + np->get_englobing_zone()->get_name());
  std::sort(routers.begin(), routers.end());
  for (const auto& r : routers) out += r + "\n";
  auto links = e->get_all_links();
  std::sort(links.begin(), links.end(), [](auto* a, auto* b) { return a->get_name() < b->get_name(); });
  for (auto* l : links)
    if (l->get_name() != "__loopback__")  // created by the network model on first use
      out += "link " + l->get_name() + " " + num(l->get_bandwidth()) + " " + num(l->get_latency()) + " " +
             std::to_string(static_cast<int>(l->get_sharing_policy())) + "\n";
  if (routes) {
    auto hosts = hosts_by_name(e->get_all_hosts());
    std::vector<sg4::Host*> probes;
    std::vector<sg4::NetZone*> zones = {e->get_netzone_root()};
    for (size_t i = 0; i < zones.size(); ++i)
      for (auto* c : zones[i]->get_children()) zones.push_back(c);
    for (auto* z : zones) {
      auto in_zone = hosts_by_name(z->get_all_hosts());
      if (in_zone.empty()) continue;
      probes.push_back(in_zone.front());
      if (in_zone.size() > 1) probes.push_back(in_zone.back());
    }
    probes = hosts_by_name(probes);
    probes.erase(std::unique(probes.begin(), probes.end()), probes.end());
    for (auto* a : hosts)
      for (auto* b : probes) {
        if (a == b) continue;
        std::vector<sg4::Link*> path;
        double lat = 0;
        a->route_to(b, path, &lat);
        out += "route " + a->get_name() + " " + b->get_name() + " " + num(lat);
        for (auto* l : path) out += " " + l->get_name();
        out += "\n";
      }
  }
  return out;
}

// What a builder needs beyond the description: which link joins each host to its star zone's centre, and the links
// of the route between each pair of zones (in the order SimGrid walks them from the first zone to the second).
inline std::string describe_construction() {
  namespace sg4 = simgrid::s4u;
  auto* e = sg4::Engine::get_instance();
  std::string out;
  auto* root = e->get_netzone_root();
  auto zones = root->get_children();
  std::sort(zones.begin(), zones.end(), [](auto* a, auto* b) { return a->get_name() < b->get_name(); });
  std::vector<sg4::Host*> first_host;
  for (auto* z : zones) {
    auto hosts = hosts_by_name(z->get_all_hosts());
    first_host.push_back(hosts.empty() ? nullptr : hosts.front());
    for (auto* h : hosts) {
      sg4::Host* other = h == hosts.front() ? (hosts.size() > 1 ? hosts[1] : nullptr) : hosts.front();
      if (!other) continue;
      std::vector<sg4::Link*> path;
      double lat = 0;
      h->route_to(other, path, &lat);
      // In a star zone the route between two hosts is the first host's links to the centre, then the second's.
      if (!path.empty()) out += "hostlink " + h->get_name() + " " + path.front()->get_name() + "\n";
    }
  }
  for (size_t a = 0; a < zones.size(); ++a)
    for (size_t b = a + 1; b < zones.size(); ++b) {
      if (!first_host[a] || !first_host[b]) continue;
      std::vector<sg4::Link*> path;
      double lat = 0;
      first_host[a]->route_to(first_host[b], path, &lat);
      out += "zoneroute " + zones[a]->get_name() + " " + zones[b]->get_name();
      for (size_t k = 1; k + 1 < path.size(); ++k) out += " " + path[k]->get_name();
      out += "\n";
    }
  return out;
}

}  // namespace bench
