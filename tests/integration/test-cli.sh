#!/bin/bash
# spasmctl against the real spasmd on a private system-like bus with the
# real policy and real users (tests/integration/dbus-rig.sh):
#   before spasmd runs: --help and bad usage of every subcommand (64), and
#     every bus subcommand saying spasmd is not running, with how to start
#     it (1);
#   run 0: three sensors replay the demo recording as fast as they can,
#     leaving a history with six spasms today;
#   run 1: the demo at 5x while status, sensors and calibrate (carer: the
#     levels; nobody: 4 naming the spasmd group; a second one at once: busy)
#     run, and monitor follows it through pseudo-terminals (the live bar,
#     UTF-8 and ASCII, and plain lines for TERM=dumb) and through a pipe
#     (--json); then spasmd is gone again (1);
#   run 2: restarted on that history: events and report, plain and --json;
#     status and calibrate while monitoring is paused.
# Every spasmctl is checked for sanitizer reports (BUILD_DIR=build/asan).
set -eu
build=$(cd "${1:-build}" && pwd)
name="integration (cli)"
. tests/integration/tap.sh
. tests/integration/dbus-rig.sh
rig_enter "$name" "$0" "$@"
command -v script > /dev/null || { echo "$name: needs script (util-linux)"; echo "$name: 0 passed, 1 failed"; exit 1; }
rig_start || { ko "the private system bus starts"; done_tests "$name"; exit 1; }

PY=/usr/bin/python3
rec=$PWD/tests/data/demo-lumbar.csv
out=$RIG_DIR/out
mkdir -m 1777 "$out"
install -d -o spasmd -g spasmd -m 700 "$RIG_DIR/state"
# Copies, so a build remade meanwhile does not change what runs.
spasmd=$RIG_DIR/spasmd ctl=$RIG_DIR/spasmctl
install -m 755 "$build/spasmd" "$spasmd"
install -m 755 "$build/spasmctl" "$ctl"
if ! "$ctl" --version > /dev/null 2>&1; then    # /tmp mounted noexec
        spasmd=$build/spasmd ctl=$build/spasmctl
fi
export ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

conf() {        # conf FILE SPEED SENSOR...: the history in the rig, each sensor replaying the demo
        local f=$1 speed=$2 s; shift 2
        printf '[history]\ndirectory = %s\n' "$RIG_DIR/state" > "$f"
        for s in "$@"; do printf '[sensor.%s]\nuri = replay:%s\nspeed = %s\n' "$s" "$rec" "$speed" >> "$f"; done
        chmod 644 "$f"
}

