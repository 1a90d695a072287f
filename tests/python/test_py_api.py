"""The Python API of single runs: validate, components, presets, machine summaries, run -> Result, errors."""

import json
import os
import signal
import tempfile
import threading
import time

import pandas as pd
import pytest

import mksim
from conftest import SMALL_COMPUTE


def test_validate_fills_defaults_and_applies_dotted_overrides(compute_config):
    resolved = mksim.validate(compute_config, **{"workload.threads": 3}, kernel__memory_policy="interleave")
    assert resolved["workload"]["threads"] == 3
    assert resolved["kernel"]["memory_policy"] == "interleave"
    # defaults the config did not give are filled in
    assert resolved["kernel"]["allocator"] == "global-heap"
    assert resolved["run"]["max_events"] == 0
    assert resolved["machine"]["sockets"] == 2


def test_validate_error_carries_mksims_message(compute_config):
    with pytest.raises(mksim.InputError) as err:
        mksim.validate(compute_config, **{"kernel.architecture": "monolithc"})
    msg = str(err.value)
    assert "unknown kernel architecture 'monolithc'" in msg
    assert "did you mean 'monolithic'" in msg
    assert err.value.where == "kernel.architecture"
    assert isinstance(err.value, ValueError)


def test_validate_runs_the_workload_setup(compute_config):
    # core 99 only fails once the workload is set up on the 4-core machine
    compute_config["workload"]["cores"] = [0, 99]
    with pytest.raises(mksim.InputError, match="core 99"):
        mksim.validate(compute_config)


def test_validate_reads_a_config_file(tmp_path, stream_config):
    path = tmp_path / "stream.json"
    path.write_text(json.dumps(stream_config))
    assert mksim.validate(path)["workload"]["kind"] == "stream"
    bad = tmp_path / "bad.json"
    bad.write_text('{"machine": {"preset": "server-2s"},\n "workload": {"kind": "stream",}}')
    with pytest.raises(mksim.InputError, match=r"bad\.json.*line 2"):
        mksim.validate(bad)


def test_components_and_presets_list_what_is_registered():
    comps = mksim.components()
    assert "monolithic" in comps["architecture"]
    assert "round-robin" in mksim.components("scheduler")
    assert {"compute", "stream"} <= set(mksim.components("workloads"))
    compute = next(c for c in mksim.components("workload", details=True) if c["name"] == "compute")
    params = {p["name"]: p for p in compute["params"]}
    assert params["cycles_per_thread"]["unit"] == "cycles" and params["cycles_per_thread"]["default"] == 1e7
    assert "trace" in mksim.components("output")
    names = {p["name"] for p in mksim.presets()}
    assert {"server-2s", "opteron-4s-64c", "desktop-1s"} <= names
    with pytest.raises(ValueError, match="unknown slot"):
        mksim.components("kernels")


def test_machine_summaries():
    m = mksim.machine("opteron-4s-64c")
    text = json.dumps(m)
    assert "64" in text and "8" in text
    small = mksim.machine(config={"machine": {"sockets": 2, "cores_per_socket": 3}, "workload": {"kind": "compute"}})
    assert json.dumps(small) != text
    with pytest.raises(mksim.InputError):
        mksim.machine("no-such-preset")


def test_machine_dict_marks_assumed_figures_and_says_where_the_others_come_from():
    m = mksim.machine("server-2s")
    assert m["provenance"]["freq_ghz"]["origin"] == "preset"
    assert "Intel" in m["provenance"]["freq_ghz"]["source"]
    assert "cpu.kernel_entry_exit_cycles" in m["assumed"] and "freq_ghz" not in m["assumed"]
    cfg = {"machine": {"sockets": 2, "cores_per_socket": 3}, "workload": {"kind": "compute"}}
    small = mksim.machine(config=cfg)
    assert small["provenance"]["cores_per_socket"] == {"origin": "config", "source": "<dict>"}
    assert {"freq_ghz", "caches.l2.latency_cycles", "memory.controller_bandwidth_gb_s"} <= set(small["assumed"])
    told = mksim.machine(config=cfg, overrides={"machine.freq_ghz": 3.2, "machine.caches.l2.latency_cycles": 12})
    assert "freq_ghz" not in told["assumed"] and "caches.l2.latency_cycles" not in told["assumed"]
    assert told["freq_ghz"] == 3.2 and told["caches"][1]["latency_cycles"] == 12
    host = mksim.machine("--this-host")
    assert host["provenance"]["caches.l1.size_kib"]["origin"] == "file"
    assert "freq_ghz" in host["assumed"] and "caches.l1.latency_cycles" in host["assumed"]
    assert all(p["sources"] for p in mksim.presets())


def test_choosing_a_preset_by_override_replaces_the_machine():
    # A one-node machine with its own 1x1 latency matrix, then another preset chosen by an override (issue 13).
    cfg = {"machine": {"sockets": 1, "cores_per_socket": 4, "interconnect": {"latency_ns": [[90]]}},
           "workload": {"kind": "compute", "threads": 2}}
    resolved = mksim.validate(cfg, overrides={"machine.preset": "server-2s", "machine.freq_ghz": 3.0})
    assert resolved["machine"]["preset"] == "server-2s"
    assert resolved["machine"]["interconnect"]["latency_ns"] == [[81, 141], [141, 81]]
    assert resolved["machine"]["freq_ghz"] == 3.0
    assert mksim.machine(config=cfg, machine__preset="server-2s")["cores"] == 40


