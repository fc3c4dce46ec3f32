#!/usr/bin/python3
"""Sensor-side faults for tests/integration/test-faults.sh, without D-Bus:
spasmd --bus=none --events=json prints each finished event (onset_s counts
from the start of the stream, which starts over at every reconnection), and
its history file is read back after it stops. Checks print TAP lines.

  iiod --spasmd BIN --spasmctl BIN --recording CSV --work DIR [--only NAME,...]
      A remote iiod (tests/rig/iiod_emulator.py) that stalls briefly, stalls
      past the read timeout, resets the connection, or answers READBUF with
      garbage, 8 s after the stream opened (32 s into the recording, between
      two events), one spasmd per fault, all at once. The daemon reconnects
      and the emulator serves the recording from its start again: what it
      announced must be the events `spasmctl analyze` finds in the part that
      was served before the fault, then all of them; every announced event
      must be in events.log, and the daemon must stop cleanly on SIGTERM.
  unplug --spasmd BIN --spasmctl BIN --recording CSV --work DIR
      The same through libiio's local backend (tests/rig/local-rig): the
      device is unplugged mid-stream, 32 s into the recording, and plugged
      back 2 s later.
  reload --spasmd BIN --spasmctl BIN --recording CSV --work DIR
      SIGHUP with broken configurations (syntax, unknown key, bad value, a
      missing file, a reload storm) while a replay runs: each is refused,
      the replay goes on untouched, and the events equal analyze exactly.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults_lib as L  # noqa: E402
from busclient import check, note, reap, tail, text  # noqa: E402
from faults_lib import PYTHON, spawn, wait_file  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EMULATOR = os.path.join(ROOT, "tests", "rig", "iiod_emulator.py")
LOCAL_RIG = os.path.join(ROOT, "tests", "rig", "local-rig")


def emg_only(src, dst, seconds):
    """The first `seconds` of recording src without its IMU columns: a reconnection then starts the EMG
    stream over on its own, with no IMU stream running on at another place of the recording."""
    rate, cols, keep, rows = None, None, None, 0
    with open(src) as f, open(dst, "w") as g:
        for ln in f:
            if ln.startswith("#"):
                if ln.startswith("# rate_hz="):
                    rate = float(ln.split("=")[1])
                if ln.startswith("# imu="):
                    ln = "# imu=no\n"
                if ln.startswith("# imu_frame") or ln.startswith("# duration_s="):
                    continue
                g.write(ln)
                continue
            parts = ln.rstrip("\n").split(",")
            if cols is None:
                cols = parts
                keep = [i for i, c in enumerate(cols) if not c.startswith(("acc_", "gyr_"))]
                g.write(",".join(cols[i] for i in keep) + "\n")
                continue
            if rows >= seconds * rate:
                break
            g.write(",".join(parts[i] for i in keep) + "\n")
            rows += 1


def count_lines(path):
    try:
        with open(path) as f:
            return sum(1 for ln in f if ln.strip())
    except OSError:
        return 0


def expected_before(ref, cut_s):
    """What a stream cut at cut_s announces: analyze's events that ended well before it (an event is
    announced within a second of its end), and one going on at the cut, ended there: cut short, but
    announced and saved rather than lost."""
    want = [e for e in ref if e["offset_s"] + 1.5 < cut_s]
    cut = [dict(e, duration_s=cut_s - e["onset_s"]) for e in ref if e["onset_s"] < cut_s <= e["offset_s"] + 1.5]
    return want + cut


def check_passes(name, live, ref, cut_s, n_passes):
    """live: --events=json lines. Every pass but the last was cut at cut_s of the recording; the last
    holds all of analyze's events."""
    passes = L.split_passes(live)
    before = expected_before(ref, cut_s)
    want = [before] * (n_passes - 1) + [ref]

    def same(a, b):
        if b["duration_s"] == next((e["duration_s"] for e in ref if e["onset_s"] == b["onset_s"]), None):
            return L.same_event(a, b)
        # Cut at the fault: where exactly depends on when the fault hit, within a few buffers.
        return a["type"] == b["type"] and abs(a["onset_s"] - b["onset_s"]) <= 0.06 \
            and abs(a["duration_s"] - b["duration_s"]) <= 1.0
    ok = len(passes) == n_passes and all(
        len(p) == len(w) and all(same(a, b) for a, b in zip(p, w)) for p, w in zip(passes, want))
    cut = [e for e in before if e not in ref]
    if n_passes == 1:
        what = "all %d events, as if nothing happened" % len(ref)
    else:
        what = "the %d event(s) before the fault%s, then all %d again after reconnecting" % (
            len(before), " (%s cut short there, %.1f s)" % (cut[0]["type"], passes[0][-1]["duration_s"])
            if cut and passes and passes[0] else "", len(ref))
    check(ok, "%s: announced %s (against spasmctl analyze: classes, onsets and durations within one buffer)"
          % (name, what),
          "got %s, expected %s" % ([L.brief(p) for p in passes], [L.brief(w) for w in want]))


