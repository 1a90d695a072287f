#!/usr/bin/env bash
# The main job: one workload on one machine under each of the four kernel architectures, in one table.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${MKSIM_BUILD_DIR:-build}
CONFIG=${1:-configs/demo.json}
OUT=${MKSIM_DEMO_OUT:-out/demo}
for arch in monolithic microkernel multikernel exokernel; do
  "$BUILD_DIR/mksim" run "$CONFIG" --set kernel.architecture=$arch -o "$OUT/$arch" -q
done
/usr/bin/python3 - "$OUT" "$CONFIG" <<'PY'
import json, sys, os
out, config = sys.argv[1], sys.argv[2]
rows = []
for arch in ["monolithic", "microkernel", "multikernel", "exokernel"]:
    r = json.load(open(os.path.join(out, arch, "results.json")))
    s, cores = r["summary"], r["cores"]
    busy = sum(c["busy_s"] for c in cores)
    kernel = sum(c["kernel_s"] for c in cores)
    spin = sum(c["spin_s"] for c in cores)
    flat = {}
    for name, m in r["workload"]["metrics"].items():
        if isinstance(m, dict):
            for k, v in m.items():
                if isinstance(v, (int, float)):
                    flat[f"{name}.{k}"] = v
        elif isinstance(m, (int, float)):
            flat[name] = m
    rows.append((arch, s["sim_time_s"], s["events"], kernel / busy if busy else 0, spin * 1e6, flat))
machine = json.load(open(os.path.join(out, "monolithic", "results.json")))["config"]["machine"]["name"]
print(f"\n{config} on {machine}: the four kernel architectures\n")
keys = sorted({k for *_, f in rows for k in f})
head = ["architecture", "sim time (ms)", "OS events", "kernel share", "spin (us)"] + keys
print(" | ".join(f"{h:>14}" for h in head))
print("-|-".join("-" * 14 for _ in head))
for arch, t, ev, ks, spin, f in rows:
    cells = [arch, f"{t*1e3:.4f}", str(ev), f"{ks:.1%}", f"{spin:.1f}"] + [f"{f.get(k, float('nan')):.6g}" for k in keys]
    print(" | ".join(f"{c:>14}" for c in cells))
print(f"\nfull results: {out}/<architecture>/results.json")
PY
