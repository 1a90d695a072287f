"""End-to-end tests of the mksim command line: config -> run -> results files, as a user drives it."""
import csv
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("MKSIM_BUILD_DIR", ROOT / "build"))
if not BUILD.is_absolute():
    BUILD = ROOT / BUILD
MKSIM = BUILD / "mksim"
REALDATA = ROOT / "data" / "realdata"


def mksim(*args, cwd=ROOT):
    return subprocess.run([str(MKSIM), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300)


def write_config(tmp_path, doc, name="c.json"):
    p = tmp_path / name
    p.write_text(json.dumps(doc))
    return p


SMALL = {
    "machine": {"sockets": 2, "cores_per_socket": 4},
    "workload": [
        {"name": "cpu", "kind": "compute", "threads": 4, "cycles_per_thread": 1e6, "syscalls_per_chunk": 1,
         "syscall_class": "file"},
        {"name": "mem", "kind": "stream", "threads": 2, "cores": [0, 4], "node": [1, 0], "bytes_per_thread": 4e6},
    ],
}


def test_run_writes_results_and_csv_tables(tmp_path):
    cfg = write_config(tmp_path, SMALL)
    out = tmp_path / "out"
    r = mksim("run", cfg, "-o", out)
    assert r.returncode == 0, r.stderr
    assert "monolithic" in r.stdout and "cpu.makespan_s" in r.stdout
    res = json.loads((out / "results.json").read_text())
    s = res["summary"]
    assert s["status"] == "completed" and s["threads_finished"] == s["threads"] == 6
    assert s["sim_time_s"] > 0 and s["events"] == sum(s["events_by_kind"].values())
    assert s["events_by_kind"]["syscall"] == 4 * 10
    assert set(res["workload"]["metrics"]) == {"cpu", "mem"}
    assert res["config"]["kernel"]["architecture"] == "monolithic"
    assert res["simgrid_version"] == "3.32" and res["seed"] == 1
    for table in ("threads", "cores", "memory"):
        rows = list(csv.DictReader(open(out / f"{table}.csv")))
        assert len(rows) == len(res[table])
        assert rows[0].keys() == res[table][0].keys()
    assert sum(row["remote_bytes"] for row in res["memory"]) == 8e6


def test_same_seed_same_bytes_apart_from_wall_clock(tmp_path):
    cfg = write_config(tmp_path, SMALL)
    docs = []
    for i in range(2):
        out = tmp_path / f"o{i}"
        assert mksim("run", cfg, "-o", out, "--seed", 5).returncode == 0
        d = json.loads((out / "results.json").read_text())
        del d["wall_clock"]
        docs.append(json.dumps(d, sort_keys=True))
        assert d["seed"] == 5
    assert docs[0] == docs[1]
    assert (tmp_path / "o0" / "threads.csv").read_bytes() == (tmp_path / "o1" / "threads.csv").read_bytes()


def test_set_overrides_any_field_and_shows_in_resolved_config(tmp_path):
    cfg = write_config(tmp_path, SMALL)
    out = tmp_path / "o"
    r = mksim("run", cfg, "-o", out, "--set", "kernel.architecture=multikernel", "--set", "workload.0.threads=2",
              "--set", "machine.memory.local_latency_ns=95")
    assert r.returncode == 0, r.stderr
    res = json.loads((out / "results.json").read_text())
    assert res["config"]["kernel"]["architecture"] == "multikernel"
    assert res["config"]["workload"][0]["threads"] == 2
    assert res["config"]["machine"]["memory"]["local_latency_ns"] == 95
    assert res["summary"]["threads"] == 4


def test_bad_config_names_file_path_and_expectation_with_exit_2(tmp_path):
    doc = json.loads(json.dumps(SMALL))
    doc["kernel"] = {"architecture": "microkernal"}
    cfg = write_config(tmp_path, doc)
    r = mksim("validate", cfg)
    assert r.returncode == 2
    assert str(cfg) in r.stderr and "kernel.architecture" in r.stderr and "did you mean 'microkernel'" in r.stderr
    doc = json.loads(json.dumps(SMALL))
    doc["workload"][1]["node"] = [0, 7]
    r = mksim("validate", write_config(tmp_path, doc, "n.json"))
    assert r.returncode == 2 and "workload[1].node" in r.stderr and "0..1" in r.stderr
    bad = tmp_path / "broken.json"
    bad.write_text('{"machine": {"sockets": 2,,}}')
    r = mksim("run", bad)
    assert r.returncode == 2 and "broken.json: line 1, column" in r.stderr


def test_validate_accepts_every_example_config():
    configs = sorted((ROOT / "configs").glob("*.json"))
    assert configs
    for cfg in configs:
        r = mksim("validate", cfg)
        assert r.returncode == 0, f"{cfg}: {r.stderr}"


def test_machine_summaries_from_preset_hwloc_config_and_this_host(tmp_path):
    r = mksim("machine", "opteron-4s-64c", "--json")
    assert r.returncode == 0
    m = json.loads(r.stdout)
    assert (m["packages"], m["numa_nodes"], m["cores"]) == (4, 8, 64)
    assert len(m["latency_ns"]) == 8 and m["latency_ns"][0][3] > m["latency_ns"][0][1] > m["latency_ns"][0][0]
    r = mksim("machine", REALDATA / "hwloc" / "64amd64-4p2n4ca2co.xml")
    assert r.returncode == 0 and "NUMA nodes 8" in r.stdout and "cores 64" in r.stdout
    cfg = write_config(tmp_path, SMALL)
    r = mksim("machine", cfg, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["cores"] == 8
    r = mksim("machine", "--this-host", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["cores"] >= 1
    r = mksim("machine", "opteron")
    assert r.returncode == 2 and "opteron-4s-64c" in r.stderr


def test_hwloc_config_path_resolves_against_the_config_folder(tmp_path):
    (tmp_path / "topo").mkdir()
    (tmp_path / "topo" / "t.xml").write_bytes((REALDATA / "hwloc" / "memorysidecaches.xml").read_bytes())
    doc = {"machine": {"hwloc": "topo/t.xml"}, "workload": {"kind": "compute", "threads": 4}}
    cfg = write_config(tmp_path, doc)
    out = tmp_path / "o"
    r = mksim("run", cfg, "-o", out, cwd="/")
    assert r.returncode == 0, r.stderr
    res = json.loads((out / "results.json").read_text())
    assert res["summary"]["cores"] == 40 and res["summary"]["numa_nodes"] == 4


def test_list_names_every_slot_and_help_explains_commands():
    r = mksim("list")
    assert r.returncode == 0
    for name in ("monolithic", "microkernel", "multikernel", "exokernel", "round-robin", "first-touch",
                 "interleave", "bind", "local", "global-heap", "compute", "stream", "server-2s", "trap_cycles"):
        assert name in r.stdout
    r = mksim("--help")
    assert r.returncode == 0 and all(c in r.stdout for c in ("run", "validate", "machine", "list"))
    r = mksim("run", "--help")
    assert r.returncode == 0 and "--set" in r.stdout and "--seed" in r.stdout


def test_config_reference_is_generated_from_the_code():
    r = mksim("docs", "config")
    assert r.returncode == 0
    assert (ROOT / "docs" / "config.md").read_text() == r.stdout, \
        "docs/config.md is stale: regenerate it with `build/mksim docs config > docs/config.md`"


def test_demo_prints_one_table_of_the_four_architectures(tmp_path):
    env = dict(os.environ, MKSIM_BUILD_DIR=str(BUILD), MKSIM_DEMO_OUT=str(tmp_path / "demo"))
    r = subprocess.run(["bash", str(ROOT / "scripts" / "demo.sh")], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stdout.splitlines() if "|" in l]
    for arch in ("monolithic", "microkernel", "multikernel", "exokernel"):
        assert sum(l.strip().startswith(arch) for l in lines) == 1
