#!/usr/bin/env bash
# Installs every dependency of mksim from Debian packages (idempotent, quiet, fast when all is there), then configures
# and builds (with ccache when it is there), and makes the build's Python package importable by Debian's Python from
# any folder: a mksim.pth file in /usr/local/lib/python3.X/dist-packages naming BUILD/python (rewritten only when it
# names another folder; MKSIM_INSTALL_PTH=0 skips it). With --demo it also runs the main job: the four kernel
# designs compared. Environment: MKSIM_BUILD_DIR (build), MKSIM_BUILD_TYPE (Release).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libsimgrid-dev libboost-dev nlohmann-json3-dev libfmt-dev pybind11-dev catch2 libhwloc-dev libcli11-dev hwloc
  libpugixml-dev clang libclang-rt-14-dev clang-format
  python3 python3-dev python3-numpy python3-pandas python3-matplotlib python3-pytest python3-nbclient
  python3-nbformat python3-ipykernel python3-distributed python3-tqdm
  python3-setuptools python3-wheel python3-pip python3-venv ccache
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD_DIR=${MKSIM_BUILD_DIR:-build}
# ccache: paths relative to the source tree and the build folder left out of the hash, so that another build folder
# of the same sources (`pip install .` builds in build-pip/, see setup.py) reuses these objects.
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
  export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-ccache}
fi
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${MKSIM_BUILD_TYPE:-Release} -DMKSIM_BUILD_BENCH=OFF \
        -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"

# `import mksim` from any folder with /usr/bin/python3: a .pth file in Debian's site folder for local packages.
if [ "${MKSIM_INSTALL_PTH:-1}" != 0 ] && [ -d "$BUILD_DIR/python/mksim" ]; then
  PY_DIR=$(cd "$BUILD_DIR/python" && pwd -P)
  SITE=$(/usr/bin/python3 -c 'import site; print(site.getsitepackages()[0])')
  if [ "$(cat "$SITE/mksim.pth" 2>/dev/null)" != "$PY_DIR" ]; then
    SUDO=""; [ -w "$SITE" ] || [ ! -e "$SITE" -a -w "$(dirname "$SITE")" ] || SUDO="sudo"
    $SUDO mkdir -p "$SITE"
    echo "$PY_DIR" | $SUDO tee "$SITE/mksim.pth" >/dev/null
    echo "setup: /usr/bin/python3 imports mksim from $PY_DIR ($SITE/mksim.pth)"
  fi
fi

if [ "${1:-}" = "--demo" ]; then
  bash scripts/demo.sh
fi
