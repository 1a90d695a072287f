// Message ping-pong between two threads (the classic IPC latency benchmark: lmbench's lat_pipe, McVoy & Staelin,
// USENIX 1996; the URPC round trips of Baumann et al., SOSP 2009, Multikernel, Figure 4 / Table 2): one thread sends a
// message, the other answers, N times; the mean round trip shows what the kernel architecture's message path costs
// between two cores at a chosen distance: on one core (context switches), on cores sharing a cache, in one socket, or
// on sockets one or two interconnect hops apart.
//
// With `window` W > 1 the client keeps up to W messages outstanding: it fills the channel with W messages, then sends
// the next one each time a reply comes back, as Barrelfish's URPC throughput benchmark does (usr/bench/ump_bench/
// throughput.c: 16 messages in flight, Table 3 of the Multikernel paper). Sender and receiver then work on different
// messages at the same time, so the message rate is bounded by the busier of the two cores (its own cost per message)
// rather than by the round trip; messages_per_kcycle reports it. With W = 1 it is 1000 / round_trip_cycles.
//
// Placement `same-thread` is the baseline of the context-switch benchmarks: one thread writes each message and reads
// it back itself, then does the same for the reply, so it pays every system call and copy of the ping-pong but no
// context switch (Li, Ding, Shen, ExpCS 2007: measureSingle; lmbench's lat_ctx measures the same overhead in one
// process and subtracts it). A same-core ping-pong less this baseline is the direct cost of a switch.
#include <memory>
#include <set>

#include "sim/api/param_struct.hpp"
#include "workloads/synthetic.hpp"

namespace mksim {

namespace {

Field placement_field() {
  Field f = Field::optional("placement", FieldType::Any, "",
                            "where the two threads run: same-core, same-die (cores sharing a cache), same-socket, "
                            "one-hop or two-hops (sockets that many interconnect hops apart), or a pair of core ids "
                            "[a, b]; same-thread: one thread on core 0 sends each message and the reply to itself (the "
                            "system calls and copies of a same-core ping-pong without its context switches)");
  f.default_value = "same-die";
  return f;
}

struct IpcPingpongParams {
  int64_t round_trips = 0, warmup_round_trips = 0, message_bytes = 0, window = 0;
  std::string address_spaces;

  static const ParamStruct<IpcPingpongParams>& declare() {
    using P = IpcPingpongParams;
    static const ParamStruct<P> d =
        ParamStruct<P>()
            .unbound(placement_field())
            .bind(&P::round_trips,
                  Field::integer("round_trips", 1000, "", "measured round trips").at_least(1).at_most(1000000000))
            .bind(&P::warmup_round_trips, Field::integer("warmup_round_trips", 10, "", "round trips before measuring")
                                              .at_least(0)
                                              .at_most(1000000000))
            .bind(&P::message_bytes, Field::integer("message_bytes", 64, "bytes", "size of each message").at_least(0))
            .bind(&P::window,
                  Field::integer(
                      "window", 1, "messages",
                      "messages the client keeps outstanding: it sends the next one as each reply arrives (1: one "
                      "round trip at a time; more: pipelined, see messages_per_kcycle)")
                      .at_least(1)
                      .at_most(1000000))
            .bind(&P::address_spaces,
                  Field::choice("address_spaces", "shared", {"shared", "separate"},
                                "both threads in one process, or each in its own (a switch between them then switches "
                                "address spaces)"));
    return d;
  }
};

class IpcPingPong final : public Workload {
 public:
  explicit IpcPingPong(const Params& p) : p_(p), v_(IpcPingpongParams::declare().read(p)) {}

