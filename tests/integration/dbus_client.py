#!/usr/bin/python3
"""python3-dbus side of the D-Bus integration tests (test-dbus.sh,
test-dbus-policy.sh). Talks to the bus in DBUS_SYSTEM_BUS_ADDRESS, which
dbus-rig.sh sets up. Checks print TAP lines ("ok - ...", "not ok - ...")
that the shell scripts count.

  fake-service                 own org.spasmd.Monitor1 with a stand-in object (policy tests)
  own NAME                     try to own NAME; prints the error name when refused
  recv-signal SECONDS          wait for any org.spasmd.Monitor1 signal
  monitor OUT SECONDS          record spasmd's signals as JSON lines until it leaves the bus
  check-xml CONTRACT LIVE WHAT PATH   compare a live introspection with the contract
  check-objects CONTRACT URI   GetManagedObjects and GetAll against the contract
  check-run1 CONTRACT SIGNALS ANALYZE   signals of a full replay against spasmctl analyze
  check-history SIGNALS        GetEvents and properties after a restart
  check-run2 SIGNALS1 SIGNALS2 signals after the restart
"""

import datetime
import json
import sys
import time
import xml.etree.ElementTree as ET

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

import busclient as B
from busclient import NAME, PATH, IFACE, SENSOR_IFACE, PROPS, OM, check, plain

EVENT = "(tssttddddss)"
EVENT_FIELDS = ["id", "class", "sensor", "onset_usec", "duration_usec", "peak_uv", "intensity", "mvc_pct",
                "pulse_hz", "side", "posture"]


# --- values -----------------------------------------------------------------

_BASIC = [(dbus.Boolean, "b"), (dbus.Byte, "y"), (dbus.Int16, "n"), (dbus.UInt16, "q"), (dbus.Int32, "i"),
          (dbus.UInt32, "u"), (dbus.Int64, "x"), (dbus.UInt64, "t"), (dbus.Double, "d"), (dbus.ObjectPath, "o"),
          (dbus.Signature, "g"), (dbus.String, "s")]


def sig_of(v):
    """The D-Bus signature a value arrived with (dbus-python keeps the wire types)."""
    for t, c in _BASIC:
        if isinstance(v, t):
            return c
    if isinstance(v, dbus.Struct):
        return "(" + "".join(sig_of(x) for x in v) + ")"
    if isinstance(v, dbus.Dictionary):
        return "a{" + str(v.signature) + "}"
    if isinstance(v, dbus.Array):
        return "a" + str(v.signature)
    return "?" + type(v).__name__


def typed(v):
    """{"sig": ..., "value": ...} for the JSON records."""
    return {"sig": sig_of(v), "value": plain(v)}


def event_dict(e):
    return dict(zip(EVENT_FIELDS, e))


def dbus_error(e):
    return e.get_dbus_name() if isinstance(e, dbus.DBusException) else repr(e)


# --- the contract -----------------------------------------------------------

def model(xml_text):
    """interface -> {"methods": {name: [(arg, type, dir)]}, "signals": {name: [(arg, type)]},
    "properties": {name: (type, access)}}, without the org.freedesktop.DBus.* interfaces."""
    root = ET.fromstring(xml_text)
    out = {}
    for i in root.findall("interface"):
        name = i.get("name")
        if name.startswith("org.freedesktop.DBus."):
            continue
        m = {"methods": {}, "signals": {}, "properties": {}}
        for me in i.findall("method"):
            m["methods"][me.get("name")] = [(a.get("name"), a.get("type"), a.get("direction", "in"))
                                            for a in me.findall("arg")]
        for s in i.findall("signal"):
            # direction is optional on signal args and can only be "out"
            m["signals"][s.get("name")] = [(a.get("name"), a.get("type"), a.get("direction", "out"))
                                           for a in s.findall("arg")]
        for p in i.findall("property"):
            m["properties"][p.get("name")] = (p.get("type"), p.get("access"))
        out[name] = m
    return out


def all_interfaces(xml_text):
    return [i.get("name") for i in ET.fromstring(xml_text).findall("interface")]


def contract(path):
    with open(path) as f:
        return model(f.read())


def signal_sig(c, member):
    return "".join(a[1] for a in c[IFACE]["signals"][member])


