#!/bin/sh
# udev 252 has no `udevadm verify`: load the rules alone, in a private mount
# namespace, and let `udevadm test` parse them. It says "Invalid" for a bad
# key or operator and exits 0 all the same, so the output is what counts.
set -eu
pass=0; fail=0
if ! command -v udevadm >/dev/null || ! unshare -m true 2>/dev/null; then
        echo "integration (udev): cannot run here (needs udevadm and unshare -m, as root)"
        echo "integration (udev): 0 passed, 1 failed"
        exit 1
fi
# The package's sysusers.d entry creates the group; here a copy of /etc/group
# with it is bound in, inside the namespace only.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp /etc/group "$tmp/group"
grep -q '^spasmd:' "$tmp/group" || echo 'spasmd:x:990:' >> "$tmp/group"
out=$(TMPGROUP="$tmp/group" unshare -m --propagation private sh -c '
        mount --bind "$TMPGROUP" /etc/group &&
        mount -t tmpfs tmpfs /etc/udev/rules.d &&
        cp udev/60-spasmd.rules /etc/udev/rules.d/ &&
        udevadm test /devices/virtual/mem/null 2>&1')
if echo "$out" | grep -q "60-spasmd.rules"; then pass=$((pass + 1)); echo "ok - udevadm read 60-spasmd.rules";
else fail=$((fail + 1)); echo "not ok - udevadm did not read the rules"; echo "$out" | tail -5; fi
if echo "$out" | grep -i "60-spasmd.rules" | grep -qiE "invalid|error|unknown"; then
        fail=$((fail + 1)); echo "not ok - the rules have errors:"; echo "$out" | grep -iE "invalid|error|unknown"
else pass=$((pass + 1)); echo "ok - no Invalid/error/unknown for 60-spasmd.rules"; fi
# The conventions a sysadmin expects: removal skipped first, attribute tested before it is read.
grep -q '^ACTION=="remove", GOTO="spasmd_end"' udev/60-spasmd.rules && grep -q 'TEST!="name"' udev/60-spasmd.rules \
        && { pass=$((pass + 1)); echo "ok - remove skipped, TEST before ATTR"; } \
        || { fail=$((fail + 1)); echo "not ok - rule conventions"; }
echo "integration (udev): $pass passed, $fail failed"
[ "$fail" = 0 ]
