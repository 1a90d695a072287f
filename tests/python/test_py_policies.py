"""Policies written in Python (python/src/policies.cpp, mksim.register_*): the Python versions of round-robin,
interleave and global-heap in mksim.policy_examples make the same decisions and charge the same costs as the C++
ones, so a run with either gives byte-identical output files; a Python policy is checked, listed and swept like a
built-in one, and its errors come back with its name."""

import json
from pathlib import Path

import pytest

import mksim
from conftest import SMALL_COMPUTE, SMALL_STREAM
from mksim import policy_examples

policy_examples.register_all()

FILES = ["results.json", "threads.csv", "cores.csv", "memory.csv"]
# The two streams' buffers placed by the memory policy (no explicit node).
POLICY_STREAM = json.loads(json.dumps(SMALL_STREAM))
POLICY_STREAM["workload"]["node"] = []


def outputs(out, rename):
    """The run's output files: the CSV tables as text, results.json (but its wall_clock) as parsed JSON (exact: Python reads every number
    back to the same double) with the Python policy's name written as the built-in's, in values and as the key of its
    parameter block (whose place in the file's key order differs)."""
    texts = {}
    for name in FILES:
        text = (Path(out) / name).read_text()
        if name == "results.json":
            doc = json.loads(text)
            doc.pop("wall_clock")  # host time, the one part of results.json that is not simulated
            for py_name, builtin in rename.items():
                kernel = doc["config"]["kernel"]
                kernel[builtin] = kernel.pop(py_name)
                for key, value in list(kernel.items()):
                    if value == py_name:
                        kernel[key] = builtin
                for key, value in list(doc["summary"].items()):
                    if value == py_name:
                        doc["summary"][key] = builtin
            texts[name] = doc
        else:
            texts[name] = text
    return texts


def same_run(tmp_path, config, slot, builtin, python, params=None):
    """Runs `config` with the built-in policy and with its Python copy (each given `params`); returns both runs'
    output files."""
    runs = []
    for name in (builtin, python):
        cfg = json.loads(json.dumps(config))
        cfg["kernel"][slot] = name
        if params is not None:
            cfg["kernel"][name] = params
        runs.append(mksim.run(cfg, out=tmp_path / ("builtin" if name == builtin else "python")))
    a, b = runs
    assert a.config["kernel"][slot] == builtin and b.config["kernel"][slot] == python
    return outputs(tmp_path / "builtin", {}), outputs(tmp_path / "python", {python: builtin})


def test_python_round_robin_is_byte_identical_to_the_builtin(tmp_path):
    cfg = json.loads(json.dumps(SMALL_COMPUTE))
    cfg["workload"]["threads"] = 10  # queues of several threads, time slices and preemptions
    builtin, python = same_run(tmp_path, cfg, "scheduler", "round-robin", "py-round-robin", {"time_slice_us": 100})
    assert builtin["results.json"]["summary"]["events_by_kind"]["context_switch"] > 20
    for name in FILES:
        assert python[name] == builtin[name], name


def test_python_round_robin_identical_with_blocking_and_wakeups(tmp_path):
    cfg = {"machine": {"sockets": 2, "cores_per_socket": 4},
           "kernel": {"architecture": "microkernel", "scheduler": "round-robin"},
           "workload": {"kind": "fork-join", "mode": "queue", "tasks": 40, "task_cycles": 2e5, "workers": 6},
           "run": {"seed": 3}}
    builtin, python = same_run(tmp_path, cfg, "scheduler", "round-robin", "py-round-robin")
    for name in FILES:
        assert python[name] == builtin[name], name


