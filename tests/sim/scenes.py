#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Scene definitions and the generator CLI.

    python3 tests/sim/scenes.py --out DIR --set check|full [--seed N] [--only NAME]
    python3 tests/sim/scenes.py --set demo            # tests/data/demo-lumbar.csv

Writes NAME.csv (spasmd-recording v1) and NAME.labels.csv into DIR and
prints one line per scene. `check` is the fixed set `make check` scores the
detector on; `full` re-runs every check scene with other seeds and rates and
adds long random days, for offline tuning. See README.md.
"""

import argparse
import os
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from builder import Scene, write_recording  # noqa: E402
import models as m  # noqa: E402

# --------------------------------------------------------------------------
# Check scenes. Each takes a fresh Scene and scripts it; parameters not given
# are drawn from the scene's seed. Comments give the point of the scene.


def rest_only(sc):
    """8 min sitting with every confounder and no event: false positives per hour."""
    sc.rest(40, 60)
    sc.cable_artefact()
    sc.rest(50, 70)
    sc.impedance_change(factor=3.0, dur=60.0)
    sc.rest(40, 60)
    sc.cable_artefact()
    sc.rest(60, 80)
    sc.cable_artefact()
    sc.rest(480 - sc.t)


def spasm_long_lying(sc):
    """A 3 min pulsing spasm on both sides while lying, jerk at onset."""
    sc.rest(15, 18)
    sc.twitch()
    sc.rest(4, 8)
    sc.spasm(180.0, amp="moderate", side="both", pulse=(0.5, 5.0), jerk=True)
    sc.rest(5, 8)
    sc.spasm(3.0, amp="weak", side="left")
    sc.rest(5, 8)
    sc.twitch()
    sc.rest(2, 4)
    sc.twitch()
    sc.rest(4, 7)
    sc.spasm(1.5, amp="strong", side="right")
    sc.rest(8, 10)


def spasm_long_sitting(sc):
    """A 2.5 min weak-to-moderate one-sided spasm while sitting, and shorter ones."""
    sc.rest(15, 18)
    sc.spasm(150.0, amp=(4.0, 7.0), side="right")
    sc.rest(6, 9)
    sc.spasm(20.0, amp="moderate", side="both", pulse=(0.7, 2.0))
    sc.rest(5, 8)
    sc.spasm(8.0, amp="strong", side="left", jerk=True)
    sc.rest(5, 8)
    sc.spasm(1.1, amp="moderate")
    sc.rest(4, 7)
    sc.twitch()
    sc.rest(2, 4)
    sc.twitch()
    sc.rest(5, 8)


def spasm_short_side(sc):
    """Ten short spasms (1.1-4 s) lying on the side, with twitches between."""
    sc.rest(15, 18)
    plan = [(1.1, "weak", "left", None, False), (1.5, "strong", "right", None, True),
            (2.0, "moderate", "both", (0.8, 4.0), False), (3.0, "weak", "right", None, False),
            (1.2, "moderate", "both", None, True), (2.5, "strong", "left", (0.6, 7.0), False),
            (1.5, "moderate", "right", None, False), (4.0, "weak", "both", (0.5, 1.5), False),
            (1.8, "strong", "both", None, True), (3.0, "moderate", "left", (0.9, 3.0), False)]
    for i, (dur, amp, side, pulse, jerk) in enumerate(plan):
        sc.spasm(dur, amp=amp, side=side, pulse=pulse, jerk=jerk)
        sc.rest(3.5, 6)
        if i % 2:
            sc.twitch()
            sc.rest(3.5, 6)
    sc.rest(3, 5)


def spasm_standing(sc):
    """Spasms while standing still (postural tone on): weak, pulsing with
    visible twitching, jerks, a 60 s one."""
    sc.rest(15, 18)
    sc.spasm(8.0, amp="weak", side="left")
    sc.rest(5, 8)
    sc.spasm(3.0, amp="moderate", side="right", jerk=True)
    sc.rest(5, 8)
    sc.twitch()
    sc.rest(4, 6)
    sc.spasm(20.0, amp="strong", side="both", pulse=(0.6, 6.0))
    sc.rest(5, 8)
    sc.spasm(1.5, amp="strong", side="both")
    sc.rest(4, 6)
    sc.twitch()
    sc.rest(3, 5)
    sc.spasm(8.0, amp="moderate", side="right", pulse=(0.8, 3.0), jerk=True)
    sc.rest(5, 8)
    sc.spasm(60.0, amp="moderate", side="left")
    sc.rest(5, 8)
    sc.twitch()
    sc.rest(3, 5)
    sc.spasm(1.1, amp="weak", side="both")
    sc.rest(4, 6)
    sc.twitch()
    sc.rest(5, 8)


def twitches_lying(sc):
    """Fourteen twitches lying, some in clusters 1.5-3 s apart."""
    sc.rest(15, 18)
    for i in range(14):
        sc.twitch()
        if i == 6:
            sc.rest(4, 6)
            sc.spasm(1.5, amp="moderate")
            sc.rest(4, 6)
        elif i % 4 == 3:
            sc.rest(4, 8)
        else:
            sc.rest(1.5, 3.0)
    sc.rest(3, 4)
    sc.spasm(3.0, amp="weak", pulse=(0.5, 2.5))
    sc.rest(5, 8)


def twitches_sitting(sc):
    """Ten twitches sitting (tone on), three spasms."""
    sc.rest(15, 18)
    for i in range(10):
        sc.twitch()
        if i in (3, 6):
            sc.rest(4, 6)
            sc.spasm(1.1 if i == 3 else 1.5)
            sc.rest(4, 6)
        elif i % 3 == 2:
            sc.rest(3.5, 6.0)
        else:
            sc.rest(1.5, 4.0)
    sc.rest(2, 3)
    sc.spasm(8.0, amp="moderate", side="both", jerk=True)
    sc.rest(5, 8)


def noimu_lying(sc):
    """No IMU, lying: spasms and twitches around a x2 impedance change."""
    sc.rest(15, 18)
    sc.spasm(1.5, amp="moderate", side="left")
    sc.rest(4, 6)
    sc.twitch()
    sc.rest(4, 6)
    sc.spasm(3.0, amp="weak", side="both")
    sc.rest(5, 8)
    sc.impedance_change(factor=2.0, dur=60.0)
    sc.rest(5, 8)
    sc.twitch()
    sc.rest(2, 4)
    sc.twitch()
    sc.rest(4, 6)
    sc.spasm(8.0, amp="strong", side="right", pulse=(0.6, 4.0))
    sc.rest(5, 8)
    sc.twitch()
    sc.rest(4, 6)
    sc.spasm(20.0, amp="moderate", side="both")
    sc.rest(5, 8)
    sc.twitch()
    sc.rest(5, 8)


def noimu_sitting(sc):
    """No IMU, sitting (tone on): a x4 impedance change and spasms."""
    sc.rest(15, 18)
    sc.twitch()
    sc.rest(4, 6)
    sc.spasm(1.1, amp="strong", side="right")
    sc.rest(5, 8)
    sc.impedance_change(factor=4.0, dur=60.0)
    sc.rest(5, 8)
    sc.spasm(2.0, amp="weak", side="left")
    sc.rest(4, 6)
    sc.twitch()
    sc.rest(2, 4)
    sc.twitch()
    sc.rest(4, 6)
    sc.spasm(8.0, amp="moderate", side="both", jerk=True)
    sc.rest(5, 8)
    sc.spasm(20.0, amp="moderate", side="left", pulse=(0.5, 1.0))
    sc.rest(5, 8)
    sc.twitch()
    sc.rest(3, 5)
    sc.twitch()
    sc.rest(5, 8)


def walking(sc):
    """Walks of 10-35 s (one with a turn), spasms while standing between them."""
    sc.rest(15, 18)
    sc.walk(15.0)
    sc.rest(4, 8)
    sc.spasm(3.0, amp="moderate", side="left")
    sc.rest(4, 8)
    sc.walk(30.0, turn=True)
    sc.rest(4, 8)
    sc.twitch()
    sc.rest(4, 6)
    sc.walk(10.0)
    sc.rest(4, 8)
    sc.lean_hold()
    sc.rest(4, 8)
    sc.walk(20.0)
    sc.rest(4, 8)
    sc.spasm(8.0, amp="weak", side="both")
    sc.rest(4, 8)
    sc.walk(12.0)
    sc.rest(4, 8)
    sc.lean_hold(hold=6.0)
    sc.rest(4, 7)
    sc.bend()
    sc.rest(5, 8)


def bending(sc):
    """Bends of 40-80 deg from standing and sitting, leaning holds, a few spasms."""
    sc.rest(15, 18)
    for i in range(6):
        sc.bend()
        sc.rest(4, 8)
        if i == 1:
            sc.spasm(1.5, amp="strong", side="right")
            sc.rest(4, 7)
        if i == 3:
            sc.lean_hold(hold=5.0)
            sc.rest(4, 7)
        if i == 4:
            sc.twitch()
            sc.rest(4, 6)
    sc.lean_hold(hold=8.0)
    sc.rest(4, 8)
    sc.spasm(3.0, amp="weak", side="both")
    sc.rest(4, 7)
    sc.transition("sitting")
    sc.rest(4, 7)
    sc.bend()
    sc.rest(4, 7)
    sc.twitch()
    sc.rest(4, 7)
    sc.bend()
    sc.rest(4, 7)
    sc.transition("standing")
    sc.rest(4, 7)
    sc.lean_hold(hold=4.0)
    sc.rest(5, 8)


def lifting_work(sc):
    """Holding loads (leaning holds of 4-20 s), bending, walking between."""
    sc.rest(15, 18)
    for i in range(5):
        sc.lean_hold()
        sc.rest(4, 7)
        if i in (1, 3):
            sc.bend()
            sc.rest(4, 7)
        if i in (0, 2, 4):
            sc.walk(sc.rng.uniform(10, 15))
            sc.rest(4, 7)
        if i == 2:
            sc.spasm(8.0, amp="moderate", side="right", pulse=(0.5, 5.0))
            sc.rest(4, 7)
        if i == 3:
            sc.twitch()
            sc.rest(4, 7)
    sc.bend()
    sc.rest(4, 7)
    sc.twitch()
    sc.rest(5, 8)


def day_mix_a(sc):
    """From lying to walking and back: every kind of event in a day's order."""
    sc.rest(15, 18)
    sc.twitch()
    sc.rest(4, 7)
    sc.spasm(6.0, amp="strong", side="left", pulse=(0.6, 4.0), jerk=True)
    sc.rest(4, 7)
    sc.transition("sitting")
    sc.rest(4, 7)
    sc.spasm(3.0, amp="moderate", side="right")
    sc.rest(4, 7)
    sc.transition("standing")
    sc.rest(4, 7)
    sc.walk(20.0)
    sc.rest(4, 7)
    sc.bend()
    sc.rest(4, 7)
    sc.lean_hold(hold=8.0)
    sc.rest(4, 7)
    sc.spasm(4.0, amp="weak", side="both")
    sc.rest(4, 7)
    sc.walk(10.0)
    sc.rest(4, 7)
    sc.transition("sitting")
    sc.rest(4, 7)
    sc.transition("supine")
    sc.rest(4, 7)
    sc.spasm(1.5, amp="moderate")
    sc.rest(4, 7)
    sc.transition("side_left")
    sc.rest(4, 7)
    sc.twitch()
    sc.rest(4, 7)
    sc.transition("supine")
    sc.rest(5, 8)


