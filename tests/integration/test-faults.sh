#!/bin/bash
# Faults, each with the same two questions: is every completed event still
# announced and in the history, and does the daemon stay up (or, when the
# bus goes, exit with a failure so that systemd restarts it)?
#
#   fault                                   where
#   sensor unplugged mid-stream, plugged    here (faults_iio.py unplug): libiio's local backend on a fake sysfs;
#     back                                  test-daemon-local.sh has the plain reconnect
#   remote iiod stalls (shorter and longer  here (faults_iio.py iiod): tests/rig/iiod_emulator.py, one spasmd
#     than the read timeout), resets the      per fault, all at once; test-daemon-iio.sh has the plain reconnect
#     connection (between events and in
#     the middle of a spasm), sends garbage
#   a config reload with errors             here (faults_iio.py reload): seven kinds of broken file, a missing
#                                             file and a SIGHUP storm during a replay; test-replay.sh has one
#   ENOSPC on the state directory           test-history.sh
#   EIO on the state directory              here (faults_dbus.py eio): tests/fault/eio.c, LD_PRELOADed
#   SIGKILL during history writes, x100     test-history.sh (HISTORY_KILLS, default 100)
#   the wall clock jumps +1 h, -1 h, +1 h   here (faults_dbus.py clock): tests/fault/clock.c, LD_PRELOADed
#   dbus-daemon restarted under spasmd      here (faults_dbus.py bus-restart), a bus with the rig's configuration
#   1000 clients subscribe, die at once     here (faults_dbus.py clients), on the rig's system bus
#   nobody floods GetEvents                 here (faults_dbus.py flood): RateLimited, no sample dropped,
#                                             events on time
#
# All but the flood run at the same time (most of them wait on real time):
# without D-Bus, on a private bus each, on a bus made from the rig's
# configuration (the restart), and on the rig's system bus
# (tests/integration/dbus-rig.sh: real policy, real users; the clients).
# The flood then runs alone, since it measures latency. About 90 s.
#
#   tests/integration/test-faults.sh [BUILD]
#   FAULTS_ONLY="iiod clock" ...     some of: iiod unplug reload eio clock bus-restart clients flood
#   FAULTS_CLIENTS=N ...             clients for the 1000-client test (default 1000)
#   FAULTS_REDUCED=1 ...             the short set, about 45 s: the iiod faults that differ most (a
#                                    long stall, a reset in the middle of a spasm), no unplug (libiio's
#                                    local backend on its own is in test-daemon-local.sh), no clock
#                                    (45 s of real time; the origin logic it checks is plain C), 400
#                                    clients, a shorter flood. The default under ASan (SANITIZE=1, as
#                                    make check's second integration pass sets it).
set -eu
build=$(cd "${1:-build}" && pwd)
name="integration (faults)"
. tests/integration/tap.sh
. tests/integration/dbus-rig.sh
PY=/usr/bin/python3
missing=""
for f in "$build/spasmd" "$build/spasmctl" "$build/fault/eio.so" "$build/fault/clock.so"; do
        [ -e "$f" ] || missing="$missing $f"
done
$PY -c 'import numpy' 2>/dev/null || missing="$missing python3-numpy"
if [ -n "$missing" ]; then
        echo "$name: missing$missing (make integration builds them)"
        echo "$name: 0 passed, 1 failed"
        exit 1
fi
rig_enter "$name" "$0" "$@"
rig_start || { ko "the private system bus starts"; done_tests "$name"; exit 1; }

reduced=${FAULTS_REDUCED:-${SANITIZE:-0}}
if [ "$reduced" = 1 ]; then
        only=${FAULTS_ONLY:-iiod reload eio bus-restart clients flood}
        n_clients=${FAULTS_CLIENTS:-400}
        iiod_only="stall-long,disconnect-mid-spasm"
        flood_args=(--cut 20 --seconds 6)
        echo "# the reduced set: $only"
else
        only=${FAULTS_ONLY:-iiod unplug reload eio clock bus-restart clients flood}
        n_clients=${FAULTS_CLIENTS:-1000}
        iiod_only=""
        flood_args=(--cut 30 --seconds 12)
fi
want() { case " $only " in *" $1 "*) return 0 ;; esac; return 1; }

