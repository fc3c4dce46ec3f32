#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Score detector events against ground-truth labels.

    python3 tests/sim/evaluate.py --labels X.labels.csv --events X.jsonl [--recording X.csv | --duration S]
    python3 tests/sim/evaluate.py --dir DIR          # every DIR/NAME.labels.csv with DIR/NAME.jsonl

Events are the JSON Lines printed by `spasmctl analyze --json FILE`: one
object per event with "type" (spasm|twitch|voluntary), "onset_s", "offset_s",
"announced_s", "detected_at_s", ...; a {"type": "summary", ...} line is
skipped. Labels are `onset_s,offset_s,class` rows.

Matching is per class and one to one: a detected event of class C can match
one true event of class C that it overlaps, and the other way round, pairs
taken greedily by largest overlap. Extra fragments of one true event are
false positives; an event of the wrong class over a true event is a false
positive of its class and leaves the true event a false negative.
"""

import argparse
import glob
import json
import math
import os
import sys

CLASSES = ("spasm", "twitch", "voluntary")


# --------------------------------------------------------------------------
# Input


def read_labels(path):
    """[(onset_s, offset_s, class)] from a labels CSV (header onset_s,offset_s,class)."""
    out = []
    with open(path) as f:
        for i, line in enumerate(f):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split(",")]
            if i == 0 and parts[0] == "onset_s":
                continue
            out.append((float(parts[0]), float(parts[1]), parts[2]))
    return out


def read_events(src):
    """Parse JSON Lines (a path or an iterable of lines). Returns (events, summary)."""
    if isinstance(src, str):
        with open(src) as f:
            lines = f.read().splitlines()
    else:
        lines = src
    events, summary = [], None
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise ValueError("%s:%d: not JSON: %s" % (src if isinstance(src, str) else "<events>", n, e))
        if obj.get("type") == "summary":
            summary = obj
            continue
        events.append(obj)
    return events, summary


def recording_info(path):
    """(rate_hz, duration_s, metadata) of a spasmd-recording v1 file. Duration is
    the `# duration_s=` line when present, else rows / rate."""
    meta = {}
    header_lines = 0
    with open(path, "rb") as f:
        for raw in f:
            header_lines += 1
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("#"):
                break                        # the column header row
            if "=" in line:
                k, v = line[1:].split("=", 1)
                meta[k.strip()] = v.strip()
    rate = float(meta.get("rate_hz", "nan"))
    if "duration_s" in meta:
        return rate, float(meta["duration_s"]), meta
    with open(path, "rb") as f:
        rows = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b"")) - header_lines
    return rate, rows / rate, meta


# --------------------------------------------------------------------------
# Matching and metrics


def _num(x, default=float("nan")):
    try:
        v = float(x)
    except (TypeError, ValueError):
        return default
    return v if math.isfinite(v) else default


def event_span(ev, end_s=None):
    """(onset, offset) of a detected event; an unfinished one runs to its
    duration, or to the end of the recording."""
    on = _num(ev.get("onset_s"))
    off = _num(ev.get("offset_s"), -1.0)
    if off < on:
        dur = _num(ev.get("duration_s"), -1.0)
        off = on + dur if dur >= 0 else (end_s if end_s is not None else on)
    return on, off


def overlap(a0, a1, b0, b1):
    """Length of the intersection of two closed intervals, or -1 if they do not meet."""
    if a0 > b1 or b0 > a1:
        return -1.0
    return min(a1, b1) - max(a0, b0)


def match(det, true):
    """Greedy one-to-one matching by largest overlap.
    det, true: lists of (onset, offset). Returns [(i_det, j_true)]."""
    pairs = []
    for i, (d0, d1) in enumerate(det):
        for j, (t0, t1) in enumerate(true):
            ov = overlap(d0, d1, t0, t1)
            if ov >= 0:
                pairs.append((-ov, abs(d0 - t0), i, j))
    pairs.sort()
    used_d, used_t, out = set(), set(), []
    for _, _, i, j in pairs:
        if i not in used_d and j not in used_t:
            used_d.add(i)
            used_t.add(j)
            out.append((i, j))
    return out


def percentile(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100.0
    lo, hi = int(math.floor(k)), int(math.ceil(k))
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def median(xs):
    return percentile(xs, 50)


class Result:
    """Counts and latencies of one recording, or pooled over many (r1 + r2)."""

    def __init__(self, name=""):
        self.name = name
        self.hours = 0.0
        self.tp = {c: 0 for c in CLASSES}
        self.fp = {c: 0 for c in CLASSES}
        self.fn = {c: 0 for c in CLASSES}
        self.onset_err = []            # |detected onset - true onset|, matched, all classes
        self.announce = []             # announced_s - true onset, matched, all classes
        self.announce_by = {c: [] for c in CLASSES}
        self.detect_spasm = []         # detected_at_s - true onset, matched spasms
        self.spasm_in_voluntary = 0    # spasm events overlapping a voluntary label
        self.twitch_in_voluntary = 0
        self.other_events = 0          # events of a type outside CLASSES
        self.missed = []               # (class, onset, offset) of unmatched true events
        self.false = []                # (class, onset, offset) of unmatched events
        self.n_files = 0

    def __add__(self, o):
        r = Result("total")
        r.n_files = self.n_files + o.n_files
        r.hours = self.hours + o.hours
        for c in CLASSES:
            r.tp[c] = self.tp[c] + o.tp[c]
            r.fp[c] = self.fp[c] + o.fp[c]
            r.fn[c] = self.fn[c] + o.fn[c]
            r.announce_by[c] = self.announce_by[c] + o.announce_by[c]
        for k in ("onset_err", "announce", "detect_spasm", "missed", "false"):
            setattr(r, k, getattr(self, k) + getattr(o, k))
        for k in ("spasm_in_voluntary", "twitch_in_voluntary", "other_events"):
            setattr(r, k, getattr(self, k) + getattr(o, k))
        return r

    def precision(self, c):
        d = self.tp[c] + self.fp[c]
        return self.tp[c] / d if d else 1.0

    def recall(self, c):
        d = self.tp[c] + self.fn[c]
        return self.tp[c] / d if d else 1.0

    def f1(self, c):
        p, r = self.precision(c), self.recall(c)
        return 2 * p * r / (p + r) if p + r else 0.0

    def has(self, c):
        """True if there is anything to score for class c."""
        return self.tp[c] + self.fp[c] + self.fn[c] > 0

    def false_spasms_per_hour(self):
        return self.fp["spasm"] / self.hours if self.hours > 0 else float("nan")

    def metrics(self):
        """Everything as a plain dict (for --json and the driver)."""
        m = {"files": self.n_files, "hours": round(self.hours, 4)}
        for c in CLASSES:
            m[c] = dict(tp=self.tp[c], fp=self.fp[c], fn=self.fn[c], precision=self.precision(c),
                        recall=self.recall(c), f1=self.f1(c),
                        announce_median_s=median(self.announce_by[c]))
        m.update(false_spasms_per_hour=self.false_spasms_per_hour(),
                 onset_abs_error_median_s=median(self.onset_err),
                 announce_median_s=median(self.announce), announce_p90_s=percentile(self.announce, 90),
                 spasm_detect_median_s=median(self.detect_spasm),
                 spasm_detect_p90_s=percentile(self.detect_spasm, 90),
                 spasm_events_in_voluntary=self.spasm_in_voluntary,
                 twitch_events_in_voluntary=self.twitch_in_voluntary,
                 other_events=self.other_events)
        return m


def evaluate(events, labels, duration_s, name=""):
    """Score one recording. events: dicts as parsed from the JSON Lines;
    labels: [(onset, offset, class)]; duration_s: the recording's length."""
    r = Result(name)
    r.n_files = 1
    r.hours = duration_s / 3600.0
    vol = [(a, b) for a, b, c in labels if c == "voluntary"]
    for c in CLASSES:
        det = [e for e in events if e.get("type") == c]
        dspan = [event_span(e, duration_s) for e in det]
        true = [(a, b) for a, b, cl in labels if cl == c]
        pairs = match(dspan, true)
        r.tp[c] = len(pairs)
        r.fp[c] = len(det) - len(pairs)
        r.fn[c] = len(true) - len(pairs)
        md = {i for i, _ in pairs}
        mt = {j for _, j in pairs}
        r.false += [(c,) + dspan[i] for i in range(len(det)) if i not in md]
        r.missed += [(c,) + true[j] for j in range(len(true)) if j not in mt]
        for i, j in pairs:
            ev, t0 = det[i], true[j][0]
            r.onset_err.append(abs(dspan[i][0] - t0))
            ann = _num(ev.get("announced_s"))
            if math.isfinite(ann):
                r.announce.append(ann - t0)
                r.announce_by[c].append(ann - t0)
            if c == "spasm":
                da = _num(ev.get("detected_at_s"))
                if math.isfinite(da) and da >= 0:
                    r.detect_spasm.append(da - t0)
        if c in ("spasm", "twitch"):
            n_in = sum(1 for d0, d1 in dspan if any(overlap(d0, d1, a, b) >= 0 for a, b in vol))
            if c == "spasm":
                r.spasm_in_voluntary = n_in
            else:
                r.twitch_in_voluntary = n_in
    r.other_events = sum(1 for e in events if e.get("type") not in CLASSES)
    return r


