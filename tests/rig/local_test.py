#!/usr/bin/env python3
"""Proves tests/rig/local-rig with the real libiio clients.

    python3 tests/rig/local_test.py [-v]

Needs root (the rig mounts inside a private mount namespace) and the Debian
packages libiio-utils, iiod and python3-numpy (the rig's feeder runs under
/usr/bin/python3).  This file itself uses only the standard library.
About 20 s.
"""

import csv
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RIG = os.path.join(HERE, "local-rig")
RECORDING = os.path.join(ROOT, "tests", "data", "demo-lumbar.csv")
EMG_SCALE = 0.000100        # mV per LSB, the rig's default
ACCEL_SCALE = 0.000598      # bmi160 +-2 g, what the rig picks for demo-lumbar
GYRO_SCALE = 0.001065       # bmi160 +-2000 deg/s


def load_recording(path, max_rows=None):
    rate = None
    with open(path, newline="") as f:
        for line in f:
            if line.startswith("# rate_hz="):
                rate = float(line.split("=", 1)[1])
            if not line.startswith("#"):
                header = line.strip().split(",")
                break
        cols = {name: [] for name in header}
        for i, row in enumerate(csv.reader(f)):
            if max_rows is not None and i >= max_rows:
                break
            for name, v in zip(header, row):
                cols[name].append(float(v))
    return rate, cols


def sext24(word):
    word &= 0xFFFFFF
    return word - (1 << 24) if word & 0x800000 else word


def decode_emg(data, nchan=2, with_ts=False):
    """iio_readdev output for voltage0..N-1 (le:s24/32) [+ timestamp]."""
    size = 4 * nchan
    if with_ts:
        size = (size + 7) // 8 * 8 + 8
    assert len(data) % size == 0, "%d bytes is not a whole number of %d-byte scans" % (len(data), size)
    chans = [[] for _ in range(nchan)]
    stamps = []
    for off in range(0, len(data), size):
        words = struct.unpack_from("<%dI" % nchan, data, off)
        for c, w in enumerate(words):
            chans[c].append(sext24(w) * EMG_SCALE * 1000.0)  # uV
        if with_ts:
            stamps.append(struct.unpack_from("<q", data, off + size - 8)[0])
    return chans, stamps


def rig(*args, timeout=30, **kw):
    cmd = [RIG, "--recording", RECORDING] + list(args)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, **kw)


