// A test plugin built against a contract version mksim does not have: mksim must refuse it without running it. It
// spells out what MKSIM_PLUGIN() defines, with version 999; its registration would crash if it ran.
#include <cstdlib>

#include "sim/api/registry.hpp"

extern "C" __attribute__((visibility("default"), used)) const unsigned mksim_plugin_contract_version = 999;
extern "C" __attribute__((visibility("default"), used)) const char mksim_plugin_mksim_version[] = "0.0.1";

namespace {
struct Crash {
  Crash() { std::abort(); }
} crash;
}  // namespace