def test_run_returns_results_as_dataframes(compute_config):
    res = mksim.run(compute_config)
    assert res.summary["status"] == "completed"
    assert res.summary["threads_finished"] == 4
    assert isinstance(res.threads, pd.DataFrame) and len(res.threads) == 4
    assert set(res.threads["state"]) == {"exited"}
    assert len(res.cores) == 4 and res.cores["utilisation"].between(0, 1).all()
    assert len(res.memory) == 2
    assert list(res.workload["kind"]) == ["compute"]
    assert res.workload.loc[0, "makespan_s"] == pytest.approx(res.metrics["makespan_s"])
    assert res.tidy["events.syscall"] == 4 * 20  # 2e6 cycles in 1e5 chunks, one call after each
    assert res.trace_path is None and res.out is None  # temporary output folder, removed
    # the same config and seed give the same figures
    again = mksim.run(compute_config)
    assert again.summary == res.summary and again.metrics == res.metrics


def test_run_overrides_and_seed(compute_config):
    res = mksim.run(compute_config, seed=7, **{"workload.threads": 2}, kernel__scheduler="round-robin")
    assert res.seed == 7
    assert res.summary["threads"] == 2
    assert res.config["workload"]["threads"] == 2


def test_run_from_a_path_into_an_output_folder(tmp_path, stream_config):
    cfg = tmp_path / "stream.json"
    cfg.write_text(json.dumps(stream_config))
    out = tmp_path / "run"
    res = mksim.run(cfg, out=out)
    assert (out / "results.json").exists() and (out / "cores.csv").exists()
    assert res.out == out
    # local vs remote: the buffer on node 1 is remote to core 1 (node 0)
    assert res.memory.loc[1, "remote_bytes"] == 16777216 and res.memory.loc[0, "local_bytes"] == 16777216
    loaded = mksim.load_result(out)
    assert loaded.metrics == res.metrics
    assert res.metric("memory.1.remote_bytes") == 16777216


def test_errors_from_the_child_process_come_back_as_exceptions(compute_config):
    # the bad core is found by the workload's setup, inside the child
    compute_config["workload"]["cores"] = [0, 99]
    with pytest.raises(mksim.InputError, match="core 99 does not exist"):
        mksim.run(compute_config)
    # a run after a failed one works: every run has its own process
    assert mksim.run(compute_config, **{"workload.cores": [0, 1]}).summary["status"] == "completed"


def _children(pid):
    kids = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            kids += [int(k) for k in f.read().split()]
    return kids


def test_a_child_killed_by_a_signal_raises_simulation_error(compute_config):
    compute_config["workload"].update(cycles_per_thread=5e10, chunk_cycles=2e4)  # minutes of simulation
    outcome = {}

    def target():
        try:
            mksim.run(compute_config)
        except Exception as e:  # noqa: BLE001 (the test inspects it)
            outcome["error"] = e

    before = set(_children(os.getpid()))
    thread = threading.Thread(target=target)
    thread.start()
    deadline = time.time() + 30
    while not (set(_children(os.getpid())) - before) and time.time() < deadline:
        time.sleep(0.01)
    for pid in set(_children(os.getpid())) - before:
        os.kill(pid, signal.SIGKILL)
    thread.join(30)
    assert isinstance(outcome.get("error"), mksim.SimulationError)
    assert "died of signal 9" in str(outcome["error"])


def test_compare_puts_runs_side_by_side(tmp_path, compute_config):
    a = mksim.run(compute_config, out=tmp_path / "a")
    b = mksim.run(compute_config, out=tmp_path / "b", **{"workload.threads": 2})
    table = mksim.compare(tmp_path / "a", tmp_path / "b" / "results.json", b, metrics=["threads", "makespan_s"])
    assert list(table.columns) == ["a", "b", "run3"]
    assert table.loc["threads"].tolist() == [4, 2, 2]
    assert table.loc["makespan_s", "a"] == pytest.approx(a.metrics["makespan_s"])


def test_a_traced_run_without_out_leaves_no_folder_behind(compute_config, tmp_path, monkeypatch):
    # Temporary folders go to tmp_path here, so that what a run leaves behind can be seen.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    res = mksim.run(compute_config, trace=True)
    assert list(scratch.iterdir()) == []  # the run's folder is gone ...
    assert res.out is None and res.trace_path is None and res.has_trace
    events = res.trace()["traceEvents"]  # ... and its trace is still there, in memory
    assert any(e.get("ph") == "X" and e.get("cat") == "thread" for e in events)
    # the same trace as a run that keeps its folder writes
    kept = mksim.run(compute_config, out=tmp_path / "kept", trace=True)
    assert kept.trace_path == tmp_path / "kept" / "trace.json"
    assert kept.trace() == res.trace()
    # a run that fails removes its folder too
    compute_config["workload"]["threads"] = -1
    with pytest.raises(mksim.InputError):
        mksim.run(compute_config, trace=True)
    assert list(scratch.iterdir()) == []
    plain = mksim.run(SMALL_COMPUTE)
    assert not plain.has_trace and list(scratch.iterdir()) == []
