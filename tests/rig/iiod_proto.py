# SPDX-License-Identifier: LGPL-2.1-or-later
"""The pieces of libiio 0.24's network protocol (iiod) that the emulator needs,
with no sockets and no threads: recordings, the device model, the context XML,
command lines, channel masks and sample packing.

Wire facts (from libiio v0.24: iiod/lexer.l, iiod/parser.y, iiod/ops.c,
iiod-client.c, network.c, context.c, device.c, channel.c, local.c):

- Commands are lines ending in "\\r\\n"; an empty line gets no reply.
- Replies are "%li\\n"; negative is -errno. A syntax error is -EINVAL (-22).
- PRINT:   "<strlen(xml)>\\n<xml>\\n".  VERSION: "%u.%u.%-7.7s\\n".
- READ:    "<n>\\n" then n bytes and "\\n", where the n bytes are the value
           followed by a NUL (sysfs "1000\\n" becomes "5\\n1000\\0\\n").
           READ without an attribute sends every attribute: per attribute a
           big-endian int32 (length, or -errno) then the bytes padded to 4.
- WRITE ... <len>: the client sends len raw bytes (value + NUL) right after
           the line; the reply is the byte count, or -errno.
- OPEN dev samples_count MASK [CYCLIC]: MASK is the %08x words, most
           significant first, exactly ceil(nb_channels / 32) * 8 hex digits.
           The client opens one new TCP connection per buffer, sends OPEN
           there, later READBUF on it, and CLOSE + EXIT when done (nothing
           when the buffer was cancelled: it just closes the socket).
- READBUF dev nbytes: per chunk "<n>\\n", then on the first chunk of each
           READBUF only the mask words and "\\n", then n bytes; chunks repeat
           until fewer than one sample is left to send; if some but not all of
           nbytes were sent, a final "0\\n". Fewer than one sample asked: "0\\n".
           Not opened on this connection: -EBADF.
- GETTRIG on a device without a trigger: -ENOENT; SETTRIG likewise.
- Channel bit numbers are the positions of the channels sorted by scan index;
  a sample is the enabled channels in that order, each aligned to its own
  size (libiio's iio_device_get_sample_size_mask(); no tail padding).
"""

import errno
import math
import os
import struct
from dataclasses import dataclass, field

import numpy as np

VERSION_MAJOR = 0
VERSION_MINOR = 24
VERSION_GIT = "rig-emu"          # 7 characters, as "%-7.7s" prints it
MAX_LINE = 8192                  # longest command line accepted

# context.c, v0.24: the DTD that every context XML carries.
XML_HEADER = (
    '<?xml version="1.0" encoding="utf-8"?>'
    "<!DOCTYPE context ["
    "<!ELEMENT context (device | context-attribute)*>"
    "<!ELEMENT context-attribute EMPTY>"
    "<!ELEMENT device (channel | attribute | debug-attribute | buffer-attribute)*>"
    "<!ELEMENT channel (scan-element?, attribute*)>"
    "<!ELEMENT attribute EMPTY>"
    "<!ELEMENT scan-element EMPTY>"
    "<!ELEMENT debug-attribute EMPTY>"
    "<!ELEMENT buffer-attribute EMPTY>"
    "<!ATTLIST context name CDATA #REQUIRED version-major CDATA #REQUIRED "
    "version-minor CDATA #REQUIRED version-git CDATA #REQUIRED description CDATA #IMPLIED>"
    "<!ATTLIST context-attribute name CDATA #REQUIRED value CDATA #REQUIRED>"
    "<!ATTLIST device id CDATA #REQUIRED name CDATA #IMPLIED label CDATA #IMPLIED>"
    "<!ATTLIST channel id CDATA #REQUIRED type (input|output) #REQUIRED name CDATA #IMPLIED>"
    "<!ATTLIST scan-element index CDATA #REQUIRED format CDATA #REQUIRED scale CDATA #IMPLIED>"
    "<!ATTLIST attribute name CDATA #REQUIRED filename CDATA #IMPLIED>"
    "<!ATTLIST debug-attribute name CDATA #REQUIRED>"
    "<!ATTLIST buffer-attribute name CDATA #REQUIRED>"
    "]>"
)

