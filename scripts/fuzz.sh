#!/usr/bin/env bash
# Builds mksim's libFuzzer targets and runs each for a bounded time, after replaying the saved regression inputs
# (fuzz/regressions/TARGET/). The targets live in the sanitized build (CMake preset `sanitize`, build-asan/: clang,
# AddressSanitizer + UndefinedBehaviorSanitizer, MKSIM_BUILD_FUZZ), the same objects scripts/sanitize.sh tests.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     default: 20 s for every target the tree has
#
# Exits non-zero when a target crashed, leaked, hung (> 10 s on one input), ran out of memory (> 2 GB) or threw
# anything but InputError. The input that did it is left in build-asan/fuzz/artifacts/TARGET/; make it a regression:
# copy it into fuzz/regressions/TARGET/ (replayed by every run of this script) and, where the CLI can reach it, into
# tests/bad_inputs/ with a catalogue case (see docs/reliability.md). Environment: MKSIM_JOBS (build jobs, 2),
# MKSIM_FUZZ_SEED (libFuzzer's -seed: CI fixes it, so that a fresh clone explores the same inputs every time and a
# red run points at a change, not at luck; unset, every run explores new ones).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER_TARGET=${1:-20}
shift || true
BIN=build-asan            # binaryDir of the `sanitize` preset
BUILD=$BIN/fuzz           # corpora, seeds, artifacts and logs
REALDATA=$ROOT/data/realdata  # the real topologies and traces (SOURCES.md there), used as seeds

[ -f "$BIN/build.ninja" ] || cmake --preset sanitize >/dev/null
read -r -a ALL_TARGETS <<<"$(tr ';' ' ' <"$BIN/fuzz-targets.txt")"
cmake --build --preset sanitize -j "${MKSIM_JOBS:-2}" --target "${ALL_TARGETS[@]}"

TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL_TARGETS[@]}")

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:symbolize=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/sanitizer/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Keep hwloc's own stderr quiet and its XML reader fixed, as mksim does.
unset HWLOC_XML_VERBOSE HWLOC_LIBXML HWLOC_LIBXML_IMPORT

# Seeds per target: the project's configs, the bad-input catalogue, the real-world files in data/realdata.
seeds_for() {
  local t=$1 dir=$BUILD/seeds/$1
  rm -rf "$dir" && mkdir -p "$dir"
  case $t in
    fuzz_config)
      find configs tests/bad_inputs/files -name '*.json' -size -64k -exec cp {} "$dir"/ \; ;;
    fuzz_override)
      # First line an assignment, then a config.
      local i=0 a
      for f in $(find configs tests/bad_inputs/files -name '*.json' -size -16k | sort); do
        for a in machine.sockets=3 'workload.0.threads=2' 'kernel.architecture=monolithic' 'machine.interconnect.latency_ns=[[1,2],[2,1]]'; do
          { echo "$a"; cat "$f"; } >"$dir/$i.txt"
          i=$((i + 1))
        done
      done ;;
    fuzz_hwloc)
      cp tests/bad_inputs/files/*.xml "$dir"/
      find "$REALDATA/hwloc" -maxdepth 1 -name '*.xml' -exec cp {} "$dir"/ \; ;;
    fuzz_trace)
      # The target takes its first byte as the format selector: 'a' (auto) in front of each real trace.
      local f
      for f in $(find "$REALDATA/traces" tests/bad_inputs/files -type f \( -name '*.txt' -o -name '*.html' \) 2>/dev/null); do
        { printf 'a'; head -c 200000 "$f"; } >"$dir/$(basename "$f")"
      done ;;
    fuzz_ops)
      find configs tests/bad_inputs/files -name '*.jsonl' -size -256k -exec cp {} "$dir"/ \; ;;
    fuzz_genode)
      find configs tests/bad_inputs/files -name '*.xml' ! -name 'hwloc*' -size -64k -exec cp {} "$dir"/ \; ;;
  esac
  [ -d "fuzz/regressions/$t" ] && cp fuzz/regressions/"$t"/* "$dir"/ 2>/dev/null || true
  echo "$dir"
}

dict_for() {
  case $1 in
    fuzz_config | fuzz_override) echo fuzz/config.dict ;;
    fuzz_hwloc) echo fuzz/hwloc.dict ;;
    fuzz_trace) echo fuzz/trace.dict ;;
    fuzz_ops) echo fuzz/ops.dict ;;
    fuzz_genode) echo fuzz/genode.dict ;;
  esac
}

failed=()
for t in "${TARGETS[@]}"; do
  bin=$BIN/$t
  [ -x "$bin" ] || { echo "fuzz: no target $t (have: ${ALL_TARGETS[*]})"; exit 2; }
  mkdir -p "$BUILD/corpus/$t" "$BUILD/artifacts/$t" "$BUILD/logs"
  log=$BUILD/logs/$t.log
  # Saved crashes first: each must now run clean.
  if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
    if ! "$bin" -runs=1 fuzz/regressions/"$t"/* >"$log.regressions" 2>&1; then
      echo "fuzz: $t: a saved regression input fails again (log: $log.regressions)"
      failed+=("$t")
      continue
    fi
  fi
  seeds=$(seeds_for "$t")
  max_len=8192
  [ "$t" = fuzz_hwloc ] && max_len=131072
  [ "$t" = fuzz_trace ] && max_len=65536
  [ "$t" = fuzz_ops ] && max_len=65536
  echo "fuzz: $t for ${SECONDS_PER_TARGET}s (corpus $BUILD/corpus/$t, seeds $seeds)"
  seed_opt=()
  [ -n "${MKSIM_FUZZ_SEED:-}" ] && seed_opt=(-seed="$MKSIM_FUZZ_SEED")
  if "$bin" "${seed_opt[@]}" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len=$max_len \
      -dict="$(dict_for "$t")" -artifact_prefix="$BUILD/artifacts/$t/" -print_final_stats=1 \
      "$BUILD/corpus/$t" "$seeds" >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$log" | tail -2 | sed "s/^/fuzz: $t: /"
  else
    echo "fuzz: $t FAILED, log $log, inputs in $BUILD/artifacts/$t/:"
    grep -E 'ERROR: |SUMMARY: |fuzz_[a-z]+: |runtime error' "$log" | head -5 | sed 's/^/  /'
    ls "$BUILD/artifacts/$t/" | head -5 | sed 's/^/  /'
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failures in ${failed[*]}"
  exit 1
fi
echo "fuzz: all targets clean (${TARGETS[*]})"
