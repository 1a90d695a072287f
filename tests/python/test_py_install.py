"""After `bash scripts/setup.sh`, Debian's Python imports mksim from any folder with no PYTHONPATH: setup.sh puts a
mksim.pth naming the build's python/ folder into Debian's site folder for local packages. (`pip install .` into a
venv is checked by scripts/pip_install_test.sh, a CI step: it builds the C++ again.)"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import PYTHON_DIR, ROOT

DEBIAN_PYTHON = "/usr/bin/python3"

PROGRAM = """
import json, mksim
res = mksim.run({"machine": {"sockets": 1, "cores_per_socket": 2},
                 "workload": {"kind": "compute", "threads": 2, "cycles_per_thread": 1e6}})
print(json.dumps({"file": mksim.__file__, "status": res.summary["status"], "threads": res.summary["threads"],
                  "binary": str(mksim.build_info()["mksim_binary"])}))
"""


def clean_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MKSIM_"))}
    env["HOME"] = os.environ.get("HOME", "/root")
    return env


def site_pth():
    out = subprocess.run([DEBIAN_PYTHON, "-c", "import site; print(site.getsitepackages()[0])"], capture_output=True,
                         text=True, check=True, env=clean_env(), cwd="/").stdout.strip()
    return Path(out) / "mksim.pth"


@pytest.fixture(scope="module")
def pth():
    if not Path(DEBIAN_PYTHON).exists():
        pytest.skip("no Debian Python at /usr/bin/python3")
    path = site_pth()
    assert path.exists(), f"no {path}: run `bash scripts/setup.sh` (it writes it)"
    return path


def test_debian_python_imports_mksim_from_the_root_folder_without_pythonpath(pth):
    proc = subprocess.run([DEBIAN_PYTHON, "-c", PROGRAM], capture_output=True, text=True, cwd="/", env=clean_env(),
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["status"] == "completed" and got["threads"] == 2
    named = Path(pth.read_text().strip())
    assert Path(got["file"]).resolve().parent == (named / "mksim").resolve()  # the build mksim.pth names
    assert Path(got["binary"]).exists()
    if named.resolve() == PYTHON_DIR.resolve():
        assert Path(got["binary"]).resolve() == (PYTHON_DIR.parent / "mksim").resolve()


def test_python_dash_m_mksim_runs_the_command_of_the_same_build(pth):
    proc = subprocess.run([DEBIAN_PYTHON, "-m", "mksim", "validate", str(ROOT / "configs" / "trace-replay.json")],
                          capture_output=True, text=True, cwd="/", env=clean_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    bad = subprocess.run([DEBIAN_PYTHON, "-m", "mksim", "validate", "/nonexistent/c.json"], capture_output=True,
                         text=True, cwd="/", env=clean_env(), timeout=120)
    assert bad.returncode == 2 and "/nonexistent/c.json" in bad.stderr

