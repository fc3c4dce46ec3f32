#!/bin/sh
# The daemon, fed a recording through replay: (the same reader-thread,
# queue and event-loop path as a live sensor), reports the very events that
# `spasmctl analyze` finds in the file. Also: config errors exit 78 before
# anything starts, and --check-config prints the effective configuration.
set -eu
build=${1:-build}
tmp=$(mktemp -d)
# The event history goes where systemd would put it, here in the test's own directory.
export STATE_DIRECTORY="$tmp/state"
mkdir -p "$STATE_DIRECTORY"
trap 'rm -rf "$tmp"' EXIT
. tests/integration/tap.sh

rec=tests/data/demo-lumbar.csv
printf '[sensor.demo]\nuri = replay:%s\nspeed = 0\nbuffer_ms = 20\n' "$rec" > "$tmp/demo.conf"
"$build/spasmd" --bus=none --config "$tmp/demo.conf" --events=json > "$tmp/daemon.jsonl" 2> "$tmp/daemon.log"
"$build/spasmctl" analyze --json "$rec" | grep -v '"summary"' > "$tmp/analyze.jsonl"
# Same classes, onsets and offsets: the detector sees the same samples.
strip() { sed -e 's/^{"[a-z]*":"[^"]*",//' "$1"; }
if [ -s "$tmp/analyze.jsonl" ] && [ "$(strip "$tmp/daemon.jsonl")" = "$(strip "$tmp/analyze.jsonl")" ]; then
        ok "replayed events equal spasmctl analyze ($(wc -l < "$tmp/daemon.jsonl") events)"
else
        ko "replayed events differ from spasmctl analyze"; diff "$tmp/daemon.jsonl" "$tmp/analyze.jsonl" || true
fi
grep -q "every recording has been replayed" "$tmp/daemon.log" && ok "exits when the replay ends" || ko "no clean end"

# Real time: speed 1 on a 3 s cut of the file takes about 3 s.
head -n 3000 "$rec" > "$tmp/short.csv"
printf '[sensor.demo]\nuri = replay:%s/short.csv\nspeed = 1\n' "$tmp" > "$tmp/rt.conf"
start=$(date +%s.%N)
"$build/spasmd" --bus=none --config "$tmp/rt.conf" > /dev/null 2>&1
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
if awk -v t="$took" 'BEGIN { exit !(t > 2.5 && t < 6) }'; then ok "speed=1 replays in real time (${took}s for ~3 s)"; else ko "speed=1 took ${took}s"; fi

# A config error exits 78 and names file and line.
printf '[sensor.demo]\nuri = replay:%s\nspeed = fast\n' "$rec" > "$tmp/bad.conf"
set +e
"$build/spasmd" --bus=none --config "$tmp/bad.conf" > /dev/null 2> "$tmp/bad.log"; rc=$?
set -e
[ "$rc" = 78 ] && grep -q "bad.conf:3: speed=fast" "$tmp/bad.log" && ok "bad config exits 78 naming file:line" || ko "bad config: rc=$rc $(cat "$tmp/bad.log")"
set +e
"$build/spasmd" --bus=none --config "$tmp/bad.conf" --check-config > /dev/null 2>&1; rc=$?
set -e
[ "$rc" = 78 ] && ok "--check-config on a bad file exits 78" || ko "--check-config rc=$rc"
"$build/spasmd" --bus=none --config "$tmp/demo.conf" --check-config > "$tmp/effective.conf"
grep -q "^uri = replay:$rec" "$tmp/effective.conf" && grep -q "^buffer_ms = 20" "$tmp/effective.conf" \
        && ok "--check-config prints the effective config" || ko "--check-config output"

# A missing recording: the sensor says why and the daemon keeps waiting (SIGTERM stops it).
printf '[sensor.gone]\nuri = replay:%s/nope.csv\n' "$tmp" > "$tmp/gone.conf"
"$build/spasmd" --bus=none --config "$tmp/gone.conf" > /dev/null 2> "$tmp/gone.log" &
pid=$!
sleep 1.5
kill -TERM "$pid"; wait "$pid" && rc=0 || rc=$?
[ "$rc" = 0 ] && grep -q "nope.csv" "$tmp/gone.log" && ok "a missing source is reported, SIGTERM stops cleanly" \
        || ko "missing source: rc=$rc $(cat "$tmp/gone.log")"

# SIGHUP: a broken file is refused and the running configuration stays; a
# good one adds the new sensor without a restart.
printf '[sensor.demo]\nuri = replay:%s\nspeed = 1\n' "$rec" > "$tmp/hup.conf"
"$build/spasmd" --bus=none --config "$tmp/hup.conf" > /dev/null 2> "$tmp/hup.log" &
pid=$!
sleep 1
cp "$tmp/hup.conf" "$tmp/good.conf"
printf '[sensor.demo]\nuri = replay:%s\nspeed = fast\n' "$rec" > "$tmp/hup.conf"
kill -HUP "$pid"; sleep 0.5
if kill -0 "$pid" && grep -q "reload failed, keeping the running configuration: .*hup.conf:3: speed=fast" "$tmp/hup.log"; then
        ok "SIGHUP with a bad file: refused, naming file:line, daemon still running"
else ko "bad reload"; fi
cp "$tmp/good.conf" "$tmp/hup.conf"
printf '[sensor.extra]\nuri = replay:%s/short.csv\nspeed = 0\n' "$tmp" >> "$tmp/hup.conf"
kill -HUP "$pid"; sleep 1
if kill -0 "$pid" && grep -q "reload: \[sensor.extra\] added" "$tmp/hup.log" && grep -q "\[sensor.extra\] ended" "$tmp/hup.log" \
        && ! grep -q "reload: \[sensor.demo\]" "$tmp/hup.log"; then
        ok "SIGHUP with a good file: the new sensor runs, the unchanged one is left alone"
else ko "good reload"; tail -5 "$tmp/hup.log"; fi
kill -TERM "$pid"; wait "$pid" && rc=0 || rc=$?
[ "$rc" = 0 ] && ok "SIGTERM after reloads: clean exit" || ko "exit after reload: rc=$rc"

done_tests "integration (replay)"
