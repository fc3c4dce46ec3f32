#!/usr/bin/python3
"""Fake sysfs IIO devices fed from a spasmd recording (format v1).

Two sub-commands, both used by tests/rig/local-rig:

  build  --tree DIR --recording FILE [...]
        Writes, under DIR, sysfs-shaped directories that libiio's local
        backend accepts as IIO devices:
          iio:device0  name "ads1298", label "emg": in_voltageN_{raw,...},
                       le:s24/32>>0 scan elements and an le:s64/64>>0 timestamp;
          iio:device1  name "bmi160", label "imu" (only when the recording has
                       the six IMU columns): in_accel_{x,y,z}, in_anglvel_{x,y,z},
                       le:s16/16>>0, scan indices as in the kernel driver
                       (gyro 4-6, accel 7-9, timestamp 10).
        DIR is meant to be bind-mounted (or to be) /sys/bus/iio/devices.
        Prints a JSON summary of what it built on stdout.

  feed   --tree DIR --device N --recording FILE [--speed X] [--unplug-after S]
        Plays the recording into /dev/iio:deviceN (a FIFO made by the caller)
        whenever a reader has enabled the buffer: it waits for a freshly
        written "1" in DIR/iio:deviceN/buffer/enable, reads the enabled scan
        elements (index, type) and writes packed scans of those channels only,
        in scan-index order with natural alignment, at rate x speed.

How the raw values are made: for every channel the feeder reads the scale and
offset back from the tree (in_<chan>_scale, else the type-wide in_<type>_scale;
the same for _offset) and writes raw = round(value / scale - offset), where
value is in IIO ABI units: millivolts for voltage (the recording has uV),
m/s^2 for accel and rad/s for anglvel.  Edit the scale files before a reader
enables the buffer and the feeder follows.  EMG channels beyond the recording's
emg_* columns (--emg-channels) read 0.

Timestamps are in device time: the CLOCK_REALTIME nanoseconds at which the
buffer was enabled plus i / rate_hz for scan i, at every speed (at speed 1 they
track the wall clock; at other speeds the spacing still matches
sampling_frequency, like a device that ran at its nominal rate).

A session ends when the reader closes the FIFO (the feeder sees POLLERR/EPIPE)
or writes buffer/enable again; the feeder then discards whatever the reader
left unread in the pipe (so the next session starts clean) and waits for the
next enable.  Each session starts at the first sample of the recording.

--unplug-after S removes DIR/iio:deviceN and the device node S seconds after
the first buffer enable (--unplug-clock start: after the feeder started) and
closes the FIFO.  A reader does not get EOF: it holds the FIFO O_RDWR itself,
so its poll() just never fires and libiio returns -ETIMEDOUT after the context
timeout (iio_readdev -T).  That is also what a real unplug does: the kernel's
iio_buffer_poll() returns 0 once the device is unregistered.
"""

import argparse
import ctypes
import errno
import fcntl
import json
import os
import re
import select
import shutil
import signal
import sys
import time

import numpy as np

EMG_NAME = "ads1298"
IMU_NAME = "bmi160"
DEV_MAJOR = 251

# bmi160 driver tables (m/s^2 and rad/s per LSB).
BMI160_ACCEL_SCALES = ["0.000598", "0.001197", "0.002394", "0.004788"]
BMI160_GYRO_SCALES = ["0.001065", "0.000532", "0.000266", "0.000133", "0.000066"]

IMU_COLUMNS = {
    "accel_x": "acc_x", "accel_y": "acc_y", "accel_z": "acc_z",
    "anglvel_x": "gyr_x", "anglvel_y": "gyr_y", "anglvel_z": "gyr_z",
}

F_SETPIPE_SZ = 1031
PR_SET_PDEATHSIG = 1


