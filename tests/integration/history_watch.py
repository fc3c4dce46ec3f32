#!/usr/bin/python3
"""python3-dbus side of tests/integration/test-history.sh: the durable
event history under SIGKILL and a full disk. Checks print TAP lines
("ok - ...", "not ok - ...") that the shell script counts; "# ..." lines
are notes.

  concat IN N OUT
      OUT is recording IN played N times in a row (t_s carries on).
  kill-loop --spasmd BIN --recording CSV --dir DIR [--runs N] [--max-kill S] [--tear-every K] [--seed S]
      Runs spasmd on a private bus N times on the same state directory,
      SIGKILLs it at a random moment each time, and after every restart
      checks with GetEvents that every event whose end a client heard of
      (SpasmEnded, Twitch, ActivityEnded other than "withdrawn") is in the
      history, unchanged, and that no id went to two events. Every K-th
      restart first gets a torn or corrupt tail appended to events.log, as
      a power cut in the middle of a write would leave it; the daemon must
      cut it and say so.
  enospc --spasmd BIN --recording CSV --dir DIR --filler FILE [--speed X]
      DIR is a tiny file system that FILE fills; events.log in it ends
      where the next record needs a new page. spasmd must keep detecting
      and announcing, say that the history is not being saved and serve
      the unsaved events from memory; once FILE is removed a later event
      must save them all.
"""

import argparse
import os
import random
import signal
import struct
import subprocess
import sys
import time

import dbus

import busclient as B
from busclient import NAME, check, note, wait_up

HEADER_SIZE = 24      # daemon/history.h
RECORD_SIZE = 140


# --- a private bus and a client on it -----------------------------------------

class Client(B.Client):
    """Every org.spasmd.Monitor1 signal, with the run it came in, and which
    unique names are on the bus (to know when a dead daemon's last signals
    have all arrived)."""

    def __init__(self, address):
        self.run = 0
        self.others = set()         # unique names on the bus but ours
        super().__init__(address, all_owners=True)

    def entry(self, member, args):
        return (self.run, member, args, time.time_ns())     # CLOCK_REALTIME ns

    def _on_owner(self, name, old, new):
        name, old, new = str(name), str(old), str(new)
        if name == NAME:
            self.owner = new
        elif name.startswith(":") and name != self.me:
            if new:
                self.others.add(name)
            else:
                self.others.discard(name)


class Daemon:
    started = []    # every one, so that none outlives the test

    def __init__(self, spasmd, conf, address, log):
        self.log = log
        self.t0 = time.monotonic()
        with open(log, "w") as f:
            self.proc = subprocess.Popen([spasmd, "--config", conf, "--bus=" + address],
                                         stdout=subprocess.DEVNULL, stderr=f)
        Daemon.started.append(self.proc)

    @staticmethod
    def kill_all():
        for p in Daemon.started:
            if p.poll() is None:
                p.kill()
                p.wait()

    def text(self):
        return B.text(self.log)

    def tail(self, n=6):
        return B.tail(self.log, n)


def wait_gone(client, d, seconds=10.0):
    """Reaps the daemon and dispatches every signal it sent before it died."""
    B.reap(d.proc, seconds)
    client.pump(0.05)
    return client.pump(seconds, lambda: not client.others and client.owner == "")


# --- what was heard --------------------------------------------------------------

