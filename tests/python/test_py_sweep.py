"""mksim.sweep: tidy tables, failing points, interruption and resumption, the shared folder layout with the CLI,
progress bars, and a Dask LocalCluster on loopback."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

import mksim
from conftest import as_foreground_job, run_cli


def test_sweep_grid_gives_one_tidy_row_per_run(tmp_path, compute_config):
    out = tmp_path / "sweep"
    df = mksim.sweep(compute_config, grid={"workload.threads": [1, 2], "kernel.scheduler": ["round-robin", "cfs"]},
                     seeds=2, jobs=2, out=out, progress=False)
    assert isinstance(df, pd.DataFrame) and len(df) == 2 * 2 * 2
    assert list(df.columns[:6]) == ["id", "seed", "kernel.scheduler", "workload.threads", "ok", "error"]
    assert df["ok"].all() and df["error"].isna().all()
    assert sorted(df["seed"].unique()) == [1, 2]
    # the metrics are those of each point's own run
    assert (df["threads"] == df["workload.threads"]).all()
    assert (df["scheduler"] == df["kernel.scheduler"]).all()
    assert (df["makespan_s"] > 0).all()
    # grid order: keys sorted, the last varying fastest, seeds innermost
    assert list(df["workload.threads"][:4]) == [1, 1, 2, 2]
    # written to the folder as each run finished
    lines = (out / "points.jsonl").read_text().splitlines()
    assert len(lines) == 8
    for rec in map(json.loads, lines):
        assert (out / rec["run_dir"] / "results.json").exists()
    assert len(pd.read_csv(out / "results.csv")) == 8
    assert mksim.load_sweep(out).equals(df)


def test_sweep_metrics_selection_and_a_list_of_points(compute_config):
    df = mksim.sweep(compute_config, [{"workload.threads": 1}, {"workload.threads": 3, "workload.chunk_cycles": 5e5}],
                     metrics=["makespan_s", "threads", "cores.0.ops"], progress=False)
    assert list(df.columns) == ["id", "seed", "workload.threads", "workload.chunk_cycles", "ok", "error", "makespan_s",
                                "threads", "cores.0.ops"]
    assert df["threads"].tolist() == [1, 3]
    assert df["seed"].tolist() == [1, 1]  # the config's own seed
    assert df["cores.0.ops"].tolist() == [40, 8]  # 20 chunks + 20 calls; 4 chunks + 4 calls


def test_a_failing_point_is_recorded_and_the_others_go_on(tmp_path, compute_config):
    out = tmp_path / "failing"
    df = mksim.sweep(compute_config, grid={"workload.threads": [2, -1], "workload.cores": [[0, 1], [0, 99]]},
                     jobs=2, out=out, progress=False)
    assert len(df) == 4
    ok = df[df["ok"]]
    assert len(ok) == 1 and ok["workload.threads"].iloc[0] == 2 and ok["makespan_s"].iloc[0] > 0
    bad = df[~df["ok"]].set_index(df[~df["ok"]]["workload.threads"].astype(str) + df[~df["ok"]]["workload.cores"].astype(str))
    # a bad value is found when the point's config is checked ...
    assert "workload.threads: found -1" in bad.loc["-1[0, 1]", "error"]
    # ... a bad core when the workload is set up in the child process
    assert "core 99 does not exist" in bad.loc["2[0, 99]", "error"]
    recs = [json.loads(line) for line in (out / "points.jsonl").read_text().splitlines()]
    assert {r["error_kind"] for r in recs if not r["ok"]} == {"input"}


def test_an_interrupted_sweep_loses_nothing_and_a_rerun_skips_what_is_done(tmp_path, compute_config):
    compute_config["workload"].update(cycles_per_thread=4e8, chunk_cycles=2e4)  # a few tenths of a second per point
    out = tmp_path / "resume"
    grid = {"workload.threads": [1, 2, 3, 4], "kernel.scheduler": ["round-robin", "cfs"]}
    script = textwrap.dedent(f"""
        import json, mksim
        mksim.sweep(json.loads({json.dumps(json.dumps(compute_config))}), grid={grid!r}, jobs=1,
                    out={str(out)!r}, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], env=os.environ, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_foreground_job)
    points = out / "points.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if points.exists() and len(points.read_text().splitlines()) >= 2:
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"the sweep ended before it could be interrupted: {proc.stderr.read()}"
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    _, err = proc.communicate(timeout=60)
    assert "KeyboardInterrupt" in err
    done = [json.loads(line) for line in points.read_text().splitlines()]
    assert 2 <= len(done) < 8 and all(r["ok"] for r in done)  # the killed run was not recorded as a failure
    stamps = {r["id"]: os.stat(out / r["run_dir"] / "results.json").st_mtime_ns for r in done}

    df = mksim.sweep(compute_config, grid=grid, jobs=2, out=out, progress=False)
    assert len(df) == 8 and df["ok"].all()
    recs = [json.loads(line) for line in points.read_text().splitlines()]
    assert len(recs) == 8 and len({r["id"] for r in recs}) == 8  # nothing ran twice
    for rid, stamp in stamps.items():  # the points done before were not rerun
        assert os.stat(out / "runs" / rid / "results.json").st_mtime_ns == stamp


