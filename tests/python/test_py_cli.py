"""The CLI's batch commands: `mksim sweep` (parallel, resumable, failing and crashing points recorded),
`mksim compare` (a side-by-side table) and `mksim check` (expectations, --update)."""

import csv
import json
import os
import resource
import signal
import subprocess
import time

import pytest

from conftest import MKSIM_BIN, ROOT, as_foreground_job, run_cli


def write(path, doc):
    path.write_text(json.dumps(doc, indent=1))
    return path


def sweep_until_two_points(spec, out, jobs, **popen):
    """Starts `mksim sweep` (SIGINT at its default action, as a foreground job has it) and returns it once two points
    are recorded, still running."""
    proc = subprocess.Popen([str(MKSIM_BIN), "sweep", str(spec), "-o", str(out), "--jobs", str(jobs)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            preexec_fn=as_foreground_job, **popen)
    points = out / "points.jsonl"
    deadline = time.time() + 60
    while proc.poll() is None and time.time() < deadline:
        if points.exists() and len(points.read_text().splitlines()) >= 2:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep ended before it could be interrupted"
    return proc


def test_cli_sweep_is_parallel_resumable_and_writes_a_table(tmp_path, compute_config):
    compute_config["workload"].update(cycles_per_thread=4e8, chunk_cycles=2e4)  # a few tenths of a second each
    write(tmp_path / "base.json", compute_config)
    spec = write(tmp_path / "sweep.json", {"description": "resumable", "base": "base.json",
                                           "grid": {"workload.threads": [1, 2, 3, 4, 5, 6]},
                                           "metrics": ["makespan_s", "threads"]})
    out = tmp_path / "out"
    proc = sweep_until_two_points(spec, out, 1)
    points = out / "points.jsonl"
    proc.send_signal(signal.SIGINT)  # to the sweep alone, not to its children (as `kill -INT` does)
    output, err = proc.communicate(timeout=60)
    done = len(points.read_text().splitlines())
    assert 2 <= done < 6, f"{done} points done; the sweep exited with status {proc.returncode}; output:\n{output}{err}"
    assert proc.returncode == 130, err  # 128 + SIGINT
    assert f"interrupted by signal 2 (Interrupt): the running points were ended; {done} of 6 points" in err
    # the point that was running was ended with the sweep: no orphan finishes it later (a point takes ~0.3 s)
    finished = sorted(out.glob("runs/*/results.json"))
    time.sleep(1.0)
    assert len(finished) == done and sorted(out.glob("runs/*/results.json")) == finished

    again = run_cli("sweep", spec, "-o", out, "--jobs", "2")
    assert f"6 points: 6 ok, 0 failed; {6 - done} run now, {done} done before" in again.stdout
    assert again.stdout.count("ok\n") == 6 - done  # one progress line per point run now
    assert len(points.read_text().splitlines()) == 6
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["workload.threads"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert list(rows[0])[:6] == ["id", "seed", "workload.threads", "ok", "error", "makespan_s"]
    assert all(r["ok"] == "true" and r["threads"] == r["workload.threads"] for r in rows)
    sweep_json = json.loads((out / "sweep.json").read_text())
    assert sweep_json["base"]["workload"]["cycles_per_thread"] == 4e8 and len(sweep_json["points"]) == 6


def test_ctrl_c_on_a_terminal_records_no_point_as_failed(tmp_path, compute_config):
    """Ctrl-C on a terminal reaches the sweep and its running children at once (the foreground process group): the
    children killed by it are not recorded as failed points, and a rerun finishes the sweep."""
    compute_config["workload"].update(cycles_per_thread=4e8, chunk_cycles=2e4)  # a few tenths of a second each
    write(tmp_path / "base.json", compute_config)
    spec = write(tmp_path / "sweep.json", {"base": "base.json", "grid": {"workload.threads": [1, 2, 3, 4, 5, 6]}})
    out = tmp_path / "out"
    proc = sweep_until_two_points(spec, out, 3, start_new_session=True)
    points = out / "points.jsonl"
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does: the sweep and its children
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    records = [json.loads(line) for line in points.read_text().splitlines()]
    assert 2 <= len(records) < 6 and all(r["ok"] for r in records), records
    again = run_cli("sweep", spec, "-o", out, "--jobs", "2")
    assert f"6 points: 6 ok, 0 failed; {6 - len(records)} run now" in again.stdout


def test_cli_sweep_records_a_bad_point_and_a_crash_by_signal(tmp_path, compute_config):
    write(tmp_path / "base.json", compute_config)
    spec = write(tmp_path / "sweep.json", {
        "base": "base.json",
        "points": [{"workload.threads": 2},
                   {"workload.threads": -3},
                   # minutes of simulation: killed by the CPU-time limit below (SIGXCPU)
                   {"workload.cycles_per_thread": 1e11, "workload.chunk_cycles": 2e4}]})
    out = tmp_path / "out"

    def limit_cpu():  # each child inherits it; the sweep process itself uses almost no CPU
        resource.setrlimit(resource.RLIMIT_CPU, (1, 2))

    proc = subprocess.run([str(MKSIM_BIN), "sweep", str(spec), "-o", str(out), "-j", "3"], capture_output=True,
                          text=True, timeout=120, preexec_fn=limit_cpu, cwd=ROOT)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # some points failed
    assert "3 points: 1 ok, 2 failed" in proc.stdout
    recs = {json.dumps(r["params"], sort_keys=True): r
            for r in map(json.loads, (out / "points.jsonl").read_text().splitlines())}
    assert recs['{"workload.threads": 2}']["ok"]
    bad = recs['{"workload.threads": -3}']
    assert not bad["ok"] and bad["error_kind"] == "input" and "workload.threads: found -3" in bad["error"]
    crash = recs['{"workload.chunk_cycles": 20000.0, "workload.cycles_per_thread": 100000000000.0}']
    assert not crash["ok"] and crash["error_kind"] == "signal"
    assert "died of signal" in crash["error"] and "CPU time limit" in crash["error"]


def test_cli_sweep_rejects_a_bad_sweep_file(tmp_path, compute_config):
    write(tmp_path / "base.json", compute_config)
    spec = write(tmp_path / "sweep.json", {"base": "base.json", "grids": {"workload.threads": [1]}})
    proc = run_cli("sweep", spec, "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2
    assert "sweep.json: grids: unknown key 'grids'" in proc.stderr and "did you mean 'grid'" in proc.stderr


def test_cli_compare_prints_runs_side_by_side(tmp_path, compute_config):
    a = write(tmp_path / "four.json", compute_config)
    compute_config["workload"]["threads"] = 2
    b = write(tmp_path / "two.json", compute_config)
    run_cli("run", a, "-q", "-o", tmp_path / "run-a")
    proc = run_cli("compare", tmp_path / "run-a" / "results.json", b, "--metrics", "threads,makespan_s,cores.0.ops")
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["metric", "run-a", "two", "two/run-a"]
    assert lines[1].split() == ["threads", "4", "2", "0.5"]
    assert lines[2].split()[0] == "makespan_s"
    assert len(lines) == 4
    # all metrics, CSV, and a config that does not load
    full = run_cli("compare", a, b, "--csv").stdout
    assert full.splitlines()[0] == "metric,four,two,two/four"
    assert any(line.startswith("events.syscall,80,40,") for line in full.splitlines())
    bad = run_cli("compare", a, b, "--set", "kernel.scheduler=nope", check=False)
    assert bad.returncode == 2 and "unknown scheduler 'nope'" in bad.stderr


def test_cli_check_passes_fails_and_updates(tmp_path, compute_config):
    write(tmp_path / "compute.json", compute_config)
    exp = write(tmp_path / "expect.json", {
        "description": "pytest",
        "defaults": {"rel_tol": 0.01},
        "cases": [{"name": "four", "config": "compute.json",
                   "metrics": {"makespan_s": {"expected": 1.0, "rel_tol": 0.05},  # far off
                               "threads": {"expected": 4, "abs_tol": 0},
                               "status": {"expected": "completed"}}},
                  {"name": "two", "config": "compute.json", "set": {"workload.threads": 2}, "seed": 3,
                   "metrics": {"threads": {"expected": 2}, "cores.0.ops": {}}}]})
    proc = run_cli("check", exp, check=False)
    assert proc.returncode == 1
    lines = {tuple(line.split()[:2]): line for line in proc.stdout.splitlines()}
    assert "FAIL" in lines[("four", "makespan_s")] and "±5%" in lines[("four", "makespan_s")]
    assert lines[("four", "threads")].split()[2:4] == ["4", "4"] and lines[("four", "threads")].endswith("pass")
    assert lines[("four", "status")].endswith("pass")
    assert "no expected value yet" in lines[("two", "cores.0.ops")]
    assert "5 checks, 3 passed, 2 failed" in proc.stdout

    upd = run_cli("check", exp, "--update")
    assert upd.returncode == 0
    doc = json.loads(exp.read_text())
    m = doc["cases"][0]["metrics"]
    assert m["makespan_s"]["rel_tol"] == 0.05 and m["makespan_s"]["expected"] != 1.0  # tolerance kept
    assert list(m) == ["makespan_s", "threads", "status"]  # order kept
    assert doc["cases"][1]["metrics"]["cores.0.ops"]["expected"] == 40
    ok = run_cli("check", exp)
    assert "5 checks, 5 passed, 0 failed" in ok.stdout

    broken = write(tmp_path / "broken.json", {"cases": [{"name": "x", "config": "compute.json",
                                                          "metrics": {"threads": {"expect": 1}}}]})
    proc = run_cli("check", broken, check=False)
    assert proc.returncode == 2 and "cases[0].metrics.threads.expect: unknown key 'expect'" in proc.stderr


@pytest.mark.parametrize("command", ["sweep", "compare", "check"])
def test_cli_commands_have_help(command):
    proc = run_cli(command, "--help")
    assert "--jobs" in proc.stdout or "--set" in proc.stdout
