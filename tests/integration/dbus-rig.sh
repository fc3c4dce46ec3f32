# shellcheck shell=bash
# Sourced (by bash) from the D-Bus integration tests: a private bus that
# behaves like the system bus, with Debian's real system.conf and spasmd's
# real policy, and real users, without touching the host.
#
#   . tests/integration/dbus-rig.sh
#   rig_enter NAME "$0" "$@"  re-runs the calling script under
#                             `unshare -m --propagation private` (returns at
#                             once when already inside)
#   rig_start                 users and bus; exports DBUS_SYSTEM_BUS_ADDRESS
#                             and RIG_DIR (a scratch directory, mode 0755)
#   rig_as USER CMD...        runs CMD as root, spasmd, carer or nobody
#   rig_spawn USER CMD...     the same in the background; pid in RIG_LAST
#   rig_track PID             PID is killed on exit, before the bus
#
# Inside the mount namespace, copies of /etc/passwd, /etc/group and
# /etc/shadow are bind-mounted over the originals. They add, when the host
# lacks them, a system user and group `spasmd` and a user `carer` in group
# spasmd; `nobody` is the host's. The bus config is
# /usr/share/dbus-1/system.conf with its own <listen> path in RIG_DIR, and
# without <user>, <pidfile>, <fork>, <syslog>, service activation and the
# host's includes (so a policy the host has installed cannot interfere); it
# <include>s conf/org.spasmd.Monitor1.conf by absolute path instead.
# dbus-daemon refuses to start on a broken included file. Everything the rig
# started is stopped on exit; the mounts go with the namespace.

RIG_POLICY=${RIG_POLICY:-$PWD/conf/org.spasmd.Monitor1.conf}
RIG_PIDS=""

# rig_enter NAME SCRIPT ARGS...: NAME is for the summary line when the rig
# cannot run at all.
rig_enter() {
        local name=$1; shift
        [ -n "${SPASMD_DBUS_RIG_NS:-}" ] && return 0
        local why=""
        [ "$(id -u)" = 0 ] || why="needs root"
        [ -n "$why" ] || unshare -m --propagation private true 2>/dev/null || why="needs unshare -m"
        for t in dbus-daemon setpriv busctl gdbus; do
                [ -n "$why" ] || command -v $t > /dev/null || why="needs $t"
        done
        [ -n "$why" ] || /usr/bin/python3 -c 'import dbus, dbus.service, dbus.mainloop.glib; from gi.repository import GLib' \
                2>/dev/null || why="needs python3-dbus and python3-gi"
        [ -r /usr/share/dbus-1/system.conf ] || why="${why:-needs /usr/share/dbus-1/system.conf}"
        if [ -n "$why" ]; then
                echo "$name: $why"
                echo "$name: 0 passed, 1 failed"
                exit 1
        fi
        export SPASMD_DBUS_RIG_NS=1
        exec unshare -m --propagation private -- "$@"
}

rig_track() { RIG_PIDS="$RIG_PIDS $1"; }

rig_stop() {
        local p
        for p in $RIG_PIDS ${RIG_BUS_PID:-}; do
                if kill -TERM "$p" 2>/dev/null; then wait "$p" 2>/dev/null || true; fi
        done
        RIG_PIDS=""; RIG_BUS_PID=""
        [ -n "${RIG_DIR:-}" ] && rm -rf "$RIG_DIR"
        return 0
}

# A free id, the same in passwd and group: rig_free_id FROM TO (either direction).
rig_free_id() {
        local i
        for i in $(seq "$1" "$([ "$1" -gt "$2" ] && echo -1 || echo 1)" "$2"); do
                getent passwd "$i" > /dev/null || getent group "$i" > /dev/null || { echo "$i"; return 0; }
        done
        return 1
}

rig_users() {
        local d=$RIG_DIR/etc id cid
        mkdir -p "$d"
        cp /etc/passwd /etc/group "$d/"
        if [ -r /etc/shadow ]; then cp -p /etc/shadow "$d/shadow"; else : > "$d/shadow"; fi
        if ! getent group spasmd > /dev/null; then
                id=$(rig_free_id 999 100) || return 1
                echo "spasmd:x:$id:" >> "$d/group"
        fi
        if ! getent passwd spasmd > /dev/null; then
                id=$(awk -F: '$1 == "spasmd" { print $3 }' "$d/group")
                getent passwd "$id" > /dev/null && id=$(rig_free_id 999 100)
                echo "spasmd:x:$id:$(awk -F: '$1 == "spasmd" { print $3 }' "$d/group"):spasmd muscle spasm monitor:/var/lib/spasmd:/usr/sbin/nologin" >> "$d/passwd"
                echo "spasmd:!*:1::::::" >> "$d/shadow"
        fi
        if ! getent passwd carer > /dev/null; then
                cid=$(rig_free_id 1500 60000) || return 1
                echo "carer:x:$cid:$cid:carer:/nonexistent:/usr/sbin/nologin" >> "$d/passwd"
                getent group carer > /dev/null || echo "carer:x:$cid:" >> "$d/group"
                echo "carer:!*:1::::::" >> "$d/shadow"
        fi
        # carer joins group spasmd (appended to the member list).
        awk -F: -v OFS=: '$1 == "spasmd" && ("," $4 ",") !~ /,carer,/ { $4 = ($4 == "" ? "carer" : $4 ",carer") } { print }' \
                "$d/group" > "$d/group.new" && mv "$d/group.new" "$d/group"
        chmod 644 "$d/passwd" "$d/group"
        chmod 640 "$d/shadow"
        mount --bind "$d/passwd" /etc/passwd
        mount --bind "$d/group" /etc/group
        mount --bind "$d/shadow" /etc/shadow
        id -nG carer | tr ' ' '\n' | grep -qx spasmd && getent passwd spasmd > /dev/null && getent passwd nobody > /dev/null
}

