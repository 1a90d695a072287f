#!/usr/bin/env bash
# The main job: one OS-intensive scenario (configs/demo.json) under each of the four kernel designs, compared in one
# table with what the numbers show, and a figure (python/mksim/designs.py does the work).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${MKSIM_BUILD_DIR:-build}
CONFIG=${1:-configs/demo.json}
OUT=${MKSIM_DEMO_OUT:-out/demo}
# The package as built in this tree (also when another mksim is installed).
export PYTHONPATH="$BUILD_DIR/python${PYTHONPATH:+:$PYTHONPATH}"
exec /usr/bin/python3 -m mksim.designs "$CONFIG" -o "$OUT"
