"""Determinism: the same config and seed give byte-identical results (results.json apart from `wall_clock`, the host's
timings), CSV tables and trace files on every run; a different seed changes a stochastic workload's results.

Randomness in mksim comes only from sim/api/rng.hpp: one generator per named stream, seeded from run.seed and the
stream's name (docs/reliability.md). These tests run the mksim binary (MKSIM_BUILD_DIR, default build/, + /mksim)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import registered

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("MKSIM_BUILD_DIR", "build"))
MKSIM = (BUILD if BUILD.is_absolute() else ROOT / BUILD) / "mksim"

SMALL = {"sockets": 2, "cores_per_socket": 2}

# Small runs of deterministic workload kinds, a fraction of a second each. Every registered workload kind must appear
# here, in STOCHASTIC or in a shipped config (test_every_registered_workload_is_covered).
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

# Workload kinds that draw random numbers (sim/api/rng.hpp streams), with a small config in which the draws reach the
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
    "zipf-shift": {"workload": {"kind": "zipf-shift", "threads": 2, "cores": [0, 2], "working_set_bytes": 4194304,
                                "shift_period_s": 0.0005, "duration_s": 0.001}},
}
CONFIGS = sorted((ROOT / "configs").glob("*.json"))


def kernel_slots():
    """The kernel slots a config picks by name (kernel.<slot>): every slot of the registry but the workload and output
    ones, so that a new slot is covered without naming it here; every component registered in them runs twice below."""
    import mksim

    return sorted(set(mksim.components()) - {"workload", "output"})


@pytest.fixture(scope="module")
def kinds():
    assert MKSIM.exists(), f"no mksim binary at {MKSIM}: build first (MKSIM_BUILD_DIR={BUILD})"
    return registered("workload")


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


def every_output():
    """A --NAME flag for every optional output the build registers (sim/outputs.hpp), so that a new output is checked
    for determinism without being named here."""
    names = sorted(registered("output"))
    assert {"trace", "record"} <= set(names), names
    return [f"--{n}" for n in names]


def assert_same(a, b, what):
    fa, fb = outputs(a), outputs(b)
    assert sorted(fa) == sorted(fb), f"{what}: different files: {sorted(fa)} vs {sorted(fb)}"
    for name in fa:
        assert fa[name] == fb[name], f"{what}: {name} differs between two runs with the same config and seed"


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_same_seed_gives_identical_outputs(name, kinds, tmp_path):
    workload = WORKLOADS[name]
    assert kinds_of(workload) <= kinds, f"{name}: not registered: {sorted(kinds_of(workload) - kinds)}"
    cfg = tmp_path / f"{name}.json"
    cfg.write_text(json.dumps({"machine": SMALL, "workload": workload, "run": {"seed": 7}}))
    extra = every_output()
    a = run(cfg, tmp_path / "a", *extra)
    b = run(cfg, tmp_path / "b", *extra)
    assert (a / "trace.json").exists()
    assert (a / "threads.csv").exists() and (a / "cores.csv").exists()
    assert_same(a, b, name)


@pytest.mark.parametrize("cfg", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_every_shipped_config_is_deterministic(cfg, kinds, tmp_path):
    """Each config in configs/ (trace and ops replays, Genode scenarios, every workload kind) twice, every output on."""
    doc = json.loads(cfg.read_text())
    workload = doc.get("workload", {})
    assert kinds_of(workload) <= kinds, f"{cfg.name}: not registered: {sorted(kinds_of(workload) - kinds)}"
    extra = every_output()
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
    assert kind in kinds
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


def shipped_kinds():
    out = set()
    for cfg in CONFIGS:
        out |= kinds_of(json.loads(cfg.read_text()).get("workload", {}))
    return out


def test_every_registered_workload_is_covered(kinds):
    """A new workload kind cannot be left out: it needs a case in WORKLOADS or STOCHASTIC, or a shipped config."""
    covered = set(STOCHASTIC) | shipped_kinds()
    for w in WORKLOADS.values():
        covered |= kinds_of(w)
    assert kinds - covered == set(), f"workload kinds without a determinism case: {sorted(kinds - covered)}"


KERNEL_COMPONENTS = [(slot, name) for slot in kernel_slots() for name in sorted(registered(slot))]


@pytest.mark.parametrize("slot,name", KERNEL_COMPONENTS, ids=[f"{s}={n}" for s, n in KERNEL_COMPONENTS])
def test_every_kernel_component_is_deterministic(slot, name, tmp_path):
    """Every registered architecture, scheduler, memory policy, allocator and shootdown protocol, enumerated from the
    registry, with work that exercises it (syscalls, memory, allocation, unmapping, more threads than cores)."""
    workload = [WORKLOADS["compute"], {"kind": "stream", "threads": 2, "bytes_per_thread": 1048576},
                {"kind": "unmap", "cores": 4, "iterations": 5}, {"kind": "larson", "threads": 2, "objects_per_thread": 20,
                                                   "duration_s": 0.0001}]
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"machine": SMALL, "kernel": {slot: name}, "workload": workload, "run": {"seed": 5}}))
    a = run(cfg, tmp_path / "a", "--trace")
    b = run(cfg, tmp_path / "b", "--trace")
    assert json.loads((a / "results.json").read_text())["config"]["kernel"][slot] == name
    assert_same(a, b, f"kernel.{slot}={name}")
