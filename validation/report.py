#!/usr/bin/python3
"""Runs every validation case (validation/cases.json) through the mksim binary and writes docs/validation.md with
its figures in docs/validation/: what mksim predicts beside what was measured on real machines.

Usage: /usr/bin/python3 validation/report.py [--build DIR] [--jobs N] [--only CASE_ID ...] [--no-write]
(scripts/validation_report.sh builds first and runs this). Exit status 1 when a case that is not marked missed leaves
its tolerance. tests/python/test_validation.py runs the same functions.
"""
import argparse
import concurrent.futures
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VALIDATION = ROOT / "validation"
CASES_FILE = VALIDATION / "cases.json"
CONFIGS = VALIDATION / "configs"


ROLES = ("prediction", "calibration", "consistency")
BASES = ("datasheet", "guide", "measurement", "estimate", "fitted", "input")
RESULTS_FILE = ROOT / "docs" / "validation" / "results.json"


def fitted_parameters(doc, case):
    """{parameter: [cases it was fitted to]} for the fitted parameters `case` depends on."""
    params = doc.get("parameters", {})
    return {p: params[p]["fitted_to"] for p in case.get("depends_on", []) if params[p].get("fitted_to")}


def fitted_to_case(doc, cid):
    """The parameters fitted to the published outcome of case `cid`."""
    return [n for n, p in doc.get("parameters", {}).items() if cid in p.get("fitted_to", [])]


def role_problems(doc):
    """Where the roles break the rules: a prediction whose own published outcome a parameter was fitted to, a case a
    parameter was fitted to that is not a calibration (or does not list the parameter), a calibration naming no
    parameter fitted to it, a case without depends_on."""
    out = []
    for c in doc["cases"]:
        here = fitted_to_case(doc, c["id"])
        if not c.get("depends_on"):
            out.append(f"{c['id']}: lists no parameters it depends on")
        for p in here:
            if p not in c.get("depends_on", []):
                out.append(f"{c['id']}: parameter {p} was fitted to it but is not in its depends_on")
        if here and c.get("role") != "calibration":
            out.append(f"{c['id']}: a {c.get('role')}, but {', '.join(here)} was fitted to it: a calibration")
        if c.get("role") == "calibration" and not here:
            out.append(f"{c['id']}: a calibration, but no parameter names it in fitted_to")
    return out


def independent(doc, case):
    """A prediction none of whose parameters was fitted to any published outcome."""
    return case.get("role") == "prediction" and not fitted_parameters(doc, case)


def load_cases(path=CASES_FILE):
    with open(path) as f:
        doc = json.load(f)
    check_cases(doc)
    return doc


def check_cases(doc):
    """Structural checks, so that a mistake in cases.json fails loudly rather than as a missing number."""
    exps = doc["experiments"]
    for name, e in exps.items():
        if not (CONFIGS / e["config"]).is_file():
            raise ValueError(f"experiment {name}: no config validation/configs/{e['config']}")
    seen = set()
    for c in doc["cases"]:
        cid = c["id"]
        if cid in seen:
            raise ValueError(f"case {cid} appears twice")
        seen.add(cid)
        if c["source"] not in doc["sources"]:
            raise ValueError(f"case {cid}: unknown source {c['source']}")
        if c["tolerance"] not in doc["tolerances"]:
            raise ValueError(f"case {cid}: unknown tolerance {c['tolerance']}")
        for e in experiments_of(c):
            if e not in exps:
                raise ValueError(f"case {cid}: unknown experiment {e}")
        if "missed" in c and not str(c["missed"]).strip():
            raise ValueError(f"case {cid}: a missed case needs its reason")
        if c.get("role") not in ROLES:
            raise ValueError(f"case {cid}: role {c.get('role')!r}, expected one of {', '.join(ROLES)}")
        for p in c.get("depends_on", []):
            if p not in doc.get("parameters", {}):
                raise ValueError(f"case {cid}: depends_on names unknown parameter {p}")
    for name, p in doc.get("parameters", {}).items():
        for cid in p.get("fitted_to", []) + p.get("loo_with", []):
            if cid not in seen:
                raise ValueError(f"parameter {name}: unknown case {cid}")
        if p.get("basis") not in BASES:
            raise ValueError(f"parameter {name}: basis {p.get('basis')!r}, expected one of {', '.join(BASES)}")
        if (p.get("basis") == "fitted") != bool(p.get("fitted_to")):
            raise ValueError(f"parameter {name}: a fitted parameter names the cases it was fitted to, and only it")


def experiments_of(case):
    kind = case.get("kind", "value")
    if kind == "crossover":
        return list(case["experiments"])
    if kind == "ratio":
        return [case["numerator"]["experiment"], case["denominator"]["experiment"]]
    if kind == "difference" and "minus_experiment" in case:
        return [case["experiment"], case["minus_experiment"]]
    return [case["experiment"]]


# --- running -------------------------------------------------------------------------------------------------------


def config_doc(exp):
    with open(CONFIGS / exp["config"]) as f:
        return json.load(f)


