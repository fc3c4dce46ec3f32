#!/bin/bash
# What spasmd does to the system, seen by strace -f (every thread, every
# system call, file descriptors decoded to paths with -y):
#   - it writes no file outside its state directory (open for writing,
#     creat, mkdir, rename, unlink, link, chmod, truncate... and their *at
#     forms, attempts included), besides, with libiio's local backend, the
#     IIO device's sysfs attributes and /dev/iio:deviceN;
#   - every file descriptor it makes is close-on-exec (O_CLOEXEC, "re"/"we",
#     SOCK_CLOEXEC, EFD_CLOEXEC...), so none leaks into a child;
#   - it sets its umask to at least 0027 before it creates anything, even
#     when started with umask 0, and nothing in the state directory is
#     group-writable or for others;
#   - every system call it makes is allowed by systemd/spasmd.service's
#     SystemCallFilter= (expanded with `systemd-analyze syscall-filter`),
#     every socket is of a family RestrictAddressFamilies= allows (the
#     remote-iiod drop-in's for ip:), and it never bind()s or listen()s on
#     an internet socket (SocketBindDeny=any).
# Two runs: a replay on a private D-Bus bus, logging to the journal with a
# watchdog, as under systemd; and the local: and ip: backends at once on
# tests/rig/local-rig (fake sysfs and device, Debian's iiod).
set -eu
build=$(cd "${1:-build}" && pwd)
name="integration (files, fds, syscalls)"
. tests/integration/tap.sh
PY=/usr/bin/python3
command -v strace > /dev/null || ./tools/deps.sh base >&2 || true
for t in strace dbus-daemon busctl; do
        command -v $t > /dev/null || { echo "$name: needs $t (make deps)"; echo "$name: 0 passed, 1 failed"; exit 1; }
done
# A sanitizer's runtime opens /proc files without O_CLOEXEC, makes calls of
# its own and cannot run under ptrace (LeakSanitizer): what is checked here
# is the daemon as shipped, which `make integration` on the plain build runs.
if grep -qa __asan_init "$build/spasmd"; then
        echo "# $build/spasmd is built with ASan: nothing to check here (the plain build is)"
        done_tests "$name"
        exit 0
