#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""End to end: the daemon on a private D-Bus, fed by the iiod emulator.

1. Latency, for buffer_ms 20 and 50: tests/rig/iiod_emulator.py serves
   generated recordings dense in spasms in real time, one emulator per EMG
   sensor (--latency-sensors, default 3, for more spasms per minute), the
   first one's bmi160 as the IMU; spasmd reads them over ip: with
   --trace-latency and --bus=ADDRESS, and a python3-dbus client on that bus
   notes the CLOCK_REALTIME at which each SpasmStarted (and ActivityStarted)
   is dispatched to it. sample->seen is, per spasm:
       (client's time of SpasmStarted - time the daemon's trace line for that
        decision could be read) + the trace's sample_ms
   where sample_ms runs from the deciding sample's device timestamp (the
   emulator's timestamp channel: the buffer's OPEN + index / rate, in
   CLOCK_REALTIME) to the decision. The daemon writes and flushes the trace
   line just before it sends the signal; a process of its own timestamps
   each line as it reads it. So the figure covers the buffer's fill time,
   the network, the reader thread, the queue, the detector, sd-bus,
   dbus-daemon and the client's dispatch, and a trace line read late makes
   it smaller by that lateness (a pipe wake-up: tenths of a millisecond,
   cf. decision->seen). arrival->seen starts instead when the reader thread
   got the block off the device. The signal's id is the daemon's, the
   trace's the detector's: they are matched through ActivityStarted, paired
   with the same sensor's onset trace line read just before it.