def queue_overrides(exp):
    """A queueing experiment names servers, utilisation and optionally the service distribution (exponential unless
    'fixed'); the arrival rate follows from the config's service time."""
    q = exp.get("queue")
    if not q:
        return {}
    service_s = exp.get("set", {}).get("workload.service_time_s", config_doc(exp)["workload"]["service_time_s"])
    c = q["servers"]
    out = {"workload.cores": c, "workload.arrival_rate_per_s": q["utilisation"] * c / service_s}
    if q.get("distribution", "exponential") != "exponential":
        out["workload.service_distribution"] = q["distribution"]
    return out


def runs_of(name, exp):
    """(experiment, sweep value or None, seed or None, --set overrides) for every simulation the experiment needs."""
    base = dict(exp.get("set", {}))
    base.update(queue_overrides(exp))
    sweep = exp.get("sweep")
    points = [(None, {})]
    if sweep:
        (field, values), = sweep.items()
        points = [(v, {field: v}) for v in values]
    seeds = exp.get("seeds", [None])
    if "replications" in exp:  # N independent seeds derived from the config's run.seed, as `mksim sweep` does
        first = config_doc(exp).get("run", {}).get("seed", 1)
        seeds = [first + r for r in range(exp["replications"])]
    out = []
    for x, extra in points:
        for s in seeds:
            out.append((name, x, s, {**base, **extra}))
    return out


def run_one(mksim, name, exp, x, seed, overrides, workdir):
    out = Path(workdir) / f"{name}-{x}-{seed}"
    cmd = [str(mksim), "run", str(CONFIGS / exp["config"]), "-o", str(out), "-q"]
    for k, v in overrides.items():
        cmd += ["--set", f"{k}={json.dumps(v)}"]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr}{proc.stdout}")
    with open(out / "results.json") as f:
        doc = json.load(f)
    if doc["summary"]["status"] != "completed":
        raise RuntimeError(f"{name} ({x}, seed {seed}) ended '{doc['summary']['status']}'")
    return with_paths(doc["workload"]["metrics"]), doc["mksim_version"]


def with_paths(metrics):
    """The metrics plus every number inside them under its dotted path ("probe.latency_ns.0.0": a named workload of a
    list, a matrix entry), so that a case can name one."""
    out = dict(metrics)

    def walk(v, path):
        if isinstance(v, dict):
            for k, w in v.items():
                walk(w, f"{path}.{k}")
        elif isinstance(v, list):
            for i, w in enumerate(v):
                walk(w, f"{path}.{i}")
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and "." in path:
            out[path] = v

    for k, v in metrics.items():
        walk(v, k)
    return out


def run_all(doc, mksim, jobs=2, only=None, workdir=None):
    """Runs the experiments the cases need; returns {experiment: {sweep value or None: {metric: mean over seeds,
    '_seeds': [per-seed metrics]}}} and the mksim version."""
    needed = set()
    for c in doc["cases"]:
        if only and c["id"] not in only:
            continue
        needed.update(experiments_of(c))
    tasks = []
    for name in sorted(needed):
        tasks += runs_of(name, doc["experiments"][name])
    results, version = {}, ""
    with tempfile.TemporaryDirectory(prefix="mksim-validation-", dir=workdir) as tmp:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futs = {pool.submit(run_one, mksim, n, doc["experiments"][n], x, s, o, tmp): (n, x, s)
                    for n, x, s, o in tasks}
            for fut in concurrent.futures.as_completed(futs):
                n, x, s = futs[fut]
                metrics, version = fut.result()
                results.setdefault(n, {}).setdefault(x, {"_seeds": []})["_seeds"].append((s, metrics))
    for by_x in results.values():
        for point in by_x.values():
            per_seed = [m for _, m in sorted(point["_seeds"], key=lambda sm: (sm[0] is None, sm[0] or 0))]
            point["_seeds"] = per_seed
            for k, v in per_seed[0].items():
                if isinstance(v, (int, float)):
                    point[k] = sum(m[k] for m in per_seed) / len(per_seed)
    return results, version


# --- evaluating ----------------------------------------------------------------------------------------------------


def erlang_c_wait_s(servers, utilisation, service_s):
    """Mean time in queue of M/M/c (M/M/1 for c = 1): P(wait) by Erlang C, times S / (c (1 - rho))."""
    c, rho = servers, utilisation
    a = c * rho
    top = a ** c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)
    return p_wait * service_s / (c * (1 - rho))


def md1_wait_s(utilisation, service_s):
    """Mean time in queue of M/D/1 (Pollaczek-Khinchine with a service-time variance of zero): rho S / (2 (1 - rho))."""
    rho = utilisation
    return rho * service_s / (2 * (1 - rho))


def queue_wait_s(q, service_s):
    """The formula an analytic experiment's queue is checked against: Erlang C for exponential service (M/M/c), the
    Pollaczek-Khinchine formula for fixed service on one server (M/D/1)."""
    dist = q.get("distribution", "exponential")
    if dist == "exponential":
        return erlang_c_wait_s(q["servers"], q["utilisation"], service_s)
    if dist == "fixed" and q["servers"] == 1:
        return md1_wait_s(q["utilisation"], service_s)
    raise ValueError(f"no closed form for {dist} service on {q['servers']} servers")