def evaluate_files(labels_path, events_path, duration_s=None, recording=None, name=None):
    """Score one pair of files. Duration from the argument, the recording's
    header, or the events summary (duration_s / stream_s), in that order."""
    events, summary = read_events(events_path)
    if duration_s is None and recording and os.path.exists(recording):
        duration_s = recording_info(recording)[1]
    if duration_s is None and summary:
        for k in ("duration_s", "stream_s", "time_s"):
            if k in summary:
                duration_s = float(summary[k])
                break
    if duration_s is None:
        raise ValueError("%s: recording duration unknown; give --duration or --recording" % events_path)
    if name is None:
        name = os.path.basename(labels_path).replace(".labels.csv", "")
    return evaluate(events, read_labels(labels_path), duration_s, name)


# --------------------------------------------------------------------------
# Tables


def _fmt(x, spec="%.2f"):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else spec % x


def table_rows(results):
    """Header and rows for a per-recording table with a total row."""
    head = ["scene", "min", "spasm tp/fp/fn", "spasm F1", "twitch tp/fp/fn", "twitch F1",
            "vol tp/fp/fn", "vol F1", "false sp/h", "sp in vol", "announce med s", "sp detect med/p90 s"]
    rows = []
    total = None
    for r in results:
        total = r if total is None else total + r
    for r in list(results) + ([total] if total is not None and len(results) > 1 else []):
        row = [r.name, "%.1f" % (r.hours * 60)]
        for c in CLASSES:
            row.append("%d/%d/%d" % (r.tp[c], r.fp[c], r.fn[c]))
            row.append(_fmt(r.f1(c), "%.3f") if r.has(c) else "-")
        row += [_fmt(r.false_spasms_per_hour(), "%.2f"), str(r.spasm_in_voluntary),
                _fmt(median(r.announce)),
                "%s / %s" % (_fmt(median(r.detect_spasm)), _fmt(percentile(r.detect_spasm, 90)))]
        rows.append(row)
    return head, rows, total


