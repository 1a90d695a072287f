"""Replications in sweeps (issue 14, item 4): `mksim sweep` and mksim.sweep run N independent seeds per point and
give each metric's mean with its 95% confidence interval; the same sweep gives the same table; the interval covers a
known mean (the M/M/1 mean wait) in a reasonable fraction of independent repetitions."""

import json
import math

import pandas as pd
import pytest

import mksim
from conftest import run_cli

SERVICE_S = 1e-5


def queue_config(rho, requests):
    """M/M/1 with every kernel cost zero, as validation/configs/queue-mmc.json."""
    return {
        "machine": {"name": "ideal-2", "sockets": 1, "cores_per_socket": 2, "freq_ghz": 2.0,
                    "caches": {"l1": {"latency_cycles": 0.001}, "l2": {"latency_cycles": 0.001},
                               "l3": {"latency_cycles": 0.001}},
                    "cpu": {"kernel_entry_exit_cycles": 0, "address_space_switch_cycles": 0}},
        "kernel": {"architecture": "monolithic",
                   "monolithic": {"trap_cycles": 0, "shared_state_cycles": 0, "context_switch_cycles": 0,
                                  "vma_cycles": 0, "page_table_cycles_per_page": 0, "ipi_send_cycles": 0,
                                  "ipi_latency_ns": 0, "ipi_handler_cycles": 0}},
        "workload": {"kind": "client-server", "cores": 1, "arrival_rate_per_s": rho / SERVICE_S,
                     "service_time_s": SERVICE_S, "service_distribution": "exponential", "requests": requests,
                     "warmup_requests": 200, "request_bytes": 0},
        "run": {"seed": 11},
    }


def test_replications_give_mean_and_interval_columns(tmp_path):
    out = tmp_path / "sweep"
    df = mksim.sweep(queue_config(0.5, 3000), grid={"workload.arrival_rate_per_s": [30000, 50000]},
                     replications=4, jobs=2, out=out, progress=False, metrics=["mean_wait_s"])
    assert list(df.columns[:3]) == ["workload.arrival_rate_per_s", "runs", "runs_ok"]
    for col in ("mean_wait_s_mean", "mean_wait_s_ci95_lo", "mean_wait_s_ci95_hi", "mean_wait_s_n"):
        assert col in df.columns
    assert len(df) == 2 and (df["runs"] == 4).all() and (df["mean_wait_s_n"] == 4).all()
    runs = df.attrs["runs"]
    assert len(runs) == 8 and sorted(runs["seed"].unique()) == [11, 12, 13, 14]  # run.seed + 0 .. 3
    for rate, g in runs.groupby("workload.arrival_rate_per_s"):
        row = df[df["workload.arrival_rate_per_s"] == rate].iloc[0]
        x = g["mean_wait_s"]
        assert row["mean_wait_s_mean"] == pytest.approx(x.mean())
        half = 3.18245 * x.std(ddof=1) / math.sqrt(4)
        assert row["mean_wait_s_ci95_hi"] == pytest.approx(x.mean() + half)
        assert row["mean_wait_s_ci95_lo"] == pytest.approx(x.mean() - half)
    # the folder: results.csv is the summary, runs.csv every run; sweep.json records the replications
    assert len(pd.read_csv(out / "results.csv")) == 2 and len(pd.read_csv(out / "runs.csv")) == 8
    assert json.loads((out / "sweep.json").read_text())["replications"] == 4
    loaded = mksim.load_sweep(out)
    assert list(loaded.columns) == list(df.columns) and len(loaded) == 2


def test_replications_are_deterministic_and_the_cli_agrees(tmp_path, mksim_bin):
    cfg = tmp_path / "queue.json"
    cfg.write_text(json.dumps(queue_config(0.7, 2000)))
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"base": "queue.json", "grid": {"workload.requests": [2000]}, "replications": 3,
                                "metrics": ["mean_wait_s"]}))
    run_cli("sweep", str(spec), "-o", str(tmp_path / "a"), "-q", "-j", "2")
    run_cli("sweep", str(spec), "-o", str(tmp_path / "b"), "-q", "-j", "1")
    a = (tmp_path / "a" / "results.csv").read_text()
    assert a == (tmp_path / "b" / "results.csv").read_text()
    assert "mean_wait_s_ci95_lo" in a.splitlines()[0]
    # --replications on the command line gives the same table as the key in the file
    spec2 = tmp_path / "s2.json"
    spec2.write_text(json.dumps({"base": "queue.json", "grid": {"workload.requests": [2000]},
                                 "metrics": ["mean_wait_s"]}))
    run_cli("sweep", str(spec2), "-o", str(tmp_path / "c"), "-q", "--replications", "3")
    assert (tmp_path / "c" / "results.csv").read_text() == a
    df = mksim.sweep(str(cfg), grid={"workload.requests": [2000]}, replications=3, progress=False,
                     metrics=["mean_wait_s"], jobs=2)
    assert df["mean_wait_s_mean"].iloc[0] == pytest.approx(float(a.splitlines()[1].split(",")[3]), rel=1e-12)


def test_replications_and_seeds_together_are_refused(tmp_path):
    with pytest.raises(ValueError, match="seeds or replications"):
        mksim.sweep(queue_config(0.5, 1000), seeds=2, replications=2, progress=False)
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"base": queue_config(0.5, 1000), "seeds": 2, "replications": 2}))
    r = run_cli("sweep", str(spec), "-o", str(tmp_path / "o"), check=False)
    assert r.returncode == 2 and "replications" in r.stderr


def test_interval_covers_the_mm1_mean_wait_in_most_repetitions(tmp_path):
    """12 independent repetitions (base seeds 100, 200, ...) of 5 replications each of an M/M/1 at utilisation 0.5:
    the 95% interval of the mean should cover rho / (1 - rho) * S in most of them (a short run starting empty waits
    a little less than the steady state, so somewhat less than 95%)."""
    exact = 0.5 / (1 - 0.5) * SERVICE_S
    pts = [{"run.seed": 100 * k} for k in range(1, 13)]
    covered = 0
    for p in pts:
        cfg = queue_config(0.5, 20000)
        cfg["run"]["seed"] = p["run.seed"]
        df = mksim.sweep(cfg, replications=5, jobs=2, progress=False, metrics=["mean_wait_s"])
        lo, hi = df["mean_wait_s_ci95_lo"].iloc[0], df["mean_wait_s_ci95_hi"].iloc[0]
        covered += lo <= exact <= hi
    assert covered >= 9, f"the interval covered the M/M/1 mean wait in only {covered} of 12 repetitions"