def queue_name(q):
    if q.get("distribution", "exponential") == "fixed":
        return "M/D/1 (Pollaczek-Khinchine)"
    return "M/M/1" if q["servers"] == 1 else f"M/M/{q['servers']} (Erlang C)"


def metric_at(results, exp, metric, at=None):
    point = results[exp][at]
    return point[metric]


def crossover(xs, a, b):
    """First x where curve a drops below curve b (a - b changes sign from > 0 to <= 0), linearly interpolated."""
    d = [ai - bi for ai, bi in zip(a, b)]
    for i in range(1, len(xs)):
        if d[i - 1] > 0 and d[i] <= 0:
            return xs[i - 1] + (xs[i] - xs[i - 1]) * d[i - 1] / (d[i - 1] - d[i])
    return None


def sweep_curve(results, exp, metric):
    pts = sorted((x, p[metric]) for x, p in results[exp].items())
    return [x for x, _ in pts], [y for _, y in pts]


T975 = (12.7062, 4.30265, 3.18245, 2.77645, 2.57058, 2.44691, 2.36462, 2.30600, 2.26216, 2.22814, 2.20099, 2.17881,
        2.16037, 2.14479, 2.13145, 2.11991, 2.10982, 2.10092, 2.09302, 2.08596, 2.07961, 2.07387, 2.06866, 2.06390,
        2.05954, 2.05553, 2.05183, 2.04841, 2.04523, 2.04227)


def student_t_975(df):
    """t(0.975, df), as sim/replications.cpp: the table up to 30, Cornish-Fisher beyond."""
    if df <= 30:
        return T975[df - 1]
    z, n = 1.959964, float(df)
    return (z + (z ** 3 + z) / (4 * n) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * n * n)
            + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * n ** 3))


def seed_spread(results, exp, metric, at=None):
    """Half-width of the 95% confidence interval (Student t) of the mean over the replications, or None."""
    per = [m[metric] for m in results[exp][at]["_seeds"]]
    n = len(per)
    if n < 2:
        return None
    mean = sum(per) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in per) / (n - 1))
    return student_t_975(n - 1) * sd / math.sqrt(n)


def evaluate(doc, results):
    """One row per case: published, simulated, error, whether it is within tolerance, status."""
    rows = []
    for c in doc["cases"]:
        if any(e not in results for e in experiments_of(c)):
            continue
        rows.append(evaluate_case(doc, c, results))
    return rows


def evaluate_case(doc, c, results):
    kind = c.get("kind", "value")
    tol = doc["tolerances"][c["tolerance"]]
    scale = c.get("scale", 1.0)
    published = c.get("published")
    row = {"id": c["id"], "case": c, "published": published, "simulated": None, "error": None, "within": False,
           "spread": None, "replications": None, "in_interval": None}
    if kind == "value" or kind == "analytic":
        sim = metric_at(results, c["experiment"], c["metric"], c.get("at"))
        if kind == "analytic":
            exp = doc["experiments"][c["experiment"]]
            q = exp["queue"]
            service_s = exp.get("set", {}).get("workload.service_time_s",
                                               config_doc(exp)["workload"]["service_time_s"])
            published = queue_wait_s(q, service_s) * scale
            row["published"] = published
            spread = seed_spread(results, c["experiment"], c["metric"], c.get("at"))
            row["spread"] = spread * scale if spread is not None else None
            row["replications"] = len(results[c["experiment"]][c.get("at")]["_seeds"])
        if c.get("transform") == "per_kcycle":
            sim = 1000.0 / sim
        row["simulated"] = sim * scale
    elif kind == "difference":
        # Of one experiment's sweep (at - minus_at), or of two experiments (experiment - minus_experiment).
        row["simulated"] = (metric_at(results, c["experiment"], c["metric"], c.get("at")) -
                            metric_at(results, c.get("minus_experiment", c["experiment"]), c["metric"],
                                      c.get("minus_at"))) * scale
    elif kind == "ratio":
        # Of two values, each an experiment's metric at one point of its sweep, or its difference between two points
        # (`minus_at`: the part that grows with the sweep, as a curve read off a figure less its start).
        def side(x):
            v = metric_at(results, x["experiment"], x["metric"], x.get("at"))
            return v - metric_at(results, x["experiment"], x["metric"], x["minus_at"]) if "minus_at" in x else v
        row["simulated"] = side(c["numerator"]) / side(c["denominator"])
    elif kind == "crossover":
        xa, ya = sweep_curve(results, c["experiments"][0], c["metric"])
        xb, yb = sweep_curve(results, c["experiments"][1], c["metric"])
        assert xa == xb, f"{c['id']}: the two sweeps must sample the same points"
        row["simulated"] = crossover(xa, ya, yb)
    elif kind == "shape":
        crit = c["criterion"]
        hi, lo = crit["ratio"]
        row["simulated"] = (metric_at(results, c["experiment"], c["metric"], hi) /
                            metric_at(results, c["experiment"], c["metric"], lo))
    else:
        raise ValueError(f"case {c['id']}: unknown kind {kind}")

    sim = row["simulated"]
    if sim is None:
        row["within"] = False
    elif kind == "shape":
        crit = c["criterion"]
        row["within"] = sim <= crit.get("at_most", math.inf) and sim >= crit.get("at_least", -math.inf)
    elif "absolute" in tol:
        row["error"] = sim - published
        row["within"] = abs(row["error"]) <= tol["absolute"]
    else:
        err = (sim - published) / published
        if c.get("bound") == "upper":
            err = max(0.0, err)
        row["error"] = err
        row["within"] = abs(err) <= tol["relative"] + 1e-12
    if kind == "analytic":
        # The mean of the replications against the formula: within tolerance only when the 95% interval is narrow
        # enough to say so (its half-width at most the tolerance); whether the formula lies inside it is reported.
        half = row["spread"]
        row["in_interval"] = half is not None and abs(sim - published) <= half
        row["within"] = row["within"] and half is not None and half <= tol["relative"] * abs(published)
    if "missed" in c:
        # A missed case that comes within its tolerance fails: the label must then be removed.
        row["status"] = "FAIL" if row["within"] else "missed"
    else:
        row["status"] = "pass" if row["within"] else "FAIL"
    return row


