#!/bin/bash
# spasmd on a private system bus with the real policy and real users
# (tests/integration/dbus-rig.sh), against its contract,
# conf/org.spasmd.Monitor1.xml, with busctl, gdbus and python3-dbus:
#   run 1: the demo recording replayed at 5x by spasmd running as user
#     spasmd. Meanwhile the live introspection, GetManagedObjects, the
#     properties, the errors and the access matrix (root, carer in group
#     spasmd, nobody) are checked, and nobody records every signal: their
#     order and ids, the spasms, twitch and advisory against
#     `spasmctl analyze`, PropertiesChanged.
#   run 2: restarted on the same history: GetEvents has run 1's events,
#     SpasmsToday and LastEvent carry on, new ids continue, SetMonitoring.
set -eu
build=$(cd "${1:-build}" && pwd)
name="integration (dbus)"
. tests/integration/tap.sh
. tests/integration/dbus-rig.sh
if ! "$build/spasmd" --help 2>&1 | grep -q -- '--bus'; then
        echo "$name: $build/spasmd --help does not mention --bus"
        echo "$name: 0 passed, 1 failed"
        exit 1
fi
rig_enter "$name" "$0" "$@"
rig_start || { ko "the private system bus starts"; done_tests "$name"; exit 1; }

PY=/usr/bin/python3
client=$PWD/tests/integration/dbus_client.py
xml=$PWD/conf/org.spasmd.Monitor1.xml
rec=$PWD/tests/data/demo-lumbar.csv
obj=/org/spasmd/Monitor1
sensor=$obj/sensor/demo
deny=org.freedesktop.DBus.Error.AccessDenied
out=$RIG_DIR/out
mkdir -m 1777 "$out"
install -d -o spasmd -g spasmd -m 700 "$RIG_DIR/state"
cat > "$RIG_DIR/spasmd.conf" <<EOF
[history]
directory = $RIG_DIR/state
[advisory]
max_spasms_per_day = 1
[sensor.demo]
uri = replay:$rec
speed = 5
EOF
chmod 644 "$RIG_DIR/spasmd.conf"
"$build/spasmctl" analyze --json "$rec" > "$out/analyze.jsonl"
# Both runs use this copy, even if the build is remade meanwhile.
spasmd=$RIG_DIR/spasmd
install -m 755 "$build/spasmd" "$spasmd"
"$spasmd" --version > /dev/null 2>&1 || spasmd=$build/spasmd    # /tmp mounted noexec

