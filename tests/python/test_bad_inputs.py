"""The bad-input catalogue (tests/bad_inputs/catalogue.json): every malformed config, topology file or trace must give
one clear error naming the file, the JSON path or line, what was found and what was expected, and exit status 2 -
never a crash, an uncaught exception or a SimGrid abort.

Each case runs the mksim binary (MKSIM_BUILD_DIR, default build/, + /mksim) from the repository root. In a case's
`args`, "@NAME" stands for tests/bad_inputs/files/NAME and "{out}" for a fresh output folder. A case with `xfail`
documents a known bug: it is reported as an expected failure until the bug is fixed, then as XPASS (strict: remove
the `xfail` then). `memory_limit_mb` caps the address space of a case that would otherwise try to allocate without
bound (not under AddressSanitizer, whose shadow memory needs a huge address space). `accept_success` marks an input
that mksim may also accept (exit 0) instead of rejecting it clearly. A byte that is not UTF-8 is written in an
argument as a lone surrogate escape ("\udc8a" is the byte 0x8a), which subprocess passes on as that byte."""

import json
import os
import resource
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE_DIR = ROOT / "tests" / "bad_inputs"
FILES = CATALOGUE_DIR / "files"
BUILD = Path(os.environ.get("MKSIM_BUILD_DIR", "build"))
MKSIM = (BUILD if BUILD.is_absolute() else ROOT / BUILD) / "mksim"

# Signs of a crash, an escaped exception or an engine abort rather than a handled input error.
FORBIDDEN = ("internal error", "terminate", "Assertion", "Backtrace", "Segmentation", "core dumped", "AddressSanitizer",
             "runtime error:", "xbt_die", "Aborted")
KINDS = {"config", "override", "hwloc", "machine", "cli", "trace", "ops", "genode", "sweep"}


def load_catalogue():
    with open(CATALOGUE_DIR / "catalogue.json", encoding="utf-8") as f:
        return json.load(f)["cases"]


CASES = load_catalogue()


def sanitized():
    """Whether the binary was built with AddressSanitizer (it then names __asan_init)."""
    with open(MKSIM, "rb") as f:
        return b"__asan_init" in f.read()


def expand(arg, out):
    if arg.startswith("@"):
        return str((FILES / arg[1:]).relative_to(ROOT))
    return arg.replace("{out}", str(out))


def test_catalogue_is_well_formed():
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    assert len(CASES) >= 40
    used = set()
    for c in CASES:
        assert set(c) <= {"name", "kind", "args", "expect", "xfail", "note", "missing_file", "memory_limit_mb",
                          "accept_success"}, c["name"]
        assert c["kind"] in KINDS, c["name"]
        assert c["args"] and c["expect"], c["name"]
        for a in c["args"]:
            if a.startswith("@"):
                used.add(a[1:])
                # A case about a missing file says so; every other file it names is in the catalogue.
                assert (FILES / a[1:]).exists() or c.get("missing_file"), f"{c['name']}: no file {a[1:]}"
    # Every input file is used by a case, is named by a file a case uses (an hwloc file, a trace), or is the valid
    # file its bad variants were made from (NAME_good.*, good.json, hwloc_minimal.xml).
    named = "".join((FILES / u).read_text(errors="replace") for u in used if (FILES / u).is_file()
                    and (FILES / u).stat().st_size < 100000)
    for f in FILES.iterdir():
        ok = f.name in used or f.name in named or "good" in f.name or f.name == "hwloc_minimal.xml"
        assert ok, f"{f.name} is used by no case"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_input(case, tmp_path):
    assert MKSIM.exists(), f"no mksim binary at {MKSIM}: build first (MKSIM_BUILD_DIR={BUILD})"
    if case.get("xfail"):
        # Run it anyway; only a failure is expected (strict: a fixed bug shows as XPASS -> failure).
        request_xfail = case["xfail"]
    else:
        request_xfail = None
    args = [expand(a, tmp_path / "out") for a in case["args"]]
    env = dict(os.environ, LC_ALL="C")
    env.pop("HWLOC_XML_VERBOSE", None)
    limit = None
    if case.get("memory_limit_mb"):
        if sanitized():
            pytest.skip("needs an address-space limit, which AddressSanitizer builds cannot run under")
        limit_bytes = case["memory_limit_mb"] << 20

        def limit():
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    proc = subprocess.run([str(MKSIM), *args], cwd=ROOT, capture_output=True, timeout=120, env=env, preexec_fn=limit)
    stderr = proc.stderr.decode("utf-8", "replace")
    problems = []
    if case.get("accept_success") and proc.returncode == 0:
        pass
    elif proc.returncode != 2:
        problems.append(f"exit status {proc.returncode}, expected 2")
    for bad in FORBIDDEN:
        if bad in stderr:
            problems.append(f"stderr contains {bad!r}")
    if proc.returncode != 0:
        if stderr.count("mksim: error:") != 1:
            problems.append(f"stderr has {stderr.count('mksim: error:')} 'mksim: error:' lines, expected exactly one")
        for want in case["expect"]:
            if want not in stderr:
                problems.append(f"stderr lacks {want!r}")
    report = f"mksim {' '.join(args)}\n" + "\n".join(problems) + f"\n--- stderr ---\n{stderr[-3000:]}"
    if request_xfail:
        if problems:
            pytest.xfail(f"known bug: {request_xfail}")
        pytest.fail(f"XPASS: the case passes now; remove its 'xfail' ({request_xfail})", pytrace=False)
    assert not problems, report