def format_table(head, rows, markdown=False):
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out)
    w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = lambda r: "  ".join(str(x).rjust(w[i]) if i else str(x).ljust(w[i]) for i, x in enumerate(r))  # noqa: E731
    return "\n".join([line(head), "  ".join("-" * x for x in w)] + [line(r) for r in rows])


def format_summary(r):
    m = r.metrics()
    lines = []
    for c in CLASSES:
        x = m[c]
        lines.append("%-9s TP %4d FP %4d FN %4d  precision %.3f recall %.3f F1 %.3f  announce median %s s"
                     % (c, x["tp"], x["fp"], x["fn"], x["precision"], x["recall"], x["f1"],
                        _fmt(x["announce_median_s"])))
    lines.append("recording %.2f h; false spasms %.2f /h; spasm events over voluntary labels %d; "
                 "twitch events over voluntary labels %d; events of other types %d"
                 % (r.hours, m["false_spasms_per_hour"], r.spasm_in_voluntary, r.twitch_in_voluntary,
                    r.other_events))
    lines.append("matched events: |onset error| median %s s; announced - onset median %s s, p90 %s s"
                 % (_fmt(m["onset_abs_error_median_s"], "%.3f"), _fmt(m["announce_median_s"], "%.3f"),
                    _fmt(m["announce_p90_s"], "%.3f")))
    lines.append("matched spasms: detected_at - onset median %s s, p90 %s s"
                 % (_fmt(m["spasm_detect_median_s"], "%.3f"), _fmt(m["spasm_detect_p90_s"], "%.3f")))
    return "\n".join(lines)


