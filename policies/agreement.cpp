// Agreement protocols (the `kernel.shootdown` slot, sim/api/agreement.hpp): TLB shootdown in a shared kernel, and the
// agreement protocols of a multikernel's monitors (Baumann et al., "The Multikernel", SOSP 2009, section 5.1 and
// Figure 6: unicast, broadcast, multicast and NUMA-aware multicast over URPC channels; Linux's IPI shootdown,
// flush_tlb_others of Linux 2.6 x86-64, for the shared kernels).
//
// A protocol runs as messages, event by event in simulated time: every request and acknowledgement is a write of a
// cache line that the receiver must read, costed and serialised by the coherence model (models/coherence.hpp: the
// line's transfer between the cores' caches at the machine's latencies, one access to a line at a time, one request
// at a time at the home node that backs it). A target runs its handler when its core does (Cpu::handler_start_s:
// an interrupt preempts the target at once; a polled channel is read by an idle core's poll loop at once and by a busy
// core at its next poll point), and the initiator is done when its own reads of the acknowledgement lines have
// returned every target's acknowledgement. The channels' lines persist from one run of the protocol to the next (the
// steady state of a repeated benchmark: each line shared by its writer and its reader). The protocols differ only in
// mechanism (docs/protocols.md): which lines exist, where their memory is, who writes them and in which order.
#include "sim/api/agreement.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <queue>
#include <span>

#include "models/coherence.hpp"
#include "models/costs.hpp"

namespace mksim {

namespace {

constexpr double kNever = std::numeric_limits<double>::infinity();

// The lines of one protocol's channels, kept from one run to the next. (The home nodes' ordering points are the whole
// run's, Cpu::home_queue: the protocol's requests book their turns there among the other cores' requests.)
struct ChannelState {
  std::map<std::pair<int, int>, CacheLine> request, ack;  // by (sender, receiver)
  std::map<int, CacheLine> shared;                        // one broadcast line per initiator
  std::map<int, CacheLine> mask;                          // Linux's flush state (request and cpumask), per initiator

  // A channel's line in its steady state: shared by its writer and its reader since the last exchange.
  static CacheLine& line(std::map<std::pair<int, int>, CacheLine>& lines, int from, int to) {
    auto [it, fresh] = lines.try_emplace({from, to});
    if (fresh) it->second.sharers = {from, to};
    return it->second;
  }
};

// Which node's memory backs the two buffers (request and acknowledgement) of a channel.
enum class Buffers {
  AtSender,  // the channel's set-up side (initiator or forwarder) allocates both from its own node
  AtFarEnd,  // both come from the node of the core at the channel's far end, the aggregation core or the target
             // (NUMA-aware multicast: "URPC buffers from memory local to the multicast aggregation nodes")
};

// One run of a protocol: a small discrete-event simulation from the initiator's start, in absolute simulated seconds.
class Run {
 public:
  Run(Cpu& cpu, const AgreementCosts& k, ChannelState& st)
      : cpu_(cpu), m_(cpu.machine()), k_(k), st_(st), start_s_(cpu.now_s()), me_(cpu.core()) {}

  double start_s() const { return start_s_; }
  int me() const { return me_; }
  const Machine& machine() const { return m_; }
  double cycles_s(int core, double cycles) const { return cycles_to_s(m_, core, cycles); }
  double send_s(int core) const { return cycles_s(core, k_.send_cycles); }
  int node(int core) const { return m_.cores[core].node; }

  void at(double t, std::function<void()> f) { events_.push({std::max(t, now_), seq_++, std::move(f)}); }
  void run() {
    while (!events_.empty()) {
      Event e = events_.top();
      events_.pop();
      now_ = e.t;
      e.f();
    }
  }

  // `core` reads or writes `line` (backed by `home`'s memory) at `t`: in time order with every other access of the
  // run; `then` gets the time the access completed.
  void access(CacheLine& line, int core, bool write, int home, double t, std::function<void(double)> then) {
    CacheLine* l = &line;
    const double begin = std::max(t, now_);
    at(begin, [this, l, core, write, home, begin, then = std::move(then)] {
      auto cost = access_lines(m_, std::span<CacheLine>(l, 1), core, write, true, home, begin, cpu_.home_queue(home));
      then(cost.done_s);
    });
  }

