"""The standard figures, with matplotlib; each returns the Figure (and draws into ``ax`` when given one).

``metric_vs_cores``: a metric against the core count, one line per kernel architecture (mean over seeds, with the
spread); ``latency_cdf``: cumulative distributions of latency samples; ``utilisation_heatmap``: per-core utilisation,
over time from a run's trace, or per run from several results.
"""

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def _axes(ax, figsize=(6.4, 4.0)):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def metric_vs_cores(table, metric, *, x="cores", by="architecture", ax=None, logx=False, logy=False, title=None):
    """``metric`` against ``x`` (default the core count), one line per value of ``by`` (default the kernel
    architecture), from a sweep table. Several rows per point (seeds) give the mean and a min-max band. Failed rows
    (``ok`` false) are left out."""
    df = pd.DataFrame(table)
    if "ok" in df:
        df = df[df["ok"].astype(bool)]
    for col in (metric, x):
        if col not in df:
            raise KeyError(f"no column {col!r} in the table (columns: {', '.join(map(str, df.columns))})")
    fig, ax = _axes(ax)
    groups = df.groupby(by, sort=True) if by is not None and by in df else [(None, df)]
    for label, g in groups:
        stats = g.groupby(x)[metric].agg(["mean", "min", "max"]).sort_index()
        line, = ax.plot(stats.index, stats["mean"], marker="o", label=str(label) if label is not None else metric)
        if (stats["max"] > stats["min"]).any():
            ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.2, color=line.get_color())
    ax.set_xlabel(x)
    ax.set_ylabel(metric)
    if logx:
        ax.set_xscale("log", base=2)
    if logy:
        ax.set_yscale("log")
    if by is not None and by in df:
        ax.legend(title=by)
    ax.grid(True, alpha=0.3)
    ax.set_title(title or f"{metric} vs {x}")
    fig.tight_layout()
    return fig


def latency_cdf(samples, *, value=None, by=None, ax=None, xlabel="latency", logx=False, title=None):
    """Empirical CDFs of latency samples: ``samples`` is a dict label -> values, a Series or array (one curve), or a
    DataFrame with the samples in column ``value`` and one curve per value of ``by``."""
    if isinstance(samples, pd.DataFrame):
        if value is None:
            raise ValueError("give value= (the column holding the samples)")
        curves = {str(k): g[value].to_numpy() for k, g in samples.groupby(by)} if by else {value: samples[value]}
    elif isinstance(samples, dict):
        curves = samples
    else:
        curves = {xlabel: samples}
    fig, ax = _axes(ax)
    for label, vals in curves.items():
        v = np.sort(np.asarray(vals, dtype=float))
        v = v[np.isfinite(v)]
        if v.size == 0:
            continue
        ax.step(v, np.arange(1, v.size + 1) / v.size, where="post", label=str(label))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("fraction of samples ≤ x")
    ax.set_ylim(0, 1.02)
    if logx:
        ax.set_xscale("log")
    ax.grid(True, alpha=0.3)
    if len(curves) > 1:
        ax.legend()
    ax.set_title(title or f"CDF of {xlabel}")
    fig.tight_layout()
    return fig


def utilisation_over_time(trace, bins=60):
    """Per-core busy fraction in ``bins`` equal time bins, from a Chrome trace (a Result with a trace, a path, or
    the loaded dict): a DataFrame with one row per core and one column per bin (its start time in seconds). Busy
    means running a thread (the ``thread`` slices)."""
    if hasattr(trace, "trace"):
        trace = trace.trace()
    elif not isinstance(trace, dict):
        with open(trace, encoding="utf-8") as f:
            trace = json.load(f)
    events = trace["traceEvents"]
    cores = {e["tid"]: e["args"]["name"] for e in events if e.get("ph") == "M" and e.get("name") == "thread_name"}
    slices = [e for e in events if e.get("ph") == "X" and e.get("cat") == "thread"]
    end_us = max([float(e["ts"]) + float(e["dur"]) for e in events if e.get("ph") == "X"] or [1.0])
    edges = np.linspace(0.0, end_us, bins + 1)
    width = edges[1] - edges[0]
    tids = sorted(cores)
    busy = np.zeros((len(tids), bins))
    row = {tid: i for i, tid in enumerate(tids)}
    for e in slices:
        a, b = float(e["ts"]), float(e["ts"]) + float(e["dur"])
        i = row.get(e["tid"])
        if i is None or b <= a:
            continue
        first, last = int(a // width), min(bins - 1, int(b // width))
        for k in range(first, last + 1):
            lo, hi = max(a, edges[k]), min(b, edges[k + 1])
            if hi > lo:
                busy[i, k] += (hi - lo) / width
    return pd.DataFrame(np.clip(busy, 0, 1), index=pd.Index([cores[t] for t in tids], name="core"),
                        columns=pd.Index(edges[:-1] * 1e-6, name="time_s"))


def utilisation_heatmap(data, *, bins=60, ax=None, cmap="viridis", title=None):
    """A per-core utilisation heat map. ``data``: a Result run with ``trace=True`` (or a trace path): cores x time;
    a dict label -> Result (or a list of Results): runs x cores, from each run's ``cores`` table; or a DataFrame
    already shaped rows x cores."""
    from .api import Result

    if isinstance(data, pd.DataFrame):
        grid, xlabel, ylabel = data, "core", data.index.name or ""
    elif isinstance(data, Result) and not data.has_trace:
        grid = data.cores.set_index("id")[["utilisation"]].T
        grid.index = [data.summary["architecture"]]
        xlabel, ylabel = "core", "run"
    elif isinstance(data, (Result, str)) or hasattr(data, "__fspath__"):
        grid, xlabel, ylabel = utilisation_over_time(data, bins), "simulated time (s)", "core"
    else:
        items = data.items() if isinstance(data, dict) else ((r.summary["architecture"], r) for r in data)
        rows = {str(k): r.cores.set_index("id")["utilisation"] for k, r in items}
        grid, xlabel, ylabel = pd.DataFrame(rows).T, "core", "run"
    fig, ax = _axes(ax, figsize=(7.0, max(2.2, min(6.0, 0.22 * len(grid) + 1.5))))
    im = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    fig.colorbar(im, ax=ax, label="utilisation")
    rows = list(grid.index)
    ystep = max(1, -(-len(rows) // 16))  # at most 16 row labels
    ax.set_yticks(range(0, len(rows), ystep))
    ax.set_yticklabels([str(r) for r in rows[::ystep]], fontsize=8)
    cols = list(grid.columns)
    xstep = max(1, -(-len(cols) // 8))
    ax.set_xticks(range(0, len(cols), xstep))
    if xlabel.startswith("simulated time") and cols:
        span = max(float(c) for c in cols) or 1.0
        scales = (("s", 1.0), ("ms", 1e3), ("µs", 1e6), ("ns", 1e9))
        unit, factor = next(((u, f) for u, f in scales if span * f >= 1), scales[-1])
        ax.set_xticklabels([f"{float(c) * factor:.3g}" for c in cols[::xstep]])
        xlabel = f"simulated time ({unit})"
    else:
        ax.set_xticklabels([str(c) for c in cols[::xstep]])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or "per-core utilisation")
    fig.tight_layout()
    return fig