def model_diff(want, got):
    diffs = []
    for kind in ("methods", "signals", "properties"):
        for n in sorted(set(want[kind]) | set(got[kind])):
            if n not in got[kind]:
                diffs.append("%s %s missing" % (kind[:-1], n))
            elif n not in want[kind]:
                diffs.append("%s %s not in the contract" % (kind[:-1], n))
            elif want[kind][n] != got[kind][n]:
                diffs.append("%s %s: got %s, expected %s" % (kind[:-1], n, got[kind][n], want[kind][n]))
    return diffs


def cmd_check_xml(contract_path, live_path, what, path):
    want = contract(contract_path)
    with open(live_path) as f:
        text = f.read()
    try:
        got = model(text)
        ifaces = all_interfaces(text)
    except ET.ParseError as e:
        check(False, what + ": introspection XML parses", e)
        return
    expect_iface = IFACE if path == PATH else SENSOR_IFACE
    check(sorted(got) == [expect_iface], "%s: %s has exactly the interface %s (besides org.freedesktop.DBus.*)"
          % (what, path, expect_iface), "got %s" % sorted(got))
    if expect_iface in got:
        d = model_diff(want[expect_iface], got[expect_iface])
        check(not d, "%s: %s matches the contract (members, arg names/types/directions, property types/access)"
              % (what, expect_iface), "; ".join(d))
    std = ["org.freedesktop.DBus.Properties", "org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Peer"]
    if path == PATH:
        std.append(OM)
    check(all(s in ifaces for s in std), "%s: %s also has %s" % (what, path, ", ".join(s.split(".")[-1] for s in std)),
          "got %s" % ifaces)


# --- helpers that talk to the bus ---------------------------------------------

def proxy(bus, path=PATH):
    return bus.get_object(NAME, path, introspect=False)


def get_events(bus, since, limit):
    return proxy(bus).GetEvents(dbus.UInt64(since), dbus.UInt32(limit), dbus_interface=IFACE, timeout=10)


def cmd_check_objects(contract_path, uri):
    c = contract(contract_path)
    bus = dbus.SystemBus()
    objs = proxy(bus).GetManagedObjects(dbus_interface=OM, timeout=10)
    sp = PATH + "/sensor/demo"
    check(sig_of(objs) == "a{oa{sa{sv}}}", "GetManagedObjects returns a{oa{sa{sv}}}", sig_of(objs))
    check(sp in objs, "GetManagedObjects lists %s" % sp, "got %s" % sorted(str(k) for k in objs))
    if sp in objs:
        ifs = objs[sp]
        check(SENSOR_IFACE in ifs, "%s has %s" % (sp, SENSOR_IFACE), "got %s" % sorted(str(k) for k in ifs))
        props = ifs.get(SENSOR_IFACE, {})
        want = c[SENSOR_IFACE]["properties"]
        check(sorted(props) == sorted(want), "GetManagedObjects: every Sensor1 property of the contract, and no other",
              "got %s, expected %s" % (sorted(str(k) for k in props), sorted(want)))
        bad = ["%s is %s, expected %s" % (k, sig_of(props[k]), want[k][0]) for k in want
               if k in props and sig_of(props[k]) != want[k][0]]
        check(not bad, "GetManagedObjects: Sensor1 property types as in the contract", "; ".join(bad))
        check(props.get("Name") == "demo" and props.get("Uri") == uri, "Sensor1 Name and Uri",
              "got Name=%r Uri=%r, expected 'demo', %r" % (props.get("Name"), props.get("Uri"), uri))
        vals = {k: plain(v) for k, v in props.items()}
        print("# sensor demo: %s" % json.dumps(vals))
        enums = {"Role": {"emg", "imu", "auto"}, "ElectrodeContact": {"good", "poor", "off", "unknown"}}
        bad = ["%s=%r" % (k, vals.get(k)) for k, ok in enums.items() if vals.get(k) not in ok]
        if vals.get("MainsHz") not in (0.0, 50.0, 60.0):
            bad.append("MainsHz=%r" % vals.get("MainsHz"))
        check(not bad, "Sensor1 Role, ElectrodeContact and MainsHz take contract values", ", ".join(bad))
        # Per sensor object, Get and GetAll too.
        all_ = proxy(bus, sp).GetAll(SENSOR_IFACE, dbus_interface=PROPS, timeout=10)
        check(sorted(all_) == sorted(want), "GetAll on %s: every Sensor1 property" % sp, sorted(str(k) for k in all_))
    mon = proxy(bus).GetAll(IFACE, dbus_interface=PROPS, timeout=10)
    want = c[IFACE]["properties"]
    check(sorted(mon) == sorted(want), "GetAll(Monitor1): every property of the contract, and no other",
          "got %s, expected %s" % (sorted(str(k) for k in mon), sorted(want)))
    bad = ["%s is %s, expected %s" % (k, sig_of(mon[k]), want[k][0]) for k in want
           if k in mon and sig_of(mon[k]) != want[k][0]]
    check(not bad, "GetAll(Monitor1): property types as in the contract", "; ".join(bad))
    bad = []
    for k in want:
        try:
            v = proxy(bus).Get(IFACE, k, dbus_interface=PROPS, timeout=10)
            if sig_of(v) != want[k][0]:
                bad.append("%s is %s, expected %s" % (k, sig_of(v), want[k][0]))
        except dbus.DBusException as e:
            bad.append("%s: %s" % (k, dbus_error(e)))
    check(not bad, "Get of each Monitor1 property, with its type", "; ".join(bad))
    print("# Monitor1: %s" % json.dumps({k: plain(v) for k, v in mon.items()}))
    check(mon.get("HistoryStatus") == "saving", "HistoryStatus is \"saving\" with a writable history directory",
          "got %r" % plain(mon.get("HistoryStatus")))
    check(mon.get("State") in ("idle", "monitoring", "activity", "spasm"), "State takes a contract value",
          "got %r" % plain(mon.get("State")))


