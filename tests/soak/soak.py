#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""make soak: a day of recording through the real daemon, at full speed.

    /usr/bin/python3 tests/soak/soak.py --spasmd build/spasmd --spasmctl build/spasmctl
        [--hours 24] [--rate 1000] [--speed 40] [--buffer-ms 50] [--workdir build/soak]
        [--lockstep 0.1] [--max-lag 0.01] [--nice -10] [--report FILE]
        [--no-looped-analyze] [--timeout-min 240]

1. The recording: tests/sim/scenes.py's `soak_hour` (an hour lying, a spasm or
   a few twitches every 1.5-3 min, twice up for a walk; it starts and ends at
   rest in the same position), made loopable: the scene runs SOAK_SEAM_S
   longer than the hour, and that extra rest is crossfaded into the scene's
   first SOAK_SEAM_S, which are cut off (EMG with equal-power weights, as
   independent noise; IMU linearly), so that sample 3600 s wraps to sample 0
   with no step. Values are written as the iiod emulator serves them (EMG
   at 0.1 uV, IMU at the bmi160's LSB), so that `spasmctl analyze` reads
   the very numbers the daemon gets. Cached in WORKDIR until the scene code
   changes.
2. `spasmctl analyze --json` on the hour; and (unless --no-looped-analyze)
   on the hour played --hours times over through standard input, the same
   stream the daemon gets, loop seams included.
3. tests/rig/iiod_emulator.py serves the hour --hours times over
   (--loops N) at --speed x real time and writes its progress; spasmd reads
   it over ip: on a private D-Bus, the ads1298 as [sensor.lumbar] and the
   bmi160 as [sensor.imu], with --events=json. Both run with SCHED_RR
   (--rt; else at --nice), so that other work on the machine does not
   hold them up for longer than the daemon's queue lasts at this speed.
   Why 40 and not --speed 0 (as fast as the daemon reads, about 150 x
   here): the daemon's reader threads never wait for its event loop (a
   device would not), so at N x real time the queue's second of samples is
   1/N s of wall time, and a history fdatasync or a busy CPU longer than
   that loses samples; and the two devices drift apart (the IMU comes from
   another connection, and the daemon takes an IMU sample older than 0.5 s
   as none), which turns voluntary movements into spasms. Against the
   second the emulator runs with --shared-clock (both devices timed from
   one clock), --lockstep (neither more than 0.1 s of recording ahead of
   the other) and --max-lag (after a hiccup its clock is held back instead
   of catching up in a burst).
   Simulated time is the EMG samples the emulator has sent / rate (the
   daemon is behind by at most what the sockets hold). At every simulated
   hour: VmRSS and VmHWM (/proc/PID/status), open fds (/proc/PID/fd),
   threads, the size of events.log, the events the daemon has finished
   (its JSON lines) and DroppedSamples of both sensors over D-Bus.
4. At the end the emulator is stopped (the daemon then sees the connection
   go, having read everything), the last row is taken, GetEvents reads the
   history back, spasmd gets SIGTERM and must exit 0.

Criteria (each PASS or FAIL; exit status 1 if any fails):
  - RSS flat: max - min of VmRSS over hours 1..N <= 512 KiB;
  - fds constant over hours 1..N;
  - no dropped samples: DroppedSamples 0 on both sensors, no "samples lost"
    in the daemon's log, and no reconnect (one buffer opened per device);
  - events: the daemon's count equals analyze(hour) x N, in total and per
    class; reported beside it: analyze on the looped stream, and the
    history (GetEvents) holding every event;
  - spasmd exits 0 on SIGTERM.
