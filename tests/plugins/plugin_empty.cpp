// A test plugin that expands MKSIM_PLUGIN() but registers nothing.
#include "sim/api/plugin.hpp"

MKSIM_PLUGIN();
