"""The Chrome Trace Event timeline (`mksim run --trace`, mksim.run(trace=True)): a valid Chrome JSON file that
Perfetto UI and chrome://tracing open, with one track per core, run slices, kernel work, idle, wake-up instants,
message flows, run-queue and memory-bandwidth counters, names from metadata events, and byte-identical output for
the same config and seed."""

import collections
import json

import pytest

import mksim
from conftest import SMALL_MACHINE, run_cli

PHASES = {"M", "X", "i", "C", "s", "f"}


def load_checked(path):
    """Loads a trace and checks the Chrome Trace Event format rules that the viewers rely on."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)  # strict JSON: no trailing commas, NaN or Infinity
    assert isinstance(doc, dict) and isinstance(doc["traceEvents"], list)
    assert doc["displayTimeUnit"] in ("ms", "ns")
    last_ts = 0.0
    for e in doc["traceEvents"]:
        assert e["ph"] in PHASES, e
        assert isinstance(e["pid"], int) and isinstance(e["name"], str)
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "process_sort_index", "thread_name", "thread_sort_index")
            continue
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0
        assert e["ts"] >= last_ts, "events are written in time order"
        last_ts = e["ts"]
        if e["ph"] in ("X", "s", "f") or (e["ph"] == "i" and e["s"] == "t"):
            assert isinstance(e["tid"], int)
        if e["ph"] == "X":
            assert isinstance(e["dur"], (int, float)) and e["dur"] >= 0
        if e["ph"] == "C":
            assert e["args"] and all(isinstance(v, (int, float)) for v in e["args"].values())
        if e["ph"] in ("s", "f"):
            assert "id" in e and e["cat"]
        if e["ph"] == "f":
            assert e["bp"] == "e"
    return doc


def tracks(doc):
    procs = {e["pid"]: e["args"]["name"] for e in doc["traceEvents"] if e["ph"] == "M" and e["name"] == "process_name"}
    threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in doc["traceEvents"]
               if e["ph"] == "M" and e["name"] == "thread_name"}
    return procs, threads


def assert_nested(doc):
    """On every track, slices either nest or follow each other (what the viewers draw as stacks)."""
    by_track = collections.defaultdict(list)
    for e in doc["traceEvents"]:
        if e["ph"] == "X":  # integer nanoseconds: the file has exactly three decimals of microseconds
            a = round(e["ts"] * 1000)
            by_track[(e["pid"], e["tid"])].append((a, a + round(e["dur"] * 1000), e))
    for slices in by_track.values():
        stack = []  # ends of the open slices
        for a, b, e in sorted(slices, key=lambda s: (s[0], -(s[1] - s[0]))):
            while stack and stack[-1] <= a:
                stack.pop()
            assert not stack or b <= stack[-1], f"slice {e} overlaps the end of its parent ({stack[-1]} ns)"
            stack.append(b)


def test_trace_tracks_slices_counters_and_names(tmp_path):
    config = {
        "machine": SMALL_MACHINE,
        "workload": [
            # 6 threads on 2 cores: run queues fill, slices preempt, system calls are kernel work
            {"name": "busy", "kind": "compute", "threads": 6, "cores": [0, 1], "cycles_per_thread": 3e6,
             "chunk_cycles": 2e5, "syscalls_per_chunk": 1, "syscall_class": "file", "syscall_cycles": 3000},
            {"name": "mem", "kind": "stream", "threads": 2, "cores": [2, 3], "node": [0, 1],
             "bytes_per_thread": 8388608, "chunk_bytes": 1048576},
        ],
    }
    res = mksim.run(config, out=tmp_path / "run", trace=True)
    assert res.trace_path == tmp_path / "run" / "trace.json"
    doc = load_checked(res.trace_path)
    events = doc["traceEvents"]
    procs, threads = tracks(doc)
    # one process per NUMA node, one track per core, named by metadata events
    assert sorted(procs.values()) == ["NUMA node 0", "NUMA node 1"]
    assert sorted(threads.values()) == ["core 0", "core 1", "core 2", "core 3"]
    core_of = {key: int(name.split()[1]) for key, name in threads.items()}
    assert procs[[k for k, v in core_of.items() if v == 2][0][0]] == "NUMA node 1"
    assert_nested(doc)

    x = [e for e in events if e["ph"] == "X"]
    run_slices = [e for e in x if e["cat"] == "thread"]
    assert {e["name"] for e in run_slices} == set(res.threads["name"])
    # every thread slice sits on a track of a core that thread may run on; time stays within the run
    end_us = res.summary["sim_time_s"] * 1e6
    for e in run_slices:
        core = core_of[(e["pid"], e["tid"])]
        assert core in ((0, 1) if e["name"].startswith("compute") else (2, 3))
        assert e["ts"] + e["dur"] <= end_us + 1e-3
    # context switches are kernel slices between the run slices: one per switch, none inside a run slice
    switches = [e for e in x if e["cat"] == "kernel" and e["name"] == "context switch"]
    assert len(switches) == res.cores["context_switches"].sum() > 6
    # the run slices and context switches of a core add up to its busy time, to the nanoseconds of the file
    for core in range(4):
        mine = [e for e in run_slices + switches if core_of[(e["pid"], e["tid"])] == core]
        total = sum(e["dur"] for e in mine) * 1e-6
        assert total == pytest.approx(res.cores.loc[core, "busy_s"], rel=1e-6, abs=1e-9 * (len(mine) + 1))
    for sw in switches:
        track = (sw["pid"], sw["tid"])
        assert not any(e["ts"] < sw["ts"] < e["ts"] + e["dur"] for e in run_slices if (e["pid"], e["tid"]) == track)
    kernel = [e for e in x if e["cat"] == "kernel" and e["name"] != "context switch"]
    assert len(kernel) == res.tidy["events.syscall"] and {e["name"] for e in kernel} == {"syscall file"}
    assert any(e["cat"] == "idle" for e in x)
    assert len([e for e in x if e["cat"] == "memory"]) == 2 * 8

    wakeups = [e for e in events if e["ph"] == "i" and e["name"] == "wake-up"]
    assert len(wakeups) >= len(res.threads)
    run_queue = [e for e in events if e["ph"] == "C" and e["name"].startswith("run queue core")]
    assert run_queue, "run-queue counters"
    assert max(e["args"]["length"] for e in run_queue if e["name"] in ("run queue core 0", "run queue core 1")) >= 2
    bandwidth = [e for e in events if e["ph"] == "C" and e["name"] == "memory bandwidth GB/s"]
    assert {next(iter(e["args"])) for e in bandwidth} == {"node 0", "node 1"}
    nodes = mksim.machine(config=config)["nodes"]
    for n in (0, 1):
        series = [e["args"][f"node {n}"] for e in bandwidth if f"node {n}" in e["args"]]
        # at least the run's mean, at most what the node's memory controller sustains
        assert res.memory.loc[n, "mean_bandwidth_gb_s"] <= max(series) <= nodes[n]["controller_bandwidth_gb_s"]
    assert bandwidth[-1]["args"] in ({"node 0": 0}, {"node 1": 0})  # the streams end


def test_trace_message_flows_join_sends_to_receives(tmp_path):
    config = {"machine": SMALL_MACHINE,
              "workload": {"kind": "ipc-pingpong", "placement": [0, 2], "round_trips": 5, "warmup_round_trips": 1}}
    res = mksim.run(config, out=tmp_path, trace=True)
    doc = load_checked(res.trace_path)
    _, threads = tracks(doc)
    core_of = {key: int(name.split()[1]) for key, name in threads.items()}
    starts = {e["id"]: e for e in doc["traceEvents"] if e["ph"] == "s"}
    ends = {e["id"]: e for e in doc["traceEvents"] if e["ph"] == "f"}
    assert starts and set(starts) == set(ends)
    assert len(starts) == 2 * (5 + 1)  # a request and a reply per round trip
    for i, s in starts.items():
        f = ends[i]
        assert f["ts"] >= s["ts"]
        assert {core_of[(s["pid"], s["tid"])], core_of[(f["pid"], f["tid"])]} == {0, 2}
    ipc = [e for e in doc["traceEvents"] if e["ph"] == "X" and e["cat"] == "ipc"]
    assert {e["name"].split()[0] for e in ipc} == {"send", "recv"}
    assert_nested(doc)


def test_trace_ipis_are_instants_and_flows_to_the_interrupt_handler(tmp_path):
    # A TLB shootdown on 4 cores: the unmapping core interrupts the other three, each runs the handler (an
    # "interrupt" kernel slice) inside the thread slice it interrupts.
    config = {"machine": dict(SMALL_MACHINE, freq_ghz=2.0), "kernel": {"architecture": "monolithic"},
              "workload": {"kind": "unmap", "cores": 4, "iterations": 5}}
    res = mksim.run(config, out=tmp_path, trace=True)
    doc = load_checked(res.trace_path)
    events = doc["traceEvents"]
    _, threads = tracks(doc)
    core_of = {key: int(name.split()[1]) for key, name in threads.items()}
    sent = [e for e in events if e["ph"] == "i" and e["name"] == "IPI sent"]
    handled = [e for e in events if e["ph"] == "i" and e["name"] == "IPI"]
    assert len(sent) == res.tidy["events.interrupt"] >= 3 * 5
    assert len(handled) == len(sent)  # every target ran its handlers before the end (each thread waits on the unmap)
    assert all(core_of[(e["pid"], e["tid"])] == 0 for e in sent)
    assert {e["args"]["to_core"] for e in sent} == {1, 2, 3}
    starts = {e["id"]: e for e in events if e["ph"] == "s" and e["cat"] == "ipi"}
    ends = {e["id"]: e for e in events if e["ph"] == "f" and e["cat"] == "ipi"}
    assert len(starts) == len(sent) and set(starts) == set(ends)
    assert not {e["id"] for e in events if e["ph"] in ("s", "f") and e["cat"] == "ipc"} & set(starts)
    handlers = [e for e in events if e["ph"] == "X" and e["cat"] == "kernel" and e["name"] == "interrupt"]
    assert handlers
    for i, s in starts.items():
        f = ends[i]
        assert f["ts"] >= s["ts"]
        src, dst = core_of[(s["pid"], s["tid"])], core_of[(f["pid"], f["tid"])]
        assert src == 0 and dst in (1, 2, 3)
        # the arrow ends where the target's handler starts
        assert any(core_of[(h["pid"], h["tid"])] == dst and h["ts"] == f["ts"] for h in handlers)
    # handlers run inside the interrupted thread's run slice, and take the handler cycles the IPIs asked for
    assert_nested(doc)
    total_cycles = sum(e["args"]["handler_cycles"] for e in sent)
    assert sum(h["dur"] for h in handlers) * 1e-6 == pytest.approx(total_cycles / 2.0e9, rel=1e-6, abs=1e-9 * len(handlers))


def test_cli_trace_is_byte_identical_for_the_same_config_and_seed(tmp_path, stream_config):
    cfg = tmp_path / "stream.json"
    cfg.write_text(json.dumps(stream_config))
    run_cli("run", cfg, "--trace", "-q", "-o", tmp_path / "a")
    run_cli("run", cfg, "--trace", "-q", "-o", tmp_path / "b")
    run_cli("run", cfg, "--trace", "-q", "--seed", "2", "-o", tmp_path / "c")
    a = (tmp_path / "a" / "trace.json").read_bytes()
    assert a == (tmp_path / "b" / "trace.json").read_bytes()
    doc = load_checked(tmp_path / "a" / "trace.json")
    assert doc["otherData"]["seed"] == 1
    assert json.loads((tmp_path / "c" / "trace.json").read_bytes())["otherData"]["seed"] == 2
