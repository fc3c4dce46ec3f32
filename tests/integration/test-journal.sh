#!/bin/sh
# Structured journal records, read back from a real systemd-journald run in
# a private mount namespace (volatile storage on tmpfs; the host's journal
# is not touched): each finished event carries its MESSAGE_ID and SPASM_*
# fields, sensor changes carry theirs, and the catalog file parses.
set -eu
build=$(cd "${1:-build}" && pwd)
tmp=$(mktemp -d)
# The event history goes where systemd would put it, here in the test's own directory.
export STATE_DIRECTORY="$tmp/state"
mkdir -p "$STATE_DIRECTORY"
trap 'rm -rf "$tmp"' EXIT
if ! unshare -m true 2>/dev/null || ! [ -x /lib/systemd/systemd-journald ]; then
        echo "integration (journal): needs root, unshare -m and systemd-journald"
        echo "integration (journal): 0 passed, 1 failed"
        exit 1
fi
printf '[Journal]\nStorage=volatile\nReadKMsg=no\nAudit=no\n' > "$tmp/journald.conf"
printf '[advisory]\nmax_spasms_per_day = 1\n[sensor.demo]\nuri = replay:%s/tests/data/demo-lumbar.csv\nspeed = 0\n' \
        "$PWD" > "$tmp/demo.conf"
# A history directory that is a file: the error must reach the journal with its MESSAGE_ID.
: > "$tmp/not-a-directory"
printf '[history]\ndirectory = %s/not-a-directory\n[sensor.demo]\nuri = replay:%s/tests/data/demo-lumbar.csv\nspeed = 0\n' \
        "$tmp" "$PWD" > "$tmp/nohistory.conf"

unshare -m --propagation private sh -c '
        set -e
        for d in /run/systemd/journal /run/log /var/log/journal; do mkdir -p $d; mount -t tmpfs tmpfs $d; done
        mount --bind "$1/journald.conf" /etc/systemd/journald.conf
        /lib/systemd/systemd-journald > "$1/journald.log" 2>&1 &
        jpid=$!
        for _ in $(seq 50); do [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done
        SPASMD_LOG_TARGET=journal "$2/spasmd" --bus=none --config "$1/demo.conf"
        SPASMD_LOG_TARGET=journal "$2/spasmd" --bus=none --config "$1/nohistory.conf"
        journalctl --sync
        journalctl -D /run/log/journal/* -o json SYSLOG_IDENTIFIER=spasmd > "$1/journal.json"
        kill $jpid; wait $jpid || true
' sh "$tmp" "$build"

/usr/bin/python3 - "$tmp/journal.json" "$build" <<'PY'
import json, subprocess, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
first_run = recs[:next((i for i, r in enumerate(recs) if "cannot be opened" in r.get("MESSAGE", "")), len(recs))]
events = [r for r in first_run if "SPASM_EVENT_ID" in r]
ref = [json.loads(l) for l in subprocess.run([sys.argv[2] + "/spasmctl", "analyze", "--json", "tests/data/demo-lumbar.csv"],
                                             capture_output=True, text=True).stdout.splitlines()
       if '"summary"' not in l]
ids = {"spasm": "b5cec0a1ffc84cbe9bb3b5c9409d2517", "twitch": "8c14193b0ade49d19fb9f4eda9172986",
       "voluntary": "24313124de9f4e15a54d71745c99ff5c"}
passed = failed = 0
def check(ok, what):
    global passed, failed
    print(("ok - " if ok else "not ok - ") + what)
    passed += ok
    failed += not ok
check(len(recs) > 0, "journald got spasmd's records (%d)" % len(recs))
check([e["SPASM_CLASS"] for e in events] == [r["type"] for r in ref],
      "one record per event, classes as spasmctl analyze: %s" % [e["SPASM_CLASS"] for e in events])
check(all(e.get("MESSAGE_ID") == ids[e["SPASM_CLASS"]] for e in events), "MESSAGE_ID per kind")
need = ["SPASM_EVENT_ID", "SPASM_ONSET_USEC", "SPASM_DURATION_USEC", "SPASM_PEAK_UV", "SPASM_INTENSITY",
        "SPASM_SIDE", "SPASM_SENSOR", "PRIORITY"]
check(all(all(k in e for k in need) for e in events), "fields: " + ", ".join(need))
check(all(abs(int(e["SPASM_DURATION_USEC"]) / 1e6 - r["duration_s"]) < 0.002 for e, r in zip(events, ref)),
      "durations match analyze")
check(any(e["SPASM_SIDE"] == "left" for e in events) and any(e["SPASM_SIDE"] == "both" for e in events),
      "side from channel names")
check(any(r.get("MESSAGE_ID") == "480e3e4f6bfa4b24ac4728c41002cb10" and r.get("SPASM_SENSOR_STATE") == "ended"
          for r in recs), "sensor change record")
adv = [r for r in recs if r.get("MESSAGE_ID") == "bbc8051af8334515b7a983ba43eab1df"]
check(len(adv) >= 1 and adv[0].get("SPASM_ADVISORY") == "frequent" and "doctor" in adv[0]["MESSAGE"]
      and "does not give medical advice" in adv[0]["MESSAGE"] and adv[0].get("PRIORITY") == "5",
      "advisory record: frequent, says to contact a doctor and that it gives no medical advice")
err = [r for r in recs if r.get("MESSAGE_ID") == "f65e48c78c9a4f6fb899f7b6e4167a46"]
check(any("not-a-directory" in r["MESSAGE"] and r.get("PRIORITY") == "3" and r.get("ERRNO") for r in err),
      "error record: the unusable history directory, with MESSAGE_ID, PRIORITY=3 and ERRNO")
# The catalog: journalctl compiles it in a scratch root and lists every MESSAGE_ID.
import os, shutil, tempfile
root = tempfile.mkdtemp()
os.makedirs(root + "/usr/lib/systemd/catalog")
shutil.copy("conf/spasmd.catalog", root + "/usr/lib/systemd/catalog/spasmd.catalog")
up = subprocess.run(["journalctl", "--root", root, "--update-catalog"], capture_output=True, text=True)
listed = subprocess.run(["journalctl", "--root", root, "--list-catalog"], capture_output=True, text=True).stdout
shutil.rmtree(root)
check(up.returncode == 0 and not up.stderr.strip() and all(i in listed for i in list(ids.values()) + [
      "480e3e4f6bfa4b24ac4728c41002cb10", "bbc8051af8334515b7a983ba43eab1df", "f65e48c78c9a4f6fb899f7b6e4167a46"]),
      "the catalog compiles and lists all six MESSAGE_IDs" + (": " + up.stderr.strip() if up.stderr.strip() else ""))
print("integration (journal): %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
