#!/bin/bash
# Inputs have bounds, end to end (each also has a unit test: config lines in
# tests/unit/test-config.c, recording lines in test-recording.c, history
# records in test-history-recovery.c):
#   - a config line longer than inih's 200 bytes is refused, naming the line;
#   - a recording line longer than 64 KiB is refused, naming the line;
#   - over D-Bus, on the real daemon (private system bus, real policy, as
#     user spasmd): a 1 MiB Calibrate kind gets UnknownKind with a short
#     message (at most 64 bytes of it quoted back); a string over the bus's
#     message limit (32 MiB) never reaches spasmd; GetEvents' limit is 1 to
#     10000 and since_usec takes any value; wrong or extra arguments are
#     InvalidArgs; a 1 MiB property name is an error. spasmd answers and
#     keeps running through all of it.
set -eu
build=$(cd "${1:-build}" && pwd)
name="integration (bounds)"
. tests/integration/tap.sh
. tests/integration/dbus-rig.sh
rig_enter "$name" "$0" "$@"
rig_start || { ko "the private system bus starts"; done_tests "$name"; exit 1; }
PY=/usr/bin/python3
rec=$PWD/tests/data/demo-lumbar.csv
t=$RIG_DIR

# --- config and recording lines ----------------------------------------------------
printf '[sensor.demo]\nuri = replay:/%0250d\n' 0 > "$t/long.conf"
rc=0; "$build/spasmd" --bus=none --config "$t/long.conf" --check-config > /dev/null 2> "$t/long.log" || rc=$?
[ "$rc" = 78 ] && grep -q "long.conf:2: line longer than" "$t/long.log" \
        && ok "a 252-byte config line: exit 78, naming the line" || ko "long config line: rc=$rc $(cat "$t/long.log")"

{ head -n 3 "$rec"; head -c 70000 /dev/zero | tr '\0' '1'; echo; } > "$t/long.csv"
printf '[sensor.demo]\nuri = replay:%s\nspeed = 0\n' "$t/long.csv" > "$t/longrec.conf"
STATE_DIRECTORY=$t/state0 timeout 20 "$build/spasmd" --bus=none --config "$t/longrec.conf" > /dev/null 2> "$t/longrec.log" &
lp=$!
for _ in $(seq 50); do grep -q 'longer than 65536 bytes' "$t/longrec.log" && break; sleep 0.1; done
kill -TERM $lp 2>/dev/null || true
wait $lp || true
grep -q "long.csv:4.*longer than 65536 bytes" "$t/longrec.log" \
        && ok "a 70000-byte recording line is refused, naming the line" || ko "long recording line: $(tail -3 "$t/longrec.log")"

# --- D-Bus, on the real daemon -------------------------------------------------------
install -d -o spasmd -g spasmd -m 700 "$t/state"
printf '[history]\ndirectory = %s\n[sensor.demo]\nuri = replay:%s\nspeed = 1\n' "$t/state" "$rec" > "$t/spasmd.conf"
chmod 644 "$t/spasmd.conf"
spasmd=$t/spasmd
install -m 755 "$build/spasmd" "$spasmd"
"$spasmd" --version > /dev/null 2>&1 || spasmd=$build/spasmd    # /tmp mounted noexec
rig_spawn spasmd "$spasmd" --config "$t/spasmd.conf" --bus=system > "$t/daemon.log" 2>&1
dpid=$RIG_LAST
if ! gdbus wait --system --timeout 15 org.spasmd.Monitor1; then
        ko "spasmd did not appear on the bus: $(tail -5 "$t/daemon.log")"
        done_tests "$name"
        exit 1
fi

cat > "$t/bounds.py" <<'PY'
import sys
import dbus

NAME, PATH, IFACE = "org.spasmd.Monitor1", "/org/spasmd/Monitor1", "org.spasmd.Monitor1"
PROPS = "org.freedesktop.DBus.Properties"
bus = dbus.SystemBus()
obj = bus.get_object(NAME, PATH, introspect=False)

def call(method, *args, iface=IFACE, signature=None):
    """'ok' and the reply, or the error name and its message."""
    try:
        r = obj.get_dbus_method(method, iface)(*args, signature=signature, timeout=30)
        return "ok", r
    except dbus.DBusException as e:
        return e.get_dbus_name() or "?", e.get_dbus_message() or ""

def check(cond, what, detail=""):
    print(("ok - " if cond else "not ok - ") + what + ("" if cond else ": " + str(detail)))
    sys.stdout.flush()

