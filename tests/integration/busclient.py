#!/usr/bin/python3
"""Shared by the Python helpers of the integration tests (dbus_client.py,
history_watch.py, faults_lib.py and through it faults_dbus.py and
faults_iio.py): TAP checks, log files and processes, the names of spasmd's
D-Bus API, a dbus-daemon of one's own, and a client on a bus that hears
spasmd's signals and calls it."""

import os
import signal
import subprocess
import sys
import time

import dbus
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

NAME = "org.spasmd.Monitor1"
PATH = "/org/spasmd/Monitor1"
IFACE = "org.spasmd.Monitor1"
SENSOR_IFACE = "org.spasmd.Sensor1"
PROPS = "org.freedesktop.DBus.Properties"
OM = "org.freedesktop.DBus.ObjectManager"

# --- TAP ----------------------------------------------------------------------------

failed = 0


def check(cond, what, detail=None):
    """One TAP line; `detail` (shown only on failure) says what was got and expected."""
    global failed
    if cond:
        print("ok - " + what)
    else:
        failed += 1
        print("not ok - " + what + ("" if detail is None else ": " + str(detail)))
    sys.stdout.flush()
    return bool(cond)


def note(msg):
    print("# " + msg)
    sys.stdout.flush()


def crashed(what, e):
    """A crash in a check is a failed check, with the reason."""
    import traceback
    traceback.print_exc()
    check(False, "%s: check crashed" % what, repr(e))


def exit_status():
    return 1 if failed else 0


# --- files and processes ----------------------------------------------------------------

def text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def tail(path, n=6):
    return " | ".join(text(path).strip().split("\n")[-n:])


def reap(proc, seconds):
    """Waits up to `seconds` for proc to exit, then SIGKILLs it; either way it is reaped."""
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def write_conf(path, state, recording=None, speed=0.0):
    """A spasmd configuration: the history in `state`, and a replay of `recording` if given."""
    with open(path, "w") as f:
        f.write("[history]\ndirectory = %s\n" % state)
        if recording:
            f.write("[sensor.demo]\nuri = replay:%s\nspeed = %g\n" % (os.path.abspath(recording), speed))


# --- D-Bus ----------------------------------------------------------------------------------

def plain(v):
    """A value as it arrived from the bus, as plain Python (lists, dicts with str keys, bool, int, float, str)."""
    if isinstance(v, (dbus.Struct, dbus.Array, list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dbus.Dictionary):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, dbus.Double):
        return float(v)
    if isinstance(v, (dbus.Byte, dbus.Int16, dbus.UInt16, dbus.Int32, dbus.UInt32, dbus.Int64, dbus.UInt64)):
        return int(v)
    return str(v)


class PrivateBus:
    """A dbus-daemon --session of one's own."""

    def __init__(self):
        out = subprocess.run(["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
                             check=True, stdout=subprocess.PIPE, text=True).stdout.split("\n")
        self.address, self.pid = out[0].strip(), int(out[1])

    def stop(self):
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def on_private_bus(run, *args, stop):
    """run(*args, bus) with a PrivateBus; then stop(), to end what run started, and the bus."""
    bus = PrivateBus()
    try:
        return run(*args, bus)
    finally:
        stop()
        bus.stop()


class Client:
    """Every org.spasmd.Monitor1 signal, as entry() makes it, and who owns org.spasmd.Monitor1.
    With all_owners, every NameOwnerChanged goes to _on_owner, not just org.spasmd.Monitor1's."""

    def __init__(self, address, all_owners=False):
        DBusGMainLoop(set_as_default=True)
        self.bus = dbus.bus.BusConnection(address)
        self.me = self.bus.get_unique_name()
        self.signals = []
        self.owner = ""
        self.ctx = GLib.MainContext.default()
        self.bus.add_signal_receiver(self._on_signal, dbus_interface=IFACE, member_keyword="member")
        match = {} if all_owners else {"arg0": NAME}
        self.bus.add_signal_receiver(self._on_owner, signal_name="NameOwnerChanged",
                                     dbus_interface="org.freedesktop.DBus", bus_name="org.freedesktop.DBus", **match)
        if not all_owners:
            try:
                self.owner = str(self.bus.get_name_owner(NAME))
            except dbus.DBusException:
                pass
        # A tick, so that pump() wakes up to look at its condition and clock.
        GLib.timeout_add(10, lambda: True)

    def entry(self, member, args):
        """What self.signals keeps of a signal: (member, args, time.time())."""
        return (member, args, time.time())

    def _on_signal(self, *args, member=None):
        self.signals.append(self.entry(str(member), plain(list(args))))

    def _on_owner(self, name, old, new):
        self.owner = str(new)

    def pump(self, seconds, until=None):
        """Dispatches for up to `seconds`, or until until() holds; returns until()'s last value."""
        end = time.monotonic() + seconds
        while True:
            done = until() if until else False
            if done or time.monotonic() >= end:
                return done
            self.ctx.iteration(True)

    def call(self, method, sig="", args=(), timeout=10.0):
        return self.bus.call_blocking(NAME, PATH, IFACE, method, sig, args, timeout=timeout)

    def events(self):
        """GetEvents(0, 10000)."""
        return [plain(e) for e in self.call("GetEvents", "tu", (0, 10000))]

    def prop(self, name, path=PATH, iface=IFACE):
        return plain(self.bus.call_blocking(NAME, path, PROPS, "Get", "ss", (iface, name), timeout=10.0))


def wait_up(client, proc, seconds=15.0):
    """Until spasmd owns its name (True), or proc exits, or `seconds` pass."""
    return client.pump(seconds, lambda: client.owner != "" or proc.poll() is not None) and client.owner != ""
