#!/bin/sh
# The systemd unit, offline (no systemd as PID 1 needed): `systemd-analyze
# verify` is clean (unknown keys are only warnings there, so stderr counts),
# `systemd-analyze security` scores an exposure of 1.0 or less (1.5 or less
# with the remote-iiod drop-in, which opens AF_INET), and the daemon runs as
# its own user with no capabilities.
set -eu
build=$(cd "${1:-build}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/integration/tap.sh
unit=systemd/spasmd.service

# verify wants ExecStart= to exist: point it at the build.
sed "s|/usr/sbin/spasmd|$build/spasmd|" $unit > "$tmp/spasmd.service"
if systemd-analyze verify --man=no "$tmp/spasmd.service" > "$tmp/verify.log" 2>&1 && ! [ -s "$tmp/verify.log" ]; then
        ok "systemd-analyze verify is clean"
else ko "systemd-analyze verify:"; cat "$tmp/verify.log"; fi

# score [DROPIN]: the overall exposure, with DROPIN installed next to the unit.
score() {
        rm -rf "$tmp/spasmd.service.d"
        if [ -n "${1:-}" ]; then mkdir "$tmp/spasmd.service.d"; cp "$1" "$tmp/spasmd.service.d/"; fi
        systemd-analyze security --offline=true "$tmp/spasmd.service" > "$tmp/security.log" 2>&1 || true
        sed -n 's/.*Overall exposure level for spasmd.service: \([0-9.]*\).*/\1/p' "$tmp/security.log"
}
# check_score WHAT MAX [DROPIN]
check_score() {
        got=$(score "${3:-}")
        if [ -n "$got" ] && awk -v s="$got" -v m="$2" 'BEGIN { exit !(s <= m) }'; then
                ok "systemd-analyze security$1: exposure $got (<= $2)"
        else
                ko "systemd-analyze security$1: exposure ${got:-unknown} > $2; what is exposed:"
                grep -E '✗|Overall' "$tmp/security.log" | sed 's/^/# /'
        fi
}
# For scale, offline on Debian 12: systemd-hostnamed 1.5, systemd-timesyncd 2.3.
check_score "" 1.0

mkdir -p "$tmp/spasmd.service.d"
cp systemd/spasmd.service.d/remote-iiod.conf "$tmp/spasmd.service.d/"
if systemd-analyze verify --man=no "$tmp/spasmd.service" > "$tmp/verify2.log" 2>&1 && ! [ -s "$tmp/verify2.log" ]; then
        ok "verify is clean with the remote-iiod drop-in"
else ko "verify with drop-in:"; cat "$tmp/verify2.log"; fi
check_score " with the remote-iiod drop-in" 1.5 systemd/spasmd.service.d/remote-iiod.conf
rm -rf "$tmp/spasmd.service.d"

# What the sandbox must keep for the daemon to work at all; each of these
# would raise the score if dropped, but the score alone would not say what
# broke. One value per key, the last assignment wins as in systemd.
val() { sed -n "s/^$1=//p" $unit | tail -1; }
[ "$(val Type)" = notify ] && [ -n "$(val WatchdogSec)" ] && grep -q '^u spasmd ' systemd/spasmd.sysusers \
        && ok "Type=notify with a watchdog; user spasmd comes from sysusers.d" || ko "unit basics"
# Its own user, no capabilities: an empty bounding set (not just none
# ambient), no way back up, no root user or group anywhere.
if [ "$(val User)" = spasmd ] && [ "$(val Group)" = spasmd ] && [ "$(val CapabilityBoundingSet)" = "" ] \
        && grep -q '^CapabilityBoundingSet=$' $unit && [ "$(val AmbientCapabilities)" = "" ] \
        && [ "$(val NoNewPrivileges)" = yes ] && ! grep -Eq '^(DynamicUser|SupplementaryGroups|PermissionsStartOnly)=' $unit \
        && ! grep -Eq '^Exec[A-Za-z]*=[-@:!+]*[+!]' $unit; then
        ok "runs as User=spasmd, Group=spasmd, with CapabilityBoundingSet= empty and NoNewPrivileges"
else ko "user and capabilities: User=$(val User) Group=$(val Group) CapabilityBoundingSet='$(val CapabilityBoundingSet)'"; fi
# systemd-analyze agrees: every capability row is a pass.
score "" > /dev/null
if grep -q 'User=/DynamicUser=.*static non-root' "$tmp/security.log" \
        && ! grep -E '^✗ (CapabilityBoundingSet|AmbientCapabilities|NoNewPrivileges|User=)' "$tmp/security.log" | grep -q .; then
        ok "systemd-analyze: a static non-root user, and no capability row fails"
else ko "systemd-analyze capability rows:"; grep -E 'Capabilit|User=' "$tmp/security.log" | sed 's/^/# /'; fi
# IIO access: the device nodes, the sysfs attributes under /sys/devices,
# the host's network namespace for udev's events (no PrivateNetwork=,
# AF_NETLINK), no user namespace (PrivateUsers=: uevents would be dropped),
# no private /dev (PrivateDevices=: no IIO nodes in it).
if [ "$(val DeviceAllow)" = "char-iio rw" ] && [ "$(val ProtectKernelTunables)" = yes ] \
        && [ "$(val ReadWritePaths)" = /sys/devices ] && val RestrictAddressFamilies | grep -qw AF_NETLINK \
        && val RestrictAddressFamilies | grep -qw AF_UNIX \
        && ! grep -Eq '^(PrivateNetwork|PrivateUsers|PrivateDevices)=(yes|true|1|on)' $unit; then
        ok "keeps IIO (char-iio, /sys/devices writable), udev events (host netns, AF_NETLINK) and D-Bus/journal (AF_UNIX)"
else ko "IIO, udev or AF_UNIX access lost"; fi
# The journal: stdout/stderr are not redirected away from it.
! grep -Eq '^(StandardOutput|StandardError)=' $unit && ok "standard output and error go to the journal" \
        || ko "StandardOutput=/StandardError= set"

done_tests "integration (systemd unit)"