  // When a miss on `line` (backed by `home`) requested at `t` is served: once the line's previous access has completed
  // and, with home-node occupancy, the home node takes it (as models/coherence.cpp orders them).
  double served_s(const CacheLine& line, int home, double t) const {
    double s = std::max(t, line.busy_until_s);
    if (m_.coherence.home_occupancy_ns > 0)
      s = cpu_.home_queue(home).first_free(t, s, m_.coherence.home_occupancy_ns * 1e-9);
    return s;
  }

  // A core that receives acknowledgement messages in a poll loop: from `ready`, each acknowledgement whose write has
  // completed is read (a miss that fetches the writer's line); the loop's loads are independent, so up to the core's
  // misses in flight (machine core_mlp) overlap, while taking each message it has read is the loop's own work, one
  // after the other (AgreementCosts::receive_cycles: a URPC receive). `on_all` runs once `expected` acknowledgements
  // are taken.
  struct Collector {
    int core = 0;
    double ready = kNever;
    size_t expected = 0, seen = 0;
    double done = 0;
    double free_s = 0;  // when the loop has taken the last acknowledgement it read (receive cost)
    std::vector<std::tuple<CacheLine*, int, double>> pending;  // written before the poll loop started
    std::vector<double> in_flight;                             // completion times of the loop's reads (once issued)
    std::function<void(double)> on_all;
  };

  Collector& collector(int core, size_t expected, std::function<void(double)> on_all) {
    auto c = std::make_unique<Collector>();
    c->core = core;
    c->expected = expected;
    c->on_all = std::move(on_all);
    collectors_.push_back(std::move(c));
    return *collectors_.back();
  }

  void start_polling(Collector& c, double t) {
    c.ready = t;
    c.done = t;
    if (c.expected == 0) {
      c.on_all(t);
      return;
    }
    auto pending = std::move(c.pending);
    for (auto [line, home, w] : pending) poll(c, *line, home, std::max(w, t));
  }

  // An acknowledgement line was written at `written`: one target's acknowledgement, read by `c`'s poll loop.
  void acknowledged(Collector& c, CacheLine& line, int home, double written) {
    cpu_.count("agreement_ack");
    forwarded(c, line, home, written);
  }
  // The same for an aggregation core's acknowledgement (its own was counted when it sent it).
  void forwarded(Collector& c, CacheLine& line, int home, double written) {
    if (c.ready == kNever) {
      c.pending.emplace_back(&line, home, written);
      return;
    }
    poll(c, line, home, std::max(written, c.ready));
  }

  // Target `target` handles a request on `line` (backed by `home`) that `from` wrote at `written` after starting to
  // send at `sent`: it reads the line when its core runs the handler, handles it for `handler_s`, and `then` gets
  // (when it saw the request, when it started).
  void receive(int from, int target, CacheLine& line, int home, double sent, double written,
               std::function<void(double, double)> then) {
    if (k_.ipi) {  // an interrupt with the request: the target's handler starts when it arrives and reads the line
      const double arrival = sent + send_s(from) + k_.notify_ns * 1e-9;
      const double begin = cpu_.handler_start_s(target, arrival, true);
      access(line, target, false, home, std::max(begin, written),
             [then = std::move(then), begin](double seen) { then(seen, begin); });
    } else {  // the target polls the line: it reads the new value at its first poll after the write completed
      const double begin = cpu_.handler_start_s(target, written, false);
      access(line, target, false, home, begin, [then = std::move(then), begin](double seen) { then(seen, begin); });
    }
  }

  // A leaf target: handles the request, then writes its acknowledgement line (backed by `ack_home`) for `col`.
  void leaf(int from, int target, CacheLine& req, int req_home, int ack_home, double sent, double written,
            Collector& col) {
    Collector* cp = &col;
    receive(from, target, req, req_home, sent, written, [=, this](double seen, double begin) {
      const double handled = seen + cycles_s(target, k_.handler_cycles);
      CacheLine* ack = &ChannelState::line(st_.ack, target, cp->core);
      cpu_.run_handler(from, target, sent, begin, handled - begin);
      access(*ack, target, true, ack_home, handled,
             [this, cp, ack, ack_home](double w) { acknowledged(*cp, *ack, ack_home, w); });
    });
  }

  // `from` writes the request line of its channel to `target` at `t` (the store retires into the store buffer: the
  // sender goes on while the line's ownership is obtained); `then` gets the time the write completed.
  void post(int from, CacheLine& req, int home, double t, std::function<void(double)> then) {
    access(req, from, true, home, t, std::move(then));
  }

