"""Single runs: check a config, run it, read its results; what is registered; machine summaries; side-by-side
comparisons."""

import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from . import _mksim
from ._config import config_args, override_list


class Result:
    """The results of one run (results.json), with its tables as pandas DataFrames.

    ``summary``: dict (status, sim_time_s, events, events_by_kind, threads, cores, architecture, ...);
    ``metrics``: the workload's headline metrics (dict); ``tidy``: every scalar as one flat dict (a sweep row);
    ``threads``, ``cores``, ``memory``: one row per thread / core / NUMA node; ``workload``: one row per workload
    instance with its scalar metrics; ``config``: the fully resolved config; ``doc``: results.json itself;
    ``out``: the run's output folder (None when it was temporary); ``trace_path``: its trace.json, or None (also
    for a traced run without ``out``, whose trace is held in memory); ``has_trace``; ``trace()``: the trace.
    """

    def __init__(self, doc, out=None, trace_text=None):
        self.doc = doc
        self.out = Path(out) if out is not None else None
        self._trace_text = trace_text
        self._frames = {}

    @property
    def summary(self):
        return dict(self.doc["summary"])

    @property
    def metrics(self):
        return dict(self.doc["workload"]["metrics"])

    @property
    def config(self):
        return self.doc["config"]

    @property
    def seed(self):
        return self.doc.get("seed")

    @property
    def tidy(self):
        return json.loads(_mksim.tidy_metrics(json.dumps(self.doc)))

    def _frame(self, key):
        if key not in self._frames:
            self._frames[key] = pd.DataFrame(self.doc.get(key, []))
        return self._frames[key]

    @property
    def threads(self):
        return self._frame("threads")

    @property
    def cores(self):
        return self._frame("cores")

    @property
    def memory(self):
        return self._frame("memory")

    @property
    def workload(self):
        if "workload" not in self._frames:
            rows = []
            for inst in self.doc["workload"].get("instances", []):
                row = {"name": inst["name"], "kind": inst["kind"]}
                row.update(inst.get("metrics", {}))
                rows.append(row)
            self._frames["workload"] = pd.DataFrame(rows)
        return self._frames["workload"]

    @property
    def trace_path(self):
        if self.out is None:
            return None
        p = self.out / "trace.json"
        return p if p.exists() else None

    @property
    def has_trace(self):
        return self._trace_text is not None or self.trace_path is not None

    def trace(self):
        """The Chrome trace (trace.json) as a dict; the run needs ``trace=True``."""
        if self._trace_text is not None:
            return json.loads(self._trace_text)
        if self.trace_path is None:
            raise FileNotFoundError("this run wrote no trace: run it with trace=True")
        with open(self.trace_path, encoding="utf-8") as f:
            return json.load(f)

    def metric(self, name):
        """One metric: a tidy name (``makespan_s``) or a dotted path into results.json (``cores.3.utilisation``)."""
        return json.loads(_mksim.metric_value(json.dumps(self.doc), name))

    def __repr__(self):
        s = self.doc["summary"]
        m = ", ".join(f"{k}={v:.4g}" for k, v in self.metrics.items() if isinstance(v, (int, float)))
        return (f"<mksim.Result {s['architecture']}/{s['scheduler']} on {s['cores']} cores: {s['status']}, "
                f"{s['sim_time_s']:.6g} s simulated; {m}>")


def validate(config, *, base_dir=None, overrides=None, **kw_overrides):
    """Check a config (path, JSON text or dict) with dotted-path overrides and return the fully resolved config
    (every default filled in). Raises :class:`mksim.InputError` with mksim's message."""
    cfg, is_path, bdir = config_args(config, base_dir)
    return json.loads(_mksim.resolve(cfg, is_path, bdir, override_list(overrides, kw_overrides)))


def run(config, out=None, *, trace=False, seed=None, base_dir=None, overrides=None, **kw_overrides):
    """Run one simulation and return its :class:`Result`.

    ``config``: a config file path, JSON text or a dict (relative paths in a dict resolve against ``base_dir``,
    default the current directory). Overrides are dotted config paths, given as a dict (``overrides=``) or as keyword
    arguments (``**{"kernel.architecture": "multikernel"}`` or ``kernel__architecture="multikernel"``). ``out``: the
    output folder (results.json, CSV tables, trace.json); without it the run writes into a temporary folder that is
    always removed before this returns (with ``trace``, the trace is read into the Result first: ``trace()`` works,
    ``trace_path`` is None; give ``out`` to keep a trace.json file for a viewer).
    The simulation runs in a child process; :class:`mksim.InputError` or :class:`mksim.SimulationError` carry
    mksim's message.
    """
    cfg, is_path, bdir = config_args(config, base_dir)
    ovs = override_list(overrides, kw_overrides)
    if trace:
        ovs.append("run.outputs.trace=true")
    if seed is not None:
        ovs.append(f"run.seed={int(seed)}")
    if out is not None:
        out = os.fspath(out)
        return Result(json.loads(_mksim.run(cfg, is_path, bdir, ovs, out)), out)
    tmp = tempfile.mkdtemp(prefix="mksim-run-")
    try:
        doc = json.loads(_mksim.run(cfg, is_path, bdir, ovs, tmp))
        trace_text = None
        if trace:
            with open(os.path.join(tmp, "trace.json"), encoding="utf-8") as f:
                trace_text = f.read()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Result(doc, None, trace_text)


