#!/usr/bin/python3
"""Write the named seed inputs of tests/fuzz/corpus/ (seed-* files).

    tests/fuzz/make-seeds.py [--history FILE]

Seeds are real inputs, or inputs laid out the way each target reads its
bytes (tests/fuzz/fuzz-*.c), so that fuzzing starts from recordings,
configurations, history files, scan layouts, signals and D-Bus calls that
get deep into the code. --history takes a history a daemon wrote (make demo
leaves build/demo-state/events.log); without it one is built here the way
history-format.c encodes one. What fuzzing adds on top is merged into the
same directories by `tests/fuzz/run.sh merge build/fuzz TARGET...`.
"""

import argparse
import math
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# --- recording ---------------------------------------------------------------------

def recording_seeds():
    with open(os.path.join(ROOT, "tests", "data", "demo-lumbar.csv"), "rb") as f:
        head = b"".join(f.readline() for _ in range(40))
    write("recording", "demo-head", head)
    write("recording", "demo-head-crlf", head.replace(b"\n", b"\r\n"))
    write("recording", "imu-ts-mv",
          "# spasmd-recording v1\n# rate_hz=500\n# units=mV\n# note=seed\n"
          "t_s,emg_left,emg_right,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z,battery\n"
          "0.000,0.0125,-0.003,0.1,0.0,9.8,0.0,0.0,0.0,3.9\n"
          "0.002,0.0130,-0.002,0.1,0.0,9.8,0.01,0.0,0.0,3.9\n"
          "0.004,1e-3,2.5E-2,0,0,9.81,0,0,0,3.9")
    write("recording", "units-unknown",
          "# spasmd-recording v1\n# rate_hz=20000\n# units=counts\nemg_a\n1\n-2\n3\n")
    write("recording", "errors",
          "# spasmd-recording v1\n# rate_hz=1000\nemg_left,acc_x\n1,2\n")
    write("recording", "bom", "\ufeff# spasmd-recording v1\n# rate_hz=1000\nemg_x\n1\n")
    write("recording", "v2", "# spasmd-recording v2\n# rate_hz=1000\nemg_x\n1\n")
    write("recording", "nan-row", "# spasmd-recording v1\n# rate_hz=1000\nemg_x,emg_y\n1,nan\n")
    write("recording", "long-line",
          "# spasmd-recording v1\n# rate_hz=1000\nemg_x\n" + "1" * (64 * 1024 + 4) + "\n")
    cols = ",".join("emg_%d" % i for i in range(17))
    write("recording", "17-emg", "# spasmd-recording v1\n# rate_hz=1000\n" + cols + "\n")


# --- config ------------------------------------------------------------------------

def config_seeds():
    with open(os.path.join(ROOT, "conf", "spasmd.conf"), "rb") as f:
        write("config", "spasmd.conf", b"\0" + f.read())
    full = ("[daemon]\nmonitoring = no\n[history]\ndirectory = /var/lib/x\nmax_age_days = 30\n"
            "max_size_mb = 8\n[advisory]\nmax_spasms_per_day = 3\nmax_spasm_minutes = 2\ntrend = off\n"
            "[detector]\non_ratio = 5\noff_ratio = 2.5\nmin_on_s = 0.05\nmin_off_s = 0.3\nspasm_min_s = 1.5\n"
            "[sensor.lumbar]\nuri = local:   ; inline\ndevice = ads1298\n"
            "channels = voltage0:emg_left, voltage1:emg_right\nsample_rate = 1000\nbuffer_ms = 20\nrole = emg\n"
            "[sensor.imu]\nuri = ip:127.0.0.1:30431\ndevice = iio:device1\nrole = imu\n"
            "[sensor.replay]\nuri = replay:/tmp/x.csv\nspeed = 0\n")
    write("config", "full", "\0" + full)
    # Main file and drop-ins: "\n%%" starts a piece, whose first byte picks its kind.
    write("config", "dropins",
          "\0[detector]\non_ratio = 6\n"
          "\n%%0[detector]\noff_ratio = 3\n"
          "\n%%1[sensor.a]\nuri = usb:1.2.3\ndevice = d\n"
          "\n%%\x0d[detector]\nbogus = 1\n"          # hidden: ignored
          "\n%%\x0e[detector]\nbogus = 1\n"          # other suffix: ignored
          "\n%%\x0f")                                 # a directory named like a drop-in
    write("config", "dropin-error", "\x04[daemon]\n\n%%0[sensor.x]\nuri = local:\n")
    write("config", "missing-main", "\x03\n%%0[history]\nmax_age_days = 7\n")
    write("config", "errors", "\0[sensor.bad-name]\nuri = local:\n[detector]\non_ratio = 1e999\n")


