"""mksim: a discrete-event simulator of many-core NUMA operating-system designs, from Python.

Describe a machine, pick a kernel architecture, scheduler and memory policies, run a workload, compare::

    import mksim
    res = mksim.run("configs/stream-local-remote.json", **{"kernel.scheduler": "round-robin"})
    res.summary, res.metrics, res.threads, res.cores, res.memory, res.workload

    table = mksim.sweep("configs/stream-local-remote.json",
                        grid={"workload.threads": [1, 2, 4]}, seeds=3, jobs=4, out="out/threads")

Every simulation runs in a child process (SimGrid allows one engine per process); errors come back as
:class:`InputError` (a bad config, with mksim's message naming the file and JSON path) or :class:`SimulationError`.
Figures are in :mod:`mksim.plot`, regression checks in :mod:`mksim.testing`, the four kernel designs compared on one
scenario (the demo) in :mod:`mksim.designs`. See docs/python.md. Policies written in Python (:func:`register_scheduler`,
...) and C++ plugins (:func:`load_plugin`): docs/writing-a-policy.md.
"""

from . import _mksim
from .api import Result, build_info, compare, components, load_result, machine, presets, run, validate
from .errors import InputError, SimulationError
from .policies import (Allocator, Placement, Scheduler, SpinLock, load_plugin, loaded_plugins, param,
                       register_allocator, register_placement, register_scheduler)
from .sweep import load_sweep, sweep

__version__ = _mksim.__version__

__all__ = [
    "Allocator",
    "InputError",
    "Placement",
    "Scheduler",
    "SpinLock",
    "load_plugin",
    "loaded_plugins",
    "param",
    "register_allocator",
    "register_placement",
    "register_scheduler",
    "Result",
    "SimulationError",
    "build_info",
    "compare",
    "components",
    "designs",
    "load_result",
    "load_sweep",
    "machine",
    "plot",
    "presets",
    "run",
    "sweep",
    "testing",
    "validate",
]


def __getattr__(name):
    # matplotlib and pytest are imported only when their modules are used.
    if name in ("designs", "plot", "testing"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'mksim' has no attribute {name!r}")
