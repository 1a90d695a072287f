// A test shared library that registers a component but never expands MKSIM_PLUGIN(): not a plugin.
#include "sim/api/scheduler.hpp"

namespace {
int unused = 0;
}  // namespace
int plugin_no_macro_marker() {
  return unused;
}
