#!/bin/bash
# The D-Bus policy file (conf/org.spasmd.Monitor1.conf) on its own, without
# the daemon: on a private bus with Debian's system.conf and the real policy
# (tests/integration/dbus-rig.sh), a stand-in service owned by user spasmd
# answers every method, Properties.Set included, so any refusal comes from
# the bus. The allow/deny matrix is checked for root, carer (in group
# spasmd) and nobody, with gdbus, busctl and python3-dbus.
#
# The members come from the contract, conf/org.spasmd.Monitor1.xml: every
# method (called with arguments made from its signature), every property
# (Get, and Set), every signal (received), plus the standard interfaces.
# What each member's access should be is written down below, by hand: a
# member added to the contract without an entry there fails this test.
set -eu
. tests/integration/tap.sh
. tests/integration/dbus-rig.sh
rig_enter "integration (dbus-policy)" "$0" "$@"
rig_start || { ko "the private system bus starts with the policy included"; done_tests "integration (dbus-policy)"; exit 1; }
ok "dbus-daemon starts with system.conf and the policy included (the policy parses)"
PY=/usr/bin/python3
client=$PWD/tests/integration/dbus_client.py
xml=$PWD/conf/org.spasmd.Monitor1.xml
deny=org.freedesktop.DBus.Error.AccessDenied
users="root carer nobody"

# --- the expected policy, by hand --------------------------------------------
# method_access IFACE.MEMBER: who may call it: "all", or "priv" (root and the
# group spasmd), or "none"; "" for a member nobody has decided about yet.
method_access() {
        case $1 in
        org.spasmd.Monitor1.GetEvents) echo all ;;
        org.spasmd.Monitor1.Calibrate | org.spasmd.Monitor1.ResetCalibration | org.spasmd.Monitor1.SetMonitoring) echo priv ;;
        org.freedesktop.DBus.Properties.Get | org.freedesktop.DBus.Properties.GetAll) echo all ;;
        org.freedesktop.DBus.Introspectable.Introspect) echo all ;;
        org.freedesktop.DBus.ObjectManager.GetManagedObjects) echo all ;;
        org.freedesktop.DBus.Peer.Ping | org.freedesktop.DBus.Peer.GetMachineId) echo all ;;
        # No property is writable: Set is closed to everyone, root included.
        org.freedesktop.DBus.Properties.Set) echo none ;;
        *) echo "" ;;
        esac
}
# Properties: readable by everyone (through Get and GetAll above); one that
# is not access="read" in the contract needs a decision here first.
property_ok() { [ "$2" = read ]; }
# Signals: everyone receives every one of them.

# --- the contract, and the standard members -----------------------------------
# "method IFACE NAME IN-SIGNATURE", "property IFACE NAME TYPE ACCESS", "signal IFACE NAME SIGNATURE"
members=$RIG_DIR/members
$PY - "$xml" > "$members" <<'PY'
import sys, xml.etree.ElementTree as ET
for i in ET.parse(sys.argv[1]).getroot().iter("interface"):
    n = i.get("name")
    for m in i.iter("method"):
        print("method", n, m.get("name"), "".join(a.get("type") for a in m.iter("arg") if a.get("direction", "in") == "in") or "-")
    for p in i.iter("property"):
        print("property", n, p.get("name"), p.get("type"), p.get("access"))
    for s in i.iter("signal"):
        print("signal", n, s.get("name"), "".join(a.get("type") for a in s.iter("arg")) or "-")
PY
cat >> "$members" <<'EOF'
method org.freedesktop.DBus.Properties Get ss
method org.freedesktop.DBus.Properties GetAll s
method org.freedesktop.DBus.Properties Set ssv
method org.freedesktop.DBus.Introspectable Introspect -
method org.freedesktop.DBus.ObjectManager GetManagedObjects -
method org.freedesktop.DBus.Peer Ping -
method org.freedesktop.DBus.Peer GetMachineId -
signal org.freedesktop.DBus.Properties PropertiesChanged sa{sv}as
signal org.freedesktop.DBus.ObjectManager InterfacesAdded oa{sa{sv}}
signal org.freedesktop.DBus.ObjectManager InterfacesRemoved oas
EOF
n_methods=$(grep -c '^method org.spasmd' "$members" || true)
n_props=$(grep -c '^property' "$members" || true)
n_signals=$(grep -c '^signal org.spasmd' "$members" || true)
if [ "$n_methods" -ge 4 ] && [ "$n_props" -ge 9 ] && [ "$n_signals" -ge 6 ]; then
        ok "the contract lists $n_methods methods, $n_props properties, $n_signals signals"
else ko "the contract parsed to $n_methods methods, $n_props properties, $n_signals signals"; fi

# Every method has an expectation, and every expectation a method.
missing=""
while read -r kind iface m _; do
        [ "$kind" = method ] && [ -z "$(method_access "$iface.$m")" ] && missing="$missing $iface.$m"
