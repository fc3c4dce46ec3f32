#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Detector throughput against a NumPy/SciPy reference (`make bench`).

Runs bench-detector (the C detector on a generated stream, which it also
dumps to a temporary file), then tests/bench/reference_scipy.py on that very
file, and prints both figures, their ratio, the machine and the commands.

Targets: >= 100 M channel-samples/s for the C detector and >= 10x the SciPy
reference. Missing a target is reported, not an error: the exit status is
non-zero only when something fails to run or its output cannot be read.

Needs only the standard library itself; the reference runs under an
interpreter with NumPy and SciPy (default: Debian's /usr/bin/python3, which
has python3-numpy and python3-scipy, else this interpreter).
"""

import argparse
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "reference_scipy.py")
SYSTEM_PYTHON = "/usr/bin/python3"

TARGET_CHANNEL_SAMPLES = 100e6
TARGET_RATIO = 10.0


class BenchError(Exception):
    pass


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Hardware", "cpu model", "Model") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def cpu_count():
    try:
        return len(os.sched_getaffinity(0))  # what nproc prints
    except (AttributeError, OSError):
        return os.cpu_count() or 0


def load_average():
    try:
        return os.getloadavg()
    except OSError:
        return None


def _cpu_times():
    with open("/proc/stat", encoding="ascii") as f:
        fields = f.readline().split()
    values = [int(v) for v in fields[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return idle, sum(values[:8])


def cpu_busy(interval=0.5):
    """Share of all CPUs busy over a short interval, before we start: others' load."""
    try:
        idle0, total0 = _cpu_times()
        time.sleep(interval)
        idle1, total1 = _cpu_times()
    except (OSError, ValueError, IndexError):
        return None
    total = total1 - total0
    return None if total <= 0 else 1.0 - (idle1 - idle0) / total


