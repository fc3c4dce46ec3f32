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
# spasmd-iio-access on a fake device directory: the attributes libiio writes to stream become writable by
# the group, and nothing else changes.
dev="$tmp/sys/devices/iio:device3"
mkdir -p "$dev/buffer" "$dev/buffer0" "$dev/scan_elements"
for f in name in_voltage0_raw in_voltage0_scale sampling_frequency_available buffer/enable buffer/length \
         buffer/watermark buffer0/enable buffer0/in_voltage1_en scan_elements/in_voltage0_en \
         scan_elements/in_voltage0_index scan_elements/in_voltage0_type sampling_frequency in_accel_sampling_frequency; do
        echo 0 > "$dev/$f"; chmod 0644 "$dev/$f"; chgrp root "$dev/$f"
done
TMPGROUP="$tmp/group" DEV="$dev" unshare -m --propagation private sh -c '
        mount --bind "$TMPGROUP" /etc/group && udev/spasmd-iio-access "$DEV" spasmd' \
        && rc=0 || rc=$?
granted=$(cd "$dev" && TMPGROUP="$tmp/group" unshare -m --propagation private sh -c '
        mount --bind "$TMPGROUP" /etc/group && stat -c "%n %G %a" buffer/enable buffer/length buffer/watermark \
                buffer0/enable buffer0/in_voltage1_en scan_elements/in_voltage0_en sampling_frequency \
                in_accel_sampling_frequency' | awk '$2 != "spasmd" || $3 != "664"')
untouched=$(cd "$dev" && stat -c "%n %G %a" name in_voltage0_raw in_voltage0_scale sampling_frequency_available \
        scan_elements/in_voltage0_index scan_elements/in_voltage0_type | awk '$2 != "root" || $3 != "644"')
if [ "$rc" = 0 ] && [ -z "$granted" ] && [ -z "$untouched" ]; then
        pass=$((pass + 1)); echo "ok - spasmd-iio-access: buffer, scan-element and sampling-frequency attributes group spasmd, 0664; the rest untouched"
else
        fail=$((fail + 1)); echo "not ok - spasmd-iio-access (exit $rc); not granted: ${granted:-none}; changed: ${untouched:-none}"
fi
grep -q '^KERNEL=="iio:device\*", RUN+="spasmd-iio-access %S%p spasmd"' udev/60-spasmd.rules \
        && { pass=$((pass + 1)); echo "ok - the rule runs spasmd-iio-access for each tagged device"; } \
        || { fail=$((fail + 1)); echo "not ok - 60-spasmd.rules does not run spasmd-iio-access"; }
echo "integration (udev): $pass passed, $fail failed"
[ "$fail" = 0 ]
