"""A strict validator of Trace Event Format files (the JSON object form), for mksim's timeline (trace.json).

The format: https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU. `validate(text)` returns
the list of rule violations (empty: valid); each names the event (its index in traceEvents) and the rule. Beyond the
format's own rules (fields each phase requires, their types, matching flow ids, metadata) it checks what the viewers
need to draw slices right:

- times are exact: every ts and dur is a binary double exactly (its decimal text converts without rounding), so a
  viewer's ts + dur is the exact end; and ts + dur computed in doubles (what speedscope and catapult do) equals it;
- no complete event (X) is empty, and on each track (pid, tid) complete events nest or are disjoint, in exact
  arithmetic and in the integer nanoseconds Perfetto reads (llround(ts * 1000), llround(dur * 1000));
- speedscope's own import (a port of its trace-event.ts queue algorithm) rebuilds every slice with its ts, end and
  depth (no staircase of back-to-back slices nesting into each other).

Used by tests/python/test_trace_format.py; runnable as `python3 trace_event_validator.py trace.json`.
"""

import collections
import json
import math
import sys
from fractions import Fraction

PHASES = set("BEXiIC" "bne" "SFTp" "stf" "PM" "NOD" "cR" "()" "vV")
TOP_LEVEL = {"traceEvents", "displayTimeUnit", "otherData", "systemTraceEvents", "stackFrames", "samples",
             "metadata", "controllerTraceDataKey", "powerTraceAsString"}
EVENT_KEYS = {"name", "cat", "ph", "ts", "tts", "dur", "tdur", "pid", "tid", "id", "id2", "bp", "s", "args",
              "cname", "scope", "bind_id", "flow_in", "flow_out", "sf", "esf"}
METADATA = {"process_name": "name", "process_labels": "labels", "process_sort_index": "sort_index",
            "thread_name": "name", "thread_sort_index": "sort_index"}


class Num:
    """A JSON number kept with its text, so that exactness can be judged."""

    def __init__(self, text):
        self.text = text
        self.exact = Fraction(text)
        self.value = float(text)


def _load(text):
    def bad_constant(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_float=Num, parse_int=Num, parse_constant=bad_constant)


def _plain(v):
    """The document with numbers as Python numbers (for args and ids)."""
    if isinstance(v, Num):
        return int(v.exact) if v.exact.denominator == 1 and "." not in v.text and "e" not in v.text.lower() \
            else v.value
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def _is_int(v):
    return isinstance(v, Num) and v.exact.denominator == 1 and "." not in v.text and "e" not in v.text.lower()


