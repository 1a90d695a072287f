#!/usr/bin/env bash
# Generates docs/validation.md and its figures (docs/validation/*.png): builds mksim if needed, then runs every case of
# validation/cases.json through it and compares with the published measurements (validation/report.py). Extra
# arguments go to report.py (--jobs N, --only CASE_ID ..., --no-write). Exit status 1 when a case that is not marked
# missed leaves its tolerance.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${MKSIM_BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${MKSIM_BUILD_TYPE:-Release} \
        -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
fi
cmake --build "$BUILD_DIR" --target mksim >/dev/null
exec /usr/bin/python3 validation/report.py --build "$BUILD_DIR" "$@"