def log(msg):
    print("local_sysfs: %s" % msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Recording v1


class RecordingError(Exception):
    pass


class Recording:
    def __init__(self, path, rate, meta, columns, data):
        self.path = path
        self.rate = rate
        self.meta = meta
        self.columns = columns
        self.data = data  # float64, shape (samples, columns)

    @property
    def emg_columns(self):
        return [c for c in self.columns if c.startswith("emg_")]

    @property
    def has_imu(self):
        return all(c in self.columns for c in IMU_COLUMNS.values())

    def column(self, name):
        return self.data[:, self.columns.index(name)]

    def emg_to_uv_factor(self):
        units = self.meta.get("units", "uV")
        return {"uV": 1.0, "mV": 1000.0, "V": 1e6}.get(units, 1.0)


def read_recording(path):
    with open(path, "r", encoding="utf-8") as f:
        first = f.readline().rstrip("\r\n")
        if first != "# spasmd-recording v1":
            raise RecordingError("%s:1: not a spasmd recording v1 (first line is %r)" % (path, first))
        meta = {}
        lineno = 1
        while True:
            line = f.readline()
            lineno += 1
            if not line:
                raise RecordingError("%s:%d: no header row" % (path, lineno))
            line = line.rstrip("\r\n")
            if line.startswith("#"):
                body = line[1:].strip()
                if "=" in body:
                    k, v = body.split("=", 1)
                    meta[k.strip()] = v.strip()
                continue
            columns = [c.strip() for c in line.split(",")]
            break
        if "rate_hz" not in meta:
            raise RecordingError("%s: no '# rate_hz=' line" % path)
        rate = float(meta["rate_hz"])
        if not 50 <= rate <= 20000:
            raise RecordingError("%s: rate_hz=%s is outside 50..20000" % (path, meta["rate_hz"]))
        try:
            data = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError as e:
            raise RecordingError("%s: %s" % (path, e)) from None
    if data.shape[0] == 0:
        raise RecordingError("%s: no samples" % path)
    if data.shape[1] != len(columns):
        raise RecordingError("%s: %d columns in the header, %d in the data"
                             % (path, len(columns), data.shape[1]))
    rec = Recording(path, rate, meta, columns, data)
    if not rec.emg_columns:
        raise RecordingError("%s: no emg_* column" % path)
    return rec


# --------------------------------------------------------------------------
# Tree building


def write_attr(path, value, mode=0o644):
    with open(path, "w") as f:
        f.write("%s\n" % value)
    os.chmod(path, mode)


def fmt_freq(rate):
    return ("%d" % rate) if float(rate).is_integer() else ("%.6f" % rate)


def pick_scale(values, table, bits=16):
    """Smallest scale of the driver's table that holds every value."""
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    limit = 2 ** (bits - 1) - 1
    for s in sorted(table, key=float):
        if peak / float(s) <= limit:
            return s
    return max(table, key=float)


def make_device_dir(tree, index, name, label, minor):
    d = os.path.join(tree, "iio:device%d" % index)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(os.path.join(d, "buffer"))
    os.makedirs(os.path.join(d, "scan_elements"))
    write_attr(os.path.join(d, "name"), name, 0o444)
    if label:
        write_attr(os.path.join(d, "label"), label, 0o444)
    write_attr(os.path.join(d, "dev"), "%d:%d" % (DEV_MAJOR, minor), 0o444)
    write_attr(os.path.join(d, "uevent"),
               "MAJOR=%d\nMINOR=%d\nDEVNAME=iio:device%d\nDEVTYPE=iio_device"
               % (DEV_MAJOR, minor, index))
    write_attr(os.path.join(d, "current_timestamp_clock"), "realtime")
    write_attr(os.path.join(d, "buffer", "enable"), "0")
    write_attr(os.path.join(d, "buffer", "length"), "1024")
    write_attr(os.path.join(d, "buffer", "watermark"), "1")
    write_attr(os.path.join(d, "buffer", "data_available"), "0", 0o444)
    return d


def add_scan_element(d, chan, index, fmt):
    se = os.path.join(d, "scan_elements")
    write_attr(os.path.join(se, "in_%s_en" % chan), "0")
    write_attr(os.path.join(se, "in_%s_index" % chan), index, 0o444)
    write_attr(os.path.join(se, "in_%s_type" % chan), fmt, 0o444)


def build_emg(tree, rec, index, nchan, scale, per_channel_scale):
    d = make_device_dir(tree, index, EMG_NAME, "emg", index)
    write_attr(os.path.join(d, "sampling_frequency"), fmt_freq(rec.rate))
    write_attr(os.path.join(d, "sampling_frequency_available"),
               "250 500 1000 2000 4000 8000 16000 32000", 0o444)
    if not per_channel_scale:
        write_attr(os.path.join(d, "in_voltage_scale"), scale)
        write_attr(os.path.join(d, "in_voltage_offset"), "0")
    emg = rec.emg_columns
    factor = rec.emg_to_uv_factor()
    for ch in range(nchan):
        if per_channel_scale:
            write_attr(os.path.join(d, "in_voltage%d_scale" % ch), scale)
        first_mv = rec.column(emg[ch])[0] * factor / 1000.0 if ch < len(emg) else 0.0
        write_attr(os.path.join(d, "in_voltage%d_raw" % ch),
                   int(round(first_mv / float(scale))))
        add_scan_element(d, "voltage%d" % ch, ch, "le:s24/32>>0")
    add_scan_element(d, "timestamp", nchan, "le:s64/64>>0")
    return {"id": "iio:device%d" % index, "name": EMG_NAME, "label": "emg",
            "channels": ["voltage%d" % c for c in range(nchan)] + ["timestamp"],
            "columns": emg[:nchan], "scale": scale}


def build_imu(tree, rec, index):
    d = make_device_dir(tree, index, IMU_NAME, "imu", index)
    os.makedirs(os.path.join(d, "trigger"))
    write_attr(os.path.join(d, "trigger", "current_trigger"), "")
    acc = np.concatenate([rec.column(c) for c in ("acc_x", "acc_y", "acc_z")])
    ascale = pick_scale(acc, BMI160_ACCEL_SCALES)
    # The chip's power-on ranges are +-2 g and +-2000 deg/s; the accelerometer
    # moves to a wider range only if the recording would clip.
    gscale = BMI160_GYRO_SCALES[0]
    for typ, scale, table in (("accel", ascale, BMI160_ACCEL_SCALES),
                              ("anglvel", gscale, BMI160_GYRO_SCALES)):
        write_attr(os.path.join(d, "in_%s_scale" % typ), scale)
        write_attr(os.path.join(d, "in_%s_scale_available" % typ), " ".join(table), 0o444)
        write_attr(os.path.join(d, "in_%s_sampling_frequency" % typ), fmt_freq(rec.rate))
    write_attr(os.path.join(d, "in_mount_matrix"), "1, 0, 0; 0, 1, 0; 0, 0, 1", 0o444)
    idx = {"anglvel_x": 4, "anglvel_y": 5, "anglvel_z": 6,
           "accel_x": 7, "accel_y": 8, "accel_z": 9}
    for chan, si in idx.items():
        scale = ascale if chan.startswith("accel") else gscale
        first = rec.column(IMU_COLUMNS[chan])[0]
        write_attr(os.path.join(d, "in_%s_raw" % chan), int(round(first / float(scale))))
        add_scan_element(d, chan, si, "le:s16/16>>0")
    add_scan_element(d, "timestamp", 10, "le:s64/64>>0")
    return {"id": "iio:device%d" % index, "name": IMU_NAME, "label": "imu",
            "channels": sorted(idx, key=idx.get) + ["timestamp"],
            "accel_scale": ascale, "anglvel_scale": gscale}


def build_tree(tree, rec, emg_scale="0.000100", per_channel_scale=False,
               emg_channels=None, imu=True):
    os.makedirs(tree, exist_ok=True)
    nchan = emg_channels or len(rec.emg_columns)
    devices = [build_emg(tree, rec, 0, nchan, emg_scale, per_channel_scale)]
    if imu and rec.has_imu:
        devices.append(build_imu(tree, rec, 1))
    return {"tree": tree, "rate_hz": rec.rate, "samples": int(rec.data.shape[0]),
            "devices": devices}


# --------------------------------------------------------------------------
# Scan layout (what a reader enabled)

TYPE_RE = re.compile(r"^(le|be):([su])(\d+)/(\d+)(?:X(\d+))?>>(\d+)$")


class Element:
    def __init__(self, chan, index, fmt):
        m = TYPE_RE.match(fmt)
        if not m:
            raise ValueError("bad scan element type %r for %s" % (fmt, chan))
        self.chan = chan
        self.index = index
        self.big = m.group(1) == "be"
        self.signed = m.group(2) == "s"
        self.bits = int(m.group(3))
        self.storage = int(m.group(4))
        self.repeat = int(m.group(5) or 1)
        self.shift = int(m.group(6))
        self.nbytes = self.storage // 8
        self.offset = 0  # in the scan, set by layout()


def read_text(path):
    with open(path, "rb") as f:
        return f.read().replace(b"\0", b"").decode().strip()


def read_layout(devdir):
    """Enabled scan elements in index order, offsets, and the scan size.

    Natural alignment, and the scan padded to its largest element, as the
    kernel does (libiio 0.24 computes the same size whenever the largest
    element is the last one, e.g. the timestamp)."""
    se = os.path.join(devdir, "scan_elements")
    elems = []
    for fn in os.listdir(se):
        if not fn.endswith("_en"):
            continue
        chan = fn[len("in_"):-len("_en")]
        if read_text(os.path.join(se, fn)) != "1":
            continue
        index = int(read_text(os.path.join(se, "in_%s_index" % chan)), 0)
        fmt = read_text(os.path.join(se, "in_%s_type" % chan))
        elems.append(Element(chan, index, fmt))
    elems.sort(key=lambda e: e.index)
    off = 0
    largest = 1
    for e in elems:
        if e.repeat != 1:
            raise ValueError("repeated scan elements are not supported (%s)" % e.chan)
        off = (off + e.nbytes - 1) // e.nbytes * e.nbytes
        e.offset = off
        off += e.nbytes
        largest = max(largest, e.nbytes)
    size = (off + largest - 1) // largest * largest if elems else 0
    return elems, size


def chan_attr(devdir, chan, attr, default=None):
    """in_<chan>_<attr>, else the type-wide in_<type>_<attr>."""
    typ = re.sub(r"(\d+|_[xyz])$", "", chan)
    for fn in ("in_%s_%s" % (chan, attr), "in_%s_%s" % (typ, attr)):
        p = os.path.join(devdir, fn)
        if os.path.exists(p):
            return float(read_text(p))
    return default


def column_for(rec, chan):
    """Recording values of a channel in IIO ABI units, or None (zeros)."""
    m = re.match(r"^voltage(\d+)$", chan)
    if m:
        emg = rec.emg_columns
        n = int(m.group(1))
        if n >= len(emg):
            return None
        return rec.column(emg[n]) * rec.emg_to_uv_factor() / 1000.0  # mV
    if chan in IMU_COLUMNS and IMU_COLUMNS[chan] in rec.columns:
        return rec.column(IMU_COLUMNS[chan])
    return None


def pack_recording(rec, devdir, elems, size, unused_bits="sign"):
    """All samples of the recording as scans (uint8, shape (N, size)), with
    the timestamp bytes left 0; returns (scans, timestamp element or None)."""
    n = rec.data.shape[0]
    out = np.zeros((n, size), dtype=np.uint8)
    ts = None
    for e in elems:
        if e.chan == "timestamp":
            ts = e
            continue
        values = column_for(rec, e.chan)
        if values is None:
            raw = np.zeros(n, dtype=np.int64)
        else:
            scale = chan_attr(devdir, e.chan, "scale", 1.0)
            offset = chan_attr(devdir, e.chan, "offset", 0.0)
            raw = np.rint(values / scale - offset).astype(np.int64)
        if e.signed:
            lo, hi = -(1 << (e.bits - 1)), (1 << (e.bits - 1)) - 1
        else:
            lo, hi = 0, (1 << e.bits) - 1
        raw = np.clip(raw, lo, hi)
        if e.signed and unused_bits == "sign":
            word = raw                              # sign-extended above realbits
        else:
            word = raw & ((1 << e.bits) - 1)        # realbits only, rest zero
        word = word << e.shift
        if e.storage < 64:
            word = word & ((1 << e.storage) - 1)
        dt = np.dtype("%su%d" % (">" if e.big else "<", e.nbytes))
        out[:, e.offset:e.offset + e.nbytes] = \
            word.view(np.uint64).astype(dt).view(np.uint8).reshape(n, e.nbytes)
    return out, ts


# --------------------------------------------------------------------------
# Feeder


class Unplugged(Exception):
    pass


class Feeder:
    def __init__(self, args):
        self.args = args
        self.devdir = os.path.join(args.tree, "iio:device%d" % args.device)
        self.node = args.dev_node or "/dev/iio:device%d" % args.device
        self.enable_path = os.path.join(self.devdir, "buffer", "enable")
        self.rec = read_recording(args.recording)
        self.t_start = time.monotonic()
        self.t_first_stream = None
        self.seen_enable = self.enable_stamp()
        self.stop = False
        self.dropped = 0

    # -- enable file --------------------------------------------------------

    def enable_stamp(self):
        try:
            st = os.stat(self.enable_path)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_ino, st.st_size)

    def enabled(self):
        try:
            return read_text(self.enable_path) == "1"
        except FileNotFoundError:
            return False

    # -- unplug ----------------------------------------------------------------

    def unplug_due(self):
        a = self.args
        if a.unplug_after is None:
            return None
        base = self.t_start if a.unplug_clock == "start" else self.t_first_stream
        if base is None:
            return None
        return base + a.unplug_after

    def check_unplug(self):
        due = self.unplug_due()
        if due is not None and time.monotonic() >= due:
            raise Unplugged()

    def do_unplug(self, fd):
        if self.args.replug_after is not None:
            # Keep the device's attributes aside (a dot name, which libiio's
            # scan of iio:device* skips) to plug the same device back in.
            self.parked = os.path.join(os.path.dirname(self.devdir), ".unplugged-" + os.path.basename(self.devdir))
            shutil.rmtree(self.parked, ignore_errors=True)
            os.rename(self.devdir, self.parked)
        shutil.rmtree(self.devdir, ignore_errors=True)
        try:
            os.unlink(self.node)
        except FileNotFoundError:
            pass
        if fd is not None:
            os.close(fd)
        log("iio:device%d unplugged" % self.args.device)

    def replug(self):
        """The device comes back: same attributes, a fresh device node, buffer off."""
        os.rename(self.parked, self.devdir)
        write_attr(self.enable_path, "0")
        os.mkfifo(self.node, 0o660)
        self.args.unplug_after = None
        self.t_first_stream = None
        log("iio:device%d plugged back in" % self.args.device)

    def sleep_until(self, deadline):
        """Sleep, but no further than the unplug time."""
        due = self.unplug_due()
        if due is not None:
            deadline = min(deadline, due)
        d = deadline - time.monotonic()
        if d > 0:
            time.sleep(d)

    # -- main loop -------------------------------------------------------------

    def wait_for_session(self):
        """Wait for a new "1" in buffer/enable and a reader on the FIFO.
        Returns the FIFO's write end (non-blocking)."""
        stale_since = None
        while not self.stop:
            self.check_unplug()
            stamp = self.enable_stamp()
            if stamp is not None and stamp != self.seen_enable and self.enabled():
                try:
                    fd = os.open(self.node, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
                except OSError as e:
                    if e.errno not in (errno.ENXIO, errno.ENOENT):
                        raise
                    # enabled, but nobody has the FIFO open (yet)
                    now = time.monotonic()
                    stale_since = stale_since or now
                    if now - stale_since > 2.0:
                        log("buffer enabled but no reader on %s; ignoring this enable" % self.node)
                        self.seen_enable = stamp
                        stale_since = None
                    self.sleep_until(time.monotonic() + 0.002)
                    continue
                self.seen_enable = stamp
                return fd
            stale_since = None
            self.sleep_until(time.monotonic() + 0.002)
        return None

    def end_session(self, fd):
        """Drop what the reader left in the pipe, then close our end, so the
        next reader starts on an empty pipe."""
        try:
            r = os.open("/proc/self/fd/%d" % fd, os.O_RDONLY | os.O_NONBLOCK)
            try:
                while os.read(r, 1 << 16):
                    pass
            except BlockingIOError:
                pass
            finally:
                os.close(r)
        except OSError:
            pass
        os.close(fd)

    def session(self, fd):
        a = self.args
        elems, size = read_layout(self.devdir)
        if not elems:
            log("buffer enabled with no scan element enabled")
            return
        scans, ts = pack_recording(self.rec, self.devdir, elems, size, a.unused_bits)
        n = scans.shape[0]
        rate = self.rec.rate
        speed = a.speed
        log("iio:device%d: streaming %s (%d bytes/scan) at %g x %g Hz"
            % (a.device, ",".join(e.chan for e in elems), size, speed, rate))
        if a.overflow == "drop":
            try:
                length = int(read_text(os.path.join(self.devdir, "buffer", "length")))
                fcntl.fcntl(fd, F_SETPIPE_SZ, max(4096, length * size))
            except (OSError, ValueError):
                pass
        t0 = time.monotonic()
        t0_real = time.time_ns()
        if self.t_first_stream is None:
            self.t_first_stream = t0
        period_ns = 1e9 / rate
        # One write() per chunk of at most PIPE_BUF bytes: such writes are
        # atomic, so a reader never sees part of a scan.
        chunk_max = max(1, 4096 // size)
        # Like the kernel, whose poll() reports POLLIN only once `watermark`
        # scans are queued, release scans in batches of the watermark that
        # the reader wrote (libiio writes the buffer's sample count there).
        try:
            wm = int(read_text(os.path.join(self.devdir, "buffer", "watermark")))
        except (OSError, ValueError):
            wm = 1
        wm = max(1, min(wm, n))
        i = 0           # next scan to produce (stream index)
        target = 0      # produce up to this scan without waiting again
        pending = b""   # bytes of scans produced but not yet accepted by the pipe
        written = 0     # bytes accepted by the pipe in this session
        poller = select.poll()       # room in the pipe (or no reader)
        poller.register(fd, select.POLLOUT)
        errpoll = select.poll()      # only POLLERR: the reader closed the FIFO
        errpoll.register(fd, 0)
        while not self.stop:
            self.check_unplug()
            if self.enable_stamp() != self.seen_enable:
                return  # buffer/enable rewritten: the reader closed or restarted
            if i >= n and a.end != "loop" and not pending:
                if a.end == "unplug":
                    raise Unplugged()
                # "stop": the device stops producing; the reader times out.
                if errpoll.poll(20):
                    return
                continue
            if not pending:
                if i >= target:
                    if speed > 0:
                        due = int((time.monotonic() - t0) * rate * speed) + 1
                        batch_end = i + wm
                        if a.end != "loop":
                            batch_end = min(batch_end, n)
                        if due < batch_end:
                            # wait for the batch's last scan, but wake up on POLLERR
                            next_t = t0 + (batch_end - 1) / (rate * speed)
                            wait_ms = max(0, min(20, (next_t - time.monotonic()) * 1000))
                            due_u = self.unplug_due()
                            if due_u is not None:
                                wait_ms = max(0, min(wait_ms, (due_u - time.monotonic()) * 1000))
                            if errpoll.poll(wait_ms):
                                return
                            continue
                        target = due
                    else:
                        target = i + chunk_max
                    if a.end != "loop":
                        target = min(target, n)
                count = min(target - i, chunk_max)
                idx = np.arange(i, i + count)
                block = scans[idx % n].copy()
                if ts is not None:
                    stamps = (np.rint(idx * period_ns).astype(np.int64) + t0_real).astype("<i8")
                    if ts.big:
                        stamps = stamps.astype(">i8")
                    block[:, ts.offset:ts.offset + 8] = stamps.view(np.uint8).reshape(count, 8)
                pending = block.tobytes()
                i += count
            drop = a.overflow == "drop" and speed > 0
            try:
                w = os.write(fd, pending)
            except BlockingIOError:
                w = 0
            except BrokenPipeError:
                return
            pending = pending[w:]
            written += w
            if pending and drop:
                # The kernel buffer is full: drop the scans that did not fit,
                # but finish a scan that was cut in two, or the stream would
                # lose its alignment.
                keep = -written % size
                if len(pending) > keep:
                    self.dropped += (len(pending) - keep) // size
                    pending = pending[:keep]
            if pending:
                ev = poller.poll(20)
                if any(e & select.POLLERR for _, e in ev):
                    return

    def run(self):
        if self.args.ready_file:
            with open(self.args.ready_file, "w") as f:
                f.write("%d\n" % os.getpid())
        while not self.stop:
            fd = None
            try:
                while not self.stop:
                    fd = self.wait_for_session()
                    if fd is None:
                        break
                    self.dropped = 0
                    self.session(fd)
                    self.end_session(fd)
                    fd = None
                    log("iio:device%d: session ended%s" % (
                        self.args.device,
                        ", %d scans dropped (reader too slow)" % self.dropped if self.dropped else ""))
                return 0
            except Unplugged:
                self.do_unplug(fd)
                if self.args.replug_after is None:
                    return 0
                time.sleep(self.args.replug_after)
                self.replug()
        return 0


def set_pdeathsig():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except OSError:
        pass


# --------------------------------------------------------------------------
# CLI


def cmd_build(a):
    rec = read_recording(a.recording)
    summary = build_tree(a.tree, rec, emg_scale=a.emg_scale,
                         per_channel_scale=a.per_channel_scale,
                         emg_channels=a.emg_channels, imu=not a.no_imu)
    json.dump(summary, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


def cmd_feed(a):
    if a.die_with_parent:
        set_pdeathsig()
    feeder = Feeder(a)

    def on_signal(signum, frame):
        feeder.stop = True
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return feeder.run()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    b = sub.add_parser("build", help="write the fake sysfs tree")
    b.add_argument("--tree", required=True, help="directory for iio:deviceN (becomes /sys/bus/iio/devices)")
    b.add_argument("--recording", required=True)
    b.add_argument("--emg-scale", default="0.000100", help="mV per LSB (default 0.000100 = 0.1 uV)")
    b.add_argument("--per-channel-scale", action="store_true",
                   help="in_voltageN_scale per channel instead of a shared in_voltage_scale")
    b.add_argument("--emg-channels", type=int, default=None,
                   help="number of voltage channels (default: the recording's emg_* columns; extra ones read 0)")
    b.add_argument("--no-imu", action="store_true", help="no bmi160 even if the recording has IMU columns")
    b.set_defaults(func=cmd_build)

    f = sub.add_parser("feed", help="play a recording into /dev/iio:deviceN")
    f.add_argument("--tree", required=True)
    f.add_argument("--device", type=int, required=True)
    f.add_argument("--recording", required=True)
    f.add_argument("--speed", type=float, default=1.0, help="1 = real time, 2 = twice as fast, 0 = as fast as the reader takes it")
    f.add_argument("--unplug-after", type=float, default=None, metavar="SECONDS")
    f.add_argument("--replug-after", type=float, default=None, metavar="SECONDS",
                   help="after an unplug, plug the same device back in after SECONDS")
    f.add_argument("--unplug-clock", choices=("stream", "start"), default="stream",
                   help="count --unplug-after from the first buffer enable (default) or from the feeder's start")
    f.add_argument("--end", choices=("loop", "stop", "unplug"), default="loop",
                   help="at the end of the recording: start over (timestamps keep going), stop producing, or unplug")
    f.add_argument("--overflow", choices=("block", "drop"), default="block",
                   help="when the reader lags: wait for it (lossless, default) or drop scans like a full kernel buffer")
    f.add_argument("--unused-bits", choices=("sign", "zero"), default="sign",
                   help="storage bits above realbits: sign extension (default) or zero")
    f.add_argument("--dev-node", default=None, help="FIFO path (default /dev/iio:deviceN)")
    f.add_argument("--ready-file", default=None, help="written once the recording is loaded")
    f.add_argument("--die-with-parent", action="store_true", help="PR_SET_PDEATHSIG=SIGTERM")
    f.set_defaults(func=cmd_feed)

    a = p.parse_args(argv)
    try:
        return a.func(a)
    except RecordingError as e:
        print(e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
