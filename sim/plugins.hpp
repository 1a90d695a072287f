// Loading out-of-tree plugins (sim/api/plugin.hpp) into this process: from a config's `plugins` list, the CLI's
// --plugin, or mksim.load_plugin in Python. Forked runs (sweeps, Python runs) inherit what the parent loaded.
#pragma once

#include <string>
#include <vector>

namespace mksim {

// mksim's own contract version (MKSIM_CONTRACT_VERSION of the headers it was built with).
unsigned contract_version();

// Loads the plugin at `path` and registers its components; loading a file already loaded does nothing. Refuses, with
// an InputError located at `file`/`where` (the config and its JSON path, or the command line) and naming the plugin
// file: a missing file, a file that is not a shared library for this machine, one without MKSIM_PLUGIN(), one built
// against another contract version, one that cannot be loaded (dlopen's message: an undefined symbol, ...), one that
// registers nothing, and a component name that is already registered. The contract version is read from the file
// before it is loaded, so a mis-versioned plugin never runs any code.
void load_plugin(const std::string& path, const std::string& file = "<command line>",
                 const std::string& where = "--plugin");

// The plugins loaded so far (canonical paths), in load order.
std::vector<std::string> loaded_plugins();

}  // namespace mksim