done < "$members"
[ -z "$missing" ] && ok "every method of the contract has an expected access here" \
        || ko "methods with no expected access in test-dbus-policy.sh (add them to method_access):$missing"
stale=""
for m in $(sed -n '/^method_access() {/,/^}/p' "$0" | grep -v '^ *#' | grep -o 'org\.[A-Za-z0-9_.]*'); do
        grep -q "^method ${m%.*} ${m##*.} " "$members" || stale="$stale $m"
done
[ -z "$stale" ] && ok "every expected access is for a member of the contract" \
        || ko "expected access for members not in the contract:$stale"
bad=""
while read -r kind iface p t access; do
        [ "$kind" = property ] && ! property_ok "$iface.$p" "$access" && bad="$bad $iface.$p ($access)"
done < "$members"
[ -z "$bad" ] && ok "every property of the contract is read-only, as the policy (no Set) assumes" \
        || ko "properties that are not read-only need a policy and a test:$bad"

# --- name ownership -----------------------------------------------------------
# Nobody but spasmd owns the name: root, carer and nobody are refused.
for u in $users; do
        got=$(rig_as "$u" $PY "$client" own org.spasmd.Monitor1 2>&1) || true
        [ "$got" = $deny ] && ok "$u cannot own org.spasmd.Monitor1" \
                || ko "$u owning org.spasmd.Monitor1: got '$got', expected $deny"
done
got=$(rig_as nobody gdbus call --system --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
        --method org.freedesktop.DBus.RequestName org.spasmd.Monitor1 4 2>&1) || true
case $got in *$deny*) ok "nobody: gdbus RequestName is denied" ;;
        *) ko "nobody: gdbus RequestName: got '$got', expected AccessDenied" ;; esac

rig_spawn spasmd $PY "$client" fake-service > "$RIG_DIR/fake.out" 2>&1
fake=$RIG_LAST
for _ in $(seq 100); do grep -q . "$RIG_DIR/fake.out" && break; sleep 0.05; done
if grep -qx ready "$RIG_DIR/fake.out"; then ok "user spasmd owns org.spasmd.Monitor1"
else ko "user spasmd cannot own org.spasmd.Monitor1: $(cat "$RIG_DIR/fake.out")"; done_tests "integration (dbus-policy)"; exit 1; fi

# --- methods --------------------------------------------------------------------
# call USER PATH IFACE.METHOD ARGS...: prints "ok" or the D-Bus error name.
call() {
        local who=$1 path=$2 m=$3 out; shift 3
        if out=$(rig_as "$who" gdbus call --system --timeout 10 --dest org.spasmd.Monitor1 \
                        --object-path "$path" --method "$m" "$@" 2>&1); then
                echo ok
        else
                echo "$out" | sed -n 's/.*GDBus\.Error:\([A-Za-z0-9_.]*\):.*/\1/p' | head -1 | grep . || echo "$out"
        fi
}
# passes RESULT: the bus delivered the call, and the service answered it. The
# stand-in answers its own methods with success, and others (a member new in
# the contract, a path it has no object on) with an error of its own; only
# AccessDenied comes from the bus's policy.
passes() {
        case $1 in
        ok | org.freedesktop.DBus.Error.UnknownMethod | org.freedesktop.DBus.Error.UnknownObject) return 0 ;;
        org.freedesktop.DBus.Python.*) return 0 ;;
        *) return 1 ;;
        esac
}
# args SIGNATURE [IFACE]: gdbus arguments for a call with that signature.
args() {
        local sig=$1 i c
        [ "$sig" = - ] && return 0
        case $sig in
        ss) echo "$2"; echo State; return 0 ;;
        s) if [ -n "${2:-}" ]; then echo "$2"; else echo "'rest'"; fi; return 0 ;;
        ssv) echo org.spasmd.Monitor1; echo Monitoring; echo '<false>'; return 0 ;;
        esac
        for ((i = 0; i < ${#sig}; i++)); do
                c=${sig:i:1}
                case $c in
                t) echo "uint64 0" ;; u) echo "uint32 100" ;; i) echo "int32 0" ;; x) echo "int64 0" ;;
                b) echo true ;; d) echo 0.0 ;; s) echo "'rest'" ;; o) echo "objectpath '/'" ;;
                *) echo "UNSUPPORTED:$sig"; return 1 ;;
                esac
        done
}
# allowed LEVEL USER: does the policy let USER call a member of that level?
allowed() {
        case $1 in
        all) return 0 ;;
        priv) [ "$2" = root ] || [ "$2" = carer ] ;;
        *) return 1 ;;
        esac
}
while read -r kind iface m sig rest; do
        [ "$kind" = method ] || continue
        level=$(method_access "$iface.$m")
        [ -n "$level" ] || continue
        mapfile -t a < <(args "$sig" "$([ "$iface" = org.freedesktop.DBus.Properties ] && echo org.spasmd.Monitor1)")
        case "${a[*]}" in *UNSUPPORTED*) ko "$iface.$m: no argument for signature $sig (extend args())"; continue ;; esac
        for u in $users; do
                got=$(call "$u" /org/spasmd/Monitor1 "$iface.$m" "${a[@]}")
                if allowed "$level" "$u"; then
                        passes "$got" && ok "$u: $iface.$m ($level) passes the bus ($got)" \
                                || ko "$u: $iface.$m ($level): got $got, expected it to pass the bus"
                else
                        [ "$got" = $deny ] && ok "$u: $iface.$m ($level) → $deny" \
                                || ko "$u: $iface.$m ($level): got $got, expected $deny"
                fi
        done