def has_numpy_scipy(python):
    try:
        r = subprocess.run([python, "-c", "import numpy, scipy.signal"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
    except OSError:
        return False
    return r.returncode == 0


def pick_python(requested):
    if requested:
        return requested
    for candidate in (SYSTEM_PYTHON, sys.executable):
        if candidate and os.access(candidate, os.X_OK) and has_numpy_scipy(candidate):
            return candidate
    raise BenchError(f"no Python with NumPy and SciPy found (tried {SYSTEM_PYTHON} and {sys.executable}); "
                     "run 'make deps' or pass --python")


def run(cmd, what):
    print(f"$ {shlex.join(cmd)}", flush=True)
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    except OSError as e:
        raise BenchError(f"cannot run {what}: {e}") from e
    if r.stderr:
        sys.stderr.write(r.stderr)
    if r.returncode != 0:
        sys.stdout.write(r.stdout)
        raise BenchError(f"{what} exited with status {r.returncode}")
    return r.stdout


def parse_kv(text, what, required):
    values = {}
    for line in text.splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        if key and " " not in key:
            values[key] = value.strip()
    missing = [k for k in required if k not in values]
    if missing:
        sys.stdout.write(text)
        raise BenchError(f"{what} did not print {', '.join(missing)}")
    return values


def number(values, key, what):
    try:
        v = float(values[key])
    except ValueError as e:
        raise BenchError(f"{what}: {key}={values[key]!r} is not a number") from e
    if not v > 0:
        raise BenchError(f"{what}: {key}={values[key]} is not positive")
    return v


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", required=True, help="the bench-detector binary")
    ap.add_argument("--seconds", type=float, default=120.0, help="length of the stream (default 120)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of the C detector (default 5)")
    ap.add_argument("--scipy-repeat", type=int, default=3, help="timed runs of the reference (default 3)")
    ap.add_argument("--python", help="interpreter for the reference (default: /usr/bin/python3 if it "
                    "has NumPy and SciPy, else this one)")
    ap.add_argument("--keep-dump", metavar="FILE", help="keep the stream in FILE instead of a temporary file")
    args = ap.parse_args(argv)

    try:
        return bench(args)
    except BenchError as e:
        print(f"bench: error: {e}", file=sys.stderr)
        return 1


def bench(args):
    if not os.access(args.bench, os.X_OK):
        raise BenchError(f"{args.bench} is not an executable (run 'make {args.bench}')")
    python = pick_python(args.python)

    load = load_average()
    busy = cpu_busy()
    print("== machine")
    print(f"cpu:     {cpu_model()}")
    print(f"nproc:   {cpu_count()}")
    print(f"kernel:  {platform.system()} {platform.release()} {platform.machine()}")
    if load:
        print(f"load:    {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min)")
    if busy is not None:
        print(f"busy:    {100 * busy:.0f} % of all CPUs just before the run")
        if busy > 0.2:
            print("         (something else is running: figures may be low and noisy)")

    if args.keep_dump:
        dump, keep = args.keep_dump, True
    else:
        # Next to the binary (build/), else wherever tempfile puts it.
        where = os.path.dirname(os.path.abspath(args.bench))
        fd, dump = tempfile.mkstemp(prefix="bench-stream-", suffix=".f32",
                                    dir=where if os.access(where, os.W_OK) else None)
        os.close(fd)
        keep = False
    try:
        print("\n== C detector")
        c_cmd = [args.bench, "--seconds", f"{args.seconds:g}", "--repeat", str(args.repeat), "--dump", dump]
        c_out = run(c_cmd, "bench-detector")
        c = parse_kv(c_out, "bench-detector", [
            "bench_rate_hz", "bench_n_emg", "bench_frames", "bench_channels",
            "detector_channel_samples_per_s", "detector_frames_per_s", "detector_best_s", "detector_median_s"])
        for line in c_out.splitlines():
            if line.startswith("detector:") or line.startswith("# event") or line.startswith("bench_compiler="):
                print(line)

        print("\n== SciPy reference")
        s_cmd = [python, REFERENCE, dump, "--rate", c["bench_rate_hz"], "--n-emg", c["bench_n_emg"],
                 "--repeat", str(args.scipy_repeat)]
        s_out = run(s_cmd, "reference_scipy.py")
        s = parse_kv(s_out, "reference_scipy.py", [
            "scipy_channel_samples_per_s", "scipy_frames_per_s", "scipy_frames", "scipy_channels"])
        for line in s_out.splitlines():
            if line.startswith("scipy:") or line.split("=")[0] in ("scipy_python", "scipy_numpy", "scipy_scipy"):
                print(line)
    finally:
        if not keep:
            try:
                os.unlink(dump)
            except OSError:
                pass

    if (c["bench_frames"], c["bench_channels"]) != (s["scipy_frames"], s["scipy_channels"]):
        raise BenchError(f"the two ran on different data: C {c['bench_frames']} frames x {c['bench_channels']}, "
                         f"SciPy {s['scipy_frames']} x {s['scipy_channels']}")

    c_cs = number(c, "detector_channel_samples_per_s", "bench-detector")
    c_fs = number(c, "detector_frames_per_s", "bench-detector")
    s_cs = number(s, "scipy_channel_samples_per_s", "reference_scipy.py")
    s_fs = number(s, "scipy_frames_per_s", "reference_scipy.py")
    ratio = c_cs / s_cs
    channels = int(c["bench_channels"])

    print("\n== result (best of each; channel-samples = frames x %d channels)" % channels)
    print(f"{'':24s}{'channel-samples/s':>20s}{'frames/s':>14s}")
    print(f"{'C detector':24s}{c_cs:>20.3e}{c_fs:>14.3e}")
    print(f"{'NumPy/SciPy reference':24s}{s_cs:>20.3e}{s_fs:>14.3e}")
    print(f"{'ratio C / SciPy':24s}{ratio:>20.2f}")
    met_abs = c_cs >= TARGET_CHANNEL_SAMPLES
    met_ratio = ratio >= TARGET_RATIO
    print(f"target >= {TARGET_CHANNEL_SAMPLES / 1e6:.0f} M channel-samples/s: "
          f"{'met' if met_abs else 'NOT met'} ({c_cs / 1e6:.1f} M)")
    print(f"target >= {TARGET_RATIO:g}x SciPy:                 {'met' if met_ratio else 'NOT met'} ({ratio:.2f}x)")
    if "detector_state_bytes_per_emg_channel" in c:
        per = int(c["detector_state_bytes_per_emg_channel"])
        print(f"detector state: {c['detector_state_bytes']} bytes in all, {per} bytes per EMG channel "
              f"(target <= 8192: {'met' if per <= 8192 else 'NOT met'})")
    print(f"bench_ratio={ratio:.3f}")
    print(f"bench_target_channel_samples_met={int(met_abs)}")
    print(f"bench_target_ratio_met={int(met_ratio)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
