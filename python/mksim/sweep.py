"""Parameter sweeps: every point of a grid (or a list of points) times the seeds, run in parallel child processes on
this machine or on a Dask distributed cluster, gathered into one tidy DataFrame.

The output folder has the layout ``mksim sweep`` uses (docs/python.md): sweep.json, points.jsonl (one record appended
as each run finishes), runs/ID/ (each run's own output) and results.csv. Rerunning with the same folder skips the
points already done, so an interrupted sweep loses nothing; a point that fails is recorded with its error and the
others go on.
"""

import concurrent.futures as cf
import json
import os
import shutil
import tempfile
from collections.abc import Mapping

import pandas as pd

from . import _mksim
from ._config import dumps


def _run_point(base, base_file, base_dir, metrics, point, outdir):
    """One point, in whatever process runs it (this one's threads, or a Dask worker): a child process does the
    simulation; the record comes back as a dict."""
    return json.loads(_mksim.run_point(base, base_file, base_dir, list(metrics), json.dumps(point), outdir))


def _spec(base, grid, seeds, metrics, fixed, replications=None):
    spec = {}
    if isinstance(base, (str, os.PathLike)) and not os.fspath(base).lstrip().startswith("{"):
        spec["base"] = os.path.abspath(os.fspath(base))
    elif isinstance(base, (str, os.PathLike)):
        spec["base"] = json.loads(os.fspath(base))
    elif isinstance(base, Mapping):
        spec["base"] = base
    else:
        raise TypeError(f"base must be a config path, JSON text or a dict, not {type(base).__name__}")
    if fixed:
        spec["set"] = dict(fixed)
    if grid is not None:
        if isinstance(grid, Mapping):
            spec["grid"] = {k: list(v) if not isinstance(v, (str, bytes)) and hasattr(v, "__iter__") else [v]
                            for k, v in grid.items()}
        else:
            spec["points"] = [dict(p) for p in grid]
    if seeds is not None:
        spec["seeds"] = seeds if isinstance(seeds, int) else [int(s) for s in seeds]
    if metrics is not None:
        spec["metrics"] = list(metrics)
    if replications is not None:
        if seeds is not None:
            raise ValueError("give either seeds or replications (seeds derived from the config's run.seed)")
        spec["replications"] = int(replications)
    return spec


def _row(rec):
    row = {"id": rec["id"], "seed": rec.get("seed")}
    row.update(rec.get("params", {}))
    row["ok"] = rec.get("ok", False)
    row["error"] = rec.get("error")
    for k, v in rec.get("metrics", {}).items():
        row.setdefault(k, v)
    return row


def _table(records, metrics=()):
    """Columns as in results.csv: id, seed, the swept parameters, ok, error, then the metrics (those asked for in
    their order, the others by name)."""
    cols = ["id", "seed"]
    for r in records:
        cols += [k for k in r.get("params", {}) if k not in cols]
    cols += ["ok", "error"]
    cols += [m for m in metrics if m not in cols]
    for r in records:
        cols += [k for k in r.get("metrics", {}) if k not in cols]
    return pd.DataFrame([_row(r) for r in records], columns=cols)


def _summary(records, metrics):
    """The replications table: one row per point with each metric's mean, 95% interval and count (computed by the
    same C++ code as `mksim sweep`'s results.csv); the per-run table is in ``.attrs["runs"]``."""
    s = json.loads(_mksim.replication_summary(json.dumps(records), list(metrics)))
    df = pd.DataFrame(s["rows"], columns=s["columns"])
    df.attrs["runs"] = _table(records, metrics)
    return df


def load_sweep(out):
    """The table of a sweep's output folder (also of an interrupted one): one row per recorded point, latest record
    of each, in the order of sweep.json; for a sweep with replications, their summary (see ``sweep``)."""
    with open(os.path.join(out, "sweep.json"), encoding="utf-8") as f:
        info = json.load(f)
    order = [p["id"] for p in info["points"]]
    latest = {}
    path = os.path.join(out, "points.jsonl")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a torn last line
                latest[rec["id"]] = rec
    records = [latest[i] for i in order if i in latest]
    if info.get("replications"):
        return _summary(records, info.get("metrics", []))
    return _table(records, info.get("metrics", []))


def _progress_bar(total, initial, enabled, desc):
    if not enabled:
        return None
    from tqdm import std as tqdm_std

    bar_class = tqdm_std.tqdm
    try:  # a widget in notebooks when ipywidgets is there, text elsewhere
        shell = get_ipython().__class__.__name__  # noqa: F821 (defined in IPython)
        if shell == "ZMQInteractiveShell":
            import ipywidgets  # noqa: F401
            from tqdm import notebook

            bar_class = notebook.tqdm
    except (NameError, ImportError):
        pass
    return bar_class(total=total, initial=initial, desc=desc, unit="run")