# --- fake service (policy tests) --------------------------------------------

class FakeMonitor(dbus.service.Object):
    """Stand-in for spasmd with the same method names, and two the policy must not open."""

    def __init__(self, bus):
        super().__init__(bus, PATH)
        self.props = {"State": dbus.String("idle"), "Monitoring": dbus.Boolean(True)}

    @dbus.service.method(IFACE, in_signature="tu", out_signature="a" + EVENT)
    def GetEvents(self, since, limit):
        return dbus.Array([], signature=EVENT)

    @dbus.service.method(IFACE, in_signature="s", out_signature="a(ssd)")
    def Calibrate(self, kind):
        return dbus.Array([], signature="(ssd)")

    @dbus.service.method(IFACE)
    def ResetCalibration(self):
        pass

    @dbus.service.method(IFACE, in_signature="b")
    def SetMonitoring(self, on):
        self.props["Monitoring"] = dbus.Boolean(on)

    # Not in the contract: the policy names members, so this stays closed.
    @dbus.service.method(IFACE)
    def Secret(self):
        pass

    @dbus.service.method(PROPS, in_signature="ss", out_signature="v")
    def Get(self, iface, prop):
        return self.props[prop]

    @dbus.service.method(PROPS, in_signature="s", out_signature="a{sv}")
    def GetAll(self, iface):
        return dbus.Dictionary(self.props, signature="sv")

    # Implemented and succeeding, so that a refusal can only come from the bus.
    @dbus.service.method(PROPS, in_signature="ssv")
    def Set(self, iface, prop, value):
        self.props[prop] = value

    @dbus.service.method(OM, out_signature="a{oa{sa{sv}}}")
    def GetManagedObjects(self):
        return dbus.Dictionary({}, signature="oa{sa{sv}}")

    @dbus.service.signal(IFACE, signature="sst")
    def Advisory(self, kind, message, time_usec):
        pass


def cmd_fake_service():
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    try:
        name = dbus.service.BusName(NAME, bus, do_not_queue=True)
    except dbus.DBusException as e:
        print("cannot own %s: %s" % (NAME, dbus_error(e)))
        sys.stdout.flush()
        return 1
    obj = FakeMonitor(bus)

    def tick():
        obj.Advisory("test", "a test signal", dbus.UInt64(int(time.time() * 1e6)))
        return True
    GLib.timeout_add(200, tick)
    print("ready")
    sys.stdout.flush()
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, 15, loop.quit)
    loop.run()
    del name
    return 0


def cmd_own(name):
    bus = dbus.SystemBus()
    try:
        r = bus.request_name(name, dbus.bus.NAME_FLAG_DO_NOT_QUEUE)
    except dbus.DBusException as e:
        print(dbus_error(e))
        return 1
    print("owned" if r == dbus.bus.REQUEST_NAME_REPLY_PRIMARY_OWNER else "reply %d" % r)
    return 0 if r == dbus.bus.REQUEST_NAME_REPLY_PRIMARY_OWNER else 2


