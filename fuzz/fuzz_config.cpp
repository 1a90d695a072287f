// Fuzz target: config text -> parse_json_text -> resolve_scenario -> validate_scenario (machine, kernel slots and
// workload set-up, no simulation). Must only ever throw InputError.
//
// Paths inside the config (machine.hwloc, a trace workload's file) are resolved against an empty folder, and a
// config naming any path with a '/' is skipped: following paths would let the fuzzer read /dev/zero or a FIFO, which
// blocks every reader (reported in docs/reliability.md). Scenarios whose set-up would create more than 4096 cores'
// worth of threads are only resolved, not set up, so the fuzzer does not run into the (legitimate) cost of a
// million-thread workload.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "fuzz/harness.hpp"
#include "sim/config.hpp"
#include "sim/engine.hpp"

namespace {

bool names_a_path(const mksim::json& v) {
  if (v.is_string()) return v.get_ref<const std::string&>().find('/') != std::string::npos;
  if (v.is_structured())
    for (const auto& e : v)
      if (names_a_path(e)) return true;
  return false;
}

bool cheap_to_set_up(const mksim::Scenario& sc) {
  if (sc.machine.num_cores() > 4096) return false;
  for (const auto& w : sc.workloads)
    if (w.params.has("threads") && w.params.raw()["threads"].is_number() &&
        w.params.raw()["threads"].get<double>() > 4096)
      return false;
  return true;
}

const std::string& sandbox() {
  static const std::string dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("mksim-fuzz-config-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  mksim_fuzz::only_input_errors("fuzz_config", [&] {
    mksim::json doc = mksim::parse_json_text(text, "fuzz.json");
    if (names_a_path(doc) || mksim_fuzz::known_crash(doc)) return;
    mksim::Scenario sc = mksim::resolve_scenario(doc, sandbox() + "/fuzz.json", sandbox());
    if (cheap_to_set_up(sc)) mksim::validate_scenario(sc);
  });
  return 0;
}