def missing_prereqs():
    if os.geteuid() != 0:
        return "needs root (mount namespace)"
    for tool in ("iio_info", "iio_readdev", "iiod", "unshare", "setpriv"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            return "%s not installed (apt-get install libiio-utils iiod)" % tool
    if subprocess.run(["/usr/bin/python3", "-c", "import numpy"],
                      stderr=subprocess.DEVNULL).returncode != 0:
        return "python3-numpy not installed"
    return None


@unittest.skipIf(missing_prereqs(), missing_prereqs() or "")
class LocalRigTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rate, cls.rec = load_recording(RECORDING, max_rows=25000)
        cls.tmp = tempfile.mkdtemp(prefix="local-rig-test.")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def assertMatchesRecording(self, chans, start=0, columns=("emg_left", "emg_right")):
        for c, name in enumerate(columns):
            want = self.rec[name][start:start + len(chans[c])]
            self.assertEqual(len(want), len(chans[c]))
            worst = max(abs(a - b) for a, b in zip(chans[c], want))
            self.assertLessEqual(worst, 0.1, "%s differs by %.3f uV" % (name, worst))

    def test_host_untouched(self):
        # Everything happens in the rig's mount namespace: the host's /sys/bus
        # and /dev look the same before, during and after a run.
        def snapshot():
            return (sorted(os.listdir("/sys/bus")), sorted(os.listdir("/dev")),
                    os.path.exists("/sys/bus/iio") and sorted(os.listdir("/sys/bus/iio/devices")))
        before = snapshot()
        p = subprocess.Popen([RIG, "--recording", RECORDING, "--", "sleep", "2"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        during = snapshot()
        self.assertEqual(p.wait(timeout=10), 0)
        self.assertEqual(during, before)
        self.assertEqual(snapshot(), before)

    def test_iio_info_local(self):
        r = rig("--", "iio_info", "-u", "local:")
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn("IIO context created with local backend", out)
        self.assertRegex(out, r"iio:device0: ads1298 \(label: emg\) \(buffer capable\)")
        for ch in ("voltage0", "voltage1"):
            self.assertRegex(out, r"%s:\s+\(input, index: %s, format: le:s24/32>>0\)" % (ch, ch[-1]))
        self.assertRegex(out, r"timestamp:\s+\(input, index: 2, format: le:S64/64>>0\)")
        self.assertRegex(out, r"scale value: 0\.000100")
        self.assertRegex(out, r"sampling_frequency value: 1000")
        # the IMU, since demo-lumbar has acc_*/gyr_* columns
        self.assertRegex(out, r"iio:device1: bmi160 \(label: imu\) \(buffer capable\)")
        self.assertRegex(out, r"accel_x:\s+\(input, index: 7, format: le:S16/16>>0\)")
        self.assertRegex(out, r"anglvel_z:\s+\(input, index: 6, format: le:S16/16>>0\)")

    def test_readdev_local(self):
        r = rig("--", "iio_readdev", "-u", "local:", "-b", "64", "-s", "1000",
                "ads1298", "voltage0", "voltage1")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(len(r.stdout), 1000 * 8)
        chans, _ = decode_emg(r.stdout)
        self.assertMatchesRecording(chans)
        # libiio falls back from the mmap block API to read() on the FIFO
        self.assertIn(b"High-speed mode not enabled", r.stderr)

    def test_readdev_all_channels_and_timestamps(self):
        # No channel list: all scan elements, timestamp included (16-byte
        # scans); then the bmi160.
        t_before = time.time_ns()
        script = ("iio_readdev -u local: -b 100 -s 500 ads1298 > {t}/emg.bin && "
                  "iio_readdev -u local: -b 100 -s 200 bmi160 > {t}/imu.bin").format(t=self.tmp)
        r = rig("--", "sh", "-c", script)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        with open(os.path.join(self.tmp, "emg.bin"), "rb") as f:
            chans, stamps = decode_emg(f.read(), with_ts=True)
        self.assertEqual(len(stamps), 500)
        self.assertMatchesRecording(chans)
        self.assertTrue(all(b - a == 1000000 for a, b in zip(stamps, stamps[1:])),
                        "timestamps are not 1 ms apart")
        self.assertLess(abs(stamps[0] - t_before), 30 * 10**9, "timestamp is not CLOCK_REALTIME")
        # bmi160: anglvel_x,y,z (4-6), accel_x,y,z (7-9), pad, timestamp
        with open(os.path.join(self.tmp, "imu.bin"), "rb") as f:
            data = f.read()
        self.assertEqual(len(data), 200 * 24)
        cols = ("gyr_x", "gyr_y", "gyr_z", "acc_x", "acc_y", "acc_z")
        for i in range(200):
            raw = struct.unpack_from("<6h", data, i * 24)
            for k, name in enumerate(cols):
                scale = GYRO_SCALE if k < 3 else ACCEL_SCALE
                self.assertLessEqual(abs(raw[k] * scale - self.rec[name][i]), scale / 2 + 1e-9,
                                     "%s[%d]" % (name, i))

    def test_sessions_restart_and_follow_the_mask(self):
        # Back-to-back buffers in one rig: each starts at sample 0, and the
        # second one's (different) channel mask is what gets written.
        script = ("iio_readdev -u local: -b 50 -s 300 ads1298 voltage0 voltage1 > {t}/a.bin && "
                  "iio_readdev -u local: -b 50 -s 300 ads1298 voltage1 > {t}/b.bin").format(t=self.tmp)
        r = rig("--", "sh", "-c", script)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        with open(os.path.join(self.tmp, "a.bin"), "rb") as f:
            chans, _ = decode_emg(f.read())
        self.assertMatchesRecording(chans)
        with open(os.path.join(self.tmp, "b.bin"), "rb") as f:
            chans, _ = decode_emg(f.read(), nchan=1)
        self.assertMatchesRecording(chans, columns=("emg_right",))

    def test_speed_zero_loops(self):
        # --speed 0: as fast as the reader takes it; the recording (91400
        # samples here) is read well above real time.
        t0 = time.monotonic()
        r = rig("--speed", "0", "--", "sh", "-c",
                "iio_readdev -u local: -b 4096 -s 20000 ads1298 voltage0 voltage1 > %s/fast.bin" % self.tmp)
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        with open(os.path.join(self.tmp, "fast.bin"), "rb") as f:
            chans, _ = decode_emg(f.read())
        self.assertEqual(len(chans[0]), 20000)
        self.assertMatchesRecording(chans)
        self.assertLess(took, 10.0)

    def test_iiod(self):
        script = ('iio_info -u "$LOCAL_RIG_IIOD_URI" > {t}/info.txt && '
                  'iio_readdev -u "$LOCAL_RIG_IIOD_URI" -b 64 -s 1000 ads1298 voltage0 voltage1 > {t}/ip.bin && '
                  'echo "$LOCAL_RIG_IIOD_URI" > {t}/uri').format(t=self.tmp)
        r = rig("--iiod-port", "0", "--", "sh", "-c", script)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        with open(os.path.join(self.tmp, "uri")) as f:
            self.assertRegex(f.read(), r"^ip:127\.0\.0\.1:\d+$")
        with open(os.path.join(self.tmp, "info.txt")) as f:
            info = f.read()
        self.assertIn("IIO context created with network backend", info)
        self.assertRegex(info, r"iio:device0: ads1298 \(label: emg\) \(buffer capable\)")
        self.assertRegex(info, r"voltage1:\s+\(input, index: 1, format: le:s24/32>>0\)")
        with open(os.path.join(self.tmp, "ip.bin"), "rb") as f:
            data = f.read()
        self.assertEqual(len(data), 8000)
        chans, _ = decode_emg(data)
        self.assertMatchesRecording(chans)

    def test_iiod_fixed_port(self):
        port = 30431 + (os.getpid() % 1000) + 1
        r = rig("--iiod-port", str(port), "--", "sh", "-c",
                'test "$LOCAL_RIG_IIOD_URI" = ip:127.0.0.1:%d && iio_attr -u ip:127.0.0.1:%d -d ads1298 sampling_frequency' % (port, port))
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode().strip(), "1000")

    def check_unplug(self, uri_expr, extra=()):
        # The device goes away 1 s after the buffer was enabled: iio_readdev
        # must end (libiio times out, -T 2000) instead of waiting forever.
        script = 'iio_readdev -u "%s" -T 2000 -b 64 -s 20000 ads1298 voltage0 voltage1 > %s/unplug.bin' % (uri_expr, self.tmp)
        t0 = time.monotonic()
        r = rig("--unplug-after", "1", *extra, "--", "sh", "-c", script, timeout=20)
        took = time.monotonic() - t0
        err = r.stderr.decode()
        # iio_readdev 0.24 exits 0 after a failed refill; the message is the signal.
        self.assertIn("Unable to refill buffer: Connection timed out", err)
        self.assertLess(took, 10.0)
        with open(os.path.join(self.tmp, "unplug.bin"), "rb") as f:
            chans, _ = decode_emg(f.read())
        self.assertGreater(len(chans[0]), 500)
        self.assertLess(len(chans[0]), 2000)
        self.assertMatchesRecording(chans)
        return err

    def test_unplug_local(self):
        err = self.check_unplug("local:")
        # the device directory is gone when libiio tries to disable the buffer
        self.assertIn("Error during buffer disable: No such file or directory", err)

    def test_unplug_through_iiod(self):
        self.check_unplug("$LOCAL_RIG_IIOD_URI", extra=("--iiod-port", "0"))

    def test_exit_status_and_stdin(self):
        r = rig("--", "sh", "-c", "read x; test \"$x\" = hello && exit 7", input=b"hello\n")
        self.assertEqual(r.returncode, 7, r.stderr.decode())
        r = rig("--", "sh", "-c", 'test "$LOCAL_RIG_URI" = local: && test -p "/dev/iio:device0" && '
                'test "$(cat $LOCAL_RIG_TREE/iio:device0/name)" = ads1298')
        self.assertEqual(r.returncode, 0, r.stderr.decode())

    def test_sigterm_stops_everything(self):
        p = subprocess.Popen([RIG, "--recording", RECORDING, "--iiod-port", "0", "--", "sleep", "60"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # wait until COMMAND runs (the rig's children: 2 feeders, iiod, sleep)
        deadline = time.monotonic() + 10
        kids = []
        while time.monotonic() < deadline:
            kids = children(p.pid)
            if any(comm == "sleep" for _, comm in kids):
                break
            time.sleep(0.05)
        self.assertTrue(any(comm == "sleep" for _, comm in kids), kids)
        p.terminate()
        rc = p.wait(timeout=10)
        self.assertEqual(rc, 128 + 15)
        time.sleep(0.2)
        for pid, comm in kids:
            self.assertFalse(alive(pid), "%s (%d) survived the rig" % (comm, pid))


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        m = re.match(r"\d+ \((.*)\) \S+ (\d+)", st)
        if m and int(m.group(2)) == pid:
            out.append((int(d), m.group(1)))
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
