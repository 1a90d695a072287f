"""The four kernel designs on one scenario: run a config under each kernel architecture, tabulate where the cores'
time went, and say in words what the numbers show (which design wins, by how much, and which mechanism is
responsible), with a figure.

From Python::

    cmp = mksim.designs.compare("configs/demo.json", out="out/demo")
    print(cmp.table_text()); print("\\n".join(cmp.findings())); cmp.plot("out/demo/designs.png")

From the shell (what ``scripts/demo.sh`` runs)::

    python3 -m mksim.designs configs/demo.json -o out/demo

The findings are derived from the results only: the sim time of each run (``summary.sim_time_s``), the per-core
breakdown of busy time into user work, kernel work and spinning on locks (``cores[].busy_s``, ``kernel_s``,
``spin_s``; spinning is kernel time), the interrupts the cores took (``cores[].interrupts``) and the event counts
(``summary.events_by_kind``: system calls, IPIs, messages, TLB shootdowns).
"""

import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DESIGNS = ("monolithic", "microkernel", "multikernel", "exokernel")

# Event kinds (summary.events_by_kind) grouped as the table shows them.
MESSAGE_EVENTS = ("ipc", "lrpc", "urpc_message", "agreement_message")
SYSCALL_EVENTS = ("syscall_trap", "libos_call", "protected_call")

# Where busy core time goes, in the order of the table and the figure: (key, column header, phrase in a sentence).
PARTS = (
    ("user_s", "user", "user-level work"),
    ("kernel_work_s", "kernel", "kernel work (traps, copies, services, messages and interrupt handlers)"),
    ("spin_s", "spin", "spinning on contended locks"),
)

# Below this spread between the fastest and the slowest design, no design is called the winner.
TIE_FRACTION = 0.02


def design_row(doc):
    """The figures of one run (a results.json document) that the comparison uses, as a flat dict."""
    s = doc["summary"]
    cores = doc["cores"]
    busy = sum(c["busy_s"] for c in cores)
    kernel = sum(c["kernel_s"] for c in cores)
    spin = sum(c["spin_s"] for c in cores)
    ev = s.get("events_by_kind", {})
    return {
        "design": s["architecture"],
        "status": s["status"],
        "sim_time_s": s["sim_time_s"],
        "busy_s": busy,
        "user_s": busy - kernel,
        "kernel_work_s": kernel - spin,
        "spin_s": spin,
        # Handler work one core asked of another (IPIs of TLB shootdowns and wake-ups, monitor requests).
        "interrupts": int(ev.get("interrupt", 0)),
        "ipis": int(ev.get("ipi", 0)),
        "messages": int(sum(ev.get(k, 0) for k in MESSAGE_EVENTS)),
        "syscalls": int(sum(ev.get(k, 0) for k in SYSCALL_EVENTS)),
        "tlb_shootdowns": int(ev.get("tlb_shootdown", 0)),
        # When each part of the job (the threads of one process: one workload) finished.
        "parts": parts_end(doc),
    }


def parts_end(doc):
    """{process name: when its last thread ended (s)}, in the order the processes first appear."""
    out = {}
    for t in doc.get("threads", []):
        out[t["process"]] = max(out.get(t["process"], 0.0), t["end_s"])
    return out


def _pct(x, total):
    return 100.0 * x / total if total > 0 else 0.0


def _count(n):
    return f"{n:,}"


def _ms(s):
    return f"{s * 1e3:.3g} ms" if s * 1e3 < 100 else f"{s * 1e3:,.0f} ms"


