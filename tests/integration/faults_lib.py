#!/usr/bin/python3
"""Shared by faults_dbus.py and faults_iio.py, the scripts of
tests/integration/test-faults.sh: processes that die with the script, the
event history file (daemon/history.h) read and written from Python, the
reference events of `spasmctl analyze`, and the comparison of what the daemon
announced with them."""

import ctypes
import json
import os
import signal
import struct
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from busclient import crashed, exit_status, reap  # noqa: E402

HEADER_SIZE = 24            # daemon/history.h
FRAME_HEAD = 12
PAYLOAD_V1 = 128
RECORD_SIZE = FRAME_HEAD + PAYLOAD_V1
RECORD_MAGIC = 0x5CE57A9D
CLASSES = ["pending", "spasm", "twitch", "voluntary", "withdrawn"]     # enum spasm_class
POSTURES = ["unknown", "lying", "sitting", "standing"]                 # enum spasm_posture

PYTHON = "/usr/bin/python3"


# --- processes ---------------------------------------------------------------------------

procs = []


def die_with_parent():
    """In the child before exec: SIGTERM when this script dies, even by SIGKILL (a CI timeout)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)     # PR_SET_PDEATHSIG


def spawn(argv, **kw):
    p = subprocess.Popen(argv, preexec_fn=die_with_parent, **kw)
    procs.append(p)
    return p


def stop_all():
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        reap(p, 5)


def run(commands, a):
    """commands[a.cmd](a), with SIGTERM for an exit; a crash is a failed check; then stop_all().
    Returns the exit status: 1 if a check failed."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        commands[a.cmd](a)
    except Exception as e:
        crashed(a.cmd, e)
    finally:
        stop_all()
    return exit_status()


def wait_file(path, seconds):
    """Until path exists and is not empty (True), or `seconds` pass."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return True
        time.sleep(0.05)
    return False


def replace_file(path, body):
    """path holds body, all at once: written aside, then renamed over it."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(body)
    os.replace(tmp, path)


def head_lines(src, dst, n):
    """dst is the first n lines of src (a recording cut short: its header, then the rows)."""
    with open(src) as f, open(dst, "w") as g:
        for i, ln in enumerate(f):
            if i >= n:
                break
            g.write(ln)


# --- CRC-32C, reflected 0x82F63B78; vectorised over many buffers at once ------------

def _crc_table():
    t = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t[i] = c
    return t


CRC_TABLE = _crc_table()


def crc32c_rows(rows, crc=None):
    """CRC-32C of each row of a 2-D uint8 array; crc chains from earlier results (raw, not inverted)."""
    c = np.full(rows.shape[0], 0xFFFFFFFF, dtype=np.uint32) if crc is None else crc
    for k in range(rows.shape[1]):
        c = CRC_TABLE[(c ^ rows[:, k]) & 0xFF] ^ (c >> 8)
    return c


def crc32c(data):
    return int(~crc32c_rows(np.frombuffer(data, dtype=np.uint8).reshape(1, -1))[0] & 0xFFFFFFFF)


# --- the history file ----------------------------------------------------------------

def encode_header(id_floor):
    b = b"SPASMHIS" + struct.pack("<IQ", 1, id_floor)
    return b + struct.pack("<I", crc32c(b))


