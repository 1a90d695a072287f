"""The `mksim` command from Python: ``python3 -m mksim ARGS`` and, for an installed package, the `mksim` script on
PATH. Both run the command-line program of this package (the same build as the `_mksim` extension)."""

import os
import sys

from .api import build_info


def main(argv=None):
    binary = build_info()["mksim_binary"]
    if binary is None or not binary.exists():
        sys.exit(f"mksim: this package has no mksim command (expected at {binary})")
    args = sys.argv[1:] if argv is None else list(argv)
    sys.stdout.flush()
    os.execv(binary, [str(binary), *args])
