// Fuzz target: bytes -> a temporary file -> import_hwloc_xml (mksim's XML checks, then libhwloc's reader, then the
// mapping onto a Machine), all in this process. Must only ever throw InputError.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "fuzz/harness.hpp"
#include "sim/hwloc_import.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // libhwloc in this process, not in a child: a file it crashes on that mksim's checks let through must be a crash the
  // fuzzer sees (mksim would turn it into an error naming the file, which would hide the missing check).
  static const bool in_process = (mksim::set_hwloc_import_isolation(false), true);
  (void)in_process;
  static const std::string path =
      (std::filesystem::temp_directory_path() / ("mksim-fuzz-hwloc-" + std::to_string(::getpid()) + ".xml")).string();
  if (mksim_fuzz::known_hwloc_crash(std::string(reinterpret_cast<const char*>(data), size))) return 0;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  mksim_fuzz::only_input_errors("fuzz_hwloc", [&] {
    mksim::ImportedTopology t = mksim::import_hwloc_xml(path);
    // What the importer hands on must pass the machine's own checks or be rejected by them, never crash them.
    (void)t.machine.check();
  });
  return 0;
}