# --- leave one out ----------------------------------------------------------------------------------------------------


def _value_of(mksim, doc, case, override, workdir):
    """The simulated value of a value case with one extra --set override."""
    name = case["experiment"]
    exp = doc["experiments"][name]
    base = dict(exp.get("set", {}))
    base.update(queue_overrides(exp))
    base.update(override)
    metrics, _ = run_one(mksim, name, exp, "loo", None, base, workdir)
    sim = metrics[case["metric"]]
    if case.get("transform") == "per_kcycle":
        sim = 1000.0 / sim
    return sim * case.get("scale", 1.0)


def leave_one_out(doc, mksim, workdir=None, iterations=40):
    """For every calibration case: refit each parameter fitted to it against the other cases that parameter was (or
    could be: `loo_with`) fitted to, by a golden-section search over the parameter's range minimising the squared
    relative errors, and predict the case with the refitted value. {case: [{parameter, text, value, predicted,
    error}]}; a parameter fitted to the case alone gives 'no other data: cannot be predicted'."""
    cases = {c["id"]: c for c in doc["cases"]}
    out = {}
    with tempfile.TemporaryDirectory(prefix="mksim-loo-", dir=workdir) as tmp:
        for c in doc["cases"]:
            if c.get("role") != "calibration":
                continue
            entries = []
            for pname in fitted_to_case(doc, c["id"]):
                p = doc["parameters"][pname]
                pool = [x for x in p.get("fitted_to", []) + p.get("loo_with", []) if x != c["id"]]
                if not pool or "loo" not in p or c.get("kind", "value") != "value":
                    entries.append({"parameter": pname, "text": "no other data: cannot be predicted"})
                    continue
                spec = p["loo"]

                def cost(v):
                    return sum(((_value_of(mksim, doc, cases[x], {spec["set"]: v}, tmp) - cases[x]["published"]) /
                                cases[x]["published"]) ** 2 for x in pool)

                lo, hi = float(spec["lo"]), float(spec["hi"])
                g = (math.sqrt(5) - 1) / 2
                a, b = hi - g * (hi - lo), lo + g * (hi - lo)
                fa, fb = cost(a), cost(b)
                for _ in range(iterations):
                    if fa <= fb:
                        hi, b, fb = b, a, fa
                        a = hi - g * (hi - lo)
                        fa = cost(a)
                    else:
                        lo, a, fa = a, b, fb
                        b = lo + g * (hi - lo)
                        fb = cost(b)
                    if hi - lo < 0.05:
                        break
                v = round((lo + hi) / 2, 1)
                predicted = _value_of(mksim, doc, c, {spec["set"]: v}, tmp)
                err = (predicted - c["published"]) / c["published"]
                entries.append({"parameter": pname, "value": v, "predicted": predicted, "error": err,
                                "pool": pool,
                                "text": f"{pname} refitted to {', '.join(pool)}: {v:g} → {fmt_num(predicted, c.get('unit', ''))}"
                                        f" ({100 * err:+.1f}%)"})
            out[c["id"]] = entries
    return out


# --- machine-readable results ----------------------------------------------------------------------------------------


def results_doc(doc, rows, loo, version):
    """What docs/validation/results.json holds and tests/python/test_validation.py compares with a fresh run."""
    cases = {}
    for r in rows:
        c = r["case"]
        cases[r["id"]] = {"role": c.get("role"), "status": r["status"], "published": r["published"],
                          "simulated": r["simulated"], "error": r["error"], "within": r["within"],
                          "ci95_half_width": r["spread"], "replications": r["replications"],
                          "formula_in_interval": r["in_interval"], "independent": independent(doc, c),
                          "fitted_parameters": sorted(fitted_parameters(doc, c)),
                          "leave_one_out": [{k: e[k] for k in ("parameter", "text", "value", "predicted", "error")
                                             if k in e} for e in loo.get(r["id"], [])]}
    return {"mksim_version": version, "summary": summary_counts(doc, rows), "cases": cases}


