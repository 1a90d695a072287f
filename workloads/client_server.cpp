// An open-loop request server: requests arrive as a Poisson process (a generator thread sleeps exponential gaps and
// sends each request, stamped with its arrival time, on one channel), and `cores` server threads, one per core, take
// them off that single FIFO queue and serve them: an M/M/c queue (M/D/c with fixed service times) whose waits include
// everything the kernel architecture adds (message passing, wake-ups, context switches). Optionally the requests are
// memcached GETs and SETs (Atikoglu et al., SIGMETRICS 2012: GET-dominated mixes, small values): a GET reads its value
// from the item store, a SET writes it under the store's lock. Response-time percentiles follow the tail-latency
// methodology of open-loop load generators (Schroeder et al., NSDI 2006: closed loops hide queueing).
#include <memory>
#include <unordered_map>

#include "sim/api/param_struct.hpp"
#include "workloads/synthetic.hpp"

namespace mksim {

namespace {

Field fraction_field(std::string name, std::string doc) {
  Field f = Field::optional(std::move(name), FieldType::Number, "", std::move(doc));
  f.min = 0, f.max = 1;
  return f;
}

struct ClientServerParams {
  int64_t cores = 0, first_core = 0, generator_core = 0, requests = 0, warmup_requests = 0, request_bytes = 0,
          key_bytes = 0;
  double arrival_rate_per_s = 0, service_time_s = 0, value_bytes_min = 0, value_bytes_max = 0;
  std::string service_distribution;

  static const ParamStruct<ClientServerParams>& declare() {
    using P = ClientServerParams;
    static const ParamStruct<P> d =
        ParamStruct<P>()
            .bind(&P::cores, Field::integer("cores", 1, "", "number of server cores (one server thread pinned to each)")
                                 .at_least(1)
                                 .at_most(65536))
            .bind(&P::first_core, Field::integer("first_core", 0, "core id",
                                                 "servers run on cores first_core .. first_core + cores - 1")
                                      .at_least(0)
                                      .at_most(65535))
            .bind(&P::generator_core, Field::integer("generator_core", -1, "core id",
                                                     "core of the request generator (-1: the core after the servers)")
                                          .at_least(-1)
                                          .at_most(65535))
            .bind(&P::arrival_rate_per_s,
                  Field::number("arrival_rate_per_s", 5000, "1/s", "mean rate of the Poisson arrivals").above(0))
            .bind(
                &P::service_time_s,
                Field::number("service_time_s", 1e-4, "s", "mean CPU time a server spends on one request").at_least(0))
            .bind(&P::service_distribution,
                  Field::choice("service_distribution", "exponential", {"exponential", "fixed"},
                                "service times: exponential (M/M/c) or all equal (M/D/c)"))
            .bind(&P::requests,
                  Field::integer("requests", 10000, "", "measured requests").at_least(1).at_most(1000000000))
            .bind(&P::warmup_requests,
                  Field::integer("warmup_requests", 0, "", "requests served before measuring (not counted)")
                      .at_least(0)
                      .at_most(1000000000))
            .bind(&P::request_bytes,
                  Field::integer("request_bytes", 64, "bytes", "size of a request message (without get_fraction)")
                      .at_least(0)
                      .at_most(1099511627776))
            .unbound(fraction_field("get_fraction",
                                    "memcached mix: fraction of GETs (the rest are SETs); absent: plain requests"))
            .bind(&P::key_bytes,
                  Field::integer("key_bytes", 32, "bytes", "memcached mix: key size carried by every request")
                      .at_least(0)
                      .at_most(1099511627776))
            .bind(&P::value_bytes_min,
                  Field::number("value_bytes_min", 64, "bytes", "memcached mix: smallest value (sizes are uniform)")
                      .at_least(1)
                      .at_most(1099511627776.0))
            .bind(&P::value_bytes_max, Field::number("value_bytes_max", 1024, "bytes", "memcached mix: largest value")
                                           .at_least(1)
                                           .at_most(1099511627776.0));
    return d;
  }
};

constexpr uint64_t kStop = UINT64_MAX;        // message value that tells a server to exit
constexpr uint64_t kStoreBytes = 1ull << 30;  // the item store (its size does not change access costs)

class ClientServer final : public Workload {
 public:
  explicit ClientServer(const Params& p) : p_(p), v_(ClientServerParams::declare().read(p)) {}

