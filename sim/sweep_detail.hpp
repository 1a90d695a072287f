// What the sweep's files (sweep.cpp, sweep_runs.cpp, sweep_expect.cpp) share, and nothing else uses.
#pragma once

#include <filesystem>
#include <string>

#include "sim/input.hpp"
#include "sim/sweep.hpp"

namespace mksim::sweep_detail {

// Writes `text` to `p` (binary); throws naming the file when it cannot.
void write_text(const std::filesystem::path& p, const std::string& text);
// The whole file, or "" when it cannot be read.
std::string read_text(const std::filesystem::path& p);

// A failed run's outcome: its kind ("input", "internal", "signal", "lost") and message.
RunOutcome failure(const std::string& kind, const std::string& message);
RunOutcome input_failure(const InputError& e);

}  // namespace mksim::sweep_detail
