"""Shared set-up of the pytest suite: finds the build (env MKSIM_BUILD_DIR, default build/), makes the `mksim`
package importable from it in this process and in every child process (notebook kernels, Dask workers, scripts),
and provides small configs that run in well under a second."""

import copy
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("MKSIM_BUILD_DIR", "build"))
if not BUILD.is_absolute():
    BUILD = ROOT / BUILD
PYTHON_DIR = BUILD / "python"
MKSIM_BIN = BUILD / "mksim"

sys.path.insert(0, str(PYTHON_DIR))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(PYTHON_DIR), os.environ.get("PYTHONPATH")) if p)
os.environ["MKSIM_BUILD_DIR"] = str(BUILD)

# A small two-node machine: 2 sockets x 2 cores, one NUMA node each.
SMALL_MACHINE = {"name": "small-2n", "sockets": 2, "cores_per_socket": 2}

# Compute threads with a system call after each chunk: a few thousand events, a fraction of a second.
SMALL_COMPUTE = {
    "description": "pytest: four compute threads making system calls on a 2-node machine",
    "machine": SMALL_MACHINE,
    "kernel": {"architecture": "monolithic", "scheduler": "round-robin"},
    "workload": {"kind": "compute", "threads": 4, "cycles_per_thread": 2e6, "chunk_cycles": 1e5,
                 "syscalls_per_chunk": 1, "syscall_class": "file", "syscall_cycles": 2000},
    "run": {"seed": 1},
}

# Two streaming threads, one reading local and one remote memory.
SMALL_STREAM = {
    "description": "pytest: local and remote streams on a 2-node machine",
    "machine": SMALL_MACHINE,
    "kernel": {"architecture": "monolithic", "scheduler": "round-robin"},
    "workload": {"kind": "stream", "threads": 2, "cores": [0, 1], "node": [0, 1], "bytes_per_thread": 16777216,
                 "chunk_bytes": 1048576},
    "run": {"seed": 1},
}


@pytest.fixture
def compute_config():
    return copy.deepcopy(SMALL_COMPUTE)


@pytest.fixture
def stream_config():
    return copy.deepcopy(SMALL_STREAM)


@pytest.fixture(scope="session")
def mksim_bin():
    assert MKSIM_BIN.exists(), f"no mksim binary at {MKSIM_BIN}: build first (MKSIM_BUILD_DIR={BUILD})"
    return MKSIM_BIN


@pytest.fixture(scope="session")
def repo_root():
    return ROOT


def as_foreground_job():
    """preexec_fn for a child that a test interrupts as Ctrl-C would: SIGINT back to its default action and unblocked.
    A shell without job control starts a background job (`pytest ... &` in a script) with SIGINT ignored, and a child
    inherits that disposition (and a blocked mask) across exec, so the interrupt would have no effect."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def run_cli(*args, check=True, cwd=None, timeout=120, prefix=()):
    """Runs the mksim binary; returns the CompletedProcess (text)."""
    cmd = [*prefix, str(MKSIM_BIN), *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd or ROOT, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def registered(slot):
    """Names registered in a slot, as `mksim list` shows them."""
    import mksim

    return set(mksim.components(slot))
