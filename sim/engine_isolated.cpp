// run_isolated (sim/engine.hpp): one run in a child process, through the one child runner (sim/child_process.hpp).
#include <fmt/format.h>
#include <sys/wait.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "sim/child_process.hpp"
#include "sim/engine.hpp"
#include "sim/input.hpp"
#include "sim/outputs.hpp"

namespace mksim {

RunResults run_isolated(const Scenario& sc, const std::string& outdir) {
  ChildSpec spec;
  // A crash in the child must end the child, not run the parent's handlers (a test framework's reporter).
  spec.default_signals = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
  const ChildExit child = run_child(spec, [&] {
    json out;
    try {
      std::vector<std::unique_ptr<Observer>> outputs;
      std::vector<Observer*> observers;
      if (!outdir.empty()) {
        std::filesystem::create_directories(outdir);
        outputs = make_outputs(sc, outdir);
        for (auto& o : outputs) observers.push_back(o.get());
      }
      RunResults r = simulate(sc, observers);
      if (!outdir.empty()) r.write(outdir, sc.run.csv);
      out = {{"ok", r.doc}};
    } catch (const InputError& e) {
      out = {{"input_error", e.what()}, {"file", e.file()}, {"where", e.where()}};
    } catch (const std::exception& e) {
      out = {{"error", e.what()}};
    }
    return out.dump(-1, ' ', false, json::error_handler_t::replace);
  });
  if (WIFSIGNALED(child.status))
    throw std::runtime_error(fmt::format("the simulation process died of signal {} ({})", WTERMSIG(child.status),
                                         strsignal(WTERMSIG(child.status))));
  if (child.out.empty()) throw std::runtime_error("the simulation process ended without results");
  json out = json::parse(child.out);
  if (out.contains("input_error")) {
    std::string msg = out["input_error"];
    std::string file = out["file"], where = out["where"];
    // Rebuild the same message: InputError formats "file: where: what".
    std::string prefix = InputError(file, where, "").what();
    throw InputError(file, where, msg.substr(std::min(msg.size(), prefix.size())));
  }
  if (out.contains("error")) throw std::runtime_error(out["error"].get<std::string>());
  RunResults r;
  r.doc = std::move(out["ok"]);
  return r;
}

}  // namespace mksim