fi
tmp=$(mktemp -d)
pids=
cleanup() {
        for p in $pids; do kill "$p" 2>/dev/null || true; done
        for p in $pids; do wait "$p" 2>/dev/null || true; done
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
unit=$PWD/systemd/spasmd.service
dropin=$PWD/systemd/spasmd.service.d/remote-iiod.conf

# check.py TRACE_PREFIX WRITABLE UNIT...: one TAP line per property, for the
# traces TRACE_PREFIX.* (strace -ff); WRITABLE is a space-separated list of
# the paths the daemon may write below (shell patterns); the units'
# SystemCallFilter= and RestrictAddressFamilies= (in order, later files as
# drop-ins) are the rules.
cat > "$tmp/check.py" <<'PY'
import fnmatch, os, re, subprocess, sys, glob

prefix, writable, units = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
label = os.path.basename(prefix)

def split_args(s):
    """Top-level comma-separated arguments of an strace line, quotes and brackets respected."""
    out, depth, cur, q, esc = [], 0, "", False, False
    for c in s:
        if q:
            cur += c
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                q = False
            continue
        if c == '"':
            q = True
        elif c in "([{<":
            depth += 1
        elif c in ")]}>":
            depth -= 1
        elif c == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        cur += c
    if cur.strip():
        out.append(cur.strip())
    return out

def unquote(a):
    if not a.startswith('"'):
        return None
    a = re.sub(r'"\.\.\.$', '"', a)
    return a[1:-1].encode().decode("unicode_escape").encode("latin-1").decode("utf-8", "replace")

def fd_path(a):
    m = re.search(r"<(.*)>$", a)
    return m.group(1) if m else None

def resolve(dirarg, patharg):
    p = unquote(patharg)
    if p is None:
        return None
    if not p.startswith("/"):
        p = os.path.join(fd_path(dirarg) or "/", p)
    return os.path.normpath(p)

calls = []  # (file, name, args, ret)
for f in sorted(glob.glob(prefix + ".*")):
    for line in open(f, errors="replace"):
        m = re.match(r"^(\w+)\((.*)\)\s+= (.*)$", line.rstrip("\n"))
        if m:
            calls.append((os.path.basename(f), m.group(1), split_args(m.group(2)), m.group(3)))

def inside(p):
    return any(fnmatch.fnmatchcase(p, w) or p.startswith(w.rstrip("/") + "/") for w in writable)

# --- writes ---------------------------------------------------------------
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")
# name: (index of the dirfd or None, index of the path) for each path written
PATHS = {
    "creat": [(None, 0)], "mkdir": [(None, 0)], "mkdirat": [(0, 1)], "rmdir": [(None, 0)],
    "rename": [(None, 0), (None, 1)], "renameat": [(0, 1), (2, 3)], "renameat2": [(0, 1), (2, 3)],
    "unlink": [(None, 0)], "unlinkat": [(0, 1)], "link": [(None, 1)], "linkat": [(2, 3)],
    "symlink": [(None, 1)], "symlinkat": [(1, 2)], "truncate": [(None, 0)], "chmod": [(None, 0)],
    "fchmodat": [(0, 1)], "chown": [(None, 0)], "lchown": [(None, 0)], "fchownat": [(0, 1)],
    "mknod": [(None, 0)], "mknodat": [(0, 1)], "setxattr": [(None, 0)], "lsetxattr": [(None, 0)],
    "removexattr": [(None, 0)], "lremovexattr": [(None, 0)], "utimes": [(None, 0)], "utimensat": [(0, 1)],
}
FD_WRITES = ("ftruncate", "fchmod", "fchown", "fsetxattr", "fremovexattr")
bad_writes, n_writes = [], 0
for f, name, a, ret in calls:
    targets = []
    if name in ("open", "openat", "openat2"):
        i = 0 if name == "open" else 1
        flags = a[i + 1] if len(a) > i + 1 else ""
        if any(x in flags for x in WRITE_FLAGS):
            got = fd_path(ret.split()[0]) if re.match(r"^\d+<", ret) else None
            targets.append(got or resolve("AT_FDCWD" if name == "open" else a[0], a[i]))
    elif name in PATHS:
        for d, i in PATHS[name]:
            if i < len(a) and a[i] != "NULL":
                targets.append(resolve(a[d] if d is not None else "AT_FDCWD", a[i]))
    elif name in FD_WRITES and a:
        targets.append(fd_path(a[0]))
    for t in targets:
        n_writes += 1
        if not t or not inside(t):
            bad_writes.append("%s: %s(%s) = %s" % (f, name, ", ".join(a)[:200], ret))
ok = not bad_writes
print(("ok" if ok else "not ok") + " - %s: all %d file writes are below %s" % (label, n_writes, " or ".join(writable)))
for b in bad_writes[:20]:
    print("#   " + b)

# --- close-on-exec ---------------------------------------------------------
CLOEXEC = {"openat": (2, "O_CLOEXEC"), "open": (1, "O_CLOEXEC"), "openat2": (2, "O_CLOEXEC"),
           "socket": (1, "SOCK_CLOEXEC"), "socketpair": (1, "SOCK_CLOEXEC"), "accept4": (3, "SOCK_CLOEXEC"),
           "pipe2": (1, "O_CLOEXEC"), "eventfd2": (1, "EFD_CLOEXEC"), "epoll_create1": (0, "EPOLL_CLOEXEC"),
           "signalfd4": (3, "SFD_CLOEXEC"), "timerfd_create": (1, "TFD_CLOEXEC"),
           "inotify_init1": (0, "IN_CLOEXEC"), "memfd_create": (1, "MFD_CLOEXEC"), "dup3": (2, "O_CLOEXEC"),
           "fanotify_init": (0, "FAN_CLOEXEC"), "pidfd_open": (1, "PIDFD_NONBLOCK")}
NEVER = ("creat", "pipe", "eventfd", "epoll_create", "signalfd", "inotify_init", "accept", "dup", "dup2")
# Libraries' own opens we cannot change; each is read-only and closed at once.
KNOWN = {"/etc/libiio.ini": "libiio 0.24 looks for its optional ini file without O_CLOEXEC"}
bad_fds, n_fds, known = [], 0, set()
for f, name, a, ret in calls:
    # A call that failed made no descriptor, so nothing can leak from it.
    if not re.match(r"^\d+", ret):
        continue
    if name in ("open", "openat", "openat2") and fd_path(ret.split()[0]) in KNOWN:
        known.add(fd_path(ret.split()[0]))
        continue
    if name in NEVER:
        n_fds += 1
        bad_fds.append("%s: %s(%s) = %s (has no close-on-exec form)" % (f, name, ", ".join(a)[:160], ret))
    elif name == "fcntl" and len(a) > 1 and a[1] == "F_DUPFD":
        n_fds += 1
        bad_fds.append("%s: fcntl(%s) = %s" % (f, ", ".join(a), ret))
    elif name in CLOEXEC and name != "pidfd_open":
        i, flag = CLOEXEC[name]
        if name == "openat2":
            flags = a[2] if len(a) > 2 else ""
        else:
            flags = a[i] if i < len(a) else ""
        n_fds += 1
        if flag not in flags:
            bad_fds.append("%s: %s(%s) = %s" % (f, name, ", ".join(a)[:200], ret))
ok = not bad_fds
print(("ok" if ok else "not ok") + " - %s: all %d file descriptors made are close-on-exec" % (label, n_fds))
for b in bad_fds[:20]:
    print("#   " + b)
for k in sorted(known):
    print("#   not counted: %s (%s)" % (k, KNOWN[k]))

# --- the unit's rules --------------------------------------------------------
def unit_values(key):
    vals = []
    for u in units:
        for line in open(u):
            if line.startswith(key + "="):
                vals.append(line.split("=", 1)[1].strip())
    return vals

def groups():
    out, cur = {}, None
    text = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager"], capture_output=True, text=True,
                          check=True).stdout
    for line in text.splitlines():
        if line.startswith("@"):
            cur = out.setdefault(line.strip(), [])
        elif line.startswith(" ") and cur is not None and not line.strip().startswith("#") and line.strip():
            cur.append(line.strip())
        elif not line.strip():
            cur = None
    return out