def test_python_interleave_and_global_heap_are_byte_identical(tmp_path):
    builtin, python = same_run(tmp_path / "p", POLICY_STREAM, "memory_policy", "interleave", "py-interleave")
    for name in FILES:
        assert python[name] == builtin[name], name
    assert all(n["read_bytes"] > 0 for n in builtin["results.json"]["memory"])  # both nodes served
    larson = {"machine": {"sockets": 1, "cores_per_socket": 4},
              "kernel": {"allocator": "global-heap"},
              "workload": {"kind": "larson", "threads": 4, "objects_per_thread": 50, "duration_s": 0.0002},
              "run": {"seed": 2}}
    builtin, python = same_run(tmp_path / "a", larson, "allocator", "global-heap", "py-global-heap")
    for name in FILES:
        assert python[name] == builtin[name], name


def test_python_policies_are_listed_and_their_parameters_checked():
    info = next(c for c in mksim.components("scheduler", details=True) if c["name"] == "py-round-robin")
    assert info["origin"] == "python: mksim.policy_examples.RoundRobin"
    assert [p["name"] for p in info["params"]] == ["time_slice_us"]
    cfg = json.loads(json.dumps(SMALL_COMPUTE))
    cfg["kernel"].update({"scheduler": "py-round-robin", "py-round-robin": {"time_slice_us": 0}})
    with pytest.raises(mksim.InputError, match=r"kernel\.py-round-robin\.time_slice_us.*python: mksim"):
        mksim.validate(cfg)


def test_python_scheduler_in_a_parallel_sweep():
    table = mksim.sweep(SMALL_COMPUTE, grid={"kernel.scheduler": ["round-robin", "py-round-robin"],
                                             "workload.threads": [6, 9]}, jobs=2)
    assert list(table["ok"]) == [True] * 4
    by = {(r["kernel.scheduler"], r["workload.threads"]): r["sim_time_s"] for _, r in table.iterrows()}
    for n in (6, 9):
        assert by[("py-round-robin", n)] == by[("round-robin", n)]


def test_errors_of_a_python_policy_name_it():
    class Broken(mksim.Scheduler):
        def __init__(self, params):
            pass

        def enqueue(self, thread, cpu, why):
            raise ValueError("no queue today")

        def pick_next(self, cpu):
            return None

        def has_waiting(self, core):
            return False

        def queue_length(self, core):
            return 0

        def time_slice_s(self, core, thread):
            return 1e-3

    mksim.register_scheduler("py-broken", Broken)
    with pytest.raises(mksim.SimulationError, match=r"Python scheduler 'py-broken'.*enqueue\(\).*no queue today"):
        mksim.run(SMALL_COMPUTE, **{"kernel.scheduler": "py-broken"})

    class NoPick:
        def __init__(self, params):
            pass

    mksim.register_scheduler("py-broken", NoPick)  # a Python name may be registered again
    with pytest.raises(mksim.SimulationError, match="has no method enqueue"):
        mksim.run(SMALL_COMPUTE, **{"kernel.scheduler": "py-broken"})
    with pytest.raises(mksim.InputError, match="already built into mksim"):
        mksim.register_scheduler("round-robin", NoPick)


def test_python_placement_sees_the_machine():
    class Farthest(mksim.Placement):
        """Every page on the node farthest from the touching core."""

        def __init__(self, params):
            pass

        def init(self, machine):
            self.m = machine

        def place(self, region, thread, core):
            lat = self.m.latency_ns[self.m.node_of(core)]
            far = max(range(self.m.num_nodes), key=lambda n: lat[n])
            return [1.0 if n == far else 0.0 for n in range(self.m.num_nodes)]

    mksim.register_placement("py-farthest", Farthest)
    res = mksim.run(POLICY_STREAM, **{"kernel.memory_policy": "py-farthest"})
    local = mksim.run(POLICY_STREAM, **{"kernel.memory_policy": "first-touch"})
    assert res.config["kernel"]["memory_policy"] == "py-farthest"
    # first-touch keeps each stream local, the farthest node makes both remote: slower
    assert res.metric("sim_time_s") > local.metric("sim_time_s")
    assert local.memory["remote_bytes"].sum() == 0 and res.memory["local_bytes"].sum() == 0
    assert res.memory["remote_bytes"].sum() == local.memory["local_bytes"].sum() > 0