  void setup(WorkloadEnv& env) override {
    const Machine& m = env.machine();
    const json& where = p_.raw()["placement"];
    const bool solo = where.is_string() && where.get<std::string>() == "same-thread";
    auto [a, b] = solo ? std::pair<int, int>{0, 0} : choose_pair(m);
    core_a_ = a, core_b_ = b;
    hz_a_ = m.cores[a].freq_ghz * 1e9;
    const int rounds = static_cast<int>(v_.round_trips);
    const int warmup = static_cast<int>(v_.warmup_round_trips);
    rounds_ = rounds;
    const auto bytes = static_cast<uint64_t>(v_.message_bytes);
    window_ = static_cast<int>(v_.window);
    // Both threads in one process (threads of one program), or each in its own (two address spaces, as in the L4,
    // seL4 and Barrelfish LRPC benchmarks): a switch between them then switches address spaces.
    const bool separate = v_.address_spaces == "separate";
    uint32_t proc_a = env.create_process(separate ? "ipc-pingpong.ping" : "ipc-pingpong", {});
    uint32_t proc_b = separate ? env.create_process("ipc-pingpong.pong", {}) : proc_a;
    uint32_t to_b = env.create_channel("ping"), to_a = env.create_channel("pong");
    times_ = std::make_shared<Times>();
    if (solo) {
      if (window_ != 1) p_.fail("window", "placement same-thread sends one message at a time: window must be 1");
      env.create_thread(proc_a, {"ipc-pingpong.solo", {a}, m.cores[a].node},
                        boxed(solo_loop(times_, to_b, to_a, bytes, warmup, rounds)));
      return;
    }
    env.create_thread(proc_a, {"ipc-pingpong.ping", {a}, m.cores[a].node},
                      boxed(ping(times_, to_b, to_a, bytes, warmup, rounds, window_)));
    env.create_thread(proc_b, {"ipc-pingpong.pong", {b}, m.cores[b].node},
                      boxed(pong(to_b, to_a, bytes, warmup + rounds)));
  }

  Metrics metrics(const RunView&) const override {
    const double span_s = times_->end_s - times_->start_s;
    // Round trip: from the start of a message's send to the arrival of its reply, averaged over the measured messages
    // (with W > 1 it includes the wait behind the messages ahead of it).
    const double rt_s = rounds_ > 0 ? (times_->reply_sum_s - times_->send_sum_s) / rounds_ : 0.0;
    const double interval_cycles = rounds_ > 0 ? span_s * hz_a_ / rounds_ : 0.0;
    return {{"round_trip_cycles", rt_s * hz_a_},
            {"one_way_cycles", rt_s * hz_a_ / 2},
            {"round_trip_ns", rt_s * 1e9},
            {"one_way_ns", rt_s * 1e9 / 2},
            {"message_interval_cycles", interval_cycles},
            {"messages_per_kcycle", interval_cycles > 0 ? 1000.0 / interval_cycles : 0.0},
            {"window", static_cast<double>(window_)},
            {"core_pair", std::vector<double>{static_cast<double>(core_a_), static_cast<double>(core_b_)}}};
  }

 private:
  struct Times {
    double start_s = 0, end_s = 0;
    double send_sum_s = 0, reply_sum_s = 0;  // over the measured messages: when each send started, its reply arrived
  };

  std::pair<int, int> choose_pair(const Machine& m) const {
    const json& v = p_.raw()["placement"];
    if (v.is_array()) {
      if (v.size() != 2 || !v[0].is_number() || !v[1].is_number())
        p_.fail("placement", fmt::format("found {}, expected a pair of core ids [a, b]", v.dump()));
      return {checked_core(p_, m, "placement", v[0].get<double>()),
              checked_core(p_, m, "placement", v[1].get<double>())};
    }
    static const std::vector<std::string> kinds = {"same-core",   "same-die", "same-socket",
                                                   "same-thread", "one-hop",  "two-hops"};
    if (!v.is_string())
      p_.fail("placement",
              fmt::format("found {}, expected a pair of core ids [a, b] or {}", v.dump(), one_of("", kinds)));
    const std::string kind = v.get<std::string>();
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end())
      p_.fail("placement",
              fmt::format("unknown placement '{}', {}, or a pair of core ids [a, b]", kind, one_of(kind, kinds)));
    const int n = m.num_cores();
    auto first_pair = [&](auto accept) -> std::pair<int, int> {
      for (int a = 0; a < n; ++a)
        for (int b = a + 1; b < n; ++b)
          if (accept(a, b)) return {a, b};
      return {-1, -1};
    };
    std::pair<int, int> pair{-1, -1};
    if (kind == "same-core") return {0, 0};
    if (kind == "same-die") {
      pair = first_pair([&](int a, int b) { return m.shared_cache(a, b) != nullptr; });
      if (pair.first < 0) p_.fail("placement", "the machine has no two cores that share a cache (same-die)");
      return pair;
    }
    if (kind == "same-socket") {
      // Two cores of one socket that share no cache when the socket has several dies, so that it differs from
      // same-die; on a one-die socket, any two of its cores.
      pair = first_pair(
          [&](int a, int b) { return m.cores[a].package == m.cores[b].package && m.shared_cache(a, b) == nullptr; });
      if (pair.first < 0) pair = first_pair([&](int a, int b) { return m.cores[a].package == m.cores[b].package; });
      if (pair.first < 0) p_.fail("placement", "the machine has no socket with two cores (same-socket)");
      return pair;
    }
    const int hops = kind == "one-hop" ? 1 : 2;
    const auto& h = m.interconnect.hops;
    pair = first_pair([&](int a, int b) {
      int na = m.cores[a].node, nb = m.cores[b].node;
      return m.cores[a].package != m.cores[b].package && h[na][nb] == hops;
    });
    if (pair.first < 0) {
      std::set<int> seen;
      for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b)
          if (m.cores[a].package != m.cores[b].package) seen.insert(h[m.cores[a].node][m.cores[b].node]);
      std::string have;
      for (int x : seen) have += (have.empty() ? "" : ", ") + std::to_string(x);
      p_.fail("placement", fmt::format("the machine has no two cores on sockets {} interconnect hop{} apart ({})", hops,
                                       hops == 1 ? "" : "s",
                                       have.empty() ? "it has one socket" : "hops between its sockets: " + have));
    }
    return pair;
  }

