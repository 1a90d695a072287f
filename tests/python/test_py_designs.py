"""mksim.designs: the four kernel designs on one scenario, with findings derived from the numbers (the demo)."""

import copy
import json
import re
import subprocess
import sys

import pytest

import mksim
from mksim import designs
from conftest import ROOT, SMALL_COMPUTE


def fake_run(design, sim_time_s, busy_s, kernel_s, spin_s, events=None, cores=4, status="completed"):
    """A results.json document with the fields the comparison reads, split evenly over `cores` cores."""
    per = [{"id": i, "busy_s": busy_s / cores, "kernel_s": kernel_s / cores, "spin_s": spin_s / cores,
            "interrupts": 0} for i in range(cores)]
    return {"summary": {"architecture": design, "status": status, "sim_time_s": sim_time_s,
                        "events_by_kind": dict(events or {})},
            "cores": per, "config": {"machine": {"name": "m"}}}


def spin_bound():
    # monolithic spins on a contended lock; the multikernel replaces the lock by messages.
    return [fake_run("monolithic", 4e-3, 12e-3, 8e-3, 6e-3, {"syscall_trap": 1000, "ipi": 300}),
            fake_run("microkernel", 3e-3, 10e-3, 5e-3, 1e-3, {"syscall_trap": 1000, "ipc": 2000}),
            fake_run("multikernel", 2e-3, 6e-3, 2e-3, 0, {"syscall_trap": 1000, "urpc_message": 3000}),
            fake_run("exokernel", 2.5e-3, 8e-3, 3e-3, 0.5e-3, {"libos_call": 1000})]


def test_findings_name_the_winner_the_margin_and_the_mechanism():
    cmp = designs.DesignComparison(spin_bound())
    f = cmp.findings()
    assert 2 <= len(f) <= 3
    assert f[0].startswith("multikernel wins in 2 ms, 1.25x faster than the runner-up exokernel")
    assert "monolithic is slowest at 4 ms (2.00x the winner's time)" in f[0]
    # 6 ms of extra busy core time, 6 ms of it spinning: 50% of monolithic's busy time, 0% of the multikernel's.
    assert f[1] == ("The gap is spinning on contended locks: it takes 50% of monolithic's busy core time against 0% "
                    "of multikernel's, 100% of the 6 ms of core time that grew. It also takes 0 messages against 3,000.")
    # The third design behind the winner, explained the same way.
    assert f[2].startswith("microkernel (1.50x): the gap is kernel work")
    assert "50% of the 4 ms of core time that grew. It also takes 2,000 messages against 3,000." in f[2]


def test_findings_follow_the_numbers_when_they_change():
    docs = spin_bound()
    # Make monolithic the cheapest: the first sentence names it, and the gap is now the microkernel's kernel work.
    docs[0] = fake_run("monolithic", 1e-3, 4e-3, 1e-3, 0, {"syscall_trap": 1000})
    docs[1] = fake_run("microkernel", 5e-3, 14e-3, 11e-3, 0.2e-3, {"syscall_trap": 1000, "ipc": 9000})
    f = designs.DesignComparison(docs).findings()
    assert f[0].startswith("monolithic wins in 1 ms, 2.00x faster than the runner-up multikernel")
    assert "microkernel is slowest at 5 ms (5.00x" in f[0]
    assert f[1].startswith("The gap is kernel work")
    assert "microkernel's busy core time against 25% of monolithic's" in f[1]


def test_a_part_of_the_job_that_another_design_finishes_sooner_is_named():
    docs = spin_bound()
    ends = {"monolithic": (4e-3, 1.5e-3), "microkernel": (3e-3, 1.4e-3), "multikernel": (2e-3, 1.6e-3),
            "exokernel": (2.5e-3, 0.7e-3)}
    for doc in docs:
        calls, unmap = ends[doc["summary"]["architecture"]]
        doc["threads"] = [{"process": "compute", "end_s": calls}, {"process": "unmap", "end_s": unmap},
                          {"process": "unmap", "end_s": unmap / 2}]
    cmp = designs.DesignComparison(docs)
    assert cmp.parts() == ["compute", "unmap"]
    assert "compute ends (ms)" in cmp.table_text() and "unmap ends (ms)" in cmp.table_text()
    f = cmp.findings()
    assert f[2] == ("The unmap part alone favours exokernel: it ends at 0.7 ms under exokernel against 1.6 ms under "
                    "multikernel (2.29x), but it does not set the job's time.")


