#!/bin/sh
# The libiio reader (daemon/sensor/iio-source) through libiio's real ip:
# backend, against tests/rig/iiod_emulator.py serving the demo recording:
# the samples equal the recording (EMG within 0.1 uV, IMU within half an
# LSB) with none dropped; dropped samples are counted exactly; a reset
# connection, a stall, a garbled reply and the end of the data each end the
# reader with its own status and a message that says what to do; open
# errors name the fix; a stop during a waiting refill is prompt.
# As root, also through libiio's local backend and Debian's iiod on a fake
# sysfs (tests/rig/local-rig), including an unplug.
#
#   tests/integration/test-iio-read.sh [BUILD]
#
# Uses BUILD/iio-read when it exists, else builds it by hand into a
# temporary directory.
set -eu
build=${1:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
rec=tests/data/demo-lumbar.csv
tmp=$(mktemp -d)
emu_pid=
cleanup() {
        [ -z "$emu_pid" ] || { kill "$emu_pid" 2>/dev/null; wait "$emu_pid" 2>/dev/null || true; }
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
ko() { fail=$((fail + 1)); echo "not ok - $1"; [ ! -s "$tmp/err" ] || sed 's/^/#   /' "$tmp/err"; }

if [ ! -f tests/rig/iiod_emulator.py ]; then
        echo "SKIP: tests/rig/iiod_emulator.py is not there"
        exit 0
fi

reader=$build/iio-read
if [ ! -x "$reader" ]; then
        reader=$tmp/iio-read
        # shellcheck disable=SC2046
        ${CC:-cc} -D_GNU_SOURCE -Idaemon -Idaemon/sensor -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
                -Wstrict-prototypes -Wmissing-prototypes -O2 -g -o "$reader" tests/integration/iio-read.c \
                daemon/sensor/iio-source.c daemon/sensor/iio-channels.c daemon/sensor/iio-reader.c \
                daemon/sensor/iio-format.c daemon/sensor/block-queue.c \
                $(pkg-config --cflags --libs libiio) -pthread -lm
fi

# start_emu ARGS...: the emulator on a free port; sets emu_pid and uri.
start_emu() {
        stop_emu
        "$PYTHON" tests/rig/iiod_emulator.py --port 0 --emg "$rec" "$@" >"$tmp/emu.out" 2>"$tmp/emu.log" &
        emu_pid=$!
        i=0
        while ! grep -q '^listening on ' "$tmp/emu.out" 2>/dev/null; do
                i=$((i + 1))
                if [ $i -gt 100 ] || ! kill -0 "$emu_pid" 2>/dev/null; then
                        echo "the emulator did not start:"; cat "$tmp/emu.log"; exit 1
                fi
                sleep 0.1
        done
        uri=ip:$(sed -n 's/^listening on //p' "$tmp/emu.out")
}
stop_emu() {
        [ -z "$emu_pid" ] || { kill "$emu_pid" 2>/dev/null; wait "$emu_pid" 2>/dev/null || true; }
        emu_pid=
}

# run NAME ARGS...: iio-read ARGS > $tmp/NAME.csv, stderr in $tmp/err; sets rc and took (s).
run() {
        name=$1; shift
        t0=$(date +%s.%N)
        set +e
        "$reader" "$@" >"$tmp/$name.csv" 2>"$tmp/err"
        rc=$?
        set -e
        took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$tmp/err" | tail -n1; }
has() { grep -qF -- "$1" "$tmp/err"; }

# compare NAME TOLERANCES [JUMPS]: every row of $tmp/NAME.csv equals the
# recording's row at t_s (t_s * rate_hz, so decimated streams map too), within
# the tolerance of its column ("emg_0=emg_left:0.1,..."); JUMPS is how many
# times consecutive rows may skip recording rows (default 0).
compare() {
        "$PYTHON" - "$rec" "$tmp/$1.csv" "$2" "${3:-0}" <<'EOF'
import csv, sys
rec, got, spec, jumps_allowed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lines = open(rec).read().splitlines()
rate = float(next(l.split("=", 1)[1] for l in lines if l.startswith("# rate_hz=")))
rows = list(csv.reader(l for l in lines if not l.startswith("#")))
hdr, rows = rows[0], rows[1:]
g = list(csv.reader(open(got)))
ghdr, g = g[0], g[1:]
cols = []
for item in spec.split(","):
    ours, rest = item.split("=")
    theirs, tol = rest.split(":")
    cols.append((ghdr.index(ours), hdr.index(theirs), float(tol)))
idx = [round(float(r[0]) * rate) for r in g]
steps = sorted(b - a for a, b in zip(idx, idx[1:]))
step = steps[len(steps) // 2] if steps else 1  # recording rows per sample: 1, or 3 for the decimated IMU
jumps = sum(1 for a, b in zip(idx, idx[1:]) if b - a > 1.5 * step)
worst, bad = 0.0, []
for r, i in zip(g, idx):
    if i >= len(rows):
        bad.append(f"t_s={r[0]} is past the recording")
        break
    for a, b, tol in cols:
        d = abs(float(r[a]) - float(rows[i][b]))
        worst = max(worst, d / tol)
        if d > tol and len(bad) < 5:
            bad.append(f"t_s={r[0]} {ghdr[a]}={r[a]} but {hdr[b]}={rows[i][b]}")
for b in bad:
    print(b, file=sys.stderr)
print(f"{len(g)} rows, worst error {worst:.2f} of the tolerance, {jumps} jumps")
sys.exit(1 if bad or jumps != jumps_allowed or not g else 0)
EOF
}

emg="emg_0=emg_left:0.1,emg_1=emg_right:0.1"
# bmi160 LSBs in the emulator: 0.002394 m/s^2 and 0.001065 rad/s; the recording has 4 decimals.
imu="acc_x=acc_x:0.0013,acc_y=acc_y:0.0013,acc_z=acc_z:0.0013,gyr_x=gyr_x:0.0006,gyr_y=gyr_y:0.0006,gyr_z=gyr_z:0.0006"

start_emu --speed 0
run emg -n 2000 "$uri" ads1298
if [ $rc = 0 ] && [ "$(field dropped)" = 0 ] && [ "$(field index_mismatch)" = 0 ] && out=$(compare emg "$emg"); then
        ok "2000 EMG samples over ip: equal the recording within 0.1 uV, none dropped ($out)"
else ko "EMG over ip: rc=$rc $(compare emg "$emg" 2>&1 || true)"; fi
[ "$(head -n1 "$tmp/emg.csv")" = "t_s,emg_0,emg_1" ] && has "timestamp yes" && has "at 1000 Hz" \
        && ok "auto channels: emg_0, emg_1 at 1000 Hz with a timestamp" || ko "auto channels: $(head -n1 "$tmp/emg.csv")"

run named -n 500 -c "voltage1:emg_right, voltage0 : emg_left" "$uri" emg
[ $rc = 0 ] && [ "$(head -n1 "$tmp/named.csv")" = "t_s,emg_right,emg_left" ] \
        && compare named "emg_left=emg_left:0.1,emg_right=emg_right:0.1" >/dev/null \
        && ok "a channel list names and orders the columns; the device found by its label" || ko "channel list: rc=$rc"

run imu -n 1000 "$uri" bmi160
if [ $rc = 0 ] && [ "$(field dropped)" = 0 ] && out=$(compare imu "$imu"); then
        ok "1000 IMU samples (decimated to $(field rate) Hz) equal the recording within half an LSB ($out)"
else ko "IMU over ip: rc=$rc $(compare imu "$imu" 2>&1 || true)"; fi

# The whole file: at its end the emulator sends the short last chunk and then nothing.
run all -n 100000 -t 3000 "$uri" ads1298
if [ $rc = 1 ] && [ "$(field samples)" = 91400 ] && [ "$(field dropped)" = 0 ] && has "no samples for 3000 ms" \
        && out=$(compare all "$emg"); then
        ok "the whole recording (91400 samples) arrives, then a stall is reported ($out)"
else ko "whole recording: rc=$rc samples=$(field samples)"; fi

# options|device|what the message must say
while IFS='|' read -r opts dev want; do
        # shellcheck disable=SC2086
        run bad -n 10 $opts "$uri" "$dev"
        [ $rc = 2 ] && has "$want" && ok "open error: $want" || ko "open error for '$opts $dev': rc=$rc"
done <<'EOF'
|ads1299|no such device (found: ads1298 label emg (iio:device0), bmi160 label imu (iio:device1)); fix device=ads1299
-c voltage7:emg_x|ads1298|channel voltage7 not found (the device has voltage0, voltage1, timestamp); fix channels=
-c accel_x:emg_x|imu|accel_x is of IIO type accel, but emg_x needs type voltage
-c voltage0:Left|ads1298|a channel is named emg_<site>
-c voltage0:emg_a,voltage0:emg_b|ads1298|channel voltage0 is listed twice
-r 500|ads1298|cannot set sampling_frequency (device) to 500 Hz
EOF
stop_emu
run bad -n 10 "${uri%:*}:1" ads1298
[ $rc = 2 ] && has "cannot reach iiod" && has "${uri%:*}:1:" && ok "no server: 'cannot reach iiod', the URI intact" \
        || ko "no server: rc=$rc"

start_emu --speed 0 --fault drop:1:250
run drop -n 5000 "$uri" ads1298
if [ $rc = 0 ] && [ "$(field dropped)" = 250 ] && [ "$(field index_mismatch)" = 0 ] && out=$(compare drop "$emg" 1); then
        ok "a 250-sample hole in the timestamps is 250 dropped samples, and the data after it stay in place ($out)"
else ko "drop: rc=$rc dropped=$(field dropped) $(compare drop "$emg" 1 2>&1 || true)"; fi

start_emu --speed 1 --fault disconnect:1
run reset -n 100000 "$uri" ads1298
[ $rc = 1 ] && has "lost the connection" && awk -v t="$took" 'BEGIN { exit !(t < 2) }' \
        && ok "a reset connection ends the reader at once (${took}s): $(sed -n 's/.*stopped early (status \([-0-9]*\)): .*: \([^;]*\);.*/\2 (\1)/p' "$tmp/err")" \
        || ko "reset: rc=$rc took ${took}s"

start_emu --speed 1 --fault stall:1
run stall -n 100000 -t 1000 "$uri" ads1298
[ $rc = 1 ] && has "no samples for 1000 ms" && awk -v t="$took" 'BEGIN { exit !(t > 1.8 && t < 2.6) }' \
        && ok "a stall is reported after the 1000 ms timeout (${took}s in all)" || ko "stall: rc=$rc took ${took}s"

# Stopping while a refill waits for data that do not come: the cancel path.
start_emu --speed 1 --fault stall:0.5
run stop -s 1.5 -t 5000 "$uri" ads1298
stop_ms=$(field stop_ms)
[ $rc = 0 ] && [ -n "$stop_ms" ] && [ "$stop_ms" -lt 400 ] \
        && ok "a stop during a stalled refill returns in ${stop_ms} ms" || ko "stop during a stall: rc=$rc stop_ms=$stop_ms"

start_emu --speed 1 --fault garbage:1
run garbage -n 100000 "$uri" ads1298
[ $rc = 1 ] && has "stopped early" && ok "a garbled reply ends the reader: $(sed -n 's/.*stopped early (status \([-0-9]*\)): .*: \([^;]*\);.*/\2 (\1)/p' "$tmp/err")" \
        || ko "garbage: rc=$rc"
stop_emu

# libiio's local backend and Debian's iiod on a fake sysfs (needs root for the mount namespace).
if [ "$(id -u)" = 0 ] && unshare --mount true 2>/dev/null && command -v iiod >/dev/null && [ -x tests/rig/local-rig ]
then
        tests/rig/local-rig --speed 0 --iiod-port 0 -- sh -c "
                '$reader' -n 2000 local: ads1298 > '$tmp/local.csv' 2> '$tmp/local.err'; echo \$? > '$tmp/local.rc'
                '$reader' -n 2000 \"\$LOCAL_RIG_IIOD_URI\" ads1298 > '$tmp/iiod.csv' 2> '$tmp/iiod.err'; echo \$? > '$tmp/iiod.rc'
        " >/dev/null 2>&1 || true
        for k in local iiod; do
                cp "$tmp/$k.err" "$tmp/err" 2>/dev/null || : >"$tmp/err"
                if [ "$(cat "$tmp/$k.rc" 2>/dev/null)" = 0 ] && [ "$(field dropped)" = 0 ] && out=$(compare $k "$emg"); then
                        ok "$k: 2000 EMG samples through the real $( [ $k = local ] && echo local backend || echo iiod ) ($out)"
                else ko "$k: rc=$(cat "$tmp/$k.rc" 2>/dev/null)"; fi
        done
        tests/rig/local-rig --unplug-after 1 -- sh -c "
                '$reader' -n 100000 -t 1000 local: ads1298 > /dev/null 2> '$tmp/err'; echo \$? > '$tmp/unplug.rc'
        " >/dev/null 2>&1 || true
        [ "$(cat "$tmp/unplug.rc" 2>/dev/null)" = 1 ] && has "the device is gone" \
                && ok "local: an unplugged device is reported as gone (ENODEV)" || ko "local unplug"
else
        echo "skip - local backend and real iiod (needs root, a mount namespace and iiod)"
fi

echo "iio-read: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
