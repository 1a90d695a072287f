// Fuzz target: bytes -> parse_ops_trace, the reader of mksim's own operation traces (ops.jsonl: a JSON header line,
// then one JSON line per operation, every id checked against the header). Must only ever throw InputError.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/harness.hpp"
#include "sim/ops_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  mksim_fuzz::only_input_errors("fuzz_ops", [&] { (void)mksim::parse_ops_trace(text, "fuzz.jsonl"); });
  return 0;
}