  ChannelState& state() { return st_; }
  Cpu& cpu() { return cpu_; }
  const AgreementCosts& costs() const { return k_; }

 private:
  void poll(Collector& c, CacheLine& line, int home, double t) {
    const size_t mlp = std::max<size_t>(1, static_cast<size_t>(std::floor(m_.core_mlp)));
    std::erase_if(c.in_flight, [&](double d) { return d <= t; });
    if (c.in_flight.size() >= mlp) {
      auto first = std::min_element(c.in_flight.begin(), c.in_flight.end());
      t = *first;
      c.in_flight.erase(first);
    }
    Collector* cp = &c;
    const double rc = cycles_s(c.core, k_.receive_cycles);
    access(line, c.core, false, home, t, [cp, rc](double d) {
      cp->in_flight.push_back(d);
      cp->free_s = std::max(cp->free_s, d) + rc;
      cp->done = std::max(cp->done, cp->free_s);
      if (++cp->seen == cp->expected) cp->on_all(cp->done);
    });
  }

  struct Event {
    double t;
    uint64_t seq;
    std::function<void()> f;
    bool operator>(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };

  Cpu& cpu_;
  const Machine& m_;
  const AgreementCosts& k_;
  ChannelState& st_;
  double start_s_;
  int me_;
  double now_ = 0;
  uint64_t seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::vector<std::unique_ptr<Collector>> collectors_;
};

// Point-to-point (Baumann et al., section 5.1, "unicast"): one channel per target, written in turn by the initiator;
// every target acknowledges on its own channel, which the initiator polls. The buffers come from the initiator's
// memory.
double unicast(Run& r, const std::vector<int>& to) {
  double done = kNever;
  const int me = r.me();
  Run::Collector* col = &r.collector(me, to.size(), [&done](double t) { done = t; });
  double t = r.start_s();
  for (int c : to) {
    const double sent = t;
    t += r.send_s(me);
    CacheLine* req = &ChannelState::line(r.state().request, me, c);
    r.post(me, *req, r.node(me), t,
           [&r, col, me, c, req, sent](double w) { r.leaf(me, c, *req, r.node(me), r.node(me), sent, w, *col); });
  }
  r.start_polling(*col, t);
  r.run();
  return done;
}

// Broadcast (section 5.1): one shared request line in the initiator's memory that every target polls. The write
// invalidates every copy; then each target's read misses and the line moves to one reader after the other (it is in
// one place at a time): the line bounces. Each target acknowledges on its own channel.
double broadcast(Run& r, const std::vector<int>& to) {
  double done = kNever;
  const int me = r.me();
  Run::Collector* col = &r.collector(me, to.size(), [&done](double t) { done = t; });
  auto [it, fresh] = r.state().shared.try_emplace(me);
  CacheLine* line = &it->second;
  if (fresh) {
    line->sharers = {me};
    line->sharers.insert(line->sharers.end(), to.begin(), to.end());
  }
  const double t = r.start_s() + r.send_s(me);
  r.post(me, *line, r.node(me), t, [&r, col, me, line, &to](double w) {
    for (int c : to) r.leaf(me, c, *line, r.node(me), r.node(me), r.start_s(), w, *col);
  });
  r.start_polling(*col, t);
  r.run();
  return done;
}

// Linux-style shootdown (native_flush_tlb_others, Linux 2.6 x86-64, arch/x86/kernel/tlb_64.c): the request (mm,
// address) and the cpumask of pending targets share one cache line (union smp_flush_state, padded to a line). The
// initiator writes it, then sends one IPI per target in turn (physical destination mode: each ICR write waits for the
// previous IPI to leave; `send_cycles`); each target's handler reads the line and clears its bit in the cpumask with a
// locked instruction, while the initiator, once it has sent every IPI, spins reading the line until the mask is
// empty. A spinning reader has a read outstanding whenever its copy is gone: a clear that takes the
// line invalidates the initiator's copy when it is served, and the initiator's next read, issued then, queues at the
// line behind the clears already waiting and ahead of those that come later; when it returns, the initiator reads
// again at once if a clear has taken the line meanwhile, or waits (hitting its own copy) until the next one does.
double ipi_broadcast(Run& r, const std::vector<int>& to) {
  const int me = r.me();
  auto [mit, mfresh] = r.state().mask.try_emplace(me);
  CacheLine& mask = mit->second;  // flush_mm, flush_va and flush_cpumask
  if (mfresh) mask.owner = me;
  const int home = r.node(me);
  const size_t n = to.size();
  const double send = r.send_s(me);
  const double spin_from = r.start_s() + static_cast<double>(n) * send;  // after the last ICR write
  double done = kNever;
  size_t ordered = 0;        // clears placed on the mask line so far (in the line's order)
  bool outstanding = false;  // the initiator has a read of the mask in flight
  size_t seen_by_read = 0;   // clears before the initiator's latest read
  std::function<void(double)> spin_read = [&](double t) {
    outstanding = true;
    r.at(t, [&, t] {
      const size_t seen = ordered;  // the read is placed on the line now: it sees every clear placed before it
      r.access(mask, me, false, home, t, [&, seen](double d) {
        r.at(d, [&, seen, d] {
          outstanding = false;
          seen_by_read = seen;
          if (seen == n) {
            done = std::min(done, d);
          } else if (ordered > seen) {
            spin_read(d);  // a clear took the line meanwhile: read again at once
          }
        });
      });
    });
  };
  r.post(me, mask, home, r.start_s(), [&](double written) {
    double t = r.start_s();
    for (int c : to) {
      const double sent = t;
      t += send;
      const double arrival = t + r.costs().notify_ns * 1e-9;
      const double begin = r.cpu().handler_start_s(c, arrival, true);
      r.access(mask, c, false, home, std::max(begin, written), [&, c, sent, begin](double seen) {
        const double handled = seen + r.cycles_s(c, r.costs().handler_cycles);
        r.cpu().run_handler(me, c, sent, begin, handled - begin);
        r.at(handled, [&, c, handled] {
          // The clear is served once the line and the home node are free; the initiator's copy goes then.
          const double served = r.served_s(mask, home, handled);
          ++ordered;
          r.cpu().count("agreement_ack");
          r.access(mask, c, true, home, handled, [](double) {});
          if (!outstanding && served >= spin_from) spin_read(served);
        });
      });
    }
  });
  r.at(spin_from, [&] {
    if (!outstanding && seen_by_read < n) spin_read(spin_from);
  });
  r.run();
  return done;
}

// Multicast (section 5.1): the initiator sends one message to an aggregation core in each other package (the first
// target there), which forwards it to the other targets sharing its cache, handles its own request meanwhile, collects
// their acknowledgements and sends one acknowledgement back; the initiator serves its own package's targets itself.
// Plain multicast sends in package order over channels whose buffers are in the initiator's (or forwarder's) memory;
// NUMA-aware multicast allocates both buffers of each channel, the request and the acknowledgement, in the memory of
// the aggregation core (or target) at its far end ("URPC buffers from memory local to the multicast aggregation
// nodes"): that core's reads of its requests are local, and neither the requests nor the acknowledgements queue at
// the initiator's home node; and it sends to the most distant packages first.
double multicast(Run& r, const std::vector<int>& to, Buffers buffers, bool farthest_first) {
  struct Group {
    int leader;
    std::vector<int> members;  // without the leader
  };
  const int me = r.me();
  const Machine& m = r.machine();
  std::vector<int> direct;
  std::map<int, Group> by_pkg;
  for (int c : to) {
    if (m.cores[c].package == m.cores[me].package) {
      direct.push_back(c);
      continue;
    }
    auto [it, fresh] = by_pkg.try_emplace(m.cores[c].package, Group{c, {}});
    if (!fresh) it->second.members.push_back(c);
  }
  // The initiator's sends: one per direct target or group, in package order or the most distant first.
  struct Send {
    int core;
    const Group* group;
  };
  std::vector<Send> sends;
  for (int c : direct) sends.push_back({c, nullptr});
  for (const auto& [pkg, g] : by_pkg) sends.push_back({g.leader, &g});
  if (farthest_first) {  // by the cost of reaching the core, then (where a broadcast makes that flat) by its distance
    auto distance = [&](int c) {
      return std::pair(line_transfer_ns(m, me, c), m.interconnect.hops[r.node(me)][r.node(c)]);
    };
    std::stable_sort(sends.begin(), sends.end(),
                     [&](const Send& a, const Send& b) { return distance(a.core) > distance(b.core); });
  }
  auto home_of = [&](int sender, int receiver) {
    return buffers == Buffers::AtFarEnd ? r.node(receiver) : r.node(sender);
  };

  double done = kNever;
  Run::Collector* col = &r.collector(me, sends.size(), [&done](double t) { done = t; });
  double t = r.start_s();
  for (const Send& s : sends) {
    const double sent = t;
    t += r.send_s(me);
    const int c = s.core;
    CacheLine* req = &ChannelState::line(r.state().request, me, c);
    const int req_home = home_of(me, c);
    const int ack_home = home_of(me, c);  // the same channel's other buffer
    if (!s.group || s.group->members.empty()) {
      r.post(me, *req, req_home, t, [&r, col, me, c, req, sent, req_home, ack_home](double w) {
        r.leaf(me, c, *req, req_home, ack_home, sent, w, *col);
      });
      continue;
    }
    const Group* g = s.group;
    r.post(me, *req, req_home, t, [&r, &home_of, col, me, c, g, req, sent, req_home, ack_home](double w) {
      r.receive(me, c, *req, req_home, sent, w,
                [&r, &home_of, col, me, c, g, sent, ack_home](double seen, double begin) {
                  // The aggregation core forwards first, then handles its own request while the others handle theirs,
                  // and acknowledges once it has its own and every member's.
                  double f = seen;
                  Run::Collector* sub = &r.collector(c, g->members.size(), [](double) {});
                  for (int member : g->members) {
                    const double fsent = f;
                    f += r.send_s(c);
                    CacheLine* fwd = &ChannelState::line(r.state().request, c, member);
                    const int fwd_home = home_of(c, member);
                    r.post(c, *fwd, fwd_home, f, [&r, sub, c, member, fwd, fwd_home, fsent](double fw) {
                      r.leaf(c, member, *fwd, fwd_home, fwd_home, fsent, fw, *sub);
                    });
                  }
                  const double own = f + r.cycles_s(c, r.costs().handler_cycles);
                  sub->on_all = [&r, col, me, c, sent, begin, ack_home](double all) {
                    CacheLine* ack = &ChannelState::line(r.state().ack, c, me);
                    r.cpu().run_handler(me, c, sent, begin, all - begin);
                    r.cpu().count("agreement_ack");  // the aggregation core's own
                    r.access(*ack, c, true, ack_home, all,
                             [&r, col, ack, ack_home](double aw) { r.forwarded(*col, *ack, ack_home, aw); });
                  };
                  r.start_polling(*sub, own);
                });
    });
  }
  r.start_polling(*col, t);
  r.run();
  return done;
}

class Registered final : public AgreementProtocol {
 public:
  using Walk = double (*)(Run& r, const std::vector<int>& to);
  explicit Registered(Walk walk) : walk_(walk) {}
  double run_ns(Cpu& cpu, const std::vector<int>& to, const AgreementCosts& k) const override {
    Run r(cpu, k, state_);
    const double done = walk_(r, to);
    if (!(done < kNever)) throw std::logic_error("agreement protocol: an acknowledgement never arrived");
    return (done - r.start_s()) * 1e9;
  }

