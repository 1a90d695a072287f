// Tests of the `trace` workload on the real traces in data/realdata/traces (see SOURCES.md there): every trace
// is read and its counts add up; the reconstructed runs never overlap on a CPU; a replay on a machine like the traced
// one (same CPU count and clock, round-robin, kernel costs at zero) gives every thread the run time the trace gives
// it; clock scaling, CPU mapping, path resolution and errors through a config.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "sim/config.hpp"
#include "sim/engine.hpp"
#include "workloads/trace_model.hpp"

using namespace mksim;
namespace fs = std::filesystem;

namespace {

std::string traces_dir() {
  fs::path dir = fs::path(MKSIM_SOURCE_DIR "/data/realdata/traces");
  REQUIRE(fs::is_directory(dir));
  return fs::canonical(dir).string();
}

std::string trace_path(const std::string& name) {
  return traces_dir() + "/" + name;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A machine like the traced one: `cpus` cores at 1 GHz, one NUMA node; its CPU's own kernel entry and address-space
// switch cost nothing, so that with free_kernel() the replay measures the trace itself.
json traced_like_machine(int cpus) {
  return {{"sockets", 1},
          {"cores_per_socket", cpus},
          {"freq_ghz", 1.0},
          {"cpu", {{"kernel_entry_exit_cycles", 0}, {"address_space_switch_cycles", 0}}}};
}

// The Linux-like kernel with every cost at zero, round-robin: the replay then measures the trace itself.
json free_kernel() {
  return {{"architecture", "monolithic"},
          {"scheduler", "round-robin"},
          {"monolithic",
           {{"trap_cycles", 0},
            {"shared_state_cycles", 0},
            {"context_switch_cycles", 0},
            {"ipi_send_cycles", 0},
            {"ipi_latency_ns", 0},
            {"ipi_handler_cycles", 0},
            {"page_table_cycles_per_page", 0}}}};
}

json replay_doc(const std::string& trace, int cpus, json extra = json::object()) {
  json w = {{"kind", "trace"}, {"file", trace_path(trace)}, {"source_freq_ghz", 1.0}};
  w.update(extra);
  return {{"machine", traced_like_machine(cpus)}, {"kernel", free_kernel()}, {"workload", w}};
}

json run_doc(const json& doc) {
  return run_isolated(resolve_scenario(doc, "test", ".")).doc;
}

double metric(const json& r, const char* name) {
  return r["workload"]["metrics"][name].get<double>();
}

}  // namespace

TEST_CASE("trace: every real trace is read, and what it kept and skipped adds up") {
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(traces_dir())) {
    const auto ext = entry.path().extension();
    if (ext != ".txt" && ext != ".html") continue;
    ++files;
    const std::string path = entry.path().string();
    INFO(path);
    ParsedTrace t = parse_sched_trace_file(path);
    CHECK(t.events_total > 0);
    CHECK(t.events_used + t.events_skipped() == t.events_total);
    CHECK(t.events.size() == t.events_total);
    CHECK(t.last_s >= t.first_s);
    CHECK(t.cpus > 0);
    // Every sched_switch line of the file, counted independently of the reader, was used.
    size_t switches = 0;
    for (const auto& e : t.events) switches += e.kind == SchedEventKind::Switch;
    CHECK(switches == occurrences(slurp(path), "sched_switch: "));
    CHECK(t.skipped.count("sched_switch") == 0);
    if (ext == ".html") CHECK(t.format == TraceFormat::Systrace);

    // Runs on one CPU never overlap, and each lies within the trace.
    TraceModel m = build_trace_model(t);
    std::map<int, std::vector<std::pair<double, double>>> by_cpu;
    for (const auto& th : m.threads) {
      CHECK(th.tid != 0);
      for (const auto& r : th.runs) {
        CHECK(r.start_s >= t.first_s);
        CHECK(r.end_s <= t.last_s);
        CHECK(r.end_s >= r.start_s);
        by_cpu[r.cpu].emplace_back(r.start_s, r.end_s);
      }
    }
    for (auto& [cpu, runs] : by_cpu) {
      std::sort(runs.begin(), runs.end());
      for (size_t i = 1; i < runs.size(); ++i) CHECK(runs[i].first >= runs[i - 1].second - 1e-12);
    }
    CHECK(m.run_s() <= t.cpus * (t.last_s - t.first_s) + 1e-9);
  }
  CHECK(files == 6);
}

TEST_CASE("trace: the real traces' formats and the quirks they carry") {
  ParsedTrace juno = parse_sched_trace_file(trace_path("lisa-juno-trace.txt"));
  CHECK(juno.format == TraceFormat::TraceCmd);
  CHECK(juno.cpus == 6);
  CHECK(juno.skipped.at("print") == 14);  // trace markers, among them devlib's cpu_frequency_devlib lines
  ParsedTrace android = parse_sched_trace_file(trace_path("trace-android-sched.txt"));
  CHECK(android.format == TraceFormat::Ftrace);
  CHECK(android.cpus == 4);
  CHECK(android.events_skipped() == 0);
  ParsedTrace desktop = parse_sched_trace_file(trace_path("trace-critical-path.txt"));
  CHECK(desktop.skipped.at("hrtimer_start") == 21);
  CHECK(desktop.comm.at(2711) == "Web Content");
  ParsedTrace sf = parse_sched_trace_file(trace_path("trappy/trace_surfaceflinger.html"));
  CHECK(sf.cpus == 8);
  CHECK(sf.tgid.size() > 10);
  CHECK(sf.skipped.at("cpu_idle") == 621);
  ParsedTrace small = parse_sched_trace_file(trace_path("trappy/trace_systrace.html"));
  CHECK(build_trace_model(small).inconsistencies == 1);  // swapper/2 switches to Binder_5 twice
  ParsedTrace load = parse_sched_trace_file(trace_path("trappy/trace_sched.txt"));
  CHECK(load.events_used == 4);  // two sched_wakeup_new, two sched_wakeup; no sched_switch, so nothing to replay
}