def validate(text, require_names=True, require_time_order=True):
    """Violations of the rules in `text` (a trace file's content); [] if it is valid."""
    errors = []
    try:
        doc = _load(text)
    except (ValueError, TypeError) as e:
        return [f"not strict JSON: {e}"]
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return ["top level: expected an object with a traceEvents list"]
    for k in doc:
        if k not in TOP_LEVEL:
            errors.append(f"top level: unknown key {k!r}")
    if "displayTimeUnit" in doc and doc["displayTimeUnit"] not in ("ms", "ns"):
        errors.append("displayTimeUnit: expected 'ms' or 'ns'")
    if "otherData" in doc and not isinstance(doc["otherData"], dict):
        errors.append("otherData: expected an object")

    def err(i, msg):
        errors.append(f"traceEvents[{i}]: {msg}")

    slices = collections.defaultdict(list)  # (pid, tid) -> [(begin, end, index)] exact
    begins = collections.defaultdict(list)  # B/E stacks per track
    flows = collections.defaultdict(lambda: {"s": [], "t": [], "f": []})
    metadata = {}
    tracks_used, pids_used = set(), set()
    last_ts = None
    for i, e in enumerate(doc["traceEvents"]):
        if not isinstance(e, dict):
            err(i, "not an object")
            continue
        for k in e:
            if k not in EVENT_KEYS:
                err(i, f"unknown key {k!r}")
        ph = e.get("ph")
        if not isinstance(ph, str) or ph not in PHASES:
            err(i, f"ph {ph!r} is not a phase of the format")
            continue
        if not isinstance(e.get("name"), str) or (ph != "M" and not e["name"]):
            err(i, "name: expected a non-empty string")
        if "cat" in e and not isinstance(e["cat"], str):
            err(i, "cat: expected a string")
        if not _is_int(e.get("pid")):
            err(i, "pid: expected an integer")
            continue
        pid = int(e["pid"].exact)
        thread_scoped = ph in "BEXstf" or (ph in "iI" and e.get("s", "t") == "t") or \
            (ph == "M" and str(e.get("name", "")).startswith("thread_"))
        tid = None
        if thread_scoped or "tid" in e:
            if not _is_int(e.get("tid")):
                err(i, "tid: expected an integer")
                continue
            tid = int(e["tid"].exact)
        if "args" in e and not isinstance(e["args"], dict):
            err(i, "args: expected an object")
        if ph == "M":
            key = METADATA.get(e.get("name"))
            if key is None:
                err(i, f"metadata name {e.get('name')!r} is not one of {sorted(METADATA)}")
                continue
            arg = e.get("args", {}).get(key) if isinstance(e.get("args"), dict) else None
            if key == "name" and not isinstance(arg, str) or key == "sort_index" and not _is_int(arg):
                err(i, f"metadata {e['name']}: args.{key} missing or of the wrong type")
            mkey = (e["name"], pid, tid if e["name"].startswith("thread_") else None)
            if mkey in metadata:
                err(i, f"metadata {e['name']} given twice for pid {pid} tid {tid}")
            metadata[mkey] = i
            continue
        # every other phase has a time
        ts = e.get("ts")
        if not isinstance(ts, Num) or not math.isfinite(ts.value) or ts.exact < 0:
            err(i, "ts: expected a non-negative number")
            continue
        if Fraction(ts.value) != ts.exact:
            err(i, f"ts {ts.text} is not exactly a binary double: viewers would round it")
        if require_time_order and last_ts is not None and ts.exact < last_ts:
            err(i, f"ts {ts.text} is before the previous event's")
        last_ts = ts.exact
        pids_used.add(pid)
        if tid is not None:
            tracks_used.add((pid, tid))
        if ph == "X":
            dur = e.get("dur")
            if not isinstance(dur, Num) or not math.isfinite(dur.value):
                err(i, "dur: expected a number")
                continue
            if dur.exact <= 0:
                err(i, f"dur {dur.text}: an empty (or negative) complete event")
                continue
            if Fraction(dur.value) != dur.exact:
                err(i, f"dur {dur.text} is not exactly a binary double")
            end = ts.exact + dur.exact
            if Fraction(ts.value + dur.value) != end:
                err(i, f"ts + dur in doubles ({ts.value + dur.value!r}) is not the exact end ({float(end)!r})")
            slices[(pid, tid)].append((ts.exact, end, i, ts.value, dur.value))
        elif ph == "B":
            begins[(pid, tid)].append((e["name"], i))
        elif ph == "E":
            if not begins[(pid, tid)]:
                err(i, "E without a matching B on its track")
            else:
                begins[(pid, tid)].pop()
        elif ph in "iI":
            if e.get("s", "t") not in ("g", "p", "t"):
                err(i, "s: expected 'g', 'p' or 't'")
        elif ph == "C":
            args = e.get("args")
            if not isinstance(args, dict) or not args or not all(isinstance(v, Num) for v in args.values()):
                err(i, "counter: args must be a non-empty object of numbers")
        elif ph in "stf":
            if "id" not in e or not (_is_int(e["id"]) or isinstance(e["id"], str)):
                err(i, "flow event without an integer or string id")
                continue
            if not e.get("cat"):
                err(i, "flow event without a cat (the id is scoped by it)")
            if ph == "f" and e.get("bp", "e") != "e":
                err(i, "bp: only 'e' (bind to the enclosing slice) is defined")
            flows[(e.get("cat"), _plain(e["id"]))][ph].append((ts.exact, pid, tid, i))
    for track, open_b in begins.items():
        for name, i in open_b:
            err(i, f"B {name!r} never ends")

    # flows: one start and one finish per id, finish not before start, both inside a slice of their track
    def enclosed(track, t, inclusive_end):
        return any(a <= t < b or (inclusive_end and t == b) for a, b, *_ in slices.get(track, []))

    for (cat, fid), f in flows.items():
        if len(f["s"]) != 1 or len(f["f"]) != 1:
            idx = (f["s"] + f["t"] + f["f"])[0][3]
            err(idx, f"flow {cat}/{fid}: {len(f['s'])} start(s) and {len(f['f'])} finish(es), expected one each")
            continue
        (ts0, p0, t0, i0), (ts1, p1, t1, i1) = f["s"][0], f["f"][0]
        if ts1 < ts0:
            err(i1, f"flow {cat}/{fid} finishes before it starts")
        if not enclosed((p0, t0), ts0, True):
            err(i0, f"flow {cat}/{fid} starts outside any slice of its track")
        if not enclosed((p1, t1), ts1, False):
            err(i1, f"flow {cat}/{fid} finishes outside any slice of its track (bp 'e' binds to the enclosing one)")

    # nesting, exactly and in Perfetto's integer nanoseconds
    for track, items in slices.items():
        for label, key in (("", lambda s: (s[0], s[1])),
                           (" (in Perfetto's integer ns)",
                            lambda s: (round(s[3] * 1000), round(s[3] * 1000) + round(s[4] * 1000)))):
            stack = []
            for s in sorted(items, key=lambda s: (key(s)[0], -(key(s)[1] - key(s)[0]), s[2])):
                a, b = key(s)
                while stack and stack[-1][0] <= a:
                    stack.pop()
                if stack and b > stack[-1][0]:
                    err(s[2], f"overlaps the end of slice traceEvents[{stack[-1][1]}] on track {track}{label}: "
                              "slices on a track must nest or be disjoint")
                stack.append((b, s[2]))

    if require_names:
        for pid in sorted(pids_used):
            if ("process_name", pid, None) not in metadata:
                errors.append(f"pid {pid}: no process_name metadata")
        for pid, tid in sorted(tracks_used):
            if ("thread_name", pid, tid) not in metadata:
                errors.append(f"pid {pid} tid {tid}: no thread_name metadata")

    if not errors:
        errors += speedscope_mismatches(doc["traceEvents"])
    return errors