def alive(after):
    # A connection of its own: the bus drops a client that sent too much.
    global obj
    obj = dbus.SystemBus(private=True).get_object(NAME, PATH, introspect=False)
    name, _ = call("Ping", iface="org.freedesktop.DBus.Peer")
    got, ev = call("GetEvents", dbus.UInt64(0), dbus.UInt32(1))
    check(name == "ok" and got == "ok", "spasmd still answers after " + after, (name, got))

what = sys.argv[1]
if what == "big-kind":
    kind = "x" * (1 << 20)
    name, msg = call("Calibrate", kind, signature="s")
    check(name == "org.spasmd.Error.UnknownKind", "Calibrate with a 1 MiB kind: UnknownKind", (name, msg[:100]))
    run = max(len(r) for r in msg.split('"')) if '"' in msg else len(msg)
    check(len(msg) < 200 and run <= 64, "its message quotes at most 64 bytes of the kind (%d bytes in all)" % len(msg),
          msg[:200])
    alive("a 1 MiB string")
elif what == "huge-kind":
    # Over the system bus's max_message_size (32 MiB by default): refused by
    # libdbus or the bus (which drops the sender), before spasmd could see it.
    name, msg = call("Calibrate", "x" * (40 << 20), signature="s")
    check(name not in ("ok", "org.spasmd.Error.UnknownKind"), "Calibrate with a 40 MiB kind never reaches spasmd (%s)" % name,
          (name, msg[:100]))
    alive("a 40 MiB string")
elif what == "limits":
    for limit, want in ((1, "ok"), (10000, "ok"), (0, "org.spasmd.Error.InvalidArgument"),
                        (10001, "org.spasmd.Error.LimitExceeded"), (2**32 - 1, "org.spasmd.Error.LimitExceeded")):
        name, _ = call("GetEvents", dbus.UInt64(0), dbus.UInt32(limit))
        check(name == want, "GetEvents(0, %d) → %s" % (limit, want), name)
    name, r = call("GetEvents", dbus.UInt64(2**64 - 1), dbus.UInt32(10000))
    check(name == "ok" and len(r) == 0, "GetEvents(2^64-1, 10000) → no events", (name, r))
    for args, sig, what in (((dbus.Int32(1),), "i", "an int for the kind"), (("rest", "extra"), "ss", "an extra argument"),
                            ((), "", "no argument")):
        name, _ = call("Calibrate", *args, signature=sig)
        check(name == "org.freedesktop.DBus.Error.InvalidArgs", "Calibrate with %s → InvalidArgs" % what, name)
    name, _ = call("GetEvents", "0", "100", signature="ss")
    check(name == "org.freedesktop.DBus.Error.InvalidArgs", "GetEvents with strings → InvalidArgs", name)
    name, _ = call("SetMonitoring", dbus.UInt32(1), signature="u")
    check(name == "org.freedesktop.DBus.Error.InvalidArgs", "SetMonitoring with a number → InvalidArgs", name)
    # sd-bus quotes the whole name back in its error (to the caller only, so
    # what comes back is no more than what was sent, and the bus caps both).
    name, msg = call("Get", IFACE, "P" * (1 << 20), iface=PROPS, signature="ss")
    check(name == "org.freedesktop.DBus.Error.UnknownProperty" and len(msg) < (1 << 20) + 200,
          "Properties.Get of a 1 MiB property name → UnknownProperty", (name, len(msg)))
    name, msg = call("GetAll", "I" * (1 << 20), iface=PROPS, signature="s")
    check(name != "ok" or msg == {}, "Properties.GetAll of a 1 MiB interface name → %s" % name, name)
    alive("the bad arguments")
PY
chmod 644 "$t/bounds.py"
# py USER WHAT: the checks' TAP lines count here.
py() {
        local line rc=0
        rig_as "$1" $PY "$t/bounds.py" "$2" > "$t/py.out" 2>&1 || rc=$?
        while IFS= read -r line; do
                case $line in
                "ok - "*) ok "$1: ${line#ok - }" ;;
                "not ok - "*) ko "$1: ${line#not ok - }" ;;
                *) echo "# $line" ;;
                esac
        done < "$t/py.out"
        [ "$rc" = 0 ] || ko "bounds.py $2 as $1 exited with status $rc"
}
py root big-kind
py carer big-kind
py root huge-kind
py root limits
kill -0 "$dpid" 2>/dev/null && ok "spasmd is still running" || ko "spasmd died: $(tail -5 "$t/daemon.log")"
! grep -q 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' "$t/daemon.log" \
        && ok "nothing of the long strings is logged at length" || ko "spasmd logged a long client string"

done_tests "$name"