work=$RIG_DIR/work
mkdir -m 755 "$work"
rec=$PWD/tests/data/demo-lumbar.csv
# The daemon runs as user spasmd below: a copy it can reach, and that stays the same if the build is remade.
install -m 755 "$build/spasmd" "$work/spasmd"
spasmd=$work/spasmd
"$spasmd" --version > /dev/null 2>&1 || spasmd=$build/spasmd    # /tmp mounted noexec
spasmctl=$build/spasmctl
cp "$rec" "$work/demo.csv" && chmod 644 "$work/demo.csv"

# report FILE STATUS: FILE's ok/not ok lines count here; a failure without a "not ok" line (a crash) too.
report() {
        local line before=$fail
        while IFS= read -r line; do
                case $line in
                "ok - "*) ok "${line#ok - }" ;;
                "not ok - "*) ko "${line#not ok - }" ;;
                *) echo "$line" ;;
                esac
        done < "$1"
        [ "$2" = 0 ] || [ "$fail" -gt "$before" ] || ko "$(basename "$1" .out) exited with status $2"
}

# --- at the same time ---------------------------------------------------------------------------
t0=$(date +%s)
jobs_started=""
start_job() { # NAME CMD...: in the background, its output in $work/NAME.out, its pid in job_NAME
        local n=$1; shift
        "$@" > "$work/$n.out" 2>&1 &
        rig_track $!            # stopped if this script is
        jobs_started="$jobs_started $n"
        printf -v "job_${n//-/_}" %s $!
}
want iiod && start_job iiod $PY tests/integration/faults_iio.py iiod --spasmd "$spasmd" --spasmctl "$spasmctl" \
        --recording "$rec" --work "$work/iiod" --only "$iiod_only"
want unplug && start_job unplug $PY tests/integration/faults_iio.py unplug --spasmd "$spasmd" --spasmctl "$spasmctl" \
        --recording "$rec" --work "$work/unplug"
want reload && start_job reload $PY tests/integration/faults_iio.py reload --spasmd "$spasmd" --spasmctl "$spasmctl" \
        --recording "$rec" --work "$work/reload"
if want eio; then
        # Dense in events: 16 in 83 s, 10 s at speed 8.
        $PY tests/sim/scenes.py --out "$work/scenes" --set check --only twitches_lying > /dev/null
        start_job eio $PY tests/integration/faults_dbus.py eio --spasmd "$spasmd" --shim "$build/fault/eio.so" \
                --recording "$work/scenes/twitches_lying.csv" --speed 8 --work "$work/eio"
fi
want clock && start_job clock $PY tests/integration/faults_dbus.py clock --spasmd "$spasmd" --spasmctl "$spasmctl" \
        --shim "$build/fault/clock.so" --recording "$rec" --work "$work/clock"
if want bus-restart; then
        grep -q '^Restart=on-failure' systemd/spasmd.service \
                && ok "systemd/spasmd.service has Restart=on-failure: a failed exit is a restart" \
                || ko "systemd/spasmd.service: no Restart=on-failure"
        # The rig's configuration, listening elsewhere: a bus that can die without taking the others along.
        mkdir -m 755 "$work/restart-bus"
        sed "s|<listen>.*</listen>|<listen>unix:path=$work/restart-bus/socket</listen>|" "$RIG_DIR/system.conf" \
                > "$work/restart-bus.conf"
        start_job bus-restart $PY tests/integration/faults_dbus.py bus-restart --spasmd "$spasmd" \
                --recording "$work/demo.csv" --work "$work/restart" --bus-config "$work/restart-bus.conf"
fi
want clients && start_job clients $PY tests/integration/faults_dbus.py clients --spasmd "$spasmd" \
        --spasmctl "$spasmctl" --recording "$work/demo.csv" --speed 4 --clients "$n_clients" --work "$work/clients"
for n in $jobs_started; do
        pid_var=job_${n//-/_}
        rc=0
        wait "${!pid_var}" || rc=$?
        echo "# --- $n"
        report "$work/$n.out" $rc
done
echo "# those took $(($(date +%s) - t0)) s"

# --- then the flood, alone ---------------------------------------------------------------------
if want flood; then
        echo "# --- flood"
        rc=0
        $PY tests/integration/faults_dbus.py flood --spasmd "$spasmd" --spasmctl "$spasmctl" \
                --recording "$work/demo.csv" --emulator "$PWD/tests/rig/iiod_emulator.py" --work "$work/flood" \
                "${flood_args[@]}" --flooders 1,1,20 > "$work/flood.out" 2>&1 || rc=$?
        report "$work/flood.out" $rc
fi
echo "# all took $(($(date +%s) - t0)) s"
done_tests "$name"
