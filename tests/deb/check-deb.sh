#!/bin/sh
# make check-deb: what the built package holds, and that it installs, runs and
# purges cleanly.
#
#   tests/deb/check-deb.sh [DEB_DIR]     (default build/deb, made by make deb)
#
# 1. lintian on the .changes: no error, and no warning that debian/ does not
#    override with a reason.
# 2. The package's files against a `make install DESTDIR=... PREFIX=/usr` tree:
#    the same paths and modes, the same bytes (man pages once unzipped,
#    binaries apart), plus only Debian's own /usr/share/doc/spasmd.
# 3. Its control data: dependencies, conffile, the debhelper maintainer scripts.
# 4. dpkg -i, then the installed programs, user, catalog, policy, completion;
#    a reinstall keeps an edited conffile; dpkg -r, dpkg --purge, and nothing
#    of the package is left.
#
# Step 4 runs in a throwaway copy of this machine: a mount namespace with an
# overlay of / (its upper layer on a tmpfs) and a chroot into it, with /run
# and /tmp of its own. The host's dpkg database, users, udev and D-Bus are
# not touched. Where that cannot be set up (no overlayfs, no mount
# namespaces), or with CHECK_DEB_TARGET=host, it installs on the host itself
# and afterwards removes the spasmd user and group if the test created them.
# Either way it refuses to run when spasmd is installed already, rather than
# clobber that installation.
#
# Runs as root. Prints TAP-style lines and "deb: N passed, M failed".
#
# check's code is single-quoted on purpose: eval expands it when it runs.
# shellcheck disable=SC2016,SC2034
set -u

pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
ko() { fail=$((fail + 1)); echo "not ok - $1"; }
# check DESCRIPTION 'SHELL CODE': ok when the code, run by eval, succeeds.
check() { if eval "$2"; then ok "$1"; else ko "$1"; fi; }
indent() { sed 's/^/    /'; }
# no_warnings LOG: dpkg's output has no warning or error in it.
no_warnings() { ! grep -Eiq 'warning|error' "$1"; }

