// A test plugin that needs a function no mksim defines: dlopen fails with "undefined symbol", which mksim reports.
#include "sim/api/plugin.hpp"

MKSIM_PLUGIN();

namespace mksim {
int function_mksim_does_not_have(int);
}

extern "C" __attribute__((visibility("default"))) int plugin_undefined_use(int x) {
  return mksim::function_mksim_does_not_have(x);
}
