"""Validation against published measurements (issues 6 and 14): every case of validation/cases.json runs through the
mksim binary (with validation/report.py's functions, as scripts/validation_report.sh does). The test fails when a case
that is not marked missed leaves its tolerance, when a missed case comes within it (the label must then go), and when
the fresh results differ from the committed ones (docs/validation/results.json, written with docs/validation.md):
regenerate the report with scripts/validation_report.sh when a change moves them. It also checks the honesty rules of
the roles: a prediction depends on no parameter fitted to its own published outcome, and every case a parameter was
fitted to is a calibration."""
import importlib.util
import json
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("mksim_validation_report", ROOT / "validation" / "report.py")
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)

CASES = report.load_cases()
COMMITTED = json.loads(report.RESULTS_FILE.read_text()) if report.RESULTS_FILE.exists() else None


@pytest.fixture(scope="module")
def fresh(mksim_bin, tmp_path_factory):
    results, version = report.run_all(CASES, mksim_bin, jobs=2, workdir=tmp_path_factory.mktemp("validation"))
    assert version
    rows = report.evaluate(CASES, results)
    return {r["id"]: r for r in rows}, rows, version


def describe(row):
    c = row["case"]
    return (f"{c['id']} ({c['group']}: {c['what']}): published {report.published_text(row)}, simulated "
            f"{report.simulated_text(row)}, error {report.error_text(row, CASES)}, tolerance "
            f"{report.tolerance_text(c, CASES)}")


@pytest.mark.parametrize("case", CASES["cases"], ids=lambda c: c["id"])
def test_case(fresh, case):
    row = fresh[0][case["id"]]
    assert row["simulated"] is not None and math.isfinite(row["simulated"]), describe(row)
    if "missed" in case:
        # Missed cases stay in the report with their reason; they run all the same, and one that comes within its
        # tolerance fails so that the label is removed.
        assert len(case["missed"].strip()) > 20, f"{case['id']}: a missed case must give its reason"
        assert not row["within"], f"{describe(row)}: now within tolerance: remove its 'missed' label"
        assert row["status"] == "missed"
        return
    assert row["within"], describe(row)