def day_mix_b(sc):
    """Getting up from side lying, errands, a 20 s spasm sitting, back to bed."""
    sc.rest(15, 18)
    sc.transition("sitting")
    sc.rest(4, 7)
    sc.twitch()
    sc.rest(4, 7)
    sc.transition("standing")
    sc.rest(4, 7)
    sc.walk(25.0)
    sc.rest(4, 7)
    sc.lean_hold()
    sc.rest(4, 7)
    sc.bend()
    sc.rest(4, 7)
    sc.walk(10.0)
    sc.rest(4, 7)
    sc.lean_hold(hold=5.0)
    sc.rest(4, 7)
    sc.walk(10.0)
    sc.rest(4, 7)
    sc.transition("sitting")
    sc.rest(4, 7)
    sc.spasm(20.0, amp="moderate", side="right", jerk=True)
    sc.rest(4, 7)
    sc.transition(["supine", "side_right"])
    sc.rest(4, 7)
    sc.spasm(1.5, amp="weak", side="right")
    sc.rest(5, 8)


def transitions(sc):
    """Posture changes in and out of bed and chair, spasms in each posture."""
    sc.rest(15, 18)
    sc.transition("side_right")
    sc.rest(4, 7)
    sc.spasm(2.0, amp="moderate", side="left")
    sc.rest(4, 7)
    sc.transition("supine")
    sc.rest(4, 7)
    sc.transition("sitting")
    sc.rest(4, 7)
    sc.twitch()
    sc.rest(4, 7)
    sc.transition("standing")
    sc.rest(4, 7)
    sc.walk(12.0)
    sc.rest(4, 7)
    sc.spasm(1.5, amp="strong", side="both", jerk=True)
    sc.rest(4, 7)
    sc.bend()
    sc.rest(4, 7)
    sc.transition("sitting")
    sc.rest(4, 7)
    sc.spasm(3.0, amp="weak", side="left")
    sc.rest(4, 7)
    sc.transition("standing")
    sc.rest(4, 7)
    sc.lean_hold(hold=6.0)
    sc.rest(4, 7)
    sc.walk(10.0)
    sc.rest(4, 7)
    sc.lean_hold(hold=4.0)
    sc.rest(4, 7)
    sc.transition("sitting")
    sc.rest(4, 7)
    sc.twitch()
    sc.rest(4, 7)
    sc.transition("side_left")
    sc.rest(4, 7)
    sc.spasm(1.2, amp="moderate", side="right")
    sc.rest(4, 7)
    sc.transition("supine")
    sc.rest(4, 7)
    sc.twitch()
    sc.rest(5, 8)


