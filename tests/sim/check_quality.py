#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The detector's quality floors, on simulated scenes and on real recordings.

    python3 tests/sim/check_quality.py --spasmctl build/spasmctl [--set check] [--workdir build/sim]
                                       [--report FILE] [--real-data DIR]

1. Generates the scene set into WORKDIR/SET (kept while the simulator's
   sources, the set and the seed are unchanged).
2. Runs `spasmctl analyze --json` on every scene (2 at a time) and scores the
   events against the labels (evaluate.py); prints a table per scene.
3. Asserts the floors on the pooled result.
4. Runs the detector on the public recordings in ../shared/data/emg-real
   (relative to the project root) and asserts what they can show.
5. Prints PASS/FAIL per assertion and `quality: N passed, M failed`; exits 1
   if any failed.
"""

import argparse
import concurrent.futures
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import evaluate as ev  # noqa: E402
import scenes  # noqa: E402

SOURCES = ("models.py", "builder.py", "scenes.py")

# Floors on the pooled simulated scenes: (label, metric key, comparison, bound).
FLOORS = (
    ("spasm F1", "spasm_f1", ">=", 0.95),
    ("false spasms per hour", "false_spasms_per_hour", "<=", 1.0),
    ("twitch F1", "twitch_f1", ">=", 0.80),
    ("spasm events over voluntary labels", "spasm_events_in_voluntary", "<=", 0),
    ("median announced - onset (s)", "announce_median_s", "<=", 0.30),
    ("median spasm detected_at - onset (s)", "spasm_detect_median_s", "<=", 1.2),
    ("p90 spasm detected_at - onset (s)", "spasm_detect_p90_s", "<=", 1.5),
)


# Targets the detector does not meet yet, each with what is known about why.
# A check listed here that fails prints KNOWN and does not fail the run; one
# that passes prints XPASS, a prompt to take it off this list. Every entry is
# also named in the README, so a shortfall is never hidden by a green build.
KNOWN_SHORTFALLS = {
    "real myo_wrist_p12345_0: no event":
        "its 'slight hand movements' reach 10-100x the resting floor, above weak-spasm levels",
}


def known_shortfall(what):
    for key, reason in KNOWN_SHORTFALLS.items():
        if what.startswith(key):
            return reason
    return None


class Checks:
    def __init__(self):
        self.items = []   # (passed, text, known-shortfall reason or None)

    def add(self, ok, what, value):
        reason = known_shortfall(what)
        self.items.append((bool(ok), "%s: %s" % (what, value), reason))
        if ok:
            tag = "XPASS" if reason else "PASS"
        else:
            tag = "KNOWN" if reason else "FAIL"
        extra = "  (known shortfall: %s)" % reason if reason and not ok else ""
        if ok and reason:
            extra = "  (listed as a known shortfall: take it off KNOWN_SHORTFALLS)"
        print("%s  %s: %s%s" % (tag, what, value, extra), flush=True)

    @property
    def passed(self):
        return sum(1 for ok, _, _ in self.items if ok)

    @property
    def known(self):
        return sum(1 for ok, _, reason in self.items if not ok and reason)

    @property
    def failed(self):
        return sum(1 for ok, _, reason in self.items if not ok and not reason)

    def summary(self):
        lines = []
        if self.known:
            lines.append("quality: %d known shortfalls (targets not met, listed in README)" % self.known)
        lines.append("quality: %d passed, %d failed" % (self.passed, self.failed))
        return "\n".join(lines)


# --------------------------------------------------------------------------
# Scenes


def sources_hash(which, seed):
    h = hashlib.sha256()
    for name in SOURCES:
        with open(os.path.join(HERE, name), "rb") as f:
            h.update(name.encode() + b"\0" + f.read())
    h.update(("%s:%s" % (which, seed)).encode())
    return h.hexdigest()


def ensure_scenes(which, seed, outdir, jobs):
    """Generate the set unless outdir already holds it for the same sources; returns scene names."""
    seed = scenes.DEFAULT_SEED[which] if seed is None else seed
    names = list(scenes.scene_set(which))
    stamp = os.path.join(outdir, ".stamp")
    want = sources_hash(which, seed)
    have = None
    if os.path.exists(stamp):
        with open(stamp) as f:
            have = f.read().strip()
    complete = all(os.path.exists(os.path.join(outdir, n + ext)) for n in names for ext in (".csv", ".labels.csv"))
    if have == want and complete:
        print("scenes: %d in %s are up to date" % (len(names), outdir))
        return names
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    t0 = time.time()
    res = scenes.generate(which, outdir, seed, jobs=jobs, quiet=True)
    total = sum(r["duration"] for r in res)
    print("scenes: generated %d (%.1f min simulated) in %s in %.1f s"
          % (len(res), total / 60, outdir, time.time() - t0))
    with open(stamp, "w") as f:
        f.write(want + "\n")
    return names


def analyze(spasmctl, csv, out_jsonl):
    """Run spasmctl analyze --json; returns (ok, message, seconds)."""
    t0 = time.time()
    try:
        p = subprocess.run([spasmctl, "analyze", "--json", csv], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e), time.time() - t0
    with open(out_jsonl, "wb") as f:
        f.write(p.stdout)
    msg = p.stderr.decode("utf-8", "replace").strip()
    if p.returncode != 0:
        return False, "exit %d: %s" % (p.returncode, msg.splitlines()[-1] if msg else ""), time.time() - t0
    try:
        ev.read_events(out_jsonl)
    except ValueError as e:
        return False, str(e), time.time() - t0
    return True, msg, time.time() - t0


def analyze_all(spasmctl, jobs_list, workers):
    """jobs_list: [(name, csv, jsonl)] -> {name: (ok, message, seconds)}."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futs = {name: pool.submit(analyze, spasmctl, csv, js) for name, csv, js in jobs_list}
        return {name: f.result() for name, f in futs.items()}


