"""Regression checks of policy models from Python: the same expectations files as ``mksim check``.

In a pytest test::

    from mksim.testing import assert_expectations

    def test_reference():
        assert_expectations("tests/reference/stream.json")

An expectations file names cases (a config, optional dotted-path ``set`` overrides and ``seed``) and, for each, the
metrics to check with their expected values and tolerances (``abs_tol``, ``rel_tol``: a value passes when
``|measured - expected| <= abs_tol + rel_tol * |expected|``). See docs/python.md.
"""

import json
import os

import pandas as pd

from . import _mksim


class CheckReport:
    """What a check found: ``passed`` (every metric of every case within tolerance), ``table`` (a DataFrame: case,
    metric, measured, expected, abs_tol, rel_tol, pass, why), ``errors`` (case -> message of a failed run), ``text``
    (the table as ``mksim check`` prints it) and ``raw`` (the report dict)."""

    def __init__(self, raw):
        self.raw = raw
        self.passed = bool(raw["passed"])
        rows = []
        for case in raw["cases"]:
            for chk in case["checks"]:
                rows.append({"case": case["name"], **chk})
        self.table = pd.DataFrame(rows)
        self.errors = {c["name"]: c["error"] for c in raw["cases"] if not c["ok"]}
        self.text = _mksim.check_report_text(json.dumps(raw))

    def __bool__(self):
        return self.passed

    def __str__(self):
        return self.text

    def __repr__(self):
        return f"<mksim.testing.CheckReport {'passed' if self.passed else 'FAILED'}: {len(self.table)} checks>"


def check_expectations(path, *, update=False, jobs=None, out=None):
    """Run an expectations file's cases (in parallel child processes) and return a :class:`CheckReport`. With
    ``update``, rewrite the file's expected values from the measured ones (after a deliberate change)."""
    raw = _mksim.check(os.fspath(path), bool(update), int(jobs or 0), os.fspath(out) if out else "")
    return CheckReport(json.loads(raw))


def assert_expectations(path, *, jobs=None):
    """pytest helper: fail with the pass/fail table when a metric of the expectations file is out of tolerance."""
    __tracebackhide__ = True
    report = check_expectations(path, jobs=jobs)
    if not report.passed:
        raise AssertionError(f"expectations not met:\n{report.text}")
    return report