def test_a_folder_of_another_base_config_is_refused(tmp_path, compute_config):
    out = tmp_path / "s"
    mksim.sweep(compute_config, grid={"workload.threads": [1]}, out=out, progress=False)
    compute_config["workload"]["syscall_cycles"] = 1
    with pytest.raises(mksim.InputError, match="different base config"):
        mksim.sweep(compute_config, grid={"workload.threads": [1]}, out=out, progress=False)


def test_the_cli_and_python_share_sweep_folders(tmp_path, compute_config):
    base = tmp_path / "base.json"
    base.write_text(json.dumps(compute_config))
    spec = tmp_path / "sweep.json"
    spec.write_text(json.dumps({"base": "base.json", "grid": {"workload.threads": [1, 2]}, "seeds": [3, 4]}))
    out = tmp_path / "out"
    run_cli("sweep", spec, "-o", out, "--jobs", "2")
    cli = mksim.load_sweep(out)
    assert len(cli) == 4 and cli["ok"].all()
    py = mksim.sweep(base, grid={"workload.threads": [1, 2]}, seeds=[3, 4], out=out, progress=False)
    assert len((out / "points.jsonl").read_text().splitlines()) == 4  # every point was already done
    assert py["id"].tolist() == cli["id"].tolist()
    assert py["makespan_s"].tolist() == cli["makespan_s"].tolist()


def test_progress_bar_on_the_terminal(capsys, compute_config):
    mksim.sweep(compute_config, grid={"workload.threads": [1, 2, 3]}, jobs=2)
    err = capsys.readouterr().err
    assert "mksim sweep" in err and "3/3" in err


def test_sweep_on_a_dask_local_cluster(tmp_path, compute_config):
    distributed = pytest.importorskip("distributed")
    grid = {"workload.threads": [1, 2, 4], "kernel.scheduler": ["round-robin", "cfs"]}
    local = mksim.sweep(compute_config, grid=grid, seeds=1, jobs=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        with distributed.Client(cluster) as client:
            df = mksim.sweep(compute_config, grid=grid, seeds=1, executor=client, out=tmp_path / "dask",
                             progress=False)
            workers = client.run(os.getpid)
            # a failing point on a worker is recorded with its error, and the others go on
            failing = mksim.sweep(compute_config, grid={"workload.threads": [1, -5]}, executor=client, progress=False)
        # a scheduler address works too; this folder has every point done already
        again = mksim.sweep(compute_config, grid=grid, seeds=1, executor=cluster.scheduler_address,
                            out=tmp_path / "dask", progress=False)
    assert len(df) == 6 and df["ok"].all()
    assert len(workers) == 2 and os.getpid() not in workers.values()
    # the cluster computes the same figures as this machine
    assert df["makespan_s"].tolist() == local["makespan_s"].tolist()
    assert again["id"].tolist() == df["id"].tolist()
    assert len((tmp_path / "dask" / "points.jsonl").read_text().splitlines()) == 6
    assert failing["ok"].tolist() == [True, False] and "found -5" in failing["error"].iloc[1]