  // The client: message i is sent once the reply to message i - W has arrived (so at most W are outstanding), the
  // first `warmup` replies are not measured. With W = 1: send, receive, send, receive...
  static Program ping(std::shared_ptr<Times> times, uint32_t out, uint32_t in, uint64_t bytes, int warmup, int rounds,
                      int window) {
    const int total = warmup + rounds;
    int sent = 0;
    // When each outstanding message's send started (message i in slot i mod W: at most W are outstanding).
    std::vector<double> send_start(static_cast<size_t>(window), 0.0);
    auto slot = [&](int i) -> double& { return send_start[static_cast<size_t>(i % window)]; };
    double now = 0;
    auto fill = [&](int received) { return sent < total && sent < received + window; };
    for (int i = 0; i < warmup; ++i) {
      while (fill(i)) {
        co_await Op::send(out, bytes);
        slot(sent) = 0;
        ++sent;
      }
      co_await Op::recv(in);
    }
    OpResult r = co_await Op::compute(0);  // a time stamp
    times->start_s = times->end_s = now = r.time_s;
    for (int i = warmup; i < total; ++i) {
      while (fill(i)) {
        slot(sent) = now;
        r = co_await Op::send(out, bytes);
        now = r.time_s;
        ++sent;
      }
      r = co_await Op::recv(in);
      now = r.time_s;
      // A message sent during the warm-up (W > 1) is measured from the start of the measurement.
      times->send_sum_s += std::max(slot(i), times->start_s);
      times->reply_sum_s += now;
    }
    times->end_s = r.time_s;
  }

  // Placement same-thread: each round trip writes the message and reads it back, then writes and reads the reply, on
  // the one thread (a process passing a token through its own pipes); timed as ping times its round trips.
  static Program solo_loop(std::shared_ptr<Times> times, uint32_t out, uint32_t in, uint64_t bytes, int warmup,
                           int rounds) {
    for (int i = 0; i < warmup; ++i) {
      co_await Op::send(out, bytes);
      co_await Op::recv(out);
      co_await Op::send(in, bytes);
      co_await Op::recv(in);
    }
    OpResult r = co_await Op::compute(0);  // a time stamp
    times->start_s = r.time_s;
    for (int i = 0; i < rounds; ++i) {
      const double start = r.time_s;
      co_await Op::send(out, bytes);
      co_await Op::recv(out);
      co_await Op::send(in, bytes);
      r = co_await Op::recv(in);
      times->send_sum_s += start;
      times->reply_sum_s += r.time_s;
    }
    times->end_s = r.time_s;
  }

  static Program pong(uint32_t in, uint32_t out, uint64_t bytes, int rounds) {
    for (int i = 0; i < rounds; ++i) {
      co_await Op::recv(in);
      co_await Op::send(out, bytes);
    }
  }

  Params p_;
  IpcPingpongParams v_;
  int core_a_ = 0, core_b_ = 0, rounds_ = 0, window_ = 1;
  double hz_a_ = 1e9;
  std::shared_ptr<Times> times_;
};

WorkloadRegistry::Add reg(
    "workload", "ipc-pingpong",
    "two threads bounce messages over channels: round-trip cost by core distance, message rate with several in flight",
    IpcPingpongParams::declare().schema(), [](const Params& p) { return std::make_unique<IpcPingPong>(p); });

}  // namespace
}  // namespace mksim