def _dask_client(executor):
    if isinstance(executor, str):
        from distributed import Client

        return Client(executor), True
    return executor, False


def _is_dask(executor):
    return isinstance(executor, str) or type(executor).__module__.split(".")[0] == "distributed"


def sweep(base, grid=None, seeds=None, jobs=None, executor=None, out=None, *, metrics=None, fixed=None,
          progress=True, base_dir=None, replications=None):
    """Run a sweep and return one tidy DataFrame: one row per run with ``id``, ``seed``, the swept parameters (one
    column per dotted path), ``ok``, ``error``, then the metrics (``Result.tidy``'s names, or those in ``metrics``).

    ``base``: a config path, JSON text or dict; ``fixed``: dotted-path overrides applied to every point.
    ``grid``: {dotted.path: [values]} (every combination; keys in sorted order, the last varying fastest) or a list
    of points [{dotted.path: value}, ...]. ``seeds``: a count N (seeds 1..N) or a list; None keeps the config's seed.
    ``jobs``: runs at once on this machine (default: its cores). ``executor``: None (this machine), a
    ``concurrent.futures.Executor``, a ``dask.distributed.Client`` or a Dask scheduler address ("tcp://host:8786");
    on a cluster the workers need mksim importable and ``out`` on a shared file system for the run folders (the
    records come back to this process either way). ``out``: the output folder; a rerun with it skips the points done
    (a folder holding a sweep of another base config is an error). Without it the sweep uses a temporary folder.
    ``progress``: show a progress bar (tqdm).
    ``replications``: N independent runs of every point, with seeds run.seed + 0 .. N-1 of the base config (not with
    ``seeds``). The table is then one row per point: the swept parameters, ``runs``, ``runs_ok``, and for every
    numeric metric ``<metric>_mean``, ``<metric>_ci95_lo``, ``<metric>_ci95_hi`` (the 95% confidence interval of the
    mean, Student t; empty with fewer than 2 runs) and ``<metric>_n``; ``.attrs["runs"]`` holds one row per run.
    """
    spec = _spec(base, grid, seeds, metrics, fixed, replications)
    temporary = out is None
    out = tempfile.mkdtemp(prefix="mksim-sweep-") if temporary else os.fspath(out)
    sdir = os.fspath(base_dir) if base_dir else os.getcwd()
    try:
        info = json.loads(_mksim.sweep_open(dumps(spec), "<sweep>", sdir, out))
        latest = {r["id"]: r for r in info["records"]}
        todo = [p for p in info["points"] if not latest.get(p["id"], {}).get("ok", False)]
        base_text = json.dumps(info["base"])
        args = (base_text, info["base_file"], info["base_dir"], info["metrics"])
        bar = _progress_bar(len(info["points"]), len(info["points"]) - len(todo), progress, "mksim sweep")
        points_file = os.path.join(out, "points.jsonl")

        def record(rec):
            with open(points_file, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec, separators=(",", ":")) + "\n")
            latest[rec["id"]] = rec
            if bar is not None:
                bar.update(1)
                if not rec["ok"]:
                    bar.write(f"mksim sweep: point {rec['id']} {rec['params']} failed: {rec['error']}")

        def rundir(p):
            return os.path.join(out, "runs", p["id"])

        try:
            if todo and _is_dask(executor):
                from distributed import as_completed

                client, owned = _dask_client(executor)
                try:
                    futures = [client.submit(_run_point, *args, p, rundir(p), pure=False,
                                             key=f"mksim-point-{p['id']}-{os.urandom(4).hex()}") for p in todo]
                    try:
                        for fut in as_completed(futures):
                            record(fut.result())
                    except BaseException:
                        client.cancel(futures)
                        raise
                finally:
                    if owned:
                        client.close()
            elif todo:
                pool = executor or cf.ThreadPoolExecutor(max_workers=jobs or _mksim.default_jobs())
                futures = [pool.submit(_run_point, *args, p, rundir(p)) for p in todo]
                try:
                    for fut in cf.as_completed(futures):
                        record(fut.result())
                except BaseException:
                    for f in futures:
                        f.cancel()
                    if executor is None:  # our threads wait on our children: end them
                        _mksim.cancel_runs()
                    raise
                finally:
                    if executor is None:
                        pool.shutdown(wait=True)
        finally:
            if bar is not None:
                bar.close()
        records = [latest[p["id"]] for p in info["points"] if p["id"] in latest]
        if info.get("replications"):
            _mksim.write_replication_csv(out, json.dumps(records), info["metrics"])
            return _summary(records, info["metrics"])
        _mksim.write_sweep_csv(out, json.dumps(records), info["metrics"])
        return _table(records, info["metrics"])
    finally:
        if temporary:
            shutil.rmtree(out, ignore_errors=True)
