#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# make demo: the bundled recording, first analysed offline, then replayed
# through spasmd in real time on a private D-Bus bus while `spasmctl monitor`
# shows the events as spasmd announces them. Nothing here touches the system
# bus, /etc or /var/lib: the bus, the configuration and the history are the
# demo's own.
#
#   tools/demo.sh BUILD_DIR [RECORDING]
set -u

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
        echo "usage: $0 BUILD_DIR [RECORDING]" >&2
        exit 64
fi
shown_build=${1%/}
build=$(realpath "$1")
recording=$(realpath "${2:-$(dirname "$0")/../tests/data/demo-lumbar.csv}")
shown_recording=${2:-$recording}
spasmd=$build/spasmd
spasmctl=$build/spasmctl
conf=$build/demo.conf
state=$build/demo-state
log=$build/demo-spasmd.log
shown_log=$shown_build/demo-spasmd.log
events=$build/demo-monitor.log

for tool in dbus-daemon:dbus-daemon dbus-send:dbus-bin; do
        command -v "${tool%%:*}" > /dev/null && continue
        echo "demo: ${tool%%:*} is missing: apt-get install ${tool#*:}" >&2
        exit 69
done
# A spasmd from before D-Bus would ignore the bus and the monitor would wait forever.
if ! "$spasmd" --help 2>&1 | grep -q -- '--bus'; then
        echo "demo: $shown_build/spasmd has no --bus option yet; rebuild it" >&2
        exit 69
fi

echo "== spasmctl analyze $shown_recording"
analysis=$("$spasmctl" analyze "$shown_recording") || exit
printf '%s\n' "$analysis"
# "events: spasm 2, twitch 1, voluntary 3; ...": what the live run should announce too.
expected=$(printf '%s\n' "$analysis" | sed -n 's/^ *events: spasm \([0-9]*\), twitch \([0-9]*\), voluntary \([0-9]*\);.*/\1 \2 \3/p')
length=$(printf '%s\n' "$analysis" | sed -n '1s/.*, \([0-9]*\)\.[0-9]* s$/\1/p')
echo

bus_pid= spasmd_pid= monitor_pid= tee_pid= started= how=
fifo=$build/demo-monitor.fifo
# Monitor first: spasmd leaving the bus is news only when it leaves by itself.
cleanup() {
        local pid
        for pid in "$monitor_pid" "$spasmd_pid"; do
                [ -n "$pid" ] && kill -TERM "$pid" 2> /dev/null && wait "$pid" 2> /dev/null
        done
        [ -n "$bus_pid" ] && kill -TERM "$bus_pid" 2> /dev/null
        # tee ends once monitor has; wait for it so the summary counts the last line.
        [ -n "$tee_pid" ] && wait "$tee_pid" 2> /dev/null
        rm -f "$fifo"
}
plural() { [ "$1" = 1 ] && echo "$1 $2" || echo "$1 ${3:-$2s}"; }
# One line saying how it went; the counts are read back from what monitor printed.
summary() {
        [ -n "$started" ] || return
        local s t v w found
        s=$(grep -c ' spasm ended after ' "$events")
        t=$(grep -c ' twitch (' "$events")
        v=$(grep -c ' voluntary movement ended ' "$events")
        w=$(grep -c ' withdrawn (' "$events")
        found="$(plural "$s" spasm), $(plural "$t" twitch twitches), $(plural "$v" "voluntary movement")"
        [ "$w" != 0 ] && found="$found, $w withdrawn as electrode noise"
        if [ "$how" = interrupted ]; then
                echo
                echo "demo: stopped after $(( SECONDS - started )) s${length:+ of $length}; finished by then: $found; spasmd's log: $shown_log"
                return
        fi
        if [ "$expected" = "$s $t $v" ]; then
                found="$found, as spasmctl analyze did"
        elif [ -n "$expected" ]; then
                set -- $expected
                found="$found, where spasmctl analyze found $1, $2 and $3"
        fi
        echo
        case $how in
        ended) echo "demo: spasmd replayed the recording and announced $found; its log: $shown_log" ;;
        *) echo "demo: $how after $(( SECONDS - started )) s, having seen $found; spasmd's log: $shown_log" ;;
        esac
}
trap 'cleanup; summary' EXIT
trap 'how=interrupted; exit 130' INT
trap 'how=interrupted; exit 143' TERM

