// Updating one shared data structure from k cores, by shared memory or by messages to a server (Baumann et al., "The
// Multikernel", SOSP 2009, Section 2.4 and Figure 3: SHMn, MSGn and Server). With shared memory every update does a
// little work and writes `lines` cache lines of the structure in place: in the paper's experiment without a lock
// (`sync: none`), the cache-coherence protocol moving the lines between the updating cores; or under one blocking
// lock (`sync: mutex`), so that each update also waits for the others' to finish. Either way the lines bounce between
// the cores (sim/engine.cpp's coherence path for small regions). With a server, clients send update requests to one
// thread on a core of its own that applies them in turn (the structure stays in that core's cache), and wait for each
// reply or not. Reports the cycles one update costs its client and the update rate.
#include <memory>

#include "sim/api/param_struct.hpp"
#include "workloads/synthetic.hpp"

namespace mksim {

namespace {

struct SharedUpdateParams {
  std::string mode, sync;
  int64_t cores = 0, first_core = 0, server_core = 0, updates_per_core = 0, lines = 0;
  double update_cycles = 0;
  bool wait_for_reply = false;

  static const ParamStruct<SharedUpdateParams>& declare() {
    using P = SharedUpdateParams;
    static const ParamStruct<P> d =
        ParamStruct<P>()
            .bind(&P::mode, Field::choice("mode", "shared-memory", {"shared-memory", "message-server"},
                                          "update the structure in place, or send each update to a server thread"))
            .bind(&P::sync,
                  Field::choice(
                      "sync", "mutex", {"mutex", "none"},
                      "shared-memory: each update under one blocking lock, or without a lock (the paper's SHMn: "
                      "only the cache-coherence protocol orders the writes)"))
            .bind(&P::cores, Field::integer("cores", 4, "", "number of updating cores (k), one client thread on each")
                                 .at_least(1)
                                 .at_most(65536))
            .bind(&P::first_core,
                  Field::integer("first_core", 0, "core id", "clients run on cores first_core .. first_core + k - 1")
                      .at_least(0)
                      .at_most(65535))
            .bind(&P::server_core, Field::integer("server_core", -1, "core id",
                                                  "message-server: the server's core (-1: the core after the clients)")
                                       .at_least(-1)
                                       .at_most(65535))
            .bind(&P::updates_per_core, Field::integer("updates_per_core", 1000, "", "updates each client makes")
                                            .at_least(1)
                                            .at_most(1000000000))
            .bind(&P::update_cycles,
                  Field::number("update_cycles", 20, "cycles", "work of one update besides writing the lines")
                      .at_least(0))
            .bind(&P::lines,
                  Field::integer(
                      "lines", 1, "cache lines",
                      "lines of the structure one update writes (SHM1..SHM8); a structure larger than "
                      "machine.memory.coherent_region_max_kib streams from memory instead of moving between caches")
                      .at_least(1)
                      .at_most(1024))
            .bind(&P::wait_for_reply,
                  Field::boolean("wait_for_reply", true, "message-server: clients wait for each update's reply"));
    return d;
  }
};

class SharedUpdate final : public Workload {
 public:
  explicit SharedUpdate(const Params& p) : p_(p), v_(SharedUpdateParams::declare().read(p)) {}

  void setup(WorkloadEnv& env) override {
    const Machine& m = env.machine();
    const int k = static_cast<int>(v_.cores);
    const int first = static_cast<int>(v_.first_core);
    auto cores =
        consecutive_cores(p_, m, "first_core", first, k, fmt::format("the {} updating client{}", k, k == 1 ? "" : "s"));
    const bool server_mode = v_.mode == "message-server";
    int server_core = static_cast<int>(v_.server_core);
    if (server_mode) {
      if (server_core < 0) {
        server_core = first + k;
        if (server_core >= m.num_cores())
          p_.fail("server_core", fmt::format("the server needs a core of its own after the clients (core {}), but the "
                                             "machine has cores 0..{}: use fewer client cores or set server_core",
                                             server_core, m.num_cores() - 1));
      } else {
        checked_core(p_, m, "server_core", server_core);
        if (std::find(cores.begin(), cores.end(), server_core) != cores.end())
          p_.fail("server_core",
                  fmt::format("core {} is one of the clients' cores ({}..{}): the server needs a core of "
                              "its own",
                              server_core, cores.front(), cores.back()));
      }
    }
    Update u{static_cast<uint64_t>(v_.updates_per_core), v_.update_cycles,
             static_cast<uint64_t>(v_.lines) * line_bytes(m, cores[0]), v_.wait_for_reply, v_.sync == "mutex"};
    st_ = std::make_shared<State>();
    st_->begin_s.assign(k, 0);
    st_->end_s.assign(k, 0);
    uint32_t proc = env.create_process("shared-update", {});
    const uint32_t data = env.create_region(proc, u.bytes);
    updates_ = u.count * k;
    for (int c : cores) hz_.push_back(m.cores[c].freq_ghz * 1e9);
    if (!server_mode) {
      const uint32_t lock = u.locked ? env.create_lock("shared-structure") : 0;
      for (int i = 0; i < k; ++i)
        env.create_thread(proc, {fmt::format("shared-update.client{}", i), {cores[i]}, m.cores[cores[i]].node},
                          boxed(shared_memory_client(st_, i, lock, data, u)));
      return;
    }
    const uint32_t requests = env.create_channel("updates");
    std::vector<uint32_t> replies;
    for (int i = 0; i < k; ++i) replies.push_back(env.create_channel(fmt::format("reply{}", i)));
    env.create_thread(proc, {"shared-update.server", {server_core}, m.cores[server_core].node},
                      boxed(server(st_, requests, replies, data, u)));
    for (int i = 0; i < k; ++i)
      env.create_thread(proc, {fmt::format("shared-update.client{}", i), {cores[i]}, m.cores[cores[i]].node},
                        boxed(messaging_client(st_, i, requests, replies[i], u)));
  }