class Ledger:
    """Events a client heard of, by id, and the checks against GetEvents."""

    def __init__(self):
        self.ended = {}        # id -> (class, onset, duration, run)
        self.started = {}      # id -> the last run that announced it (ActivityStarted)
        self.problems = []     # (what, detail)
        self.reused_unfinished = []
        self.in_history = set()
        self.seen_signals = 0

    def take(self, signals):
        for run, member, a, _ in signals[self.seen_signals:]:
            ev = None
            if member == "ActivityStarted":
                sid, prev = a[0], self.started.get(a[0])
                if sid in self.ended and self.ended[sid][3] != run:
                    self.problems.append(("id reused", "run %d announced event %d, which ended in run %d"
                                          % (run, sid, self.ended[sid][3])))
                elif prev is not None and prev != run:
                    self.reused_unfinished.append((sid, prev, run))
                self.started[sid] = run
            elif member == "SpasmEnded" or member == "Twitch":
                ev = (a[0], "spasm" if member == "SpasmEnded" else "twitch", a[2], a[3])
            elif member == "ActivityEnded" and a[2] != "withdrawn":   # withdrawn ones are not saved
                ev = (a[0], a[2], a[3], a[4])
            if ev:
                eid, cls, onset, dur = ev
                old = self.ended.get(eid)
                if old and (old[:3] != (cls, onset, dur) or old[3] != run):
                    self.problems.append(("id reused", "id %d: %s in run %d, %s in run %d"
                                          % (eid, old[:3], old[3], (cls, onset, dur), run)))
                elif not old:
                    self.ended[eid] = (cls, onset, dur, run)
        self.seen_signals = len(signals)

    def verify(self, events, where):
        """Every event heard to have ended is in `events` (GetEvents), unchanged; ids unique; oldest first
        by onset, as the contract says. Returns (number checked, missing, changed, order problems)."""
        got = {}
        order = []
        prev = None
        for e in events:
            eid = e[0]
            if eid in got:
                order.append("id %d twice" % eid)
            elif prev is not None and (e[3], eid) < prev:
                order.append("id %d (onset %d) after id %d (onset %d)" % (eid, e[3], prev[1], prev[0]))
            got[eid] = (e[1], e[3], e[4])
            prev = (e[3], eid) if prev is None else max(prev, (e[3], eid))
        missing = [i for i in self.ended if i not in got]
        changed = ["id %d: heard %s, stored %s" % (i, self.ended[i][:3], got[i])
                   for i in self.ended if i in got and got[i] != self.ended[i][:3]]
        self.in_history.update(got)
        if missing or changed or order:
            self.problems.append(("history", "%s: missing %s; changed %s; order %s"
                                  % (where, missing[:10], changed[:5], order[:5])))
        return len(self.ended), missing, changed, order


def stored_ids(path):
    """The ids of the records in a history file of v1 records only (daemon/history.h)."""
    with open(path, "rb") as f:
        data = f.read()
    n = (len(data) - HEADER_SIZE) // RECORD_SIZE
    return [struct.unpack_from("<Q", data, HEADER_SIZE + k * RECORD_SIZE + 12)[0] for k in range(n)]


# --- kill-loop -------------------------------------------------------------------------

