"""docs/outputs.md is generated from the column declarations (`mksim docs outputs`, sim/results.cpp): it is up to date,
and every column a run writes (results.json tables and fields, the CSV tables) is documented there, in the order the CSV
files have them; results.csv of a sweep prints doubles without accumulation noise."""

import csv
import json
import re

import pytest

from conftest import ROOT, SMALL_COMPUTE, run_cli


def doc_sections():
    """Column names per section of docs/outputs.md: {"threads": [...], "summary": [...], ...}."""
    sections, current = {}, None
    for line in (ROOT / "docs" / "outputs.md").read_text().splitlines():
        m = re.match(r"## `(\w+)`", line)
        if m:
            current = sections.setdefault(m.group(1), [])
            continue
        m = re.match(r"\| `([^`]+)` \|", line)
        if m and current is not None:
            current.append(m.group(1))
    return sections


def test_outputs_reference_is_generated_from_the_code():
    r = run_cli("docs", "outputs")
    assert (ROOT / "docs" / "outputs.md").read_text() == r.stdout, \
        "docs/outputs.md is stale: regenerate it with `build/mksim docs outputs > docs/outputs.md`"
    bad = run_cli("docs", "output", check=False)
    assert bad.returncode == 2 and "did you mean 'outputs'" in bad.stderr


@pytest.mark.parametrize("config", ["compute", "configs/ipc-pingpong.json"])
def test_every_column_written_is_documented(config, tmp_path):
    args = ["run", config, "-q", "-o", tmp_path / "out"]
    if config == "compute":
        args[1] = tmp_path / "c.json"
        args[1].write_text(json.dumps(SMALL_COMPUTE))
    else:
        args += ["--set", "workload.round_trips=50"]
    run_cli(*args)
    out = tmp_path / "out"
    doc = json.loads((out / "results.json").read_text())
    sections = doc_sections()
    for table in ("threads", "cores", "memory"):
        with open(out / f"{table}.csv", newline="") as f:
            header = next(csv.reader(f))
        assert header == sections[table], f"{table}.csv columns vs docs/outputs.md"
        for row in doc[table]:
            assert sorted(row) == sorted(sections[table])
    for part in ("summary", "invariants", "wall_clock"):
        assert sorted(doc[part]) == sorted(sections[part]), part
    # every section's columns have a unit column and a meaning
    text = (ROOT / "docs" / "outputs.md").read_text()
    for name in sections["threads"] + sections["cores"]:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}` |"))
        assert len([c for c in row.split("|")[3].strip()]) > 10, row


def test_sweep_csv_prints_the_decimal_not_the_accumulation_noise(tmp_path):
    # an unmap latency of whole cycles, computed as the mean of differences of clock readings in seconds times the
    # clock rate, is not a whole number in double precision: results.json keeps the double, results.csv the decimal
    sweep = {"base": "configs/unmap.json", "set": {"workload.iterations": 20},
             "grid": {"workload.cores": [2, 4, 8]}, "metrics": ["latency_cycles", "latency_ns", "sim_time_s"]}
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(sweep))
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "unmap.json").write_text((ROOT / "configs" / "unmap.json").read_text())
    run_cli("sweep", path, "-o", tmp_path / "out", "-q", cwd=tmp_path, timeout=300)
    rows = list(csv.DictReader(open(tmp_path / "out" / "results.csv", newline="")))
    points = [json.loads(line) for line in open(tmp_path / "out" / "points.jsonl")]
    full = {p["id"]: p["metrics"] for p in points}
    noisy = 0
    for row in rows:
        for m in ("latency_cycles", "latency_ns", "sim_time_s"):
            value = full[row["id"]][m]
            text = row[m]
            digits = len(re.sub(r"e.*$", "", text).replace("-", "").replace(".", "").lstrip("0"))
            assert digits <= 12, text
            assert float(text) == pytest.approx(value, rel=1e-11)
            noisy += len(repr(value)) > len(text)
    assert noisy > 0, "some value had more digits than it means (else this test shows nothing)"