Prints a table and key=value lines; --report writes them as markdown too.
"""

import argparse
import collections
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SIM = os.path.join(ROOT, "tests", "sim")
RIG = os.path.join(ROOT, "tests", "rig")
EMULATOR = os.path.join(RIG, "iiod_emulator.py")
sys.path.insert(0, SIM)
sys.path.insert(0, RIG)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from busclient import IFACE, NAME, PATH, PrivateBus  # noqa: E402

CLASSES = ("spasm", "twitch", "voluntary")
RSS_FLAT_KIB = 512
SHM_PREFIX = "/dev/shm/spasmd-soak-"
SEAM_VERSION = "1"      # bump when make_loopable() or the writing changes
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print("soak: " + msg, file=sys.stderr, flush=True)


# --- 1. the recording ----------------------------------------------------------------------

def make_loopable(rec, seam_s):
    """Cut the first seam_s off and crossfade the last seam_s into them: the
    result wraps from its last sample to its first without a step."""
    fs = rec["fs"]
    w_n = int(round(seam_s * fs))
    n = len(rec["t"])
    keep = n - w_n
    ramp = (np.arange(w_n) + 0.5) / w_n
    th = ramp * np.pi / 2

    def loop(x, equal_power):
        out = x[w_n:].copy()
        tail, head = x[n - w_n:], x[:w_n]
        a, b = (np.cos(th), np.sin(th)) if equal_power else (1.0 - ramp, ramp)
        out[keep - w_n:] = a[:, None] * tail + b[:, None] * head
        return out

    labels = []
    for e in rec["labels"]:
        e = dict(e, onset_s=e["onset_s"] - seam_s, offset_s=e["offset_s"] - seam_s)
        if e["onset_s"] < 0 or e["offset_s"] > keep / fs - seam_s:
            raise ValueError("soak scene: event %s at %.1f-%.1f s is in the seam" % (e["kind"], e["onset_s"],
                                                                                  e["offset_s"]))
        labels.append(e)
    meta = dict(rec["meta"])
    meta["duration_s"] = "%.3f" % (keep / fs)
    meta["loop"] = "loopable: the first %g s cut, the scene's last %g s crossfaded into them" % (seam_s, seam_s)
    return dict(rec, t=np.arange(keep) / fs, emg=loop(rec["emg"], True),
                imu=None if rec["imu"] is None else loop(rec["imu"], False), labels=labels, meta=meta)


def quantise_as_served(rec):
    """The values the iiod emulator serves: EMG to 0.1 uV, the IMU to the bmi160's LSB."""
    import iiod_emulator as E
    emg = np.rint(rec["emg"] * 10.0) / 10.0
    emg = np.clip(emg, -(1 << 23) / 10.0, ((1 << 23) - 1) / 10.0)
    imu = rec["imu"]
    if imu is not None:
        imu = imu.copy()
        for cols, scale in ((slice(0, 3), E.ACCEL_SCALE), (slice(3, 6), E.ANGLVEL_SCALE)):
            imu[:, cols] = np.clip(np.rint(imu[:, cols] / scale), -(1 << 15), (1 << 15) - 1) * scale
    return dict(rec, emg=emg, imu=imu)


def recording(workdir, rate, seed):
    """The loopable hour as a CSV in workdir (made again only when the scene code changes)."""
    import scenes
    h = hashlib.sha256()
    for f in ("models.py", "builder.py", "scenes.py"):
        with open(os.path.join(SIM, f), "rb") as fp:
            h.update(fp.read())
    h.update(("%s %g %d %s" % (SEAM_VERSION, rate, seed, np.__version__)).encode())
    stamp = h.hexdigest()[:16]
    path = os.path.join(workdir, "soak_hour-%g.csv" % rate)
    stamp_path = path + ".stamp"
    if os.path.exists(path) and os.path.exists(stamp_path) and open(stamp_path).read().strip() == stamp:
        return path
    from builder import write_recording
    t0 = time.monotonic()
    fn, _, imu, posture, mains = scenes.SOAK["soak_hour"]
    sc = scenes.build("soak_hour", (fn, rate, imu, posture, mains), seed)
    rec = quantise_as_served(make_loopable(sc.render(), scenes.SOAK_SEAM_S))
    write_recording(path, rec, emg_decimals=1, imu_decimals=6, truth=True)
    with open(stamp_path, "w") as f:
        f.write(stamp + "\n")
    log("generated %s (%.0f s, %d labels) in %.0f s" % (path, len(rec["t"]) / rate, len(rec["labels"]),
                                                      time.monotonic() - t0))
    return path


