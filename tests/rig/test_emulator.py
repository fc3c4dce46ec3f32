#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The iiod emulator against the real libiio 0.24 clients (iio_info,
iio_readdev, iio_attr) and against raw protocol lines.

    python3 tests/rig/test_emulator.py [-v] [TestClass.test_name]

Every test starts its own emulator on a free loopback port and stops it with
SIGTERM, which must exit 0. Needs libiio-utils; the tests are skipped
without iio_info / iio_readdev / iio_attr.

Notes on what libiio 0.24 does, which the assertions follow:
- iio_readdev exits 0 even when a refill fails; the failure is the stderr
  line "Unable to refill buffer: ...".
- A network refill that waits longer than the timeout fails with EPIPE
  ("Broken pipe"), not ETIMEDOUT (network-unix.c, wait_cancellable()).
  iio_readdev then sends CLOSE, whose reply it awaits for another timeout.
"""

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ET

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EMULATOR = os.path.join(HERE, "iiod_emulator.py")
DEMO = os.path.join(ROOT, "tests", "data", "demo-lumbar.csv")
sys.path.insert(0, HERE)
import iiod_proto as P  # noqa: E402

TOOLS = ("iio_info", "iio_readdev", "iio_attr")
HAVE_TOOLS = all(shutil.which(t) for t in TOOLS)

EMG_LSB_UV = 0.1
TS_DTYPE = np.dtype([("v", "<i4"), ("pad", "<i4"), ("t", "<i8")])   # voltage0 + timestamp


class Emulator:
    def __init__(self, *args):
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, EMULATOR, "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 15)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("listening on 127.0.0.1:"):
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"emulator did not start: {line!r}\n{self.log()}")
        self.port = int(line.rsplit(":", 1)[1])
        self.uri = f"ip:127.0.0.1:{self.port}"

    def log(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "hung"
        self.proc.stdout.close()
        return rc

    def close(self):
        self.stderr.close()


def run(*cmd, timeout=20):
    t = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, timeout=timeout)
    r.elapsed = time.monotonic() - t
    return r


def write_recording(path, n, rate=1000, imu=False):
    """Ramp recording: emg_a = i uV, emg_b = -i/2 uV; IMU columns if asked."""
    with open(path, "w") as f:
        f.write(f"# spasmd-recording v1\n# rate_hz={rate}\n# scene=ramp\n")
        f.write("t_s,emg_a,emg_b" + (",acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z" if imu else "") + "\n")
        for i in range(n):
            row = f"{i / rate:.4f},{i:.2f},{-i / 2:.2f}"
            if imu:
                row += f",{i * 0.01:.4f},9.81,0,{i * 0.001:.4f},0,0"
            f.write(row + "\n")


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.demo = P.load_recording(DEMO)

    def emulator(self, *args):
        emu = Emulator(*args)

        def stop():
            rc = emu.stop()
            self.assertEqual(rc, 0, f"emulator exit status on SIGTERM\n{emu.log()}")
        self.addCleanup(emu.close)
        self.addCleanup(stop)
        return emu

    def readdev(self, emu, *args, timeout=20):
        return run("iio_readdev", "-u", emu.uri, *args, timeout=timeout)

    def demo_uv(self, col, rows):
        return self.demo.column(col)[rows]


@unittest.skipUnless(HAVE_TOOLS, "needs libiio-utils (iio_info, iio_readdev, iio_attr)")
class RealClients(Base):
    def test_iio_info_lists_devices(self):
        emu = self.emulator("--emg", DEMO)
        r = run("iio_info", "-u", emu.uri)
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")              # libxml2 validates the XML against its DTD
        self.assertIn("IIO context has 2 devices", out)
        self.assertIn("iio:device0: ads1298 (label: emg) (buffer capable)", out)
        self.assertIn("iio:device1: bmi160 (label: imu) (buffer capable)", out)
        for ch in ("voltage0", "voltage1"):
            self.assertRegex(out, rf"{ch}:  \(input, index: {ch[-1]}, format: le:s24/32>>0\)")
        self.assertNotIn("voltage2", out)
        self.assertRegex(out, r"timestamp:  \(input, index: 2, format: le:S64/64>>0\)")
        self.assertIn("scale value: 0.000100", out)
        self.assertIn("offset value: 0", out)
        self.assertRegex(out, r"accel_x:  \(input, index: 0, format: le:S16/16>>0\)")
        self.assertRegex(out, r"anglvel_z:  \(input, index: 5, format: le:S16/16>>0\)")
        self.assertIn("scale value: 0.002394", out)
        self.assertIn("scale value: 0.001065", out)
        self.assertIn("sampling_frequency value: 1000\n", out)
        self.assertIn("sampling_frequency value: 333.333333\n", out)
        self.assertIn("No trigger on this device", out)
        self.assertNotIn("ERROR", out)
        self.assertNotIn("WARN", out)

    def test_readdev_emg_values(self):
        emu = self.emulator("--emg", DEMO, "--speed", "0")
        r = self.readdev(emu, "-b", "64", "-s", "500", "ads1298", "voltage0", "voltage1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")
        self.assertEqual(len(r.stdout), 500 * (4 + 4))
        raw = np.frombuffer(r.stdout, "<i4").reshape(500, 2)
        rows = np.arange(500)
        for k, col in enumerate(("emg_left", "emg_right")):
            err = np.abs(raw[:, k] * EMG_LSB_UV - self.demo_uv(col, rows))
            self.assertLessEqual(err.max(), 0.05 + 1e-9, col)

    def test_timestamps_step_by_one_period(self):
        emu = self.emulator("--emg", DEMO, "--speed", "0")
        before = time.time_ns()
        r = self.readdev(emu, "-b", "100", "-s", "1000", "ads1298", "voltage0", "timestamp")
        self.assertEqual(r.returncode, 0, r.stderr)
        s = np.frombuffer(r.stdout, TS_DTYPE)      # 4 bytes, 4 of padding, 8: natural alignment
        self.assertEqual(len(s), 1000)
        self.assertTrue(np.all(np.diff(s["t"]) == 1_000_000))
        self.assertLess(abs(int(s["t"][0]) - before), 5 * 10**9)     # CLOCK_REALTIME at OPEN
        self.assertLessEqual(np.abs(s["v"] * EMG_LSB_UV - self.demo_uv("emg_left", np.arange(1000))).max(),
                             0.05 + 1e-9)

    def test_paced_at_rate(self):
        emu = self.emulator("--emg", DEMO)
        r = self.readdev(emu, "-b", "50", "-s", "400", "ads1298", "voltage0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout), 400 * 4)
        self.assertGreater(r.elapsed, 0.35)       # 400 samples at 1000 Hz
        self.assertLess(r.elapsed, 3.0)

    def test_iio_attr_sampling_frequency(self):
        emu = self.emulator("--emg", DEMO)
        r = run("iio_attr", "-u", emu.uri, "-d", "ads1298", "sampling_frequency")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode().strip(), "1000")
        r = run("iio_attr", "-u", emu.uri, "-d", "ads1298", "sampling_frequency", "1000")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run("iio_attr", "-u", emu.uri, "-d", "ads1298", "sampling_frequency", "500")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"Invalid argument", r.stdout + r.stderr)
        r = run("iio_attr", "-u", emu.uri, "-c", "ads1298", "voltage1", "scale")
        self.assertEqual(r.stdout.decode().strip(), "0.000100")

    def test_readdev_imu_decimated(self):
        emu = self.emulator("--emg", DEMO, "--speed", "0")
        r = self.readdev(emu, "-b", "64", "-s", "300", "bmi160")        # every channel
        self.assertEqual(r.returncode, 0, r.stderr)
        dt = np.dtype({"names": ["a", "g", "t"], "formats": [("<i2", 3), ("<i2", 3), "<i8"],
                       "offsets": [0, 6, 16], "itemsize": 24})         # 12 + 4 padding + 8
        self.assertEqual(dt.itemsize, 24)
        s = np.frombuffer(r.stdout, dt)
        self.assertEqual(len(s), 300)
        rows = np.arange(300) * 3                       # 1000 Hz -> k = 3 -> 333.33 Hz
        for k, axis in enumerate("xyz"):
            self.assertLessEqual(np.abs(s["a"][:, k] * 0.002394 - self.demo_uv(f"acc_{axis}", rows)).max(),
                                 0.002394 / 2 + 1e-9)
            self.assertLessEqual(np.abs(s["g"][:, k] * 0.001065 - self.demo_uv(f"gyr_{axis}", rows)).max(),
                                 0.001065 / 2 + 1e-9)
        self.assertTrue(np.all(np.diff(s["t"]) == 3_000_000))

    def test_separate_imu_recording(self):
        with tempfile.TemporaryDirectory() as d:
            imu = os.path.join(d, "imu.csv")
            write_recording(imu, 500, rate=200, imu=True)
            emu = self.emulator("--emg", DEMO, "--imu", imu, "--speed", "0")
            r = run("iio_attr", "-u", emu.uri, "-d", "bmi160", "sampling_frequency")
            self.assertEqual(r.stdout.decode().strip(), "200")
            r = self.readdev(emu, "-b", "50", "-s", "100", "bmi160", "accel_x", "timestamp")
            s = np.frombuffer(r.stdout, np.dtype([("a", "<i2"), ("pad", "V6"), ("t", "<i8")]))
            self.assertEqual(len(s), 100)
            np.testing.assert_allclose(s["a"] * 0.002394, np.arange(100) * 0.01, atol=0.0012)
            self.assertTrue(np.all(np.diff(s["t"]) == 5_000_000))

    def test_two_clients_at_once(self):
        emu = self.emulator("--emg", DEMO, "--speed", "2")
        results = {}

        def client(name, *args):
            results[name] = self.readdev(emu, *args)
        threads = [threading.Thread(target=client, args=("emg", "-b", "64", "-s", "600", "ads1298", "voltage1")),
                   threading.Thread(target=client, args=("imu", "-b", "20", "-s", "100", "bmi160", "accel_z")),
                   threading.Thread(target=client, args=("emg2", "-b", "32", "-s", "300", "emg", "voltage0"))]
        for t in threads:
            t.start()
        r = run("iio_info", "-u", emu.uri)
        for t in threads:
            t.join()
        self.assertEqual(r.returncode, 0)
        self.assertEqual(len(results["emg"].stdout), 600 * 4)
        self.assertEqual(len(results["imu"].stdout), 100 * 2)
        self.assertEqual(len(results["emg2"].stdout), 300 * 4)
        v1 = np.frombuffer(results["emg"].stdout, "<i4") * EMG_LSB_UV
        self.assertLessEqual(np.abs(v1 - self.demo_uv("emg_right", np.arange(600))).max(), 0.05 + 1e-9)

    def test_end_of_recording_and_loop(self):
        with tempfile.TemporaryDirectory() as d:
            rec = os.path.join(d, "short.csv")
            write_recording(rec, 100)
            emu = self.emulator("--emg", rec, "--speed", "0")
            # 64 + a short chunk of 36, then READBUF waits: the client times out.
            r = self.readdev(emu, "-T", "1000", "-b", "64", "-s", "250", "ads1298", "voltage0")
            self.assertEqual(len(r.stdout), 100 * 4)
            self.assertIn(b"Unable to refill buffer", r.stderr)
            np.testing.assert_array_equal(np.frombuffer(r.stdout, "<i4"), np.arange(100) * 10)

            emu = self.emulator("--emg", rec, "--speed", "0", "--loop")
            r = self.readdev(emu, "-b", "64", "-s", "250", "ads1298", "voltage0", "timestamp")
            self.assertEqual(r.returncode, 0, r.stderr)
            s = np.frombuffer(r.stdout, TS_DTYPE)
            self.assertEqual(len(s), 250)
            np.testing.assert_array_equal(s["v"], (np.arange(250) % 100) * 10)
            self.assertTrue(np.all(np.diff(s["t"]) == 1_000_000))


@unittest.skipUnless(HAVE_TOOLS, "needs libiio-utils (iio_info, iio_readdev, iio_attr)")
class Faults(Base):
    def test_disconnect(self):
        emu = self.emulator("--emg", DEMO, "--fault", "disconnect:0.5")
        r = self.readdev(emu, "-b", "50", "-s", "5000", "ads1298", "voltage0")
        self.assertIn(b"Unable to refill buffer: Connection reset by peer", r.stderr)
        self.assertLess(r.elapsed, 3.0)
        n = len(r.stdout) // 4
        self.assertTrue(300 <= n <= 700, n)                 # about 0.5 s of data
        # Still listening: a new client streams from the start again.
        r = self.readdev(emu, "-b", "50", "-s", "100", "ads1298", "voltage0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")
        self.assertEqual(len(r.stdout), 400)

    def test_stall_forever_times_out(self):
        emu = self.emulator("--emg", DEMO, "--fault", "stall:0.3")
        r = self.readdev(emu, "-T", "2000", "-b", "50", "-s", "5000", "ads1298", "voltage0")
        # libiio 0.24 reports its poll() timeout as EPIPE.
        self.assertIn(b"Unable to refill buffer: Broken pipe", r.stderr)
        self.assertGreater(r.elapsed, 2.2)                 # 0.3 s of data, then the 2 s timeout
        n = len(r.stdout) // 4
        self.assertTrue(150 <= n <= 450, n)

    def test_stall_then_resume(self):
        emu = self.emulator("--emg", DEMO, "--fault", "stall:0.3:1.2")
        r = self.readdev(emu, "-T", "3000", "-b", "50", "-s", "1000", "ads1298", "voltage0", "timestamp")
        self.assertEqual(r.stderr, b"")
        s = np.frombuffer(r.stdout, TS_DTYPE)
        self.assertEqual(len(s), 1000)
        self.assertTrue(np.all(np.diff(s["t"]) == 1_000_000))   # nothing lost, only late
        self.assertGreater(r.elapsed, 1.4)                 # 1 s of data + 1.2 s stall - the 0.7 s caught up

    def test_garbage(self):
        emu = self.emulator("--emg", DEMO, "--fault", "garbage:0.3")
        r = self.readdev(emu, "-b", "50", "-s", "5000", "ads1298", "voltage0")
        self.assertIn(b"Unable to refill buffer: Invalid argument", r.stderr)
        n = len(r.stdout) // 4
        self.assertTrue(200 <= n <= 500, n)
        self.assertLess(r.elapsed, 2.0)                    # the connection stays usable: CLOSE answered
        r = self.readdev(emu, "-b", "50", "-s", "100", "ads1298", "voltage0")   # once only
        self.assertEqual(r.stderr, b"")
        self.assertEqual(len(r.stdout), 400)

    def test_drop(self):
        emu = self.emulator("--emg", DEMO, "--speed", "0", "--fault", "drop:0.2:50")
        r = self.readdev(emu, "-b", "64", "-s", "500", "ads1298", "voltage0", "timestamp")
        self.assertEqual(r.returncode, 0, r.stderr)
        s = np.frombuffer(r.stdout, TS_DTYPE)
        self.assertEqual(len(s), 500)
        d = np.diff(s["t"])
        jumps = np.nonzero(d != 1_000_000)[0]
        np.testing.assert_array_equal(jumps, [199])
        self.assertEqual(d[199], 51 * 1_000_000)           # samples 200..249 missing
        rows = np.concatenate([np.arange(200), np.arange(250, 550)])
        self.assertLessEqual(np.abs(s["v"] * EMG_LSB_UV - self.demo_uv("emg_left", rows)).max(), 0.05 + 1e-9)


class Protocol(Base):
    """Raw protocol lines, as iiod 0.24 answers them."""

    def connect(self, emu):
        s = socket.create_connection(("127.0.0.1", emu.port), timeout=5)
        self.addCleanup(s.close)
        return s, s.makefile("rb")

    def test_replies(self):
        emu = self.emulator("--emg", DEMO, "--speed", "0")
        s, f = self.connect(emu)

        def ask(line, payload=b""):
            s.sendall(line.encode() + b"\r\n" + payload)
            return f.readline()

        self.assertEqual(ask("VERSION"), b"0.24.rig-emu\n")
        s.sendall(b"\r\n")                                  # empty line: no reply at all
        self.assertEqual(ask("TIMEOUT 2500"), b"0\n")
        self.assertEqual(ask("FOO"), b"-22\n")
        self.assertEqual(ask("READ"), b"-22\n")
        self.assertEqual(ask("GETTRIG iio:device0"), b"-2\n")
        self.assertEqual(ask("SETTRIG ads1298"), b"-2\n")
        self.assertEqual(ask("GETTRIG nosuch"), b"-19\n")
        self.assertEqual(ask("SET ads1298 BUFFERS_COUNT 4"), b"0\n")
        self.assertEqual(ask("SET ads1298 BUFFERS_COUNT 0"), b"-22\n")
        self.assertEqual(ask("READ ads1298 sampling_frequency"), b"5\n")
        self.assertEqual(f.readline(), b"1000\x00\n")        # value, NUL, newline
        self.assertEqual(ask("READ iio:device0 INPUT voltage1 scale"), b"9\n")
        self.assertEqual(f.readline(), b"0.000100\x00\n")
        self.assertEqual(ask("READ iio:device0 BUFFER watermark"), b"2\n")
        self.assertEqual(f.readline(), b"1\x00\n")
        self.assertEqual(ask("READ iio:device0 nosuch"), b"-2\n")
        self.assertEqual(ask("READ iio:device0 INPUT voltage9 scale"), b"-6\n")
        self.assertEqual(ask("READ iio:device0 DEBUG direct_reg_access"), b"-2\n")
        self.assertEqual(ask("READ nosuch sampling_frequency"), b"-19\n")
        self.assertEqual(ask("WRITE ads1298 sampling_frequency 4", b"500\x00"), b"-22\n")
        self.assertEqual(ask("WRITE ads1298 sampling_frequency 5", b"1000\x00"), b"5\n")
        self.assertEqual(ask("WRITE bmi160 INPUT accel_x raw 2", b"1\x00"), b"-13\n")
        # READ without an attribute: every attribute, big-endian length + padded value.
        n = int(ask("READ iio:device0 INPUT voltage0"))
        blob = f.read(n + 1)
        self.assertEqual(blob[-1:], b"\n")
        values, pos = [], 0
        while pos < n:
            ln = int.from_bytes(blob[pos:pos + 4], "big", signed=True)
            values.append(blob[pos + 4:pos + 4 + ln])
            pos += 4 + ln + (-ln % 4)
        self.assertEqual(pos, n)
        self.assertEqual(values[0], b"0\x00")                        # offset
        int(values[1].rstrip(b"\x00"))                               # raw
        self.assertEqual(values[2], b"0.000100\x00")                 # scale
        xml_len = int(ask("PRINT"))
        xml = f.read(xml_len + 1)
        self.assertEqual(xml[-1:], b"\n")
        root = ET.fromstring(xml[:-1])
        devs = root.findall("device")
        self.assertEqual([d.get("name") for d in devs], ["ads1298", "bmi160"])
        se = devs[0].find("channel/scan-element")
        self.assertEqual((se.get("index"), se.get("format"), se.get("scale")), ("0", "le:s24/32>>0", "0.000100"))
        s.sendall(b"EXIT\r\n")
        self.assertEqual(f.read(), b"")                     # closed, no reply

    def test_buffer_commands(self):
        emu = self.emulator("--emg", DEMO, "--speed", "0")
        s, f = self.connect(emu)

        def ask(line):
            s.sendall(line.encode() + b"\r\n")
            return f.readline()

        self.assertEqual(ask("READBUF ads1298 64"), b"-9\n")        # not opened here
        self.assertEqual(ask("OPEN ads1298 4 3"), b"-22\n")         # mask must be 8 hex digits
        self.assertEqual(ask("OPEN ads1298 4 00000000"), b"-22\n")
        self.assertEqual(ask("OPEN nosuch 4 00000003"), b"-19\n")
        self.assertEqual(ask("OPEN ads1298 4 00000005"), b"0\n")    # voltage0 + timestamp
        self.assertEqual(ask("OPEN ads1298 4 00000005"), b"-16\n")
        self.assertEqual(ask("READBUF ads1298 15"), b"0\n")         # less than one sample
        # 5 samples asked, chunks of 4 (the OPEN size): mask on the first only.
        self.assertEqual(ask("READBUF ads1298 80"), b"64\n")
        self.assertEqual(f.readline(), b"00000005\n")
        first = np.frombuffer(f.read(64), TS_DTYPE)
        self.assertEqual(f.readline(), b"16\n")
        second = np.frombuffer(f.read(16), TS_DTYPE)
        v = np.concatenate([first["v"], second["v"]])
        np.testing.assert_array_equal(v, np.rint(self.demo_uv("emg_left", np.arange(5)) * 10))
        # Not a whole number of samples: what fits, then "0".
        self.assertEqual(ask("READBUF ads1298 20"), b"16\n")
        self.assertEqual(f.readline(), b"00000005\n")
        self.assertEqual(np.frombuffer(f.read(16), TS_DTYPE)["v"][0], round(self.demo_uv("emg_left", 5) * 10))
        self.assertEqual(f.readline(), b"0\n")
        self.assertEqual(ask("CLOSE ads1298"), b"0\n")
        self.assertEqual(ask("CLOSE ads1298"), b"-6\n")
        self.assertEqual(ask("READBUF ads1298 64"), b"-9\n")


class Command(unittest.TestCase):
    def test_bad_recording(self):
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "bad.csv")
            with open(bad, "w") as f:
                f.write("# spasmd-recording v1\n# rate_hz=1000\nt_s,emg_a\n0,1\n0.001,1.2.3\n")
            r = run(sys.executable, EMULATOR, "--port", "0", "--emg", bad)
            self.assertEqual(r.returncode, 2)
            self.assertIn(b'bad.csv:5:2: "1.2.3" is not a number', r.stderr)
            r = run(sys.executable, EMULATOR, "--port", "0", "--emg", DEMO, "--fault", "stall")
            self.assertEqual(r.returncode, 2)
            self.assertIn(b"--fault stall", r.stderr)

    def test_port_file_and_sigint(self):
        with tempfile.TemporaryDirectory() as d:
            pf = os.path.join(d, "port")
            p = subprocess.Popen([sys.executable, EMULATOR, "--port", "0", "--port-file", pf, "--emg", DEMO],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            try:
                line = p.stdout.readline()
                with open(pf) as f:
                    self.assertEqual(line.strip(), f"listening on 127.0.0.1:{int(f.read())}")
                socket.create_connection(("127.0.0.1", int(line.rsplit(":", 1)[1])), timeout=5).close()
                p.send_signal(signal.SIGINT)
                self.assertEqual(p.wait(timeout=10), 0)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
                p.stdout.close()


if __name__ == "__main__":
    unittest.main()