def test_no_winner_when_the_designs_tie_and_waiting_when_cores_are_not_busier():
    tie = [fake_run(d, 1e-3 * (1 + 0.001 * i), 4e-3, 1e-3, 0) for i, d in enumerate(designs.DESIGNS)]
    f = designs.DesignComparison(tie).findings()
    assert len(f) == 1 and f[0].startswith("No design wins: all 4 finish within 2%")
    idle = [fake_run("monolithic", 1e-3, 4e-3, 1e-3, 0), fake_run("microkernel", 3e-3, 4e-3, 1e-3, 0)]
    f = designs.DesignComparison(idle).findings()
    assert "it loses its time waiting" in f[1]


def test_table_has_units_aligned_columns_and_one_row_per_design():
    text = designs.DesignComparison(spin_bound()).table_text()
    lines = text.splitlines()
    assert len(lines) == 2 + 4
    assert "sim time (ms)" in lines[0] and "busy (core-ms)" in lines[0] and "spin (%)" in lines[0]
    assert [line.split()[0] for line in lines[2:]] == list(designs.DESIGNS)
    # right-aligned numeric columns end at the same place on every line
    assert len({len(line) for line in lines}) == 1
    assert re.search(r"monolithic\s+4\.000\s+2\.00x\s+12\.00\s+33\.3\s+16\.7\s+50\.0\s+0\s+0\s+1,000", text)


def test_plot_is_a_png_with_both_panels(tmp_path):
    png = tmp_path / "designs.png"
    fig = designs.DesignComparison(spin_bound()).plot(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [ax.get_ylabel() for ax in fig.axes] == ["simulated time (ms)", "busy core time, all cores (ms)"]


def test_real_runs_winner_changes_with_the_config(tmp_path):
    # System calls that update shared kernel state on every core: monolithic serialises them on its lock.
    cfg = copy.deepcopy(SMALL_COMPUTE)
    cfg["workload"].update({"cycles_per_thread": 4e5, "chunk_cycles": 2e3, "syscall_cycles": 200})
    cmp = designs.compare(cfg, out=tmp_path / "a", jobs=2)
    assert [r["design"] for r in cmp.rows] == list(designs.DESIGNS)
    for d in designs.DESIGNS:
        assert (tmp_path / "a" / d / "results.json").exists()
    best = cmp.ranking()[0]["design"]
    assert min(cmp.rows, key=lambda r: r["sim_time_s"])["design"] == best
    assert cmp.findings()[0].startswith(f"{best} wins")
    # Make the winner's system calls expensive (its parameters only): another design wins, and the sentence says so.
    slow = {"monolithic": {"kernel.monolithic.trap_cycles": 200000},
            "microkernel": {"kernel.microkernel.ipc_fastpath_cycles": 200000},
            "multikernel": {"kernel.multikernel.trap_cycles": 200000},
            "exokernel": {"kernel.exokernel.libos_call_cycles": 200000}}[best]
    cmp2 = designs.compare(cfg, overrides=slow, jobs=2)
    best2 = cmp2.ranking()[0]["design"]
    assert best2 != best
    assert cmp2.findings()[0].startswith(f"{best2} wins")


def test_cli_prints_table_findings_and_figure(tmp_path):
    cfg = tmp_path / "c.json"
    c = copy.deepcopy(SMALL_COMPUTE)
    c["workload"].update({"cycles_per_thread": 2e5, "chunk_cycles": 2e3, "syscall_cycles": 200})
    cfg.write_text(json.dumps(c))
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "mksim.designs", str(cfg), "-o", str(out), "-j", "2"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "sim time (ms)" in r.stdout and " wins in " in r.stdout
    assert f"figure: {out / 'designs.png'}" in r.stdout
    assert (out / "designs.png").exists()
    saved = json.loads((out / "comparison.json").read_text())
    assert saved["findings"][0] in r.stdout
    bad = subprocess.run([sys.executable, "-m", "mksim.designs", str(cfg), "-o", str(out), "--set",
                          "workload.threads=-1"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "workload.threads" in bad.stderr
