#!/usr/bin/env bash
# Builds mksim with AddressSanitizer + UndefinedBehaviorSanitizer (CMake preset `sanitize`: clang -O1, MKSIM_SANITIZE,
# no Python module or benchmarks, in build-asan/) and runs the whole C++ test suite under them through CTest, then the
# bad-input catalogue against the sanitized binary (any sanitizer report there fails the case).
#
#   scripts/sanitize.sh            configure + build + ctest + bad-input catalogue
#   scripts/sanitize.sh --ctest    configure + build + ctest only
#
# Leak checking is on; tests/sanitizer/lsan.supp and ubsan.supp hold the suppressions (each explained there) for
# code that is not ours. Environment: MKSIM_JOBS (build jobs, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

cmake --preset sanitize >/dev/null
cmake --build --preset sanitize -j "${MKSIM_JOBS:-2}"

# The same settings as the `sanitize` test preset, for the pytest run below as well.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=0:check_initialization_order=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/sanitizer/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$ROOT/tests/sanitizer/ubsan.supp}
# SimGrid's default (raw) and ucontext actor contexts switch stacks behind ASan's back ("ASan is ignoring requested
# __asan_handle_no_return ... False positive error reports may follow") and cut its allocation stacks short; with one
# thread per actor ASan sees every stack. sim/engine_setup.cpp reads MKSIM_CONTEXT_FACTORY.
export MKSIM_CONTEXT_FACTORY=${MKSIM_CONTEXT_FACTORY:-thread}
ctest --preset sanitize

if [ "${1:-}" != "--ctest" ]; then
  MKSIM_BUILD_DIR=build-asan /usr/bin/python3 -m pytest -q tests/python/test_bad_inputs.py
fi
echo "sanitize: clean"