def summary_counts(doc, rows):
    def n(sel):
        return sum(1 for r in rows if sel(r))

    return {
        "cases": len(rows),
        "pass": n(lambda r: r["status"] == "pass"), "FAIL": n(lambda r: r["status"] == "FAIL"),
        "missed": n(lambda r: r["status"] == "missed"),
        "predictions": n(lambda r: r["case"]["role"] == "prediction"),
        "predictions_pass": n(lambda r: r["case"]["role"] == "prediction" and r["status"] == "pass"),
        "independent_predictions": n(lambda r: independent(doc, r["case"])),
        "independent_predictions_pass": n(lambda r: independent(doc, r["case"]) and r["status"] == "pass"),
        "independent_analytic_pass": n(lambda r: independent(doc, r["case"]) and r["status"] == "pass" and
                                       r["case"].get("kind") == "analytic"),
        "calibrations": n(lambda r: r["case"]["role"] == "calibration"),
        "consistency": n(lambda r: r["case"]["role"] == "consistency"),
    }


def write_results_json(data, path=RESULTS_FILE):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


# --- writing -------------------------------------------------------------------------------------------------------


def fmt_num(v, unit=""):
    if v is None:
        return "—"
    if unit in ("cycles",) or (abs(v) >= 100 and unit not in ("x",)):
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def published_text(row):
    c = row["case"]
    if c.get("kind") == "shape":
        crit = c["criterion"]
        if "at_most" in crit and "at_least" in crit:
            return fmt_num(crit["at_least"], "x") + "–" + fmt_num(crit["at_most"], "x") + "×"
        return ("≤ " if "at_most" in crit else "≥ ") + fmt_num(crit.get("at_most", crit.get("at_least")), "x") + "×"
    text = fmt_num(row["published"], c.get("unit", "")) + ("×" if c.get("unit") == "x" else "")
    if c.get("bound") == "upper":
        text = "< " + text
    return text


def error_text(row, doc):
    c = row["case"]
    if row["error"] is None:
        return "—"
    tol = doc["tolerances"][c["tolerance"]]
    if "absolute" in tol:
        return f"{row['error']:+.1f} {tol.get('unit', '')}".strip()
    return f"{100 * row['error']:+.1f}%"


def tolerance_text(c, doc):
    tol = doc["tolerances"][c["tolerance"]]
    if c["tolerance"] == "shape":
        return "shape"
    if "absolute" in tol:
        return f"±{tol['absolute']} {tol.get('unit', '')} ({c['tolerance']})"
    return f"±{100 * tol['relative']:.0f}% ({c['tolerance']})"


def simulated_text(row):
    c = row["case"]
    unit = c.get("unit", "")
    if row["simulated"] is None:
        return "no crossing" if c.get("kind") == "crossover" else "—"
    text = fmt_num(row["simulated"], unit) + ("×" if unit == "x" else "")
    if row.get("spread") is not None:
        text += f" ± {fmt_num(row['spread'], unit)}"
    return text