def speedscope_mismatches(events):
    """Imports the complete events as speedscope does (src/import/trace-event.ts: per track, a queue of begins and a
    queue of ends in time order, ties broken as it breaks them) and reports every slice that does not come out with its
    own begin, end and nesting depth."""
    out = []
    by_track = collections.defaultdict(list)
    for i, e in enumerate(events):
        if e.get("ph") == "X":
            by_track[(int(e["pid"].exact), int(e["tid"].exact))].append((i, e))
    for track, items in by_track.items():
        first = min(e["ts"].value for _, e in items)
        xs = [(e["ts"].value - first, e["dur"].value, i, e["name"], json.dumps(_plain(e.get("args")), sort_keys=True))
              for i, e in items]
        xs.sort(key=lambda x: (x[0], -x[1]))  # stable: longer first at the same ts
        begin_q = [(ts, i, name, key) for ts, d, i, name, key in xs]
        end_q = sorted(((ts + d, i, name, key) for ts, d, i, name, key in xs), key=lambda x: x[0])
        stack, got = [], {}
        while begin_q or end_q:
            if not end_q or (begin_q and (begin_q[0][0] < end_q[0][0] or
                                          (begin_q[0][0] == end_q[0][0] and begin_q[0][2] == end_q[0][2]))):
                b = begin_q.pop(0)
                stack.append(b)
                got[b[1]] = [b[0], None, len(stack) - 1]
                continue
            if stack:  # prefer an end with the same key as the top of the stack, then the same name, at this ts
                top = stack[-1]
                for field in (3, 2):
                    j = next((j for j in range(1, len(end_q)) if end_q[j][0] <= end_q[0][0]
                              and end_q[j][field] == top[field]), None)
                    if end_q[0][field] != top[field] and j is not None:
                        end_q[0], end_q[j] = end_q[j], end_q[0]
                        break
            e = end_q.pop(0)
            if stack and stack[-1][2] == e[2]:
                b = stack.pop()
                got[b[1]][1] = e[0]
        # what it should be: exact times, depth from exact nesting
        first_exact = min(e["ts"].exact for _, e in items)
        exact = sorted(((e["ts"].exact - first_exact, e["dur"].exact, i, e["name"]) for i, e in items),
                       key=lambda x: (x[0], -x[1], x[2]))
        stack = []
        for ts, d, i, name in exact:
            while stack and stack[-1] <= ts:
                stack.pop()
            want = (ts, ts + d, len(stack))
            stack.append(ts + d)
            g = got.get(i)
            if g is None or g[1] is None or Fraction(g[0]) != want[0] or Fraction(g[1]) != want[1] or g[2] != want[2]:
                out.append(f"traceEvents[{i}] {name!r}: speedscope would draw it as {g} (begin, end, depth), "
                           f"not ({float(want[0])}, {float(want[1])}, {want[2]})")
    return out


if __name__ == "__main__":
    problems = validate(open(sys.argv[1], encoding="utf-8").read())
    print("\n".join(problems) if problems else "valid")
    sys.exit(1 if problems else 0)
