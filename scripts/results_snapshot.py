#!/usr/bin/python3
"""Byte-identity check for refactors: run every example and validation config (and the demo under every kernel
architecture, scheduler, memory policy and allocator) and keep each results.json without its host-dependent
`wall_clock`; `compare` runs them again and names every result that moved.

  scripts/results_snapshot.py save    DIR [--mksim build/mksim]
  scripts/results_snapshot.py compare DIR [--mksim build/mksim]
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cases(mksim):
    out = []
    for folder in ("configs", "validation/configs"):
        for name in sorted(os.listdir(os.path.join(ROOT, folder))):
            if name.endswith(".json"):
                out.append((f"{folder}/{name}".replace("/", "__"), os.path.join(folder, name), []))
    # every kernel component on the demo, so that components no example config names are covered too
    demo = "configs/demo.json"
    for slot, names in (("architecture", ["monolithic", "microkernel", "multikernel", "exokernel"]),
                        ("scheduler", ["round-robin", "cfs", "global-queue", "numa-aware", "partitioned",
                                       "work-stealing"]),
                        ("memory_policy", ["first-touch", "interleave", "local", "bind"]),
                        ("allocator", ["global-heap", "per-thread", "numa-hoard"])):
        for n in names:
            out.append((f"demo__{slot}__{n}", demo, ["--set", f"kernel.{slot}={n}"]))
    for n in ["gedf", "pedf", "rm"]:
        out.append((f"realtime__scheduler__{n}", "configs/realtime-edf.json", ["--set", f"kernel.scheduler={n}"]))
    for n in ["global-heap", "per-thread", "numa-hoard"]:
        out.append((f"larson__allocator__{n}", "configs/larson.json", ["--set", f"kernel.allocator={n}"]))
    return out


def run_one(mksim, case):
    key, config, extra = case
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.run([mksim, "run", config, "-o", d, "-q", *extra], cwd=ROOT, capture_output=True, text=True)
        if p.returncode != 0:
            return key, "ERROR " + str(p.returncode) + ": " + (p.stderr.strip().splitlines() or [""])[-1]
        with open(os.path.join(d, "results.json")) as f:
            r = json.load(f)
        r.pop("wall_clock", None)
        files = {}
        for name in sorted(os.listdir(d)):
            if name.endswith(".csv"):
                with open(os.path.join(d, name)) as f:
                    files[name] = f.read()
        return key, json.dumps({"results": r, "csv": files}, sort_keys=True, indent=0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["save", "compare"])
    ap.add_argument("dir")
    ap.add_argument("--mksim", default=os.path.join(ROOT, "build", "mksim"))
    ap.add_argument("-j", type=int, default=2)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    todo = cases(a.mksim)
    with concurrent.futures.ThreadPoolExecutor(a.j) as ex:
        got = list(ex.map(lambda c: run_one(a.mksim, c), todo))
    moved = 0
    for key, text in got:
        path = os.path.join(a.dir, key + ".txt")
        if a.mode == "save":
            with open(path, "w") as f:
                f.write(text)
            if text.startswith("ERROR"):
                print(f"{key}: {text}")
        else:
            old = open(path).read() if os.path.exists(path) else None
            if old != text:
                moved += 1
                print(f"MOVED {key}" + (f": {text}" if text.startswith("ERROR") else ""))
    print(f"{len(got)} cases, {moved} moved" if a.mode == "compare" else f"{len(got)} cases saved in {a.dir}")
    return 1 if moved else 0


if __name__ == "__main__":
    sys.exit(main())