def check_history(name, path, live):
    """Every announced event is in events.log, once, as announced (class, duration)."""
    try:
        recs = L.read_history(path)
    except OSError as e:
        check(False, "%s: events.log readable" % name, e)
        return
    bad = [r for r in recs if "corrupt_at" in r]
    recs = [r for r in recs if "corrupt_at" not in r]
    got = sorted((r["class"], round(r["duration_usec"] / 1e6, 2)) for r in recs)
    want = sorted((e["type"], round(e["duration_s"], 2)) for e in live)
    ids = [r["id"] for r in recs]
    check(not bad and got == want and len(set(ids)) == len(ids),
          "%s: events.log holds exactly the %d announced events (class, duration), ids unique" % (name, len(live)),
          "history %s%s, announced %s" % (got, " + corrupt data" if bad else "", want))


# --- a remote iiod that misbehaves ----------------------------------------------------------

SCENARIOS = {
    # name: (emulator faults, passes, what the log must say; None: no disconnection at all)
    "stall-short": (["stall:8:1"], 1, None),
    "stall-long": (["stall:8:5"], 2, "no samples for"),
    "disconnect": (["disconnect:8"], 2, "lost the connection"),
    "garbage": (["garbage:8"], 2, "disconnected"),
    # 25 s into the recording, 2.6 s into a spasm.
    "disconnect-mid-spasm": (["disconnect:6.25"], 2, "lost the connection"),
}
SPEED = 4.0


def cut_at(name):
    """Where in the recording the fault hits: its wall seconds after the first OPEN, at SPEED."""
    return float(SCENARIOS[name][0][0].split(":")[1]) * SPEED


def cmd_iiod(a):
    os.makedirs(a.work, exist_ok=True)
    rec = os.path.join(a.work, "emg45.csv")
    emg_only(a.recording, rec, 45.0)
    ref = L.analyze(a.spasmctl, rec)
    note("analyze: %s" % L.brief(ref))
    names = [n for n in SCENARIOS if not a.only or n in a.only.split(",")]
    runs = {}
    for name in names:
        faults, passes, _ = SCENARIOS[name]
        d = os.path.join(a.work, name)
        os.makedirs(os.path.join(d, "state"), exist_ok=True)
        argv = [PYTHON, EMULATOR, "--port", "0", "--port-file", os.path.join(d, "port"), "--emg", rec,
                "--speed", str(SPEED)]
        for f in faults:
            argv += ["--fault", f]
        with open(os.path.join(d, "emu.log"), "w") as log:
            emu = spawn(argv, stdout=subprocess.DEVNULL, stderr=log)
        runs[name] = {"dir": d, "emu": emu, "passes": passes}
    for name, r in runs.items():
        if not wait_file(os.path.join(r["dir"], "port"), 10):
            check(False, "%s: the emulator starts" % name, tail(os.path.join(r["dir"], "emu.log")))
            continue
        port = open(os.path.join(r["dir"], "port")).read().strip()
        conf = os.path.join(r["dir"], "spasmd.conf")
        with open(conf, "w") as f:
            f.write("[history]\ndirectory = %s/state\n[sensor.lumbar]\nuri = ip:127.0.0.1:%s\ndevice = ads1298\n"
                    "channels = voltage0:emg_left, voltage1:emg_right\nbuffer_ms = 50\n" % (r["dir"], port))
        with open(os.path.join(r["dir"], "events.jsonl"), "w") as out, \
                open(os.path.join(r["dir"], "spasmd.log"), "w") as log:
            r["daemon"] = spawn([a.spasmd, "--bus=none", "--config", conf, "--events=json"], stdout=out, stderr=log)
        r["t0"] = time.monotonic()

    # Each stops once its last pass has ended, or after enough time for it.
    total = {n: len(ref) + (r["passes"] - 1) * len(expected_before(ref, cut_at(n))) for n, r in runs.items()}
    def stop(r):
        r["took"] = time.monotonic() - r["t0"]
        r["alive"] = r["daemon"].poll() is None
        if r["alive"]:
            r["daemon"].send_signal(signal.SIGTERM)
            reap(r["daemon"], 10)
        r["emu"].terminate()

    deadline = time.monotonic() + 60
    pending = {n for n, r in runs.items() if "daemon" in r}
    while pending:
        for n in list(pending):
            r = runs[n]
            if r["daemon"].poll() is not None or time.monotonic() > deadline:
                stop(r)
                pending.discard(n)
            elif count_lines(os.path.join(r["dir"], "events.jsonl")) >= total[n]:
                time.sleep(0.3)         # a stray event after the expected ones would show
                stop(r)
                pending.discard(n)
        time.sleep(0.1)
    for name, r in runs.items():
        if "daemon" not in r:
            continue
        d = r["dir"]
        log = os.path.join(d, "spasmd.log")
        took, alive = r["took"], r["alive"]
        faults, passes, says = SCENARIOS[name]
        check(alive and r["daemon"].returncode == 0, "%s (%s): spasmd stayed up %.0f s and exited 0 on SIGTERM"
              % (name, " ".join(faults), took), "status %s, %s" % (r["daemon"].returncode, tail(log)))
        t = text(log)
        streams = t.count("streaming 2 channels")
        if says is None:
            check(streams == 1 and "disconnected" not in t and "samples lost" not in t,
                  "%s: a stall shorter than the read timeout: no disconnection, no sample lost" % name, tail(log))
        else:
            line = next((ln for ln in t.split("\n") if "disconnected" in ln), "")
            check(says in t and streams >= 2, "%s: reported (%s), reconnected (%d streams)"
                  % (name, line.split("disconnected: ")[-1][:90], streams), tail(log))
        live = L.load_jsonl(os.path.join(d, "events.jsonl"))
        check_passes(name, live, ref, cut_at(name), passes)
        check_history(name, os.path.join(d, "state", "events.log"), live)


