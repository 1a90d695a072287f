"""The layering of docs/ARCHITECTURE.md ("Dependency rules"), checked on every `#include "..."` in the tree.

models/ includes nothing of ours above it; sim/api/ (the engine's contract) includes only itself and models/; sim/
outside the contract includes no policy and no workload; policies/ and workloads/ implement the contract and never
include each other. Every quoted include must name a file of the tree (or a generated header of the build)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERED = ("models", "sim", "policies", "workloads")
GENERATED = {"mksim_version.hpp"}  # written into the build tree by CMake
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer(path):
    """The layer of a repository-relative path: "sim/api" for the contract, else its top folder."""
    parts = path.split("/")
    if parts[:2] == ["sim", "api"]:
        return "sim/api"
    return parts[0] if len(parts) > 1 else ""


# What each layer may include (besides the standard library and third-party headers, which use <...>).
ALLOWED = {
    "models": {"models"},
    "sim/api": {"sim/api", "models"},
    "sim": {"sim", "sim/api", "models"},
    "policies": {"policies", "sim", "sim/api", "models"},
    "workloads": {"workloads", "sim", "sim/api", "models"},
}


def violations(edges):
    """The edges (source, included) that cross a forbidden layer, as messages."""
    out = []
    for src, inc in edges:
        if inc in GENERATED:
            continue
        allowed = ALLOWED.get(layer(src))
        if allowed is not None and layer(inc) not in allowed:
            out.append(f"{src} includes {inc}: {layer(src)} may include only {', '.join(sorted(allowed))}")
    return out


def tree_edges():
    edges = []
    for top in LAYERED:
        for f in sorted((ROOT / top).rglob("*")):
            if f.suffix in (".cpp", ".hpp", ".h") and f.is_file():
                src = f.relative_to(ROOT).as_posix()
                edges += [(src, inc) for inc in INCLUDE.findall(f.read_text(encoding="utf-8"))]
    return edges


def test_no_include_crosses_a_forbidden_layer():
    edges = tree_edges()
    assert len(edges) > 100  # the walk found the tree
    bad = violations(edges)
    assert not bad, "\n".join(bad)


def test_every_quoted_include_names_a_file_of_the_tree():
    missing = [f"{src} includes {inc}" for src, inc in tree_edges() if inc not in GENERATED and not (ROOT / inc).is_file()]
    assert not missing, "\n".join(missing)


def test_the_check_catches_each_forbidden_direction():
    forbidden = [
        ("models/machine.cpp", "sim/api/params.hpp"),
        ("sim/api/kernel.hpp", "sim/config.hpp"),
        ("sim/engine.cpp", "policies/kernel_costs.hpp"),
        ("sim/config.cpp", "workloads/common.hpp"),
        ("policies/monolithic.cpp", "workloads/common.hpp"),
        ("workloads/stream.cpp", "policies/kernel_costs.hpp"),
    ]
    assert len(violations(forbidden)) == len(forbidden)
    fine = [
        ("sim/api/kernel.hpp", "models/machine.hpp"),
        ("sim/engine.cpp", "sim/api/kernel.hpp"),
        ("policies/monolithic.cpp", "sim/input.hpp"),
        ("workloads/stream.cpp", "workloads/common.hpp"),
    ]
    assert violations(fine) == []