sanitized() {   # sanitized FILE WHAT: a sanitizer report in FILE fails WHAT
        if grep -qE 'ERROR: AddressSanitizer|LeakSanitizer|runtime error:' "$1"; then
                ko "$2: sanitizer report"; sed 's/^/# /' "$1" | head -30
        fi
}
# run USER TAG ARGS...: spasmctl ARGS as USER; $out/TAG.out, $out/TAG.err, status in rc.
run() {
        local u=$1 t=$2; shift 2
        rc=0
        rig_as "$u" "$ctl" "$@" > "$out/$t.out" 2> "$out/$t.err" || rc=$?
        sanitized "$out/$t.err" "spasmctl $*"
}
# expect_rc WANT TAG WHAT: rc (from run) is WANT, or fail showing stderr.
expect_rc() {
        if [ "$rc" = "$1" ]; then ok "$3: exit $1"
        else ko "$3: exit $rc, expected $1: $(head -c 600 "$out/$2.err")"; fi
}
has() {         # has TAG PATTERN WHAT: grep -E in TAG's stdout and stderr
        if cat "$out/$1.out" "$out/$1.err" | grep -qE -- "$2"; then ok "$3"
        else ko "$3: no /$2/ in: $(cat "$out/$1.out" "$out/$1.err" | head -c 800)"; fi
}
pycheck() {     # pycheck WHAT FILE CODE: python3 CODE with the file's text as s; it asserts
        local o
        if o=$($PY -c "import json, re, sys; s = open(sys.argv[1], encoding='utf-8', errors='replace', newline='').read()
$3" "$2" 2>&1); then ok "$1${o:+: $o}"; else ko "$1: $(echo "$o" | tail -3)"; fi
}
wait_for() {    # wait_for SECONDS COMMAND...: polls every 0.1 s
        local n=$(($1 * 10)); shift
        while [ $n -gt 0 ]; do "$@" && return 0; n=$((n - 1)); sleep 0.1; done
        return 1
}
wait_exit() {   # wait_exit PID SECONDS: its status, or 124 when still running
        local _
        for _ in $(seq $(($2 * 10))); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$1" 2>/dev/null && return 124
        wait "$1"
}
owned() { busctl --system status org.spasmd.Monitor1 > /dev/null 2>&1; }
start_daemon() {        # start_daemon CONF LOG WHAT
        rig_spawn spasmd "$spasmd" --config "$1" --bus=system > "$2" 2>&1
        dpid=$RIG_LAST
        if wait_for 15 owned; then ok "spasmd owns org.spasmd.Monitor1 ($3)"
        else ko "spasmd did not appear on the bus ($3): $(tail -5 "$2")"; return 1; fi
}
finish() { [ "$fail" = 0 ] || for f in "$out"/*.log; do echo "# --- $f"; tail -20 "$f" | sed 's/^/# /'; done; done_tests "$name"; }
not_running() { # not_running WHEN: every bus subcommand exits 1 with how to start spasmd
        local v
        for v in status sensors events report monitor "calibrate max"; do
                run carer nr $v
                if [ "$rc" = 1 ] && grep -q 'systemctl start spasmd' "$out/nr.err"; then
                        ok "spasmd not running ($1): spasmctl $v exits 1 saying how to start it"
                else ko "spasmd not running ($1): spasmctl $v: exit $rc: $(head -c 400 "$out/nr.err")"; fi
        done
}

# --- usage, without spasmd -------------------------------------------------------------
run nobody help --help
[ "$rc" = 0 ] && grep -q 'calibrate rest|max' "$out/help.out" && ok "spasmctl --help lists the commands" \
        || ko "spasmctl --help: exit $rc"
for v in status sensors events report monitor calibrate analyze; do
        run nobody help $v --help
        [ "$rc" = 0 ] && grep -q "^Usage: spasmctl $v" "$out/help.out" && ok "spasmctl $v --help: exit 0" \
                || ko "spasmctl $v --help: exit $rc: $(head -3 "$out/help.out" "$out/help.err")"
        [ "$v" = analyze ] && continue
        run nobody bad $v --bogus
        [ "$rc" = 64 ] && grep -q "unknown option '--bogus'" "$out/bad.err" && ok "spasmctl $v --bogus: exit 64" \
                || ko "spasmctl $v --bogus: exit $rc: $(head -2 "$out/bad.err")"
done
run nobody bad events -x
[ "$rc" = 64 ] && grep -q "unknown option '-x'" "$out/bad.err" && ok "spasmctl events -x: exit 64 naming -x" \
        || ko "spasmctl events -x: exit $rc: $(head -2 "$out/bad.err")"
run nobody bad events --since 2h hours
expect_rc 64 bad "events --since 2h hours (a stray argument)"
run nobody bad events --since yesterdy
expect_rc 64 bad "events --since yesterdy"
has bad "not a time.*30m, 2h.*yesterday, 2026-11-24, 2026-11-24T08:00 or @1700000000" \
        "a bad --since names every accepted form"
run nobody bad events --since
[ "$rc" = 64 ] && grep -q "'--since' needs a value" "$out/bad.err" && ok "events --since without TIME: exit 64" \
        || ko "events --since without TIME: exit $rc: $(head -2 "$out/bad.err")"
for a in "events --limit 0" "events --limit 10001" "events --limit -1" "report --days 0" "report --days x" \
        "calibrate" "calibrate sideways" "calibrate rest max" "status extra"; do
        run nobody bad $a
        expect_rc 64 bad "spasmctl $a"
done
run nobody bad status --address=nonsense
expect_rc 64 bad "status --address=nonsense"
not_running "before it starts"

# --- run 0: a history with six spasms today ----------------------------------------------
conf "$RIG_DIR/run0.conf" 0 a b c
start_daemon "$RIG_DIR/run0.conf" "$out/run0.log" "run 0, three sensors as fast as they go" || { finish; exit 1; }
wait_exit "$dpid" 30 && ok "run 0: the replays end, spasmd exits 0" || ko "run 0: spasmd exit status $?"

# --- run 1: live ---------------------------------------------------------------------------
conf "$RIG_DIR/run1.conf" 5 demo
start_daemon "$RIG_DIR/run1.conf" "$out/run1.log" "run 1, the demo at 5x" || { finish; exit 1; }
d1=$dpid
# The live view on pseudo-terminals (UTF-8 and ASCII), a dumb terminal, and JSON Lines through a pipe.
rig_spawn nobody env TERM=xterm LANG=C.UTF-8 LC_ALL=C.UTF-8 script -qfec "$ctl monitor" "$out/pty-utf8.txt" \
        > /dev/null 2>&1
m_utf8=$RIG_LAST
rig_spawn carer env TERM=xterm LANG=C LC_ALL=C script -qfec "$ctl monitor" "$out/pty-ascii.txt" > /dev/null 2>&1
m_ascii=$RIG_LAST
rig_spawn nobody env TERM=dumb script -qfec "$ctl monitor" "$out/pty-dumb.txt" > /dev/null 2>&1
m_dumb=$RIG_LAST
rig_spawn nobody bash -c "set -o pipefail; '$ctl' monitor --json 2> '$out/mon-json.err' | cat > '$out/mon-json.out'"
m_json=$RIG_LAST
connected() { busctl --system get-property org.spasmd.Monitor1 /org/spasmd/Monitor1/sensor/demo org.spasmd.Sensor1 \
        Connected 2>/dev/null | grep -qx 'b true'; }
wait_for 10 connected || ko "sensor demo did not connect"

run nobody status status
expect_rc 0 status "status (nobody)"
has status "^ +State: (monitoring|activity|spasm|idle)" "status: State"
has status "^ +Sensors: demo: connected" "status: the sensor's connection"
pycheck "status: dropped samples" "$out/status.out" 'assert re.search(r"\b0 samples\s+dropped", s), s'
has status "^ +Today: [0-9]+ spasms?, [0-9]+ twitch" "status: today's counts"
has status "^ +Advisory: " "status: the advisory line"
run nobody status-json status --json
expect_rc 0 status-json "status --json"
pycheck "status --json: one JSON document with the properties, today's counts (6+ spasms from run 0) and the sensor" \
        "$out/status-json.out" '
d = json.loads(s)
p = d["properties"]
assert p["State"] in ("idle", "monitoring", "activity", "spasm"), p["State"]
assert p["Monitoring"] is True and p["HistoryStatus"] == "saving", p
assert p["LastEvent"]["sensor"] in ("a", "b", "c", "demo"), p["LastEvent"]
assert d["today"]["spasm"] >= 6, d["today"]
assert [x["Name"] for x in d["sensors"]] == ["demo"] and d["sensors"][0]["Connected"] is True, d["sensors"]
assert set(d["sensors"][0]) >= {"Uri", "Role", "Channels", "SampleRate", "Status", "DroppedSamples", "NoiseFloor",
                                 "MainsHz", "ElectrodeContact", "Activity"}, d["sensors"][0]
print("State", p["State"], "spasms today", d["today"]["spasm"])'

run nobody sensors sensors
expect_rc 0 sensors "sensors"
pycheck "sensors: a header and one line for demo, with its properties" "$out/sensors.out" '
lines = s.splitlines()
assert lines[0].split()[:4] == ["NAME", "CONNECTED", "ROLE", "RATE"], lines[0]
assert len(lines) == 2 and lines[1].split()[:5] == ["demo", "yes", "emg", "1000", "Hz"], lines
assert "emg_left,emg_right" in lines[1] and "replay:" in lines[1], lines[1]'
run nobody sensors-json sensors --json
pycheck "sensors --json: an array of one sensor" "$out/sensors-json.out" '
d = json.loads(s)
assert len(d) == 1 and d[0]["Name"] == "demo" and d[0]["Channels"][:2] == ["emg_left", "emg_right"], d'

run carer cal calibrate max
expect_rc 0 cal "calibrate max (carer)"
pycheck "calibrate max: the countdown, one line a second, then each channel's level" "$out/cal.out" '
assert re.search(r"push as hard as you comfortably can", s, re.I), s
for n in (3, 2, 1):
    assert "Push… %d s left\n" % n in s, s
levels = dict(re.findall(r"^  demo +(emg_\w+) +([0-9.]+) µV$", s, re.M))
assert set(levels) == {"emg_left", "emg_right"} and all(float(v) > 0 for v in levels.values()), s
print(levels)'
run carer cal-json calibrate --json max
expect_rc 0 cal-json "calibrate --json max (carer)"
pycheck "calibrate --json: the levels on stdout, the guidance on stderr" "$out/cal-json.out" '
d = json.loads(s)
assert d["kind"] == "max" and [(x["sensor"], x["channel"]) for x in d["levels"]] == \
        [("demo", "emg_left"), ("demo", "emg_right")] and all(x["level_uv"] > 0 for x in d["levels"]), d
assert "Push" in open(sys.argv[1].replace(".out", ".err")).read()'
# A countdown on a terminal redraws its line; a second calibration meanwhile is refused.
rig_spawn carer env TERM=xterm LANG=C.UTF-8 LC_ALL=C.UTF-8 script -qfec "$ctl calibrate max" "$out/pty-cal.txt" \
        > /dev/null 2>&1
c_pty=$RIG_LAST
wait_for 5 grep -q 'Push' "$out/pty-cal.txt" || true
run carer busy calibrate max
expect_rc 75 busy "calibrate max while another runs"
has busy "cannot calibrate now: a calibration is already running" "calibrate while another runs: says so"
wait_exit "$c_pty" 15 && ok "calibrate max on a terminal: exit 0" || ko "calibrate max on a terminal: exit $?"
pycheck "calibrate on a terminal: the countdown redraws one line" "$out/pty-cal.txt" '
assert "\r\x1b[K  Push… 2 s left\r\x1b[K  Push… 1 s left" in s, repr(s[-600:])
assert re.search(r"demo +emg_left +[0-9.]+ µV", s), repr(s[-600:])'
run nobody denied calibrate max
expect_rc 4 denied "calibrate max as nobody"
has denied "permission denied" "calibrate as nobody: permission denied"
has denied "spasmd group" "calibrate as nobody: names the spasmd group"
has denied "usermod -aG spasmd" "calibrate as nobody: says how to join it"

# The replay ends (91.4 s at 5x): spasmd exits, and every monitor with status 1.
wait_exit "$d1" 40 && ok "run 1: spasmd exits 0 at the end of the replay" || ko "run 1: spasmd exit status $?"
for m in "$m_utf8:UTF-8 terminal" "$m_ascii:ASCII terminal" "$m_dumb:TERM=dumb" "$m_json:--json through a pipe"; do
        st=0; wait_exit "${m%%:*}" 10 || st=$?
        [ "$st" = 1 ] && ok "monitor (${m#*:}) ends with status 1 when spasmd leaves" \
                || ko "monitor (${m#*:}): exit $st, expected 1"
done
for f in pty-utf8.txt pty-ascii.txt pty-dumb.txt mon-json.err pty-cal.txt; do sanitized "$out/$f" "$f"; done
pycheck "monitor on a UTF-8 terminal: the live bar, redrawn in place, with the events above it" "$out/pty-utf8.txt" '
bars = re.findall(r"\r\x1b\[Kdemo \[([^\]\r\n]*)\] +([0-9.]+×|-)", s)
assert len(bars) >= 40, "%d redraws" % len(bars)
assert any("█" in b for b, v in bars), bars[:5]
assert max(float(v[:-1]) for b, v in bars if v != "-") > 10, "never above 10× (a spasm is 20-30× its resting level)"
for line in (r"#\d+ activity started", r"#\d+ SPASM \(", r"#\d+ spasm ended after [0-9.]+ s, peak",
             r"#\d+ twitch \(", r"#\d+ voluntary movement ended"):
    assert re.search(r"\r\x1b\[K\d\d:\d\d:\d\d  " + line, s), line
assert re.search(r"SPASM #\d+ [0-9.]+ s", s), "no spasm under way on the bar"
assert "spasmd stopped" in s
print(len(bars), "redraws")'
pycheck "monitor on an ASCII terminal: a bar of #" "$out/pty-ascii.txt" '
bars = re.findall(r"\r\x1b\[Kdemo \[([# ]*)\] +([0-9.]+x|-)", s)
assert len(bars) >= 40 and any("#" in b for b, v in bars), "%d redraws" % len(bars)'
pycheck "monitor with TERM=dumb: plain lines, no bar" "$out/pty-dumb.txt" '
assert "\x1b" not in s and "demo [" not in s, repr(s[:300])
assert re.search(r"^\d\d:\d\d:\d\d  #\d+ spasm ended after", s, re.M), s[:500]'
pycheck "monitor --json through a pipe: JSON Lines, the state first, then the signals, no escapes" \
        "$out/mon-json.out" '
assert "\x1b" not in s
rows = [json.loads(l) for l in s.splitlines()]
assert "properties" in rows[0], rows[0]
signals = [r["signal"] for r in rows[1:]]
assert signals.count("SpasmEnded") == 2 and "Twitch" in signals and "ActivityStarted" in signals, signals
print(len(rows), "lines")'
not_running "after it exits"

# --- run 2: the history --------------------------------------------------------------------
# Slowly, so that no new event (the first is 15 s into the recording) comes while the history is read.
conf "$RIG_DIR/run2.conf" 0.2 demo
start_daemon "$RIG_DIR/run2.conf" "$out/run2.log" "run 2, on the same history" || { finish; exit 1; }
d2=$dpid
run nobody ev events
expect_rc 0 ev "events"
has ev "^ *ID +DATE +ONSET +CLASS +SENSOR +DURATION" "events: a table"
has ev "^ *[0-9]+ +[0-9]{4}-[0-9]{2}-[0-9]{2} +[0-9:]{8} +spasm +demo +5\.9 s" "events: run 1's first spasm"
has ev "^[0-9]+ events: [0-9]+ spasms, " "events: a summary"
run nobody ev-json events --json
run nobody ev-1h events --json --since 1h
pycheck "events --json --since 1h: JSON Lines, every event of runs 0 and 1, oldest first" "$out/ev-1h.out" '
rows = [json.loads(l) for l in s.splitlines()]
every = [json.loads(l) for l in open(sys.argv[1].replace("ev-1h", "ev-json")).read().splitlines()]
assert rows == every and len(rows) >= 24, (len(rows), len(every))
assert [r["onset_usec"] for r in rows] == sorted(r["onset_usec"] for r in rows)
assert sum(r["class"] == "spasm" for r in rows) >= 8
assert set(rows[0]) == {"id", "class", "sensor", "onset_usec", "duration_usec", "peak_uv", "intensity", "mvc_pct",
                        "pulse_hz", "side", "posture"}, rows[0]
print(len(rows), "events")'
run nobody ev-2 events --since 1h --limit 2
expect_rc 0 ev-2 "events --since 1h --limit 2"
pycheck "events --limit 2: the newest two" "$out/ev-2.out" '
rows = re.findall(r"^ *(\d+) +\d{4}-", s, re.M)
last = [json.loads(l)["id"] for l in open(sys.argv[1].replace("ev-2", "ev-json")).read().splitlines()][-2:]
assert [int(r) for r in rows] == last, (rows, last)'
run nobody ev-2j events --json --limit 2
[ "$(wc -l < "$out/ev-2j.out")" = 2 ] && ok "events --json --limit 2: two lines" || ko "events --json --limit 2: $(cat "$out/ev-2j.out")"
run nobody ev-date events --json --since "$(date +%F)"
cmp -s "$out/ev-date.out" "$out/ev-json.out" && ok "events --since $(date +%F) (today, an ISO date)" \
        || ko "events --since $(date +%F): $(head -c 300 "$out/ev-date.out" "$out/ev-date.err")"
run nobody ev-future events --since "@$(( $(date +%s) + 3600 ))"
[ "$rc" = 0 ] && grep -q '^No events since ' "$out/ev-future.out" && ok "events --since @EPOCH an hour ahead: none" \
        || ko "events --since an hour ahead: exit $rc: $(cat "$out/ev-future.out" "$out/ev-future.err")"
run nobody bad events --since 2026-02-30
expect_rc 64 bad "events --since 2026-02-30 (spasmd running)"

run nobody rep report --days 7
expect_rc 0 rep "report --days 7"
has rep "^  DAY +SPASMS +TOTAL +LONGEST" "report: a table per day"
has rep "^In all: [0-9]+ spasms, .* together; the longest 5\.9 s" "report: total and longest"
has rep "^Time of day: night \(0-6 h\)" "report: time of day"
has rep "most in the hour from [0-9]{2}:00" "report: the busiest hour"
has rep "^Trend: not known, as the history begins within these 7 days" "report: no trend from a new history"
has rep "^This is a reason to contact a doctor:" "report: more than 5 spasms a day is a reason to contact a doctor"
has rep "^  - [0-9]+ spasms on [A-Z][a-z]{2} [0-9-]{10}, more than 5 in a day" "report: says which day"
has rep "numbness, loss of bladder or bowel control, fever" "report: the urgent-care signs"
has rep "does not give medical advice" "report: spasmd gives no medical advice"
run nobody rep-json report --json
expect_rc 0 rep-json "report --json"
pycheck "report --json: one document with the days, counts, trend and reasons" "$out/rep-json.out" '
d = json.loads(s)
assert d["days"] == 7 and len(d["per_day"]) == 7 and d["per_day"][-1]["spasms"] == d["spasms"] >= 8, d["per_day"]
assert d["longest"]["class"] == "spasm" and d["longest"]["duration_usec"] == d["per_day"][-1]["longest_usec"]
assert sum(d["time_of_day"].values()) == d["spasms"] and 0 <= d["busiest_hour"] < 24
assert d["trend"]["direction"] == "unknown" and d["history_before_period"] is False, d["trend"]
assert d["contact_doctor"] is True and any("more than 5 in a day" in r for r in d["reasons"]), d["reasons"]
assert "medical advice" in d["notice"]
print(d["spasms"], "spasms,", "advisory", (d["active_advisory"] or {}).get("kind"))'
run nobody rep-1 report --days 1
[ "$rc" = 0 ] && grep -q '^Trend: needs a report of 2 days or more' "$out/rep-1.out" && ok "report --days 1" \
        || ko "report --days 1: exit $rc: $(head -c 400 "$out/rep-1.out" "$out/rep-1.err")"
run nobody status2 status --json
pycheck "status --json in run 2: the last event carried over" "$out/status2.out" '
d = json.loads(s)
assert d["properties"]["LastEvent"]["id"] > 0 and d["today"]["spasm"] >= 8, d'
# Paused: status says so, and calibrate is refused with what to do.
busctl --system call org.spasmd.Monitor1 /org/spasmd/Monitor1 org.spasmd.Monitor1 SetMonitoring b false
run nobody paused status
has paused "^ +Monitoring: PAUSED" "status while paused"
run carer cal-paused calibrate rest
expect_rc 69 cal-paused "calibrate rest while monitoring is paused"
has cal-paused "monitoring is paused" "calibrate while paused: says so"
busctl --system call org.spasmd.Monitor1 /org/spasmd/Monitor1 org.spasmd.Monitor1 SetMonitoring b true
kill -TERM "$d2"
wait_exit "$d2" 10 && ok "run 2: SIGTERM, exit 0" || ko "run 2: exit status $? after SIGTERM"

finish
