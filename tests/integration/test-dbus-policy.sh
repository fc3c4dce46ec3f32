#!/bin/bash
# The D-Bus policy file (conf/org.spasmd.Monitor1.conf) on its own, without
# the daemon: on a private bus with Debian's system.conf and the real policy
# (tests/integration/dbus-rig.sh), a stand-in service owned by user spasmd
# answers every method, Properties.Set included, so any refusal comes from
# the bus. The allow/deny matrix is checked for root, carer (in group
# spasmd) and nobody, with gdbus, busctl and python3-dbus.
set -eu
. tests/integration/tap.sh
. tests/integration/dbus-rig.sh
rig_enter "integration (dbus-policy)" "$0" "$@"
rig_start || { ko "the private system bus starts with the policy included"; done_tests "integration (dbus-policy)"; exit 1; }
ok "dbus-daemon starts with system.conf and the policy included (the policy parses)"
PY=/usr/bin/python3
client=$PWD/tests/integration/dbus_client.py

# errname USER METHOD ARGS...: calls with gdbus, prints "ok" or the D-Bus error name.
errname() {
        local who=$1 m=$2; shift 2
        local out
        if out=$(rig_as "$who" gdbus call --system --timeout 10 --dest org.spasmd.Monitor1 \
                        --object-path /org/spasmd/Monitor1 --method "$m" "$@" 2>&1); then
                echo ok
        else
                echo "$out" | sed -n 's/.*GDBus\.Error:\([A-Za-z0-9_.]*\):.*/\1/p' | head -1 | grep . || echo "$out"
        fi
}
# expect USER WANT METHOD ARGS...: WANT is "ok" or an error name.
expect() {
        local who=$1 want=$2 m=$3; shift 3
        local got
        got=$(errname "$who" "$m" "$@")
        if [ "$got" = "$want" ]; then ok "$who: $m → $want"; else ko "$who: $m: got $got, expected $want"; fi
}

# Nobody but spasmd owns the name: root, carer and nobody are refused.
for u in root carer nobody; do
        got=$(rig_as "$u" $PY "$client" own org.spasmd.Monitor1 2>&1) || true
        [ "$got" = org.freedesktop.DBus.Error.AccessDenied ] && ok "$u cannot own org.spasmd.Monitor1" \
                || ko "$u owning org.spasmd.Monitor1: got '$got', expected org.freedesktop.DBus.Error.AccessDenied"
done
got=$(rig_as nobody gdbus call --system --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
        --method org.freedesktop.DBus.RequestName org.spasmd.Monitor1 4 2>&1) || true
case $got in *org.freedesktop.DBus.Error.AccessDenied*) ok "nobody: gdbus RequestName is denied" ;;
        *) ko "nobody: gdbus RequestName: got '$got', expected AccessDenied" ;; esac

rig_spawn spasmd $PY "$client" fake-service > "$RIG_DIR/fake.out" 2>&1
for _ in $(seq 100); do grep -q . "$RIG_DIR/fake.out" && break; sleep 0.05; done
if grep -qx ready "$RIG_DIR/fake.out"; then ok "user spasmd owns org.spasmd.Monitor1"
else ko "user spasmd cannot own org.spasmd.Monitor1: $(cat "$RIG_DIR/fake.out")"; done_tests "integration (dbus-policy)"; exit 1; fi

deny=org.freedesktop.DBus.Error.AccessDenied
for u in root carer nobody; do
        expect "$u" ok org.spasmd.Monitor1.GetEvents 0 100
        expect "$u" ok org.freedesktop.DBus.Properties.Get org.spasmd.Monitor1 State
        expect "$u" ok org.freedesktop.DBus.Properties.GetAll org.spasmd.Monitor1
        expect "$u" ok org.freedesktop.DBus.Introspectable.Introspect
        expect "$u" ok org.freedesktop.DBus.ObjectManager.GetManagedObjects
        expect "$u" ok org.freedesktop.DBus.Peer.Ping
        expect "$u" ok org.freedesktop.DBus.Peer.GetMachineId
        expect "$u" "$deny" org.freedesktop.DBus.Properties.Set org.spasmd.Monitor1 Monitoring '<false>'
        expect "$u" "$deny" org.spasmd.Monitor1.Secret
done
for u in root carer; do
        expect "$u" ok org.spasmd.Monitor1.Calibrate rest
        expect "$u" ok org.spasmd.Monitor1.ResetCalibration
        expect "$u" ok org.spasmd.Monitor1.SetMonitoring true
done
expect nobody "$deny" org.spasmd.Monitor1.Calibrate rest
expect nobody "$deny" org.spasmd.Monitor1.ResetCalibration
expect nobody "$deny" org.spasmd.Monitor1.SetMonitoring true
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

# Signals reach everyone.
for u in nobody carer; do
        got=$(rig_as "$u" $PY "$client" recv-signal 3 2>&1) || true
        [ "$got" = "got Advisory" ] && ok "$u receives org.spasmd.Monitor1 signals" || ko "$u: signal: $got"
done

done_tests "integration (dbus-policy)"