def load_result(path):
    """A :class:`Result` from a results.json file or a run's output folder."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    with open(p, encoding="utf-8") as f:
        return Result(json.load(f), p.parent)


def components(slot=None, details=False):
    """What is registered (``mksim list``). ``slot``: "architecture", "scheduler", "memory_policy", "allocator",
    "workload" or "output". Without ``details``: the names (a list for one slot, else a dict slot -> names); with
    it: dicts with description and declared parameters."""
    comps = json.loads(_mksim.components())
    if slot is not None:
        known = sorted({c["slot"] for c in comps})
        if slot.endswith("s") and slot[:-1] in known:
            slot = slot[:-1]
        if slot not in known and slot not in ("architecture", "scheduler", "memory_policy", "allocator", "workload"):
            raise ValueError(f"unknown slot {slot!r}, expected one of: {', '.join(known)}")
        comps = [c for c in comps if c["slot"] == slot]
        comps.sort(key=lambda c: c["name"])
        return comps if details else [c["name"] for c in comps]
    if details:
        return sorted(comps, key=lambda c: (c["slot"], c["name"]))
    out = {}
    for c in comps:
        out.setdefault(c["slot"], []).append(c["name"])
    return {k: sorted(v) for k, v in out.items()}


def build_info():
    """Where this build of mksim lives: {"source_dir", "build_dir", "mksim_binary", "version"}.

    ``mksim_binary``: the `mksim` command of the same build (in the package, ``bin/mksim``, once installed with
    pip). ``source_dir``: the source tree the package was built from (its example configs are under
    source_dir/configs), None when that tree is gone; ``build_dir``: the CMake build folder, None for an installed
    package."""
    try:
        from . import _build
    except ImportError:  # the sources in python/mksim, not a build: nothing is known
        _build = None

    def path(name):
        value = getattr(_build, name, None)
        return Path(value) if value else None

    shipped = Path(__file__).resolve().parent / "bin" / "mksim"
    source = path("SOURCE_DIR")
    return {"source_dir": source if source is not None and (source / "configs").is_dir() else None,
            "build_dir": path("BUILD_DIR"),
            "mksim_binary": shipped if shipped.exists() else path("MKSIM_BINARY"),
            "version": _mksim.__version__}


def presets():
    """The machine presets: a list of {name, description, machine}."""
    return json.loads(_mksim.presets())


def machine(what=None, *, config=None, base_dir=None, overrides=None, **kw_overrides):
    """A machine's summary (packages, NUMA nodes, cores, caches, distances) as a dict: ``what`` is a preset name, a
    hwloc XML file, a config file or "--this-host"; or ``config=`` a config (path or dict) with overrides."""
    if config is not None:
        cfg, is_path, bdir = config_args(config, base_dir)
        return json.loads(_mksim.machine_of_config(cfg, is_path, bdir, override_list(overrides, kw_overrides)))
    if what is None:
        raise TypeError("give a preset name, a hwloc XML file, a config file, '--this-host', or config=")
    return json.loads(_mksim.machine(os.fspath(what)))


def compare(*runs, metrics=None, labels=None):
    """The metrics of several runs side by side (``mksim compare``): a DataFrame with one row per metric and one
    column per run. Each run is a :class:`Result`, a results.json path or run folder, or a config (run here)."""
    results, names = [], []
    for i, r in enumerate(runs):
        if isinstance(r, Result):
            results.append(r)
            names.append(f"run{i + 1}")
            continue
        p = Path(r) if isinstance(r, (str, os.PathLike)) and not str(r).lstrip().startswith("{") else None
        if p is not None and (p.is_dir() or _is_results_file(p)):
            res = load_result(p)
            results.append(res)
            names.append(res.out.name if p.is_dir() or p.name == "results.json" else p.stem)
        else:
            results.append(run(r))
            names.append(p.stem if p is not None else f"run{i + 1}")
    if labels is not None:
        names = list(labels)
    for i in range(len(names)):  # tell identical labels apart
        if names[i] in names[:i]:
            names[i] = f"{names[i]}#{i + 1}"
    tidies = [r.tidy for r in results]
    if metrics is None:
        metrics = []
        for t in tidies:
            metrics += [k for k in t if k not in metrics]
        metrics.sort(key=lambda k: k.startswith("events."))
    data = {name: [res.metric(m) for m in metrics] for name, res in zip(names, results)}
    return pd.DataFrame(data, index=pd.Index(metrics, name="metric"))


def _is_results_file(p):
    if not p.is_file() or p.suffix != ".json":
        return False
    with open(p, encoding="utf-8") as f:
        try:
            doc = json.load(f)
        except ValueError:
            return False
    return isinstance(doc, dict) and "summary" in doc