  Metrics metrics(const RunView&) const override {
    const auto k = st_->begin_s.size();
    const double count = static_cast<double>(updates_) / static_cast<double>(k);
    double cycles = 0, first = 1e300, last = std::max(0.0, st_->server_end_s);
    for (size_t i = 0; i < k; ++i) {
      cycles += (st_->end_s[i] - st_->begin_s[i]) * hz_[i] / count;
      first = std::min(first, st_->begin_s[i]);
      last = std::max(last, st_->end_s[i]);
    }
    const double span = last - first;
    return {{"cycles_per_update", cycles / static_cast<double>(k)},
            {"updates_per_s", span > 0 ? static_cast<double>(updates_) / span : 0.0}};
  }

 private:
  struct Update {
    uint64_t count;  // per client
    double cycles;
    uint64_t bytes;  // of the structure written by one update
    bool wait_for_reply;
    bool locked;  // shared memory: under one lock, or in place without one
  };
  struct State {
    std::vector<double> begin_s, end_s;  // per client: its first and last update
    double server_end_s = -1;            // when the server applied the last update (message-server)
  };

  static uint64_t line_bytes(const Machine& m, int core) {
    const Cache* llc = m.last_level_cache(core);
    return llc ? llc->line_bytes : 64;
  }

  static Program shared_memory_client(std::shared_ptr<State> st, int me, uint32_t lock, uint32_t data, Update u) {
    OpResult r = co_await Op::compute(0);  // a time stamp
    st->begin_s[me] = r.time_s;
    for (uint64_t i = 0; i < u.count; ++i) {
      if (u.locked) co_await Op::lock(lock);
      co_await Op::compute(u.cycles);
      r = co_await Op::mem(data, u.bytes, AccessPattern::Random, AccessKind::Write);
      if (u.locked) r = co_await Op::unlock(lock);
    }
    st->end_s[me] = r.time_s;
  }

  static Program messaging_client(std::shared_ptr<State> st, int me, uint32_t requests, uint32_t reply, Update u) {
    OpResult r = co_await Op::compute(0);
    st->begin_s[me] = r.time_s;
    for (uint64_t i = 0; i < u.count; ++i) {
      r = co_await Op::send(requests, 64, static_cast<uint64_t>(me));
      if (u.wait_for_reply) r = co_await Op::recv(reply);
    }
    st->end_s[me] = r.time_s;
  }

  static Program server(std::shared_ptr<State> st, uint32_t requests, std::vector<uint32_t> replies, uint32_t data,
                        Update u) {
    const uint64_t total = u.count * replies.size();
    OpResult r;
    for (uint64_t i = 0; i < total; ++i) {
      OpResult req = co_await Op::recv(requests);
      co_await Op::compute(u.cycles);
      r = co_await Op::mem(data, u.bytes, AccessPattern::Random, AccessKind::Write);
      if (u.wait_for_reply) r = co_await Op::send(replies.at(req.value), 64);
    }
    st->server_end_s = r.time_s;
  }

  Params p_;
  SharedUpdateParams v_;
  uint64_t updates_ = 0;
  std::vector<double> hz_;
  std::shared_ptr<State> st_;
};

WorkloadRegistry::Add reg(
    "workload", "shared-update",
    "k cores update one shared structure: in shared memory (under a lock or without one), or by messages to a "
    "server core",
    SharedUpdateParams::declare().schema(), [](const Params& p) { return std::make_unique<SharedUpdate>(p); });

}  // namespace
}  // namespace mksim