{ read -r address && read -r bus_pid; } < <(dbus-daemon --session --fork --print-address=1 --print-pid=1)
if [ -z "$bus_pid" ]; then
        echo "demo: cannot start a private dbus-daemon" >&2
        exit 69
fi
# The guid only adds noise to what is shown; both sides connect without it.
address=${address%%,guid=*}

rm -rf -- "$state"
mkdir -p "$state"
printf '[sensor.demo]\nuri = replay:%s\nspeed = 1\n\n[history]\ndirectory = %s\n' "$recording" "$state" > "$conf"

echo "== spasmd replaying $shown_recording in real time${length:+ ($length s)}; Ctrl-C stops"
echo "   spasmd's log: $shown_log"
echo "   to follow it from another terminal as well: $shown_build/spasmctl monitor --json --address=$address"
"$spasmd" --config "$conf" --bus="$address" < /dev/null > "$log" 2>&1 &
spasmd_pid=$!

# Start following once spasmd owns its name: monitor before that would say it is not running.
owned=
for _ in $(seq 100); do
        if ! kill -0 "$spasmd_pid" 2> /dev/null; then
                wait "$spasmd_pid"
                echo "demo: spasmd exited with status $? before reaching the bus; $shown_log ends:" >&2
                tail -n 5 "$log" >&2
                spasmd_pid=
                exit 1
        fi
        if dbus-send --bus="$address" --print-reply --dest=org.freedesktop.DBus / \
                org.freedesktop.DBus.NameHasOwner string:org.spasmd.Monitor1 2> /dev/null | grep -q 'boolean true'; then
                owned=1
                break
        fi
        sleep 0.1
done
if [ -z "$owned" ]; then
        echo "demo: spasmd did not take its name on the bus within 10 s; $shown_log ends:" >&2
        tail -n 5 "$log" >&2
        exit 1
fi

: > "$events"
started=$SECONDS
# In the background so that the traps run at once (bash holds a trap until a
# foreground command ends): a TERM to this script alone ends the demo now, not
# when the recording does. Ctrl-C reaches monitor all the same, as it takes
# SIGINT through a signalfd, which the SIGINT-ignored start of a background
# job does not stop; it then ends with status 0. tee -i keeps the copy the
# summary counts.
rm -f "$fifo"
mkfifo "$fifo"
tee -i "$events" < "$fifo" &
tee_pid=$!
"$spasmctl" monitor --address="$address" > "$fifo" &
monitor_pid=$!
wait "$monitor_pid"
monitor_status=$?
monitor_pid=

if [ "$monitor_status" = 1 ]; then
        # Monitor ends when spasmd leaves the bus: at the end of the recording, or on a
        # failure. A spasmd still running is not what monitor saw end.
        for _ in $(seq 50); do
                kill -0 "$spasmd_pid" 2> /dev/null || break
                sleep 0.1
        done
        if kill -0 "$spasmd_pid" 2> /dev/null; then
                how="spasmctl monitor ended while spasmd still ran"
                exit 1
        fi
        wait "$spasmd_pid"
        status=$?
        spasmd_pid=
        if [ "$status" = 0 ]; then
                how=ended
                exit 0
        fi
        how="spasmd failed (status $status)"
        echo "demo: spasmd exited with status $status; $shown_log ends:" >&2
        tail -n 5 "$log" >&2
        exit 1
fi
if [ "$monitor_status" = 0 ]; then
        # Ctrl-C: monitor takes SIGINT through a signalfd, so it sees it even in the background,
        # and ends before bash gets round to the INT trap.
        how=interrupted
        exit 130
fi
how="spasmctl monitor failed (status $monitor_status)"
exit 1