# name: (script, rate_hz, imu, starting posture, mains_hz or None for random)
CHECK = {
    "rest_only": (rest_only, 1000, True, "sitting", 50),
    "spasm_long_lying": (spasm_long_lying, 1000, True, "supine", None),
    "spasm_long_sitting": (spasm_long_sitting, 500, True, "sitting", 60),
    "spasm_short_side": (spasm_short_side, 2000, True, "side_left", None),
    "spasm_standing": (spasm_standing, 1000, True, "standing", 50),
    "twitches_lying": (twitches_lying, 1000, True, "supine", None),
    "twitches_sitting": (twitches_sitting, 500, True, "sitting", 60),
    "noimu_lying": (noimu_lying, 1000, False, "supine", 50),
    "noimu_sitting": (noimu_sitting, 2000, False, "sitting", 60),
    "walking": (walking, 1000, True, "standing", None),
    "bending": (bending, 2000, True, "standing", 50),
    "lifting_work": (lifting_work, 1000, True, "standing", None),
    "day_mix_a": (day_mix_a, 1000, True, "supine", 50),
    "day_mix_b": (day_mix_b, 500, True, "side_right", 60),
    "transitions": (transitions, 1000, True, "supine", None),
}

# --------------------------------------------------------------------------
# Random days (full set only)