def cmd_recv_signal(seconds):
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    loop = GLib.MainLoop()
    got = []

    def on_sig(*args, **kw):
        got.append(kw["member"])
        loop.quit()
    bus.add_signal_receiver(on_sig, dbus_interface=IFACE, member_keyword="member")
    GLib.timeout_add(int(seconds * 1000), loop.quit)
    loop.run()
    print("got " + got[0] if got else "no signal")
    return 0 if got else 1


# --- monitor ----------------------------------------------------------------

def cmd_monitor(out, seconds):
    """Every org.spasmd.Monitor1, PropertiesChanged and ObjectManager signal, in order, as JSON lines. After
    each SpasmEnded, GetEvents(0, 100) (the contract: sent after the event is synced to the history); after
    each Advisory, the ActiveAdvisory property. Ends when spasmd leaves the bus, or after SECONDS."""
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    loop = GLib.MainLoop()
    f = open(out, "w")
    seen = {"owner": False}

    def emit(rec):
        rec["t"] = time.monotonic()
        rec["wall_usec"] = int(time.time() * 1e6)
        f.write(json.dumps(rec) + "\n")
        f.flush()

    def on_sig(*args, **kw):
        msg = kw["message"]
        member = msg.get_member()
        emit({"member": member, "iface": msg.get_interface(), "path": msg.get_path(), "sig": msg.get_signature(),
              "args": [plain(a) for a in args]})
        if member == "SpasmEnded" and msg.get_interface() == IFACE:
            try:
                ev = get_events(bus, 0, 100)
                emit({"member": "#GetEvents", "after": int(args[0]), "sig": sig_of(ev), "events": plain(ev)})
            except dbus.DBusException as e:
                emit({"member": "#GetEvents", "after": int(args[0]), "error": dbus_error(e)})
        if member == "Advisory" and msg.get_interface() == IFACE:
            try:
                v = proxy(bus).Get(IFACE, "ActiveAdvisory", dbus_interface=PROPS, timeout=10)
                emit({"member": "#ActiveAdvisory", "sig": sig_of(v), "value": plain(v)})
            except dbus.DBusException as e:
                emit({"member": "#ActiveAdvisory", "error": dbus_error(e)})

    for iface in (IFACE, PROPS, OM):
        bus.add_signal_receiver(on_sig, dbus_interface=iface, path_keyword="path", message_keyword="message")

    def on_owner(owner):
        if owner:
            seen["owner"] = True
            emit({"member": "#owner", "owner": str(owner)})
        elif seen["owner"]:
            emit({"member": "#gone"})
            GLib.timeout_add(200, loop.quit)
    bus.watch_name_owner(NAME, on_owner)

    def timeout():
        emit({"member": "#timeout"})
        loop.quit()
    GLib.timeout_add(int(seconds * 1000), timeout)
    print("ready")
    sys.stdout.flush()
    loop.run()
    f.close()
    return 0


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def midnight_usec():
    now = datetime.datetime.now()
    return int(now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1e6)


def approx(a, b):
    return abs(a - b) <= max(1e-3 * abs(b), 1e-3)


def compare_event(ev, sig_args, label):
    """An event from GetEvents against its SpasmEnded/Twitch signal (id sensor onset duration peak
    intensity mvc pulse side posture)."""
    sid, sensor, onset, dur, peak, inten, mvc, pulse, side, posture = sig_args
    want = {"id": sid, "sensor": sensor, "onset_usec": onset, "duration_usec": dur, "side": side, "posture": posture}
    bad = ["%s %r != %r" % (k, ev[k], v) for k, v in want.items() if ev[k] != v]
    for k, v in (("peak_uv", peak), ("intensity", inten), ("mvc_pct", mvc), ("pulse_hz", pulse)):
        if not approx(ev[k], v):
            bad.append("%s %r != %r" % (k, ev[k], v))
    return ["%s: %s" % (label, b) for b in bad]


SIDE = {("emg_left",): "left", ("emg_right",): "right", ("emg_left", "emg_right"): "both"}