G = groups()
def expand(item, seen=()):
    if not item.startswith("@"):
        return {item}
    if item in seen:
        return set()
    s = set()
    for x in G[item]:
        s |= expand(x, seen + (item,))
    return s

allowed, allow_list = None, None
for v in unit_values("SystemCallFilter"):
    if v == "":
        allowed, allow_list = None, None
        continue
    neg = v.startswith("~")
    items = set()
    for x in v.lstrip("~").split():
        items |= expand(x)
    if allowed is None:
        allow_list = not neg
        allowed = set(items) if not neg else items  # with a deny list first, `allowed` holds the denied ones
    elif allow_list:
        allowed = allowed - items if neg else allowed | items
    else:
        allowed = allowed | items if neg else allowed - items
used = {}
for f, name, a, ret in calls:
    used.setdefault(name, "%s(%s) = %s" % (name, ", ".join(a)[:120], ret))
if allow_list is None:
    print("not ok - %s: the unit has a SystemCallFilter=" % label)
else:
    outside = sorted(n for n in used if (n not in allowed) == allow_list)
    ok = not outside
    print(("ok" if ok else "not ok") + " - %s: all %d distinct system calls are allowed by the unit's SystemCallFilter="
          % (label, len(used)))
    for n in outside:
        print("#   not allowed: " + used[n])

fams = None
for v in unit_values("RestrictAddressFamilies"):
    fams = set(v.split()) if v else None