def flat_metrics(total):
    m = total.metrics()
    out = dict(m)
    for c in ev.CLASSES:
        out[c + "_f1"] = m[c]["f1"]
    return out


def check_floors(checks, total):
    m = flat_metrics(total)
    for label, key, op, bound in FLOORS:
        v = m[key]
        ok = v == v and (v >= bound if op == ">=" else v <= bound)   # NaN fails
        shown = ("%d" % v) if isinstance(v, int) else ("%.3f" % v if v == v else "n/a")
        checks.add(ok, "%s %s %g" % (label, op, bound), shown)


# --------------------------------------------------------------------------
# Real recordings


def read_recording(path):
    """(rate_hz, column names, data array) of a spasmd-recording v1 file."""
    rate = None
    skip = 0
    with open(path) as f:
        for line in f:
            skip += 1
            if line.startswith("#"):
                if line[1:].strip().startswith("rate_hz="):
                    rate = float(line.split("=", 1)[1])
                continue
            cols = line.strip().split(",")
            break
    data = np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)
    return rate, cols, data


def muscle_activity(path):
    """Reference segmentation of emggo_tibialis_ecg_250hz.csv (no labels).

    The file is tibialis anterior EMG at 250 Hz with a large ECG artefact and
    56 ballistic dorsiflexions of 0.6-1.6 s. Offline and zero phase, so
    independent of the detector's own filters: high-pass at 20 Hz by FFT,
    centred 100 ms moving RMS, runs above 100 uV merged across gaps < 0.3 s.
    Over the whole file that envelope stays below ~80 uV on heartbeats and
    rest, reaches >= 465 uV in each of the 56 contractions, and 118 uV in
    one small burst trailing a contraction (at 284.9 s). Returns
    [(onset_s, offset_s, peak_uv)]; the contractions are the ones with
    peak_uv >= 300.
    """
    rate, cols, d = read_recording(path)
    x = d[:, cols.index("emg_1")]
    n = len(x)
    pad = int(rate)                          # mirror padding keeps the FFT from wrapping
    y = np.concatenate((x[pad:0:-1], x, x[-2:-pad - 2:-1]))
    spec = np.fft.rfft(y - y.mean())
    spec[np.fft.rfftfreq(len(y), 1.0 / rate) < 20.0] = 0.0
    hp = np.fft.irfft(spec, len(y))[pad:pad + n]
    w = int(round(0.1 * rate))
    env = np.sqrt(np.convolve(hp * hp, np.ones(w) / w, "same"))
    on = np.concatenate(([0], (env > 100.0).astype(np.int8), [0]))
    starts = np.flatnonzero(np.diff(on) == 1)
    ends = np.flatnonzero(np.diff(on) == -1)
    segs = []
    for a, b in zip(starts, ends):
        if segs and a - segs[-1][1] < 0.3 * rate:
            segs[-1][1] = b
        else:
            segs.append([a, b])
    return [(a / rate, b / rate, float(env[a:b].max())) for a, b in segs]


