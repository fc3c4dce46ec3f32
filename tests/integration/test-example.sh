#!/bin/bash
# The README's 20-line client, examples/spasm-client.py, against the real daemon on a private bus: it lists
# the last day's events from the history, then follows the spasms and the advisory as they happen.
set -u
build=$(cd "${1:-build}" && pwd)
. tests/integration/tap.sh
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

read -r addr bus_pid < <(dbus-daemon --session --fork --print-address=1 --print-pid=1 | tr '\n' ' ')
pids+=("$bus_pid")
# Two spasms per replay: with a limit of 3 a day, the live run's second spasm (the fourth) raises the advisory.
conf() {
        printf '[history]\ndirectory = %s/state\n[advisory]\nmax_spasms_per_day = 3\n' "$tmp"
        printf '[sensor.demo]\nuri = replay:%s/tests/data/demo-lumbar.csv\nspeed = %s\n' "$PWD" "$1"
}
conf 0 > "$tmp/fast.conf"
conf 5 > "$tmp/live.conf"

# A first replay fills the history; the second one is followed live.
"$build/spasmd" --config "$tmp/fast.conf" --bus="$addr" 2> "$tmp/fast.log" \
        && ok "a first replay fills the history" || ko "first replay: $(tail -3 "$tmp/fast.log")"
"$build/spasmd" --config "$tmp/live.conf" --bus="$addr" 2> "$tmp/live.log" &
daemon=$!
pids+=("$daemon")
for _ in $(seq 50); do
        busctl --address="$addr" status org.spasmd.Monitor1 > /dev/null 2>&1 && break
        sleep 0.1
done
DBUS_SYSTEM_BUS_ADDRESS="$addr" /usr/bin/python3 examples/spasm-client.py > "$tmp/client.out" 2> "$tmp/client.err" &
pids+=("$!")
wait "$daemon"
sleep 0.5
out=$(cat "$tmp/client.out")

[ "$(grep -c '^past: #' <<< "$out")" = 6 ] && ok "the last day's 6 events from GetEvents" \
        || ko "past events: $(grep -c '^past: #' <<< "$out") lines: $out $(cat "$tmp/client.err")"
[ "$(grep -Ec '^spasm #[0-9]+ started on demo \(side: (left|right|both)\), [0-9.]+x the resting level$' <<< "$out")" = 2 ] \
        && ok "SpasmStarted twice, as it happens" || ko "SpasmStarted lines: $out"
[ "$(grep -Ec '^spasm #[0-9]+ ended after [0-9.]+ s, peak [0-9.]+ uV$' <<< "$out")" = 2 ] \
        && ok "SpasmEnded twice" || ko "SpasmEnded lines: $out"
grep -q '^advisory: .*contact a doctor.*does not give medical advice' <<< "$out" \
        && ok "the advisory, whole" || ko "no advisory line: $out"
# Each spasm's end comes after its start, with the same id.
python3 - "$tmp/client.out" <<'PY' && ok "each SpasmEnded follows its SpasmStarted" || ko "order: $out"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
started = {m.group(1): i for i, l in enumerate(lines) for m in [re.match(r"spasm #(\d+) started", l)] if m}
ended = {m.group(1): i for i, l in enumerate(lines) for m in [re.match(r"spasm #(\d+) ended", l)] if m}
sys.exit(0 if started and started.keys() == ended.keys() and all(started[k] < ended[k] for k in started) else 1)
PY
done_tests "integration (README client example)"
