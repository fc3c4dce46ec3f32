#!/bin/sh
# Install the Debian packages spasmd needs to build, test, demo and bench.
# Called by `make deps`, and by check/demo/bench when something is missing.
#   tools/deps.sh [SET...]   SET: base (the default), deb (make deb, make check-deb),
#                            fuzz (make fuzz)
set -eu

# strace: tests/integration/test-files.sh; cppcheck, clang-tidy: make lint.
BASE="build-essential pkg-config libiio-dev libsystemd-dev libinih-dev libcmocka-dev
python3 python3-numpy python3-scipy mandoc udev systemd libiio-utils iiod
python3-dbus python3-gi libglib2.0-bin dbus-daemon
strace cppcheck clang-tidy"
# Packaging: dpkg-buildpackage, dh (its sysusers sequence is part of debhelper),
# lintian, and bash-completion for check-deb's test of spasmctl's completion.
DEB="debhelper dpkg-dev lintian bash-completion"
# make fuzz: Debian's clang and its runtimes (libFuzzer, ASan, UBSan). make
# fuzz-replay, part of check, builds the same targets with gcc and needs neither.
FUZZ="clang-14 libclang-rt-14-dev"

[ $# -gt 0 ] || set -- base
PACKAGES=""
for set in "$@"; do
        case $set in
        base) PACKAGES="$PACKAGES $BASE" ;;
        deb) PACKAGES="$PACKAGES $DEB" ;;
        fuzz) PACKAGES="$PACKAGES $FUZZ" ;;
        *) echo "usage: tools/deps.sh [base] [deb] [fuzz]" >&2; exit 64 ;;
        esac
done

missing=""
for p in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "spasmd: installing missing Debian packages:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
        SUDO=sudo
        command -v sudo >/dev/null || { echo "spasmd: run 'make deps' as root to install:$missing" >&2; exit 1; }
else
        SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
