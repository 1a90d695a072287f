// Tests of mksim's own operation trace: the format reads back what was written, bad files are InputErrors with file
// and line, and a recorded run (compute, stream, ping-pong over channels, a lock, alloc/free, spawn/join, sleep,
// wait/wake, system calls, map/unmap) replays into the same run: same threads, same operation counts, same run
// times and the same simulated time.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/api/workload.hpp"
#include "sim/config.hpp"
#include "sim/engine.hpp"
#include "sim/ops_format.hpp"
#include "sim/outputs.hpp"

using namespace mksim;
namespace fs = std::filesystem;

namespace {

// A test-only workload that uses every kind of operation: a ping-pong pair over two channels taking a lock between
// rounds, and a worker that allocates, touches and frees memory, spawns and joins a helper, sleeps, makes system
// calls, maps and unmaps, yields, and wakes a waiter.
class RecordMix final : public Workload {
 public:
  explicit RecordMix(const Params& p) : rounds_(static_cast<int>(p.integer("rounds"))) {}

  void setup(WorkloadEnv& env) override {
    uint32_t proc = env.create_process("mix", {0, 1, 2, 3});
    uint32_t shared = env.create_region(proc, 1 << 20, 1);  // bound to node 1
    uint32_t ping = env.create_channel("ping"), pong = env.create_channel("pong");
    uint32_t lock = env.create_lock("round");
    uint32_t helper =
        env.create_template(proc, {"mix.helper", {2}, -1}, [shared] { return boxed(helper_body(shared)); });
    env.create_thread(proc, {"mix.ping", {0}, -1}, boxed(pinger(ping, pong, lock, rounds_)));
    env.create_thread(proc, {"mix.pong", {1}, -1}, boxed(ponger(ping, pong, lock, rounds_)));
    auto waiter_id = std::make_shared<uint32_t>(0);
    *waiter_id = env.create_thread(proc, {"", {3}, -1}, boxed(waiter()));  // unnamed: the engine names it
    env.create_thread(proc, {"mix.worker", {}, 0}, boxed(worker(shared, helper, waiter_id)));
  }
  Metrics metrics(const RunView&) const override { return {}; }