# --- 2. spasmctl analyze -------------------------------------------------------------------

def read_analyze(lines):
    events, summary = [], None
    for line in lines:
        if not line.strip():
            continue
        d = json.loads(line)
        if d.get("type") == "summary":
            summary = d
        else:
            events.append(d)
    return events, summary


def analyze(spasmctl, path):
    r = subprocess.run([spasmctl, "analyze", "--json", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if r.returncode != 0:
        raise SystemExit("soak: spasmctl analyze %s failed (%d): %s" % (path, r.returncode, r.stderr.strip()))
    return read_analyze(r.stdout.splitlines())


def analyze_looped(spasmctl, path, loops):
    """analyze on the recording played `loops` times over, from standard input."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while data.startswith(b"#", pos):
        pos = data.index(b"\n", pos) + 1
    pos = data.index(b"\n", pos) + 1          # the header row
    head, body = data[:pos], data[pos:]
    err = tempfile.TemporaryFile()
    p = subprocess.Popen([spasmctl, "analyze", "--json", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=err)
    fed = []

    def feed():
        try:
            p.stdin.write(head)
            for _ in range(loops):
                p.stdin.write(body)
            p.stdin.close()
            fed.append(True)
        except BrokenPipeError:
            pass
    t = threading.Thread(target=feed, daemon=True)
    t.start()
    out = p.stdout.read()
    p.wait()
    t.join()
    err.seek(0)
    msg = err.read().decode(errors="replace").strip()
    if p.returncode != 0 or not fed:
        raise SystemExit("soak: spasmctl analyze - (looped) failed (%s): %s"
                         % (p.returncode if p.returncode else "it stopped reading", msg))
    return read_analyze(out.decode().splitlines())


def count(events):
    c = collections.Counter(e["type"] for e in events)
    return {k: c.get(k, 0) for k in CLASSES}


# --- 3. the run ----------------------------------------------------------------------------

def stop(proc, sig=signal.SIGTERM, timeout=15):
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                out[k] = int(v.split()[0])
    return out


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class Client:
    def __init__(self, address):
        import dbus
        self.dbus = dbus
        self.bus = dbus.bus.BusConnection(address)

    def has_owner(self):
        return bool(self.bus.name_has_owner(NAME))

    def sensor(self, name):
        p = self.bus.call_blocking(NAME, PATH + "/sensor/" + name, "org.freedesktop.DBus.Properties", "GetAll",
                                   "s", ("org.spasmd.Sensor1",), timeout=10)
        return {str(k): v for k, v in p.items()}

    def events(self):
        return self.bus.call_blocking(NAME, PATH, IFACE, "GetEvents", "tu", (0, 10000), timeout=30)


class Counter:
    """Lines of a file that another process appends to."""

    def __init__(self, path):
        self.path = path
        self.pos = 0
        self.types = collections.Counter()
        self.events = []
        self.rest = b""

    def update(self):
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        self.pos += len(data)
        data = self.rest + data
        *lines, self.rest = data.split(b"\n")
        for line in lines:
            if line.startswith(b"{"):
                d = json.loads(line)
                self.events.append(d)
                self.types[d["type"]] += 1
        return sum(self.types.values())


def priority(nice, rt):
    """preexec_fn: run the child with SCHED_RR priority `rt` if rt > 0, else (or where that is not
    allowed) at nice `nice`; where neither is allowed, as it is. The report says which."""
    if not nice and not rt:
        return None

    def apply():
        if rt > 0:
            try:
                os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(rt))
                return
            except OSError:
                pass
        if nice:
            try:
                os.setpriority(os.PRIO_PROCESS, 0, nice)
            except OSError:
                pass
    return apply


def describe_priority(pid):
    policy = os.sched_getscheduler(pid)
    if policy in (os.SCHED_RR, os.SCHED_FIFO):
        return "%s %d" % ("SCHED_RR" if policy == os.SCHED_RR else "SCHED_FIFO", os.sched_getparam(pid).sched_priority)
    return "nice %d" % os.getpriority(os.PRIO_PROCESS, pid)


def run_daemon(a, rec_path, rate, tmp):
    """Everything of step 3; returns a dict of what was seen."""
    bus = PrivateBus()
    emu = daemon = None
    emu_log = os.path.join(tmp, "emulator.log")
    daemon_log = os.path.join(tmp, "spasmd.log")
    events_path = os.path.join(tmp, "events.jsonl")
    progress = os.path.join(tmp, "progress.json")
    port_file = os.path.join(tmp, "port")
    state = a.history_dir or os.path.join(tmp, "state")
    shutil.rmtree(state, ignore_errors=True)
    os.makedirs(state)
    rows = []
    res = dict(rows=rows, daemon_log=daemon_log, emulator_log=emu_log, state=state)
    try:
        emu = subprocess.Popen([sys.executable, EMULATOR, "--port", "0", "--port-file", port_file, "--emg", rec_path,
                                "--speed", "%g" % a.speed, "--loops", str(a.hours), "--progress", progress,
                                "--shared-clock", "--lockstep", "%g" % a.lockstep, "--max-lag", "%g" % a.max_lag],
                               stdout=subprocess.DEVNULL, stderr=open(emu_log, "w"),
                               preexec_fn=priority(a.nice, a.rt))
        for _ in range(1200):
            if os.path.exists(port_file) or emu.poll() is not None:
                break
            time.sleep(0.05)
        if not os.path.exists(port_file):
            raise SystemExit("soak: the iiod emulator did not start; see %s" % emu_log)
        port = open(port_file).read().strip()
        conf = os.path.join(tmp, "spasmd.conf")
        with open(conf, "w") as f:
            f.write("[history]\ndirectory = %s\n\n" % state)
            f.write("[sensor.lumbar]\nuri = ip:127.0.0.1:%s\ndevice = ads1298\nbuffer_ms = %d\n\n"
                    % (port, a.buffer_ms))
            f.write("[sensor.imu]\nuri = ip:127.0.0.1:%s\ndevice = bmi160\nrole = imu\nbuffer_ms = %d\n"
                    % (port, a.buffer_ms))
        daemon = subprocess.Popen([a.spasmd, "--config", conf, "--bus=" + bus.address, "--events=json"],
                                  stdout=open(events_path, "wb"), stderr=open(daemon_log, "w"),
                                  preexec_fn=priority(a.nice, a.rt))
        res["priority"] = describe_priority(daemon.pid)
        client = Client(bus.address)
        counter = Counter(events_path)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and daemon.poll() is None:
            try:
                if client.has_owner() and all(client.sensor(s)["Connected"] for s in ("lumbar", "imu")):
                    break
            except client.dbus.DBusException:
                pass
            time.sleep(0.05)
        else:
            if daemon.poll() is not None:
                raise SystemExit("soak: spasmd exited (%s) at start: %s" % (daemon.returncode,
                                                                           open(daemon_log).read().strip()))
            raise SystemExit("soak: spasmd did not connect both sensors in 20 s; see %s" % daemon_log)

        hour_samples = None
        t_start = time.monotonic()
        cpu0 = cpu_seconds(daemon.pid)

        def sample(hour, sim_s):
            st = proc_status(daemon.pid)
            lumbar, imu = client.sensor("lumbar"), client.sensor("imu")
            try:
                hist = os.path.getsize(os.path.join(state, "events.log"))
            except FileNotFoundError:
                hist = 0
            row = dict(hour=hour, sim_s=sim_s, wall_s=time.monotonic() - t_start, rss_kb=st["VmRSS"],
                       hwm_kb=st["VmHWM"], threads=st["Threads"], fds=len(os.listdir("/proc/%d/fd" % daemon.pid)),
                       history_bytes=hist, events=counter.update(),
                       dropped=int(lumbar["DroppedSamples"]) + int(imu["DroppedSamples"]),
                       dropped_each=(int(lumbar["DroppedSamples"]), int(imu["DroppedSamples"])),
                       connected=(bool(lumbar["Connected"]), bool(imu["Connected"])),
                       cpu_s=cpu_seconds(daemon.pid) - cpu0)
            rows.append(row)
            log("hour %2d: sim %8.1f s, wall %6.1f s, RSS %6d kB, fds %3d, history %7d B, events %4d, dropped %d"
                % (hour, sim_s, row["wall_s"], row["rss_kb"], row["fds"], hist, row["events"], row["dropped"]))

        next_hour = 0
        late = {}
        res["late"] = []
        end_deadline = t_start + a.timeout_min * 60
        while True:
            if daemon.poll() is not None:
                raise SystemExit("soak: spasmd exited (%s) during the run; see %s" % (daemon.returncode, daemon_log))
            if emu.poll() is not None:
                raise SystemExit("soak: the emulator exited during the run; see %s" % emu_log)
            if time.monotonic() > end_deadline:
                raise SystemExit("soak: not done after %g min; see %s" % (a.timeout_min, tmp))
            p = read_json(progress)
            if p:
                emg = p["devices"]["iio:device0"]
                imu = p["devices"].get("iio:device1")
                hour_samples = emg["samples"]
                sim_s = emg["sent"] / emg["rate"]
                for dev, d in p["devices"].items():
                    if d.get("max_late", 0) > max(late.get(dev, 0.0), 0.01):
                        late[dev] = d["max_late"]
                        res["late"].append((sim_s, dev, d["max_late"]))
                if next_hour < a.hours and sim_s >= next_hour * emg["samples"] / emg["rate"]:
                    sample(next_hour, sim_s)
                    next_hour += 1
                if emg["ended"] and (imu is None or imu["ended"]):
                    res["sent"] = {k: v["sent"] for k, v in p["devices"].items()}
                    res["opens"] = {k: v["opens"] for k, v in p["devices"].items()}
                    res["max_late"] = {k: v.get("max_late", 0.0) for k, v in p["devices"].items()}
                    res["slip"] = p.get("slip", 0.0)
                    break
            time.sleep(0.05)
        # Everything is sent; the last row while both sensors are still
        # connected, after a moment for what the sockets hold (the hour ends
        # with minutes of rest: no event is under way).
        wall_streaming = time.monotonic() - t_start
        res["load_end"] = os.getloadavg()
        time.sleep(0.5)
        sample(a.hours, a.hours * hour_samples / rate)
        # Stopping the emulator closes the sockets after the data in them:
        # the daemon reads it all, then loses the connection.
        stop(emu)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not any(client.sensor(s)["Connected"] for s in ("lumbar", "imu")):
                break
            time.sleep(0.05)
        time.sleep(0.3)
        end = client.sensor("lumbar"), client.sensor("imu")
        res["dropped_end"] = (int(end[0]["DroppedSamples"]), int(end[1]["DroppedSamples"]))
        res["wall_streaming_s"] = wall_streaming
        res["history"] = [(int(e[0]), str(e[1])) for e in client.events()]
        res["exit"] = stop(daemon)
        counter.update()
        res["events"] = counter.events
        with open(daemon_log, errors="replace") as f:
            text = f.read()
        res["lost_lines"] = [ln for ln in text.splitlines() if "samples lost" in ln]
        res["disconnects"] = [ln for ln in text.splitlines() if "disconnected" in ln]
    finally:
        for p in (daemon, emu):
            if p is not None and p.poll() is None:
                stop(p, signal.SIGKILL)
        bus.stop()
        if a.history_dir and a.history_dir.startswith(SHM_PREFIX):
            # kept with the run's other files; RAM given back
            shutil.copytree(state, os.path.join(tmp, "state"), dirs_exist_ok=True)
            shutil.rmtree(os.path.dirname(state), ignore_errors=True)
    return res


# --- 4. the report -------------------------------------------------------------------------

def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    osname = "?"
    try:
        with open("/etc/os-release") as f:
            osname = dict(ln.rstrip("\n").split("=", 1) for ln in f if "=" in ln).get("PRETTY_NAME", "?").strip('"')
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return "%s, %d CPUs, %.0f GB RAM, %s, Linux %s" % (cpu, len(os.sched_getaffinity(0)), mem_gb, osname,
                                                      platform.release())


def per_pass(events, hour_s):
    """Events by simulated hour (from the daemon's onset_s in stream time)."""
    c = collections.Counter(int(e["onset_s"] // hour_s) for e in events)
    return [c.get(h, 0) for h in range(max(c) + 1)] if c else []


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spasmd", default=os.path.join(ROOT, "build", "spasmd"))
    ap.add_argument("--spasmctl", default=os.path.join(ROOT, "build", "spasmctl"))
    ap.add_argument("--hours", type=int, default=24, help="simulated hours: the hour is played this many times")
    ap.add_argument("--rate", type=float, default=1000.0, help="EMG rate of the scene, Hz (default 1000)")
    ap.add_argument("--speed", type=float, default=40.0,
                    help="emulator speed, x real time (default 40; 0: as fast as spasmd reads)")
    ap.add_argument("--buffer-ms", type=int, default=50, help="buffer_ms of both sensors (default 50)")
    ap.add_argument("--lockstep", type=float, default=0.1,
                    help="emulator --lockstep: EMG and IMU within this many s of recording time (default 0.1)")
    ap.add_argument("--max-lag", type=float, default=0.01,
                    help="emulator --max-lag: hold its clock back rather than burst when this late (default 0.01 s)")
    ap.add_argument("--nice", type=int, default=-10,
                    help="else their nice value, if allowed (default -10; 0: leave it)")
    ap.add_argument("--rt", type=int, default=20,
                    help="SCHED_RR priority of spasmd and the emulator, if allowed (default 20; 0: use --nice)")
    ap.add_argument("--history-dir", help="spasmd's history directory, emptied first (default: in /dev/shm, "
                    "copied to WORKDIR/run/state at the end)")
    ap.add_argument("--history-on-disk", action="store_true", help="the history in WORKDIR/run/state")
    ap.add_argument("--seed", type=int, default=None, help="scene seed (default: scenes.py's soak seed)")
    ap.add_argument("--workdir", default=os.path.join(ROOT, "build", "soak"))
    ap.add_argument("--report", help="also write the results as markdown here")
    ap.add_argument("--no-looped-analyze", action="store_true",
                    help="skip analyze on the looped stream (about a minute per 10 h)")
    ap.add_argument("--timeout-min", type=float, default=240.0, help="give up after this long streaming")
    a = ap.parse_args(argv)
    if a.hours < 1:
        ap.error("--hours must be >= 1")
    import scenes
    seed = scenes.DEFAULT_SEED["soak"] if a.seed is None else a.seed
    a.workdir = os.path.abspath(a.workdir)
    if a.history_on_disk:
        a.history_dir = None
    elif not a.history_dir and os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        a.history_dir = os.path.join(SHM_PREFIX + str(os.getpid()), "state")
    if a.history_dir:
        a.history_dir = os.path.abspath(a.history_dir)    # the daemon wants an absolute history directory
    os.makedirs(a.workdir, exist_ok=True)
    t_all = time.monotonic()

    rec_path = recording(a.workdir, a.rate, seed)
    hour_s = scenes.SOAK_SECONDS
    t0 = time.monotonic()
    hour_events, hour_summary = analyze(a.spasmctl, rec_path)
    hour_counts = count(hour_events)
    t_an = time.monotonic() - t0
    log("analyze on the hour: %s (%.1f s)" % (hour_counts, t_an))
    labels = collections.Counter()
    with open(rec_path[:-4] + ".labels.csv") as f:
        for line in f.read().splitlines()[1:]:
            labels[line.rsplit(",", 1)[1]] += 1

    tmp = os.path.join(a.workdir, "run")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    load = os.getloadavg()
    log("streaming %d h at speed %g (buffer_ms %d) through spasmd; files in %s" % (a.hours, a.speed, a.buffer_ms, tmp))
    res = run_daemon(a, rec_path, a.rate, tmp)

    looped = None
    if not a.no_looped_analyze:
        t0 = time.monotonic()
        looped_events, looped_summary = analyze_looped(a.spasmctl, rec_path, a.hours)
        looped = count(looped_events)
        if not looped_summary or abs(looped_summary["duration_s"] - a.hours * scenes.SOAK_SECONDS) > 1.0:
            raise SystemExit("soak: analyze on the looped stream read %s s, not %d h"
                             % (looped_summary and looped_summary["duration_s"], a.hours))
        log("analyze on the looped stream: %s (%.0f s)" % (looped, time.monotonic() - t0))

    # --- verdicts
    rows = res["rows"]
    daemon_counts = count(res["events"])
    expect = {k: v * a.hours for k, v in hour_counts.items()}
    later = [r for r in rows if r["hour"] >= 1] or rows
    rss = [r["rss_kb"] for r in later]
    fds = [r["fds"] for r in later]
    rss_growth = max(rss) - min(rss)
    checks = []

    def check(name, ok, value):
        checks.append((name, bool(ok), value))

    check("RSS flat (max - min over hours 1-%d <= %d KiB)" % (a.hours, RSS_FLAT_KIB), rss_growth <= RSS_FLAT_KIB,
          "%d KiB (%d-%d kB, %.2f %%)" % (rss_growth, min(rss), max(rss), 100.0 * rss_growth / min(rss)))
    check("fds constant over hours 1-%d" % a.hours, len(set(fds)) == 1, "/".join(map(str, sorted(set(fds)))))
    dropped = res["dropped_end"]
    check("no dropped samples (DroppedSamples lumbar/imu, 'samples lost' lines)",
          dropped == (0, 0) and not res["lost_lines"], "%d/%d, %d lines" % (dropped + (len(res["lost_lines"]),)))
    check("no reconnect (buffers opened per device)", all(v == 1 for v in res["opens"].values()),
          " ".join("%s:%d" % kv for kv in sorted(res["opens"].items())))
    total_d, total_e = sum(daemon_counts.values()), sum(expect.values())
    check("events == analyze(hour) x %d" % a.hours, daemon_counts == expect,
          "%d == %d x %d = %d (spasm %d/%d, twitch %d/%d, voluntary %d/%d)"
          % (total_d, sum(hour_counts.values()), a.hours, total_e, daemon_counts["spasm"], expect["spasm"],
             daemon_counts["twitch"], expect["twitch"], daemon_counts["voluntary"], expect["voluntary"]))
    if looped is not None:
        check("events == analyze on the looped stream (the same %d h, seams included)" % a.hours,
              daemon_counts == looped, "%d == %d" % (total_d, sum(looped.values())))
    check("history holds every event (GetEvents)", len(res["history"]) == total_d,
          "%d of %d" % (len(res["history"]), total_d))
    check("spasmd exits 0 on SIGTERM", res["exit"] == 0, str(res["exit"]))
    n_fail = sum(1 for _, ok, _ in checks if not ok)

    # --- output
    wall_total = time.monotonic() - t_all
    last = rows[-1]
    sim_total = a.hours * hour_s
    lines = []
    out = lines.append
    out("Command: `make soak` (tests/soak/soak.py --hours %d --rate %g --speed %g --buffer-ms %d)"
        % (a.hours, a.rate, a.speed, a.buffer_ms))
    out("")
    out("Machine: %s; load before the run %.2f %.2f %.2f, after %.2f %.2f %.2f. spasmd and the emulator ran at %s; "
        "the history in %s."
        % (machine(), *load, *res["load_end"], res["priority"],
           res["state"] + (" (tmpfs)" if res["state"].startswith("/dev/shm/") else "")))
    out("")
    out("Data: scene `soak_hour` (seed %d), %g Hz, 2 EMG + 6 IMU columns, %g s; labels: %s; played %d times over "
        "(%d simulated hours, %d EMG samples, %d IMU samples at %g Hz)."
        % (seed, a.rate, hour_s, ", ".join("%s %d" % kv for kv in sorted(labels.items())), a.hours, a.hours,
           res["sent"].get("iio:device0", 0), res["sent"].get("iio:device1", 0),
           a.rate / max(1, -(-a.rate // 400))))
    out("")
    out("Time: %.1f min streaming (%.0f x real time), %.1f min in all (generation, analyze, looped analyze). "
        "spasmd CPU: %.1f s, %.1f %% of one core while streaming."
        % (res["wall_streaming_s"] / 60, sim_total / res["wall_streaming_s"], wall_total / 60, last["cpu_s"],
           100.0 * last["cpu_s"] / res["wall_streaming_s"]))
    out("")
    out("| hour | simulated s | wall s | VmRSS kB | VmHWM kB | fds | threads | history bytes | events so far "
        "| dropped (lumbar/imu) |")
    out("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        out("| %d | %.0f | %.1f | %d | %d | %d | %d | %d | %d | %d/%d |"
            % (r["hour"], r["sim_s"], r["wall_s"], r["rss_kb"], r["hwm_kb"], r["fds"], r["threads"],
               r["history_bytes"], r["events"], *r["dropped_each"]))
    out("")
    out("Events: spasmd %s; analyze(hour) %s x %d = %s%s; history (GetEvents) %d."
        % (json.dumps(daemon_counts), json.dumps(hour_counts), a.hours, json.dumps(expect),
           "; analyze on the looped stream %s" % json.dumps(looped) if looped else "", len(res["history"])))
    pp = per_pass(res["events"], hour_s)
    out("")
    out("spasmd's events per simulated hour (by onset): %s." % " ".join(map(str, pp)))
    out("")
    out("Emulator: worst lateness (a chunk sent after it was due) %s s; its clock held back by %.2f s in all "
        "(--max-lag %g s), so the mean speed was %.1f x."
        % (", ".join("%s %.3f" % kv for kv in sorted(res["max_late"].items())), res["slip"], a.max_lag,
           sim_total / res["wall_streaming_s"]))
    out("")
    out("| criterion | result | value |")
    out("| --- | --- | --- |")
    for name, ok, value in checks:
        out("| %s | %s | %s |" % (name, "PASS" if ok else "FAIL", value))
    out("")
    out("soak: %d passed, %d failed" % (len(checks) - n_fail, n_fail))
    text = "\n".join(lines)
    print(text)
    print("soak_hours=%d rate_hz=%g speed=%g buffer_ms=%d wall_streaming_s=%.1f rss_growth_kib=%d fds=%s dropped=%d "
          "events=%d expected=%d looped_analyze=%s history=%d exit=%s failed=%d"
          % (a.hours, a.rate, a.speed, a.buffer_ms, res["wall_streaming_s"], rss_growth,
             ",".join(map(str, sorted(set(fds)))), sum(dropped), total_d, total_e,
             sum(looped.values()) if looped else "skipped", len(res["history"]), res["exit"], n_fail))
    if a.report:
        with open(a.report, "w") as f:
            f.write(text + "\n")
    for sim_s, dev, v in res["late"]:
        log("emulator: %s worst lateness now %.3f s, at simulated %.1f s" % (dev, v, sim_s))
    for ln in res["lost_lines"]:
        log("spasmd: " + ln.split(": ", 1)[-1])
    if daemon_counts != expect:
        diagnose(res["events"], hour_events, hour_s)
    return 1 if n_fail else 0


def diagnose(daemon_events, hour_events, hour_s, tol_s=0.5):
    """Which of the daemon's events have no twin in the hour's analysis (same class, onset within tol_s,
    modulo the hour), and the other way round."""
    ref = [(e["onset_s"], e["type"]) for e in hour_events]
    seen = collections.Counter()
    for e in daemon_events:
        h, t = divmod(e["onset_s"], hour_s)
        twins = [k for k, (o, c) in enumerate(ref) if c == e["type"] and abs(o - t) <= tol_s]
        if not twins:
            log("spasmd only: hour %d, %.3f s into it, %s, %.2f s, channels %s"
                % (h, t, e["type"], e.get("duration_s") or -1, ",".join(e.get("channels", []))))
        else:
            seen[(int(h), twins[0])] += 1
    hours = {int(e["onset_s"] // hour_s) for e in daemon_events}
    for h in sorted(hours):
        for k, (o, c) in enumerate(ref):
            if not seen.get((h, k)):
                log("analyze only: hour %d, %.3f s into it, %s" % (h, o, c))


if __name__ == "__main__":
    sys.exit(main())
