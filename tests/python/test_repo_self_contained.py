"""The repository stands on its own: no tracked file reads or names a folder beside it (the real-world inputs the
tests, configs, notebooks and docs use are copied into data/realdata, with their origin and licence in
data/realdata/SOURCES.md), and every file SOURCES.md lists is there."""

import re
import subprocess

import pytest

from conftest import ROOT

# Built from parts so that this file does not match itself: the folder name followed by a slash (a relative or
# absolute path into it), or joined to ".." or to a `parent` by a path operator (the examples in the first test).
SHARED = "shared"
OUTSIDE = re.compile(SHARED + r"/" + r"|\.\.[\"'\s]*[/\\,+][\"'\s]*" + SHARED + r"\b" +
                     r"|\bparent[\"'\s)]*[/,+][\"'\s]*" + SHARED + r"\b")


def tracked_files():
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout (git ls-files failed): nothing to check")
    return [ROOT / p for p in out.decode().split("\0") if p]


def test_the_pattern_finds_what_it_must():
    for bad in ['"file": "../../' + SHARED + '/realdata/x.txt"', 'MKSIM_SOURCE_DIR "/../' + SHARED + '/realdata"',
                'fs::path(d) / ".." / "' + SHARED + '"', 'ROOT.parent / "' + SHARED + '" / "realdata"',
                "os.path.join(root, '..', '" + SHARED + "')", '$ROOT/../' + SHARED]:
        assert OUTSIDE.search(bad), bad
    for good in ['"address_spaces": "' + SHARED + '"', SHARED + "_cache(a, b)", "a " + SHARED + " L3",
                 "validation/" + SHARED + "-update-4x4.png", "data/realdata/hwloc/x.xml"]:
        assert not OUTSIDE.search(good), good


def test_no_tracked_file_names_a_folder_outside_the_repository():
    found = []
    for path in tracked_files():
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        for n, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:160]}")
    assert not found, "tracked files naming a folder outside the repository:\n" + "\n".join(found)


def test_every_real_data_file_has_its_source_and_licence():
    data = ROOT / "data" / "realdata"
    sources = (data / "SOURCES.md").read_text(encoding="utf-8")
    files = sorted(p for p in data.rglob("*") if p.is_file() and p.parent.name != "LICENSES" and p.name != "SOURCES.md")
    assert len(files) >= 19
    for p in files:
        rel = p.relative_to(data).as_posix()
        listed = rel in sources or (p.parent.name == "trappy" and p.name in sources)
        assert listed, f"data/realdata/{rel} is not in data/realdata/SOURCES.md"
    for notice in re.findall(r"\]\((LICENSES/[^)]+)\)", sources):
        assert (data / notice).is_file(), notice