def read_truth(path):
    """NAME.truth.jsonl written by the simulator: {(class, onset rounded to ms): info}."""
    out = {}
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    d = json.loads(line)
                    out[(d["class"], round(d["onset_s"], 3))] = d
    return out


def describe(info):
    keep = ("kind", "posture", "amp_x", "side", "pulse_hz", "jerk")
    return " ".join("%s=%s" % (k, info[k]) for k in keep if k in info and info[k] not in (None, False))


def format_misses(r, truth=None):
    """Missed and false events, one a line; truth (read_truth) adds what each missed event was."""
    out = []
    for c, a, b in sorted(r.missed, key=lambda x: x[1]):
        info = (truth or {}).get((c, round(a, 3)))
        out.append("  missed %-9s %9.3f-%9.3f (%.2f s)%s" % (c, a, b, b - a, "  " + describe(info) if info else ""))
    for c, a, b in sorted(r.false, key=lambda x: x[1]):
        out.append("  false  %-9s %9.3f-%9.3f (%.2f s)" % (c, a, b, b - a))
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Score spasmctl analyze --json events against labels.")
    ap.add_argument("--labels", help="NAME.labels.csv")
    ap.add_argument("--events", help="JSON Lines from spasmctl analyze --json")
    ap.add_argument("--recording", help="the recording (for its duration)")
    ap.add_argument("--duration", type=float, help="recording duration in seconds")
    ap.add_argument("--dir", help="score every NAME.labels.csv in DIR that has NAME.jsonl (and NAME.csv)")
    ap.add_argument("--json", action="store_true", help="print the pooled metrics as JSON")
    ap.add_argument("-v", "--verbose", action="store_true", help="list missed and false events")
    a = ap.parse_args(argv)
    results = []
    if a.dir:
        for lab in sorted(glob.glob(os.path.join(a.dir, "*.labels.csv"))):
            base = lab[:-len(".labels.csv")]
            if os.path.exists(base + ".jsonl"):
                results.append(evaluate_files(lab, base + ".jsonl", recording=base + ".csv"))
                results[-1].truth_path = base + ".truth.jsonl"
        if not results:
            ap.error("no NAME.labels.csv with NAME.jsonl in %s" % a.dir)
    elif a.labels and a.events:
        rec = a.recording
        if rec is None and a.duration is None:
            guess = a.labels.replace(".labels.csv", ".csv")
            rec = guess if os.path.exists(guess) else None
        results.append(evaluate_files(a.labels, a.events, a.duration, rec))
        results[-1].truth_path = a.labels.replace(".labels.csv", ".truth.jsonl")
    else:
        ap.error("give --labels and --events, or --dir")
    head, rows, total = table_rows(results)
    if a.json:
        print(json.dumps(total.metrics(), indent=2, sort_keys=True))
        return 0
    print(format_table(head, rows))
    print()
    print(format_summary(total))
    if a.verbose:
        for r in results:
            s = format_misses(r, read_truth(getattr(r, "truth_path", None)))
            if s:
                print("%s:\n%s" % (r.name, s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