def write_figures(doc, results, outdir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    cases = {c["id"]: c for c in doc["cases"]}
    made = {}

    def finish(fig, ax, name, xlabel, ylabel, title, legend_loc="upper left", grid_which="major"):
        """Labels, legend and grid every figure here has, then save."""
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(fontsize=8, loc=legend_loc)
        ax.grid(alpha=0.3, which=grid_which)
        save(fig, name)

    def save(fig, name):
        path = outdir / name
        fig.tight_layout()
        fig.savefig(path, dpi=110, metadata={"Software": None})
        plt.close(fig)
        made[name] = path

    if "unmap-linux" in results and "unmap-barrelfish" in results:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for exp, label, color in (("unmap-linux", "Linux", "tab:red"), ("unmap-barrelfish", "Barrelfish", "tab:blue")):
            xs, ys = sweep_curve(results, exp, "latency_cycles")
            ax.plot(xs, [y / 1000 for y in ys], "-o", color=color, ms=4, label=f"{label}: simulated")
            pts = [(c["at"], c["published"]) for c in doc["cases"] if c.get("experiment") == exp and "at" in c]
            ax.plot([p[0] for p in pts], [p[1] / 1000 for p in pts], "s", color=color, mfc="none", ms=9, mew=1.8,
                    label=f"{label}: published (Fig. 7)")
        cx = cases.get("mk-f7-crossover")
        if cx:
            ax.axvspan(cx["published"] - 2, cx["published"] + 2, color="0.85", zorder=0,
                       label="published crossover ±2 cores")
            xs, ya = sweep_curve(results, "unmap-barrelfish", "latency_cycles")
            _, yb = sweep_curve(results, "unmap-linux", "latency_cycles")
            x = crossover(xs, ya, yb)
            if x is not None:
                ax.axvline(x, color="k", ls="--", lw=1, label=f"simulated crossover ({x:.1f} cores)")
        ax.set_xlim(0, 33)
        ax.set_ylim(bottom=0)
        finish(fig, ax, "unmap-8x4.png", "cores sharing the address space", "unmap latency (1000 cycles)",
               "Unmap (TLB shootdown) on the 8x4-core AMD")

    if "shm" in results:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        xs, ys = sweep_curve(results, "shm", "cycles_per_update")
        ax.plot(xs, [y / 1000 for y in ys], "-o", color="tab:red", ms=4, label="shared memory (SHM8): simulated")
        one = results["shm"][1]["cycles_per_update"] if 1 in results["shm"] else 0
        ax.plot([1, 16], [0.030, (one + 12000) / 1000], "s", color="tab:red", mfc="none", ms=9, mew=1.8,
                label="published (Fig. 3): <30 cycles at 1 core, +12,000 at 16")
        if "server" in results:
            srv = results["server"][None]
            shm16 = results["shm"].get(16)
            if shm16:
                ratio = srv["updates_per_s"] / shm16["updates_per_s"]
                ax.text(0.02, 0.97, f"server / 16-core shared memory, updates per second:\n"
                        f"simulated {ratio:.1f}x, published about 2x", transform=ax.transAxes, va="top", fontsize=8)
        ax.set_ylim(bottom=0)
        finish(fig, ax, "shared-update-4x4.png", "cores updating", "cycles per update (1000s)",
               "Updating shared state, 4x4-core AMD (SHM8)", legend_loc="lower right")

    if "larson-global" in results or "larson-hoard" in results:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        top = 1
        for exp, label, color in (("larson-global", "global locked heap", "tab:red"),
                                  ("larson-hoard", "Hoard-style heaps (numa-hoard)", "tab:blue")):
            if exp not in results:
                continue
            xs, ys = sweep_curve(results, exp, "ops_per_s")
            ax.plot(xs, [y / ys[0] for y in ys], "-o", color=color, ms=4, label=label)
            top = max(top, max(xs))
        ax.plot([1, top], [1, top], ":", color="0.4", label="linear speed-up")
        ax.set_ylim(bottom=0)
        finish(fig, ax, "larson.png", "threads", "throughput relative to 1 thread",
               "Larson benchmark on the Sun Enterprise 5000 model (Berger et al.)")

    f6 = [c for c in doc["cases"] if c["id"].startswith("mk-f6-") and c.get("at") == 32 and c["experiment"] in results]
    if f6:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        xs = range(len(f6))
        pub = [c["published"] / 1000 for c in f6]
        sim = [(results[c["experiment"]][32][c["metric"]] - results[c["experiment"]][1][c["metric"]]) / 1000
               for c in f6]
        ax.bar([x - 0.2 for x in xs], pub, 0.4, color="0.6", label="published (read off Fig. 6)")
        ax.bar([x + 0.2 for x in xs], sim, 0.4, color="tab:blue", label="simulated (protocol run as messages)")
        ax.set_xticks(list(xs))
        ax.set_xticklabels([c["what"].replace(", 32 cores", "") for c in f6], fontsize=8)
        finish(fig, ax, "shootdown-8x4.png", "protocol", "latency at 32 cores (1000 cycles)",
               "TLB-shootdown protocols, 8x4-core AMD, 32 cores")

    qcases = [c for c in doc["cases"] if c.get("kind") == "analytic" and c["experiment"] in results]
    if qcases:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        by_c = {}
        for c in qcases:
            exp = doc["experiments"][c["experiment"]]
            q = exp["queue"]
            by_c.setdefault((q["servers"], q.get("distribution", "exponential")), []).append((c, exp))
        colors = ["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:red", "tab:brown"]
        for i, (_key, items) in enumerate(sorted(by_c.items())):
            service_s = items[0][1].get("set", {}).get("workload.service_time_s",
                                                       config_doc(items[0][1])["workload"]["service_time_s"])
            rhos = [0.3 + 0.01 * k for k in range(64)]
            q0 = items[0][1]["queue"]
            name = queue_name(q0)
            ax.plot(rhos, [queue_wait_s({**q0, "utilisation": r}, service_s) / service_s for r in rhos], "-",
                    color=colors[i % len(colors)], label=f"{name}: formula")
            for c, exp in items:
                rho = exp["queue"]["utilisation"]
                sim = results[c["experiment"]][None]["mean_wait_s"] / service_s
                err = seed_spread(results, c["experiment"], "mean_wait_s")
                ax.errorbar([rho], [sim], yerr=[err / service_s] if err else None, fmt="o",
                            color=colors[i % len(colors)], ms=5, capsize=3,
                            label=f"{name}: simulated" if c is items[0][0] else None)
        ax.set_yscale("log")
        finish(fig, ax, "queueing.png", "utilisation", "mean wait / mean service time",
               "Client-server with kernel costs zero against queueing theory", grid_which="both")
    return made


def write_parity_figure(doc, rows, outdir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [r for r in rows if r["case"].get("kind", "value") == "value" and r["simulated"] and r["published"]
           and r["case"].get("unit") == "cycles"]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(5.6, 5.0))
    lo = min(min(r["published"], r["simulated"]) for r in pts) * 0.7
    hi = max(max(r["published"], r["simulated"]) for r in pts) * 1.4
    ax.plot([lo, hi], [lo, hi], "-", color="0.3", lw=1, label="simulated = published")
    ax.fill_between([lo, hi], [lo * 0.8, hi * 0.8], [lo * 1.2, hi * 1.2], color="0.9", label="±20% (figures)")
    ax.fill_between([lo, hi], [lo * 0.9, hi * 0.9], [lo * 1.1, hi * 1.1], color="0.8", label="±10% (tables)")
    marks = {"pass": ("o", "tab:green"), "FAIL": ("X", "tab:red"), "missed": ("^", "tab:orange")}
    for status, (m, col) in marks.items():
        sel = [r for r in pts if r["status"] == status]
        for role, face in (("prediction", col), ("calibration", "none")):
            s2 = [r for r in sel if r["case"].get("role") == role]
            if s2:
                ax.plot([r["published"] for r in s2], [r["simulated"] for r in s2], m, color=col, mfc=face, ms=7,
                        mew=1.5, ls="none", label=f"{status}, {role}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("published (cycles)")
    ax.set_ylabel("simulated (cycles)")
    ax.set_title("Cycle counts: simulated against published")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    path = outdir / "parity.png"
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


FIGURES = [
    ("parity.png", "Every cycle count of the tables and figures: simulated against published. Filled marks are "
                   "predictions, hollow marks calibration points."),
    ("unmap-8x4.png", "Figure 7 of the Multikernel paper: unmap latency on the 8x4-core AMD against the cores "
                      "sharing the address space. Lines: simulated; squares: values read off the published figure; "
                      "grey band: the published crossover ±2 cores."),
    ("shared-update-4x4.png", "Figure 3 of the Multikernel paper: cycles per update of a shared 8-line structure "
                              "updated in place without a lock (SHM8). The 1-core bound is a prediction; the 16-core "
                              "cost is the calibration point of the home node's occupancy."),
    ("shootdown-8x4.png", "Figure 6 of the Multikernel paper: the four TLB-shootdown protocols at 32 cores on the "
                          "8x4-core AMD, published (read off the figure) against simulated (the agreement part of the "
                          "unmap)."),
    ("queueing.png", "Mean wait of the client-server workload with every kernel cost zero, against the M/M/1, "
                     "Erlang C and M/D/1 (Pollaczek-Khinchine) formulas (error bars: 95% confidence interval of the "
                     "mean over the replications)."),
    ("larson.png", "Larson benchmark throughput against threads, relative to one thread."),
]


def depends_text(doc, c):
    params = doc.get("parameters", {})
    parts = []
    for name in c.get("depends_on", []):
        p = params[name]
        if p.get("fitted_to"):
            to = ", ".join(p["fitted_to"])
            parts.append(f"`{name}` (fitted to {'**this case**' if c['id'] in p['fitted_to'] else to})")
        else:
            parts.append(f"`{name}` ({p['basis']})")
    return "; ".join(parts)


def shares_text(doc, c):
    """The fitted parameters a case uses, as the table shows them."""
    f = fitted_parameters(doc, c)
    if not f:
        return "none"
    return "; ".join(f"{p} ({'this case' if c['id'] in to else ', '.join(to)})" for p, to in sorted(f.items()))


def loo_text(entries):
    if entries is None:
        return ""
    return "; ".join(e["text"] for e in entries) or "—"


def write_markdown(doc, rows, version, figures, path, loo=None):
    loo = loo or {}
    by_source = {}
    for r in rows:
        by_source.setdefault(r["case"]["source"], []).append(r)
    k = summary_counts(doc, rows)
    lines = [
        "# Validation against published measurements",
        "",
        "<!-- Generated by scripts/validation_report.sh (validation/report.py) from validation/cases.json; do not edit "
        "by hand. -->",
        "",
        "What mksim predicts beside what was measured on real machines. Every case is a config in "
        "[validation/configs](../validation/configs), run by the `mksim` binary on a machine preset that describes "
        "the machine the measurement came from ([calibration.md](calibration.md) gives each preset's sources); the "
        "published value, its source, its tolerance and the parameters it depends on are in "
        "[validation/cases.json](../validation/cases.json). Regenerate this page with `bash "
        "scripts/validation_report.sh`; it also writes [validation/results.json](validation/results.json), which "
        "`tests/python/test_validation.py` compares with a fresh run of every case (any difference fails, and so "
        "does a case that leaves its tolerance or a missed case that starts passing).",
        "",
        "Tolerances: " + "; ".join(t["doc"] for t in doc["tolerances"].values()) + ". Stochastic cases run "
        "independent replications (seeds run.seed + 0 .. N-1) and compare their mean; the interval shown is the 95% "
        "confidence interval of that mean (Student t), and such a case passes only when the interval's half-width "
        "is within the tolerance too.",
        "",
        "**Role.** A *prediction* is a value no parameter was fitted to; it is *independent* when none of the "
        "parameters it depends on was fitted to any published outcome (the column *fitted parameters used* shows "
        "those shared with other cases). A *calibration* point is a published value a parameter was fitted to; "
        "agreement there shows consistency, not predictive power, and the *leave-one-out* column shows what the "
        "model predicts for it when the parameter is refitted without it. A *consistency* case follows by "
        "construction from a calibration or from the preset's own input numbers. **Status**: *pass* within "
        "tolerance, *FAIL* outside it, *missed* a case the model cannot reach yet, with the reason.",
        "",
        f"**Summary** ({version and 'mksim ' + version}): {k['cases']} cases, {k['pass']} pass, {k['FAIL']} fail, "
        f"{k['missed']} missed. {k['predictions']} predictions, {k['predictions_pass']} within tolerance; of them "
        f"{k['independent_predictions']} independent (no fitted parameter), {k['independent_predictions_pass']} "
        f"within tolerance ({k['independent_analytic_pass']} of them closed-form queueing results, "
        f"{k['independent_predictions_pass'] - k['independent_analytic_pass']} published measurements or curves). "
        f"{k['calibrations']} calibration points, {k['consistency']} consistency checks.",
        "",
    ]
    for key, src in doc["sources"].items():
        if key not in by_source:
            continue
        lines += [f"## {src['cite']}", "", f"<{src['url']}>", ""]
        lines += ["| case | published | simulated | error | tolerance | role | status | fitted parameters used | "
                  "leave-one-out |",
                  "|---|---:|---:|---:|---|---|---|---|---|"]
        notes = []
        for r in by_source[key]:
            c = r["case"]
            label = f"{c['group']}: {c['what']}"
            unit = c.get("unit", "")
            unit_txt = "" if unit in ("x", "") else f" {unit}"
            status = {"pass": "pass", "FAIL": "**FAIL**", "missed": "missed"}[r["status"]]
            role = c.get("role", "") + (" (independent)" if independent(doc, c) else "")
            lines.append(f"| {label} | {published_text(r)}{unit_txt} | {simulated_text(r)}{unit_txt} | "
                         f"{error_text(r, doc)} | {tolerance_text(c, doc)} | {role} | {status} | "
                         f"{shares_text(doc, c)} | {loo_text(loo.get(c['id']))} |")
            text = f"- *{c['what']}*"
            if "missed" in c:
                text += f" — missed: {c['missed']}."
                if r["status"] == "FAIL":
                    text += " **Now within tolerance: remove the missed label.**"
            elif c.get("note"):
                text += f": {c['note']}."
            else:
                text += "."
            if r.get("replications"):
                text += (f" Mean of {r['replications']} replications; the formula is "
                         f"{'inside' if r['in_interval'] else 'outside'} the 95% interval.")
            if c.get("depends_on"):
                text += f" Depends on: {depends_text(doc, c)}."
            notes.append(text)
        lines.append("")
        lines += notes + [""]
    lines += ["## Parameters the cases depend on", "",
              "Basis: *datasheet*, vendor optimisation *guide*, a published *measurement* of the constant, an "
              "*estimate*, *fitted* to a published outcome (that case is then a calibration), or an *input* of the "
              "formula checked.", "",
              "| parameter | value | where | basis | source | fitted to |", "|---|---|---|---|---|---|"]
    for name, p in doc.get("parameters", {}).items():
        lines.append(f"| `{name}` | {p['value']} | {p['where']} | {p['basis']} | {p['source']} | "
                     f"{', '.join(p.get('fitted_to', [])) or '—'} |")
    lines += ["", "## Figures", ""]
    for name, caption in FIGURES:
        if name in figures:
            lines += [f"![{name}](validation/{name})", "", f"*{caption}*", ""]
    Path(path).write_text("\n".join(lines))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.environ.get("MKSIM_BUILD_DIR", "build"), help="build folder with mksim")
    ap.add_argument("--jobs", type=int, default=2, help="simulations run at once")
    ap.add_argument("--only", nargs="*", help="run only these case ids (the report is not written)")
    ap.add_argument("--no-write", action="store_true", help="print the table only")
    args = ap.parse_args(argv)
    build = Path(args.build)
    if not build.is_absolute():
        build = ROOT / build
    mksim = build / "mksim"
    if not mksim.exists():
        print(f"validation: no mksim binary at {mksim}; build first (scripts/validation_report.sh does)",
              file=sys.stderr)
        return 2
    doc = load_cases()
    results, version = run_all(doc, mksim, jobs=args.jobs, only=set(args.only) if args.only else None)
    rows = evaluate(doc, results)
    for r in rows:
        print(f"{r['status']:6} {r['id']:28} published {published_text(r):>10}  simulated {simulated_text(r):>14}  "
              f"error {error_text(r, doc)}")
    if not args.only and not args.no_write:
        loo = leave_one_out(doc, mksim)
        figdir = ROOT / "docs" / "validation"
        figures = write_figures(doc, results, figdir)
        parity = write_parity_figure(doc, rows, figdir)
        if parity:
            figures["parity.png"] = parity
        write_markdown(doc, rows, version, figures, ROOT / "docs" / "validation.md", loo)
        write_results_json(results_doc(doc, rows, loo, version))
        print(f"wrote {ROOT / 'docs' / 'validation.md'} and {len(figures)} figures in {figdir}")
    return 1 if any(r["status"] == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
