#!/usr/bin/env bash
# The plugin's test: load it into `mksim run` (--plugin) and check from results.json that sticky-fifo scheduled the
# run: the summary names it, and cores found their own threads again ("sticky.affine" events).
#   check.sh MKSIM LIBSTICKY CONFIG
set -euo pipefail
mksim=$1 plugin=$2 config=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
listed=$("$mksim" --plugin "$plugin" list schedulers)
grep -q "^  sticky-fifo " <<<"$listed" || { echo "sticky-fifo is not in mksim list schedulers" >&2; exit 1; }
"$mksim" run "$config" --plugin "$plugin" -q -o "$out"
python3 - "$out/results.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
assert s["scheduler"] == "sticky-fifo", s["scheduler"]
assert s["status"] == "completed", s["status"]
affine = s["events_by_kind"].get("sticky.affine", 0)
assert affine > 0, s["events_by_kind"]
print(f"sticky-fifo ran: {affine} picks found a thread that last ran on the same core")
PY
