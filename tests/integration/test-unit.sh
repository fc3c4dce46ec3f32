#!/bin/sh
# The systemd unit, offline (no systemd as PID 1 needed): `systemd-analyze
# verify` is clean (unknown keys are only warnings there, so stderr counts),
# and `systemd-analyze security` scores an exposure of 1.5 or less.
set -eu
build=$(cd "${1:-build}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/integration/tap.sh

# verify wants ExecStart= to exist: point it at the build.
sed "s|/usr/sbin/spasmd|$build/spasmd|" systemd/spasmd.service > "$tmp/spasmd.service"
if systemd-analyze verify --man=no "$tmp/spasmd.service" > "$tmp/verify.log" 2>&1 && ! [ -s "$tmp/verify.log" ]; then
        ok "systemd-analyze verify is clean"
else ko "systemd-analyze verify:"; cat "$tmp/verify.log"; fi

mkdir -p "$tmp/spasmd.service.d"
cp systemd/spasmd.service.d/remote-iiod.conf "$tmp/spasmd.service.d/"
if systemd-analyze verify --man=no "$tmp/spasmd.service" > "$tmp/verify2.log" 2>&1 && ! [ -s "$tmp/verify2.log" ]; then
        ok "verify is clean with the remote-iiod drop-in"
else ko "verify with drop-in:"; cat "$tmp/verify2.log"; fi
rm -r "$tmp/spasmd.service.d"

score=$(systemd-analyze security --offline=true "$tmp/spasmd.service" 2>/dev/null \
        | sed -n 's/.*Overall exposure level for spasmd.service: \([0-9.]*\).*/\1/p')
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }'; then
        ok "systemd-analyze security: exposure $score (<= 1.5; hostnamed 1.5, timesyncd 2.3)"
else ko "exposure ${score:-unknown} > 1.5"; fi

grep -q '^Type=notify' systemd/spasmd.service && grep -q '^WatchdogSec=' systemd/spasmd.service \
        && grep -q '^User=spasmd' systemd/spasmd.service && grep -q '^u spasmd ' systemd/spasmd.sysusers \
        && ok "Type=notify with a watchdog, as its own user from sysusers.d" || ko "unit basics"

done_tests "integration (systemd unit)"