# --- history -----------------------------------------------------------------------

def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


MAGIC = 0x5CE57A9D


def header(id_floor, version=1):
    b = b"SPASMHIS" + struct.pack("<IQ", version, id_floor)
    return b + struct.pack("<I", crc32c(b))


def record_frame(rid, onset, duration, **kw):
    """A whole frame: magic, length, CRC-32C of length and payload, the payload."""
    cls = kw.get("cls", 1)
    payload = struct.pack("<QQQIII5f", rid, onset, duration, cls, kw.get("posture", 1), kw.get("mask", 3),
                          120.5, 60.25, 7.5, -1.0, 0.0)
    payload += kw.get("sensor", b"lumbar").ljust(64, b"\0") + kw.get("side", b"both").ljust(8, b"\0")
    payload += kw.get("extra", b"")
    length = struct.pack("<I", len(payload))
    return struct.pack("<I", MAGIC) + length + struct.pack("<I", crc32c(length + payload)) + payload


def history_files(real):
    base = 1700000000 * 1000000
    made = header(1) + b"".join(
        record_frame(i, base + i * 3600 * 1000000, 1500000 + i * 1000, cls=1 + i % 4, posture=i % 4,
                     sensor=b"lumbar" if i % 3 else b"imu", side=[b"left", b"right", b"both", b"unknown"][i % 4])
        for i in range(1, 13))
    files = {"made": made}
    if real:
        files["daemon"] = real
    rs = 140
    files["torn-tail"] = made[:24 + 5 * rs + 77]
    files["torn-header"] = made[:13]
    files["header-only"] = made[:24]
    flipped = bytearray(made)
    flipped[24 + 3 * rs + 40] ^= 0x10          # a payload bit: that record is skipped
    files["flip-payload"] = bytes(flipped)
    flipped = bytearray(made)
    flipped[17] ^= 0x01                         # the header's id floor: checksum fails
    files["flip-header"] = bytes(flipped)
    flipped = bytearray(made)
    flipped[24 + 6 * rs + 4] ^= 0x02            # a length field
    files["flip-length"] = bytes(flipped)
    # a record magic with junk after it, between two sound records
    files["garbage-middle"] = made[:24 + 2 * rs] + b"\x9d\x7a\xe5\x5c" + b"junk" * 20 + made[24 + 2 * rs:]
    files["longer-payload"] = header(5) + record_frame(7, base, 10, extra=b"v2 fields" * 8)
    files["bad-class"] = header(1) + record_frame(3, base, 10, cls=9)
    files["version-2"] = header(1, version=2) + record_frame(1, base, 10)
    files["not-history"] = b"# spasmd-recording v1\n"
    return files


def history_seeds(real):
    for name, data in history_files(real).items():
        write("history-scan", name, data)
        # history-open: flags, retention (days), size limit (x 97 bytes), the file.
        write("history-open", name, bytes([0, 0, 0]) + data)
    files = history_files(real)
    write("history-open", "append-compact", bytes([4 | 8, 1, 5]) + files["made"] +
          bytes([1]) + struct.pack("<QI", 1700000000 * 1000000, 100))
    write("history-open", "tmp-left-busy", bytes([2 | 32 | 16, 0, 0]) + files["flip-payload"])
    write("history-open", "new", bytes([1 | 4, 0, 0]) + b"\x02" * 40)


# --- iio-format --------------------------------------------------------------------

