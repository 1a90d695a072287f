#!/usr/bin/env bash
# Installs every dependency of mksim from Debian packages (idempotent, quiet, fast when all is there),
# then configures and builds. With --demo it also runs the main job: the four kernel designs compared.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libsimgrid-dev libboost-dev nlohmann-json3-dev libfmt-dev pybind11-dev catch2 libhwloc-dev libcli11-dev hwloc
  libpugixml-dev clang libclang-rt-14-dev clang-format
  python3 python3-dev python3-numpy python3-pandas python3-matplotlib python3-pytest python3-nbclient
  python3-nbformat python3-ipykernel python3-distributed python3-tqdm
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
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${MKSIM_BUILD_TYPE:-RelWithDebInfo} -DMKSIM_BUILD_BENCH=OFF \
        -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"

if [ "${1:-}" = "--demo" ]; then
  bash scripts/demo.sh
fi
