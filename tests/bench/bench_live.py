#!/usr/bin/python3
"""Live-path latency and reader cost: the real daemon on the iiod emulator.

For buffer_ms 20 and 50, tests/rig/iiod_emulator.py serves a recording in
real time as an ads1298 (EMG) and a bmi160 (IMU); spasmd reads both over ip:
with --trace-latency. For every onset and class decision it prints the time
from the deciding sample's device timestamp to the decision (sample_ms: the
buffer's fill time, the network, the queue and the detector) and from the
reader getting that sample off the device to the decision (arrival_ms: the
queue and the detector). The reader threads' CPU time comes from
/proc/PID/task/*/stat (threads named spasmd-rd).

    python3 tests/bench/bench_live.py --spasmd build/spasmd [--seconds 60]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EMULATOR = os.path.join(ROOT, "tests", "rig", "iiod_emulator.py")
SCENES = os.path.join(ROOT, "tests", "sim", "scenes.py")


def percentile(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def reader_ticks(pid):
    """utime + stime of the daemon's reader threads, in clock ticks."""
    total = 0
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except FileNotFoundError:
        return 0
    for tid in tasks:
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                if f.read().strip() != "spasmd-rd":
                    continue
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return total


def make_recording(tmp, seconds):
    """A scene with many short events: twitches and spasms lying down, cut to `seconds`."""
    out = os.path.join(tmp, "scenes")
    subprocess.run([sys.executable, SCENES, "--out", out, "--set", "check", "--only", "twitches_lying"],
                   check=True, stdout=subprocess.DEVNULL)
    src = os.path.join(out, "twitches_lying.csv")
    dst = os.path.join(tmp, "live.csv")
    with open(src) as f, open(dst, "w") as g:
        rate = None
        rows = 0
        for line in f:
            if line.startswith("# rate_hz="):
                rate = float(line.split("=")[1])
            if line[0].isdigit() or line[0] == "-":
                rows += 1
                if rows > rate * seconds:
                    break
            g.write(line)
    return dst, rate


def run(spasmd, recording, buffer_ms, seconds, tmp):
    port_file = os.path.join(tmp, "port-%d" % buffer_ms)
    emu = subprocess.Popen([sys.executable, EMULATOR, "--port", "0", "--port-file", port_file, "--emg", recording,
                            "--speed", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.05)
        port = open(port_file).read().strip()
        conf = os.path.join(tmp, "bench-%d.conf" % buffer_ms)
        with open(conf, "w") as f:
            f.write("[sensor.lumbar]\nuri = ip:127.0.0.1:%s\ndevice = ads1298\nbuffer_ms = %d\n\n"
                    "[sensor.imu]\nuri = ip:127.0.0.1:%s\ndevice = bmi160\nrole = imu\nbuffer_ms = %d\n"
                    % (port, buffer_ms, port, buffer_ms))
        out = open(os.path.join(tmp, "trace-%d.jsonl" % buffer_ms), "w+")
        state = os.path.join(tmp, "state-%d" % buffer_ms)
        os.makedirs(state, exist_ok=True)
        daemon = subprocess.Popen([spasmd, "--bus=none", "--config", conf, "--trace-latency"], stdout=out,
                                  stderr=subprocess.DEVNULL, env=dict(os.environ, STATE_DIRECTORY=state))
        time.sleep(2.0)  # connected, floors learnt
        t0, c0 = time.monotonic(), reader_ticks(daemon.pid)
        time.sleep(max(1.0, seconds - 3.0))
        t1, c1 = time.monotonic(), reader_ticks(daemon.pid)
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=10)
        out.seek(0)
        lat = [json.loads(line) for line in out if line.startswith('{"latency"')]
    finally:
        emu.terminate()
        emu.wait(timeout=10)
    cpu = (c1 - c0) / os.sysconf("SC_CLK_TCK") / (t1 - t0)
    return lat, cpu


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spasmd", default=os.path.join(ROOT, "build", "spasmd"))
    ap.add_argument("--seconds", type=float, default=60.0)
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        recording, rate = make_recording(tmp, a.seconds)
        imu_rate = rate / max(1, -(-int(rate) // 400))  # the emulator's bmi160 rate
        channel_rate = 2 * rate + 6 * imu_rate
        print("\n== live path: spasmd on the iiod emulator over ip:, %g s of %s in real time" %
              (a.seconds, os.path.basename(recording)))
        print("%-10s %8s %26s %26s %22s" % ("buffer_ms", "decisions", "sample->decision p50/p99 ms",
                                          "arrival->decision p50/p99", "reader CPU per 1k ch/s"))
        for buffer_ms in (20, 50):
            lat, cpu = run(a.spasmd, recording, buffer_ms, a.seconds, tmp)
            s = [x["sample_ms"] for x in lat if "sample_ms" in x]
            r = [x["arrival_ms"] for x in lat]
            per_k = 100.0 * cpu / (channel_rate / 1000.0)
            print("%-10d %8d %12.1f / %-12.1f %12.2f / %-12.2f %18.4f %%" %
                  (buffer_ms, len(lat), percentile(s, 0.5), percentile(s, 0.99), percentile(r, 0.5),
                   percentile(r, 0.99), per_k))
            print("live_buffer_ms=%d decisions=%d sample_p50_ms=%.2f sample_p99_ms=%.2f arrival_p50_ms=%.3f "
                  "arrival_p99_ms=%.3f reader_cpu_pct=%.4f channel_samples_per_s=%.0f reader_cpu_pct_per_1k=%.5f"
                  % (buffer_ms, len(lat), percentile(s, 0.5), percentile(s, 0.99), percentile(r, 0.5),
                     percentile(r, 0.99), 100 * cpu, channel_rate, per_k))
    return 0


if __name__ == "__main__":
    sys.exit(main())