done < "$members"

# The standard ones on a sensor object too: the policy names no paths, so
# the same rules hold there.
for u in $users; do
        s=/org/spasmd/Monitor1/sensor/demo
        got=$(call "$u" $s org.freedesktop.DBus.Properties.GetAll org.spasmd.Sensor1)
        passes "$got" && ok "$u: Properties.GetAll on a sensor object passes the bus ($got)" || ko "$u: GetAll on $s: $got"
        got=$(call "$u" $s org.freedesktop.DBus.Properties.Set org.spasmd.Sensor1 Name '<"x">')
        [ "$got" = $deny ] && ok "$u: Properties.Set on a sensor object → $deny" || ko "$u: Set on $s: $got"
done

# Every property: Get passes the bus for everyone, Set is refused to everyone.
while read -r kind iface p t access; do
        [ "$kind" = property ] || continue
        for u in $users; do
                got=$(call "$u" /org/spasmd/Monitor1 org.freedesktop.DBus.Properties.Get "$iface" "$p")
                passes "$got" && r1=ok || r1="Get: $got"
                got=$(call "$u" /org/spasmd/Monitor1 org.freedesktop.DBus.Properties.Set "$iface" "$p" '<false>')
                [ "$got" = $deny ] && r2=ok || r2="Set: $got"
                [ "$r1 $r2" = "ok ok" ] && ok "$u: $iface.$p ($t, $access): Get passes the bus, Set → AccessDenied" \
                        || ko "$u: $iface.$p: $r1, $r2"
        done
done < "$members"

# Members that are not in the contract stay closed: the policy names members.
for u in $users; do
        got=$(call "$u" /org/spasmd/Monitor1 org.spasmd.Monitor1.Secret)
        [ "$got" = $deny ] && ok "$u: org.spasmd.Monitor1.Secret (not in the contract) → $deny" \
                || ko "$u: Secret: got $got, expected $deny"
        got=$(call "$u" /org/spasmd/Monitor1 org.spasmd.Sensor1.Reset)
        [ "$got" = $deny ] && ok "$u: org.spasmd.Sensor1.Reset (not in the contract) → $deny" \
                || ko "$u: Sensor1.Reset: got $got, expected $deny"
done

# The spasmd group, not the user name, opens the privileged calls: carer
# without its supplementary groups is refused.
got=$(HOME=/ setpriv --reuid=carer --regid=carer --clear-groups gdbus call --system --dest org.spasmd.Monitor1 \
        --object-path /org/spasmd/Monitor1 --method org.spasmd.Monitor1.ResetCalibration 2>&1) || true
case $got in *"$deny"*) ok "carer without group spasmd: ResetCalibration → AccessDenied" ;;
        *) ko "carer without group spasmd: ResetCalibration: got '$got', expected $deny" ;; esac

# busctl too: nobody reads, nobody is refused.
if out=$(rig_as nobody busctl --system get-property org.spasmd.Monitor1 /org/spasmd/Monitor1 org.spasmd.Monitor1 State 2>&1) \
        && [ "$out" = 's "idle"' ]; then ok "nobody: busctl get-property State"; else ko "nobody: busctl get-property: $out"; fi
if out=$(rig_as nobody busctl --system call org.spasmd.Monitor1 /org/spasmd/Monitor1 org.spasmd.Monitor1 SetMonitoring b false 2>&1); then
        ko "nobody: busctl SetMonitoring went through: $out"
else
        case $out in *"denied"*|*"Access"*) ok "nobody: busctl SetMonitoring is refused ($out)" ;; *) ko "nobody: busctl SetMonitoring: $out" ;; esac
fi
if out=$(busctl --system call org.spasmd.Monitor1 /org/spasmd/Monitor1 org.spasmd.Monitor1 SetMonitoring b true 2>&1); then
        ok "root: busctl SetMonitoring"; else ko "root: busctl SetMonitoring: $out"; fi