_NEXT_POSTURE = {
    "supine": ("sitting", "side_left", "side_right"),
    "side_left": ("supine", "sitting"),
    "side_right": ("supine", "sitting"),
    "sitting": ("standing", "standing", "supine", "side_left", "side_right"),
    "standing": ("sitting",),
}


def random_spasm_duration(rng):
    r = rng.random()
    if r < 0.55:
        return rng.uniform(1.1, 4.0)
    if r < 0.82:
        return rng.uniform(4.0, 20.0)
    if r < 0.96:
        return rng.uniform(20.0, 90.0)
    return rng.uniform(90.0, 240.0)


def random_day(sc, minutes):
    """A random sequence of rests, events and confounders for `minutes`."""
    rng = sc.rng
    end = minutes * 60.0
    impedance_done = False
    sc.rest(15, 18)
    while sc.t < end - 30:
        acts = {"spasm": 3.0, "twitches": 3.0, "cable": 0.3}
        if not impedance_done:
            acts["impedance"] = 0.3
        if sc.imu:
            acts["transition"] = 2.0
            if sc.posture == "standing":
                acts.update(walk=2.0, bend=1.5, lean=1.5)
            elif sc.posture == "sitting":
                acts["bend"] = 0.5
        names = list(acts)
        w = [acts[k] for k in names]
        act = names[int(rng.choice(len(names), p=[x / sum(w) for x in w]))]
        if act == "spasm":
            pulse = None
            if rng.random() < 0.35:
                pulse = (rng.uniform(0.4, 0.9), rng.uniform(1.0, 8.0))
            sc.spasm(random_spasm_duration(rng), pulse=pulse, jerk=rng.random() < 0.25)
        elif act == "twitches":
            for i in range(int(rng.integers(1, 5))):
                if i:
                    sc.rest(1.5, 5.0)
                sc.twitch()
        elif act == "cable":
            sc.cable_artefact()
        elif act == "impedance":
            sc.impedance_change(factor=float(rng.choice((2.0, 3.0, 4.0))), dur=60.0)
            impedance_done = True
        elif act == "transition":
            sc.transition(str(rng.choice(_NEXT_POSTURE[sc.posture])))
        elif act == "walk":
            sc.walk(rng.uniform(10.0, 60.0))
        elif act == "bend":
            sc.bend()
        elif act == "lean":
            sc.lean_hold()
        sc.rest(3.0, 15.0)
    sc.rest(5, 10)