 private:
  static Program pinger(uint32_t ping, uint32_t pong, uint32_t lock, int rounds) {
    for (int i = 0; i < rounds; ++i) {
      co_await Op::send(ping, 64, static_cast<uint64_t>(i));
      co_await Op::recv(pong);
      co_await Op::lock(lock);
      co_await Op::compute(2000);
      co_await Op::unlock(lock);
    }
  }
  static Program ponger(uint32_t ping, uint32_t pong, uint32_t lock, int rounds) {
    for (int i = 0; i < rounds; ++i) {
      OpResult r = co_await Op::recv(ping);
      co_await Op::compute(1000 + 10.0 * static_cast<double>(r.value));
      co_await Op::send(pong, 128);
      co_await Op::lock(lock);
      co_await Op::compute(500);
      co_await Op::unlock(lock);
    }
  }
  static Program waiter() {
    co_await Op::wait();
    co_await Op::compute(3000);
  }
  static Program helper_body(uint32_t region) {
    co_await Op::mem(region, 65536, AccessPattern::Random);
    co_await Op::compute(5000);
  }
  static Program worker(uint32_t shared, uint32_t helper, std::shared_ptr<uint32_t> waiter) {
    // Allocate only once the stream workload's thread is done: an Alloc while another core is inside a memory
    // access grows the engine's region table under that access's reference to its region (sim/engine.cpp,
    // memory_access keeps `Region& r` across c.flush()), which crashes the engine.
    co_await Op::sleep(2e-3);
    OpResult a = co_await Op::alloc(1 << 16);
    co_await Op::mem(static_cast<uint32_t>(a.value), 1 << 16, AccessPattern::Sequential, AccessKind::Write);
    co_await Op::mem(shared, 4096, AccessPattern::Chase);
    OpResult s = co_await Op::spawn(helper);
    co_await Op::syscall(SyscallClass::File, 700);
    co_await Op::map(1 << 20);
    co_await Op::unmap(1 << 20);
    co_await Op::sleep(2e-6);
    co_await Op::yield();
    co_await Op::wake(*waiter);
    co_await Op::join(static_cast<uint32_t>(s.value));
    co_await Op::free(static_cast<uint32_t>(a.value));
  }
  int rounds_;
};

WorkloadRegistry::Add reg_mix("workload", "test-record-mix", "test: every kind of operation",
                              Schema{Field::integer("rounds", 20, "", "ping-pong rounds")},
                              [](const Params& p) { return std::make_unique<RecordMix>(p); });

json two_socket_machine() {
  return json::parse(R"({"sockets": 2, "cores_per_socket": 4, "freq_ghz": 2.0,
      "memory": {"local_latency_ns": 80, "controller_bandwidth_gb_s": 10, "core_bandwidth_gb_s": 8, "core_mlp": 10},
      "interconnect": {"latency_ns": [[80, 130], [130, 80]], "link_bandwidth_gb_s": 20}})");
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `sc` with its optional outputs (the recorder) in a forked child, as `mksim run` does; returns results.json.
json run_with_outputs(const Scenario& sc, const std::string& outdir) {
  fs::create_directories(outdir);
  fflush(nullptr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 0;
    try {
      auto outputs = make_outputs(sc, outdir);
      std::vector<Observer*> observers;
      for (auto& o : outputs) observers.push_back(o.get());
      simulate(sc, observers).write(outdir, false);
    } catch (...) {
      code = 1;
    }
    _exit(code);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return json::parse(slurp(outdir + "/results.json"));
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("mksim-ops-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

std::string error_where(const std::string& text) {
  try {
    parse_ops_trace(text, "ops.jsonl");
  } catch (const InputError& e) {
    CHECK(e.file() == "ops.jsonl");
    return e.where().empty() ? "(file)" : e.where();
  }
  return "";
}

const char* kHeader =
    R"({"mksim_ops": 1, "processes": [{"name": "p", "cores": []}], "threads": [{"name": "a", "process": 0}],)"
    R"( "regions": [{"process": 0, "bytes": 4096}], "channels": ["c"], "locks": []})";

}  // namespace

TEST_CASE("ops: a written trace reads back the same") {
  OpsTrace t;
  t.processes = {{"app", {0, 1}}, {"other", {}}};
  t.threads = {{"app.main", 0, {0}, 0, false}, {"app.child", 0, {1}, -1, true}, {"other.0", 1, {}, -1, false}};
  t.regions = {{0, 1 << 20, 1, false}, {0, 4096, -1, true}};
  t.channels = {"requests \"quoted\""};
  t.locks = {"big"};
  t.sim_time_s = 0.25;
  auto add = [&](uint32_t thread, Op op, uint32_t region = 0) { t.ops.push_back({thread, op, region}); };
  add(0, Op::compute(1234.5678901234567));
  add(0, Op::mem(0, 8192, AccessPattern::Chase, AccessKind::Write));
  add(0, Op::syscall(SyscallClass::Net, 77));
  add(0, Op::send(0, 64, 42));
  add(2, Op::recv(0));
  add(2, Op::lock(0));
  add(2, Op::unlock(0));
  add(0, Op::alloc(4096), 1);
  add(0, Op::free(1));
  add(0, Op::map(1 << 21));
  add(0, Op::unmap(1 << 21));
  add(0, Op::spawn(1));
  add(1, Op::compute(10));
  add(0, Op::join(1));
  add(0, Op::sleep(1.5e-6));
  add(2, Op::wait());
  add(0, Op::wake(2));
  add(0, Op::yield());
  std::ostringstream s;
  write_ops_trace(s, t);
  OpsTrace r = parse_ops_trace(s.str(), "x.jsonl");
  CHECK(r.sim_time_s == 0.25);
  REQUIRE(r.processes.size() == 2);
  CHECK(r.processes[0].name == "app");
  CHECK(r.processes[0].cores == std::vector<int>{0, 1});
  REQUIRE(r.threads.size() == 3);
  CHECK(r.threads[1].spawned);
  CHECK(r.threads[0].home_node == 0);
  CHECK(r.threads[1].affinity == std::vector<int>{1});
  CHECK(r.regions[0].node == 1);
  CHECK(r.regions[1].allocated);
  CHECK(r.channels[0] == "requests \"quoted\"");
  REQUIRE(r.ops.size() == t.ops.size());
  for (size_t i = 0; i < t.ops.size(); ++i) {
    INFO(i);
    const Op &a = t.ops[i].op, &b = r.ops[i].op;
    CHECK(r.ops[i].thread == t.ops[i].thread);
    CHECK(a.kind == b.kind);
    CHECK(a.target == b.target);
    CHECK(a.cycles == b.cycles);  // exactly: doubles are written to round-trip
    CHECK(a.bytes == b.bytes);
    CHECK(a.seconds == b.seconds);
    CHECK(a.value == b.value);
    CHECK(a.pattern == b.pattern);
    CHECK(a.access == b.access);
  }
  CHECK(r.ops[7].region == 1);
  // The documented line form.
  CHECK(ops_op_line({0, Op::compute(1000), 0}) == R"({"t":0,"op":"compute","cycles":1000})");
}

TEST_CASE("ops: bad ops traces are InputErrors with file and line") {
  const std::string h = std::string(kHeader) + "\n";
  CHECK(error_where(h + R"({"t": 0, "op": "compute", "cycles": 10})"
                        "\n") == "");
  CHECK(error_where("") == "(file)");
  CHECK(error_where("\n  \n") == "(file)");
  CHECK(error_where(R"({"t": 0, "op": "compute", "cycles": 10})"
                    "\n") == "line 1");  // no header
  CHECK(error_where(R"({"mksim_ops": 2, "threads": []})"
                    "\n") == "line 1");  // version
  CHECK(error_where(R"({"mksim_ops": 1, "threads": [{"process": 3}]})"
                    "\n") == "line 1");
  CHECK(error_where(h + R"({"t": 0, "op": "compute", "cyc)") == "line 2, column 31");            // truncated
  CHECK(error_where(h + "\n" + R"({"t": 0, "op": "teleport"})") == "line 3");                    // unknown operation
  CHECK(error_where(h + R"({"t": 1, "op": "yield"})") == "line 2");                              // undeclared thread
  CHECK(error_where(h + R"({"t": 0, "op": "recv", "channel": 1})") == "line 2");                 // undeclared channel
  CHECK(error_where(h + R"({"t": 0, "op": "lock", "lock": 0})") == "line 2");                    // no locks declared
  CHECK(error_where(h + R"({"t": 0, "op": "compute", "cycles": 1, "colour": 3})") == "line 2");  // unknown key
  CHECK(error_where(h + R"({"t": 0, "op": "compute", "cycles": -5})") == "line 2");
  CHECK(error_where(h + R"({"t": 0, "op": "sleep"})") == "line 2");
  CHECK(error_where(h + R"({"t": 0, "op": "spawn", "thread": 0})") == "line 2");              // not a spawned thread
  CHECK(error_where(h + R"({"t": 0, "op": "alloc", "bytes": 8, "region": 0})") == "line 2");  // not an allocated one
  CHECK(error_where(h + std::string("\x89PNG\r\n\x1a\n\0\0", 10)) == "line 2, column 1");
  CHECK(
      error_where(R"({"mksim_ops": 1, "processes": [{"name": "p"}], "threads": [{"process": 0, "spawned": true}]})") ==
      "line 1");  // spawned by nobody
  const std::string spawning =
      R"({"mksim_ops": 1, "processes": [{"name": "p"}], "threads": [{"process": 0}, {"process": 0, "spawned": true}],)"
      R"( "regions": [{"process": 0, "bytes": 64, "allocated": true}]})"
      "\n";
  CHECK(error_where(spawning + R"({"t": 0, "op": "join", "thread": 1})"
                               "\n"
                               R"({"t": 0, "op": "spawn", "thread": 1})"
                               "\n"
                               R"({"t": 0, "op": "alloc", "bytes": 64, "region": 0})") == "line 2");
  CHECK(error_where(spawning + R"({"t": 0, "op": "spawn", "thread": 1})"
                               "\n"
                               R"({"t": 0, "op": "free", "region": 0})"
                               "\n"
                               R"({"t": 0, "op": "alloc", "bytes": 64, "region": 0})") == "line 3");
  CHECK_THROWS_AS(read_ops_trace_file("/nonexistent/ops.jsonl"), InputError);
}

TEST_CASE("ops: a join that the replay reaches before the spawn waits for it") {
  // Recorded order: c sleeps, spawns b; a joins b. In the replay a gets to its join first and must wait for c.
  TempDir dir;
  const std::string path = dir / "order.jsonl";
  std::ofstream(path) << R"({"mksim_ops": 1, "processes": [{"name": "p", "cores": []}], "threads": [)"
                      << R"({"name": "a", "process": 0}, {"name": "b", "process": 0, "spawned": true},)"
                      << R"( {"name": "c", "process": 0}]})"
                      << "\n"
                      << R"({"t": 2, "op": "sleep", "seconds": 0.0001})"
                      << "\n"
                      << R"({"t": 2, "op": "spawn", "thread": 1})"
                      << "\n"
                      << R"({"t": 1, "op": "compute", "cycles": 1000})"
                      << "\n"
                      << R"({"t": 0, "op": "join", "thread": 1})"
                      << "\n";
  json doc = {{"machine", two_socket_machine()}, {"workload", {{"kind", "ops"}, {"file", path}}}};
  json r = run_isolated(resolve_scenario(doc, "test", ".")).doc;
  CHECK(r["summary"]["status"] == "completed");
  CHECK(r["workload"]["metrics"]["dropped_ops"] == 0);
  CHECK(r["workload"]["metrics"]["polls_for_spawn_or_alloc"].get<double>() > 50);  // 0.1 ms in 1 us steps
  CHECK(r["threads"][0]["end_s"].get<double>() >= 1e-4);  // a ended after b, which started after c's sleep
}

TEST_CASE("ops: replaying a recorded run reproduces it") {
  TempDir dir;
  json doc = {{"machine", two_socket_machine()},
              {"kernel", {{"architecture", "monolithic"}, {"scheduler", "round-robin"}}},
              {"workload",
               {{{"kind", "compute"},
                 {"threads", 2},
                 {"cycles_per_thread", 2e6},
                 {"syscalls_per_chunk", 1},
                 {"syscall_class", "file"},
                 {"cores", {4, 5}}},
                {{"kind", "stream"}, {"threads", 1}, {"bytes_per_thread", 4 << 20}, {"cores", {6}}, {"node", {0}}},
                {{"kind", "test-record-mix"}, {"rounds", 20}}}},
              {"run", {{"outputs", {{"record", true}, {"csv", false}}}}}};
  json original = run_with_outputs(resolve_scenario(doc, "test", "."), dir / "rec");
  REQUIRE(original["summary"]["status"] == "completed");
  const std::string recording = dir / "rec/ops.jsonl";
  REQUIRE(fs::exists(recording));
  OpsTrace t = read_ops_trace_file(recording);
  CHECK(t.threads.size() == original["threads"].size());
  CHECK(t.sim_time_s == original["summary"]["sim_time_s"].get<double>());
  CHECK(t.regions.size() == 3);  // the stream buffer, the mix's shared region, the worker's allocation
  CHECK(t.regions[1].node == 1);
  CHECK(t.regions[2].allocated);
  CHECK(t.channels == std::vector<std::string>{"ping", "pong"});
  CHECK(t.locks == std::vector<std::string>{"round"});

  json replay_doc = {{"machine", two_socket_machine()},
                     {"kernel", {{"architecture", "monolithic"}, {"scheduler", "round-robin"}}},
                     {"workload", {{"kind", "ops"}, {"file", recording}}}};
  json replay = run_isolated(resolve_scenario(replay_doc, "test", ".")).doc;
  REQUIRE(replay["summary"]["status"] == "completed");
  CHECK(replay["workload"]["metrics"]["spawned_threads"] == 1);
  // Identical, not merely close: the same operations in the same order on the same engine.
  CHECK(replay["summary"]["sim_time_s"].get<double>() == original["summary"]["sim_time_s"].get<double>());
  REQUIRE(replay["threads"].size() == original["threads"].size());
  for (size_t i = 0; i < original["threads"].size(); ++i) {
    const json &a = original["threads"][i], &b = replay["threads"][i];
    INFO(a["name"]);
    CHECK(a["name"] == b["name"]);
    CHECK(a["process"] == b["process"]);
    CHECK(a["ops"] == b["ops"]);
    CHECK(a["bytes_accessed"] == b["bytes_accessed"]);
    CHECK(a["last_core"] == b["last_core"]);
    CHECK(b["run_s"].get<double>() == a["run_s"].get<double>());
    CHECK(b["end_s"].get<double>() == a["end_s"].get<double>());
  }
  for (size_t n = 0; n < original["memory"].size(); ++n) {
    CHECK(original["memory"][n]["local_bytes"] == replay["memory"][n]["local_bytes"]);
    CHECK(original["memory"][n]["remote_bytes"] == replay["memory"][n]["remote_bytes"]);
  }
  CHECK(original["summary"]["events_by_kind"] == replay["summary"]["events_by_kind"]);

  // Recording the replay gives the same operations again.
  doc = replay_doc;
  doc["run"] = {{"outputs", {{"record", true}, {"csv", false}}}};
  run_with_outputs(resolve_scenario(doc, "test", "."), dir / "rec2");
  OpsTrace again = read_ops_trace_file(dir / "rec2/ops.jsonl");
  REQUIRE(again.ops.size() == t.ops.size());
  for (size_t i = 0; i < t.ops.size(); ++i) CHECK(ops_op_line(again.ops[i]) == ops_op_line(t.ops[i]));
}

TEST_CASE("ops: a recording on a bigger machine replays on a smaller one with affinity wrap") {
  TempDir dir;
  const std::string path = dir / "big.jsonl";
  std::ofstream(path) << R"({"mksim_ops": 1, "processes": [{"name": "p", "cores": [6, 7]}],)"
                      << R"( "threads": [{"name": "a", "process": 0, "affinity": [7]}],)"
                      << R"( "regions": [{"process": 0, "bytes": 4096, "node": 3}], "channels": [], "locks": []})"
                      << "\n"
                      << R"({"t": 0, "op": "mem_access", "region": 0, "bytes": 4096, "pattern": "chase"})"
                      << "\n"
                      << R"({"t": 0, "op": "compute", "cycles": 1000})"
                      << "\n";
  json doc = {{"machine", two_socket_machine()}, {"workload", {{"kind", "ops"}, {"file", path}}}};
  try {
    run_isolated(resolve_scenario(doc, "test", "."));
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(e.where() == "workload.affinity");
  }
  doc["workload"]["affinity"] = "wrap";
  json r = run_isolated(resolve_scenario(doc, "test", ".")).doc;
  CHECK(r["summary"]["status"] == "completed");
  CHECK(r["threads"][0]["last_core"] == 7);
  CHECK(r["memory"][1]["local_bytes"] == 4096);  // node 3 -> node 1, local to core 7
  doc["workload"]["affinity"] = "free";
  CHECK(run_isolated(resolve_scenario(doc, "test", ".")).doc["summary"]["status"] == "completed");
}
