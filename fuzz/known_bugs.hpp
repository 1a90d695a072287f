// Bugs already reported, each with an `xfail` case in tests/bad_inputs/catalogue.json (named below). The fuzz targets
// step around them so that a bounded run can still find new bugs instead of rediscovering these in its first seconds.
// When a bug is fixed: delete its entry here and the `xfail` of its catalogue case; the case (and any input in
// fuzz/regressions/) then guards the fix. MKSIM_FUZZ_KNOWN_BUGS=1 in the environment turns every mask off, to check
// which of them still reproduce.
#pragma once

#include <cstdlib>
#include <cstring>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>

namespace mksim_fuzz {

inline bool masks_on() {
  static const bool on = [] {
    const char* v = std::getenv("MKSIM_FUZZ_KNOWN_BUGS");
    return !(v && std::strcmp(v, "1") == 0);
  }();
  return on;
}

// No bug is open: every bug these functions stepped around has been fixed (issue #8), and its catalogue case and saved
// input (fuzz/regressions/) now guard the fix. Add an entry here, naming its catalogue case and behind masks_on(), when
// a new one is reported but not yet fixed; delete it with the fix.

// An exception other than InputError that a known bug throws.
inline bool known_exception(const std::exception&) {
  return false;
}

// A parsed config that a known bug crashes on (stack overflow, memory exhaustion) rather than throwing.
inline bool known_crash(const nlohmann::json&) {
  return false;
}

// An hwloc XML text that crashes libhwloc itself and that sim/hwloc_import.cpp does not refuse before it.
// (fuzz_hwloc imports in its own process, so that such a file is a crash it finds; mksim itself imports in a child
// process.)
inline bool known_hwloc_crash(const std::string&) {
  return false;
}

// A Genode init configuration that a known bug crashes on or hangs with.
inline bool known_genode_crash(const std::string&) {
  return false;
}

}  // namespace mksim_fuzz
