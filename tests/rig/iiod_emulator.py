#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""An iiod (libiio 0.24 network protocol) on 127.0.0.1 that serves recordings
as IIO devices, for the real libiio `ip:` backend and for spasmd.

    python3 tests/rig/iiod_emulator.py --port 0 [--port-file FILE]
        --emg RECORDING.csv [--imu RECORDING.csv] [--speed 1.0] [--loop | --loops N]
        [--progress FILE] [--shared-clock] [--lockstep S] [--max-lag S]
        [--fault KIND[:ARG]]... [-v]

Prints "listening on 127.0.0.1:PORT" once ready; runs until SIGTERM/SIGINT and
then exits 0.

Devices:
  iio:device0  ads1298 (label emg): voltage0..N-1, one per emg_* column,
               le:s24/32>>0, scale 0.0001 mV (0.1 uV) per LSB, offset 0, and
               timestamp (le:S64/64>>0, ns, CLOCK_REALTIME at the buffer's
               OPEN + index / rate). Attribute sampling_frequency = rate_hz.
  iio:device1  bmi160 (label imu), when --imu is given or the EMG recording has
               the acc_/gyr_ columns: accel_x..z (scale 0.002394 m/s^2, the
               bmi160's +-8 g), anglvel_x..z (0.001065 rad/s, +-2000 dps),
               le:S16/16>>0, and timestamp. Above 400 Hz the recording is
               decimated by k = ceil(rate / 400) (every k-th row) and served
               at rate / k.
Writing sampling_frequency accepts the current value only (else -EINVAL).

Every buffer (OPEN) streams from the recording's first row, at rate x speed
samples per second (--speed 0: as fast as the client reads). At the end of
the recording the last short chunk is sent and READBUF then waits forever
(the client times out), unless --loop (data wraps, timestamps go on).
--loops N wraps too, but only until the recording has been served N times
over; then the stream ends as above (make soak: a long run from a short file).

--shared-clock: every buffer times its samples (pacing and timestamps) from
the first OPEN since start instead of its own, so that devices opened one
after the other stay in step at any --speed (a buffer opened later first
gets, at once, the samples it would have had by then).

--lockstep S: a buffer starts a chunk only if that chunk's first sample is
at most S seconds of recording time ahead of what every other open buffer
(of any client) has sent: devices read by different threads stay within S
plus a chunk of each other whatever the scheduling. A client that opens
two buffers but reads only one stalls it.

--max-lag S (--speed > 0): when a chunk goes out more than S wall seconds
after it was due (the emulator or the client was held up), the clock of
every buffer is held back by the excess, instead of catching up in a burst
of up to lateness x speed seconds of samples. Timestamps stay those of the
recording (no gap): the emulator's time just ran slower for a moment.

--progress FILE: about 5 times a second (and on exit), when something
changed, FILE is replaced by one JSON object: {"time": monotonic seconds,
"slip": --max-lag's hold-back so far, wall s, "devices": {"iio:device0":
{"rate": served Hz, "samples": recording rows per pass, "sent": samples
sent over every stream so far, "opens": buffers opened, "ended": streams
that reached their end, "max_late": the longest, in wall seconds, that a
chunk went out after it was due (with --speed > 0; it then goes out at
once: a burst)}, ...}}.

Faults (repeatable). Times count from the first OPEN since start, in wall
seconds, except drop, which is in recording time so that it is exact:
  disconnect:S        at S, reset every client connection (RST); keep
                      listening, so a reconnect works (once per fault).
  stall:S[:D]         from S to S+D (default: forever) READBUF sends nothing;
                      the socket stays open.
  garbage:S           the first READBUF started at or after S gets a non-numeric
                      length line instead of data (once per fault).
  drop:S:N            every stream skips the N samples starting at recording
                      time S: data and timestamps jump by N samples.
