"""The exceptions of mksim, raised with mksim's own messages.

``InputError`` (a ``ValueError``): a bad config, sweep or expectations file; its message names the file, the JSON
path and what was expected, and its ``file`` and ``where`` attributes hold the first two.
``SimulationError`` (a ``RuntimeError``): a simulation failed, or its child process died (e.g. of a signal).
"""

from ._mksim import InputError, SimulationError

__all__ = ["InputError", "SimulationError"]