def iio_element(col, be, signed, storage, bits, shift, repeat=1, fully=False, offset=None, scale=None):
    how = (1 if be else 0) | (2 if signed else 0) | (4 if fully else 0) | (64 if repeat != 1 else 0)
    b = bytes([col, how, storage // 8 - 1, (bits - 1) % storage, shift])
    if repeat != 1:
        b += bytes([repeat])
    # random_double(): < 128 the usual value, 128..249 a small int16 / (how - 127)
    b += bytes([0]) if offset is None else bytes([128]) + struct.pack("<h", offset)
    b += bytes([0]) if scale is None else bytes([130]) + struct.pack("<h", scale)
    return b


def iio_parse_part(fmt):
    s = fmt.encode()
    # fuzz_string: a length byte (mod 41), the bytes; then random_format fields and a word.
    return bytes([len(s)]) + s + bytes([2, 2, 11, 2]) + bytes(range(8))


def iio_seeds():
    # ADS1298-like: 8 x be:s24/32>>8, then the timestamp.
    els = b"".join(iio_element(0x00, True, True, 32, 24, 8, offset=-3, scale=7) for _ in range(8))
    els += bytes([0xf0]) + bytes([2, 7, 63, 0]) + bytes([0, 0])
    data = iio_parse_part("be:s24/32>>8") + bytes([9]) + els + bytes(range(256)) * 2
    write("iio-format", "ads1298", data)
    # an IMU: le:s16/16 accel and gyro, repeated X3, with a timestamp and a skipped channel
    els = iio_element(0x00, False, True, 16, 16, 0, repeat=3)
    els += iio_element(0xc0, False, False, 16, 12, 4)
    els += bytes([0xf0]) + bytes([2, 7, 63, 0]) + bytes([0, 0])
    data = iio_parse_part("le:s16/16X3>>0") + bytes([3]) + els + bytes(range(200))
    write("iio-format", "imu-repeat", data)
    # fully defined and 8-bit elements, unaligned sizes
    els = iio_element(0x00, False, False, 8, 8, 0, fully=True) + iio_element(0x00, True, True, 24, 20, 2)
    els += iio_element(0x00, False, True, 64, 64, 0, offset=100, scale=-3)
    data = iio_parse_part("le:U8/8>>0") + bytes([3]) + els + bytes(range(255, 0, -1))
    write("iio-format", "mixed", data)


# --- detector ----------------------------------------------------------------------

def level_code(uv):
    # level(code) = 10^(code/32 - 2) microvolts
    return max(0, min(255, round(32 * (math.log10(uv) + 2))))


def noise(frames, base_uv, burst_uv=0.01, mask=0, seed=1, mains=None, dc=None):
    # the kind in the low nibble (1: noise), flags in the high one
    op = 1
    if mains:
        op |= 0x80 | (0x40 if mains == 60 else 0)
    if dc is not None:
        op |= 0x20
    b = bytes([op, max(0, frames // 32 - 1), level_code(base_uv), level_code(burst_uv)]) + struct.pack("<H", mask)
    if mains:
        b += bytes([level_code(30)])
    if dc is not None:
        b += struct.pack("<h", dc)
    return b + struct.pack("<I", seed)


def det_header(rate, n_emg, imu=False, block=False, tunables=None):
    rate -= 200
    b = struct.pack("<H", rate) + bytes([0, n_emg - 1])
    flags = (1 if imu else 0) | (2 if block else 0) | (16 if tunables else 0)
    b += bytes([flags])
    if tunables:
        b += bytes(tunables)
    return b


def detector_seeds():
    def quiet(frames, seed, uv=5.0):
        return noise(frames, uv, seed=seed)

    # a spasm on two channels, then a twitch on one
    spasm = det_header(1000, 2) + quiet(3000, 1) + noise(1600, 5.0, 60.0, 0x3, seed=2) + quiet(1200, 3) + \
        noise(300, 5.0, 80.0, 0x1, seed=4) + quiet(800, 5) + bytes([8, 5])
    write("detector", "spasm-twitch", spasm)
    # IMU: a posture change and shaking with the burst (voluntary), then a rail, a gap, a rebaseline
    imu = det_header(600, 1, imu=True) + quiet(1800, 7) + bytes([9, 60]) + \
        noise(1000, 5.0, 70.0, 1, seed=8) + bytes([9, 0]) + quiet(700, 9) + \
        bytes([3, 20, 4]) + struct.pack("<H", 1) + bytes([4]) + struct.pack("<H", 500) + bytes([3]) + \
        quiet(1500, 10) + bytes([7, 6, 0, 100, 8])
    write("detector", "imu-voluntary", imu)
    # 16 channels through detector_push_block(), then raw NaN, infinity and -3.4e38 samples
    many = det_header(1000, 16, block=True) + quiet(2500, 3) + noise(750, 3.0, 40.0, 0xffff, seed=11) + \
        bytes([0, 2]) + struct.pack("<f", math.nan) * 16 + struct.pack("<f", math.inf) * 16 + \
        struct.pack("<f", -3.4e38) * 16 + quiet(500, 4) + bytes([5])
    write("detector", "16ch", many)
    # 4 kHz, mains hum at 50 Hz throughout
    fast = det_header(4000, 2) + noise(8000, 3.0, seed=21, mains=50) + noise(2000, 3.0, seed=22, mains=50) + \
        noise(3000, 3.0, 40.0, 0x2, seed=23, mains=50) + noise(2000, 3.0, seed=24, mains=50) + bytes([8, 5])
    write("detector", "4khz-mains", fast)
    # 200 Hz, tunables set, a DC offset and 60 Hz mains at rest
    low = det_header(200, 3, tunables=[23, 2, 5, 40, 20]) + noise(600, 8.0, seed=12, mains=60, dc=1000) + \
        noise(400, 8.0, 200.0, 0x5, seed=13, mains=60, dc=1000) + noise(400, 8.0, seed=14, mains=60, dc=1000) + \
        bytes([5])
    write("detector", "200hz-tunables", low)
    # rails: flat, +-3.3 V, infinity and NaN on some channels, then a burst again (FLT_MAX: see pending/)
    rails = det_header(1000, 4) + quiet(2500, 15)
    for v in (0, 1, 2, 6, 7):
        rails += bytes([3, 30, v]) + struct.pack("<H", 0x5)
    rails += quiet(2500, 16) + noise(1200, 5.0, 50.0, 0xf, seed=17) + quiet(800, 18)
    write("detector", "rails", rails)


# --- bus ---------------------------------------------------------------------------

def bus_call(member, path=0, op=0, body=b""):
    """op: bit 0x10 random interface, 0x20 random body, 0x40 destination :1.1; op % 8 < 6 is a call."""
    return bytes([op, path, member]) + body


def bus_seeds():
    get_events = bus_call(0, body=struct.pack("<Q", 0) + bytes([99, 3]) +
                          (bytes([1]) + struct.pack("<Q", 7) + bytes([1, 2]) + struct.pack("<QI", 1, 2) +
                           struct.pack("<ff", 10.0, 2.0) + bytes([0, 2])) * 3)
    write("bus", "get-events", get_events)
    write("bus", "get-events-limits", bus_call(0, body=bytes(8) + bytes([0])) +
          bus_call(0, body=bytes(8) + bytes([64])) + bus_call(0, body=bytes(8) + bytes([40]) + b"\xff\xff\xff\xff"))
    # Calibrate: started, a second one (Busy), then the end of the calibration with two levels
    cal = bus_call(1, body=bytes([0, 0])) + bus_call(1, body=bytes([1])) + bytes([7, 5, 0, 0, 0, 0]) + \
        bus_call(1, body=bytes([2])) + bus_call(1, body=bytes([1, 1]))
    write("bus", "calibrate", cal)
    # Properties: Get of every property, GetAll, Set, on Monitor1 and a sensor
    props = b""
    for i in range(2, 16):
        props += bus_call(4, path=0, body=bytes([0, i]))
    props += bus_call(5, path=0, body=bytes([0])) + bus_call(5, path=3, body=bytes([1]))
    props += bus_call(4, path=3, body=bytes([1, 14]))
    props += bus_call(6, path=0, body=bytes([0, 3, 0]) + bytes([1]))
    write("bus", "properties", props)
    other = bus_call(7, path=0) + bus_call(7, path=8) + bus_call(10, path=0) + bus_call(8) + bus_call(9) + \
        bus_call(11) + bus_call(2, body=bytes([0])) + bus_call(3, body=bytes([1, 0])) + \
        bus_call(0, op=0x20, body=bytes([3, 13, 1, 2, 5, 0x30]))
    write("bus", "introspect-and-more", other)
    state = bytes([6, 0, 0, 3]) + bytes(20) + bytes([6, 1, 1, 10, 0]) + bytes([6, 0, 0, 11]) + bytes(30)
    write("bus", "state-changes", state)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--history", help="a history file a daemon wrote (build/demo-state/events.log)")
    args = ap.parse_args()
    real = None
    if args.history:
        with open(args.history, "rb") as f:
            real = f.read()
    recording_seeds()
    config_seeds()
    history_seeds(real)
    iio_seeds()
    detector_seeds()
    bus_seeds()


if __name__ == "__main__":
    main()