def encode_records(events):
    """events: dicts with id, onset_usec, duration_usec, class, posture, sensor, side and the floats.
    Returns the bytes of their v1 frames, one after the other."""
    n = len(events)
    buf = np.zeros((n, RECORD_SIZE), dtype=np.uint8)
    for i, e in enumerate(events):
        p = struct.pack("<QQQIII5f", e["id"], e["onset_usec"], e["duration_usec"], CLASSES.index(e["class"]),
                        POSTURES.index(e.get("posture", "unknown")), e.get("channel_mask", 1),
                        e.get("peak_uv", 50.0), e.get("mean_uv", 25.0), e.get("intensity", 5.0),
                        e.get("mvc_pct", -1.0), e.get("pulse_hz", 0.0))
        p += e["sensor"].encode().ljust(64, b"\0") + e.get("side", "left").encode().ljust(8, b"\0")
        assert len(p) == PAYLOAD_V1
        buf[i, :4] = np.frombuffer(struct.pack("<II", RECORD_MAGIC, PAYLOAD_V1), dtype=np.uint8)[:4]
        buf[i, 4:8] = np.frombuffer(struct.pack("<I", PAYLOAD_V1), dtype=np.uint8)
        buf[i, FRAME_HEAD:] = np.frombuffer(p, dtype=np.uint8)
    # The checksum covers the length field, then the payload.
    crc = crc32c_rows(buf[:, 4:8])
    crc = ~crc32c_rows(buf[:, FRAME_HEAD:], crc)
    buf[:, 8:12] = crc.astype("<u4").view(np.uint8).reshape(n, 4)
    return buf.tobytes()


def write_history(path, events):
    floor = max([e["id"] for e in events] or [0]) + 1
    with open(path, "wb") as f:
        f.write(encode_header(floor))
        f.write(encode_records(events))
        f.flush()
        os.fsync(f.fileno())


def read_history(path):
    """The sound v1 records of a history file, in file order, as dicts (no resync: the files read here are
    written by the daemon, and a bad record is reported as such)."""
    with open(path, "rb") as f:
        data = f.read()
    n = (len(data) - HEADER_SIZE) // RECORD_SIZE
    rows = np.frombuffer(data, dtype=np.uint8, count=n * RECORD_SIZE, offset=HEADER_SIZE).reshape(n, RECORD_SIZE)
    head = rows[:, :FRAME_HEAD].copy().view("<u4")
    crc = ~crc32c_rows(rows[:, FRAME_HEAD:], crc32c_rows(rows[:, 4:8]))
    good = (head[:, 0] == RECORD_MAGIC) & (head[:, 1] == PAYLOAD_V1) & (head[:, 2] == crc)
    out = []
    for i in range(n):
        if not good[i]:
            out.append({"corrupt_at": HEADER_SIZE + i * RECORD_SIZE})
            break
        payload = rows[i, FRAME_HEAD:].tobytes()
        f = struct.unpack_from("<QQQIII5f", payload)
        out.append({"id": f[0], "onset_usec": f[1], "duration_usec": f[2], "class": CLASSES[f[3]],
                    "posture": POSTURES[f[4]], "sensor": payload[56:120].rstrip(b"\0").decode(),
                    "side": payload[120:128].rstrip(b"\0").decode()})
    if len(data) > HEADER_SIZE + n * RECORD_SIZE and (not out or "corrupt_at" not in out[-1]):
        out.append({"corrupt_at": HEADER_SIZE + n * RECORD_SIZE})
    return out


# --- the reference: spasmctl analyze ---------------------------------------------------

def analyze(spasmctl, recording):
    out = subprocess.run([spasmctl, "analyze", "--json", recording], check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    return [e for e in map(json.loads, out.splitlines()) if e.get("type") != "summary"]


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def same_event(a, b, slack=0.06):
    """One event of --events=json against one of analyze: class, onset within one buffer, duration."""
    return a["type"] == b["type"] and abs(a["onset_s"] - b["onset_s"]) <= slack \
        and abs(a["duration_s"] - b["duration_s"]) <= slack


def brief(evs):
    return [(e["type"], round(e["onset_s"], 2), round(e["duration_s"], 2)) for e in evs]


def split_passes(live):
    """--events=json restarts its onset_s at every (re)connection: a drop in onset_s starts a new pass."""
    passes, prev = [[]], None
    for e in live:
        if prev is not None and e["onset_s"] < prev:
            passes.append([])
        passes[-1].append(e)
        prev = e["onset_s"]
    return passes
