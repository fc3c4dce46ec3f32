#!/bin/bash
# The durable event history (daemon/history.c) as a client sees it over
# D-Bus, with tests/integration/history_watch.py on a private bus:
#   SIGKILL: spasmd replays a recording with many events as fast as it can
#     and is SIGKILLed at a random moment, HISTORY_KILLS times on the same
#     state directory. After every restart GetEvents must hold every event
#     whose end (SpasmEnded, Twitch, ActivityEnded) was heard, unchanged, no
#     id may go to two events, and HistoryStatus must say "saving". A SIGKILL
#     cannot tear a record (the kernel finishes the pwrite), so every third
#     restart first finds a torn record, a record with a flipped bit or
#     garbage appended to events.log, as a power cut could leave it; the
#     daemon must cut exactly that and log it.
#   ENOSPC: the state directory is a 40 KiB tmpfs, in a private mount
#     namespace, filled up by a file; events.log already holds 29 records,
#     so the next one needs a new page. spasmd must keep detecting and
#     announcing, log that the history is not being saved, set
#     HistoryStatus to "not saving: ...", and serve the unsaved events from
#     memory in GetEvents; when the filler is removed, a later event saves
#     them all, which a restart reads back.
# EIO is not tested: it needs storage that fails on demand. These machines
# have no device-mapper (so no dm-error or dm-flakey); a FUSE file system
# that fails writes would do, but is a project of its own.
#
#   tests/integration/test-history.sh [BUILD]
#   HISTORY_KILLS=40 tests/integration/test-history.sh    # a shorter run: ~30 s (default 100: about a minute;
#                                                         # 40 under ASan, SANITIZE=1, make check's second pass)
#   HISTORY_SEED=N ...                                    # the same kill times again
set -eu
build=$(cd "${1:-build}" && pwd)
name="integration (history)"
kills=${HISTORY_KILLS:-$([ "${SANITIZE:-0}" = 1 ] && echo 40 || echo 100)}
PY=/usr/bin/python3
watch=$PWD/tests/integration/history_watch.py
. tests/integration/tap.sh
why=""
[ "$(id -u)" = 0 ] || why="needs root"
[ -n "$why" ] || unshare -m --propagation private true 2>/dev/null || why="needs unshare -m"
[ -n "$why" ] || command -v dbus-daemon > /dev/null || why="needs dbus-daemon"
[ -n "$why" ] || $PY -c 'import dbus, dbus.mainloop.glib; from gi.repository import GLib' 2>/dev/null \
        || why="needs python3-dbus and python3-gi"
[ -n "$why" ] || $PY -c 'import numpy' 2>/dev/null || why="needs python3-numpy (tests/sim)"
if [ -n "$why" ]; then
        echo "$name: $why"
        echo "$name: 0 passed, 1 failed"
        exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# py ARGS...: a history_watch.py check; its ok/not ok lines count here.
py() {
        local line
        while IFS= read -r line; do
                case $line in
                "ok - "*) ok "${line#ok - }" ;;
                "not ok - "*) ko "${line#not ok - }" ;;
                *) echo "$line" ;;
                esac
        done < <("$@" 2>&1 || true)
}

# A scene dense in events (16 in 83 s: 14 twitches, 2 spasms), eight times over:
# about 1.3 s for spasmd at speed 0, so most kills (within 0.9 s) land mid-stream.
$PY tests/sim/scenes.py --out "$tmp/scenes" --set check --only twitches_lying > /dev/null
scene=$tmp/scenes/twitches_lying.csv
$PY "$watch" concat "$scene" 8 "$tmp/many.csv"

mkdir "$tmp/kill"
py $PY "$watch" kill-loop --spasmd "$build/spasmd" --recording "$tmp/many.csv" --dir "$tmp/kill" \
        --runs "$kills" --max-kill 0.9 ${HISTORY_SEED:+--seed "$HISTORY_SEED"}

# ENOSPC. First an events.log of exactly 29 records (24 + 29 x 140 = 4084
# bytes): on tmpfs, whose space is counted in 4 KiB pages, the 30th needs a
# page of its own, so the very first append fails.
mkdir "$tmp/seed"
printf '[history]\ndirectory = %s/seed\n[sensor.demo]\nuri = replay:%s\nspeed = 0\n' "$tmp" "$scene" > "$tmp/seed.conf"
for _ in 1 2 3; do
        [ "$(stat -c %s "$tmp/seed/events.log" 2>/dev/null || echo 0)" -ge 4084 ] && break
        "$build/spasmd" --bus=none --config "$tmp/seed.conf" > /dev/null 2>> "$tmp/seed.log"
done
truncate -s 4084 "$tmp/seed/events.log"
mkdir "$tmp/full" "$tmp/enospc"
py unshare -m --propagation private bash -c '
        set -e
        mount -t tmpfs -o size=40k,mode=0755 spasmd-full "$1"
        mkdir "$1/state"
        cp "$2" "$1/state/events.log"
        dd if=/dev/zero of="$1/filler" bs=4k > /dev/null 2>&1 || true
        [ "$(df --output=avail "$1" | tail -1)" -eq 0 ] || { echo "not ok - the tmpfs is full"; exit 1; }
        shift 2
        exec "$@"' sh "$tmp/full" "$tmp/seed/events.log" \
        $PY "$watch" enospc --spasmd "$build/spasmd" --recording "$scene" --speed 10 \
        --dir "$tmp/full/state" --filler "$tmp/full/filler" --work "$tmp/enospc"

done_tests "$name"