# py USER CHECK ARGS...: a dbus_client.py check; its ok/not ok lines count here.
# A non-zero exit without a "not ok" line (a crash before any check) fails too.
py() {
        local u=$1 line rc=0 before=$fail; shift
        rig_as "$u" $PY "$client" "$@" > "$out/py.txt" 2>&1 || rc=$?
        while IFS= read -r line; do
                case $line in
                "ok - "*) ok "${line#ok - }" ;;
                "not ok - "*) ko "${line#not ok - }" ;;
                *) echo "$line" ;;
                esac
        done < "$out/py.txt"
        [ "$rc" = 0 ] || [ "$fail" -gt "$before" ] || ko "dbus_client.py $1 exited with status $rc"
}
# gcall USER METHOD ARGS...: gdbus call; prints "ok" or the D-Bus error name.
gcall() {
        local u=$1 m=$2 o; shift 2
        if o=$(rig_as "$u" gdbus call --system --timeout 20 --dest org.spasmd.Monitor1 --object-path $obj \
                        --method "$m" "$@" 2>&1); then
                echo ok
        else
                echo "$o" | sed -n 's/.*GDBus\.Error:\([A-Za-z0-9_.]*\):.*/\1/p' | head -1 | grep . || echo "$o"
        fi
}
expect() {
        local u=$1 want=$2 m=$3 got; shift 3
        got=$(gcall "$u" "$m" "$@")
        if [ "$got" = "$want" ]; then ok "$u: $m $* → $want"; else ko "$u: $m $*: got $got, expected $want"; fi
}
# prop USER PATH IFACE NAME: busctl get-property's line ("TYPE VALUE").
prop() { rig_as "$1" busctl --system get-property org.spasmd.Monitor1 "$2" "$3" "$4" 2>&1; }
# wait_for SECONDS COMMAND...: polls every 0.1 s.
wait_for() {
        local n=$(($1 * 10)); shift
        while [ $n -gt 0 ]; do "$@" && return 0; n=$((n - 1)); sleep 0.1; done
        return 1
}
# start_monitor FILE: nobody records the signals into FILE; pid in RIG_LAST.
start_monitor() {
        rig_spawn nobody $PY "$client" monitor "$1" 60 > "$1.out" 2>&1
        wait_for 10 grep -qx ready "$1.out" || { ko "signal monitor did not start: $(cat "$1.out")"; return 1; }
}
# wait_exit PID SECONDS: the exit status, or 124 after SECONDS.
wait_exit() {
        local _
        for _ in $(seq $(($2 * 10))); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$1" 2>/dev/null && return 124
        wait "$1"
}
start_daemon() {
        rig_spawn spasmd "$spasmd" --config "$RIG_DIR/spasmd.conf" --bus=system > "$1" 2>&1
        dpid=$RIG_LAST
        if rig_as root gdbus wait --system --timeout 15 org.spasmd.Monitor1; then
                ok "spasmd, run as user spasmd, owns org.spasmd.Monitor1 ($2)"
        else
                ko "spasmd did not appear on the bus ($2): $(tail -5 "$1")"
                return 1
        fi
}
finish() { [ "$fail" = 0 ] || for f in "$out"/*.log; do echo "# --- $f"; tail -20 "$f" | sed 's/^/# /'; done; done_tests "$name"; }

# --- run 1 ------------------------------------------------------------------
start_monitor "$out/run1.jsonl" || { finish; exit 1; }
mon1=$RIG_LAST
start_daemon "$out/run1.log" "run 1" || { finish; exit 1; }
d1=$dpid
t0=$(date +%s)

wait_for 5 sh -c "busctl --system get-property org.spasmd.Monitor1 $sensor org.spasmd.Sensor1 Connected 2>/dev/null | grep -qx 'b true'" \
        && ok "sensor demo connects" || ko "sensor demo: Connected is $(prop root $sensor org.spasmd.Sensor1 Connected)"

# Introspection, busctl and gdbus, against the contract.
busctl --system introspect --xml-interface org.spasmd.Monitor1 $obj > "$out/busctl-monitor.xml" 2>&1 || true
gdbus introspect --system --xml --dest org.spasmd.Monitor1 --object-path $obj > "$out/gdbus-monitor.xml" 2>&1 || true
rig_as nobody gdbus introspect --system --xml --dest org.spasmd.Monitor1 --object-path $sensor > "$out/gdbus-sensor.xml" 2>&1 || true
py root check-xml "$xml" "$out/busctl-monitor.xml" "busctl introspect" $obj
py root check-xml "$xml" "$out/gdbus-monitor.xml" "gdbus introspect" $obj
py root check-xml "$xml" "$out/gdbus-sensor.xml" "gdbus introspect (as nobody)" $sensor

# Every property, as nobody with busctl: readable, with the contract's type.
bad=""
while read -r p t; do
        line=$(prop nobody $obj org.spasmd.Monitor1 "$p")
        [ "${line%% *}" = "$t" ] || bad="$bad $p: got '$line', expected type $t;"
done < <($PY -c 'import sys, xml.etree.ElementTree as E
for i in E.parse(sys.argv[1]).getroot().iter("interface"):
    if i.get("name") == "org.spasmd.Monitor1":
        for p in i.iter("property"): print(p.get("name"), p.get("type"))' "$xml")
[ -z "$bad" ] && ok "nobody: busctl get-property, every Monitor1 property with the contract's type" || ko "busctl get-property:$bad"
v=$(prop nobody $obj org.spasmd.Monitor1 Version)
if [ "$v" != 's ""' ] && [ "$("$spasmd" --version)" = "spasmd $(echo "$v" | sed 's/^s "\(.*\)"$/\1/')" ]; then
        ok "Version ($v) is spasmd --version's"
else ko "Version: got $v, spasmd --version says $("$spasmd" --version)"; fi
py nobody check-objects "$xml" "replay:$rec"

# Errors.
expect root org.spasmd.Error.LimitExceeded org.spasmd.Monitor1.GetEvents 0 10001
expect root org.spasmd.Error.InvalidArgument org.spasmd.Monitor1.GetEvents 0 0
expect root ok org.spasmd.Monitor1.GetEvents 0 10000
expect root org.spasmd.Error.UnknownKind org.spasmd.Monitor1.Calibrate bogus
expect root "$deny" org.freedesktop.DBus.Properties.Set org.spasmd.Monitor1 Monitoring '<false>'

# The access matrix on the real daemon.
expect nobody "$deny" org.spasmd.Monitor1.Calibrate bogus
expect nobody "$deny" org.spasmd.Monitor1.ResetCalibration
expect nobody "$deny" org.spasmd.Monitor1.SetMonitoring true
expect nobody "$deny" org.freedesktop.DBus.Properties.Set org.spasmd.Monitor1 Monitoring '<false>'
if o=$(rig_as nobody busctl --system call org.spasmd.Monitor1 $obj org.spasmd.Monitor1 GetEvents tu 0 100 2>&1) \
        && [ "${o%% *}" = "a(tssttddddss)" ]; then ok "nobody: busctl GetEvents"; else ko "nobody: busctl GetEvents: $o"; fi
expect nobody ok org.freedesktop.DBus.Peer.Ping
expect carer ok org.spasmd.Monitor1.ResetCalibration
expect carer org.spasmd.Error.UnknownKind org.spasmd.Monitor1.Calibrate bogus
expect root ok org.spasmd.Monitor1.ResetCalibration
o=$(rig_as nobody $PY "$client" own org.spasmd.Monitor1 2>&1) || true
[ "$o" = "$deny" ] && ok "nobody cannot own org.spasmd.Monitor1 (python3-dbus)" || ko "nobody owning the name: got '$o', expected $deny"
o=$(rig_as nobody gdbus call --system --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
        --method org.freedesktop.DBus.RequestName org.spasmd.Monitor1 4 2>&1) || true
case $o in *"$deny"*) ok "nobody cannot own org.spasmd.Monitor1 (gdbus RequestName)" ;;
        *) ko "nobody: gdbus RequestName: got '$o', expected $deny" ;; esac

# Once the first event is over (15 s into the recording), the sensor knows its resting level.
wait_for 15 grep -q '"member": "ActivityEnded"' "$out/run1.jsonl" || true
nf=$(prop nobody $sensor org.spasmd.Sensor1 NoiseFloor)
ec=$(prop nobody $sensor org.spasmd.Sensor1 ElectrodeContact)
awk -v v="${nf#d }" 'BEGIN { exit !(v > 0) }' && ok "sensor NoiseFloor after 15 s of recording: $nf" \
        || ko "sensor NoiseFloor after 15 s of recording: got $nf, expected > 0"
case $ec in 's "good"'|'s "poor"') ok "sensor ElectrodeContact on a clean recording: $ec" ;;
        *) ko "sensor ElectrodeContact on a clean recording, 15 s in: got $ec, expected good or poor" ;; esac

# The replay ends (91.4 s at 5x); spasmd exits by itself.
if wait_exit "$d1" 40; then ok "run 1: spasmd exits 0 when the replay ends ($(($(date +%s) - t0)) s)"
else ko "run 1: spasmd exit status $? (124: still running after 40 s)"; fi
wait_exit "$mon1" 10 || true
py root check-run1 "$xml" "$out/run1.jsonl" "$out/analyze.jsonl"

# --- run 2: a restart on the same history -------------------------------------
start_monitor "$out/run2.jsonl" || { finish; exit 1; }
mon2=$RIG_LAST
start_daemon "$out/run2.log" "run 2" || { finish; exit 1; }
d2=$dpid
py nobody check-history "$out/run1.jsonl"
# The twitch at 15 s of the recording: an event after the restart.
wait_for 15 grep -q '"member": "ActivityEnded"' "$out/run2.jsonl" && ok "run 2: a new activity ends" \
        || ko "run 2: no ActivityEnded within 15 s"
expect root ok org.spasmd.Monitor1.SetMonitoring false
st() { [ "$(prop root $obj org.spasmd.Monitor1 State)" = "$1" ] && [ "$(prop root $obj org.spasmd.Monitor1 Monitoring)" = "$2" ]; }
wait_for 3 st 's "idle"' "b false" && ok "SetMonitoring(false): State idle, Monitoring false" \
        || ko "SetMonitoring(false): got $(prop root $obj org.spasmd.Monitor1 State), $(prop root $obj org.spasmd.Monitor1 Monitoring); expected s \"idle\", b false"
expect root ok org.spasmd.Monitor1.SetMonitoring true
resumed() { st 's "monitoring"' "b true" || st 's "activity"' "b true" || st 's "spasm"' "b true"; }
wait_for 3 resumed && ok "SetMonitoring(true): Monitoring true, State no longer idle" \
        || ko "SetMonitoring(true): got $(prop root $obj org.spasmd.Monitor1 State), $(prop root $obj org.spasmd.Monitor1 Monitoring)"
# Calibrate("max") as a member of the spasmd group: the reply comes after its 3 s, one level per EMG channel.
o=$(rig_as carer busctl --system call org.spasmd.Monitor1 $obj org.spasmd.Monitor1 Calibrate s max 2>&1) || true
if echo "$o" | grep -Eq '^a\(ssd\) 2 "demo" "emg_left" [0-9.e+-]+ "demo" "emg_right" [0-9.e+-]+$' \
        && echo "$o" | awk '{ exit !($5 > 0 && $8 > 0) }'; then
        ok "carer: Calibrate(max) answers with both channels' levels: $o"
else ko "carer: Calibrate(max): got '$o'"; fi
[ "$(prop nobody $obj org.spasmd.Monitor1 Calibrated)" = "b true" ] && ok "Calibrated is true after Calibrate(max)" \
        || ko "Calibrated after Calibrate(max): $(prop nobody $obj org.spasmd.Monitor1 Calibrated)"
expect carer ok org.spasmd.Monitor1.ResetCalibration
[ "$(prop nobody $obj org.spasmd.Monitor1 Calibrated)" = "b false" ] && ok "Calibrated is false after ResetCalibration" \
        || ko "Calibrated after ResetCalibration: $(prop nobody $obj org.spasmd.Monitor1 Calibrated)"
o=$(rig_as nobody busctl --system call org.spasmd.Monitor1 $obj org.spasmd.Monitor1 Calibrate s max 2>&1) || true
case $o in *"Access denied"*|*AccessDenied*) ok "nobody: Calibrate(max) denied" ;; *) ko "nobody: Calibrate(max): got '$o'" ;; esac
kill -TERM "$d2"
if wait_exit "$d2" 10; then ok "run 2: SIGTERM, exit 0"; else ko "run 2: exit status $? after SIGTERM"; fi
wait_exit "$mon2" 10 || true
py root check-run2 "$out/run1.jsonl" "$out/run2.jsonl"

finish