def _day(minutes):
    return lambda sc: random_day(sc, minutes)


# --------------------------------------------------------------------------
# Demo recording (committed as tests/data/demo-lumbar.csv)


def demo_lumbar(sc):
    """Demo, 90 s: rest lying, a twitch, a 6 s pulsing spasm with a jerk at
    onset, getting up, walking 12 s, a 4 s weak spasm standing, a bend."""
    sc.rest(15.0)
    sc.twitch(0.4, amp=12.0, side="right")
    sc.rest(7.0)
    sc.spasm(6.0, amp=20.0, side="both", pulse=(0.6, 4.0), jerk=True)
    sc.rest(9.0)
    sc.transition(["sitting", "standing"], amp=8.0)
    sc.rest(5.0)
    sc.walk(12.0, step_hz=1.9, amp=8.0, turn=False)
    sc.rest(7.0)
    sc.spasm(4.0, amp=4.0, side="left")
    sc.rest(6.0)
    sc.bend(angle_deg=60.0, t_down=1.2, hold=1.0, t_up=1.2, amp=8.0)
    sc.rest(12.0)


DEMO = {"demo-lumbar": (demo_lumbar, 1000, True, "supine", 50)}

# --------------------------------------------------------------------------
# Soak (make soak: tests/soak/soak.py plays this hour 24 times over)

SOAK_SECONDS = 3600.0      # the hour that is looped
SOAK_SEAM_S = 5.0          # extra rest at the end that soak.py crossfades into the start


