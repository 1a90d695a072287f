"""Memory tiers from the command line (issue 17): `mksim machine` shows each node's kind and figures with their
origin, and node capacity is real: a run that needs more memory than its nodes have ends with an input error
naming the node and the demand (exit status 2), while one that fits runs."""
import json
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("MKSIM_BUILD_DIR", ROOT / "build"))
if not BUILD.is_absolute():
    BUILD = ROOT / BUILD
MKSIM = BUILD / "mksim"


def mksim(*args):
    return subprocess.run([str(MKSIM), *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300)


def write(tmp_path, doc):
    p = tmp_path / "c.json"
    p.write_text(json.dumps(doc))
    return p


def test_machine_summary_shows_kinds_and_marks_assumed_kind_figures(tmp_path):
    cfg = write(tmp_path, {"machine": {"sockets": 1, "cores_per_socket": 4,
                                       "memory": {"memory_nodes": [{"kind": "NVM", "size_gib": 256}]}}})
    r = mksim("machine", cfg)
    assert r.returncode == 0, r.stderr
    assert "node 1: NVM, package 0, 0 cores, 256.0 GiB" in r.stdout
    # NVM writes are slower than its reads, and every NVM figure is an assumption (the kind's default).
    assert "GB/s* read" in r.stdout and "GB/s* write" in r.stdout
    assert "memory.kinds.NVM.write_bandwidth_gb_s" in r.stdout
    j = json.loads(mksim("machine", cfg, "--json").stdout)
    assert [n["kind"] for n in j["nodes"]] == ["DRAM", "NVM"]
    assert j["nodes"][1]["write_bandwidth_gb_s"] < j["nodes"][1]["controller_bandwidth_gb_s"]
    assert j["provenance"]["memory.kinds.NVM.latency_ns"]["origin"] == "default"


def test_knl_preset_is_two_tiers():
    r = mksim("machine", "knl-7250-flat", "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    hbm = [n for n in j["nodes"] if n["kind"] == "HBM"]
    assert len(hbm) == 1 and hbm[0]["cores"] == 0 and hbm[0]["controller_bandwidth_gb_s"] == 490
    assert j["provenance"]["memory.kinds.HBM.read_bandwidth_gb_s"]["origin"] == "preset"


def run_error(tmp_path, doc):
    r = mksim("run", write(tmp_path, doc), "-o", tmp_path / "out", "-q")
    return r.returncode, r.stderr + r.stdout


def test_more_memory_than_the_machine_has_is_an_input_error(tmp_path):
    # 64 threads x 64 GiB on 2 x 128 GiB: first-touch fills node 0, falls back to node 1, then runs out.
    code, msg = run_error(tmp_path, {
        "machine": {"sockets": 2, "cores_per_socket": 32, "memory": {"node_size_gib": 128}},
        "workload": {"kind": "stream", "threads": 64, "bytes_per_thread": 64 * 2**30, "chunk_bytes": 2**20}})
    assert code == 2, msg
    assert "out of memory" in msg and "NUMA node" in msg and "64 GiB" in msg


def test_ycsb_beyond_the_machine_is_an_input_error(tmp_path):
    code, msg = run_error(tmp_path, {
        "machine": {"preset": "server-2s"},
        "workload": {"kind": "ycsb", "record_count": 100000000000, "duration_s": 0.001}})
    assert code == 2, msg
    assert "out of memory" in msg and "NUMA node" in msg


def test_a_bind_policy_does_not_fall_back(tmp_path):
    base = {"machine": {"sockets": 2, "cores_per_socket": 2, "memory": {"node_size_gib": 1}},
            "workload": {"kind": "stream", "threads": 2, "cores": [0, 1], "bytes_per_thread": 0.75 * 2**30,
                         "chunk_bytes": 2**24}}
    # First-touch: the second thread's region spills from node 0 to node 1, and the run completes.
    r = mksim("run", write(tmp_path, base), "-o", tmp_path / "ok", "-q")
    assert r.returncode == 0, r.stderr
    bound = dict(base, kernel={"memory_policy": "bind", "bind": {"node": 0}})
    code, msg = run_error(tmp_path, bound)
    assert code == 2, msg
    assert "NUMA node 0" in msg and "full" in msg and "bind" in msg


HETEROMEM = ROOT / "data" / "realdata" / "hwloc" / "64intel64-heteromem.xml"


def test_heteromem_file_gives_kinds_and_bandwidths_and_no_memory_side_l3():
    r = mksim("machine", HETEROMEM, "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    kinds = [n["kind"] for n in j["nodes"]]
    assert kinds.count("DRAM") == 4 and kinds.count("HBM") == 4
    for n in j["nodes"]:
        # The file's Bandwidth attribute in MiB/s: 22500 for DRAM, 90000 for HBM.
        expected = (22500 if n["kind"] == "DRAM" else 90000) * 1048576 / 1e9
        assert abs(n["controller_bandwidth_gb_s"] - expected) < 1e-6
    assert j["provenance"]["memory.kinds.HBM.read_bandwidth_gb_s"]["origin"] == "file"
    assert j["provenance"]["memory.controller_bandwidth_gb_s"]["origin"] == "file"
    assert j["provenance"]["memory.kinds.HBM.latency_ns"]["origin"] == "default"  # the file has no latencies
    # Each HBM node is local to the cores of its group (its cpuset): no interconnect hop from them.
    for n in j["nodes"]:
        if n["kind"] == "HBM":
            assert min(row[n["id"]] for row in j["latency_ns"]) == n["local_latency_ns"]
            assert sum(row[n["id"]] == n["local_latency_ns"] for row in j["latency_ns"]) == 2  # its DRAM node + itself
    # Its 2 GiB memory-side caches are not CPU caches.
    assert all(c["size_bytes"] < 2**30 for c in j["caches"])


def test_streaming_from_the_hbm_beside_the_cores_beats_their_dram(tmp_path):
    def bandwidth(node):
        cfg = write(tmp_path, {"machine": {"hwloc": str(HETEROMEM), "memory": {"core_bandwidth_gb_s": 200,
                                                                                  "core_mlp": 1000}},
                               "workload": {"kind": "stream", "threads": 4, "cores": [0, 1, 2, 3], "node": [node],
                                            "bytes_per_thread": 1e8, "chunk_bytes": 1e7}})
        out = tmp_path / f"out{node}"
        r = mksim("run", cfg, "-o", out, "-q")
        assert r.returncode == 0, r.stderr
        return json.loads((out / "results.json").read_text())["workload"]["metrics"]["bandwidth_gb_s"]
    j = json.loads(mksim("machine", HETEROMEM, "--json").stdout)
    dram = j["nodes"][0]
    hbm = min((n for n in j["nodes"] if n["kind"] == "HBM"), key=lambda n: j["latency_ns"][0][n["id"]])
    assert dram["cores"] == 4
    assert bandwidth(hbm["id"]) > 3 * bandwidth(0)
