#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A stand-in for spasmd on a bus, for testing spasmctl without sensors.

Owns org.spasmd.Monitor1, serves /org/spasmd/Monitor1 with the properties
and methods of conf/org.spasmd.Monitor1.xml, and plays a fixed script of
signals: a spasm, a twitch, a voluntary movement, an activation withdrawn as
electrode noise and an advisory, each kind with the arguments spasmd would
send. Prints "ready" on stdout once the name is owned, and "done" once the
script has played, so a test can wait for either.

    fake_monitor1.py [--address ADDR] [--delay S] [--interval S]
                     [--then exit|stay] [--deny] [--state S --active ID]

Without --address it uses $DBUS_SESSION_BUS_ADDRESS. --deny answers every
call with org.freedesktop.DBus.Error.AccessDenied, as a bus policy would.
"""

import argparse
import sys
import time

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

NAME = "org.spasmd.Monitor1"
PATH = "/org/spasmd/Monitor1"
IFACE = "org.spasmd.Monitor1"
PROPS = "org.freedesktop.DBus.Properties"


class AccessDenied(dbus.DBusException):
    _dbus_error_name = "org.freedesktop.DBus.Error.AccessDenied"


class UnknownProperty(dbus.DBusException):
    _dbus_error_name = "org.freedesktop.DBus.Error.UnknownProperty"


def usec(t):
    return dbus.UInt64(int(t * 1e6))


def event_struct(e):
    return dbus.Struct((dbus.UInt64(e["id"]), e["class"], e["sensor"], usec(e["onset"]),
                        usec(e["duration"]), float(e["peak_uv"]), float(e["intensity"]),
                        float(e["mvc_pct"]), float(e["pulse_hz"]), e["side"], e["posture"]),
                       signature="tssttddddss")


class Monitor(dbus.service.Object):
    def __init__(self, conn, args):
        super().__init__(conn, PATH)
        self.args = args
        self.history = []
        self.props = {
            "State": dbus.String(args.state),
            "Monitoring": dbus.Boolean(args.state != "idle"),
            "ActiveEvent": dbus.Struct((dbus.UInt64(args.active), "pending" if args.active else "",
                                        "demo" if args.active else "",
                                        usec(time.time() - 2) if args.active else dbus.UInt64(0)),
                                       signature="tsst"),
            "SpasmsToday": dbus.UInt32(0),
            "LastEvent": event_struct({"id": 0, "class": "", "sensor": "", "onset": 0, "duration": 0,
                                       "peak_uv": 0, "intensity": 0, "mvc_pct": -1, "pulse_hz": 0,
                                       "side": "unknown", "posture": "unknown"}),
            "Calibrated": dbus.Boolean(False),
            "ActiveAdvisory": dbus.Struct(("", "", dbus.UInt64(0)), signature="sst"),
            "HistoryStatus": dbus.String("saving"),
            "Version": dbus.String("0.1.0-fake"),
        }

    def check(self):
        if self.args.deny:
            raise AccessDenied("Rejected send message (fake_monitor1.py --deny)")

    def set_props(self, **changed):
        self.props.update(changed)
        self.PropertiesChanged(IFACE, changed, [])

    # --- properties -------------------------------------------------------
    @dbus.service.method(PROPS, in_signature="ss", out_signature="v")
    def Get(self, iface, prop):
        self.check()
        if iface != IFACE or prop not in self.props:
            raise UnknownProperty(f"no property {iface}.{prop}")
        return self.props[prop]

    @dbus.service.method(PROPS, in_signature="s", out_signature="a{sv}")
    def GetAll(self, iface):
        self.check()
        return self.props if iface == IFACE else {}

    @dbus.service.signal(PROPS, signature="sa{sv}as")
    def PropertiesChanged(self, iface, changed, invalidated):
        pass

    # --- methods ----------------------------------------------------------
    @dbus.service.method(IFACE, in_signature="tu", out_signature="a(tssttddddss)")
    def GetEvents(self, since_usec, limit):
        self.check()
        events = [e for e in self.history if int(e["onset"] * 1e6) >= since_usec]
        return dbus.Array([event_struct(e) for e in events[-limit:]], signature="(tssttddddss)")

    @dbus.service.method(IFACE, in_signature="s", out_signature="a(ssd)")
    def Calibrate(self, kind):
        self.check()
        level = 3.1 if kind == "rest" else 412.0
        return dbus.Array([("demo", "emg_left", level), ("demo", "emg_right", level * 1.1)],
                          signature="(ssd)")

    @dbus.service.method(IFACE, in_signature="", out_signature="")
    def ResetCalibration(self):
        self.check()

    @dbus.service.method(IFACE, in_signature="b", out_signature="")
    def SetMonitoring(self, on):
        self.check()
        self.set_props(Monitoring=dbus.Boolean(on), State=dbus.String("monitoring" if on else "idle"))

    # --- signals ----------------------------------------------------------
    @dbus.service.signal(IFACE, signature="tsts")
    def ActivityStarted(self, id, sensor, onset_usec, side):
        pass

    @dbus.service.signal(IFACE, signature="tstsd")
    def SpasmStarted(self, id, sensor, onset_usec, side, intensity):
        pass

    @dbus.service.signal(IFACE, signature="tsttddddss")
    def SpasmEnded(self, id, sensor, onset_usec, duration_usec, peak_uv, intensity, mvc_pct, pulse_hz,
                   side, posture):
        pass

    @dbus.service.signal(IFACE, signature="tsttddddss")
    def Twitch(self, id, sensor, onset_usec, duration_usec, peak_uv, intensity, mvc_pct, pulse_hz,
               side, posture):
        pass

    @dbus.service.signal(IFACE, signature="tsstt")
    def ActivityEnded(self, id, sensor, class_, onset_usec, duration_usec):
        pass

    @dbus.service.signal(IFACE, signature="sst")
    def Advisory(self, kind, message, time_usec):
        pass


def script(mon):
    """Steps of (signal-sending function); times are placed on the wall clock as they are sent."""
    now = time.time
    ev = {}

    def start(id, side):
        ev[id] = {"id": id, "sensor": "demo", "onset": now(), "side": side}
        mon.set_props(State="activity",
                      ActiveEvent=dbus.Struct((dbus.UInt64(id), "pending", "demo", usec(ev[id]["onset"])),
                                              signature="tsst"))
        mon.ActivityStarted(dbus.UInt64(id), "demo", usec(ev[id]["onset"]), side)

    def finish(id, cls, duration, peak, intensity, mvc, pulse, posture):
        e = ev[id]
        e.update({"class": cls, "duration": duration, "peak_uv": peak, "intensity": intensity,
                  "mvc_pct": mvc, "pulse_hz": pulse, "posture": posture})
        args = (dbus.UInt64(id), "demo", usec(e["onset"]), usec(duration), peak, intensity, mvc, pulse,
                e["side"], posture)
        if cls == "spasm":
            mon.SpasmEnded(*args)
        elif cls == "twitch":
            mon.Twitch(*args)
        if cls != "withdrawn":
            mon.history.append(e)
            mon.set_props(LastEvent=event_struct(e))
        if cls == "spasm":
            mon.set_props(SpasmsToday=dbus.UInt32(mon.props["SpasmsToday"] + 1))
        mon.set_props(State="monitoring",
                      ActiveEvent=dbus.Struct((dbus.UInt64(0), "", "", dbus.UInt64(0)), signature="tsst"))
        mon.ActivityEnded(dbus.UInt64(id), "demo", cls, usec(e["onset"]), usec(duration))

    def spasm_started(id):
        e = ev[id]
        mon.set_props(State="spasm",
                      ActiveEvent=dbus.Struct((dbus.UInt64(id), "spasm", "demo", usec(e["onset"])),
                                              signature="tsst"))
        mon.SpasmStarted(dbus.UInt64(id), "demo", usec(e["onset"]), e["side"], 26.9)

    def advisory():
        msg = ("3 spasms in the last 10 minutes, more than usual for you. "
               "spasmd informs, it does not diagnose: if this goes on, talk to your clinician.")
        t = usec(now())
        mon.set_props(ActiveAdvisory=dbus.Struct(("frequent", msg, t), signature="sst"))
        mon.Advisory("frequent", msg, t)

    return [
        lambda: start(12, "left"),
        lambda: spasm_started(12),
        lambda: finish(12, "spasm", 5.9, 171.8, 26.9, -1.0, 3.2, "lying"),
        lambda: start(13, "right"),
        lambda: finish(13, "twitch", 0.42, 80.13, 9.4, 12.5, 0.0, "sitting"),
        lambda: start(14, "both"),
        lambda: finish(14, "voluntary", 3.8, 240.0, 31.0, -1.0, 0.0, "standing"),
        lambda: start(15, "unknown"),
        lambda: finish(15, "withdrawn", 0.3, 55.0, 4.4, -1.0, 0.0, "unknown"),
        advisory,
    ]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--address", help="bus address (default: $DBUS_SESSION_BUS_ADDRESS)")
    p.add_argument("--delay", type=float, default=1.0, help="seconds before the first signal")
    p.add_argument("--interval", type=float, default=0.3, help="seconds between signals")
    p.add_argument("--then", choices=("exit", "stay"), default="exit",
                   help="after the script: release the name and exit, or stay until killed")
    p.add_argument("--linger", type=float, default=0.5, help="seconds to stay after the script before exiting")
    p.add_argument("--deny", action="store_true", help="answer every call with AccessDenied")
    p.add_argument("--state", default="monitoring", help="initial State")
    p.add_argument("--active", type=int, default=0, help="initial ActiveEvent id (0: none)")
    p.add_argument("--no-signals", action="store_true", help="play no script, just serve")
    args = p.parse_args()

    DBusGMainLoop(set_as_default=True)
    if args.address:
        conn = dbus.bus.BusConnection(args.address)
    else:
        conn = dbus.SessionBus()
    mon = Monitor(conn, args)
    name = dbus.service.BusName(NAME, conn, do_not_queue=True)
    print("ready", flush=True)

    loop = GLib.MainLoop()
    steps = [] if args.no_signals else script(mon)

    def step():
        if steps:
            steps.pop(0)()
            return True
        print("done", flush=True)
        if args.then == "exit":
            GLib.timeout_add(int(args.linger * 1000), loop.quit)
        return False

    def begin():
        step()
        GLib.timeout_add(int(args.interval * 1000), step)
        return False

    GLib.timeout_add(int(args.delay * 1000), begin)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, 15, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, 2, loop.quit)
    loop.run()
    del name
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