"""

import argparse
import errno
import json
import math
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iiod_proto as P  # noqa: E402

EMG_SCALE_MV = 0.0001          # mV per LSB: 0.1 uV
ACCEL_SCALE = 0.002394         # m/s^2 per LSB (bmi160, +-8 g)
ANGLVEL_SCALE = 0.001065       # rad/s per LSB (bmi160, +-2000 dps)
IMU_MAX_RATE = 400.0
MAX_CLIENTS = 64
MAX_PIECE_SAMPLES = 8192       # largest block packed and sent at once
MAX_WRITE_BYTES = 1 << 16
S24 = (-(1 << 23), (1 << 23) - 1)
S16 = (-(1 << 15), (1 << 15) - 1)


def log(msg):
    print(f"iiod-emulator: {msg}", file=sys.stderr, flush=True)


class Closed(Exception):
    """The peer closed its socket."""


class Aborted(Exception):
    """The server asked this connection to end (shutdown or a fault)."""


# --------------------------------------------------------------------------
# What is served

class Source:
    """One IIO device and its samples at the served rate.

    raw: {channel index: integer array}, one value per served sample;
    decim: recording rows per served sample; timestamps count recording rows,
    so t = t0 + served_index * decim / file_rate."""

    def __init__(self, device, raw, file_rate, decim, started):
        self.device = device
        self.raw = raw
        self.file_rate = file_rate
        self.decim = decim
        self.rate = file_rate / decim
        self.n = len(next(iter(raw.values())))
        self.ts_index = next(c.index for c in device.channels if c.id == "timestamp")
        self.started = started           # monotonic time of the server's start, for "raw"
        self.buffer_attrs = {"length": "1024", "watermark": "1"}
        self.open_count = 0
        self.opens = 0                   # buffers ever opened, for --progress
        self.sent = 0                    # samples ever sent, for --progress
        self.ended = 0                   # streams that reached their end, for --progress
        self.max_late = 0.0              # longest a chunk went out after it was due, s (--speed > 0)
        self.lock = threading.Lock()
        ns = 1e9 * decim / file_rate
        self.ns_per_sample = int(ns) if float(ns).is_integer() else ns

    def timestamps(self, t0_ns, idx):
        if isinstance(self.ns_per_sample, int):
            return t0_ns + idx * self.ns_per_sample
        return t0_ns + np.rint(idx * self.ns_per_sample).astype(np.int64)

    def now_row(self):
        return int((time.monotonic() - self.started) * self.rate) % self.n


def emg_source(rec, started):
    chans = []
    raw = {}
    for i, col in enumerate(rec.emg_columns):
        chans.append(P.Channel(f"voltage{i}", i, P.DataFormat(False, True, 24, 32), EMG_SCALE_MV,
                               {"offset": f"in_voltage{i}_offset", "raw": f"in_voltage{i}_raw",
                                "scale": f"in_voltage{i}_scale"}))
        uv = rec.column(col) * rec.emg_uv_factor
        raw[i] = np.clip(np.rint(uv * 10.0), *S24).astype(np.int32)   # 0.1 uV per LSB
    n = len(chans)
    chans.append(P.Channel("timestamp", n, P.DataFormat(False, True, 64, 64)))
    dev = P.Device("iio:device0", "ads1298", "emg", chans,
                   ["current_timestamp_clock", "sampling_frequency"],
                   ["data_available", "enable", "length", "watermark"])
    return Source(dev, raw, rec.rate_hz, 1, started)


def imu_source(rec, dev_id, started):
    decim = math.ceil(rec.rate_hz / IMU_MAX_RATE) if rec.rate_hz > IMU_MAX_RATE else 1
    chans, raw = [], {}
    spec = [("accel", "acc", ACCEL_SCALE), ("anglvel", "gyr", ANGLVEL_SCALE)]
    for kind, col, scale in spec:
        for axis in "xyz":
            i = len(chans)
            chans.append(P.Channel(f"{kind}_{axis}", i, P.DataFormat(False, True, 16, 16), scale,
                                   {"raw": f"in_{kind}_{axis}_raw", "scale": f"in_{kind}_scale"}))
            values = rec.column(f"{col}_{axis}")[::decim]
            raw[i] = np.clip(np.rint(values / scale), *S16).astype(np.int16)
    chans.append(P.Channel("timestamp", len(chans), P.DataFormat(False, True, 64, 64)))
    dev = P.Device(dev_id, "bmi160", "imu", chans,
                   ["current_timestamp_clock", "sampling_frequency"],
                   ["data_available", "enable", "length", "watermark"])
    return Source(dev, raw, rec.rate_hz, decim, started)


# --------------------------------------------------------------------------
# Faults

class Faults:
    def __init__(self, specs):
        self.disconnect = []     # seconds
        self.stall = []          # (start, duration or inf)
        self.garbage = []        # [seconds, fired]
        self.drop = []           # (seconds of recording, n)
        for spec in specs:
            self._add(spec)
        self.lock = threading.Lock()

    def _add(self, spec):
        kind, _, arg = spec.partition(":")
        parts = arg.split(":") if arg else []
        try:
            nums = [float(x) for x in parts]
        except ValueError:
            raise ValueError(f"--fault {spec}: arguments must be numbers") from None
        if any(x < 0 or not math.isfinite(x) for x in nums):
            raise ValueError(f"--fault {spec}: arguments must be finite and >= 0")
        if kind == "disconnect" and len(nums) == 1:
            self.disconnect.append(nums[0])
        elif kind == "stall" and len(nums) in (1, 2):
            self.stall.append((nums[0], nums[1] if len(nums) == 2 else math.inf))
        elif kind == "garbage" and len(nums) == 1:
            self.garbage.append([nums[0], False])
        elif kind == "drop" and len(nums) == 2 and nums[1] == int(nums[1]) and nums[1] >= 1:
            self.drop.append((nums[0], int(nums[1])))
        else:
            raise ValueError(f"--fault {spec}: expected disconnect:S, stall:S[:D], garbage:S or drop:S:N")


class Stream:
    """One open buffer: which channels, where in the recording, and when each
    sample becomes available."""

    def __init__(self, src, bits, samples_count, speed, loop, drops, loops=0):
        self.src = src
        self.bits = bits
        self.channels = [c for c in src.device.channels if c.index in bits]
        self.dtype = P.packer(self.channels)
        self.sample_size = self.dtype.itemsize
        self.samples_count = samples_count
        self.speed = speed
        self.loop = loop
        self.loops = loops               # > 0: end after this many passes (--loops)
        self.ended = False
        self.t_open = time.monotonic()
        self.t0_ns = time.time_ns()
        self.pos = 0
        # [first skipped served index, count], sorted
        self.drops = sorted([round(s * src.rate), n] for s, n in drops)

    def plan(self, n):
        """Indices of the next n samples (fewer at the end of a recording)."""
        extra = sum(k for j, k in self.drops if j + k > self.pos)
        idx = self.pos + np.arange(n + extra, dtype=np.int64)
        keep = np.ones(len(idx), dtype=bool)
        for j, k in self.drops:
            keep &= (idx < j) | (idx >= j + k)
        idx = idx[keep][:n]
        if self.loops > 0:
            idx = idx[idx < self.src.n * self.loops]
        elif not self.loop:
            idx = idx[idx < self.src.n]
        return idx

    def ready_at(self, idx):
        if self.speed == 0:
            return self.t_open
        return self.t_open + (int(idx[-1]) + 1) / (self.src.rate * self.speed)

    def take(self, idx):
        rows = idx % self.src.n
        cols = {}
        for c in self.channels:
            if c.index == self.src.ts_index:
                cols[f"c{c.index}"] = self.src.timestamps(self.t0_ns, idx)
            else:
                cols[f"c{c.index}"] = self.src.raw[c.index][rows]
        self.pos = int(idx[-1]) + 1
        self.drops = [d for d in self.drops if d[0] + d[1] > self.pos]
        return P.pack(self.dtype, cols)


# --------------------------------------------------------------------------
# One client connection

class Connection(threading.Thread):
    def __init__(self, server, sock, peer):
        super().__init__(daemon=True, name=f"conn-{peer[1]}")
        self.server = server
        self.sock = sock
        self.peer = f"{peer[0]}:{peer[1]}"
        self.rbuf = bytearray()
        self.discarding = False     # inside an overlong line
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.aborted = False
        self.reset = False          # close with RST
        self.streams = {}           # device id -> Stream
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # --- control from other threads
    def abort(self, reset=False):
        self.reset = self.reset or reset
        self.aborted = True
        try:
            os.write(self.wake_w, b"x")
        except OSError:
            pass

    # --- waiting, reading, writing
    def _wait(self, events, deadline):
        """Until the socket has `events`, the wake pipe fires (-> Aborted) or
        the monotonic deadline passes (None: never). True if the socket."""
        p = select.poll()
        p.register(self.sock, events)
        p.register(self.wake_r, select.POLLIN)
        while True:
            if self.aborted:
                raise Aborted()
            if deadline is None:
                timeout = None
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                timeout = max(1, math.ceil(left * 1000))
            for fd, _ in p.poll(timeout):
                if fd == self.wake_r:
                    raise Aborted()
                return True

    def _wait_hangup(self, deadline):
        """Sleep until deadline while watching only for the peer leaving, as
        iiod does during READBUF (POLLRDHUP); bytes the client sends meanwhile
        stay unread."""
        if self._wait(select.POLLRDHUP, deadline):
            raise Closed()

    def read_line(self):
        """The next command line; an overlong one is dropped and raises
        ProtoError(EINVAL) once its end arrives."""
        while True:
            nl = self.rbuf.find(b"\n")
            if nl >= 0:
                line = bytes(self.rbuf[:nl])
                del self.rbuf[:nl + 1]
                if self.discarding:
                    self.discarding = False
                    raise P.ProtoError(errno.EINVAL, "line too long")
                return line.decode("latin-1").rstrip("\r")
            if len(self.rbuf) > P.MAX_LINE:
                self.discarding = True
                self.rbuf.clear()
            self._recv_some()

    def read_exact(self, n):
        while len(self.rbuf) < n:
            self._recv_some()
        data = bytes(self.rbuf[:n])
        del self.rbuf[:n]
        return data

    def _recv_some(self):
        self._wait(select.POLLIN, None)
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        if not data:
            raise Closed()
        self.rbuf += data

    def send(self, data):
        view = memoryview(data)
        while view:
            try:
                n = self.sock.send(view)
                view = view[n:]
            except BlockingIOError:
                self._wait(select.POLLOUT, None)

    # --- main loop
    def run(self):
        why = "closed by the client"
        try:
            while not self.aborted:
                try:
                    line = self.read_line()
                except P.ProtoError as e:      # overlong line
                    self.send(P.reply(-e.errno))
                    continue
                if self.server.verbose:
                    log(f"{self.peer} < {line!r}")
                try:
                    cmd = P.parse_command(line)
                except P.ProtoError as e:
                    self.send(P.reply(-e.errno))
                    continue
                if cmd is None:
                    continue
                if cmd.op == "EXIT":
                    why = "EXIT"
                    break
                self.dispatch(cmd)
        except Closed as e:
            if e.args:
                why = f"dropped after {e.args[0]}"
        except Aborted:
            why = "reset (fault)" if self.reset else "server stopping"
        except OSError as e:
            why = f"socket error: {e}"
        finally:
            self.server.forget(self)
            if self.reset:
                try:
                    self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            self.sock.close()
            os.close(self.wake_r)
            os.close(self.wake_w)
            if self.server.verbose or self.streams:
                log(f"{self.peer}: connection ended ({why})")

    def dispatch(self, cmd):
        srv = self.server
        op = cmd.op
        if op == "VERSION":
            self.send(P.version_line().encode())
        elif op == "PRINT":
            self.send(P.reply(len(srv.xml)) + srv.xml + b"\n")
        elif op == "HELP":
            self.send(P.HELP_TEXT.encode())
        elif op == "ZPRINT":
            self.send(P.reply(-errno.EINVAL))
        elif op == "TIMEOUT":
            self.send(P.reply(0))
        elif op == "OPEN":
            self.send(P.reply(self.open(cmd)))
        elif op == "CLOSE":
            self.send(P.reply(self.close(cmd)))
        elif op == "READBUF":
            self.readbuf(cmd)
        elif op == "WRITEBUF":
            # Input devices only; the client would stream its payload right
            # after the line without waiting, so the connection cannot go on.
            src = srv.find(cmd.dev)
            self.send(P.reply(-errno.ENODEV if src is None else
                              -errno.EBADF if src.device.id not in self.streams else -errno.ENOSYS))
            raise Closed("WRITEBUF")
        elif op == "READ":
            self.send(self.read_attr(cmd))
        elif op == "WRITE":
            if cmd.num > MAX_WRITE_BYTES:
                self.send(P.reply(-errno.EFBIG))
                raise Closed("WRITE too long")
            payload = self.read_exact(cmd.num)
            self.send(P.reply(self.write_attr(cmd, payload)))
        elif op == "GETTRIG":
            self.send(P.reply(-errno.ENODEV if srv.find(cmd.dev) is None else -errno.ENOENT))
        elif op == "SETTRIG":
            self.send(P.reply(-errno.ENODEV if srv.find(cmd.dev) is None else -errno.ENOENT))
        elif op == "SET":
            if srv.find(cmd.dev) is None:
                self.send(P.reply(-errno.ENODEV))
            else:
                self.send(P.reply(0 if cmd.num >= 1 else -errno.EINVAL))
        else:
            self.send(P.reply(-errno.EINVAL))

    # --- buffers
    def open(self, cmd):
        src = self.server.find(cmd.dev)
        if src is None:
            return -errno.ENODEV
        dev = src.device
        try:
            bits = P.parse_mask(cmd.mask, len(dev.channels))
        except P.ProtoError as e:
            return -e.errno
        if not bits or cmd.num <= 0:
            return -errno.EINVAL
        if dev.id in self.streams:
            return -errno.EBUSY
        self.server.streaming_started()
        st = Stream(src, bits, cmd.num, self.server.speed, self.server.loop, self.server.faults.drop,
                    self.server.loops)
        if self.server.shared_clock:
            st.t_open, st.t0_ns = self.server.clock0
        self.streams[dev.id] = st
        with src.lock:
            src.open_count += 1
            src.opens += 1
            src.buffer_attrs["length"] = str(cmd.num)
        log(f"{self.peer}: OPEN {dev.name} {cmd.num} samples, channels "
            f"{' '.join(c.id for c in st.channels)} ({st.sample_size} bytes per sample)")
        return 0

    def close(self, cmd):
        src = self.server.find(cmd.dev)
        if src is None:
            return -errno.ENODEV
        if self.streams.pop(src.device.id, None) is None:
            return -errno.ENXIO
        with src.lock:
            src.open_count -= 1
        return 0

    def readbuf(self, cmd):
        srv = self.server
        src = srv.find(cmd.dev)
        if src is None:
            self.send(P.reply(-errno.ENODEV))
            return
        st = self.streams.get(src.device.id)
        if st is None:
            self.send(P.reply(-errno.EBADF))
            return
        ss = st.sample_size
        if cmd.num < ss:
            self.send(P.reply(0))
            return
        if srv.claim_garbage():
            log(f"{self.peer}: fault: garbage reply to READBUF")
            self.send(b"iiod-emulator-garbage\n")
            return
        total = cmd.num // ss
        sent = 0
        mask = (P.format_mask(st.bits, len(src.device.channels)) + "\n").encode()
        while sent < total:
            idx = st.plan(min(total - sent, st.samples_count, MAX_PIECE_SAMPLES))
            if len(idx) == 0:                  # end of the recording
                if not st.ended:
                    st.ended = True
                    with src.lock:
                        src.ended += 1
                if sent:
                    break
                log(f"{self.peer}: end of the recording; READBUF waits")
                self._wait_hangup(None)
            if srv.lockstep > 0:
                self.wait_lockstep(st, int(idx[0]))
            while True:
                ready_at = st.ready_at(idx) + srv.slip
                self.wait_ready(ready_at)
                if time.monotonic() >= st.ready_at(idx) + srv.slip:
                    break                      # else the clock was held back meanwhile
            if st.speed > 0:
                late = time.monotonic() - ready_at
                if late > src.max_late:
                    src.max_late = late
                if srv.max_lag > 0 and late > srv.max_lag:
                    with srv.lock:
                        srv.slip += late - srv.max_lag
            data = st.take(idx)
            head = P.reply(len(data)) + (mask if sent == 0 else b"")
            self.send(head + data)
            sent += len(idx)
            with src.lock:
                src.sent += len(idx)
            if srv.lockstep > 0:
                with srv.step:
                    srv.step.notify_all()
        if sent * ss < cmd.num:
            self.send(P.reply(0))

    def wait_lockstep(self, st, first):
        """--lockstep: until sample `first` of st is at most lockstep seconds
        ahead of every other open, unfinished buffer."""
        srv = self.server
        t = first / st.src.rate
        while True:
            if self.aborted:
                raise Aborted()
            with srv.lock:
                others = [o for c in srv.conns for o in list(c.streams.values())]
            behind = [o.pos / o.src.rate for o in others if o is not st and not o.ended]
            if not behind or t <= min(behind) + srv.lockstep:
                return
            with srv.step:
                srv.step.wait(0.05)

    def wait_ready(self, ready_at):
        srv = self.server
        while True:
            now = time.monotonic()
            end = srv.stall_end(now)
            if end is not None:
                self._wait_hangup(None if end == math.inf else end)
                continue
            if now >= ready_at:
                return
            nxt = srv.next_stall(now)
            self._wait_hangup(ready_at if nxt is None else min(ready_at, nxt))

    # --- attributes
    def read_attr(self, cmd):
        srv = self.server
        src = srv.find(cmd.dev)
        if src is None:
            return P.reply(-errno.ENODEV)
        if cmd.kind in ("input", "output"):
            chn = src.device.find_channel(cmd.chn) if cmd.kind == "input" else None
            if chn is None:
                return P.reply(-errno.ENXIO)
            names = [cmd.attr] if cmd.attr else list(chn.attrs)
            getter = lambda a: srv.channel_attr(src, chn, a)   # noqa: E731
        else:
            names = [cmd.attr] if cmd.attr else srv.attr_names(src, cmd.kind)
            getter = lambda a: srv.device_attr(src, cmd.kind, a)   # noqa: E731
        if cmd.attr:
            try:
                return P.attr_reply(getter(cmd.attr))
            except P.ProtoError as e:
                return P.reply(-e.errno)
        values = []
        for a in names:
            try:
                values.append(getter(a))
            except P.ProtoError as e:
                values.append(-e.errno)
        blob = P.attrs_all_blob(values)
        return P.reply(len(blob)) + blob + b"\n"

    def write_attr(self, cmd, payload):
        srv = self.server
        src = srv.find(cmd.dev)
        if src is None:
            return -errno.ENODEV
        if cmd.attr is None:
            return -errno.ENOSYS
        value = payload.split(b"\0", 1)[0].decode("latin-1").strip()
        try:
            if cmd.kind in ("input", "output"):
                chn = src.device.find_channel(cmd.chn) if cmd.kind == "input" else None
                if chn is None:
                    return -errno.ENXIO
                srv.write_channel_attr(src, chn, cmd.attr, value)
            else:
                srv.write_device_attr(src, cmd.kind, cmd.attr, value)
        except P.ProtoError as e:
            return -e.errno
        return len(payload)


# --------------------------------------------------------------------------
# The server

class Server:
    def __init__(self, sources, speed, loop, faults, description, ctx_attrs, verbose, loops=0, progress=None):
        self.sources = sources
        self.speed = speed
        self.loop = loop
        self.loops = loops
        self.progress = progress
        self._progress_last = None
        self.faults = faults
        self.verbose = verbose
        self.xml = P.context_xml([s.device for s in sources], description, ctx_attrs).encode()
        self.conns = set()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.started = threading.Event()
        self.t_first_open = None
        self.shared_clock = False
        self.lockstep = 0.0              # s of recording time; 0: off
        self.max_lag = 0.0               # wall s; 0: off
        self.slip = 0.0                  # wall s every buffer's clock is held back (--max-lag)
        self.step = threading.Condition()   # a chunk went out (--lockstep)
        self.clock0 = None               # (monotonic, CLOCK_REALTIME ns) of the first OPEN

    # --- lookups
    def find(self, ident):
        for s in self.sources:
            if s.device.matches(ident):
                return s
        return None

    def forget(self, conn):
        with self.lock:
            self.conns.discard(conn)

    # --- fault timing (monotonic clock, from the first OPEN)
    def streaming_started(self):
        with self.lock:
            if self.t_first_open is None:
                self.t_first_open = time.monotonic()
                self.clock0 = (self.t_first_open, time.time_ns())
                self.started.set()

    def stall_end(self, now):
        if self.t_first_open is None:
            return None
        ends = [self.t_first_open + s + d for s, d in self.faults.stall
                if self.t_first_open + s <= now < self.t_first_open + s + d]
        return max(ends) if ends else None

    def next_stall(self, now):
        if self.t_first_open is None:
            return None
        starts = [self.t_first_open + s for s, _ in self.faults.stall if self.t_first_open + s > now]
        return min(starts) if starts else None

    def claim_garbage(self):
        if self.t_first_open is None:
            return False
        now = time.monotonic()
        with self.faults.lock:
            for g in self.faults.garbage:
                if not g[1] and now >= self.t_first_open + g[0]:
                    g[1] = True
                    return True
        return False

    def fault_thread(self):
        times = sorted(self.faults.disconnect)
        if not times:
            return
        self.started.wait()              # set by the first OPEN, or on stopping
        if self.stop.is_set():
            return
        for s in times:
            if self.stop.wait(max(0.0, self.t_first_open + s - time.monotonic())):
                return
            with self.lock:
                victims = list(self.conns)
            log(f"fault: disconnect, resetting {len(victims)} connection(s)")
            for c in victims:
                c.abort(reset=True)

    # --- attributes
    def attr_names(self, src, kind):
        d = src.device
        return {"device": d.attrs, "buffer": d.buffer_attrs, "debug": d.debug_attrs}[kind]

    def device_attr(self, src, kind, name):
        if name not in self.attr_names(src, kind):
            raise P.ProtoError(errno.ENOENT)
        if kind == "device":
            if name == "sampling_frequency":
                return P.format_rate(src.rate)
            if name == "current_timestamp_clock":
                return "realtime"
        if kind == "buffer":
            with src.lock:
                if name == "enable":
                    return "1" if src.open_count else "0"
                if name == "data_available":
                    return "0"
                return src.buffer_attrs[name]
        raise P.ProtoError(errno.ENOENT)

    def write_device_attr(self, src, kind, name, value):
        if name not in self.attr_names(src, kind):
            raise P.ProtoError(errno.ENOENT)
        if kind == "device":
            if name == "sampling_frequency" and P.same_number(value, src.rate):
                return
            if name == "current_timestamp_clock" and value == "realtime":
                return
            raise P.ProtoError(errno.EINVAL)
        if kind == "buffer":
            if name == "data_available":
                raise P.ProtoError(errno.EACCES)
            if name == "enable":
                if value not in ("0", "1"):
                    raise P.ProtoError(errno.EINVAL)
                return
            if not value.isdigit() or int(value) < 1:
                raise P.ProtoError(errno.EINVAL)
            with src.lock:
                src.buffer_attrs[name] = value
            return
        raise P.ProtoError(errno.ENOENT)

    def channel_attr(self, src, chn, name):
        if name not in chn.attrs:
            raise P.ProtoError(errno.ENOENT)
        if name == "raw":
            return str(int(src.raw[chn.index][src.now_row()]))
        if name == "scale":
            return f"{chn.scale:f}"
        if name == "offset":
            return "0"
        raise P.ProtoError(errno.ENOENT)

    def write_channel_attr(self, src, chn, name, value):
        if name not in chn.attrs:
            raise P.ProtoError(errno.ENOENT)
        if name == "raw":
            raise P.ProtoError(errno.EACCES)
        want = chn.scale if name == "scale" else 0.0
        if not P.same_number(value, want):
            raise P.ProtoError(errno.EINVAL)

    # --- --progress
    def write_progress(self):
        devices = {}
        for s in self.sources:
            with s.lock:
                devices[s.device.id] = {"rate": s.rate, "samples": s.n, "sent": s.sent, "opens": s.opens,
                                        "ended": s.ended, "max_late": round(s.max_late, 4)}
        state = {"slip": round(self.slip, 4), "devices": devices}
        if state == self._progress_last:
            return
        self._progress_last = state
        tmp = self.progress + ".tmp"
        try:
            with open(tmp, "w") as f:
                json.dump(dict(state, time=time.monotonic()), f)
                f.write("\n")
            os.replace(tmp, self.progress)
        except OSError as e:
            log(f"--progress {self.progress}: {e.strerror}")

    def progress_thread(self):
        while not self.stop.wait(0.2):
            self.write_progress()

    # --- serving
    def serve(self, lsock, wake_fd):
        threading.Thread(target=self.fault_thread, daemon=True, name="faults").start()
        if self.progress:
            self.write_progress()
            threading.Thread(target=self.progress_thread, daemon=True, name="progress").start()
        p = select.poll()
        p.register(lsock, select.POLLIN)
        p.register(wake_fd, select.POLLIN)
        while not self.stop.is_set():
            for fd, _ in p.poll():
                if fd == wake_fd:
                    try:
                        os.read(wake_fd, 256)
                    except BlockingIOError:
                        pass
                    continue
                try:
                    sock, peer = lsock.accept()
                except (BlockingIOError, ConnectionAbortedError):
                    continue
                with self.lock:
                    full = len(self.conns) >= MAX_CLIENTS
                    if not full:
                        conn = Connection(self, sock, peer)
                        self.conns.add(conn)
                if full:
                    log(f"refusing {peer[0]}:{peer[1]}: {MAX_CLIENTS} clients already")
                    sock.close()
                    continue
                if self.verbose:
                    log(f"{peer[0]}:{peer[1]}: connected")
                conn.start()
        lsock.close()
        self.started.set()               # release the fault thread
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            c.abort()
        for c in conns:
            c.join(timeout=2.0)
        if self.progress:
            self.write_progress()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free one)")
    ap.add_argument("--port-file", help="write the port number to this file once listening")
    ap.add_argument("--emg", required=True, help="recording v1 with emg_* columns")
    ap.add_argument("--imu", help="recording v1 with acc_*/gyr_* columns (default: the EMG one, if it has them)")
    ap.add_argument("--speed", type=float, default=1.0, help="real-time factor; 0: as fast as the client reads")
    ap.add_argument("--loop", action="store_true", help="wrap around at the end of the recording")
    ap.add_argument("--loops", type=int, default=0, metavar="N",
                    help="wrap around, but end after serving the recording N times over")
    ap.add_argument("--shared-clock", action="store_true",
                    help="time every buffer from the first OPEN, so that devices stay in step")
    ap.add_argument("--lockstep", type=float, default=0.0, metavar="S",
                    help="keep every buffer within S s of recording time of the others")
    ap.add_argument("--max-lag", type=float, default=0.0, metavar="S",
                    help="hold every buffer's clock back rather than send more than S s late in a burst")
    ap.add_argument("--progress", metavar="FILE", help="keep FILE up to date with the samples sent (JSON)")
    ap.add_argument("--fault", action="append", default=[], metavar="KIND[:ARG]",
                    help="disconnect:S, stall:S[:D], garbage:S, drop:S:N (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true", help="log every command")
    args = ap.parse_args(argv)

    if not 0 <= args.port <= 65535:
        ap.error("--port must be 0 to 65535")
    if not (args.speed >= 0 and math.isfinite(args.speed)):
        ap.error("--speed must be >= 0")
    if args.loops < 0:
        ap.error("--loops must be >= 1")
    if not (args.lockstep >= 0 and math.isfinite(args.lockstep)):
        ap.error("--lockstep must be >= 0")
    if not (args.max_lag >= 0 and math.isfinite(args.max_lag)):
        ap.error("--max-lag must be >= 0")
    try:
        faults = Faults(args.fault)
    except ValueError as e:
        ap.error(str(e))
    try:
        emg = P.load_recording(args.emg)
        imu = P.load_recording(args.imu) if args.imu else (emg if emg.has_imu else None)
    except P.RecordingError as e:
        log(str(e))
        return 2
    for rec in {id(r): r for r in (emg, imu) if r}.values():
        for w in rec.warnings:
            log(w)
    if not emg.emg_columns:
        log(f"{args.emg}: no emg_ columns to serve")
        return 2
    if args.imu and not imu.has_imu:
        log(f"{args.imu}: no acc_x..gyr_z columns to serve")
        return 2

    started = time.monotonic()
    sources = [emg_source(emg, started)]
    if imu:
        sources.append(imu_source(imu, "iio:device1", started))
    attrs = {"spasmd,emulator": "tests/rig/iiod_emulator.py",
             "spasmd,recording": os.path.basename(args.emg)}
    if args.imu:
        attrs["spasmd,imu-recording"] = os.path.basename(args.imu)
    for k, v in emg.meta.items():
        attrs[f"recording,{k}"] = v
    desc = f"spasmd iiod emulator: {os.path.basename(args.emg)}, {P.format_rate(emg.rate_hz)} Hz"
    server = Server(sources, args.speed, args.loop, faults, desc, attrs, args.verbose, args.loops, args.progress)
    server.shared_clock = args.shared_clock
    server.lockstep = args.lockstep
    server.max_lag = args.max_lag

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        lsock.bind(("127.0.0.1", args.port))
    except OSError as e:
        log(f"cannot listen on 127.0.0.1:{args.port}: {e.strerror}")
        return 1
    lsock.listen(16)
    lsock.setblocking(False)
    port = lsock.getsockname()[1]

    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)

    def on_signal(signum, frame):
        server.stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    for s in sources:
        d = s.device
        log(f"{d.id} {d.name}: {len(d.channels) - 1} channels + timestamp at "
            f"{P.format_rate(s.rate)} Hz, {s.n} samples"
            + (f" (recording decimated by {s.decim})" if s.decim > 1 else ""))
    server.serve(lsock, wake_r)
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