2. Resources: 1, 4 and 16 EMG sensors (--resource-sensors), each 8
   channels at 2 kHz in real time (buffer_ms 50), served by emulators of
   --sensors-per-emulator (default 4) sensors each, every sensor on its own
   connection and buffer (buffer_ms --resource-buffer-ms, default 50); for
   --resource-seconds once all stream and 4 s have passed. Of the daemon only: CPU as (utime + stime) / wall time in %
   of one core, from /proc/PID/stat (all threads; the main thread's and the
   reader threads' shares), VmRSS, VmHWM, RssAnon and RssFile from
   /proc/PID/status, PSS (and its anon/file split) from smaps_rollup,
   DroppedSamples over D-Bus. "served": the bytes the emulators sent (ss)
   against what the sensors make in real time, so that emulators falling
   behind on a busy machine show. Targets at 16 sensors: CPU < 5 % of one
   core, RSS < 8 MiB (judged on VmHWM, the peak).
3. Idle: no sensor configured, on a private bus: voluntary + involuntary
   context switches of every thread (/proc/PID/task/*/status) over
   --idle-seconds, i.e. wake-ups per second. Target 0. And its memory: the
   floor that libraries and the loop take before any sensor.

    /usr/bin/python3 tests/bench/bench_e2e.py --spasmd build/spasmd [--latency-seconds 60]
        [--latency-sensors 3] [--resource-seconds 30] [--resource-sensors 1,4,16] [--resource-buffer-ms 50]
        [--sensors-per-emulator 4]
        [--idle-seconds 20] [--only latency|resources|idle]

About 5 minutes with the defaults. Figures are printed, twice: a table
and key=value lines; missing the idle target is reported, not an error.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EMULATOR = os.path.join(ROOT, "tests", "rig", "iiod_emulator.py")
sys.path.insert(0, os.path.join(ROOT, "tests", "sim"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from busclient import IFACE, NAME, PATH, PrivateBus  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def percentile(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


# --- recordings -------------------------------------------------------------------------

def dense_scene(seconds, rate, imu, seed, twitches):
    """Rest for the floors, then spasms of 1.3-2.5 s every ~5 s (a twitch after every other one if
    twitches), moderate or strong, so that the detector classifies them all."""
    from builder import Scene  # tests/sim; needs numpy
    sc = Scene("bench_e2e", [seed, 7], rate_hz=rate, imu=imu, posture="supine", mains_hz=50,
               note="make bench: spasms every few seconds")
    sc.rest(15, 16)
    i = 0
    while sc.t < seconds - 7:
        sc.spasm(float(sc.rng.uniform(1.3, 2.5)), amp=("moderate", "strong")[i % 2],
                 side=("left", "right", "both")[i % 3])
        sc.rest(3.1, 3.6)   # the simulator wants 3 s between events
        if twitches and i % 2:
            sc.twitch()
            sc.rest(3.1, 3.6)
        i += 1
    if seconds > sc.t:
        sc.rest(seconds - sc.t)
    return sc.render()


def write_latency_recording(path, seconds, seed):
    from builder import write_recording
    rec = dense_scene(seconds, 1000, True, seed, False)
    write_recording(path, rec, 3, 4, truth=False)
    return sum(1 for e in rec["labels"] if e["cls"] == "spasm")


def write_wide_recording(path, seconds, rate, channels):
    """`channels` EMG columns at `rate` made from a scene's two, each shifted differently."""
    rec = dense_scene(seconds, rate, False, 12, True)
    emg = rec["emg"]
    cols = [np.roll(emg[:, c % 2], 37 * c) for c in range(channels)]
    arr = np.column_stack([rec["t"]] + cols)
    with open(path, "w") as f:
        f.write("# spasmd-recording v1\n# rate_hz=%g\n# scene=bench_e2e wide\n" % rate)
        f.write(",".join(["t_s"] + ["emg_%d" % c for c in range(channels)]) + "\n")
        np.savetxt(f, arr, fmt=["%.4f"] + ["%.3f"] * channels, delimiter=",")


# --- processes ----------------------------------------------------------------------------

def start_emulator(recording, tmp, tag):
    port_file = os.path.join(tmp, "port-" + tag)
    emu = subprocess.Popen([sys.executable, EMULATOR, "--port", "0", "--port-file", port_file, "--emg", recording,
                            "--speed", "1"], stdout=subprocess.DEVNULL,
                           stderr=open(os.path.join(tmp, "emulator-%s.log" % tag), "w"))
    for _ in range(400):
        if os.path.exists(port_file) and open(port_file).read().strip():
            return emu, open(port_file).read().strip()
        if emu.poll() is not None:
            break
        time.sleep(0.05)
    emu.kill()
    raise SystemExit("bench_e2e: the iiod emulator did not start; see %s/emulator-%s.log" % (tmp, tag))


def stop(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def proc_status(pid, keys):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in keys:
                    out[k] = int(v.split()[0])
    except FileNotFoundError:
        pass
    return out


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def switches(pid):
    """(all threads, main thread) voluntary + involuntary context switches."""
    total, main = 0, 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            st = proc_status(int(tid), ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"))
        except ValueError:
            continue
        n = sum(st.values())
        total += n
        if int(tid) == pid:
            main = n
    return total, main


# --- 1. latency ---------------------------------------------------------------------------

class Client:
    def __init__(self, address):
        import dbus
        from dbus.mainloop.glib import DBusGMainLoop
        from gi.repository import GLib
        self.dbus = dbus
        DBusGMainLoop(set_as_default=True)
        self.bus = dbus.bus.BusConnection(address)
        self.ctx = GLib.MainContext.default()
        self.signals = []
        self.owner = ""
        self.bus.add_signal_receiver(self._on_signal, dbus_interface=IFACE, member_keyword="member")
        self.bus.add_signal_receiver(self._on_owner, signal_name="NameOwnerChanged",
                                     dbus_interface="org.freedesktop.DBus", arg0=NAME)
        GLib.timeout_add(20, lambda: True)

    def _on_signal(self, *args, member=None):
        t = time.time_ns()  # first thing: CLOCK_REALTIME when the client sees it
        self.signals.append((t, str(member), [a if not isinstance(a, self.dbus.String) else str(a) for a in args]))

    def _on_owner(self, name, old, new):
        self.owner = str(new)

    def pump(self, seconds, until=None):
        end = time.monotonic() + seconds
        while not (until and until()) and time.monotonic() < end:
            self.ctx.iteration(True)

    def sensor_props(self, name):
        return self.bus.call_blocking(NAME, PATH + "/sensor/" + name, "org.freedesktop.DBus.Properties", "GetAll",
                                      "s", ("org.spasmd.Sensor1",), timeout=10)


# Timestamps each line of the daemon's stdout the moment it can be read: a process of
# its own (real-time priority when allowed), so that the client's dispatch of the
# signal never holds it up.
STAMPER = r"""
import os, sys, time
try:  # woken first when the line comes, so that it is read on time even on a busy machine
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
except OSError:
    pass
out = sys.stdout.buffer
for line in sys.stdin.buffer:
    out.write(b"%d " % time.time_ns() + line)
    out.flush()
"""


def read_traces(path):
    traces = []
    with open(path, "rb") as f:
        for line in f:
            t, _, rest = line.partition(b" ")
            if rest.startswith(b'{"latency"'):
                traces.append((int(t), json.loads(rest)))
    return traces


def latency_run(spasmd, recordings, seconds, buffer_ms, tmp):
    bus = PrivateBus()
    emus, daemon, stamper = [], None, None
    try:
        client = Client(bus.address)
        ports = []
        for k, rec in enumerate(recordings):
            emu, port = start_emulator(rec, tmp, "lat-%d-%d" % (buffer_ms, k))
            emus.append(emu)
            ports.append(port)
        conf = os.path.join(tmp, "latency-%d.conf" % buffer_ms)
        state = os.path.join(tmp, "state-%d" % buffer_ms)
        os.makedirs(state)
        with open(conf, "w") as f:
            f.write("[history]\ndirectory = %s\n" % state)
            for k, port in enumerate(ports):
                f.write("\n[sensor.lumbar%d]\nuri = ip:127.0.0.1:%s\ndevice = ads1298\nbuffer_ms = %d\n"
                        % (k, port, buffer_ms))
            f.write("\n[sensor.imu]\nuri = ip:127.0.0.1:%s\ndevice = bmi160\nrole = imu\nbuffer_ms = %d\n"
                    % (ports[0], buffer_ms))
        trace_path = os.path.join(tmp, "trace-%d.txt" % buffer_ms)
        daemon = subprocess.Popen([spasmd, "--config", conf, "--bus=" + bus.address, "--trace-latency"],
                                  stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, "daemon-%d.log" % buffer_ms),
                                                                      "w"))
        stamper = subprocess.Popen([sys.executable, "-c", STAMPER], stdin=daemon.stdout,
                                   stdout=open(trace_path, "wb"))
        daemon.stdout.close()
        client.pump(seconds + 3.0, lambda: daemon.poll() is not None)
        stop(daemon)
        stamper.wait(timeout=10)
    finally:
        for p in [daemon, stamper] + emus:
            if p:
                stop(p, signal.SIGKILL if p is daemon else signal.SIGTERM)
        bus.stop()
    traces = read_traces(trace_path)
    spasm, act, unmatched = [], [], 0
    for k in range(len(recordings)):
        sp, ac, un = match(traces, client.signals, "lumbar%d" % k)
        spasm += sp
        act += ac
        unmatched += un
    return spasm, act, unmatched


def match(traces, signals, sensor, slack_ns=50_000_000):
    """Per SpasmStarted and per ActivityStarted of `sensor`: (e2e from the sample, e2e from the block's arrival,
    decision->client, onset->client), in ms."""
    onset_tr = [(t, d) for t, d in traces if d["latency"] == "onset" and d["sensor"] == sensor]
    class_tr = [(t, d) for t, d in traces if d["latency"] == "class" and d["sensor"] == sensor]
    used = set()
    det_of = {}     # daemon id -> detector id
    act, spasm = [], []
    for t_sig, member, a in signals:
        if member != "ActivityStarted" or a[1] != sensor:
            continue
        # The onset trace line printed just before this signal was sent.
        cand = [k for k, (t, _) in enumerate(onset_tr) if k not in used and t <= t_sig + slack_ns
                and t_sig - t < 2_000_000_000]
        if not cand:
            continue
        k = cand[-1]
        used.add(k)
        t_tr, d = onset_tr[k]
        det_of[int(a[0])] = d["id"]
        act.append(measure(t_sig, t_tr, d, int(a[2])))
    unmatched = 0
    for t_sig, member, a in signals:
        if member != "SpasmStarted" or a[1] != sensor:
            continue
        det = det_of.get(int(a[0]))
        cand = [(t, d) for t, d in class_tr if d["id"] == det and t <= t_sig + slack_ns]
        if det is None or not cand:
            unmatched += 1
            continue
        t_tr, d = cand[-1]
        spasm.append(measure(t_sig, t_tr, d, int(a[2])))
    return spasm, act, unmatched


def measure(t_sig, t_tr, d, onset_usec):
    seen_ms = (t_sig - t_tr) / 1e6
    return (d.get("sample_ms", float("nan")) + seen_ms, d["arrival_ms"] + seen_ms, seen_ms,
            (t_sig / 1e3 - onset_usec) / 1e3)


def bench_latency(a, tmp):
    recordings, n_spasms = [], 0
    for k in range(a.latency_sensors):
        recordings.append(os.path.join(tmp, "dense-%d.csv" % k))
        n_spasms += write_latency_recording(recordings[-1], a.latency_seconds, 11 + k)
    print("\n== sample -> D-Bus client: spasmd on the iiod emulator over ip:, a python3-dbus client on a private bus")
    print("   %d EMG sensors (an emulator each) + 1 IMU, %g s of generated recordings with %d spasms in all, in real "
          "time; ms" % (a.latency_sensors, a.latency_seconds, n_spasms))
    print("%-9s %-15s %4s %19s %19s %19s %17s" % ("buffer_ms", "signal", "n", "sample->seen p50/p99",
                                                 "arrival->seen p50/p99", "decision->seen p50/p99",
                                                 "onset->seen p50"))
    results = {}
    for buffer_ms in (20, 50):
        spasm, act, unmatched = latency_run(a.spasmd, recordings, a.latency_seconds, buffer_ms, tmp)
        results[buffer_ms] = (spasm, act)
        for label, rows in (("SpasmStarted", spasm), ("ActivityStarted", act)):
            s, r, d, o = ([x[i] for x in rows] for i in range(4))
            print("%-9d %-15s %4d %9.1f / %-7.1f %9.1f / %-7.1f %9.2f / %-7.2f %15.0f"
                  % (buffer_ms, label, len(rows), percentile(s, 0.5), percentile(s, 0.99), percentile(r, 0.5),
                     percentile(r, 0.99), percentile(d, 0.5), percentile(d, 0.99), percentile(o, 0.5)))
            key = "e2e_%s_buffer_ms=%d" % (label, buffer_ms)
            print("%s n=%d sample_p50_ms=%.2f sample_p99_ms=%.2f arrival_p50_ms=%.2f arrival_p99_ms=%.2f "
                  "decision_to_client_p50_ms=%.3f decision_to_client_p99_ms=%.3f decision_to_client_min_ms=%.3f "
                  "onset_to_client_p50_ms=%.0f"
                  % (key, len(rows), percentile(s, 0.5), percentile(s, 0.99), percentile(r, 0.5), percentile(r, 0.99),
                     percentile(d, 0.5), percentile(d, 0.99), min(d) if d else float("nan"), percentile(o, 0.5)))
        if unmatched:
            print("# buffer_ms=%d: %d SpasmStarted without a trace line to match" % (buffer_ms, unmatched))
    print("   sample: the deciding sample's device timestamp; arrival: the reader got its block; decision: the daemon")
    print("   printed its trace line (read by the bench); seen: python3-dbus dispatched the signal (CLOCK_REALTIME).")
    print("   onset->seen is from the activation's onset (onset_usec), i.e. how long classifying it took.")
    print("   With few spasms p99 is close to the maximum.")
    return results


# --- 2. resources -------------------------------------------------------------------------

def rollup(pid):
    """Pss, Pss_Anon, Pss_File (kB) from /proc/PID/smaps_rollup (Linux >= 4.14; 5.9 for the split)."""
    out = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Pss", "Pss_Anon", "Pss_File"):
                    out[k] = int(v.split()[0])
    except FileNotFoundError:
        pass
    return out


def thread_ticks(pid):
    """(whole process, main thread) utime + stime in clock ticks; the process's count keeps the ticks of
    threads that ended."""
    with open("/proc/%d/task/%d/stat" % (pid, pid)) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return cpu_ticks(pid), int(fields[11]) + int(fields[12])


def bytes_served(ports):
    """Bytes the emulators sent on their established connections (ss -ti: bytes_sent), or None without ss."""
    flt = " or ".join("sport = :%s" % p for p in ports)
    try:
        out = subprocess.run(["ss", "-Htin", "state", "established", "( %s )" % flt], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return sum(int(w.split(":")[1]) for w in out.split() if w.startswith("bytes_sent:"))


def resource_run(a, n_sensors, recording, rate, channels, tmp):
    """n_sensors EMG sensors, each `channels` channels at `rate` from the iiod emulator (one emulator process
    per --sensors-per-emulator of them, each sensor on a connection and a buffer of its own), buffer_ms
    --resource-buffer-ms.
    Figures over --resource-seconds once every sensor streams and 4 s have passed."""
    per_emu = max(1, a.sensors_per_emulator)
    bus = PrivateBus()
    emus, daemon = [], None
    tag = "res-%d" % n_sensors
    try:
        ports = []
        for k in range((n_sensors + per_emu - 1) // per_emu):
            emu, port = start_emulator(recording, tmp, "%s-%d" % (tag, k))
            emus.append(emu)
            ports.append(port)
        state = os.path.join(tmp, "state-" + tag)
        os.makedirs(state)
        conf = os.path.join(tmp, tag + ".conf")
        with open(conf, "w") as f:
            f.write("[history]\ndirectory = %s\n" % state)
            for k in range(n_sensors):
                f.write("\n[sensor.emg%d]\nuri = ip:127.0.0.1:%s\ndevice = ads1298\nbuffer_ms = %d\n"
                        % (k, ports[k // per_emu], a.resource_buffer_ms))
        daemon = subprocess.Popen([a.spasmd, "--config", conf, "--bus=" + bus.address], stdout=subprocess.DEVNULL,
                                  stderr=open(os.path.join(tmp, "daemon-%s.log" % tag), "w"))
        client = Client(bus.address)
        client.pump(10, lambda: client.owner != "" or daemon.poll() is not None)
        names = ["emg%d" % k for k in range(n_sensors)]
        deadline = time.monotonic() + 20
        while daemon.poll() is None and time.monotonic() < deadline:
            if all(bool(client.sensor_props(n)["Connected"]) for n in names):
                break
            time.sleep(0.25)
        time.sleep(4.0)  # connected, floors being learnt, allocations done
        streaming = []
        for n in names:
            p = client.sensor_props(n)
            streaming.append((bool(p["Connected"]), float(p["SampleRate"]), len(p["Channels"])))
        emu_t0 = sum(cpu_ticks(e.pid) for e in emus)
        b0 = bytes_served(ports)
        t0, (c0, m0) = time.monotonic(), thread_ticks(daemon.pid)
        rss_max = 0
        while time.monotonic() - t0 < a.resource_seconds and daemon.poll() is None:
            time.sleep(1.0)
            rss_max = max(rss_max, proc_status(daemon.pid, ("VmRSS",)).get("VmRSS", 0))
        t1, (c1, m1) = time.monotonic(), thread_ticks(daemon.pid)
        b1 = bytes_served(ports)
        emu_t1 = sum(cpu_ticks(e.pid) for e in emus)
        st = proc_status(daemon.pid, ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads"))
        st.update(rollup(daemon.pid))
        dropped = [int(client.sensor_props(n)["DroppedSamples"]) for n in names]
        alive = daemon.poll() is None
        stop(daemon)
    finally:
        if daemon:
            stop(daemon, signal.SIGKILL)
        for emu in emus:
            stop(emu)
        bus.stop()
    wall = t1 - t0
    # Served bytes per second against what n sensors at `rate` make (samples: channels x 4 bytes + an 8-byte
    # timestamp); the protocol's reply lines add about 0.4 %.
    served = None if b0 is None or b1 is None else 100.0 * (b1 - b0) / wall / (n_sensors * rate * (channels * 4 + 8))
    return {
        "sensors": n_sensors, "seconds": wall, "alive": alive,
        "cpu": 100.0 * (c1 - c0) / CLK_TCK / wall, "cpu_main": 100.0 * (m1 - m0) / CLK_TCK / wall,
        "cpu_readers": 100.0 * ((c1 - c0) - (m1 - m0)) / CLK_TCK / wall,
        "emulator_cpu": 100.0 * (emu_t1 - emu_t0) / CLK_TCK / wall, "emulators": len(emus),
        "vmrss": st.get("VmRSS", 0), "vmrss_max": rss_max, "vmhwm": st.get("VmHWM", 0),
        "rss_anon": st.get("RssAnon", 0), "rss_file": st.get("RssFile", 0), "pss": st.get("Pss", 0),
        "pss_anon": st.get("Pss_Anon", 0), "pss_file": st.get("Pss_File", 0), "threads": st.get("Threads", 0),
        "streaming_ok": all(c and r == rate and n == channels for c, r, n in streaming), "dropped": dropped,
        "served_pct": served,
    }


def bench_resources(a, tmp):
    rate, channels = 2000, 8
    counts = sorted({int(x) for x in a.resource_sensors.split(",")})
    recording = os.path.join(tmp, "wide.csv")
    write_wide_recording(recording, a.resource_seconds + 40, rate, channels)
    runs = [resource_run(a, n, recording, rate, channels, tmp) for n in counts]
    mib = 1024.0
    print("\n== resources: %s EMG sensors x %d channels at %g Hz, buffer_ms %d, from the iiod emulator in real "
          "time, %.0f s each"
          % (", ".join(map(str, counts)), channels, rate, a.resource_buffer_ms, a.resource_seconds))
    print("   the daemon only: CPU = its threads' utime + stime over wall time (/proc/PID/stat), memory from "
          "/proc/PID/status and smaps_rollup; MiB")
    hdr = ("sensors", "CPU %", "main %", "readers %", "VmRSS", "VmHWM", "RssAnon", "RssFile", "PSS", "Pss_Anon",
           "Pss_File", "dropped", "served %", "threads")
    print("%7s %7s %7s %9s %7s %7s %7s %7s %7s %8s %8s %7s %8s %7s" % hdr)
    for r in runs:
        print("%7d %7.2f %7.2f %9.2f %7.2f %7.2f %7.2f %7.2f %7.2f %8.2f %8.2f %7d %8s %7d"
              % (r["sensors"], r["cpu"], r["cpu_main"], r["cpu_readers"], r["vmrss"] / mib, r["vmhwm"] / mib,
                 r["rss_anon"] / mib, r["rss_file"] / mib, r["pss"] / mib, r["pss_anon"] / mib,
                 r["pss_file"] / mib, sum(r["dropped"]),
                 "n/a" if r["served_pct"] is None else "%.1f" % r["served_pct"], r["threads"]))
    print("   served: bytes the emulators sent (ss) against n x rate x (4 x channels + 8)-byte samples, the protocol's")
    print("   lines included (a few tenths of a %); below 99 the emulators fell behind and the figures undercount.")
    print("   The emulators' CPU (not the daemon's, not counted above): "
          + ", ".join("%.0f %% of a core for %d sensors (%d process%s)" % (r["emulator_cpu"], r["sensors"],
                                                                            r["emulators"],
                                                                            "es" if r["emulators"] > 1 else "")
                      for r in runs))
    for r in runs:
        print("resources_sensors=%d resources_channels=%d resources_rate_hz=%g buffer_ms=%d seconds=%.1f "
              "cpu_pct_one_core=%.2f cpu_main_pct=%.2f cpu_readers_pct=%.2f vmrss_kb=%d vmrss_max_kb=%d vmhwm_kb=%d "
              "rss_anon_kb=%d rss_file_kb=%d pss_kb=%d pss_anon_kb=%d pss_file_kb=%d threads=%d streaming_ok=%d "
              "dropped=%s served_pct=%s emulator_cpu_pct=%.1f"
              % (r["sensors"], channels, rate, a.resource_buffer_ms, r["seconds"], r["cpu"], r["cpu_main"],
                 r["cpu_readers"], r["vmrss"], r["vmrss_max"], r["vmhwm"], r["rss_anon"], r["rss_file"], r["pss"],
                 r["pss_anon"], r["pss_file"], r["threads"], int(r["streaming_ok"] and r["alive"]),
                 ",".join(map(str, r["dropped"])), "nan" if r["served_pct"] is None else "%.2f" % r["served_pct"],
                 r["emulator_cpu"]))
    big = [r for r in runs if r["sensors"] == 16]
    if big:
        r = big[0]
        cpu_ok, rss_ok = r["cpu"] < 5.0, r["vmhwm"] < 8 * 1024
        print("   targets at 16 sensors: CPU < 5 %% of one core: %s (%.2f %%); RSS < 8 MiB: %s (VmHWM %.2f MiB:"
              % ("met" if cpu_ok else "NOT met", r["cpu"], "met" if rss_ok else "NOT met", r["vmhwm"] / mib))
        print("   RssFile %.2f MiB, the shared libraries' pages: libc, libm, libsystemd, libiio and the libxml2, ICU"
              % (r["rss_file"] / mib))
        print("   and libstdc++ it pulls in; RssAnon %.2f MiB, the daemon's own)" % (r["rss_anon"] / mib))
        print("resources_targets_16 cpu_target_met=%d rss_target_met=%d" % (int(cpu_ok), int(rss_ok)))
    bad = [r["sensors"] for r in runs if not (r["streaming_ok"] and r["alive"]) or any(r["dropped"])
           or (r["served_pct"] is not None and r["served_pct"] < 99.0)]
    if bad:
        print("# resources: with %s sensor(s) not every sensor streamed in full, or samples were dropped; see the "
              "table" % ",".join(map(str, bad)))


# --- 3. idle ------------------------------------------------------------------------------

def bench_idle(a, tmp):
    bus = PrivateBus()
    daemon = None
    try:
        state = os.path.join(tmp, "state-idle")
        os.makedirs(state)
        conf = os.path.join(tmp, "idle.conf")
        with open(conf, "w") as f:
            f.write("[history]\ndirectory = %s\n" % state)
        daemon = subprocess.Popen([a.spasmd, "--config", conf, "--bus=" + bus.address], stdout=subprocess.DEVNULL,
                                  stderr=open(os.path.join(tmp, "daemon-idle.log"), "w"))
        client = Client(bus.address)
        client.pump(10, lambda: client.owner != "" or daemon.poll() is not None)
        time.sleep(2.0)
        s0, m0 = switches(daemon.pid)
        t0 = time.monotonic()
        time.sleep(a.idle_seconds)
        s1, m1 = switches(daemon.pid)
        t1 = time.monotonic()
        threads = len(os.listdir("/proc/%d/task" % daemon.pid))
        mem = proc_status(daemon.pid, ("VmRSS", "VmHWM", "RssAnon", "RssFile"))
        mem.update(rollup(daemon.pid))
        alive = daemon.poll() is None
        stop(daemon)
    finally:
        if daemon:
            stop(daemon, signal.SIGKILL)
        bus.stop()
    rate = (s1 - s0) / (t1 - t0)
    print("\n== idle: no sensor configured, on a private bus, %.0f s" % (t1 - t0))
    print("%-44s %12s" % ("figure", "value"))
    print("%-44s %12d" % ("context switches, all %d thread(s)" % threads, s1 - s0))
    print("%-44s %12d" % ("context switches, main thread", m1 - m0))
    print("%-44s %10.3f /s" % ("wake-ups per second (target 0)", rate))
    print("%-44s %12s" % ("target met", "yes" if rate == 0 and alive else "NO"))
    print("%-44s %9d kB" % ("VmRSS", mem.get("VmRSS", 0)))
    print("%-44s %12s" % ("  RssAnon / RssFile", "%d / %d kB" % (mem.get("RssAnon", 0), mem.get("RssFile", 0))))
    print("%-44s %9d kB" % ("PSS", mem.get("Pss", 0)))
    print("idle_seconds=%.1f idle_threads=%d idle_switches=%d idle_wakeups_per_s=%.3f idle_target_met=%d "
          "idle_vmrss_kb=%d idle_vmhwm_kb=%d idle_rss_anon_kb=%d idle_rss_file_kb=%d idle_pss_kb=%d"
          % (t1 - t0, threads, s1 - s0, rate, int(rate == 0 and alive), mem.get("VmRSS", 0), mem.get("VmHWM", 0),
             mem.get("RssAnon", 0), mem.get("RssFile", 0), mem.get("Pss", 0)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spasmd", default=os.path.join(ROOT, "build", "spasmd"))
    ap.add_argument("--latency-seconds", type=float, default=60.0,
                    help="recording length per buffer_ms (default 60: about 9 spasms)")
    ap.add_argument("--latency-sensors", type=int, default=3, help="EMG sensors in the latency runs (default 3)")
    ap.add_argument("--resource-seconds", type=float, default=30.0, help="per sensor count (default 30)")
    ap.add_argument("--resource-sensors", default="1,4,16", help="sensor counts to measure (default 1,4,16)")
    ap.add_argument("--resource-buffer-ms", type=int, default=50, help="buffer_ms of those sensors (default 50)")
    ap.add_argument("--sensors-per-emulator", type=int, default=4,
                    help="sensors one emulator process serves, each on its own connection (default 4)")
    ap.add_argument("--idle-seconds", type=float, default=20.0)
    ap.add_argument("--only", choices=("latency", "resources", "idle"), action="append")
    a = ap.parse_args(argv)
    parts = a.only or ["latency", "resources", "idle"]
    load = os.getloadavg()
    print("\n== end to end (%s); load %.2f %.2f %.2f, %d CPUs" % (", ".join(parts), load[0], load[1], load[2],
                                                            len(os.sched_getaffinity(0))))
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        if "latency" in parts:
            bench_latency(a, tmp)
        if "resources" in parts:
            bench_resources(a, tmp)
        if "idle" in parts:
            bench_idle(a, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
