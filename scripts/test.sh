#!/usr/bin/env bash
# Builds mksim and runs every test: the formatting check (scripts/check_format.sh), the Catch2 suite through CTest,
# then the pytest suite with Debian's Python.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/check_format.sh
BUILD_DIR=${MKSIM_BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure
MKSIM_BUILD_DIR="$BUILD_DIR" /usr/bin/python3 -m pytest -q tests/python