def real_checks(checks, spasmctl, real_dir, workdir, workers, rows):
    files = sorted(glob.glob(os.path.join(real_dir, "*.csv")))
    files = [f for f in files if not f.endswith(".labels.csv")]
    if not files:
        print("SKIP  real recordings: none in %s" % real_dir)
        return
    os.makedirs(workdir, exist_ok=True)
    jobs = [(os.path.basename(f)[:-4], f, os.path.join(workdir, os.path.basename(f)[:-4] + ".jsonl")) for f in files]
    runs = analyze_all(spasmctl, jobs, workers)
    bad = ["%s (%s)" % (n, runs[n][1]) for n, _, _ in jobs if not runs[n][0]]
    checks.add(not bad, "real: spasmctl analyze succeeds on all %d recordings" % len(jobs),
               "ok" if not bad else "failed: " + "; ".join(bad))
    for name, csv, js in jobs:
        if not runs[name][0]:
            continue
        events, summary = ev.read_events(js)
        spans = [ev.event_span(e) for e in events]
        kinds = {}
        for e in events:
            kinds[e.get("type")] = kinds.get(e.get("type"), 0) + 1
        rows.append([name, "%.1f" % (summary.get("duration_s", float("nan")) if summary else float("nan")),
                     str(len(events)), ", ".join("%s %d" % kv for kv in sorted(kinds.items())) or "-"])
        lab = csv[:-4] + ".labels.csv"
        if name.startswith("emggo_tibialis_ecg"):
            segs = muscle_activity(csv)
            # An event must touch muscle activity (with 0.5 s of slack for filter delays): one
            # that does not is driven by heartbeats (or noise). A heartbeat-driven detector
            # would fire every ~0.75 s, so the test is sensitive even though beats close to
            # a contraction are excused.
            stray = [s for s in spans if not any(ev.overlap(s[0], s[1], a - 0.5, b + 0.5) >= 0 for a, b, _ in segs)]
            checks.add(not stray, "real %s: no event away from muscle activity (heartbeats)" % name,
                       "%d stray events%s" % (len(stray), "" if not stray else " at " + ", ".join(
                           "%.2f" % s[0] for s in stray[:8])))
            big = [(a, b) for a, b, peak in segs if peak >= 300.0]
            found = sum(1 for a, b in big if any(ev.overlap(s[0], s[1], a, b) >= 0 for s in spans))
            checks.add(found == len(big), "real %s: every ballistic contraction detected" % name,
                       "%d/%d" % (found, len(big)))
            continue
        if not os.path.exists(lab):
            continue        # unlabelled: only that it runs (above)
        acts = [(a, b) for a, b, c in ev.read_labels(lab) if c == "activity"]
        if not acts:
            checks.add(not events, "real %s: no event (no activity in it)" % name,
                       "%d events" % len(events))
            continue
        found = sum(1 for a, b in acts if any(ev.overlap(s[0], s[1], a, b) >= 0 for s in spans))
        checks.add(found == len(acts), "real %s: every labelled activity overlapped by an event" % name,
                   "%d/%d" % (found, len(acts)))
        # cue labels are approximate: an event counts as "in rest" only if it lies entirely
        # outside every activity widened by 1 s on each side
        in_rest = [s for s in spans if not any(ev.overlap(s[0], s[1], a - 1.0, b + 1.0) >= 0 for a, b in acts)]
        checks.add(not in_rest, "real %s: no event in rest" % name,
                   "%d events%s" % (len(in_rest), "" if not in_rest else " at " + ", ".join(
                       "%.2f" % s[0] for s in in_rest[:8])))