HELP_TEXT = (
    "Available commands:\n\n"
    "\tHELP\n\tEXIT\n\tPRINT\n\tVERSION\n\tTIMEOUT <timeout_ms>\n"
    "\tOPEN <device> <samples_count> <mask> [CYCLIC]\n\tCLOSE <device>\n"
    "\tREAD <device> DEBUG|BUFFER|[INPUT|OUTPUT <channel>] [<attribute>]\n"
    "\tWRITE <device> DEBUG|BUFFER|[INPUT|OUTPUT <channel>] [<attribute>] <bytes_count>\n"
    "\tREADBUF <device> <bytes_count>\n\tGETTRIG <device>\n\tSETTRIG <device> [<trigger>]\n"
    "\tSET <device> BUFFERS_COUNT <count>\n"
)


class ProtoError(Exception):
    """A request that gets a -errno reply."""

    def __init__(self, err, msg=""):
        super().__init__(msg or os.strerror(err))
        self.errno = err


class RecordingError(Exception):
    pass


# --------------------------------------------------------------------------
# Recordings (README.md, "Recording format v1")

IMU_COLUMNS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
EMG_UNITS = {"uv": 1.0, "mv": 1e3, "v": 1e6}


@dataclass
class Recording:
    path: str
    rate_hz: float
    meta: dict
    columns: list            # header names, in file order
    data: np.ndarray         # float64, rows x columns
    emg_columns: list = field(default_factory=list)
    emg_uv_factor: float = 1.0   # multiply the EMG columns by this for microvolts
    warnings: list = field(default_factory=list)

    @property
    def n_rows(self):
        return self.data.shape[0]

    @property
    def has_imu(self):
        return all(c in self.columns for c in IMU_COLUMNS)

    def column(self, name):
        return self.data[:, self.columns.index(name)]


def load_recording(path):
    """Parse a recording v1 file; raises RecordingError naming file:line."""
    name = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise RecordingError(f"{path}: {e}") from None
    if not lines or lines[0].rstrip() != "# spasmd-recording v1":
        raise RecordingError(f'{name}:1: the first line must be "# spasmd-recording v1"')
    meta = {}
    i = 1
    while i < len(lines) and lines[i].startswith("#"):
        body = lines[i][1:].strip()
        if "=" in body:
            k, v = body.split("=", 1)
            meta[k.strip()] = v.strip()
        i += 1
    if "rate_hz" not in meta:
        raise RecordingError(f"{name}: no '# rate_hz=' line; add one (50 to 20000)")
    try:
        rate = float(meta["rate_hz"])
    except ValueError:
        rate = float("nan")
    if not (50 <= rate <= 20000):
        raise RecordingError(f'{name}: rate_hz "{meta["rate_hz"]}" is not a number from 50 to 20000')
    if i >= len(lines):
        raise RecordingError(f"{name}:{i + 1}: missing the header row of column names")
    columns = [c.strip() for c in lines[i].split(",")]
    header_line = i + 1
    if len(columns) > 64:
        raise RecordingError(f"{name}:{header_line}: {len(columns)} columns, at most 64")
    warnings = []
    emg = [c for c in columns if c.startswith("emg_")]
    if not 1 <= len(emg) <= 16 and emg:
        raise RecordingError(f"{name}:{header_line}: {len(emg)} emg_ columns, at most 16")
    imu_present = [c for c in IMU_COLUMNS if c in columns]
    if imu_present and len(imu_present) != 6:
        raise RecordingError(f"{name}:{header_line}: IMU columns need all of {' '.join(IMU_COLUMNS)}")
    unknown = [c for c in columns if c != "t_s" and c not in emg and c not in IMU_COLUMNS]
    if unknown:
        warnings.append(f"{name}: ignoring unknown columns {', '.join(unknown)}")
    body = lines[header_line:]
    try:
        data = np.loadtxt(body, delimiter=",", ndmin=2, dtype=np.float64) if body else \
            np.zeros((0, len(columns)))
    except ValueError:
        _raise_bad_row(name, body, header_line, len(columns))
        raise
    if data.shape[0] and data.shape[1] != len(columns):
        _raise_bad_row(name, body, header_line, len(columns))
    if not np.isfinite(data).all():
        r, c = np.argwhere(~np.isfinite(data))[0]
        raise RecordingError(f"{name}: column {columns[c]} of data row {r + 1} is not finite")
    if data.shape[0] == 0:
        raise RecordingError(f"{name}: no samples")
    units = meta.get("units", "uV")
    factor = EMG_UNITS.get(units.lower())
    if factor is None:
        warnings.append(f"{name}: units={units} unknown; serving the EMG numbers as microvolts")
        factor = 1.0
    return Recording(path, rate, meta, columns, data, emg, factor, warnings)