def tear(path, rng, kind):
    """Appends what a power cut in the middle of an append could leave; returns (bytes, offset)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        data = f.read()
    last = data[-RECORD_SIZE:] if size >= HEADER_SIZE + RECORD_SIZE else None
    if kind == "torn" and last:
        junk = last[:rng.randint(1, RECORD_SIZE - 1)]          # a record cut short
    elif kind == "flipped" and last:
        b = bytearray(last)
        b[rng.randint(12, RECORD_SIZE - 1)] ^= 1 << rng.randint(0, 7)  # a whole record, one bit wrong
        junk = bytes(b)
    else:
        junk = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300)))
    with open(path, "ab") as f:
        f.write(junk)
        f.flush()
        os.fsync(f.fileno())
    return len(junk), size


def kill_loop(a):
    rng = random.Random(a.seed)
    a.dir = os.path.abspath(a.dir)
    state = os.path.join(a.dir, "state")
    os.makedirs(state, exist_ok=True)
    conf = os.path.join(a.dir, "kill.conf")
    B.write_conf(conf, state, a.recording, 0)
    note("kill-loop: %d runs, seed %d, kill within %.2f s of the start, a torn tail every %d restarts"
         % (a.runs, a.seed, a.max_kill, a.tear_every))
    return B.on_private_bus(kill_loop_on, a, rng, state, conf, stop=Daemon.kill_all)


def kill_loop_on(a, rng, state, conf, bus):
    client = Client(bus.address)
    ledger = Ledger()
    log_path = os.path.join(state, "events.log")
    not_up, not_saving, bad_open, stray_cuts = [], [], [], []
    tears, tears_ok, tears_bad = 0, 0, []
    killed, finished, checked_restarts, killed_early, tears_silent = 0, 0, 0, 0, 0
    max_ended = 0
    pending_tear = None
    t_start = time.monotonic()

    for run in range(1, a.runs + 2):
        final = run == a.runs + 1       # one more start, only to look at the history
        client.run = run
        d = Daemon(a.spasmd, conf, bus.address, os.path.join(a.dir, "run-%03d.log" % run))
        kill_at = d.t0 + rng.uniform(0.0, a.max_kill)
        early = False
        if final:
            up = wait_up(client, d.proc, 10.0)
        else:
            client.pump(10.0, lambda: client.owner != "" or d.proc.poll() is not None or time.monotonic() >= kill_at)
            up = client.owner != ""
            early = not up and d.proc.poll() is None and time.monotonic() >= kill_at
        if up:
            try:
                if client.prop("HistoryStatus") != "saving":
                    not_saving.append("run %d: %s" % (run, client.prop("HistoryStatus")))
                ledger.take(client.signals)
                ledger.verify(client.events(), "run %d start" % run)
                checked_restarts += run > 1
            except dbus.DBusException as e:
                if not (d.proc.poll() is not None and not final):
                    ledger.problems.append(("GetEvents", "run %d: %s" % (run, e)))
        elif not early:
            not_up.append("run %d (exit status %s): %s" % (run, d.proc.poll(), d.tail()))
        killed_early += early
        if final:
            d.proc.send_signal(signal.SIGTERM)
        else:
            client.pump(max(0.0, kill_at - time.monotonic()), lambda: d.proc.poll() is not None)
            if d.proc.poll() is None:
                d.proc.send_signal(signal.SIGKILL)
                killed += 1
            else:
                finished += 1
        if not wait_gone(client, d):
            not_up.append("run %d: the daemon's connection did not go away" % run)
        ledger.take(client.signals)
        text = d.text()
        if "cannot be opened" in text or "not being saved" in text:
            bad_open.append("run %d: %s" % (run, d.tail(3)))
        cut = [ln for ln in text.split("\n") if "torn or corrupt data" in ln]
        if pending_tear:
            n, off = pending_tear
            want = "cut %d bytes of torn or corrupt data at offset %d" % (n, off)
            size = os.path.getsize(log_path)
            if any(want in ln for ln in cut):
                tears_ok += 1
                pending_tear = None
            elif d.proc.returncode == -signal.SIGKILL and "event history:" not in text and size == off + n:
                pass                    # killed before it opened the history: the tail is still there
            elif d.proc.returncode == -signal.SIGKILL and "event history:" not in text and size == off:
                tears_ok += 1           # killed after the cut, before it could say so
                tears_silent += 1
                pending_tear = None
            else:
                tears_bad.append("run %d: want '%s', log: %s" % (run, want, " | ".join(cut) or d.tail(3)))
                pending_tear = None
        elif cut:
            stray_cuts.append("run %d: %s" % (run, cut[0]))
        if final:
            if d.proc.returncode != 0:
                not_up.append("final run: SIGTERM gave exit status %s" % d.proc.returncode)
            break
        ended_now = sum(1 for e in ledger.ended.values() if e[3] == run)
        max_ended = max(max_ended, ended_now)
        if a.verbose:
            note("run %d: %s after %.2f s, %d events ended" % (run, "killed" if d.proc.returncode == -9 else
                                                               "exited", time.monotonic() - d.t0, ended_now))
        if a.tear_every and run % a.tear_every == 0 and not pending_tear and os.path.exists(log_path):
            kind = ("torn", "flipped", "garbage")[(run // a.tear_every) % 3]
            pending_tear = tear(log_path, rng, kind)
            tears += 1

    took = time.monotonic() - t_start
    check(not not_up, "%d starts on the same state directory, SIGKILLed %d times (%d while starting up, before it "
          "was on the bus; %d replays ended first): the daemon came up on the bus every time it was given the time"
          % (a.runs + 1, killed, killed_early, finished), not_up[:5])
    check(not not_saving and not bad_open, "HistoryStatus was \"saving\" after every restart and no start "
          "failed to open events.log", (not_saving + bad_open)[:5])
    hist = [p for p in ledger.problems if p[0] in ("history", "GetEvents")]
    check(not hist and checked_restarts >= a.runs * 2 // 3,
          "after each of %d restarts GetEvents had every one of the events heard to have ended so far (%d in "
          "all, up to %d per run), same class, onset and duration" % (checked_restarts, len(ledger.ended),
                                                                      max_ended), hist[:3])
    dup = [p for p in ledger.problems if p[0] == "id reused"]
    check(not dup, "no id of an event that ended was ever given to another event (%d ids over %d runs)"
          % (len(ledger.ended), a.runs), dup[:3])
    if a.tear_every:
        check(tears > 0 and tears_ok == tears and not tears_bad,
              "%d torn or corrupt tails appended to events.log between runs: each one cut at its offset and the "
              "cut logged (%d seen)" % (tears, tears_ok), tears_bad[:3])
    if tears_silent:
        note("%d of those tails were cut by a run killed before it logged the cut" % tears_silent)
    if stray_cuts:
        note("a SIGKILL alone left a torn tail %d times (history_open cut it): %s"
             % (len(stray_cuts), stray_cuts[:2]))
    unannounced = ledger.in_history - set(ledger.ended)
    if unannounced:
        note("%d events were saved but their end never announced (killed between the save and the signal); "
             "allowed" % len(unannounced))
    # Ids are reserved on disk before they are announced: even an activation cut short by a kill keeps its id.
    check(not ledger.reused_unfinished, "no id announced by ActivityStarted came again after a restart, even for "
          "activations cut short by a kill", ["id %d in runs %d and %d" % x for x in ledger.reused_unfinished[:3]])
    note("kill-loop took %.1f s" % took)
    return 0


# --- enospc --------------------------------------------------------------------------

def enospc(a):
    return B.on_private_bus(enospc_on, a, stop=Daemon.kill_all)


def enospc_on(a, bus):
    client = Client(bus.address)
    ledger = Ledger()
    a.dir, a.work = os.path.abspath(a.dir), os.path.abspath(a.work)
    conf = os.path.join(a.work, "enospc.conf")
    B.write_conf(conf, a.dir, a.recording, a.speed)
    log_path = os.path.join(a.dir, "events.log")
    seed_ids = stored_ids(log_path)
    n_seed = len(seed_ids)
    d = Daemon(a.spasmd, conf, bus.address, os.path.join(a.work, "enospc-1.log"))
    if not check(wait_up(client, d.proc, 10.0), "full disk: the daemon starts", d.tail()):
        d.proc.kill()
        return 1

    def ended_unsaved():
        ledger.take(client.signals)
        return [m for (_, m, _, _) in client.signals if m == "SpasmEnded"] and len(ledger.ended) >= 3

    # Every event so far failed to save: wait for a SpasmEnded among them.
    got = client.pump(40.0 / max(a.speed, 1) + 30, lambda: ended_unsaved() or d.proc.poll() is not None)
    ledger.take(client.signals)
    members = [m for (_, m, _, _) in client.signals]
    status = client.prop("HistoryStatus") if d.proc.poll() is None else "(daemon gone)"
    check(bool(got), "full disk: detection goes on: %d events ended, %d SpasmEnded, %d Twitch, %d ActivityStarted"
          % (len(ledger.ended), members.count("SpasmEnded"), members.count("Twitch"),
             members.count("ActivityStarted")), d.tail())
    check(status.startswith("not saving") and "No space left" in status,
          "full disk: HistoryStatus = \"%s\"" % status)
    text = d.text()
    check("the event history is not being saved" in text and "No space left" in text,
          "full disk: the log says the history is not being saved",
          d.tail(3))
    ledger.take(client.signals)
    evs = client.events()
    n, missing, changed, order = ledger.verify(evs, "full disk")
    client.pump(0.3)            # an event that ended meanwhile may be in evs already
    ledger.take(client.signals)
    ids = [e[0] for e in evs]
    unknown = [i for i in ids if i not in seed_ids and i not in ledger.ended]
    check(n > 0 and not missing and not changed and not order and not unknown and set(seed_ids) <= set(ids),
          "full disk: GetEvents has the %d stored events and the %d unsaved ones (served from memory)"
          % (n_seed, len(ids) - n_seed),
          "got %d, missing %s, changed %s, order %s, unknown %s" % (len(evs), missing, changed, order, unknown))
    size_full = os.path.getsize(log_path)
    check(size_full == HEADER_SIZE + n_seed * RECORD_SIZE,
          "full disk: events.log still holds just its %d records (%d bytes)" % (n_seed, size_full),
          "size %d" % size_full)

    # Free the space; a later event saves the backlog too.
    n_unsaved = len(ledger.ended)
    os.unlink(a.filler)
    t_free = time.monotonic()
    saving = False
    deadline = time.monotonic() + 60.0 / max(a.speed, 1) + 30
    while not saving and d.proc.poll() is None and time.monotonic() < deadline:
        client.pump(0.1)
        try:
            saving = client.prop("HistoryStatus") == "saving"
        except dbus.DBusException:
            break
    ledger.take(client.signals)
    after = len(ledger.ended) - n_unsaved
    check(saving, "space freed: HistoryStatus is \"saving\" again %.1f s later, after %d more event(s) ended"
          % (time.monotonic() - t_free, after), d.tail(3))
    check("is being saved again" in d.text(), "space freed: the log says the history is being saved again",
          d.tail(3))
    d.proc.send_signal(signal.SIGTERM)
    wait_gone(client, d)
    ledger.take(client.signals)
    check(d.proc.returncode == 0, "SIGTERM: exit status 0", d.proc.returncode)

    # A restart reads it all back from events.log.
    idle = os.path.join(a.work, "enospc-idle.conf")
    B.write_conf(idle, a.dir)
    client.run = 2
    d = Daemon(a.spasmd, idle, bus.address, os.path.join(a.work, "enospc-2.log"))
    if check(wait_up(client, d.proc, 10.0), "restart on the same directory", d.tail()):
        evs = client.events()
        n, missing, changed, order = ledger.verify(evs, "after the restart")
        check(not missing and not changed and not order and len(evs) == n_seed + n
              and set(seed_ids) <= set(e[0] for e in evs),
              "after the restart events.log has all %d: %d from before, the %d kept in memory while the disk "
              "was full and %d more" % (len(evs), n_seed, n_unsaved, n - n_unsaved),
              "got %d, missing %s, changed %s, order %s" % (len(evs), missing, changed, order))
        check(client.prop("HistoryStatus") == "saving", "after the restart HistoryStatus is \"saving\"")
    d.proc.send_signal(signal.SIGTERM)
    wait_gone(client, d)
    return 0


# --- concat ----------------------------------------------------------------------------

def concat(a):
    with open(a.input) as f:
        lines = f.read().split("\n")
    head, rows = [], []
    for ln in lines:
        if not ln:
            continue
        if rows or (ln[0].isdigit() or ln[0] == "-"):
            rows.append(ln)
        else:
            head.append(ln)
    rate = float(next(ln for ln in head if ln.startswith("# rate_hz=")).split("=")[1])
    cols = head[-1].split(",")
    ti = cols.index("t_s") if "t_s" in cols else None
    span = len(rows) / rate
    digits = 5 if rate > 2000 else 4
    with open(a.output, "w") as g:
        g.write("\n".join(h for h in head if not h.startswith("# duration_s=")) + "\n")
        for k in range(a.times):
            for r in rows:
                if ti is None or k == 0:
                    g.write(r + "\n")
                    continue
                parts = r.split(",")
                parts[ti] = "%.*f" % (digits, float(parts[ti]) + k * span)
                g.write(",".join(parts) + "\n")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("concat")
    c.add_argument("input")
    c.add_argument("times", type=int)
    c.add_argument("output")
    k = sub.add_parser("kill-loop")
    k.add_argument("--spasmd", required=True)
    k.add_argument("--recording", required=True)
    k.add_argument("--dir", required=True, help="scratch directory; the state directory is DIR/state")
    k.add_argument("--runs", type=int, default=30)
    k.add_argument("--max-kill", type=float, default=1.0, help="SIGKILL within this many seconds of the start")
    k.add_argument("--tear-every", type=int, default=3)
    k.add_argument("--seed", type=int, default=None)
    k.add_argument("-v", "--verbose", action="store_true")
    e = sub.add_parser("enospc")
    e.add_argument("--spasmd", required=True)
    e.add_argument("--recording", required=True)
    e.add_argument("--dir", required=True, help="the state directory, on the tiny file system")
    e.add_argument("--filler", required=True)
    e.add_argument("--work", required=True, help="scratch directory for configs and logs")
    e.add_argument("--speed", type=float, default=10.0)
    a = ap.parse_args(argv)
    if a.cmd == "concat":
        return concat(a)
    if a.cmd == "kill-loop":
        if a.seed is None:
            a.seed = random.SystemRandom().randrange(1 << 31)
        kill_loop(a)
    else:
        enospc(a)
    return B.exit_status()


if __name__ == "__main__":
    sys.exit(main())