# --- signals ----------------------------------------------------------------------
# The stand-in's Advisory reaches nobody and carer.
for u in nobody carer; do
        got=$(rig_as "$u" $PY "$client" recv-signal 3 2>&1) || true
        [ "$got" = "got Advisory" ] && ok "$u receives org.spasmd.Monitor1 signals" || ko "$u: signal: $got"
done
# Then every signal of the contract (and the standard ones spasmd sends), from
# an emitter that owns the name in the stand-in's place, to every user.
kill -TERM "$fake" 2>/dev/null && wait "$fake" 2>/dev/null || true
cat > "$RIG_DIR/signals.py" <<'PY'
import sys, time
import dbus
import dbus.lowlevel
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

NAME, PATH = "org.spasmd.Monitor1", "/org/spasmd/Monitor1"

def value(sig, i=0):
    """A zero value for the complete type at sig[i:], and where it ends."""
    c = sig[i]
    if c in "ynqiuxth":
        return 0, i + 1
    if c == "d":
        return 0.0, i + 1
    if c == "b":
        return False, i + 1
    if c in "sg":
        return "", i + 1
    if c == "o":
        return dbus.ObjectPath("/"), i + 1
    if c == "v":
        return dbus.String(""), i + 1
    if c == "a":
        j = i + 1
        if sig[j] == "{":
            _, k = value(sig, j + 1)
            _, k = value(sig, k)
            return dbus.Dictionary({}, signature=sig[j + 1:k]), k + 1
        _, k = value(sig, j)
        return dbus.Array([], signature=sig[j:k]), k
    if c == "(":
        vals, j = [], i + 1
        while sig[j] != ")":
            v, j = value(sig, j)
            vals.append(v)
        return dbus.Struct(vals, signature=sig[i + 1:j]), j + 1
    raise ValueError("signature " + sig)

def emit(members_file):
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    # The stand-in may still be letting go of the name.
    for _ in range(50):
        if bus.request_name(NAME, dbus.bus.NAME_FLAG_DO_NOT_QUEUE) == dbus.bus.REQUEST_NAME_REPLY_PRIMARY_OWNER:
            break
        time.sleep(0.1)
    else:
        print("cannot own " + NAME)
        return 1
    sigs = [l.split() for l in open(members_file) if l.startswith("signal ")]

    def tick():
        for _, iface, member, sig in sigs:
            msg = dbus.lowlevel.SignalMessage(PATH, iface, member)
            if sig != "-":
                args, i = [], 0
                while i < len(sig):
                    v, i = value(sig, i)
                    args.append(v)
                msg.append(*args, signature=sig)
            bus.send_message(msg)
        return True
    GLib.timeout_add(100, tick)
    print("ready")
    sys.stdout.flush()
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, 15, loop.quit)
    loop.run()
    return 0

def receive(members_file, seconds):
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    want = {"%s.%s" % (l.split()[1], l.split()[2]) for l in open(members_file) if l.startswith("signal ")}
    got = set()
    loop = GLib.MainLoop()

    def on_sig(*args, **kw):
        got.add("%s.%s" % (kw["iface"], kw["member"]))
        if want <= got:
            loop.quit()
    bus.add_signal_receiver(on_sig, bus_name=NAME, interface_keyword="iface", member_keyword="member")
    GLib.timeout_add(int(seconds * 1000), loop.quit)
    loop.run()
    for m in sorted(want):
        print(("got " if m in got else "missing ") + m)
    return 0

if __name__ == "__main__":
    sys.exit(emit(sys.argv[2]) if sys.argv[1] == "emit" else receive(sys.argv[2], float(sys.argv[3])))
PY
chmod 644 "$RIG_DIR/signals.py"
rig_spawn spasmd $PY "$RIG_DIR/signals.py" emit "$members" > "$RIG_DIR/emit.out" 2>&1
for _ in $(seq 100); do grep -q . "$RIG_DIR/emit.out" && break; sleep 0.05; done
if grep -qx ready "$RIG_DIR/emit.out"; then
        for u in $users; do
                rig_as "$u" $PY "$RIG_DIR/signals.py" receive "$members" 5 > "$RIG_DIR/recv.$u" 2>&1 || true
                n=$(grep -c '^got ' "$RIG_DIR/recv.$u" || true)
                if [ "$n" -gt 0 ] && ! grep -vq '^got ' "$RIG_DIR/recv.$u"; then
                        ok "$u receives every signal ($n: $(sed -n 's/^got .*\.//p' "$RIG_DIR/recv.$u" | tr '\n' ' '))"
                else ko "$u: signals: $(grep -v '^got ' "$RIG_DIR/recv.$u" | tr '\n' ' ')"; fi
        done
else ko "the signal emitter cannot own org.spasmd.Monitor1: $(cat "$RIG_DIR/emit.out")"; fi

done_tests "integration (dbus-policy)"