def cmd_check_run1(contract_path, signals_path, analyze_path):
    c = contract(contract_path)
    recs = load(signals_path)
    ref = [r for r in load(analyze_path) if r.get("type") != "summary"]
    sigs = [r for r in recs if not r["member"].startswith("#")]
    mon = [r for r in sigs if r["iface"] == IFACE]
    print("# %d signals recorded, %d of org.spasmd.Monitor1" % (len(sigs), len(mon)))
    for r in mon:
        print("#   %s%s" % (r["member"], tuple(r["args"])))
    check(any(r["member"] == "#gone" for r in recs), "spasmd left the bus when the replay ended",
          "the monitor timed out" if any(r["member"] == "#timeout" for r in recs) else "no NameOwnerChanged")

    bad = ["%s has %s, expected %s" % (r["member"], r["sig"], signal_sig(c, r["member"]))
           for r in mon if r["member"] not in c[IFACE]["signals"] or r["sig"] != signal_sig(c, r["member"])]
    check(not bad, "every signal has the contract's signature", "; ".join(sorted(set(bad))))
    check(all(r["path"] == PATH for r in mon), "signals come from %s" % PATH,
          sorted(set(r["path"] for r in mon)))
    check(all(r["args"][1] == "demo" for r in mon if r["member"] != "Advisory"), "sensor argument is \"demo\"")

    # Activity brackets: ActivityStarted(id) ... [SpasmStarted|SpasmEnded|Twitch](id) ... ActivityEnded(id).
    errors, open_id, order = [], None, []
    started = {}
    for r in mon:
        m, a = r["member"], r["args"]
        if m == "ActivityStarted":
            if open_id is not None:
                errors.append("ActivityStarted %d while %d is still open" % (a[0], open_id))
            if a[0] in started:
                errors.append("ActivityStarted %d twice" % a[0])
            open_id = a[0]
            started[a[0]] = r
            order.append(a[0])
        elif m in ("SpasmStarted", "SpasmEnded", "Twitch"):
            if a[0] != open_id:
                errors.append("%s %d outside its activity (open: %s)" % (m, a[0], open_id))
        elif m == "ActivityEnded":
            if a[0] != open_id:
                errors.append("ActivityEnded %d, but the open activity is %s" % (a[0], open_id))
            open_id = None
    if open_id is not None:
        errors.append("activity %d never ended" % open_id)
    check(not errors, "every ActivityStarted is followed by exactly one ActivityEnded with the same id, "
          "Spasm*/Twitch in between", "; ".join(errors))
    check(order == sorted(order) and len(set(order)) == len(order), "activity ids increase", order)

    ended = [r["args"] for r in mon if r["member"] == "ActivityEnded"]
    classes = [a[2] for a in ended if a[2] != "withdrawn"]
    check(classes == [r["type"] for r in ref], "ActivityEnded classes are spasmctl analyze's",
          "got %s, expected %s" % (classes, [r["type"] for r in ref]))
    real = [a for a in ended if a[2] != "withdrawn"]
    bad = ["id %d: %.3f s vs %.3f s" % (a[0], a[4] / 1e6, r["duration_s"]) for a, r in zip(real, ref)
           if abs(a[4] / 1e6 - r["duration_s"]) > 0.002]
    check(not bad and len(real) == len(ref), "ActivityEnded durations are analyze's (2 ms)", "; ".join(bad))
    # CLOCK_REALTIME: an onset is placed on the wall clock when it is announced, so it is never in the
    # future (1 s of slack). Its duration is the recording's; replayed faster than real time, onset plus
    # duration may lie ahead of the clock, so only the onset is checked here.
    sent = {r["args"][0]: r["wall_usec"] for r in mon if r["member"] == "ActivityStarted"}
    bad = ["id %d starts %.1f s after its ActivityStarted arrived" % (r["args"][0], (r["args"][2]
           - sent[r["args"][0]]) / 1e6) for r in mon if r["member"] == "ActivityStarted"
           and r["args"][2] > sent[r["args"][0]] + 1000000]
    check(not bad and sent, "onset_usec is not in the future when ActivityStarted is sent (CLOCK_REALTIME)",
          "; ".join(bad))
    bad = ["id %d: ActivityEnded onset %d, ActivityStarted %d" % (a[0], a[3], started[a[0]]["args"][2])
           for a in ended if a[0] in started and a[3] != started[a[0]]["args"][2]]
    check(not bad, "ActivityEnded onset_usec equals its ActivityStarted's", "; ".join(bad))

    ss = [r["args"] for r in mon if r["member"] == "SpasmStarted"]
    se = [r["args"] for r in mon if r["member"] == "SpasmEnded"]
    tw = [r["args"] for r in mon if r["member"] == "Twitch"]
    cls = {a[0]: a[2] for a in ended}
    check(len(ss) == 2 and len(se) == 2 and [a[0] for a in ss] == [a[0] for a in se],
          "SpasmStarted x2 and SpasmEnded x2 with matching ids",
          "SpasmStarted ids %s, SpasmEnded ids %s" % ([a[0] for a in ss], [a[0] for a in se]))
    check(all(cls.get(a[0]) == "spasm" for a in se) and sorted(i for i, k in cls.items() if k == "spasm")
          == [a[0] for a in se], "the spasm ids are exactly the ActivityEnded class=spasm ids",
          "SpasmEnded %s, ActivityEnded classes %s" % ([a[0] for a in se], cls))
    check(len(tw) == 1 and all(cls.get(a[0]) == "twitch" for a in tw), "Twitch x1, ActivityEnded class twitch",
          "Twitch %s" % [a[0] for a in tw])
    bad = []
    for s, e in zip(ss, se):
        if s[2] != e[2]:
            bad.append("id %d: SpasmStarted onset %d, SpasmEnded %d" % (s[0], s[2], e[2]))
        if s[0] in started and s[2] != started[s[0]]["args"][2]:
            bad.append("id %d: SpasmStarted onset %d, ActivityStarted %d" % (s[0], s[2], started[s[0]]["args"][2]))
        if s[3] != e[8]:
            bad.append("id %d: side %s then %s" % (s[0], s[3], e[8]))
    for e in se + tw:
        if e[0] in cls and [a for a in ended if a[0] == e[0]][0][4] != e[3]:
            bad.append("id %d: duration differs from ActivityEnded's" % e[0])
    check(not bad, "SpasmStarted/SpasmEnded/ActivityStarted/ActivityEnded agree on onset, side, duration",
          "; ".join(bad))
    # Side from the channels, posture from the IMU, against analyze.
    want = [(SIDE.get(tuple(r["channels"]), "?"), r["posture"], r["type"]) for r in ref if r["type"] != "voluntary"]
    got = [(a[8], a[9], "spasm" if a in se else "twitch") for a in sorted(se + tw, key=lambda a: a[0])]
    check(got == want, "SpasmEnded/Twitch side and posture are analyze's", "got %s, expected %s" % (got, want))
    check(all(a[6] == -1 for a in se + tw), "mvc_pct is -1 when uncalibrated", [a[6] for a in se + tw])

    # Advisory: "frequent" once the second spasm exceeds max_spasms_per_day = 1.
    adv = [(i, r["args"]) for i, r in enumerate(mon) if r["member"] == "Advisory"]
    freq = [(i, a) for i, a in adv if a[0] == "frequent"]
    check(len(freq) >= 1, "Advisory kind \"frequent\" (max_spasms_per_day = 1)", "advisories %s" % [a for _, a in adv])
    check(all(a[0] in ("frequent", "long", "rising") for _, a in adv), "Advisory kinds are frequent/long/rising",
          [a[0] for _, a in adv])
    check(adv and all("doctor" in a[1] and "does not give medical advice" in a[1] for _, a in adv),
          "Advisory message mentions the doctor and says it does not give medical advice",
          [a[1] for _, a in adv])
    second = [i for i, r in enumerate(mon) if r["member"] == "SpasmStarted"][1:2]
    check(freq and second and freq[0][0] > second[0], "the frequent Advisory comes after the second spasm starts",
          "advisory at signal #%s, second SpasmStarted at #%s" % (freq[0][0] if freq else None, second))
    aa = [r for r in recs if r["member"] == "#ActiveAdvisory"]
    check(aa and all(r.get("sig") == "(sst)" for r in aa) and [r["value"][:2] for r in aa]
          == [a[:2] for _, a in adv], "ActiveAdvisory, read after each Advisory, is that advisory",
          "read %s, signalled %s" % ([r.get("value", r.get("error")) for r in aa], [a for _, a in adv]))

    # Synced before SpasmEnded: GetEvents right after it already has the spasm.
    ge = [r for r in recs if r["member"] == "#GetEvents"]
    bad = []
    for r in ge:
        if "error" in r:
            bad.append("after SpasmEnded %d: %s" % (r["after"], r["error"]))
            continue
        if r["sig"] != "a" + EVENT:
            bad.append("signature %s" % r["sig"])
        evs = {e[0]: event_dict(e) for e in r["events"]}
        if r["after"] not in evs:
            bad.append("after SpasmEnded %d: not in GetEvents (ids %s)" % (r["after"], sorted(evs)))
        else:
            sig = [a for a in se if a[0] == r["after"]]
            bad += compare_event(evs[r["after"]], sig[0], "id %d" % r["after"]) if sig else ["no such SpasmEnded"]
    check(len(ge) == 2 and not bad, "GetEvents called right after each SpasmEnded already returns that spasm, "
          "with the signal's values", "; ".join(bad) or "%d calls" % len(ge))

    # PropertiesChanged on Monitor1: State, SpasmsToday and LastEvent, with values.
    pc = [r["args"] for r in sigs if r["member"] == "PropertiesChanged" and r["path"] == PATH
          and r["args"][0] == IFACE]
    changed = {}
    for a in pc:
        for k, v in a[1].items():
            changed.setdefault(k, []).append(v)
    inval = sorted(set(k for a in pc for k in a[2]))
    for k in ("State", "SpasmsToday", "LastEvent"):
        check(k in changed, "PropertiesChanged carries %s with its value" % k,
              "changed: %s, invalidated: %s" % (sorted(changed), inval))
    states = changed.get("State", [])
    print("# State values: %s" % states)
    check({"monitoring", "activity", "spasm"} <= set(states), "State goes through monitoring, activity and spasm",
          states)
    bad = []
    for s in ss:
        i0 = next(i for i, r in enumerate(sigs) if r["member"] == "ActivityStarted" and r["args"][0] == s[0])
        i1 = next((i for i, r in enumerate(sigs) if r["member"] == "ActivityEnded" and r["args"][0] == s[0]), len(sigs))
        if not any(r["member"] == "PropertiesChanged" and r["args"][1].get("State") == "spasm" for r in sigs[i0:i1 + 1]):
            bad.append("no State=spasm during spasm %d" % s[0])
    check(not bad, "State becomes \"spasm\" during each spasm", "; ".join(bad))
    today = len([a for a in se if a[2] >= midnight_usec()])
    st = changed.get("SpasmsToday", [])
    check(st and st == sorted(st) and st[-1] == today, "SpasmsToday rises to %d" % today, "values %s" % st)
    le = changed.get("LastEvent", [])
    last_real = [a for a in ended if a[2] != "withdrawn"]
    check(le and le[-1][0] == last_real[-1][0] and le[-1][1] == last_real[-1][2],
          "LastEvent ends as the last finished event (id %s)" % (last_real[-1][0] if last_real else "?"),
          "LastEvent values (id, class): %s" % [(v[0], v[1]) for v in le])
    check(all(v[0] in cls for v in le), "every LastEvent id is a finished activity", [v[0] for v in le])


