#!/usr/bin/python3
# A spasmd client in 20 lines: the last day's spasms, then new ones as they happen (python3-dbus, GLib).
import time, dbus, dbus.mainloop.glib
from gi.repository import GLib

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SystemBus()  # DBUS_SYSTEM_BUS_ADDRESS moves it, as for any client
monitor = dbus.Interface(bus.get_object("org.spasmd.Monitor1", "/org/spasmd/Monitor1"), "org.spasmd.Monitor1")
day_ago = int((time.time() - 86400) * 1e6)
for (eid, cls, sensor, onset, duration, peak, *_rest) in monitor.GetEvents(dbus.UInt64(day_ago), dbus.UInt32(100)):
    print("past: #%d %s on %s, %.1f s" % (eid, cls, sensor, duration / 1e6))
def started(eid, sensor, onset, side, intensity):
    print("spasm #%d started on %s (side: %s), %.1fx the resting level" % (eid, sensor, side, intensity), flush=True)
def ended(eid, sensor, onset, duration, peak, *_rest):
    print("spasm #%d ended after %.1f s, peak %.1f uV" % (eid, duration / 1e6, peak), flush=True)
bus.add_signal_receiver(started, "SpasmStarted", "org.spasmd.Monitor1", "org.spasmd.Monitor1")
bus.add_signal_receiver(ended, "SpasmEnded", "org.spasmd.Monitor1", "org.spasmd.Monitor1")
bus.add_signal_receiver(lambda kind, msg, t: print("advisory:", msg, flush=True), "Advisory", "org.spasmd.Monitor1")
GLib.MainLoop().run()