class DesignComparison:
    """The runs of one scenario under several kernel designs. ``rows``: one dict per design (:func:`design_row`);
    ``docs``: the results.json documents; ``out``: where the runs were written (or None)."""

    def __init__(self, docs, out=None, title=None):
        if not docs:
            raise ValueError("no runs to compare")
        self.docs = list(docs)
        self.rows = [design_row(d) for d in self.docs]
        self.out = Path(out) if out is not None else None
        if title is None:
            cfg = self.docs[0].get("config", {})
            machine = cfg.get("machine", {}).get("name", "?")
            title = f"the kernel designs on {machine}"
        self.title = title

    # ---- the numbers ----

    def ranking(self):
        """The rows, fastest first (completed runs before failed or stopped ones)."""
        return sorted(self.rows, key=lambda r: (r["status"] != "completed", r["sim_time_s"], r["design"]))

    def frame(self):
        """The table as a pandas DataFrame, one row per design in the order run."""
        import pandas as pd

        return pd.DataFrame(self.rows).set_index("design")

    def parts(self):
        """The parts of the job (processes) when there are several, else []."""
        names = []
        for r in self.rows:
            names += [p for p in r["parts"] if p not in names]
        return names if len(names) > 1 else []

    def table_text(self):
        """An aligned text table: one row per design, units in the headers."""
        best = self.ranking()[0]["sim_time_s"]
        parts = self.parts()
        head = ["design", "sim time (ms)", "vs best"] + [f"{p} ends (ms)" for p in parts] + [
            "busy (core-ms)", "user (%)", "kernel (%)", "spin (%)", "interrupts", "messages", "syscalls"]
        lines = [head]
        for r in self.rows:
            b = r["busy_s"]
            lines.append([
                r["design"] + ("" if r["status"] == "completed" else f" ({r['status']})"),
                f"{r['sim_time_s'] * 1e3:.3f}",
                f"{r['sim_time_s'] / best:.2f}x" if best > 0 else "-",
            ] + [f"{r['parts'].get(p, float('nan')) * 1e3:.3f}" for p in parts] + [
                f"{b * 1e3:.2f}",
                f"{_pct(r['user_s'], b):.1f}",
                f"{_pct(r['kernel_work_s'], b):.1f}",
                f"{_pct(r['spin_s'], b):.1f}",
                _count(r["interrupts"]),
                _count(r["messages"]),
                _count(r["syscalls"]),
            ])
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        out = []
        for k, line in enumerate(lines):
            cells = [line[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(line[1:], widths[1:])]
            out.append("  ".join(cells).rstrip())
            if k == 0:
                out.append("  ".join("-" * w for w in widths))
        return "\n".join(out)

    # ---- the words ----

    def findings(self):
        """Two or three sentences derived from the numbers: the winner and its margin, the mechanism behind the
        largest gap (the part of busy core time that grew most from the winner to the slowest design), and what the
        event counts show of it."""
        ranked = self.ranking()
        win, worst = ranked[0], ranked[-1]
        if len(ranked) == 1:
            return [f"{win['design']} alone: {_ms(win['sim_time_s'])}."]
        if worst["sim_time_s"] - win["sim_time_s"] <= TIE_FRACTION * worst["sim_time_s"]:
            return [f"No design wins: all {len(ranked)} finish within {TIE_FRACTION:.0%} of one another "
                    f"({_ms(win['sim_time_s'])} to {_ms(worst['sim_time_s'])}); the scenario does not separate them."]
        out = []
        second = ranked[1]
        lead = f"{win['design']} wins in {_ms(win['sim_time_s'])}"
        if len(ranked) > 2:
            lead += f", {second['sim_time_s'] / win['sim_time_s']:.2f}x faster than the runner-up {second['design']}"
        out.append(f"{lead}; {worst['design']} is slowest at {_ms(worst['sim_time_s'])} "
                   f"({worst['sim_time_s'] / win['sim_time_s']:.2f}x the winner's time).")
        out.append(self._mechanism(win, worst) + self._counts(win, worst))
        third = self._part_of_its_own(win) or self._middle(ranked)
        if third:
            out.append(third)
        return out

    def _part_of_its_own(self, win):
        # A part of the job that another design finishes clearly sooner than the winner does.
        for part in self.parts():
            ends = [(r["parts"][part], r["design"]) for r in self.rows if part in r["parts"]]
            best_end, best = min(ends)
            mine = win["parts"].get(part)
            if best != win["design"] and mine and best_end < (1 - TIE_FRACTION) * mine:
                return (f"The {part} part alone favours {best}: it ends at {_ms(best_end)} under {best} against "
                        f"{_ms(mine)} under {win['design']} ({mine / best_end:.2f}x), but it does not set the job's "
                        f"time.")
        return ""

    def _middle(self, ranked):
        # The design between the runner-up and the slowest, when it is clearly behind the winner.
        if len(ranked) < 4:
            return ""
        win, mid = ranked[0], ranked[-2]
        if mid["sim_time_s"] <= (1 + TIE_FRACTION) * win["sim_time_s"]:
            return ""
        return (f"{mid['design']} ({mid['sim_time_s'] / win['sim_time_s']:.2f}x): "
                + self._mechanism(win, mid)[0].lower() + self._mechanism(win, mid)[1:] + self._counts(win, mid))

    @staticmethod
    def _mechanism(win, worst):
        # Busy core time of the slowest design beyond the winner's, by part; the largest part is the mechanism.
        # (Parts that shrank do not offset the others: the share is of what grew.)
        extra = {k: worst[k] - win[k] for k, _, _ in PARTS}
        grown = sum(max(0.0, e) for e in extra.values())
        key, _, phrase = max(PARTS, key=lambda p: extra[p[0]])
        share_worst = _pct(worst[key], worst["busy_s"])
        share_win = _pct(win[key], win["busy_s"])
        if worst["busy_s"] > win["busy_s"] and extra[key] > 0:
            return (f"The gap is {phrase}: it takes {share_worst:.0f}% of {worst['design']}'s busy core time "
                    f"against {share_win:.0f}% of {win['design']}'s, {_pct(extra[key], grown):.0f}% of the "
                    f"{_ms(grown)} of core time that grew.")
        # The slowest design keeps its cores no busier: it loses time waiting (idle cores, blocked threads).
        return (f"{worst['design']} keeps its cores no busier than {win['design']} ({_ms(worst['busy_s'])} against "
                f"{_ms(win['busy_s'])} of busy core time): it loses its time waiting, with cores idle.")

    @staticmethod
    def _counts(win, worst):
        # The event counts that differ by 1.5x or more between the two, as evidence of the mechanism (appended to the
        # mechanism's sentence; empty when none does).
        parts = []
        for key, what in (("interrupts", "interrupts"), ("messages", "messages"), ("syscalls", "system calls")):
            a, b = worst[key], win[key]
            if max(a, b) > 0 and (min(a, b) == 0 or max(a, b) / min(a, b) >= 1.5):
                parts.append(f"{_count(a)} {what} against {_count(b)}")
        if not parts:
            return ""
        return f" It also takes {', '.join(parts)}."

    # ---- the figure ----

    def plot(self, path=None):
        """A figure: sim time per design (left) and busy core time by part (right). Saved to ``path`` (PNG) when
        given; returns the matplotlib Figure."""
        import matplotlib

        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        names = [r["design"] for r in self.rows]
        best = self.ranking()[0]["design"]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
        times = [r["sim_time_s"] * 1e3 for r in self.rows]
        colors = ["#2b8a3e" if n == best else "#868e96" for n in names]
        bars = ax1.bar(names, times, color=colors)
        for b, t in zip(bars, times):
            ax1.annotate(f"{t:.3g}", (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom",
                         fontsize=9)
        for k, part in enumerate(self.parts()):  # when each part of the job ended
            ends = [r["parts"].get(part, float("nan")) * 1e3 for r in self.rows]
            ax1.scatter(names, ends, marker="_^sov"[k % 5], s=160 if k == 0 else 50, color="black", zorder=3,
                        label=f"{part} ends")
        if self.parts():
            ax1.legend(frameon=False, loc="upper right")
        ax1.set_ylabel("simulated time (ms)")
        ax1.set_title("time to finish (lower is better)")
        ax1.margins(y=0.15)
        bottom = [0.0] * len(self.rows)
        palette = {"user_s": "#4dabf7", "kernel_work_s": "#f08c00", "spin_s": "#e03131"}
        for key, label, _ in PARTS:
            vals = [r[key] * 1e3 for r in self.rows]
            ax2.bar(names, vals, bottom=bottom, label=label, color=palette[key])
            bottom = [a + b for a, b in zip(bottom, vals)]
        ax2.set_ylabel("busy core time, all cores (ms)")
        ax2.set_title("where the cores' time went")
        ax2.legend(frameon=False)
        for ax in (ax1, ax2):
            ax.spines[["top", "right"]].set_visible(False)
            ax.tick_params(axis="x", labelrotation=0)
        fig.suptitle(self.title)
        fig.tight_layout()
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=110)
            plt.close(fig)
        return fig

    def report(self):
        """The table and the findings as text."""
        return f"{self.table_text()}\n\n" + "\n".join(self.findings())


def compare(config, designs=DESIGNS, *, out=None, base_dir=None, overrides=None, jobs=None, **kw_overrides):
    """Runs ``config`` under each kernel architecture of ``designs`` (``kernel.architecture`` set for each, other
    overrides as for :func:`mksim.run`) and returns a :class:`DesignComparison`. With ``out``, each run is written to
    ``out/<design>``. Runs go ``jobs`` at a time (default: the cores available)."""
    from . import api
    from ._config import config_args

    cfg, _, _ = config_args(config, base_dir)
    ovs = dict(overrides or {})
    ovs.update({k.replace("__", "."): v for k, v in kw_overrides.items()})

    def one(design):
        target = None if out is None else Path(out) / design
        res = api.run(config, target, base_dir=base_dir, overrides={**ovs, "kernel.architecture": design})
        return res.doc

    jobs = jobs or max(1, min(len(designs), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=jobs) as pool:  # each run is a child process; the GIL is released
        docs = list(pool.map(one, designs))
    title = None
    if isinstance(config, (str, os.PathLike)) and not str(cfg).lstrip().startswith("{"):
        machine = docs[0].get("config", {}).get("machine", {}).get("name", "?")
        title = f"{Path(os.fspath(config)).name} on {machine}: the kernel designs"
    return DesignComparison(docs, out=out, title=title)


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python3 -m mksim.designs",
        description="Run a config under each kernel design, print a table and what the numbers show, save a figure.")
    ap.add_argument("config", help="a config file")
    ap.add_argument("-o", "--out", default="out/designs", help="output folder (one run folder per design, the "
                    "figure designs.png and the table comparison.json)")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                    help="override a config field (repeatable), as mksim run --set")
    ap.add_argument("--designs", default=",".join(DESIGNS), help="comma-separated kernel architectures")
    ap.add_argument("-j", "--jobs", type=int, default=None, help="runs at once")
    args = ap.parse_args(argv)
    from .errors import InputError, SimulationError

    overrides = {}
    for s in args.sets:
        path, eq, value = s.partition("=")
        if not eq:
            ap.error(f"--set {s}: expected dotted.path=value")
        try:
            overrides[path] = json.loads(value)
        except ValueError:
            overrides[path] = value
    try:
        cmp = compare(args.config, tuple(d for d in args.designs.split(",") if d), out=args.out,
                      overrides=overrides, jobs=args.jobs)
    except (InputError, SimulationError) as e:
        print(f"mksim.designs: {e}", file=sys.stderr)
        return 2
    png = Path(args.out) / "designs.png"
    cmp.plot(png)
    with open(Path(args.out) / "comparison.json", "w", encoding="utf-8") as f:
        json.dump({"rows": cmp.rows, "findings": cmp.findings()}, f, indent=2)
        f.write("\n")
    print(f"\n{cmp.title}\n")
    print(cmp.report())
    print(f"\nfigure: {png}\nruns:   {args.out}/<design>/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
