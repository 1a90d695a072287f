"""Determinism: the same config and seed give byte-identical results (results.json apart from `wall_clock`, the host's
timings), CSV tables and trace files on every run; a different seed changes a stochastic workload's results.

Randomness in mksim comes only from sim/rng.hpp: one generator per named stream, seeded from run.seed and the
stream's name (docs/reliability.md). These tests run the mksim binary (MKSIM_BUILD_DIR, default build/, + /mksim)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("MKSIM_BUILD_DIR", "build"))
MKSIM = (BUILD if BUILD.is_absolute() else ROOT / BUILD) / "mksim"

SMALL = {"sockets": 2, "cores_per_socket": 2}

# Small runs of each deterministic workload kind, a fraction of a second each; kinds this build lacks are skipped.
WORKLOADS = {
    "compute": {"kind": "compute", "threads": 6, "cycles_per_thread": 2e6, "chunk_cycles": 1e5, "syscalls_per_chunk": 1,
                "syscall_class": "file", "syscall_cycles": 2000, "pin": False},
    "stream": {"kind": "stream", "threads": 4, "node": [0, 1], "bytes_per_thread": 8388608, "chunk_bytes": 1048576,
               "pattern": "random"},
    "ipc-pingpong": {"kind": "ipc-pingpong", "round_trips": 200},
    "latency-probe": {"kind": "latency-probe"},
    "periodic": {"kind": "periodic", "tasks": [{"period_ms": 4, "wcet_ms": 1}, {"period_ms": 6, "wcet_ms": 2},
                                               {"period_ms": 5, "wcet_ms": 2, "jitter_ms": 1}],
                 "execution": "uniform", "working_set_kib": 64},
    "mixed": [{"kind": "compute", "threads": 2, "cycles_per_thread": 1e6, "syscalls_per_chunk": 2},
              {"kind": "stream", "threads": 2, "bytes_per_thread": 4194304}],
}

# Workload kinds that draw random numbers (sim/rng.hpp streams), with a small config in which the draws reach the
# metrics; their results must change with the seed. Larson's random object sizes only matter to an allocator with
# size classes, hence the per-thread allocator.
STOCHASTIC = {
    "client-server": {"workload": {"kind": "client-server", "requests": 2000}},
    "fork-join": {"workload": {"kind": "fork-join", "tasks": 64, "task_distribution": "exponential", "workers": 4}},
    "larson": {"kernel": {"allocator": "per-thread"},
               "workload": {"kind": "larson", "threads": 4, "objects_per_thread": 100, "duration_s": 0.0005,
                            "handoff_fraction": 0.5}},
    "periodic": {"kernel": {"scheduler": "gedf"},
                 "workload": {"kind": "periodic", "utilisation": 2.5, "task_count": 6, "duration_ms": 50}},
    "ycsb": {"workload": {"kind": "ycsb", "record_count": 10000, "duration_s": 0.0005, "cores_per_instance": 2}},
}
CONFIGS = sorted((ROOT / "configs").glob("*.json"))


def registered_workloads():
    out = subprocess.run([str(MKSIM), "list", "workloads"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.startswith("  ") and not line.startswith("   ")}


@pytest.fixture(scope="module")
def kinds():
    assert MKSIM.exists(), f"no mksim binary at {MKSIM}: build first (MKSIM_BUILD_DIR={BUILD})"
    return registered_workloads()


def kinds_of(workload):
    return {w["kind"] for w in (workload if isinstance(workload, list) else [workload])}


def run(config_path, out, *extra):
    proc = subprocess.run([str(MKSIM), "run", str(config_path), "-q", "-o", str(out), *extra], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"mksim run {config_path} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    return out


def outputs(out):
    """Every file of a run folder as bytes, results.json without wall_clock."""
    files = {}
    for f in sorted(Path(out).iterdir()):
        if f.name == "results.json":
            doc = json.loads(f.read_text())
            assert "wall_clock" in doc
            del doc["wall_clock"]
            files[f.name] = json.dumps(doc, sort_keys=True).encode()
        else:
            files[f.name] = f.read_bytes()
    return files


def record_supported(tmp_path):
    """Whether this build has the operation recorder (run.outputs.record)."""
    cfg = tmp_path / "probe.json"
    cfg.write_text(json.dumps({"machine": SMALL, "workload": WORKLOADS["compute"]}))
    proc = subprocess.run([str(MKSIM), "validate", str(cfg), "--set", "run.outputs.record=true"], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        return False
    proc = subprocess.run([str(MKSIM), "run", str(cfg), "-q", "-o", str(tmp_path / "probe"), "--record"],
                          capture_output=True, text=True)
    return proc.returncode == 0


def assert_same(a, b, what):
    fa, fb = outputs(a), outputs(b)
    assert sorted(fa) == sorted(fb), f"{what}: different files: {sorted(fa)} vs {sorted(fb)}"
    for name in fa:
        assert fa[name] == fb[name], f"{what}: {name} differs between two runs with the same config and seed"


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_same_seed_gives_identical_outputs(name, kinds, tmp_path):
    workload = WORKLOADS[name]
    missing = kinds_of(workload) - kinds
    if missing:
        pytest.skip(f"workload kind(s) {sorted(missing)} not registered in this build")
    cfg = tmp_path / f"{name}.json"
    cfg.write_text(json.dumps({"machine": SMALL, "workload": workload, "run": {"seed": 7}}))
    extra = ["--trace"] + (["--record"] if record_supported(tmp_path) else [])
    a = run(cfg, tmp_path / "a", *extra)
    b = run(cfg, tmp_path / "b", *extra)
    assert (a / "trace.json").exists()
    assert (a / "threads.csv").exists() and (a / "cores.csv").exists()
    assert_same(a, b, name)


@pytest.mark.parametrize("cfg", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_every_shipped_config_is_deterministic(cfg, kinds, tmp_path):
    """Each config in configs/ (trace and ops replays, Genode scenarios, every workload kind) twice, timeline on."""
    doc = json.loads(cfg.read_text())
    workload = doc.get("workload", {})
    missing = kinds_of(workload) - kinds
    if missing:
        pytest.skip(f"workload kind(s) {sorted(missing)} not registered in this build")
    extra = ["--trace"] + (["--record"] if record_supported(tmp_path) else [])
    a = run(cfg, tmp_path / "a", *extra)
    b = run(cfg, tmp_path / "b", *extra)
    assert_same(a, b, cfg.name)


def test_seed_option_and_config_seed_agree(kinds, tmp_path):
    """`--seed N` is the same as run.seed = N: the resolved config and every output match."""
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"machine": SMALL, "workload": WORKLOADS["compute"], "run": {"seed": 3}}))
    cfg1 = tmp_path / "c1.json"
    cfg1.write_text(json.dumps({"machine": SMALL, "workload": WORKLOADS["compute"], "run": {"seed": 1}}))
    a = run(cfg, tmp_path / "a")
    b = run(cfg1, tmp_path / "b", "--seed", "3")
    assert_same(a, b, "--seed")
    assert json.loads((a / "results.json").read_text())["seed"] == 3


@pytest.mark.parametrize("kind", sorted(STOCHASTIC))
def test_different_seed_changes_stochastic_results(kind, kinds, tmp_path):
    if kind not in kinds:
        pytest.skip(f"stochastic workload kind '{kind}' is not registered in this build (no workload draws random "
                    f"numbers yet), so there is nothing a seed can change")
    cfg = tmp_path / f"{kind}.json"
    cfg.write_text(json.dumps({"machine": SMALL, **STOCHASTIC[kind], "run": {"seed": 1}}))
    a = run(cfg, tmp_path / "a")
    a2 = run(cfg, tmp_path / "a2")
    b = run(cfg, tmp_path / "b", "--seed", "2")
    assert_same(a, a2, kind)
    ra = json.loads((a / "results.json").read_text())
    rb = json.loads((b / "results.json").read_text())
    assert ra["seed"] == 1 and rb["seed"] == 2
    assert ra["workload"]["metrics"] != rb["workload"]["metrics"], \
        f"{kind}: seeds 1 and 2 gave the same workload metrics"
