// raw_simgrid STREAM: a plain SimGrid (s4u) program that performs the activity stream an mksim run recorded
// (mksim_bench record): the same settings, zones, hosts, links, routes and actors, and per actor the same sleeps,
// communications and executions in the same order, with nothing of mksim around them. Where the mksim actor was
// blocked without any activity (a semaphore wait: an idle core, the timer actor), this program sleeps until the time
// the mksim actor resumed. It times itself from the creation of the engine to the end of the run (reading the stream
// file is not timed), checks that its platform reads back exactly as mksim's did and that the simulation ends at the
// same time, and prints one JSON line.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <simgrid/s4u.hpp>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/platform_dump.hpp"

namespace sg4 = simgrid::s4u;

namespace {

struct Action {
  char kind;  // S: sleep until t_end; C: communication src -> dst of `amount` bytes; E: execution on src of `amount`
  double t_start, t_end;
  int src, dst;  // host indices
  double amount;
};

struct ActorPlan {
  std::string name;
  int host;
  double end;
  std::vector<Action> actions;
};

struct Stream {
  std::string description;  // setting/zone/host/router/link/route lines, as describe_platform() writes them
  std::vector<std::string> settings;
  std::vector<std::vector<std::string>> zones, hosts, routers, links, hostlinks, zoneroutes;
  std::vector<std::string> host_names;
  std::vector<ActorPlan> actors;
  double end = 0;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

Stream read_stream(const char* path) {
  std::FILE* f = std::fopen(path, "r");
  if (!f) throw std::runtime_error(std::string("cannot read ") + path);
  Stream s;
  std::unordered_map<std::string, int> host_index;
  auto index_of = [&](const char* name) {
    auto it = host_index.find(name);
    if (it == host_index.end()) throw std::runtime_error(std::string("unknown host ") + name);
    return it->second;
  };
  std::vector<char> buf(1 << 16);
  ActorPlan* cur = nullptr;
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), f)) {
    char* line = buf.data();
    line[std::strcspn(line, "\n")] = 0;
    if (line[0] == 'S' && line[1] == ' ') {
      char* p = line + 2;
      double a = std::strtod(p, &p), b = std::strtod(p, &p);
      cur->actions.push_back({'S', a, b, -1, -1, 0});
      continue;
    }
    if ((line[0] == 'C' || line[0] == 'E') && line[1] == ' ') {
      char src[256], dst[256];
      double t = 0, amount = 0;
      if (line[0] == 'C') {
        if (std::sscanf(line + 2, "%lf %255s %255s %lf", &t, src, dst, &amount) != 4) throw std::runtime_error(line);
        cur->actions.push_back({'C', t, 0, index_of(src), index_of(dst), amount});
      } else {
        if (std::sscanf(line + 2, "%lf %255s %lf", &t, src, &amount) != 3) throw std::runtime_error(line);
        cur->actions.push_back({'E', t, 0, index_of(src), -1, amount});
      }
      continue;
    }
    std::string l = line;
    if (l.empty() || l[0] == '#') continue;
    auto w = split(l);
    const std::string& k = w[0];
    if (k == "setting" || k == "zone" || k == "host" || k == "router" || k == "link" || k == "route")
      s.description += l + "\n";
    if (k == "setting" && w.size() >= 3)
      s.settings.push_back(w[1] + ":" + w[2]);
    else if (k == "zone")
      s.zones.push_back(w);
    else if (k == "host") {
      host_index[w[1]] = static_cast<int>(s.host_names.size());
      s.host_names.push_back(w[1]);
      s.hosts.push_back(w);
    } else if (k == "router")
      s.routers.push_back(w);
    else if (k == "link")
      s.links.push_back(w);
    else if (k == "hostlink")
      s.hostlinks.push_back(w);
    else if (k == "zoneroute")
      s.zoneroutes.push_back(w);
    else if (k == "actor") {
      s.actors.push_back({w[1], index_of(w[2].c_str()), std::strtod(w[3].c_str(), nullptr), {}});
      s.actors.back().actions.reserve(std::strtoull(w[4].c_str(), nullptr, 10));
      cur = &s.actors.back();
    } else if (k == "end")
      s.end = std::strtod(w[1].c_str(), nullptr);
  }
  std::fclose(f);
  return s;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Builds the platform the stream describes: star zones under a full root zone (the only shapes the recorder
// describes; anything else fails the read-back comparison).
std::vector<sg4::Host*> build(const Stream& s) {
  std::map<std::string, sg4::NetZone*> zones;
  sg4::NetZone* root = nullptr;
  for (const auto& z : s.zones) {
    if (z[3] == "-") {
      root = z[2] == "star" ? sg4::create_star_zone(z[1]) : sg4::create_full_zone(z[1]);
      zones[z[1]] = root;
    } else {
      auto* nz = z[2] == "star" ? sg4::create_star_zone(z[1]) : sg4::create_full_zone(z[1]);
      nz->set_parent(zones.at(z[3]));
      zones[z[1]] = nz;
    }
  }
  std::map<std::string, const std::vector<std::string>*> link_spec;
  for (const auto& l : s.links) link_spec[l[1]] = &l;
  std::map<std::string, std::string> host_link;
  for (const auto& h : s.hostlinks) host_link[h[1]] = h[2];

  std::map<std::string, sg4::Host*> hosts;
  std::map<std::string, sg4::Link*> links;
  std::map<std::string, simgrid::kernel::routing::NetPoint*> gateway;
  for (const auto& z : s.zones) {
    if (z[3] == "-") continue;
    sg4::NetZone* nz = zones.at(z[1]);
    for (const auto& h : s.hosts) {
      if (h[2] != z[1]) continue;
      auto* host = nz->create_host(h[1], std::strtod(h[3].c_str(), nullptr));
      if (int cores = std::atoi(h[4].c_str()); cores != 1) host->set_core_count(cores);
      hosts[h[1]] = host->seal();
      auto it = host_link.find(h[1]);
      if (it == host_link.end()) continue;
      const auto& spec = *link_spec.at(it->second);
      auto* link = nz->create_link(spec[1], std::strtod(spec[2].c_str(), nullptr));
      link->set_latency(std::strtod(spec[3].c_str(), nullptr));
      link->set_sharing_policy(static_cast<sg4::Link::SharingPolicy>(std::atoi(spec[4].c_str())));
      links[spec[1]] = link->seal();
      nz->add_route(hosts[h[1]]->get_netpoint(), nullptr, nullptr, nullptr, {sg4::LinkInRoute(links[spec[1]])}, true);
    }
    for (const auto& r : s.routers)
      if (r[2] == z[1]) gateway[z[1]] = nz->create_router(r[1]);
    nz->seal();
  }
  // The links between zones: a pair NAME_UP / NAME_DOWN is one split-duplex link.
  std::map<std::string, sg4::SplitDuplexLink*> duplex;
  for (const auto& l : s.links) {
    if (links.count(l[1])) continue;
    const double bw = std::strtod(l[2].c_str(), nullptr), lat = std::strtod(l[3].c_str(), nullptr);
    for (const char* dir : {"_UP", "_DOWN"})
      if (ends_with(l[1], dir)) {
        std::string base = l[1].substr(0, l[1].size() - std::strlen(dir));
        if (!duplex.count(base)) {
          auto* d = root->create_split_duplex_link(base, bw);
          d->set_latency(lat);
          d->seal();
          duplex[base] = d;
        }
      }
    bool is_duplex = ends_with(l[1], "_UP") || ends_with(l[1], "_DOWN");
    if (!is_duplex) {
      auto* link = root->create_link(l[1], bw);
      link->set_latency(lat);
      link->set_sharing_policy(static_cast<sg4::Link::SharingPolicy>(std::atoi(l[4].c_str())));
      links[l[1]] = link->seal();
    }
  }
  for (const auto& r : s.zoneroutes) {
    std::vector<sg4::LinkInRoute> route;
    for (size_t k = 3; k < r.size(); ++k) {
      const std::string& name = r[k];
      if (ends_with(name, "_UP") && duplex.count(name.substr(0, name.size() - 3)))
        route.emplace_back(duplex[name.substr(0, name.size() - 3)], sg4::LinkInRoute::Direction::UP);
      else if (ends_with(name, "_DOWN") && duplex.count(name.substr(0, name.size() - 5)))
        route.emplace_back(duplex[name.substr(0, name.size() - 5)], sg4::LinkInRoute::Direction::DOWN);
      else
        route.emplace_back(links.at(name));
    }
    root->add_route(zones.at(r[1])->get_netpoint(), zones.at(r[2])->get_netpoint(), gateway.at(r[1]), gateway.at(r[2]),
                    route, true);
  }
  root->seal();
  std::vector<sg4::Host*> by_index;
  for (const auto& name : s.host_names) by_index.push_back(hosts.at(name));
  return by_index;
}

struct Counts {
  uint64_t sleeps = 0, comms = 0, execs = 0, gaps = 0;
};

// Below SimGrid's time precision (surf/precision) two instants are the same.
constexpr double kSameTime = 1e-12;

void replay(const ActorPlan& plan, const std::vector<sg4::Host*>& hosts, Counts& n) {
  const auto& acts = plan.actions;
  size_t i = 0;
  while (i < acts.size()) {
    const Action& a = acts[i];
    if (a.t_start > sg4::Engine::get_clock() + kSameTime) {
      sg4::this_actor::sleep_until(a.t_start);
      ++n.gaps;
    }
    if (a.kind == 'S') {
      sg4::this_actor::sleep_until(a.t_end);
      ++n.sleeps;
      ++i;
      continue;
    }
    // Communications and executions started together, then waited for together.
    std::vector<sg4::CommPtr> comms;
    std::vector<sg4::ExecPtr> execs;
    size_t j = i;
    for (; j < acts.size() && acts[j].kind != 'S' && acts[j].t_start == a.t_start; ++j) {
      const Action& b = acts[j];
      if (b.kind == 'C') {
        comms.push_back(sg4::Comm::sendto_async(hosts[b.src], hosts[b.dst], static_cast<uint64_t>(b.amount)));
        ++n.comms;
      } else {
        execs.push_back(sg4::Exec::init()->set_flops_amount(b.amount)->set_host(hosts[b.src]));
        execs.back()->start();
        ++n.execs;
      }
    }
    if (!comms.empty()) sg4::Comm::wait_all(comms);
    for (auto& e : execs) e->wait();
    i = j;
  }
  if (plan.end > sg4::Engine::get_clock() + kSameTime) {
    sg4::this_actor::sleep_until(plan.end);
    ++n.gaps;
  }
}

long maxrss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: raw_simgrid STREAM\n");
    return 2;
  }
  try {
    Stream s = read_stream(argv[1]);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> args = {"raw_simgrid", "--log=root.thres:critical"};
    for (const auto& kv : s.settings)
      if (kv.rfind("contexts/", 0) == 0) args.push_back("--cfg=" + kv);
    std::vector<char*> av;
    for (auto& a : args) av.push_back(a.data());
    int ac = static_cast<int>(av.size());
    sg4::Engine engine(&ac, av.data());
    // The other settings, where they differ from SimGrid's defaults (setting a default explicitly is not always
    // allowed: cpu/maxmin-selective-update "no" with the lazy CPU model is an error).
    for (const auto& kv : s.settings) {
      const auto colon = kv.find(':');
      const std::string key = kv.substr(0, colon), value = kv.substr(colon + 1);
      if (key.rfind("contexts/", 0) == 0) continue;
      for (const auto& known : bench::relevant_settings())
        if (key == known.key && bench::setting_text(known) != value) sg4::Engine::set_config(kv);
    }
    std::vector<sg4::Host*> hosts = build(s);
    Counts n;
    for (const auto& plan : s.actors)
      sg4::Actor::create(plan.name, hosts[plan.host], [&plan, &hosts, &n] { replay(plan, hosts, n); });
    const auto t1 = std::chrono::steady_clock::now();
    engine.run();
    const auto t2 = std::chrono::steady_clock::now();
    const double sim_end = sg4::Engine::get_clock();
    // Checked after the timed part: the platform reads back as mksim's did.
    std::string mine = bench::describe_platform(true);
    bool same = mine == s.description;
    std::string first_difference;
    if (!same) {
      std::istringstream a(mine), b(s.description);
      std::string la, lb;
      while (true) {
        bool ga = static_cast<bool>(std::getline(a, la)), gb = static_cast<bool>(std::getline(b, lb));
        if (!ga && !gb) break;
        if (la != lb || ga != gb) {
          first_difference = "raw: '" + (ga ? la : "") + "' mksim: '" + (gb ? lb : "") + "'";
          break;
        }
      }
    }
    auto esc = [](std::string x) {
      for (auto& c : x)
        if (c == '"' || c == '\\') c = '\'';
      return x;
    };
    std::printf(
        "{\"wall_s\": %.9g, \"setup_s\": %.9g, \"run_s\": %.9g, \"sim_time_s\": %.17g, \"recorded_sim_time_s\": "
        "%.17g, \"sleeps\": %llu, \"comms\": %llu, \"execs\": %llu, \"gaps\": %llu, \"actors\": %zu, "
        "\"platform_identical\": %s, \"first_difference\": \"%s\", \"maxrss_kb\": %ld}\n",
        std::chrono::duration<double>(t2 - t0).count(), std::chrono::duration<double>(t1 - t0).count(),
        std::chrono::duration<double>(t2 - t1).count(), sim_end, s.end, static_cast<unsigned long long>(n.sleeps),
        static_cast<unsigned long long>(n.comms), static_cast<unsigned long long>(n.execs),
        static_cast<unsigned long long>(n.gaps), s.actors.size(), same ? "true" : "false",
        esc(first_difference).c_str(), maxrss_kb());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "raw_simgrid: %s\n", e.what());
    return 1;
  }
}