  void setup(WorkloadEnv& env) override {
    const Machine& m = env.machine();
    const int servers = static_cast<int>(v_.cores);
    const int first = static_cast<int>(v_.first_core);
    auto server_cores = consecutive_cores(p_, m, "first_core", first, servers,
                                          fmt::format("the {} server thread{}", servers, servers == 1 ? "" : "s"));
    int gen_core = static_cast<int>(v_.generator_core);
    if (gen_core < 0) {
      gen_core = first + servers;
      if (gen_core >= m.num_cores())
        p_.fail("generator_core", fmt::format("the generator needs a core of its own after the servers (core {}), but "
                                              "the machine has cores 0..{}: use fewer server cores or set "
                                              "generator_core to share one",
                                              gen_core, m.num_cores() - 1));
    } else {
      checked_core(p_, m, "generator_core", gen_core);
    }
    if (v_.value_bytes_min > v_.value_bytes_max)
      p_.fail("value_bytes_min",
              fmt::format("{} is more than value_bytes_max ({})", v_.value_bytes_min, v_.value_bytes_max));

    st_ = std::make_shared<State>();
    st_->warmup = static_cast<uint64_t>(v_.warmup_requests);
    const uint64_t total = st_->warmup + static_cast<uint64_t>(v_.requests);
    st_->results.reserve(static_cast<size_t>(total - st_->warmup));
    st_->server_hz.resize(servers);

    Generator g;
    g.total = total;
    g.rate_per_s = v_.arrival_rate_per_s;
    g.service_s = v_.service_time_s;
    g.exponential = v_.service_distribution == "exponential";
    g.memcached = p_.has("get_fraction");
    g.get_fraction = g.memcached ? p_.number("get_fraction") : 1.0;
    g.request_bytes = static_cast<uint64_t>(v_.request_bytes);
    g.key_bytes = static_cast<uint64_t>(v_.key_bytes);
    g.value_min = static_cast<uint64_t>(v_.value_bytes_min);
    g.value_max = static_cast<uint64_t>(v_.value_bytes_max);
    g.servers = servers;
    g.seed = env.seed();
    g.arrival_stream = stream_name(p_, "arrivals");
    g.service_stream = stream_name(p_, "service");
    g.mix_stream = stream_name(p_, "mix");

    uint32_t proc = env.create_process("client-server", {});
    st_->queue = env.create_channel("requests");
    st_->store = env.create_region(proc, kStoreBytes);
    st_->store_lock = env.create_lock("item-store");
    env.create_thread(proc, {"client-server.generator", {gen_core}, m.cores[gen_core].node}, boxed(generator(st_, g)));
    for (int i = 0; i < servers; ++i) {
      int core = server_cores[i];
      st_->server_hz[i] = m.cores[core].freq_ghz * 1e9;
      env.create_thread(proc, {fmt::format("client-server.server{}", i), {core}, m.cores[core].node},
                        boxed(server(st_, i)));
    }
    servers_ = servers;
  }

  Metrics metrics(const RunView&) const override {
    const auto& res = st_->results;
    std::vector<double> response;
    double wait_sum = 0, response_sum = 0, service_sum = 0, first_arrival = 1e300, last_done = 0;
    for (const auto& r : res) {
      response.push_back(r.done_s - r.arrival_s);
      wait_sum += r.start_s - r.arrival_s;
      response_sum += r.done_s - r.arrival_s;
      service_sum += r.done_s - r.start_s;
      first_arrival = std::min(first_arrival, r.arrival_s);
      last_done = std::max(last_done, r.done_s);
    }
    std::sort(response.begin(), response.end());
    const double n = static_cast<double>(res.size());
    const double span = res.empty() ? 0 : last_done - first_arrival;
    return {{"requests", n},
            {"throughput_per_s", span > 0 ? n / span : 0.0},
            {"mean_wait_s", n > 0 ? wait_sum / n : 0.0},
            {"mean_response_s", n > 0 ? response_sum / n : 0.0},
            {"p50_response_s", percentile(response, 0.50)},
            {"p99_response_s", percentile(response, 0.99)},
            {"mean_queue_length", span > 0 ? wait_sum / span : 0.0},
            {"utilisation", span > 0 ? service_sum / (span * servers_) : 0.0},
            {"offered_load", v_.arrival_rate_per_s * v_.service_time_s / servers_}};
  }