# --------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description="spasmd detector quality floors")
    ap.add_argument("--spasmctl", required=True)
    ap.add_argument("--set", default="check", choices=("check", "full"))
    ap.add_argument("--seed", type=int)
    ap.add_argument("--workdir", default=os.path.join(ROOT, "build", "sim"))
    ap.add_argument("--jobs", type=int, default=2, help="parallel detector runs and generators (default 2)")
    ap.add_argument("--real-data", default=os.path.join(ROOT, "..", "shared", "data", "emg-real"),
                    help="public recordings (default: ../shared/data/emg-real from the project root)")
    ap.add_argument("--no-real", action="store_true", help="skip the real recordings")
    ap.add_argument("--report", help="also write the tables and results as markdown to FILE")
    ap.add_argument("-v", "--verbose", action="store_true", help="list missed and false events per scene")
    a = ap.parse_args(argv)
    checks = Checks()
    t_start = time.time()
    spasmctl = os.path.abspath(a.spasmctl)

    scene_dir = os.path.join(a.workdir, a.set)
    names = ensure_scenes(a.set, a.seed, scene_dir, a.jobs)
    if not os.access(spasmctl, os.X_OK):
        checks.add(False, "spasmctl is executable", spasmctl)
        print(checks.summary())
        return 1

    t0 = time.time()
    jobs = [(n, os.path.join(scene_dir, n + ".csv"), os.path.join(scene_dir, n + ".jsonl")) for n in names]
    runs = analyze_all(spasmctl, jobs, a.jobs)
    t_analyze = time.time() - t0
    bad = ["%s (%s)" % (n, runs[n][1]) for n in names if not runs[n][0]]
    results = []
    for name, csv, js in jobs:
        if runs[name][0]:
            results.append(ev.evaluate_files(os.path.join(scene_dir, name + ".labels.csv"), js, recording=csv))
    head, rows, total = ev.table_rows(results)
    print()
    print(ev.format_table(head, rows))
    print()
    if total is not None:
        print(ev.format_summary(total))
        print()
    if a.verbose:
        for r in results:
            s = ev.format_misses(r, ev.read_truth(os.path.join(scene_dir, r.name + ".truth.jsonl")))
            if s:
                print("%s:\n%s" % (r.name, s))
        print()
    print("analysis: %d scenes, %.1f min simulated, in %.1f s (%d at a time)"
          % (len(results), total.hours * 60 if total else 0, t_analyze, a.jobs))
    print()
    checks.add(not bad, "spasmctl analyze succeeds on all %d scenes" % len(names),
               "ok" if not bad else "failed: " + "; ".join(bad))
    if total is not None:
        check_floors(checks, total)

    real_rows = []
    if not a.no_real:
        if os.path.isdir(a.real_data):
            real_checks(checks, spasmctl, a.real_data, os.path.join(a.workdir, "real"), a.jobs, real_rows)
        else:
            print("SKIP  real recordings: %s not found" % a.real_data)

    if a.report:
        with open(a.report, "w") as f:
            f.write("# Detector quality (%s set)\n\n" % a.set)
            f.write(ev.format_table(head, rows, markdown=True) + "\n\n")
            if total is not None:
                f.write("```\n" + ev.format_summary(total) + "\n```\n\n")
            if real_rows:
                f.write(ev.format_table(["real recording", "s", "events", "by type"], real_rows, markdown=True)
                        + "\n\n")
            for ok, text, reason in checks.items:
                tag = "PASS" if ok else ("known shortfall" if reason else "**FAIL**")
                f.write("- %s %s\n" % (tag, text))
            f.write("\n" + checks.summary() + "\n")
    print("(%.1f s in all)" % (time.time() - t_start))
    print(checks.summary())
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