def _raise_bad_row(name, body, header_line, ncol):
    for k, line in enumerate(body):
        if not line.strip():
            raise RecordingError(f"{name}:{header_line + k + 1}: empty line")
        cells = line.split(",")
        if len(cells) != ncol:
            raise RecordingError(f"{name}:{header_line + k + 1}: {len(cells)} columns, the header has {ncol}")
        for j, cell in enumerate(cells):
            try:
                float(cell)
            except ValueError:
                raise RecordingError(f'{name}:{header_line + k + 1}:{j + 1}: "{cell}" is not a number') from None
    raise RecordingError(f"{name}: unreadable data rows")


# --------------------------------------------------------------------------
# Device model

@dataclass
class DataFormat:
    is_be: bool
    is_signed: bool
    bits: int
    length: int
    shift: int = 0
    repeat: int = 1

    @property
    def nbytes(self):
        return self.length // 8 * self.repeat

    @property
    def numpy(self):
        """numpy type of one stored element (repeat == 1 only)."""
        return ("<>"[self.is_be]) + ("iu"[not self.is_signed]) + str(self.length // 8)

    def xml(self):
        # channel.c: 's'/'u', upper case when fully defined (bits == length).
        s = "s" if self.is_signed else "u"
        if self.bits == self.length:
            s = s.upper()
        rep = f"X{self.repeat}" if self.repeat > 1 else ""
        return f"{'b' if self.is_be else 'l'}e:{s}{self.bits}/{self.length}{rep}>>{self.shift}"


@dataclass
class Channel:
    id: str
    index: int
    fmt: DataFormat
    scale: float = None           # None: no scale attribute
    attrs: dict = field(default_factory=dict)   # name -> sysfs filename
    name: str = None


@dataclass
class Device:
    id: str                       # "iio:device0"
    name: str
    label: str
    channels: list                # sorted by scan index = bit number
    attrs: list
    buffer_attrs: list
    debug_attrs: list = field(default_factory=list)

    def find_channel(self, ident):
        for c in self.channels:
            if c.id == ident or (c.name and c.name == ident):
                return c
        return None

    @property
    def words(self):
        return (len(self.channels) + 31) // 32

    def matches(self, ident):
        return ident in (self.id, self.name, self.label)


# --------------------------------------------------------------------------
# XML (context.c, device.c, channel.c, v0.24)

def xml_escape(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&apos;"))


def channel_xml(c):
    out = [f'<channel id="{xml_escape(c.id)}"']
    if c.name:
        out.append(f' name="{xml_escape(c.name)}"')
    out.append(' type="input" >')
    scale = f'scale="{c.scale:f}" ' if c.scale is not None else ""
    out.append(f'<scan-element index="{c.index}" format="{xml_escape(c.fmt.xml())}" {scale}/>')
    for name, filename in c.attrs.items():
        out.append(f'<attribute name="{xml_escape(name)}" filename="{xml_escape(filename)}" />')
    out.append("</channel>")
    return "".join(out)


def device_xml(d):
    out = [f'<device id="{xml_escape(d.id)}"']
    if d.name:
        out.append(f' name="{xml_escape(d.name)}"')
    if d.label:
        out.append(f' label="{xml_escape(d.label)}"')
    out.append(" >")
    out.extend(channel_xml(c) for c in d.channels)
    out.extend(f'<attribute name="{xml_escape(a)}" />' for a in d.attrs)
    out.extend(f'<buffer-attribute name="{xml_escape(a)}" />' for a in d.buffer_attrs)
    out.extend(f'<debug-attribute name="{xml_escape(a)}" />' for a in d.debug_attrs)
    out.append("</device>")
    return "".join(out)


def context_xml(devices, description, attrs):
    out = [XML_HEADER,
           f'<context name="local" version-major="{VERSION_MAJOR}" version-minor="{VERSION_MINOR}" '
           f'version-git="{VERSION_GIT}" ']
    out.append(f'description="{xml_escape(description)}" >' if description else ">")
    out.extend(f'<context-attribute name="{xml_escape(k)}" value="{xml_escape(v)}" />'
               for k, v in attrs.items())
    out.extend(device_xml(d) for d in devices)
    out.append("</context>")
    return "".join(out)


def version_line():
    return f"{VERSION_MAJOR}.{VERSION_MINOR}.{VERSION_GIT:<7.7}\n"


# --------------------------------------------------------------------------
# Replies

def reply(value):
    return b"%d\n" % value


def attr_reply(value):
    """READ of one attribute: sysfs text becomes value + NUL."""
    data = value.encode() + b"\0"
    return reply(len(data)) + data + b"\n"


def attrs_all_blob(values):
    """READ without an attribute name (local.c, read_all_*_attrs): per
    attribute a big-endian int32 length (or -errno), then the bytes padded
    to 4. `values` holds str (value) or int (-errno)."""
    out = bytearray()
    for v in values:
        if isinstance(v, int):
            out += struct.pack(">i", v)
            continue
        data = v.encode() + b"\0"
        out += struct.pack(">i", len(data)) + data + b"\0" * (-len(data) % 4)
    return bytes(out)


# --------------------------------------------------------------------------
# Command lines (iiod/lexer.l, iiod/parser.y)

@dataclass
class Command:
    op: str                      # VERSION PRINT ZPRINT EXIT HELP TIMEOUT OPEN CLOSE READ WRITE
    dev: str = None              # READBUF WRITEBUF GETTRIG SETTRIG SET
    kind: str = "device"         # READ/WRITE: device | debug | buffer | input | output
    chn: str = None
    attr: str = None
    num: int = 0                 # TIMEOUT ms, OPEN samples, READBUF/WRITE bytes, SET count
    mask: str = None
    cyclic: bool = False
    trig: str = None


def atol(s):
    """C atol(): leading whitespace, optional sign, digits; else 0."""
    s = s.lstrip()
    n = 0
    while n < len(s) and (s[n].isdigit() or (n == 0 and s[n] in "+-")):
        n += 1
    try:
        return int(s[:n])
    except ValueError:
        return 0


_KINDS = {"DEBUG": "debug", "BUFFER": "buffer", "INPUT": "input", "OUTPUT": "output"}


def parse_command(line):
    """One command line (without "\\r\\n") -> Command, None for an empty line;
    raises ProtoError(EINVAL) for anything the iiod grammar rejects."""
    t = line.split()
    if not t:
        return None
    op = t[0].upper()
    if op == "QUIT":
        op = "EXIT"
    n = len(t)
    bad = ProtoError(errno.EINVAL, "syntax error")
    if op in ("VERSION", "PRINT", "ZPRINT", "EXIT", "HELP"):
        if n != 1:
            raise bad
        return Command(op)
    if op == "TIMEOUT":
        if n != 2:
            raise bad
        return Command(op, num=atol(t[1]))
    if n < 2:
        raise bad
    dev = t[1]
    if op == "OPEN":
        if n == 5 and t[4].upper() == "CYCLIC":
            return Command(op, dev, num=atol(t[2]), mask=t[3], cyclic=True)
        if n != 4:
            raise bad
        return Command(op, dev, num=atol(t[2]), mask=t[3])
    if op in ("CLOSE", "GETTRIG"):
        if n != 2:
            raise bad
        return Command(op, dev)
    if op == "SETTRIG":
        if n > 3:
            raise bad
        return Command(op, dev, trig=t[2] if n == 3 else None)
    if op in ("READBUF", "WRITEBUF"):
        if n != 3:
            raise bad
        return Command(op, dev, num=atol(t[2]))
    if op == "SET":
        if n != 4 or t[2].upper() != "BUFFERS_COUNT":
            raise bad
        return Command(op, dev, num=atol(t[3]))
    if op in ("READ", "WRITE"):
        rest = t[2:]
        if op == "WRITE":
            if not rest:
                raise bad
            num, rest = atol(rest[-1]), rest[:-1]
        else:
            num = 0
        kind, chn = "device", None
        if rest and rest[0].upper() in _KINDS:
            kind = _KINDS[rest[0].upper()]
            rest = rest[1:]
            if kind in ("input", "output"):
                if not rest:
                    raise bad
                chn, rest = rest[0], rest[1:]
        if len(rest) > 1:
            raise bad
        return Command(op, dev, kind=kind, chn=chn, attr=rest[0] if rest else None, num=num)
    raise bad


# --------------------------------------------------------------------------
# Masks and sample layout

def parse_mask(text, nb_channels):
    """OPEN's mask: ceil(nb/32) words of 8 hex digits, most significant
    word first -> set of channel numbers. iiod rejects a wrong length."""
    words = (nb_channels + 31) // 32
    if len(text) != words * 8:
        raise ProtoError(errno.EINVAL, "mask length")
    try:
        value = int(text, 16)
    except ValueError:
        raise ProtoError(errno.EINVAL, "mask digits") from None
    return {i for i in range(nb_channels) if value >> i & 1}


def format_mask(bits, nb_channels):
    words = (nb_channels + 31) // 32
    value = sum(1 << i for i in bits)
    return "".join("%08x" % (value >> (32 * w) & 0xFFFFFFFF) for w in reversed(range(words)))


def layout(channels):
    """Offsets of the enabled channels (sorted by index) in one sample, and
    the sample size: libiio's iio_device_get_sample_size_mask()."""
    offsets, size = [], 0
    for c in channels:
        ln = c.fmt.nbytes
        if size % ln:
            size += 2 * ln - size % ln
        else:
            size += ln
        offsets.append(size - ln)
    return offsets, size


def packer(channels):
    """A numpy structured dtype for one sample of these enabled channels."""
    offsets, size = layout(channels)
    return np.dtype({"names": [f"c{c.index}" for c in channels],
                     "formats": [c.fmt.numpy for c in channels],
                     "offsets": offsets, "itemsize": size})


def pack(dtype, columns):
    """columns: {field name: 1-D array}; returns the samples as bytes."""
    n = len(next(iter(columns.values()))) if columns else 0
    arr = np.zeros(n, dtype=dtype)
    for name, values in columns.items():
        arr[name] = values
    return arr.tobytes()


def format_rate(rate):
    """sysfs style: an integer, or IIO_VAL_INT_PLUS_MICRO's 6 decimals."""
    return str(int(rate)) if float(rate).is_integer() else f"{rate:.6f}"


def same_number(text, value):
    try:
        x = float(text)
    except ValueError:
        return False
    return math.isclose(x, value, rel_tol=1e-6, abs_tol=1e-9)
