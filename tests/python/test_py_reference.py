"""mksim's reference scenarios (tests/reference/*.json) through the pytest helper, and the helper itself: a metric
out of tolerance fails with the pass/fail table, and update rewrites the expected values."""

import json
import shutil
from pathlib import Path

import pytest

import mksim
from mksim.testing import assert_expectations, check_expectations

REFERENCE = Path(__file__).resolve().parents[1] / "reference"


@pytest.mark.parametrize("path", sorted(REFERENCE.glob("*.json")), ids=lambda p: p.stem)
def test_reference_scenarios(path):
    # Every case must resolve in this build: a component a case names that is not registered is a failure, not a skip.
    report = assert_expectations(path)
    assert report.passed and len(report.table) > 0 and report.table["pass"].all()


def test_check_helper_reports_deviations_and_updates(tmp_path):
    shutil.copytree(REFERENCE / "configs", tmp_path / "configs")
    doc = json.loads((REFERENCE / "memory.json").read_text())
    doc["cases"] = doc["cases"][:1]
    metrics = doc["cases"][0]["metrics"]
    true_bw = metrics["bandwidth_gb_s"]["expected"]
    metrics["bandwidth_gb_s"]["expected"] = true_bw * 1.5
    path = tmp_path / "memory.json"
    path.write_text(json.dumps(doc, indent=2))

    report = check_expectations(path, jobs=1)
    assert not report.passed and not report
    row = report.table.set_index("metric").loc["bandwidth_gb_s"]
    assert not row["pass"] and row["measured"] == pytest.approx(true_bw, rel=1e-3)
    assert report.table.set_index("metric").loc["remote_fraction", "pass"]
    assert "FAIL" in report.text and "bandwidth_gb_s" in report.text
    with pytest.raises(AssertionError, match="bandwidth_gb_s.*FAIL"):
        assert_expectations(path)

    check_expectations(path, update=True)
    updated = json.loads(path.read_text())["cases"][0]["metrics"]["bandwidth_gb_s"]
    assert updated["expected"] == pytest.approx(true_bw, rel=1e-3)
    assert "rel_tol" not in updated or updated["rel_tol"] == metrics["bandwidth_gb_s"].get("rel_tol")
    assert check_expectations(path).passed


def test_check_helper_reports_a_failed_run(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"machine": {"sockets": 1}, "workload": {"kind": "compute",
                                                                                          "cores": [5]}}))
    path = tmp_path / "e.json"
    path.write_text(json.dumps({"cases": [{"name": "bad", "config": "c.json", "metrics": {"makespan_s": {}}}]}))
    report = check_expectations(path)
    assert not report.passed and "core 5" in report.errors["bad"]
    with pytest.raises(mksim.InputError, match="e.json: cases"):
        path.write_text(json.dumps({"cases": []}))
        check_expectations(path)
