#!/usr/bin/env bash
# `pip install .` works offline for a user with their own environment: makes a venv with --system-site-packages
# (Debian's numpy, pandas, matplotlib, setuptools) in a temporary folder, installs this checkout into it with
# `pip install --no-build-isolation --no-index .` (setup.py drives CMake; ccache reuses the objects of build/ when
# scripts/setup.sh built them with ccache), then, from a folder outside the repository and with no PYTHONPATH, runs
# a config with the venv's `python -c "import mksim; mksim.run(...)"` and with its `mksim` command, and checks that
# the package imported is the venv's, not the build tree's. Run by .ci/run; takes a few minutes (the C++ build).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mksim-pip-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
unset PYTHONPATH MKSIM_BUILD_DIR
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

/usr/bin/python3 -m venv --system-site-packages "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q --no-build-isolation --no-index "$REPO"

mkdir "$WORK/elsewhere"
cp configs/stream-local-remote.json "$WORK/elsewhere/c.json"
cd "$WORK/elsewhere"
"$WORK/venv/bin/python" - "$WORK/venv" <<'PY'
import json, os, sys
from pathlib import Path

import mksim

venv = Path(sys.argv[1]).resolve()
pkg = Path(mksim.__file__).resolve().parent
assert venv in pkg.parents, f"imported {pkg}, not the venv's package"
info = mksim.build_info()
assert info["mksim_binary"] == pkg / "bin" / "mksim" and info["mksim_binary"].exists(), info
assert info["build_dir"] is None, info
res = mksim.run("c.json", seed=3)
assert res.summary["status"] == "completed", res.summary
assert res.summary["sim_time_s"] > 0 and res.seed == 3
traced = mksim.run("c.json", trace=True)
assert traced.trace()["traceEvents"] and not list(Path(".").glob("mksim-run-*"))
print(f"pip-install: mksim {mksim.__version__} from {pkg}: {res!r}")
PY
"$WORK/venv/bin/mksim" run c.json -o run -q
"$WORK/venv/bin/python" -c "import json; d = json.load(open('run/results.json')); assert d['summary']['status'] == 'completed'"
"$WORK/venv/bin/python" -m mksim validate c.json >/dev/null
echo "pip-install: ok (venv python, mksim command and python -m mksim, outside the repository)"
