#!/bin/sh
# The real daemon on a live libiio stream: tests/rig/iiod_emulator.py serves
# a recording as an ads1298 EMG front end and a bmi160 IMU over ip:, spasmd
# reads both through its reader threads, aligns them by their timestamp
# channels and reports the events `spasmctl analyze` finds in the same file
# (same classes, onsets within one buffer). Then the remote goes away
# mid-stream and the daemon reconnects on its own.
set -eu
build=${1:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
# The event history goes where systemd would put it, here in the test's own directory.
export STATE_DIRECTORY="$tmp/state"
mkdir -p "$STATE_DIRECTORY"
pids=
cleanup() {
        for p in $pids; do kill "$p" 2>/dev/null || true; done
        for p in $pids; do wait "$p" 2>/dev/null || true; done
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
. tests/integration/tap.sh

start_emulator() { # ARGS...: sets emu (its pid) and port
        rm -f "$tmp/port"
        "$PYTHON" tests/rig/iiod_emulator.py --port 0 --port-file "$tmp/port" "$@" > "$tmp/emu.log" 2>&1 &
        emu=$!
        pids="$pids $emu"
        for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
        port=$(cat "$tmp/port")
}

# 45 s of the demo: a twitch, a spasm, getting up (voluntary).
head -n 45006 tests/data/demo-lumbar.csv > "$tmp/cut.csv"
start_emulator --emg "$tmp/cut.csv" --speed 3
cat > "$tmp/live.conf" <<CONF
[sensor.lumbar]
uri = ip:127.0.0.1:$port
device = ads1298
channels = voltage0:emg_left, voltage1:emg_right
buffer_ms = 50

[sensor.imu]
uri = ip:127.0.0.1:$port
device = bmi160
role = imu
buffer_ms = 50
CONF
"$build/spasmd" --bus=none --config "$tmp/live.conf" --events=json > "$tmp/live.jsonl" 2> "$tmp/live.log" &
daemon=$!
pids="$pids $daemon"
# 45 s at 3x, then the stream runs dry and the reader reports it.
for _ in $(seq 300); do grep -q "disconnected" "$tmp/live.log" && break; sleep 0.1; done
kill -TERM "$daemon"; wait "$daemon" && rc=0 || rc=$?
[ "$rc" = 0 ] && ok "spasmd streamed over ip: and stopped cleanly on SIGTERM" || ko "spasmd rc=$rc"
kill "$emu" 2>/dev/null || true

"$build/spasmctl" analyze --json "$tmp/cut.csv" | grep -v '"summary"' > "$tmp/analyze.jsonl"
if "$PYTHON" - "$tmp/live.jsonl" "$tmp/analyze.jsonl" <<'PY'
import json, sys
live = [json.loads(l) for l in open(sys.argv[1])]
ref = [json.loads(l) for l in open(sys.argv[2])]
print("# live:", [(e["type"], e["onset_s"]) for e in live])
print("# analyze:", [(e["type"], e["onset_s"]) for e in ref])
ok = len(live) == len(ref) and all(a["type"] == b["type"] and abs(a["onset_s"] - b["onset_s"]) <= 0.06
                                   for a, b in zip(live, ref))
sys.exit(0 if ok and ref else 1)
PY
then ok "live events equal spasmctl analyze (classes, onsets within one 50 ms buffer)"; else ko "live events differ from analyze"; fi
grep -q "streaming 2 channels at 1000 Hz" "$tmp/live.log" && grep -q "streaming 6 channels" "$tmp/live.log" \
        && ok "both devices opened with their channels" || { ko "devices not opened"; tail -5 "$tmp/live.log"; }

# The remote resets every connection after 2 s: the daemon says so and reconnects by itself.
start_emulator --emg "$tmp/cut.csv" --speed 1 --fault disconnect:2
sed "s/127.0.0.1:[0-9]*/127.0.0.1:$port/" "$tmp/live.conf" > "$tmp/flaky.conf"
"$build/spasmd" --bus=none --config "$tmp/flaky.conf" > /dev/null 2> "$tmp/flaky.log" &
daemon=$!
pids="$pids $daemon"
for _ in $(seq 80); do [ "$(grep -c 'streaming 2 channels' "$tmp/flaky.log")" -ge 2 ] && break; sleep 0.1; done
kill -TERM "$daemon"; wait "$daemon" && rc=0 || rc=$?
if [ "$rc" = 0 ] && grep -q "disconnected" "$tmp/flaky.log" && [ "$(grep -c 'streaming 2 channels' "$tmp/flaky.log")" -ge 2 ]; then
        ok "remote lost mid-stream: reported, reconnected after the 1 s backoff, still running"
else
        ko "no reconnect (rc=$rc)"; grep -E "sensor|error" "$tmp/flaky.log" | tail -8
fi

done_tests "integration (daemon over ip:)"
