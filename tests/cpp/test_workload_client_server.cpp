// client-server: response times explode as the load nears the servers' capacity; with the kernel's overheads set to
// zero a single server is an M/M/1 queue whose mean wait matches Lindley's recursion on the same random draws and the
// analytic rho S / (1 - rho); the memcached mix and bad parameters.
#include <cmath>

#include "sim/api/rng.hpp"
#include "test_workload_support.hpp"

using namespace mksim;
using namespace mksim::test;

namespace {

json zero_overhead_kernel() {
  return {{"monolithic",
           {{"trap_cycles", 0},
            {"context_switch_cycles", 0},
            {"ipi_send_cycles", 0},
            {"ipi_latency_ns", 0},
            {"ipi_handler_cycles", 0},
            {"copy_bytes_per_cycle", 1e9}}}};
}

json one_server(double rho, double service_s, int requests, int warmup) {
  return {{"machine", small_machine(1, 2)},
          {"workload",
           {{"kind", "client-server"},
            {"cores", 1},
            {"service_time_s", service_s},
            {"arrival_rate_per_s", rho / service_s},
            {"requests", requests},
            {"warmup_requests", warmup}}}};
}

// Mean wait of a FIFO single-server queue fed the draws the workload's generator makes (streams "workload:arrivals"
// and "workload:service", one gap and one service time per request, in order): Lindley's recursion
// W(k+1) = max(0, W(k) + S(k) - A(k+1)).
double lindley_mean_wait(uint64_t seed, double rate, double service_s, int requests, int warmup) {
  Rng arrivals(seed, "workload:arrivals"), service(seed, "workload:service");
  double w = 0, sum = 0, prev_service_s = 0;
  for (int k = 0; k < warmup + requests; ++k) {
    const double gap = arrivals.exponential(1.0 / rate);
    if (k > 0) w = std::max(0.0, w + prev_service_s - gap);
    prev_service_s = service.exponential(service_s);
    if (k >= warmup) sum += w;
  }
  return sum / requests;
}

}  // namespace

TEST_CASE("client-server: response time explodes as load nears capacity") {
  const double S = 1e-4;
  std::vector<json> runs;
  for (double rho : {0.3, 0.6, 0.9}) {
    json m = run_metrics(one_server(rho, S, 20000, 1000));
    INFO("rho " << rho << ": " << m.dump());
    CHECK(metric(m, "requests") == 20000);
    CHECK(metric(m, "throughput_per_s") == Approx(rho / S).epsilon(0.03));  // below capacity every request is served
    CHECK(metric(m, "mean_response_s") > S);
    runs.push_back(m);
  }
  auto resp = [&](int i) { return metric(runs[i], "mean_response_s"); };
  // M/M/1: S / (1 - rho) = 1.43 S, 2.5 S, 10 S.
  CHECK(resp(1) > 1.3 * resp(0));
  CHECK(resp(2) > 2.5 * resp(1));
  CHECK(metric(runs[2], "p99_response_s") > 2.5 * metric(runs[1], "p99_response_s"));
  CHECK(metric(runs[2], "mean_queue_length") > 5 * metric(runs[1], "mean_queue_length"));

  // Overload: the server delivers at most its capacity and the queue keeps growing.
  json overload = one_server(1.5, S, 5000, 0);
  overload["workload"]["service_distribution"] = "fixed";
  json over = run_metrics(overload);
  CHECK(metric(over, "throughput_per_s") < 1.0 / S);
  CHECK(metric(over, "throughput_per_s") > 0.8 / S);
  CHECK(metric(over, "mean_wait_s") > 100 * S);
}

TEST_CASE("client-server: M/M/1 with zero kernel overheads matches the analytic mean wait") {
  const double S = 1e-3;
  const int n = 100000, warmup = 2000;
  for (double rho : {0.5, 0.65, 0.8}) {
    json doc = one_server(rho, S, n, warmup);
    doc["kernel"] = zero_overhead_kernel();
    doc["machine"]["cpu"] = {{"kernel_entry_exit_cycles", 0}, {"address_space_switch_cycles", 0}};
    doc["workload"]["request_bytes"] = 0;
    const json m = run_metrics(doc);
    const double wait = metric(m, "mean_wait_s");
    const double analytic = rho * S / (1 - rho);
    // The same draws through Lindley's recursion: the simulated queue is exactly FIFO M/M/1 (what remains are
    // cache-line transfers of tens of ns against 1 ms services).
    const double lindley = lindley_mean_wait(1, rho / S, S, n, warmup);
    // Sampling error of a mean of n M/M/1 waits: asymptotic variance rho (2 + 5 rho - 4 rho^2 + rho^3) S^2 /
    // (1 - rho)^4 / n (Daley 1968); three standard errors, relative to the analytic mean.
    const double se = std::sqrt(rho * (2 + 5 * rho - 4 * rho * rho + rho * rho * rho) / std::pow(1 - rho, 4) / n) * S;
    INFO("rho " << rho << ": simulated " << wait << " s, Lindley " << lindley << " s, analytic " << analytic
                << " s, tolerance " << 3 * se / analytic);
    CHECK(wait == Approx(lindley).epsilon(0.005));
    CHECK(wait == Approx(analytic).epsilon(3 * se / analytic));
    CHECK(metric(m, "mean_response_s") == Approx(wait + S).epsilon(3 * se / (analytic + S) + 0.01));
    CHECK(metric(m, "utilisation") == Approx(rho).epsilon(0.02));
    CHECK(metric(m, "mean_queue_length") == Approx(rho / S * wait).epsilon(0.02));  // Little's law
  }
}

TEST_CASE("client-server: memcached GET/SET mix over several servers, and bad parameters") {
  auto run_mix = [](double get_fraction) {
    json doc = {{"machine", small_machine(1, 4)},
                {"workload",
                 {{"kind", "client-server"},
                  {"cores", 3},
                  {"service_time_s", 2e-6},
                  {"arrival_rate_per_s", 5e5},
                  {"requests", 5000},
                  {"get_fraction", get_fraction},
                  {"value_bytes_min", 4096},
                  {"value_bytes_max", 8192}}}};
    return run_metrics(doc);
  };
  json gets = run_mix(1.0), sets = run_mix(0.0);
  CHECK(metric(gets, "requests") == 5000);
  // A SET carries its value in the request and writes it under the item store's lock.
  CHECK(metric(sets, "mean_response_s") > metric(gets, "mean_response_s"));
  CHECK(metric(gets, "p99_response_s") >= metric(gets, "p50_response_s"));

  json doc = one_server(0.5, 1e-4, 100, 0);
  doc["machine"] = small_machine(1, 1);
  CHECK_THAT(setup_error(doc), Catch::Contains("workload.generator_core") && Catch::Contains("core of its own"));
  doc["workload"]["generator_core"] = 0;
  CHECK(setup_error(doc).empty());
  doc["workload"]["cores"] = 2;
  CHECK_THAT(setup_error(doc), Catch::Contains("workload.first_core") &&
                                   Catch::Contains("cores 0..1 are needed for the 2 server threads") &&
                                   Catch::Contains("machine has cores 0..0"));
  doc = one_server(0.5, 1e-4, 100, 0);
  doc["workload"]["get_fraction"] = 1.5;
  CHECK_THAT(setup_error(doc), Catch::Contains("workload.get_fraction"));
  doc["workload"]["get_fraction"] = 0.5;
  doc["workload"]["value_bytes_min"] = 2000;
  CHECK_THAT(setup_error(doc), Catch::Contains("more than value_bytes_max"));
}