bad_fam, bad_bind, n_sock = [], [], 0
for f, name, a, ret in calls:
    if name in ("socket", "socketpair"):
        n_sock += 1
        if fams is not None and a[0] not in fams:
            bad_fam.append("%s: %s(%s) = %s" % (f, name, ", ".join(a), ret))
    if name in ("bind", "listen") and a and re.search(r"<(TCP|UDP|TCPv6|UDPv6|socket:\[\d+\])", a[0]):
        if name == "listen" or "AF_INET" in ", ".join(a):
            bad_bind.append("%s: %s(%s) = %s" % (f, name, ", ".join(a)[:160], ret))
ok = not bad_fam and fams is not None
print(("ok" if ok else "not ok") + " - %s: all %d sockets are of a family RestrictAddressFamilies= allows (%s)"
      % (label, n_sock, " ".join(sorted(fams or []))))
for b in bad_fam[:10]:
    print("#   " + b)
print(("ok" if not bad_bind else "not ok") + " - %s: no bind() or listen() on an internet socket (SocketBindDeny=any)"
      % label)
for b in bad_bind[:10]:
    print("#   " + b)

# --- umask -------------------------------------------------------------------
# Only the main thread's trace (the one with the execve): the umask is set in
# main(), before any thread exists, and -ff keeps no order across threads.
if os.environ.get("CHECK_UMASK"):
    main = next((f for f, name, a, ret in calls if name == "execve"), None)
    mask = None
    for f, name, a, ret in calls:
        if f != main:
            continue
        if name == "umask" and a:
            mask = int(a[0], 8)
        if name in ("mkdir", "mkdirat", "creat", "mknod", "mknodat") or (
                name in ("open", "openat", "openat2") and "O_CREAT" in ", ".join(a)):
            break
    ok = mask is not None and (mask & 0o027) == 0o027
    print(("ok" if ok else "not ok") + " - %s: started with umask 0, spasmd sets one with 0027 in it (%s) before it "
          "creates anything" % (label, "none" if mask is None else "%04o" % mask))
PY

# Failure details, as TAP comments.
run_check() { # PREFIX WRITABLE UNIT...
        local line
        "$PY" "$tmp/check.py" "$@" > "$tmp/check.out" 2>&1 || true
        while IFS= read -r line; do
                case $line in
                "ok - "*) ok "${line#ok - }" ;;
                "not ok - "*) ko "${line#not ok - }" ;;
                *) echo "$line" ;;
                esac
        done < "$tmp/check.out"
        grep -q '^ok - \|^not ok - ' "$tmp/check.out" || ko "check.py on $1 printed no result"
}

# --- run 1: a replay on a private bus, as under systemd -----------------------
state=$tmp/state          # not made beforehand: spasmd makes it itself (mkdir) like systemd would
rec=$tmp/cut.csv
head -n 30006 tests/data/demo-lumbar.csv > "$rec"
printf '[sensor.demo]\nuri = replay:%s\nspeed = 10\n' "$rec" > "$tmp/replay.conf"
cat > "$tmp/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$tmp/bus</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile --nosyslog > "$tmp/bus.log" 2>&1 &
pids="$pids $!"
for _ in $(seq 50); do [ -S "$tmp/bus" ] && break; sleep 0.1; done
addr=unix:path=$tmp/bus
# JOURNAL_STREAM is not ours, so SPASMD_LOG_TARGET sends the log to the
# journal (its socket may be missing here: the calls are the same).
( umask 0; cd /; NOTIFY_SOCKET=$tmp/notify WATCHDOG_USEC=2000000 SPASMD_LOG_TARGET=journal STATE_DIRECTORY=$state \
        exec strace -ff -y -qq -o "$tmp/replay" "$build/spasmd" --config "$tmp/replay.conf" --bus="$addr" \
        > "$tmp/replay.log" 2>&1 ) &
