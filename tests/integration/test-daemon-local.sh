#!/bin/sh
# The real daemon through libiio's local backend (a fake sysfs tree and a
# FIFO device in a private mount namespace, tests/rig/local-rig), and through
# Debian's own iiod serving that fake device over loopback: its events equal
# `spasmctl analyze` on the same recording. Unplugging the device mid-stream
# is reported with the fix, the daemon keeps running, and picks the device up
# again when it is plugged back in.
set -eu
build=$(cd "${1:-build}" && pwd)
tmp=$(mktemp -d)
# The event history goes where systemd would put it, here in the test's own directory.
export STATE_DIRECTORY="$tmp/state"
mkdir -p "$STATE_DIRECTORY"
trap 'rm -rf "$tmp"' EXIT
. tests/integration/tap.sh
if ! unshare -m true 2>/dev/null; then
        echo "integration (daemon on local:): needs root and unshare -m"
        echo "integration (daemon on local:): 0 passed, 1 failed"
        exit 1
fi

head -n 45006 tests/data/demo-lumbar.csv > "$tmp/cut.csv"
"$build/spasmctl" analyze --json "$tmp/cut.csv" | grep -v '"summary"' > "$tmp/analyze.jsonl"

# Inside the rig: write the config for URI, run spasmd while the 45 s cut
# plays at 5x (the feeder then starts over; that second pass is not compared).
cat > "$tmp/run.sh" <<'RUN'
#!/bin/sh
uri=$1; out=$2
cat > "$out.conf" <<CONF
[sensor.lumbar]
uri = $uri
device = ads1298
channels = voltage0:emg_left, voltage1:emg_right
[sensor.imu]
uri = $uri
device = bmi160
role = imu
CONF
"$SPASMD" --bus=none --config "$out.conf" --events=json > "$out.jsonl" 2> "$out.log" &
pid=$!
sleep 10.5
kill -TERM $pid; wait $pid
RUN
chmod +x "$tmp/run.sh"

compare() { # NAME
        /usr/bin/python3 - "$tmp/$1.jsonl" "$tmp/analyze.jsonl" <<'PY'
import json, sys
live = [e for e in map(json.loads, open(sys.argv[1])) if e["onset_s"] < 44.0]
ref = [json.loads(l) for l in open(sys.argv[2])]
print("# live:", [(e["type"], e["onset_s"]) for e in live])
sys.exit(0 if ref and len(live) == len(ref) and all(
    a["type"] == b["type"] and abs(a["onset_s"] - b["onset_s"]) <= 0.06 for a, b in zip(live, ref)) else 1)
PY
}

if SPASMD="$build/spasmd" tests/rig/local-rig --recording "$tmp/cut.csv" --speed 5 -- "$tmp/run.sh" local: "$tmp/local" \
        && compare local; then ok "local: backend: events equal spasmctl analyze"
else ko "local: backend"; tail -5 "$tmp/local.log" 2>/dev/null; fi

if SPASMD="$build/spasmd" tests/rig/local-rig --recording "$tmp/cut.csv" --speed 5 --iiod-port 0 -- \
        sh -c '"$0" "$LOCAL_RIG_IIOD_URI" "$1"' "$tmp/run.sh" "$tmp/iiod" && compare iiod; then
        ok "Debian's iiod over ip:: events equal spasmctl analyze"
else ko "through iiod"; tail -5 "$tmp/iiod.log" 2>/dev/null; fi

# Unplug after 2 s and plug back 2 s later: the sensor says it is gone, the
# daemon stays up, and picks the device up again on its backoff timer.
cat > "$tmp/replug.sh" <<'RUN'
#!/bin/sh
printf '[sensor.lumbar]\nuri = local:\ndevice = ads1298\n' > "$1.conf"
"$SPASMD" --bus=none --config "$1.conf" > /dev/null 2> "$1.log" &
pid=$!
for _ in $(seq 150); do [ "$(grep -c 'streaming 2 channels' "$1.log")" -ge 2 ] && break; sleep 0.1; done
kill -0 $pid && kill -TERM $pid && wait $pid
RUN
chmod +x "$tmp/replug.sh"
if SPASMD="$build/spasmd" tests/rig/local-rig --recording "$tmp/cut.csv" --unplug-after 2 --replug-after 2 -- \
        "$tmp/replug.sh" "$tmp/replug" && grep -q "disconnected: .*gone" "$tmp/replug.log" \
        && [ "$(grep -c 'streaming 2 channels' "$tmp/replug.log")" -ge 2 ]; then
        ok "unplugged mid-stream: reported ($(grep -o 'the device is gone[^;]*' "$tmp/replug.log" | head -1)); plugged back: streaming again"
else ko "unplug/replug"; tail -5 "$tmp/replug.log" 2>/dev/null; fi

done_tests "integration (daemon on local:)"