def soak_hour(sc):
    """An hour at home for make soak: lying, a spasm or a few twitches every
    1.5-3 min, twice getting up for a walk; starts and ends at rest lying in
    the same position, so that it can be played in a loop."""
    rng = sc.rng
    q_start = sc.q.copy()
    end = SOAK_SECONDS + SOAK_SEAM_S
    sc.rest(20.0, 23.0)                     # 15-18 s after soak.py's crossfade takes SOAK_SEAM_S
    plan = ["spasm", "twitches", "spasm", "spasm", "twitches", "up",
            "spasm", "twitches", "cable", "spasm", "twitches", "spasm", "up"]
    longest = {"spasm": 90.0, "twitches": 15.0, "cable": 4.0, "up": 100.0}
    k, gap = 0, 0.0
    while True:
        act = plan[k % len(plan)]
        k += 1
        if sc.t + gap + longest[act] + 40.0 > end:   # the end: 20 s + 4 s back into position + rest + the seam
            break
        sc.rest(gap)
        if act == "spasm":
            dur = min(random_spasm_duration(rng), longest["spasm"])
            pulse = (rng.uniform(0.4, 0.9), rng.uniform(1.0, 8.0)) if rng.random() < 0.35 else None
            sc.spasm(dur, pulse=pulse, jerk=rng.random() < 0.25)
        elif act == "twitches":
            for i in range(int(rng.integers(1, 4))):
                if i:
                    sc.rest(1.5, 5.0)
                sc.twitch()
        elif act == "cable":
            sc.cable_artefact()
        else:   # up for a walk, then back to bed
            sc.transition(["sitting", "standing"])
            sc.rest(3.0, 8.0)
            sc.walk(rng.uniform(15.0, 40.0))
            sc.rest(3.0, 8.0)
            sc.bend()
            sc.rest(3.0, 8.0)
            sc.transition(["sitting", "supine"])
        gap = rng.uniform(90.0, 180.0)
    # Back to the starting position (same gravity vector; the heading may have
    # turned), slowly, then rest to the end: the loop's seam is all rest.
    sc.rest(20.0)
    q_back = m.quat_mul(m.quat_axis("y", sc.heading), q_start)
    sc._move(sc.t, sc.t + 4.0, q_back)
    sc.rest(end - sc.t)
    # No electrode pop near the seam (the pops keep away from impedance
    # changes; these two change the noise by a factor of 1, i.e. not at all).
    sc.impedance += [(0, 0.0, 30.0, 1.0, 0.2, 0.2), (0, end - 30.0, end, 1.0, 0.2, 0.2)]


SOAK = {"soak_hour": (soak_hour, 1000, True, "supine", 50)}

# --------------------------------------------------------------------------
# Sets


def _full():
    """Check scenes again with other seeds and rates, and random days."""
    scenes = {}
    rates = {1: {"spasm_long_lying": 250, "twitches_lying": 4000, "noimu_lying": 250, "walking": 2000,
                 "day_mix_b": 4000, "rest_only": 500},
             2: {"spasm_standing": 4000, "bending": 250, "noimu_sitting": 500, "transitions": 2000,
                 "twitches_sitting": 250, "day_mix_a": 500}}
    for v in (1, 2):
        for name, (fn, rate, imu, posture, mains) in CHECK.items():
            scenes["%s_v%d" % (name, v)] = (fn, rates[v].get(name, rate), imu, posture, None)
    days = [("day_1000_a", 1000, True, "supine", 20), ("day_500", 500, True, "sitting", 15),
            ("day_250", 250, True, "standing", 15), ("day_2000", 2000, True, "side_left", 10),
            ("day_4000", 4000, True, "supine", 5), ("day_noimu_1000", 1000, False, "sitting", 10),
            ("day_1000_b", 1000, True, "standing", 15)]
    for name, rate, imu, posture, minutes in days:
        scenes[name] = (_day(minutes), rate, imu, posture, None)
    return scenes


def scene_set(which):
    if which == "check":
        return dict(CHECK)
    if which == "full":
        return _full()
    if which == "demo":
        return dict(DEMO)
    if which == "soak":
        return dict(SOAK)
    raise ValueError(which)