spid=$!
pids="$pids $spid"
# Some D-Bus traffic while it replays, so that sd-bus's paths are in the trace.
for _ in $(seq 100); do busctl --address="$addr" status org.spasmd.Monitor1 > /dev/null 2>&1 && break; sleep 0.1; done
for _ in 1 2 3; do
        busctl --address="$addr" call org.spasmd.Monitor1 /org/spasmd/Monitor1 org.spasmd.Monitor1 GetEvents tu 0 100 > /dev/null 2>&1 || true
        busctl --address="$addr" introspect org.spasmd.Monitor1 /org/spasmd/Monitor1 > /dev/null 2>&1 || true
        busctl --address="$addr" call org.spasmd.Monitor1 /org/spasmd/Monitor1 org.spasmd.Monitor1 Calibrate s bogus > /dev/null 2>&1 || true
        busctl --address="$addr" call org.spasmd.Monitor1 /org/spasmd/Monitor1 org.freedesktop.DBus.ObjectManager GetManagedObjects > /dev/null 2>&1 || true
        sleep 0.3
done
rc=0
for _ in $(seq 200); do kill -0 $spid 2>/dev/null || break; sleep 0.1; done
# strace blocks fatal signals when it runs the command (-I3): stop the daemon itself.
if kill -0 $spid 2>/dev/null; then kill -TERM $(pgrep -P $spid) 2>/dev/null; rc=timeout; fi
wait $spid || rc=$?
if [ "$rc" = 0 ] && [ -s "$state/events.log" ]; then
        ok "replay on a private bus under strace: exits 0 at the end, the history is saved"
else ko "replay under strace: exit $rc, history $(ls -la "$state" 2>&1 | tr '\n' ' '); $(tail -3 "$tmp/replay.log")"; fi
CHECK_UMASK=1 run_check "$tmp/replay" "$state" "$unit"
loose=$(find "$state" -perm /027 -printf '%m %p\n')
[ -d "$state" ] && [ -z "$loose" ] && ok "replay: nothing in the state directory is group-writable or for others" \
        || ko "replay: loose modes in the state directory: $loose"

# --- run 2: local: and ip: (iiod) at once, on the fake device ------------------
if ! unshare -m true 2>/dev/null; then
        ko "local: and ip: backends: the rig needs root and unshare -m"
        done_tests "$name"
        exit 1
fi
head -n 45006 tests/data/demo-lumbar.csv > "$tmp/rig.csv"
cat > "$tmp/rig-run.sh" <<'RUN'
#!/bin/sh
# Inside the rig: the EMG front end through local:, the IMU through iiod.
tmp=$1; build=$2
cat > "$tmp/rig.conf" <<CONF
[sensor.lumbar]
uri = local:
device = ads1298
[sensor.imu]
uri = $LOCAL_RIG_IIOD_URI
device = bmi160
role = imu
CONF
cd /
STATE_DIRECTORY=$tmp/rig-state strace -ff -y -qq -o "$tmp/rig" "$build/spasmd" --bus=none --config "$tmp/rig.conf" \
        > /dev/null 2> "$tmp/rig.log" &
pid=$!
for _ in $(seq 150); do [ "$(grep -c 'streaming' "$tmp/rig.log")" -ge 2 ] && break; sleep 0.1; done
sleep 2
# strace blocks fatal signals when it runs the command (-I3): stop the daemon itself.
kill -TERM $(pgrep -P $pid); wait $pid
RUN
chmod +x "$tmp/rig-run.sh"
mkdir -m 700 "$tmp/rig-state"
if tests/rig/local-rig --recording "$tmp/rig.csv" --speed 3 --iiod-port 0 -- "$tmp/rig-run.sh" "$tmp" "$build" \
        && [ "$(grep -c 'streaming' "$tmp/rig.log")" -ge 2 ]; then
        ok "local: and ip: under strace: both sensors stream, SIGTERM stops it cleanly"
else ko "local: and ip: under strace: $(tail -5 "$tmp/rig.log" 2>/dev/null)"; fi
# Writable there: the state, and what IIO access is (sysfs attributes: the
# rig's tree is /sys/bus/iio/devices, a real one's is under /sys/devices).
run_check "$tmp/rig" "$tmp/rig-state /sys/bus/iio/devices /sys/devices /dev/iio:device*" "$unit" "$dropin"

done_tests "$name"