# --- a local device unplugged mid-stream and plugged back ---------------------------------

def cmd_unplug(a):
    os.makedirs(os.path.join(a.work, "state"), exist_ok=True)
    rec = os.path.join(a.work, "emg45.csv")
    emg_only(a.recording, rec, 45.0)
    ref = L.analyze(a.spasmctl, rec)
    speed, cut_s = 3.0, 32.0
    conf = os.path.join(a.work, "spasmd.conf")
    with open(conf, "w") as f:
        f.write("[history]\ndirectory = %s/state\n[sensor.lumbar]\nuri = local:\ndevice = ads1298\n"
                "channels = voltage0:emg_left, voltage1:emg_right\n" % a.work)
    jsonl, log, rc = (os.path.join(a.work, n) for n in ("events.jsonl", "spasmd.log", "rc"))
    # The rig hands SIGTERM to its command; this one passes it on and keeps spasmd's exit status.
    inner = ('trap \'kill -TERM "$p"\' TERM; "$0" --bus=none --config "$1" --events=json > "$2" 2> "$3" & p=$!; '
             'wait "$p"; wait "$p"; echo $? > "$4"')
    before = expected_before(ref, cut_s)
    t0 = time.monotonic()
    with open(os.path.join(a.work, "rig.log"), "w") as rl:
        rig = spawn([LOCAL_RIG, "--recording", rec, "--no-imu", "--speed", str(speed), "--end", "stop",
                     "--unplug-after", "%.3f" % (cut_s / speed), "--replug-after", "2", "--",
                     "sh", "-c", inner, a.spasmd, conf, jsonl, log, rc], stdout=rl, stderr=rl)
    want = len(before) + len(ref)
    while time.monotonic() - t0 < 60 and rig.poll() is None and count_lines(jsonl) < want:
        time.sleep(0.1)
    time.sleep(0.3)
    took = time.monotonic() - t0
    alive = rig.poll() is None
    rig.send_signal(signal.SIGTERM)
    reap(rig, 15)
    status = text(rc).strip()
    check(alive and status == "0", "unplug: spasmd stayed up %.0f s and exited 0 on SIGTERM" % took,
          "status %r, %s" % (status, tail(log) or tail(os.path.join(a.work, "rig.log"))))
    t = text(log)
    line = next((ln for ln in t.split("\n") if "disconnected" in ln), "")
    check("gone" in line and t.count("streaming 2 channels") >= 2,
          "unplug: reported (%s), picked up again once plugged back" % line.split("disconnected: ")[-1][:80], tail(log))
    live = L.load_jsonl(jsonl)
    check_passes("unplug", live, ref, cut_s, 2)
    check_history("unplug", os.path.join(a.work, "state", "events.log"), live)


# --- SIGHUP with broken configurations ----------------------------------------------------

