"""How Python values become what the native module takes: a config (path, JSON text or dict) and dotted-path
overrides (``kernel.architecture="multikernel"``) as ``path=JSON`` assignments."""

import json
import os
from collections.abc import Mapping


def _plain(value):
    """JSON-serialisable form of numpy scalars and arrays, paths and tuples."""
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot put {value!r} ({type(value).__name__}) into a config")


def dumps(value) -> str:
    return json.dumps(value, default=_plain)


def config_args(config, base_dir=None):
    """(config, is_path, base_dir) for the native functions. A str/Path is a file unless it is JSON text; a dict is
    an inline config whose relative paths resolve against ``base_dir`` (default: the current directory)."""
    if isinstance(config, (str, os.PathLike)):
        text = os.fspath(config)
        if text.lstrip().startswith("{"):
            return text, False, os.fspath(base_dir) if base_dir else os.getcwd()
        return text, True, ""
    if isinstance(config, Mapping):
        return dumps(config), False, os.fspath(base_dir) if base_dir else os.getcwd()
    raise TypeError(f"config must be a path, JSON text or a dict, not {type(config).__name__}")


def override_list(overrides=None, kwargs=None):
    """``path=JSON`` assignments from a dict of dotted paths and from keyword arguments, where ``__`` stands for a
    dot (``kernel__architecture="multikernel"``), since Python names cannot hold dots."""
    out = []
    for source, from_kwargs in ((overrides or {}), False), ((kwargs or {}), True):
        for key, value in source.items():
            path = key.replace("__", ".") if from_kwargs else key
            out.append(f"{path}={dumps(value)}")
    return out