def _same(a, b, path):
    """Equal up to float formatting (the JSON round trip), else a message naming where they differ."""
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None or not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            return [f"{path}: committed {a!r}, fresh {b!r}"]
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _same(a.get(k), b.get(k), f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [m for i, (x, y) in enumerate(zip(a, b)) for m in _same(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: committed {a!r}, fresh {b!r}"]


def test_fresh_results_match_the_committed_report(fresh):
    assert COMMITTED is not None, "no docs/validation/results.json: run scripts/validation_report.sh"
    by_id, rows, version = fresh
    now = json.loads(json.dumps(report.results_doc(CASES, rows, {}, version)))
    old = json.loads(json.dumps(COMMITTED))
    # The leave-one-out refits run only when the report is written (they take many runs); compared below.
    for d in (now, old):
        for c in d["cases"].values():
            c.pop("leave_one_out", None)
    diffs = _same(old, now, "results")
    assert not diffs, "fresh results differ from docs/validation/results.json (regenerate the report):\n" + \
        "\n".join(diffs[:20])


def test_committed_markdown_matches_the_results():
    """docs/validation.md is the rendering of results.json: every simulated number and status is in its row."""
    text = (ROOT / "docs" / "validation.md").read_text()
    assert COMMITTED is not None
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| ")}
    for c in CASES["cases"]:
        label = f"{c['group']}: {c['what']}"
        assert label in rows, f"docs/validation.md lacks {c['id']}: run scripts/validation_report.sh"
        got = COMMITTED["cases"][c["id"]]
        row = {"case": c, "simulated": got["simulated"], "spread": got["ci95_half_width"]}
        assert report.simulated_text(row) in rows[label], f"{c['id']}: docs/validation.md is stale"
        status = {"pass": "| pass |", "FAIL": "| **FAIL** |", "missed": "| missed |"}[got["status"]]
        assert status in rows[label], f"{c['id']}: docs/validation.md shows another status"
    assert "Summary" in text and f"{COMMITTED['summary']['cases']} cases" in text


def test_roles_are_honest():
    """A prediction depends on no parameter fitted to its own published outcome; every case a parameter was fitted to
    is a calibration; a calibration names the parameter fitted to it; every case lists what it depends on."""
    assert report.role_problems(CASES) == []


def test_role_checker_catches_a_prediction_fitted_to_itself():
    doc = json.loads(json.dumps(CASES))
    next(c for c in doc["cases"] if c["id"] == "sel4-haswell")["role"] = "prediction"
    assert any("sel4-haswell" in p and "microkernel.ipc_fastpath_cycles" in p for p in report.role_problems(doc))
    doc = json.loads(json.dumps(CASES))
    next(c for c in doc["cases"] if c["id"] == "mk-f7-linux-2")["depends_on"].remove("monolithic.vma_cycles")
    assert any("mk-f7-linux-2" in p for p in report.role_problems(doc))


def test_shared_fitted_parameters_are_flagged():
    """A prediction that uses a parameter fitted to another case is not counted as independent, and the report's
    table names that parameter and the case it was fitted to."""
    shared = [c for c in CASES["cases"] if c["role"] == "prediction" and report.fitted_parameters(CASES, c)]
    assert shared, "expected some predictions that share fitted parameters (e.g. Figure 7 at 32 cores)"
    for c in shared:
        assert not report.independent(CASES, c)
        text = report.shares_text(CASES, c)
        for p, to in report.fitted_parameters(CASES, c).items():
            assert p in text and to[0] in text


def test_cases_file_checks_parameters():
    doc = json.loads(json.dumps(CASES))
    doc["cases"][0]["depends_on"] = ["no.such.parameter"]
    with pytest.raises(ValueError, match="unknown parameter"):
        report.check_cases(doc)
    doc = json.loads(json.dumps(CASES))
    doc["parameters"]["k10.page_walk_cycles"]["fitted_to"] = []
    with pytest.raises(ValueError, match="fitted"):
        report.check_cases(doc)


def test_missed_case_that_passes_fails():
    doc = json.loads(json.dumps(CASES))
    case = next(c for c in doc["cases"] if c["id"] == "mk-f6-broadcast-32")
    case["missed"] = "pretend the model could not reach it"
    results = {"fig6-broadcast": {1: {"latency_cycles": 0.0}, 32: {"latency_cycles": case["published"]}}}
    row = report.evaluate_case(doc, case, results)
    assert row["within"] and row["status"] == "FAIL"


def test_analytic_case_needs_a_narrow_interval():
    """Stochastic cases compare the mean of their replications with the formula, and pass only when the 95% interval
    is within the tolerance as well."""
    doc = json.loads(json.dumps(CASES))
    case = next(c for c in doc["cases"] if c["id"] == "queue-mm1-0.5")
    exp = doc["experiments"][case["experiment"]]
    exact = report.erlang_c_wait_s(1, 0.5, 1e-5)
    tight = [{"mean_wait_s": exact * f} for f in (0.999, 1.0, 1.001)]
    wide = [{"mean_wait_s": exact * f} for f in (0.8, 1.0, 1.2)]
    for seeds, ok in ((tight, True), (wide, False)):
        point = {"_seeds": seeds, "mean_wait_s": sum(s["mean_wait_s"] for s in seeds) / 3}
        row = report.evaluate_case(doc, case, {case["experiment"]: {None: point}})
        assert row["within"] is ok, row
    assert exp["replications"] >= 5


def test_student_t_matches_the_table_and_the_normal_limit():
    assert report.student_t_975(1) == pytest.approx(12.706, rel=1e-4)
    assert report.student_t_975(10) == pytest.approx(2.228, rel=1e-4)
    assert report.student_t_975(30) == pytest.approx(2.0423, rel=1e-4)
    assert report.student_t_975(31) == pytest.approx(2.0395, rel=1e-4)
    assert report.student_t_975(10000) == pytest.approx(1.960, rel=1e-3)


def test_queueing_formulas():
    s = 1e-5
    for rho in (0.5, 0.7, 0.9):
        assert report.erlang_c_wait_s(1, rho, s) == pytest.approx(rho / (1 - rho) * s)
    # M/M/2 at rho 0.5: P(wait) = 1/3, mean wait = P(wait) * S / (c (1 - rho)) = S / 3.
    assert report.erlang_c_wait_s(2, 0.5, s) == pytest.approx(s / 3)
    # M/D/1 (Pollaczek-Khinchine, no service-time variance): half the M/M/1 wait at the same utilisation.
    for rho in (0.5, 0.7, 0.9):
        assert report.queue_wait_s({"servers": 1, "utilisation": rho, "distribution": "fixed"}, s) == \
            pytest.approx(report.erlang_c_wait_s(1, rho, s) / 2)
    assert report.queue_wait_s({"servers": 1, "utilisation": 0.5, "distribution": "fixed"}, s) == pytest.approx(s / 2)
    with pytest.raises(ValueError, match="no closed form"):
        report.queue_wait_s({"servers": 4, "utilisation": 0.5, "distribution": "fixed"}, s)


def test_fixed_service_queue_sets_the_distribution():
    exp = {"config": "queue-mmc.json", "queue": {"servers": 1, "utilisation": 0.5, "distribution": "fixed"}}
    over = report.queue_overrides(exp)
    assert over["workload.service_distribution"] == "fixed"
    assert over["workload.arrival_rate_per_s"] == pytest.approx(0.5 / 1e-5)
    assert "workload.service_distribution" not in report.queue_overrides(
        {"config": "queue-mmc.json", "queue": {"servers": 2, "utilisation": 0.5}})


def test_crossover_interpolates_where_the_first_curve_drops_below_the_second():
    xs = [2, 4, 8, 16]
    assert report.crossover(xs, [10, 10, 10, 10], [2, 6, 10, 20]) == pytest.approx(8)
    assert report.crossover(xs, [10, 10, 12, 12], [2, 6, 10, 14]) == pytest.approx(12)
    assert report.crossover(xs, [1, 1, 1, 1], [2, 2, 2, 2]) is None


def test_committed_leave_one_out_covers_every_calibration():
    assert COMMITTED is not None
    for c in CASES["cases"]:
        if c["role"] != "calibration":
            continue
        loo = COMMITTED["cases"][c["id"]]["leave_one_out"]
        assert loo, f"{c['id']}: no leave-one-out entry"
        for e in loo:
            assert e["text"].startswith("no other data") or "predicted" in e, (c["id"], e)