def cmd_reload(a):
    os.makedirs(os.path.join(a.work, "state"), exist_ok=True)
    rec = os.path.join(a.work, "cut45.csv")
    L.head_lines(a.recording, rec, 45006)
    ref = L.analyze(a.spasmctl, rec)
    conf = os.path.join(a.work, "spasmd.conf")
    good = "[history]\ndirectory = %s/state\n[sensor.demo]\nuri = replay:%s\nspeed = 3\n" % (a.work, rec)
    broken = [
        ("a line that is no key = value", good + "this is not a setting\n"),
        ("an unknown key", good + "colour = blue\n"),
        ("a bad value", good.replace("speed = 3", "speed = fast")),
        ("an unknown section", good + "[bogus]\nx = 1\n"),
        ("a sensor without uri", good + "[sensor.extra]\nspeed = 1\n"),
        ("a file cut short in a section header", good[:good.index("[sensor.demo]") + 5]),
        ("binary garbage", "\x01\xff\x7f[[[=\n" * 20),
    ]

    def write(body):
        L.replace_file(conf, body)

    write(good)
    log = os.path.join(a.work, "spasmd.log")
    jsonl = os.path.join(a.work, "events.jsonl")
    with open(jsonl, "w") as out, open(log, "w") as lg:
        d = spawn([a.spasmd, "--bus=none", "--config", conf, "--events=json"], stdout=out, stderr=lg)

    def hup_refused():
        n0 = text(log).count("reload failed")
        d.send_signal(signal.SIGHUP)
        for _ in range(40):
            if text(log).count("reload failed") > n0:
                return True
            time.sleep(0.05)
        return False

    time.sleep(1.0)
    refused, alive_after = 0, []
    # Spread over the 15 s replay, so that some land while an event goes on.
    for what, body in broken:
        write(body)
        refused += hup_refused()
        alive_after.append(d.poll() is None)
        time.sleep(1.2)
    # The file gone altogether, then a storm of reloads.
    os.unlink(conf)
    missing = hup_refused() and d.poll() is None
    write(broken[0][1])
    for _ in range(50):
        d.send_signal(signal.SIGHUP)
        time.sleep(0.01)
    time.sleep(0.3)
    storm = d.poll() is None
    write(good)
    reap(d, 30)
    t = text(log)
    # A file of NUL bytes is what a power cut can leave of a file written without fsync; inih would stop
    # each line at its first NUL and read it as an empty configuration, so a reload would drop every sensor.
    nul = os.path.join(a.work, "nul.conf")
    with open(nul, "wb") as f:
        f.write(b"\0" * 200)
    r = subprocess.run([a.spasmd, "--check-config", "--config", nul], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    check(r.returncode == 78 and "nul.conf:1: NUL byte" in r.stderr,
          "reload: a file of NUL bytes is refused, naming its line (--check-config exits 78)",
          "status %d: %s" % (r.returncode, r.stderr.strip()))
    check(refused == len(broken) and all(alive_after),
          "reload: %d broken configurations refused one by one (\"reload failed, keeping the running "
          "configuration\"), the daemon running after each" % len(broken),
          "refused %d, alive %s: %s" % (refused, alive_after, tail(log)))
    check(missing and storm and t.count("reload failed") >= len(broken) + 2,
          "reload: a missing file and a storm of 50 SIGHUPs are refused too (%d refusals logged)"
          % t.count("reload failed"), tail(log))
    check(d.returncode == 0 and "every recording has been replayed" in t and "reload: [sensor" not in t,
          "reload: the replay was never restarted and ran to its end, exit 0", "status %s: %s" % (d.returncode,
                                                                                                tail(log)))
    live = L.load_jsonl(jsonl)
    ok = len(live) == len(ref) and all(L.same_event(x, y, 0.0015) for x, y in zip(live, ref))
    check(ok, "reload: the %d events equal spasmctl analyze's exactly (classes, onsets, durations)" % len(ref),
          "got %s, expected %s" % (L.brief(live), L.brief(ref)))
    check_history("reload", os.path.join(a.work, "state", "events.log"), live)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cmd", choices=["iiod", "unplug", "reload"])
    ap.add_argument("--spasmd", required=True)
    ap.add_argument("--spasmctl", required=True)
    ap.add_argument("--recording", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--only", default="")
    a = ap.parse_args(argv)
    a.work = os.path.abspath(a.work)
    return L.run({"iiod": cmd_iiod, "unplug": cmd_unplug, "reload": cmd_reload}, a)


if __name__ == "__main__":
    sys.exit(main())
