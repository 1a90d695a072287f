#!/usr/bin/env bash
# Builds and tests examples/plugin-scheduler as a researcher would, out of tree: installs the mksim of BUILD_DIR
# (default build/, already built) into a fresh temporary prefix, configures the example against it with
# CMAKE_PREFIX_PATH, builds the plugin and runs its test (which loads it into the installed `mksim run`). Run by the
# pytest suite (tests/python/test_plugin_example.py), hence by scripts/test.sh and .ci/run. About 20 s.
#   scripts/plugin_example.sh [BUILD_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$(cd "${1:-${MKSIM_BUILD_DIR:-$ROOT/build}}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$BUILD_DIR" --prefix "$work/prefix" >/dev/null
cmake -S "$ROOT/examples/plugin-scheduler" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build"
ctest --test-dir "$work/build" --output-on-failure -V
echo "plugin example: built against $work/prefix, loaded into its mksim, test passed"
