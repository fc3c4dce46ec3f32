#!/bin/sh
# make install with PREFIX=/usr/local, as a sysadmin building from source
# would: the programs land under the prefix, the unit's ExecStart= points at
# that very binary, and what systemd, udev and dbus-daemon read goes where
# they read it (none of them looks under /usr/local). The Debian package's
# PREFIX=/usr file set is checked by make check-deb.
set -eu
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/integration/tap.sh

case "$build" in
*asan*) echo "integration (install): the same files as the plain build's; checked in its pass"
        echo "integration (install): 0 passed, 0 failed"; exit 0 ;;
esac
d="$tmp/root"
if make --no-print-directory BUILD="$build" install DESTDIR="$d" PREFIX=/usr/local > "$tmp/install.log" 2>&1; then
        ok "make install DESTDIR=... PREFIX=/usr/local"
else ko "make install failed:"; tail -5 "$tmp/install.log"; fi

exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$d/usr/lib/systemd/system/spasmd.service" 2>/dev/null)
[ "$exec_start" = /usr/local/sbin/spasmd ] && [ -x "$d$exec_start" ] \
        && ok "the unit's ExecStart= is the installed $exec_start" \
        || ko "the unit's ExecStart= is '$exec_start', not an installed /usr/local/sbin/spasmd"
[ -x "$d/usr/local/bin/spasmctl" ] && ok "spasmctl in /usr/local/bin" || ko "no /usr/local/bin/spasmctl"

missing=""
for f in /usr/lib/udev/rules.d/60-spasmd.rules /usr/lib/udev/spasmd-iio-access /usr/lib/sysusers.d/spasmd.conf \
         /usr/lib/systemd/catalog/spasmd.catalog /usr/share/dbus-1/system.d/org.spasmd.Monitor1.conf \
         /etc/spasmd/spasmd.conf /usr/local/share/man/man8/spasmd.8; do
        [ -f "$d$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && ok "udev, sysusers, catalog and D-Bus policy where their readers look; config in /etc" \
        || ko "not installed:$missing"
[ -z "$(find "$d/usr/local" -path '*udev*' -o -path '*system.d*' -o -path '*sysusers*' 2>/dev/null)" ] \
        && ok "nothing for udev, systemd or dbus-daemon under /usr/local" \
        || ko "under /usr/local, where nothing reads them: $(find "$d/usr/local" -path '*udev*' -o -path '*system.d*')"

# The daemon's default configuration is the file installed.
default=$("$d/usr/local/sbin/spasmd" --help 2>&1 | sed -n 's/.*(default \(\/[^)]*\)).*/\1/p' | head -1)
[ -n "$default" ] && [ -f "$d$default" ] && ok "spasmd's default configuration $default is installed" \
        || ko "spasmd's default configuration '$default' is not what make install put in place"
done_tests "integration (install)"