def cmd_check_history(signals_path):
    """Right after a restart: the history has run 1's events, the properties carry on."""
    recs = load(signals_path)
    mon = [r for r in recs if r.get("iface") == IFACE]
    ended = [r["args"] for r in mon if r["member"] == "ActivityEnded" and r["args"][2] != "withdrawn"]
    finals = {r["args"][0]: r["args"] for r in mon if r["member"] in ("SpasmEnded", "Twitch")}
    maxid = max(a[0] for a in ended) if ended else 0
    bus = dbus.SystemBus()
    for _ in range(5):    # GetEvents, then the rest, while no new event lands in between
        a = get_events(bus, 0, 100)
        b = get_events(bus, 0, 2)
        props = proxy(bus).GetAll(IFACE, dbus_interface=PROPS, timeout=10)
        c = get_events(bus, 0, 100)
        if plain(a) == plain(c):
            break
    check(sig_of(a) == "a" + EVENT, "GetEvents returns a%s" % EVENT, sig_of(a))
    evs = [event_dict(e) for e in plain(a)]
    print("# after the restart GetEvents(0, 100): %s" % [(e["id"], e["class"]) for e in evs])
    old = [e for e in evs if e["id"] <= maxid]
    check([(e["id"], e["class"]) for e in old] == [(x[0], x[2]) for x in ended],
          "after a restart, GetEvents(0, 100) returns the run's events (id, class) oldest first",
          "got %s, expected %s" % ([(e["id"], e["class"]) for e in old], [(x[0], x[2]) for x in ended]))
    spasm_ids = [r["args"][0] for r in mon if r["member"] == "SpasmEnded"]
    check([e["id"] for e in old if e["class"] == "spasm"] == spasm_ids, "spasm ids in the history are the signals'",
          "history %s, signals %s" % ([e["id"] for e in old if e["class"] == "spasm"], spasm_ids))
    bad = []
    for e in old:
        x = [a for a in ended if a[0] == e["id"]]
        if x and (e["onset_usec"] != x[0][3] or e["duration_usec"] != x[0][4] or e["sensor"] != "demo"):
            bad.append("id %d: onset/duration/sensor %s vs ActivityEnded %s" %
                       (e["id"], (e["onset_usec"], e["duration_usec"], e["sensor"]), x[0][1:]))
        if e["id"] in finals:
            bad += compare_event(e, finals[e["id"]], "id %d" % e["id"])
        if e["class"] not in ("spasm", "twitch", "voluntary") or e["side"] not in ("left", "right", "both", "unknown") \
                or e["posture"] not in ("lying", "sitting", "standing", "unknown"):
            bad.append("id %d: class/side/posture %s/%s/%s" % (e["id"], e["class"], e["side"], e["posture"]))
    check(not bad, "history events equal the signalled ones (onset, duration, values, side, posture)", "; ".join(bad))
    new = [e for e in evs if e["id"] > maxid]
    check(evs == sorted(evs, key=lambda e: (e["onset_usec"], e["id"])), "GetEvents is oldest first (by onset_usec)",
          "got (id, onset_usec) %s" % [(e["id"], e["onset_usec"]) for e in evs])
    lim = [event_dict(e) for e in plain(b)]
    check(lim == evs[-2:], "GetEvents(0, 2) returns the newest two, oldest first",
          "got ids %s, expected %s" % ([e["id"] for e in lim], [e["id"] for e in evs[-2:]]))
    if len(old) >= 3:
        since = old[2]["onset_usec"]
        s = [event_dict(e) for e in plain(get_events(bus, since, 100))]
        check(s and s[0]["id"] == old[2]["id"] and all(e["onset_usec"] >= since for e in s)
              and [e["id"] for e in s][:len(old) - 2] == [e["id"] for e in old[2:]],
              "GetEvents(since = third event's onset) starts at the third event",
              "got ids %s" % [e["id"] for e in s])
    today = len([e for e in evs if e["class"] == "spasm" and e["onset_usec"] >= midnight_usec()])
    check(int(props["SpasmsToday"]) == today, "after a restart SpasmsToday counts the history's spasms since midnight",
          "got %d, expected %d" % (int(props["SpasmsToday"]), today))
    last = plain(props["LastEvent"])
    check(evs and last[0] == evs[-1]["id"] and last == list(plain(a)[-1]),
          "after a restart LastEvent is the history's last event",
          "got %s, expected %s" % (last, plain(a)[-1] if evs else None))
    print("# new events since the restart: %s" % [(e["id"], e["class"]) for e in new])
    return maxid


