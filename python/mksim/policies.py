"""Policies written in Python, and C++ plugins.

A scheduler, page placement policy or allocator can be a Python class, registered under a name and then picked by a
config (``"kernel": {"scheduler": "py-rr"}``) in :func:`mksim.run` and :func:`mksim.sweep` like a built-in one::

    class RoundRobin(mksim.Scheduler):
        def __init__(self, params):
            self.slice_s = params["time_slice_us"] * 1e-6
        ...

    mksim.register_scheduler("py-rr", RoundRobin, params={"time_slice_us": mksim.param(4000, unit="us", above=0)})

The engine calls the object's methods from the simulation's child process (each run forks one; it inherits every
class registered before the run). What each method receives and may do: docs/writing-a-policy.md. Runs that use a
Python policy cannot go to another machine (a dask executor) or to the ``mksim`` command, which do not have it.
"""

import inspect
import json
import os

from . import _mksim

Machine = _mksim.Machine
Thread = _mksim.Thread
Cpu = _mksim.Cpu
SpinLock = _mksim.SpinLock
Region = _mksim.Region


class Scheduler:
    """Base class of a scheduler written in Python (subclassing it is optional: the methods are what counts).

    Required: ``enqueue(thread, cpu, why) -> core`` (``cpu``: the :class:`Cpu` that made the thread runnable, or None;
    ``why``: "spawned", "woken", "preempted" or "yielded"; return the core that should look at it, or -1 for any idle
    core that may run it), ``pick_next(cpu) -> Thread or None``, ``has_waiting(core) -> bool``,
    ``queue_length(core) -> int``, ``time_slice_s(core, thread) -> float``. Optional: ``init(machine)``,
    ``setup_done(processes, threads)``, ``ran(thread, core, ran_s)``."""

    def init(self, machine):
        self.machine = machine

    def ran(self, thread, core, ran_s):
        pass


class Placement:
    """Base class of a page placement policy written in Python. Required: ``place(region, thread, core) -> shares``,
    one fraction of the region's pages per NUMA node, summing to 1. Optional: ``init(machine)``."""

    def init(self, machine):
        self.machine = machine


class Allocator:
    """Base class of a heap allocator model written in Python. Required: ``allocate(cpu, thread, bytes)`` and
    ``release(cpu, thread, bytes)``, which charge their cost on ``cpu`` (``cpu.lock(l)``, ``cpu.spend_cycles(n)``, ...).
    Optional: ``init(machine)``."""

    def init(self, machine):
        self.machine = machine


def param(default=None, *, type=None, unit="", doc="", min=None, max=None, above=None, choices=None):
    """A declared parameter of a Python policy: checked in configs like a built-in's (errors name the JSON path),
    listed by :func:`mksim.components`. ``type``: "number" (default for floats), "integer", "string", "boolean",
    "choice" or "numbers"; ``min``/``max`` inclusive bounds, ``above`` an exclusive lower bound."""
    if type is None:
        type = ("boolean" if isinstance(default, bool) else "integer" if isinstance(default, int)
                else "string" if isinstance(default, str) else "choice" if choices else
                "numbers" if isinstance(default, (list, tuple)) else "number")
    field = {"type": type, "default": default, "unit": unit, "doc": doc}
    if above is not None:
        field["min"], field["min_exclusive"] = above, True
    elif min is not None:
        field["min"] = min
    if max is not None:
        field["max"] = max
    if choices is not None:
        field["choices"] = list(choices)
    return field


def _fields(params):
    out = []
    for name, spec in (params or {}).items():
        field = spec if isinstance(spec, dict) else param(spec)
        out.append({"name": name, **field})
    return json.dumps(out)


def _register(slot, name, cls, description, params):
    if not callable(cls):
        raise TypeError(f"expected a class (or a callable taking the params dict), got {cls!r}")
    qual = getattr(cls, "__qualname__", getattr(cls, "__name__", repr(cls)))
    origin = f"python: {getattr(cls, '__module__', '?')}.{qual}"
    if not description:
        description = (inspect.getdoc(cls) or f"Python {slot} {qual}").split("\n")[0].rstrip(".")
    _mksim.register_policy(slot, name, description, _fields(params), cls, origin)
    return cls


def register_scheduler(name, cls, *, description="", params=None):
    """Register ``cls`` as scheduler ``name``: each run creates ``cls(params)``, ``params`` being the run's resolved
    parameters (a dict) declared by ``params`` (name -> :func:`param` or a default value). Registering a name again
    replaces a Python registration; a built-in or plugin name is an error. Returns ``cls``."""
    return _register("scheduler", name, cls, description, params)


def register_placement(name, cls, *, description="", params=None):
    """Register ``cls`` as page placement policy ``name`` (``kernel.memory_policy``); see :func:`register_scheduler`."""
    return _register("memory_policy", name, cls, description, params)


def register_allocator(name, cls, *, description="", params=None):
    """Register ``cls`` as allocator ``name`` (``kernel.allocator``); see :func:`register_scheduler`."""
    return _register("allocator", name, cls, description, params)


def load_plugin(path):
    """Load a C++ plugin (``libNAME.so`` built with find_package(mksim), docs/writing-a-policy.md) into this process:
    its components become usable by :func:`mksim.run` and :func:`mksim.sweep` and appear in :func:`mksim.components`.
    A config can also name it (``"plugins": [...]``). Raises :class:`mksim.InputError` naming the file when it is not
    a usable plugin (missing, not a shared library, another contract version, a name clash, ...)."""
    _mksim.load_plugin(os.fspath(path))


def loaded_plugins():
    """The C++ plugins loaded into this process (canonical paths)."""
    return list(_mksim.loaded_plugins())