TEST_CASE("trace: a replay on a machine like the traced one keeps each thread's run time") {
  struct Case {
    const char* file;
    int cpus;
  };
  for (const Case& c : {Case{"lisa-juno-trace.txt", 6}, Case{"trace-android-sched.txt", 4},
                        Case{"trappy/trace_surfaceflinger.html", 8}}) {
    INFO(c.file);
    TraceModel model = build_trace_model(parse_sched_trace_file(trace_path(c.file)));
    std::map<std::string, double> traced;
    for (const auto& t : model.threads) traced[t.name] = t.run_s();
    json r = run_doc(replay_doc(c.file, c.cpus));
    CHECK(r["summary"]["status"] == "completed");
    CHECK(metric(r, "threads_unfinished") == 0);
    CHECK(metric(r, "threads") == r["threads"].size());
    CHECK(r["threads"].size() > 20);
    double sum = 0;
    for (const auto& t : r["threads"]) {
      const std::string name = t["name"];
      INFO(name);
      REQUIRE(traced.count(name) == 1);
      const double want = traced[name], got = t["run_s"];
      CHECK(got == Approx(want).epsilon(0.02).margin(1e-7));
      sum += want;
    }
    CHECK(metric(r, "total_run_s_trace") == Approx(sum));
    CHECK(metric(r, "run_time_ratio") == Approx(1.0).epsilon(0.001));
    // With the traced CPU count, the replay ends close to when the trace did.
    CHECK(metric(r, "replay_makespan_s") == Approx(metric(r, "trace_duration_s")).epsilon(0.05));
  }
}

TEST_CASE("trace: bursts scale with the source clock over the target clock, and with time_scale") {
  json base = run_doc(replay_doc("trace-critical-path.txt", 4));
  json slow = run_doc(replay_doc("trace-critical-path.txt", 4, {{"source_freq_ghz", 2.0}}));
  json fast = run_doc(replay_doc("trace-critical-path.txt", 4, {{"time_scale", 0.5}}));
  CHECK(metric(base, "run_time_ratio") == Approx(1.0).epsilon(0.001));
  CHECK(metric(slow, "run_time_ratio") == Approx(2.0).epsilon(0.001));  // traced at 2 GHz, replayed at 1 GHz
  CHECK(metric(fast, "run_time_ratio") == Approx(0.5).epsilon(0.001));
  CHECK(metric(slow, "replay_makespan_s") > metric(base, "replay_makespan_s"));
  CHECK(metric(fast, "replay_makespan_s") < metric(base, "replay_makespan_s"));
}

TEST_CASE("trace: cpu_map same keeps threads on their traced CPUs, modulo the machine's cores") {
  TraceModel model = build_trace_model(parse_sched_trace_file(trace_path("trace-android-sched.txt")));
  std::map<std::string, std::set<int>> cpus;
  for (const auto& t : model.threads)
    for (const auto& r : t.runs) cpus[t.name].insert(r.cpu % 3);
  json r = run_doc(replay_doc("trace-android-sched.txt", 3));
  CHECK(r["summary"]["status"] == "completed");
  for (const auto& t : r["threads"]) {
    INFO(t["name"]);
    CHECK(cpus[t["name"]].count(t["last_core"].get<int>()) == 1);
  }
  json free = run_doc(replay_doc("trace-android-sched.txt", 3, {{"cpu_map", "free"}}));
  CHECK(free["summary"]["status"] == "completed");
}

TEST_CASE("trace: the example config runs, with its trace path relative to the config's folder") {
  Scenario sc = load_scenario(MKSIM_SOURCE_DIR "/configs/trace-replay.json");
  json r = run_isolated(sc).doc;
  CHECK(r["summary"]["status"] == "completed");
  CHECK(metric(r, "events_total") == 146);
  CHECK(metric(r, "events_used") + metric(r, "events_skipped") == 146);
  CHECK(metric(r, "events_skipped_hrtimer_start") == 21);
}

TEST_CASE("trace: errors in the trace or the parameters are InputErrors with file and line") {
  const fs::path dir = fs::temp_directory_path() / ("mksim-trace-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string bad = (dir / "bad.txt").string();
  std::ofstream(bad) << "<idle>-0 [000] d... 1.0: sched_switch: prev_comm=swapper prev_pid=0 prev_state=R ==> "
                        "next_comm=a next_pid=5\n"
                        "a-5 [000] d... 0.9: sched_switch: prev_comm=a prev_pid=5 prev_state=S ==> next_comm=swapper "
                        "next_pid=0\n";
  json doc = {{"machine", traced_like_machine(2)}, {"workload", {{"kind", "trace"}, {"file", "bad.txt"}}}};
  // Relative to the config's folder.
  Scenario sc = resolve_scenario(doc, (dir / "config.json").string(), dir.string());
  try {
    run_isolated(sc);
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(e.file() == bad);
    CHECK(e.where() == "line 2");
  }
  doc["workload"]["file"] = "missing.txt";
  CHECK_THROWS_AS(run_isolated(resolve_scenario(doc, (dir / "config.json").string(), dir.string())), InputError);
  doc["workload"].erase("file");
  try {
    run_isolated(resolve_scenario(doc, "config.json", "."));
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(e.where() == "workload.file");
  }
  doc["workload"]["file"] = bad;
  doc["workload"]["format"] = "pcap";
  CHECK_THROWS_AS(resolve_scenario(doc, "config.json", "."), InputError);
  fs::remove_all(dir);
}