DEFAULT_SEED = {"check": 1, "full": 1001, "demo": 7, "soak": 24}


def scene_seed(seed, name):
    return [seed, zlib.crc32(name.encode())]


def build(name, spec, seed):
    fn, rate, imu, posture, mains = spec
    note = " ".join((fn.__doc__ or "").split())
    sc = Scene(name, scene_seed(seed, name), rate_hz=rate, imu=imu, posture=posture, mains_hz=mains, note=note)
    fn(sc)
    return sc


def generate_one(args):
    """Render and write one scene; returns a summary dict (used by worker processes)."""
    which, name, seed, out, decimals = args
    spec = scene_set(which)[name]
    t0 = time.time()
    rec = build(name, spec, seed).render()
    path = os.path.join(out, name + ".csv")
    write_recording(path, rec, *decimals, truth=which != "demo")
    counts = {}
    for e in rec["labels"]:
        counts[e["cls"]] = counts.get(e["cls"], 0) + 1
        counts["kind:" + e["kind"]] = counts.get("kind:" + e["kind"], 0) + 1
    return dict(name=name, path=path, rate=rec["fs"], imu=rec["imu"] is not None,
                duration=len(rec["t"]) / rec["fs"], counts=counts, seconds=time.time() - t0)


def generate(which, out, seed=None, only=None, jobs=2, quiet=False):
    """Generate a set into out; returns the summaries in set order."""
    seed = DEFAULT_SEED[which] if seed is None else seed
    scenes = scene_set(which)
    if only:
        missing = [n for n in only if n not in scenes]
        if missing:
            raise SystemExit("unknown scene(s): %s (have: %s)" % (", ".join(missing), ", ".join(scenes)))
        scenes = {n: scenes[n] for n in only}
    os.makedirs(out, exist_ok=True)
    decimals = (2, 4) if which == "demo" else (3, 4)
    work = [(which, name, seed, out, decimals) for name in scenes]
    if jobs > 1 and len(work) > 1:
        import multiprocessing
        # biggest first (by rate), so the workers finish together
        order = sorted(work, key=lambda w: -scenes[w[1]][1])
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            done = {r["name"]: r for r in pool.imap_unordered(generate_one, order)}
        results = [done[w[1]] for w in work]
    else:
        results = [generate_one(w) for w in work]
    if not quiet:
        for r in results:
            c = r["counts"]
            print("%-26s %5g Hz %-5s %7.1f s  spasm %2d twitch %2d voluntary %2d  (%.1f s)"
                  % (r["path"], r["rate"], "imu" if r["imu"] else "noimu", r["duration"],
                     c.get("spasm", 0), c.get("twitch", 0), c.get("voluntary", 0), r["seconds"]))
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="output directory (default: tests/data for demo)")
    ap.add_argument("--set", default="check", choices=("check", "full", "demo", "soak"))
    ap.add_argument("--seed", type=int, help="base seed (default: %s)" % DEFAULT_SEED)
    ap.add_argument("--only", action="append", metavar="NAME", help="only this scene (repeatable)")
    ap.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1))
    ap.add_argument("--list", action="store_true", help="list the set's scenes and exit")
    a = ap.parse_args(argv)
    if a.list:
        for name, spec in scene_set(a.set).items():
            print("%-24s %5d Hz %s" % (name, spec[1], "imu" if spec[2] else "noimu"))
        return 0
    out = a.out
    if out is None:
        if a.set != "demo":
            ap.error("--out is required")
        out = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data"))
    t0 = time.time()
    res = generate(a.set, out, a.seed, a.only, a.jobs)
    total = sum(r["duration"] for r in res)
    counts = {}
    for r in res:
        for k, v in r["counts"].items():
            counts[k] = counts.get(k, 0) + v
    print("%d scenes, %.1f min simulated, spasm %d twitch %d voluntary %d, generated in %.1f s"
          % (len(res), total / 60, counts.get("spasm", 0), counts.get("twitch", 0),
             counts.get("voluntary", 0), time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