 private:
  enum class Kind : uint8_t { Plain, Get, Set };
  struct Request {
    uint64_t seq;
    double service_s;
    Kind kind;
    uint64_t value_bytes;
  };
  struct Result {
    double arrival_s, start_s, done_s;
  };
  struct State {
    uint32_t queue = 0, store = 0, store_lock = 0;
    uint64_t warmup = 0;
    std::unordered_map<uint64_t, Request> in_flight;  // by arrival time stamp (ns), unique per request
    std::vector<Result> results;                      // measured requests, in completion order
    std::vector<double> server_hz;
  };
  struct Generator {
    uint64_t total = 0, request_bytes = 0, key_bytes = 0, value_min = 0, value_max = 0, seed = 0;
    double rate_per_s = 1, service_s = 0, get_fraction = 1;
    bool exponential = true, memcached = false;
    int servers = 1;
    std::string arrival_stream, service_stream, mix_stream;
  };

  // Arrival instants are drawn ahead (t_k = t_{k-1} + Exp(1/rate)) and slept to, so the generator's own costs never
  // thin the Poisson process; each request is stamped with its arrival instant in ns.
  static Program generator(std::shared_ptr<State> st, Generator g) {
    Rng arrivals(g.seed, g.arrival_stream), service(g.seed, g.service_stream), mix(g.seed, g.mix_stream);
    OpResult r = co_await Op::compute(0);  // a time stamp: the first arrival is one gap after the start
    double next_s = r.time_s;
    uint64_t last_ns = 0;
    for (uint64_t k = 0; k < g.total; ++k) {
      next_s += arrivals.exponential(1.0 / g.rate_per_s);
      if (next_s > r.time_s) r = co_await Op::sleep(next_s - r.time_s);
      Request req{k, g.exponential ? service.exponential(g.service_s) : g.service_s, Kind::Plain, 0};
      uint64_t bytes = g.request_bytes;
      if (g.memcached) {
        req.kind = mix.uniform() < g.get_fraction ? Kind::Get : Kind::Set;
        req.value_bytes = g.value_min + mix.below(g.value_max - g.value_min + 1);
        bytes = g.key_bytes + (req.kind == Kind::Set ? req.value_bytes : 0);
      }
      uint64_t stamp_ns = std::max(last_ns + 1, static_cast<uint64_t>(std::llround(next_s * 1e9)));
      last_ns = stamp_ns;
      st->in_flight.emplace(stamp_ns, req);
      r = co_await Op::send(st->queue, bytes, stamp_ns);
    }
    for (int i = 0; i < g.servers; ++i) r = co_await Op::send(st->queue, 0, kStop);
  }

  static Program server(std::shared_ptr<State> st, int index) {
    const double hz = st->server_hz[index];
    for (;;) {
      OpResult r = co_await Op::recv(st->queue);
      if (r.value == kStop) break;
      auto it = st->in_flight.find(r.value);
      if (it == st->in_flight.end()) throw std::logic_error("client-server: a request without its descriptor");
      const Request req = it->second;
      st->in_flight.erase(it);
      const double start_s = r.time_s;
      OpResult done = co_await Op::compute(req.service_s * hz);
      if (req.kind == Kind::Get) {
        done = co_await Op::mem(st->store, req.value_bytes, AccessPattern::Random, AccessKind::Read);
      } else if (req.kind == Kind::Set) {
        co_await Op::lock(st->store_lock);
        co_await Op::mem(st->store, req.value_bytes, AccessPattern::Random, AccessKind::Write);
        done = co_await Op::unlock(st->store_lock);
      }
      if (req.seq >= st->warmup) st->results.push_back({static_cast<double>(r.value) * 1e-9, start_s, done.time_s});
    }
  }

  Params p_;
  ClientServerParams v_;
  int servers_ = 1;
  std::shared_ptr<State> st_;
};

WorkloadRegistry::Add reg(
    "workload", "client-server",
    "open-loop Poisson arrivals served by one FIFO queue and `cores` server threads (M/M/c), optional memcached mix",
    ClientServerParams::declare().schema(), [](const Params& p) { return std::make_unique<ClientServer>(p); });

}  // namespace
}  // namespace mksim
