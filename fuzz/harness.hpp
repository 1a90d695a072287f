// What every mksim fuzz target checks: a reader given any bytes either succeeds or throws InputError. Anything else
// (another exception, a crash, a sanitizer report, a hang) is a bug; abort() makes libFuzzer keep the input. Bugs
// already reported are stepped around (fuzz/known_bugs.hpp).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "fuzz/known_bugs.hpp"
#include "sim/api/params.hpp"

namespace mksim_fuzz {

template <class F>
void only_input_errors(const char* target, F&& f) {
  try {
    f();
  } catch (const mksim::InputError& e) {
    // The contract: a clear message naming the file. An empty message would be a bug too.
    if (std::string(e.what()).empty()) {
      std::fprintf(stderr, "%s: InputError with an empty message\n", target);
      std::abort();
    }
  } catch (const std::exception& e) {
    if (known_exception(e)) return;
    std::fprintf(stderr, "%s: exception other than InputError: %s\n", target, e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "%s: non-standard exception\n", target);
    std::abort();
  }
}

}  // namespace mksim_fuzz
