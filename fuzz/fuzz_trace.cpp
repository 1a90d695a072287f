// Fuzz target: bytes -> parse_sched_trace (format detection, then the ftrace / trace-cmd / perf sched / systrace
// reader) -> build_trace_model -> plan_replay: everything the `trace` workload does with a file before simulating.
// The first byte picks the format (auto and each explicit one). Must only ever throw InputError.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/harness.hpp"
#include "workloads/trace_model.hpp"
#include "workloads/trace_parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const mksim::TraceFormat formats[] = {mksim::TraceFormat::Auto, mksim::TraceFormat::Ftrace,
                                               mksim::TraceFormat::TraceCmd, mksim::TraceFormat::PerfSched,
                                               mksim::TraceFormat::Systrace};
  // Mostly auto-detection, which is what configs use by default.
  const mksim::TraceFormat format = data[0] < 160 ? mksim::TraceFormat::Auto : formats[data[0] % 5];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  mksim_fuzz::only_input_errors("fuzz_trace", [&] {
    mksim::ParsedTrace trace = mksim::parse_sched_trace(text, "fuzz.txt", format);
    mksim::TraceModel model = mksim::build_trace_model(trace);
    mksim::ReplayPlan plan = mksim::plan_replay(model, 0.0);
    (void)plan;
  });
  return 0;
}