rig_bus_config() {
        # One element per line in Debian's system.conf; every line dropped is
        # checked below, so a differently shaped file fails loudly, not silently.
        sed -e '/<user>/d' -e '/<pidfile>/d' -e '/<fork\/>/d' -e '/<syslog\/>/d' \
            -e '/<standard_system_servicedirs\/>/d' -e '/<servicedir>/d' -e '/<servicehelper>/d' \
            -e '/<include/d' -e '/<includedir>/d' \
            -e "s|<listen>.*</listen>|<listen>unix:path=$RIG_DIR/bus/system_bus_socket</listen>|" \
            -e "s|</busconfig>|  <include>$RIG_POLICY</include>\n</busconfig>|" \
            /usr/share/dbus-1/system.conf > "$RIG_DIR/system.conf"
        grep -q "<listen>unix:path=$RIG_DIR/" "$RIG_DIR/system.conf" \
                && grep -q '<deny own="\*"/>' "$RIG_DIR/system.conf" \
                && grep -q '<deny send_type="method_call"/>' "$RIG_DIR/system.conf" \
                && grep -q "<include>$RIG_POLICY</include>" "$RIG_DIR/system.conf" \
                && ! grep -Eq '<(user|pidfile|fork|servicehelper|standard_system_servicedirs|includedir)\b' "$RIG_DIR/system.conf"
}

rig_start() {
        RIG_DIR=$(mktemp -d /tmp/spasmd-dbus-rig.XXXXXX)
        chmod 755 "$RIG_DIR"
        mkdir -m 755 "$RIG_DIR/bus"
        trap rig_stop EXIT
        trap 'exit 130' INT TERM
        [ -r "$RIG_POLICY" ] || { echo "rig: no policy file $RIG_POLICY" >&2; return 1; }
        rig_users || { echo "rig: could not set up the users spasmd, carer, nobody" >&2; return 1; }
        rig_bus_config || { echo "rig: unexpected /usr/share/dbus-1/system.conf; generated:" >&2; cat "$RIG_DIR/system.conf" >&2; return 1; }
        dbus-daemon --config-file="$RIG_DIR/system.conf" --nofork --nopidfile --nosyslog \
                > "$RIG_DIR/bus.log" 2>&1 &
        RIG_BUS_PID=$!
        export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$RIG_DIR/bus/system_bus_socket"
        local _
        for _ in $(seq 100); do
                [ -S "$RIG_DIR/bus/system_bus_socket" ] && break
                kill -0 "$RIG_BUS_PID" 2>/dev/null || break
                sleep 0.05
        done
        if ! [ -S "$RIG_DIR/bus/system_bus_socket" ] || ! busctl --system status org.freedesktop.DBus > /dev/null 2>&1; then
                echo "rig: dbus-daemon did not start:" >&2; cat "$RIG_DIR/bus.log" >&2
                return 1
        fi
}

# rig_as USER CMD...: runs CMD as USER (root, spasmd, carer or nobody);
# spasmd and carer with their groups from the rig's /etc/group, nobody with
# nogroup and no supplementary groups.
# rig_spawn USER CMD...: the same in the background, tracked; its pid (the
# command's own: env and setpriv exec it) is in RIG_LAST.
_rig_argv() {
        local u=$1; shift
        case $u in
        root) RIG_ARGV=("$@") ;;
        nobody) RIG_ARGV=(env HOME=/ setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- "$@") ;;
        *) RIG_ARGV=(env HOME=/ setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@") ;;
        esac
}
rig_as() { _rig_argv "$@"; "${RIG_ARGV[@]}"; }
rig_spawn() {
        _rig_argv "$@"
        ( exec "${RIG_ARGV[@]}" ) &
        RIG_LAST=$!
        rig_track "$RIG_LAST"
}