# -----------------------------------------------------------------------------
# Step 4, on the root it runs in (the overlay, or the host): install, use, purge.
#   check-deb.sh --installed DEB VERSION
# -----------------------------------------------------------------------------
installed_checks() {
        deb=$1 version=$2 upstream=${2%-*}
        export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
        export LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive
        tmp=$(mktemp -d) || exit 1

        if [ -d /run/systemd/system ]; then
                echo "# systemd runs here: the maintainer scripts talk to it"
        else
                echo "# systemd is not PID 1 here: deb-systemd-helper and deb-systemd-invoke must cope"
        fi

        if dpkg -i "$deb" > "$tmp/install.log" 2>&1 && no_warnings "$tmp/install.log"; then
                ok "dpkg -i installs it, with no warning or error"
        else
                ko "dpkg -i:"; indent < "$tmp/install.log"
        fi
        status=$(dpkg-query -W -f='${Status}' spasmd 2>/dev/null)
        check "dpkg: spasmd is '$status'" '[ "$status" = "install ok installed" ]'
        dpkg -L spasmd > "$tmp/files" 2>/dev/null
        missing=$(while read -r f; do [ -e "$f" ] || echo "$f"; done < "$tmp/files")
        check "every path dpkg -L lists exists ($(wc -l < "$tmp/files"))" '[ -z "$missing" ]'
        [ -z "$missing" ] || echo "$missing" | indent

        # The programs, from the installed paths, with the shipped configuration.
        if /usr/sbin/spasmd --check-config > "$tmp/config" 2>&1 && grep -q '^\[detector\]' "$tmp/config"; then
                ok "/usr/sbin/spasmd --check-config accepts the shipped /etc/spasmd/spasmd.conf"
        else
                ko "/usr/sbin/spasmd --check-config:"; indent < "$tmp/config"
        fi
        check "the spasmd user reads it too (setpriv --reuid=spasmd spasmd --check-config)" \
                'setpriv --reuid=spasmd --regid=spasmd --init-groups /usr/sbin/spasmd --check-config > /dev/null 2>&1'
        check "spasmctl on PATH is /usr/bin/spasmctl" '[ "$(command -v spasmctl)" = /usr/bin/spasmctl ]'
        if spasmctl --help > "$tmp/help" 2>&1 && grep -q '^Usage: spasmctl' "$tmp/help"; then
                ok "spasmctl --help"
        else
                ko "spasmctl --help:"; indent < "$tmp/help"
        fi
        check "spasmctl --version and spasmd --version say $upstream" \
                '[ "$(spasmctl --version 2>&1)" = "spasmctl $upstream" ] && [ "$(/usr/sbin/spasmd --version 2>&1)" = "spasmd $upstream" ]'

        # The user and group, from sysusers.d, made by the postinst.
        pw=$(getent passwd spasmd)
        check "user spasmd from systemd-sysusers: system uid $(echo "$pw" | cut -d: -f3), home /var/lib/spasmd, nologin" \
                '[ -n "$pw" ] && [ "$(echo "$pw" | cut -d: -f3)" -lt 1000 ] && [ "$(echo "$pw" | cut -d: -f6)" = /var/lib/spasmd ] &&
                 [ "$(echo "$pw" | cut -d: -f7)" = /usr/sbin/nologin ]'
        check "group spasmd, the one the udev rules give the IIO devices to" 'getent group spasmd > /dev/null'

        # Where udev, systemd and D-Bus look, and what their triggers did.
        check "unit /lib/systemd/system/spasmd.service" '[ -f /lib/systemd/system/spasmd.service ]'
        check "udev rules /lib/udev/rules.d/60-spasmd.rules" '[ -f /lib/udev/rules.d/60-spasmd.rules ]'
        check "sysusers.d entry /usr/lib/sysusers.d/spasmd.conf" '[ -f /usr/lib/sysusers.d/spasmd.conf ]'
        check "D-Bus policy /usr/share/dbus-1/system.d/org.spasmd.Monitor1.conf" \
                '[ -f /usr/share/dbus-1/system.d/org.spasmd.Monitor1.conf ]'
        check "journal catalog /usr/lib/systemd/catalog/spasmd.catalog" '[ -f /usr/lib/systemd/catalog/spasmd.catalog ]'
        msgid=$(sed -n 's/^-- \([0-9a-f]\{32\}\)$/\1/p' /usr/lib/systemd/catalog/spasmd.catalog 2>/dev/null | head -n 1)
        check "systemd's catalog trigger ran journalctl --update-catalog (journalctl --list-catalog $msgid)" \
                '[ -n "$msgid" ] && journalctl --list-catalog "$msgid" 2>/dev/null | grep -q spasm'
        cf=$(dpkg-query -W -f='${Conffiles}\n' spasmd | awk '$1 == "/etc/spasmd/spasmd.conf" { print $2 }')
        check "/etc/spasmd/spasmd.conf is a registered conffile (dpkg-query \${Conffiles}), as shipped" \
                '[ -n "$cf" ] && [ "$cf" = "$(md5sum < /etc/spasmd/spasmd.conf | cut -d" " -f1)" ]'

        # bash completion, loaded as bash-completion loads it: on demand, by the command's name.
        if [ -r /usr/share/bash-completion/bash_completion ]; then
                cat > "$tmp/complete.bash" <<'EOF'
. /usr/share/bash-completion/bash_completion
compopt() { :; }
_completion_loader spasmctl
complete -p spasmctl
c() {
        COMP_LINE=$1; COMP_POINT=${#1}
        read -ra COMP_WORDS <<< "$1"
        [[ $1 == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
        _spasmctl spasmctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        echo "$1|${COMPREPLY[*]}"
}
c "spasmctl "
c "spasmctl --"
c "spasmctl analyze --"
c "spasmctl events --"
c "spasmctl report --"
c "spasmctl calibrate "
c "spasmctl calibrate rest "
EOF
                bash "$tmp/complete.bash" > "$tmp/complete.out" 2>&1
                cat > "$tmp/complete.want" <<'EOF'
complete -F _spasmctl spasmctl
spasmctl |analyze status sensors events monitor calibrate report
spasmctl --|--help --version
spasmctl analyze --|--json --plot --help
spasmctl events --|--since --limit --json --help --system --user --address=
spasmctl report --|--days --json --help --system --user --address=
spasmctl calibrate |rest max
spasmctl calibrate rest |
EOF
                if diff -u "$tmp/complete.want" "$tmp/complete.out" > "$tmp/complete.diff"; then
                        ok "bash-completion loads /usr/share/bash-completion/completions/spasmctl; commands and options complete"
                else
                        ko "bash completion (- wanted, + got):"; tail -n +3 "$tmp/complete.diff" | indent
                fi
                # Against the installed spasmctl itself: the commands its --help
                # lists, and each command's long options, as its --help names them.
                cat > "$tmp/drift.bash" <<'EOF'
. /usr/share/bash-completion/bash_completion
compopt() { :; }
_completion_loader spasmctl
words_for() {
        COMP_LINE=$1; COMP_POINT=${#1}
        read -ra COMP_WORDS <<< "$1"
        [[ $1 == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
        _spasmctl spasmctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf '%s\n' "${COMPREPLY[@]}" | sed 's/=$//' | sort | tr '\n' ' '
}
comp=$(words_for "spasmctl ")
help=$(spasmctl --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z]*\)\( .*\)\{0,1\}$/\1/p' | sort | tr '\n' ' ')
[[ $comp == "$help" ]] || echo "commands: completion has '$comp', spasmctl --help '$help'"
for cmd in $help; do
        comp=$(words_for "spasmctl $cmd --")
        help=$(spasmctl "$cmd" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u | tr '\n' ' ')
        [[ $comp == "$help" ]] || echo "$cmd: completion has '$comp', spasmctl $cmd --help '$help'"
done
EOF
                bash "$tmp/drift.bash" > "$tmp/drift.out" 2>&1
                if [ ! -s "$tmp/drift.out" ]; then
                        ok "the completion offers every command and long option the installed spasmctl's --help shows, and no other"
                else
                        ko "the completion and spasmctl disagree:"; indent < "$tmp/drift.out"
                fi
        else
                echo "# bash-completion is not installed: the completion is not exercised"
        fi

        # Reinstall (the upgrade path of the maintainer scripts) over an edited conffile.
        echo "# edited by check-deb" >> /etc/spasmd/spasmd.conf
        if dpkg -i "$deb" > "$tmp/reinstall.log" 2>&1 && no_warnings "$tmp/reinstall.log"; then
                ok "dpkg -i again: the maintainer scripts' upgrade path"
        else
                ko "dpkg -i again:"; indent < "$tmp/reinstall.log"
        fi
        check "the admin's edit of the conffile survives it" 'grep -q "^# edited by check-deb" /etc/spasmd/spasmd.conf'

        # A history, as spasmd's StateDirectory= would leave it.
        mkdir -p /var/lib/spasmd && echo '{}' > /var/lib/spasmd/events.log && chown -R spasmd:spasmd /var/lib/spasmd

        if dpkg -r spasmd > "$tmp/remove.log" 2>&1 && no_warnings "$tmp/remove.log"; then
                ok "dpkg -r"
        else
                ko "dpkg -r:"; indent < "$tmp/remove.log"
        fi
        check "after dpkg -r the conffile stays and the programs are gone" \
                '[ -f /etc/spasmd/spasmd.conf ] && [ ! -e /usr/sbin/spasmd ] && [ ! -e /usr/bin/spasmctl ]'
        if dpkg --purge spasmd > "$tmp/purge.log" 2>&1 && no_warnings "$tmp/purge.log"; then
                ok "dpkg --purge"
        else
                ko "dpkg --purge:"; indent < "$tmp/purge.log"
        fi
        check "dpkg no longer knows spasmd" '[ -z "$(dpkg-query -W -f="\${db:Status-Abbrev}" spasmd 2>/dev/null)" ]'
        # Files must be gone; directories too, unless another package owns them.
        left=$(while read -r f; do
                if [ "$f" = /. ]; then
                        continue
                elif [ -d "$f" ]; then
                        dpkg-query -S "$f" > /dev/null 2>&1 || echo "$f/ ($(ls -A "$f" | head -n 3 | tr '\n' ' '))"
                elif [ -e "$f" ] || [ -L "$f" ]; then
                        echo "$f"
                fi
        done < "$tmp/files")
        check "nothing dpkg -L listed is left: no file, no directory that no other package owns" '[ -z "$left" ]'
        [ -z "$left" ] || echo "$left" | indent
        check "/etc/spasmd and /var/lib/spasmd (the history) are gone" '[ ! -e /etc/spasmd ] && [ ! -e /var/lib/spasmd ]'
        check "the catalog trigger took the messages out again" \
                '! journalctl --list-catalog "$msgid" 2>/dev/null | grep -q spasm'
        check "the spasmd user and group stay (Debian does not remove system users on purge)" \
                'getent passwd spasmd > /dev/null && getent group spasmd > /dev/null'
        rm -rf "$tmp"
}

if [ "${1:-}" = --installed ]; then
        installed_checks "$2" "$3"
        echo "installed: $pass passed, $fail failed"
        [ "$fail" = 0 ]
        exit
fi

# -----------------------------------------------------------------------------
# Steps 1 to 3, then step 4 in the overlay or on the host.
# -----------------------------------------------------------------------------
cd "$(dirname "$0")/../.." || exit 1
deb_dir=${1:-build/deb}
if [ "$(id -u)" -ne 0 ]; then
        echo "check-deb: needs root (dpkg -i, unshare -m)"; exit 1
fi
version=$(dpkg-parsechangelog -S Version) || exit 1
arch=$(dpkg --print-architecture)
deb=$deb_dir/spasmd_${version}_$arch.deb
changes=$deb_dir/spasmd_${version}_$arch.changes
if [ ! -f "$deb" ]; then
        echo "check-deb: no $deb yet: make deb"
        make --no-print-directory deb || exit 1
fi
if [ -n "$(dpkg-query -W -f='${db:Status-Abbrev}' spasmd 2>/dev/null)" ]; then
        echo "check-deb: spasmd is installed on this machine already ($(dpkg-query -W -f='${Version}, ${Status}' spasmd))."
        echo "check-deb: not installing over it, nor purging it: remove it first (dpkg --purge spasmd), then rerun."
        exit 1
fi
work=$(mktemp -d /tmp/spasmd-check-deb.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT

makefile_version=$(sed -n 's/^VERSION := //p' Makefile)
check "package version $version is the Makefile's VERSION $makefile_version plus a Debian revision" \
        '[ "${version%-*}" = "$makefile_version" ]'

# --- 1. lintian --------------------------------------------------------------
echo "# lintian $(lintian --version | sed 's/^Lintian v//') on $changes"
# Not as root, as lintian asks: as nobody, on a copy it can read.
mkdir "$work/lintian-in" "$work/lintian-home"
cp "$deb_dir"/*.deb "$deb_dir"/*.changes "$deb_dir"/*.buildinfo "$work/lintian-in/"
chmod 755 "$work" && chmod -R a+rX "$work/lintian-in"
if id nobody > /dev/null 2>&1 && chown nobody "$work/lintian-home" 2>/dev/null; then
        as_nobody="setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=$work/lintian-home"
else
        as_nobody=
fi
$as_nobody lintian --display-info --show-overrides "$work/lintian-in/${changes##*/}" > "$work/lintian" 2>&1
lintian_rc=$?
indent < "$work/lintian"
errors=$(grep -c '^E: ' "$work/lintian"); warnings=$(grep -c '^W: ' "$work/lintian")
infos=$(grep -c '^I: ' "$work/lintian"); overridden=$(grep -c '^O: ' "$work/lintian")
echo "# lintian: $errors errors, $warnings warnings, $infos info, $overridden overridden"
check "lintian ran (status $lintian_rc)" '[ "$lintian_rc" -le 1 ] && ! grep -Eq "^(internal error|Unknown|Cannot)" "$work/lintian"'
check "lintian: no errors" '[ "$errors" = 0 ]'
check "lintian: no warnings that debian/ does not override" '[ "$warnings" = 0 ]'
# An override's reason is the comment right above it.
bare=$(awk 'FNR == 1 { prev = "" } /^[^#[:space:]]/ && prev !~ /^#/ { print FILENAME ": " $0 } { prev = $0 }' \
        debian/*lintian-overrides debian/source/lintian-overrides 2>/dev/null)
check "every lintian override has a comment above it with its reason" '[ -z "$bare" ]'
[ -z "$bare" ] || echo "$bare" | indent

# --- 2. the file set against make install -------------------------------------
if make --no-print-directory install DESTDIR="$work/inst" PREFIX=/usr > "$work/install.log" 2>&1; then
        ok "make install DESTDIR=... PREFIX=/usr"
else
        ko "make install DESTDIR=... PREFIX=/usr:"; indent < "$work/install.log"
fi
# "MODE PATH" for everything but directories, with the package's paths named
# as make install names them: units and udev rules in /lib are the /usr/lib
# ones (debian/rules moves them for bookworm), man pages are gzipped.
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { p = $6; sub(/^\./, "", p); print substr($1, 2), p }' | sort -k 2 > "$work/deb.all"
grep -Ev ' /usr/share/(doc/spasmd/|lintian/overrides/spasmd$)' "$work/deb.all" \
        | sed -e 's# /lib/systemd/system/# /usr/lib/systemd/system/#' -e 's# /lib/udev/# /usr/lib/udev/#' \
              -e 's#^\(.* /usr/share/man/.*\)\.gz$#\1#' | sort -k 2 > "$work/deb.set"
(cd "$work/inst" && find . ! -type d -printf '%M %p\n') | awk '{ p = $2; sub(/^\./, "", p); print substr($1, 2), p }' \
        | sort -k 2 > "$work/inst.set"
if diff -u "$work/inst.set" "$work/deb.set" > "$work/set.diff"; then
        ok "the package has make install's files, with their modes ($(wc -l < "$work/inst.set") files)"
else
        ko "the package and make install differ (- make install, + package):"; tail -n +3 "$work/set.diff" | indent
fi
debian_own=$(awk '$2 ~ "^/usr/share/(doc/spasmd/|lintian/overrides/spasmd$)" { print $2 }' "$work/deb.all" | tr '\n' ' ')
check "besides, only Debian's own: /usr/share/doc/spasmd/{changelog.Debian.gz,copyright,examples/remote-iiod.conf}, lintian overrides" \
        '[ "$debian_own" = "/usr/share/doc/spasmd/changelog.Debian.gz /usr/share/doc/spasmd/copyright /usr/share/doc/spasmd/examples/remote-iiod.conf /usr/share/lintian/overrides/spasmd " ]'
mkdir "$work/pkg" && dpkg-deb -x "$deb" "$work/pkg"
same=0; differ=""
while read -r mode path; do
        src=$work/inst$path
        case $path in
        /lib/*) src=$work/inst/usr$path ;;
        esac
        case $path in
        /usr/share/doc/* | /usr/share/lintian/*) continue ;;
        /usr/share/man/*.gz) zcat "$work/pkg$path" | cmp -s - "${src%.gz}" ;;
        # dh_strip strips them: what they say is what counts
        /usr/bin/* | /usr/sbin/*) [ "$("$work/pkg$path" --version)" = "$("$src" --version)" ] ;;
        *) cmp -s "$work/pkg$path" "$src" ;;
        esac && same=$((same + 1)) || differ="$differ $path"
done < "$work/deb.all"
check "and the same contents: $same files (man pages unzipped; the stripped binaries by --version)" '[ -z "$differ" ]'
[ -z "$differ" ] || echo "differ:$differ" | indent
check "programs (and udev's helper) 0755, everything else 0644" \
        'awk '\''$2 ~ "^/usr/s?bin/" || $2 == "/lib/udev/spasmd-iio-access" { if ($1 != "rwxr-xr-x") bad = 1; next }
             $1 != "rw-r--r--" { bad = 1 } END { exit bad }'\'' "$work/deb.all"'

# --- 3. control data and maintainer scripts ----------------------------------
dpkg-deb -e "$deb" "$work/control"
depends=$(dpkg-deb -f "$deb" Depends)
echo "# Depends: $depends"
echo "# Recommends: $(dpkg-deb -f "$deb" Recommends)"
echo "# Suggests: $(dpkg-deb -f "$deb" Suggests)"
check "Depends: libiio0, libsystemd0, libinih1 (shlibs) and a sysusers (dh_installsysusers)" \
        'for d in libiio0 libsystemd0 libinih1 "systemd | systemd-standalone-sysusers | systemd-sysusers"; do
                 case $depends in *"$d"*) ;; *) false; break ;; esac
         done'
check "conffiles: /etc/spasmd/spasmd.conf, nothing else" '[ "$(cat "$work/control/conffiles" 2>/dev/null)" = /etc/spasmd/spasmd.conf ]'
check "postinst: dh_installsysusers' systemd-sysusers spasmd.conf, before the udev reload that needs the group" \
        'a=$(grep -n "systemd-sysusers .*spasmd.conf" "$work/control/postinst" | head -n 1 | cut -d: -f1)
         b=$(grep -n "udevadm control --reload" "$work/control/postinst" | head -n 1 | cut -d: -f1)
         [ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]'
check "postinst: dh_installsystemd's daemon-reload and restart, only where systemd runs" \
        'grep -q "if \[ -d /run/systemd/system \]" "$work/control/postinst" && grep -q "deb-systemd-invoke" "$work/control/postinst"'
check "prerm: dh_installsystemd stops spasmd.service on removal" \
        'grep -q "deb-systemd-invoke stop .spasmd.service" "$work/control/prerm"'
check "postrm: daemon-reload on removal, and the history goes on purge" \
        'grep -q daemon-reload "$work/control/postrm" && grep -q "rm -rf .*/var/lib/spasmd" "$work/control/postrm"'
check "no maintainer script runs journalctl or reloads D-Bus: systemd's and dbus's file triggers do" \
        '! cat "$work"/control/*inst "$work"/control/*rm 2>/dev/null | grep -Eq "journalctl|dbus-send|busctl|ReloadConfig"'

# --- 4. install, use, purge --------------------------------------------------
self=$(readlink -f "$0")
debabs=$(readlink -f "$deb")
target=${CHECK_DEB_TARGET:-overlay}
if [ "$target" = overlay ] && ! unshare -m --propagation private true 2> /dev/null; then
        echo "# no mount namespaces here (unshare -m fails): installing on the host instead"
        target=host
fi
if [ "$target" = overlay ]; then
        # Status 99: the overlay could not be set up; any other is the test's.
        unshare -m --propagation private sh -c '
                o=$1 self=$2 deb=$3 version=$4
                mount -t tmpfs tmpfs "$o" && mkdir "$o/upper" "$o/work" "$o/root" &&
                        mount -t overlay overlay -o "lowerdir=/,upperdir=$o/upper,workdir=$o/work" "$o/root" &&
                        mount --bind /proc "$o/root/proc" && mount --bind /dev "$o/root/dev" &&
                        mount -t tmpfs tmpfs "$o/root/run" && mount -t tmpfs tmpfs "$o/root/tmp" &&
                        mkdir "$o/root/tmp/check-deb" && cp "$self" "$deb" "$o/root/tmp/check-deb/" || exit 99
                echo "# installing in an overlay of / (upper layer on a tmpfs, /run and /tmp of its own)"
                exec chroot "$o/root" /bin/sh /tmp/check-deb/check-deb.sh --installed "/tmp/check-deb/${deb##*/}" "$version"
        ' sh "$work" "$self" "$debabs" "$version" > "$work/installed.out" 2>&1
        rc=$?
        if [ "$rc" = 99 ]; then
                echo "# no overlay of / here ($(tail -n 1 "$work/installed.out")): installing on the host instead"
                target=host
        fi
fi
if [ "$target" = host ]; then
        user_before=$(getent passwd spasmd)
        group_before=$(getent group spasmd)
        echo "# installing on the host"
        sh "$self" --installed "$debabs" "$version" > "$work/installed.out" 2>&1
        rc=$?
        cat "$work/installed.out"
        # The package leaves the user, as it should; the test leaves the host as
        # it found it. userdel refuses while a process runs under the uid.
        if [ -z "$user_before" ] && getent passwd spasmd > /dev/null; then
                for try in 1 2 3 4 5; do
                        userdel spasmd 2> "$work/userdel" && break
                        sleep 1
                done
                if getent passwd spasmd > /dev/null; then
                        echo "# warning: could not remove the spasmd user the test created ($(cat "$work/userdel")): userdel spasmd"
                else
                        echo "# removed the spasmd user the test created"
                fi
        fi
        if [ -z "$group_before" ] && getent group spasmd > /dev/null && ! getent passwd spasmd > /dev/null; then
                groupdel spasmd && echo "# removed the spasmd group the test created"
        fi
else
        cat "$work/installed.out"
fi
pass=$((pass + $(grep -c '^ok - ' "$work/installed.out")))
fail=$((fail + $(grep -c '^not ok - ' "$work/installed.out")))
[ "$rc" = 0 ] || grep -q '^not ok - ' "$work/installed.out" || ko "the install test ended with status $rc"

echo "deb: $pass passed, $fail failed"
[ "$fail" = 0 ]
