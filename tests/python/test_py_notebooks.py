"""Every notebook in python/notebooks and examples/ runs headless (nbclient + ipykernel) without a failing cell. A notebook names
what it needs in its metadata (`mksim.requires`: components by slot, and files relative to the repository); it is
skipped, with the reason, only when one of those is missing from this build (`mksim list`)."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import mksim
from conftest import PYTHON_DIR, ROOT

# The tutorial notebooks, and the examples' (examples/NAME/*.ipynb, e.g. python-policies).
NOTEBOOKS = sorted((ROOT / "python" / "notebooks").glob("*.ipynb")) + sorted((ROOT / "examples").glob("*/*.ipynb"))


def missing(requires):
    out = []
    for slot, names in requires.items():
        if slot == "files":
            out += [f"file {f}" for f in names if not (ROOT / f).exists()]
            continue
        have = set(mksim.components(slot))
        out += [f"{slot} '{n}' (not in `mksim list {slot}`)" for n in names if n not in have]
    return out


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert "requires" in nb.metadata.get("mksim", {}), f"{path.name}: no mksim.requires metadata"
        assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), \
            f"{path.name} is committed with outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    nb = nbformat.read(path, as_version=4)
    gaps = missing(nb.metadata["mksim"]["requires"])
    if gaps:
        pytest.skip(f"{path.name} needs what this build lacks: {', '.join(gaps)}")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(PYTHON_DIR), os.environ.get("PYTHONPATH")) if p))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel draws inline, as in Jupyter
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, when a cell fails
    figures = sum(1 for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
                  if "image/png" in out.get("data", {}))
    assert figures >= 2, f"{path.name} drew {figures} figures"