def cmd_check_run2(signals1, signals2):
    r1 = [r for r in load(signals1) if r.get("iface") == IFACE]
    r2 = load(signals2)
    maxid = max([r["args"][0] for r in r1 if r["member"] == "ActivityStarted"] or [0])
    ids = [r["args"][0] for r in r2 if r.get("iface") == IFACE and r["member"] == "ActivityStarted"]
    check(ids and min(ids) > maxid, "after a restart new event ids continue above the old ones (never reused)",
          "old max %d, new %s" % (maxid, ids))
    mon = [v for r in r2 if r["member"] == "PropertiesChanged" and r["args"][0] == IFACE
           for v in [r["args"][1].get("Monitoring")] if v is not None]
    check(False in mon and True in mon[mon.index(False):] if False in mon else False,
          "PropertiesChanged Monitoring false, then true, around SetMonitoring", "values %s" % mon)


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "fake-service":
        return cmd_fake_service()
    if cmd == "own":
        return cmd_own(args[0])
    if cmd == "recv-signal":
        return cmd_recv_signal(float(args[0]))
    if cmd == "monitor":
        return cmd_monitor(args[0], float(args[1]))
    try:
        if cmd == "check-xml":
            cmd_check_xml(*args)
        elif cmd == "check-objects":
            cmd_check_objects(*args)
        elif cmd == "check-run1":
            cmd_check_run1(*args)
        elif cmd == "check-history":
            cmd_check_history(*args)
        elif cmd == "check-run2":
            cmd_check_run2(*args)
        else:
            print("unknown command " + cmd, file=sys.stderr)
            return 2
    except dbus.DBusException as e:
        check(False, "%s: D-Bus call failed" % cmd, dbus_error(e) + ": " + e.get_dbus_message())
    except Exception as e:
        B.crashed(cmd, e)
    return B.exit_status()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
