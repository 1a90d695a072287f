"""The timeline (trace.json) against a strict Trace Event Format validator (trace_event_validator.py): traces of an
unmap (TLB shootdown) run, an IPC ping-pong and a scheduler-heavy run break none of its rules (exact times on which
back-to-back slices share their boundary in floating point, no empty slices, slices nested or disjoint on every track,
matched flows, metadata names), and the validator itself rejects each kind of fault."""

import json

import pytest

from conftest import ROOT, run_cli
from trace_event_validator import validate

CASES = {
    # the report's unmap trace: shootdowns across 8 cores of the Opteron box, IPIs and their handlers
    "unmap": ("configs/unmap.json", ["workload.cores=8", "workload.iterations=20"]),
    # messages between sockets: send/recv slices, flows from each send to its receive
    "ipc": ("configs/ipc-pingpong.json", ["workload.round_trips=300", "workload.warmup_round_trips=10"]),
    # more threads than cores, preemption, steals: many back-to-back run slices and context switches
    "scheduler": (None, None),
}

SCHED_CONFIG = {
    "description": "trace test: 12 compute threads with system calls on 4 cores, work stealing",
    "machine": {"sockets": 2, "cores_per_socket": 2},
    "kernel": {"architecture": "monolithic", "scheduler": "work-stealing", "work-stealing": {"time_slice_us": 50}},
    "workload": {"kind": "compute", "threads": 12, "cycles_per_thread": 1e6, "chunk_cycles": 3.3e4,
                 "syscalls_per_chunk": 1, "syscall_class": "file", "syscall_cycles": 1700},
    "run": {"seed": 3},
}


def trace_of(case, tmp_path):
    config, sets = CASES[case]
    if config is None:
        path = tmp_path / "sched.json"
        path.write_text(json.dumps(SCHED_CONFIG))
        config, sets = path, []
    args = ["run", config, "--trace", "-q", "-o", tmp_path / case]
    for s in sets:
        args += ["--set", s]
    run_cli(*args, cwd=ROOT, timeout=300)
    return (tmp_path / case / "trace.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("case", sorted(CASES))
def test_trace_passes_the_strict_validator(case, tmp_path):
    text = trace_of(case, tmp_path)
    problems = validate(text)
    assert problems == [], f"{len(problems)} problems, the first:\n" + "\n".join(problems[:10])
    doc = json.loads(text)
    x = [e for e in doc["traceEvents"] if e["ph"] == "X"]
    assert len(x) > 50
    # back-to-back slices on a track exist and share their boundary exactly in floating point
    by_track = {}
    for e in x:
        by_track.setdefault((e["pid"], e["tid"]), set()).add(e["ts"])
    shared = sum(1 for e in x if e["ts"] + e["dur"] in by_track[(e["pid"], e["tid"])])
    assert shared > 10
    if case == "ipc":
        assert any(e["ph"] == "s" for e in doc["traceEvents"]) and any(e["cat"] == "ipc" for e in x)
    if case == "unmap":
        assert any(e["name"] == "interrupt" for e in x)


def test_trace_times_give_back_the_simulated_nanoseconds(tmp_path):
    # Perfetto reads llround(ts * 1000) ns: every slice boundary is a whole nanosecond of simulated time, and the run
    # slices of a core plus its context switches make up its busy time in the results
    text = trace_of("scheduler", tmp_path)
    doc = json.loads(text)
    results = json.loads((tmp_path / "scheduler" / "results.json").read_text())
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in doc["traceEvents"]
             if e["ph"] == "M" and e["name"] == "thread_name"}
    busy_ns = {}
    for e in doc["traceEvents"]:
        if e["ph"] != "X":
            continue
        a, d = round(e["ts"] * 1000), round(e["dur"] * 1000)
        assert abs(e["ts"] * 1000 - a) < 0.125 and abs(e["dur"] * 1000 - d) < 0.25  # within the grid's half-step
        if e["cat"] == "thread" or e["name"] == "context switch":
            core = int(names[(e["pid"], e["tid"])].split()[1])
            busy_ns[core] = busy_ns.get(core, 0) + d
    for c in results["cores"]:  # the rest of busy_s: the scheduler's steal probes, outside any thread's slice
        assert 0.99 * c["busy_s"] * 1e9 <= busy_ns[c["id"]] <= c["busy_s"] * 1e9 + 1


