// The sweep's runs (sim/sweep.hpp): one run in a child process (start_run, through sim/child_process.hpp), what it
// left behind (finish_run), and batches of runs with up to `jobs` children at once.
#include <fmt/format.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "sim/child_process.hpp"
#include "sim/engine.hpp"
#include "sim/input.hpp"
#include "sim/outputs.hpp"
#include "sim/sweep.hpp"
#include "sim/sweep_detail.hpp"

namespace mksim {

namespace fs = std::filesystem;
using namespace sweep_detail;

namespace {

std::mutex g_children_mutex;
std::set<pid_t> g_children;  // children of run_in_child / run_batch not reaped yet

void forget_child(pid_t pid) {
  std::lock_guard<std::mutex> lock(g_children_mutex);
  g_children.erase(pid);
}

int run_and_write(const Scenario& sc, const std::string& outdir);

}  // namespace

// ---- one run in a child process ----

pid_t start_run(const Scenario& sc, const std::string& outdir) {
  fs::create_directories(outdir);
  std::error_code ec;
  for (const char* f : {"results.json", "error.json"}) fs::remove(fs::path(outdir) / f, ec);
  for (const auto& o : output_files()) fs::remove(fs::path(outdir) / o.file, ec);
  ChildSpec child;
  child.default_signals = {SIGINT, SIGTERM, SIGPIPE};  // a host process (Python, a CLI sweep) may have its own handlers
  child.fork_hooks = true;
  const pid_t pid = start_child(child, [&] { return run_and_write(sc, outdir); });
  std::lock_guard<std::mutex> lock(g_children_mutex);
  g_children.insert(pid);
  return pid;
}

namespace {

// The child of start_run: runs `sc`, writes its results or error.json to `outdir`; returns the exit status.
int run_and_write(const Scenario& sc, const std::string& outdir) {
  int code = 0;
  try {
    auto outputs = make_outputs(sc, outdir);
    std::vector<Observer*> observers;
    for (auto& o : outputs) observers.push_back(o.get());
    RunResults res = simulate(sc, observers);
    res.write(outdir, sc.run.csv);
  } catch (const InputError& e) {
    code = 2;
    try {
      write_text(fs::path(outdir) / "error.json",
                 json{{"kind", "input"}, {"message", e.what()}, {"file", e.file()}, {"where", e.where()}}.dump(2));
    } catch (...) {
    }
  } catch (const std::exception& e) {
    code = 1;
    try {
      write_text(fs::path(outdir) / "error.json", json{{"kind", "internal"}, {"message", e.what()}}.dump(2));
    } catch (...) {
    }
  }
  return code;
}

}  // namespace

RunOutcome finish_run(int status, const std::string& outdir) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    return failure("signal", fmt::format("the simulation process died of signal {} ({})", sig, strsignal(sig)));
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 0) {
    std::string text = read_text(fs::path(outdir) / "results.json");
    if (text.empty()) return failure("lost", "the simulation process ended without writing results.json");
    RunOutcome r;
    r.ok = true;
    r.results = json::parse(text);
    return r;
  }
  std::string text = read_text(fs::path(outdir) / "error.json");
  if (text.empty())
    return failure("lost", fmt::format("the simulation process exited with status {} and no message", code));
  json e = json::parse(text);
  RunOutcome r = failure(e.value("kind", "internal"), e.value("message", ""));
  r.file = e.value("file", "");
  r.where = e.value("where", "");
  return r;
}

RunOutcome run_in_child(const Scenario& sc, const std::string& outdir) {
  pid_t pid = start_run(sc, outdir);
  int status;
  try {
    status = wait_child(pid, 0);
  } catch (...) {
    forget_child(pid);
    throw;
  }
  forget_child(pid);
  return finish_run(status, outdir);
}

void cancel_runs() {
  std::lock_guard<std::mutex> lock(g_children_mutex);
  for (pid_t pid : g_children) kill(pid, SIGKILL);
}

int default_jobs() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

// ---- batches ----
// ---- batches ----

std::vector<RunOutcome> run_batch(const std::vector<BatchItem>& items, int jobs,
                                  const std::function<void(size_t, const RunOutcome&)>& on_done) {
  jobs = std::max(1, jobs);
  std::vector<RunOutcome> outcomes(items.size());
  std::map<pid_t, size_t> running;
  size_t next = 0;
  auto finish = [&](size_t i, RunOutcome r) {
    outcomes[i] = std::move(r);
    if (on_done) on_done(i, outcomes[i]);
  };
  try {
    while (next < items.size() || !running.empty()) {
      while (static_cast<int>(running.size()) < jobs && next < items.size()) {
        const size_t i = next++;
        Scenario sc;
        try {
          sc = items[i].scenario();
        } catch (const InputError& e) {
          finish(i, input_failure(e));
          continue;
        } catch (const std::exception& e) {
          finish(i, failure("internal", e.what()));
          continue;
        }
        running[start_run(sc, items[i].outdir)] = i;
      }
      // Reap whichever children have ended; only our own pids, so that a host process's other children are left
      // alone (Python, Dask).
      bool reaped = false;
      for (auto it = running.begin(); it != running.end();) {
        int status = wait_child(it->first, WNOHANG);
        if (status == -1) {
          ++it;
          continue;
        }
        forget_child(it->first);
        const size_t i = it->second;
        it = running.erase(it);
        reaped = true;
        // Ctrl-C on a terminal reaches the whole process group: a child killed by that interrupt is not a result.
        if (const int sig = interrupt_signal(); sig && WIFSIGNALED(status)) throw Interrupted(sig);
        finish(i, finish_run(status, items[i].outdir));
      }
      if (const int sig = interrupt_signal()) throw Interrupted(sig);  // the running children are ended below
      if (!reaped && !running.empty()) usleep(5000);
    }
  } catch (...) {
    for (const auto& [pid, i] : running) kill(pid, SIGKILL), wait_child(pid, 0), forget_child(pid);
    throw;
  }
  return outcomes;
}

}  // namespace mksim
