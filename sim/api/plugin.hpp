// An out-of-tree plugin: a shared library that registers components (architectures, schedulers, placement policies,
// allocators, workloads, outputs) with the same one line as mksim's own (Registry<...>::Add, sim/api/registry.hpp).
// Exactly one of its source files expands MKSIM_PLUGIN() at namespace scope; that records the contract version the
// plugin was compiled against, which mksim reads from the file before it loads it and compares with its own: a plugin
// of another contract version is refused with a message, never run. Build one with find_package(mksim) and
// mksim_add_plugin() (docs/writing-a-policy.md); load it with `"plugins": ["libmy.so"]` in a config or
// `mksim --plugin libmy.so`.
#pragma once

#include "mksim_version.hpp"
#include "sim/api/registry.hpp"

// The version of the contract (every header under sim/api/ and what they include of mksim: models/machine.hpp,
// sim/rng.hpp). Bump it with any change to a class layout, a virtual function or a signature there.
#define MKSIM_CONTRACT_VERSION 2

#define MKSIM_PLUGIN()                                                                                             \
  extern "C" __attribute__((visibility("default"), used)) const unsigned mksim_plugin_contract_version =           \
      MKSIM_CONTRACT_VERSION;                                                                                      \
  extern "C" __attribute__((visibility("default"), used)) const char mksim_plugin_mksim_version[] = MKSIM_VERSION; \
  static_assert(true, "MKSIM_PLUGIN() is expanded once, at namespace scope")