def event_doc(*events, names=True):
    meta = [{"name": "process_name", "ph": "M", "pid": 1, "args": {"name": "p"}},
            {"name": "thread_name", "ph": "M", "pid": 1, "tid": 1, "args": {"name": "t"}}] if names else []
    return json.dumps({"traceEvents": meta + list(events)})


def x(ts, dur, name="a", **kw):
    return dict({"name": name, "cat": "c", "ph": "X", "ts": ts, "dur": dur, "pid": 1, "tid": 1}, **kw)


def test_validator_accepts_a_well_formed_trace():
    ok = event_doc(x(0, 1, "run"), x(0.25, 0.5, "child"),
                   {"name": "m", "cat": "ipc", "ph": "s", "id": 1, "ts": 0.5, "pid": 1, "tid": 1},
                   x(1, 2, "next"),
                   {"name": "m", "cat": "ipc", "ph": "f", "bp": "e", "id": 1, "ts": 1.5, "pid": 1, "tid": 1},
                   {"name": "q", "ph": "C", "ts": 2, "pid": 1, "args": {"length": 3}})
    assert validate(ok) == []


@pytest.mark.parametrize("events, expected", [
    # decimal microseconds: 0.1 + 0.2 != 0.3 in doubles, the first slice ends after the second starts
    ([x(0.1, 0.2), x(0.3, 0.1, "b")], "not exactly a binary double"),
    ([x(0, 0)], "empty"),
    ([x(0, 2, "parent"), x(1, 2, "child")], "must nest or be disjoint"),
    ([x(0, 1, "p"), x(0, 2, "q", tid=1.5)], "tid: expected an integer"),
    ([x(0, 1), {"name": "m", "cat": "ipc", "ph": "s", "id": 7, "ts": 0.5, "pid": 1, "tid": 1}], "expected one each"),
    ([x(0, 1), {"name": "i", "ph": "i", "s": "x", "ts": 0.5, "pid": 1, "tid": 1}], "'g', 'p' or 't'"),
    ([x(0, 1), {"name": "q", "ph": "C", "ts": 1, "pid": 1, "args": {"length": "3"}}], "object of numbers"),
    ([x(1, 1), x(0, 1, "b")], "before the previous event"),
    ([x(0, 1, colour=3)], "unknown key 'colour'"),
    ([{"name": "thread_colour", "ph": "M", "pid": 1, "tid": 1, "args": {}}], "metadata name"),
    # same name back to back: speedscope takes the tie for a zero-length slice and merges the two
    ([x(0, 1, "a"), x(1, 1, "a")], "speedscope would draw"),
])
def test_validator_rejects_each_fault(events, expected):
    problems = validate(event_doc(*events))
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems


def test_validator_requires_names_and_strict_json():
    assert any("no thread_name" in p for p in validate(event_doc(x(0, 1), names=False)))
    assert validate('{"traceEvents": [{"name": "a", "ph": "X", "ts": NaN, "dur": 1, "pid": 1, "tid": 1}]}')[0] \
        .startswith("not strict JSON")


def test_speedscope_port_sees_the_staircase_of_inexact_ends():
    # two back-to-back slices whose ts + dur lands after the next ts: speedscope nests the second under the first
    from trace_event_validator import Num, speedscope_mismatches
    ev = [{"ph": "X", "name": n, "ts": Num(t), "dur": Num(d), "pid": Num("1"), "tid": Num("1")}
          for n, t, d in (("a", "0.1", "0.2"), ("b", "0.3", "0.1"))]
    assert any("'b'" in p for p in speedscope_mismatches(ev))
