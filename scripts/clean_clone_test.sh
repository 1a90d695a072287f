#!/usr/bin/env bash
# The proof that the repository stands on its own: clones HEAD (what is committed, nothing else) into a fresh
# temporary folder whose parent holds nothing else, and runs the README's test command there (`bash scripts/test.sh`:
# set-up, build, every C++ and Python test). Takes as long as a full build and test run; not part of CI, which
# itself starts from a clean clone.
#
#   bash scripts/clean_clone_test.sh [--keep]      --keep leaves the clone (its path is printed) for a look
#
# setup.sh in the clone points Debian's Python at the clone's build (mksim.pth); the previous mksim.pth is put back
# when this script ends. ccache (when installed) makes the build faster if the same sources were built before.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1

PARENT=$(mktemp -d "${TMPDIR:-/tmp}/mksim-clean-clone-XXXXXX")  # the clone's parent: empty but for the clone
SITE=$(/usr/bin/python3 -c 'import site; print(site.getsitepackages()[0])')
PTH="$SITE/mksim.pth"
SAVED_PTH=$(cat "$PTH" 2>/dev/null || true)
restore() {
  if [ -n "$SAVED_PTH" ]; then
    [ "$(cat "$PTH" 2>/dev/null || true)" = "$SAVED_PTH" ] || echo "$SAVED_PTH" >"$PTH" || true
  else
    rm -f "$PTH" 2>/dev/null || true
  fi
  if [ "$KEEP" = 1 ]; then
    echo "clean-clone: kept $PARENT/mksim"
  else
    rm -rf "$PARENT"
  fi
}
trap restore EXIT

HEAD_SHA=$(git rev-parse HEAD)
git clone -q "$REPO" "$PARENT/mksim"
cd "$PARENT/mksim"
git -c advice.detachedHead=false checkout -q "$HEAD_SHA"  # this checkout's HEAD, also from a linked worktree
echo "clean-clone: $(git log -1 --format='%h %s' | cut -c1-100)"
echo "clean-clone: in $PWD, beside it: $(ls -A "$PARENT" | tr '\n' ' ')"
unset MKSIM_BUILD_DIR PYTHONPATH
start=$SECONDS
if bash scripts/test.sh; then
  echo "clean-clone: PASSED in $(((SECONDS - start) / 60)) min"
else
  status=$?
  echo "clean-clone: FAILED (exit $status) after $(((SECONDS - start) / 60)) min"
  exit $status
fi