 private:
  Walk walk_;
  mutable ChannelState state_;  // one protocol object per run (make_agreement): its channels' lines
};

std::unique_ptr<AgreementProtocol> made(Registered::Walk walk) {
  return std::make_unique<Registered>(walk);
}

AgreementRegistry::Add r1("shootdown", "ipi-broadcast",
                          "Linux-style: one IPI per target in turn, acknowledgements through one shared cpumask line",
                          Schema{}, [](const Params&) { return made(ipi_broadcast); });
AgreementRegistry::Add r2("shootdown", "unicast",
                          "one channel per target written in turn by the initiator, which polls every ack channel",
                          Schema{}, [](const Params&) { return made(unicast); });
AgreementRegistry::Add r3("shootdown", "broadcast",
                          "one shared request line every target reads (the line bounces between them)", Schema{},
                          [](const Params&) { return made(broadcast); });
AgreementRegistry::Add r4("shootdown", "multicast",
                          "one message per package to an aggregation core, which forwards it in its package and "
                          "aggregates the acks",
                          Schema{}, [](const Params&) {
                            return made([](Run& r, const std::vector<int>& to) {
                              return multicast(r, to, Buffers::AtSender, false);
                            });
                          });
AgreementRegistry::Add r5("shootdown", "numa-multicast",
                          "multicast with buffers in the receivers' memory, the most distant packages first "
                          "(Baumann et al., Figure 6)",
                          Schema{}, [](const Params&) {
                            return made([](Run& r, const std::vector<int>& to) {
                              return multicast(r, to, Buffers::AtFarEnd, true);
                            });
                          });

}  // namespace
}  // namespace mksim
