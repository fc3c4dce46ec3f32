# SPDX-License-Identifier: LGPL-2.1-or-later
"""Scene timeline: a script of rests, events and confounders, rendered to a
recording with ground truth.

A Scene is written as a sequence of calls that advance a cursor in time:

    sc = Scene("example", seed=1, rate_hz=1000, posture="supine")
    sc.rest(15)
    sc.spasm(6, amp="strong", side="left", pulse=True, jerk=True)
    sc.rest(5, 8)
    sc.transition(["sitting", "standing"])
    sc.walk(12)
    rec = sc.render()        # samples, labels, metadata
    write_recording("example.csv", rec)

Amplitudes of muscle activity are given as multiples of the channel's rest
floor at the event's posture: sqrt(sigma_n^2 + tone^2), where sigma_n is the
amplifier noise and tone the postural tone (zero when lying). Every random
parameter left as None is drawn from the scene's generator, so a scene is
fully determined by its name, its seed and its script.
"""

import json
import math

import numpy as np

import models as m

UPRIGHT = ("sitting", "standing")
LYING = ("supine", "side_left", "side_right")
POSTURES = UPRIGHT + LYING
CLASSES = ("spasm", "twitch", "voluntary")
SIDES = ("left", "right", "both")
MIN_GAP_S = 3.0          # rest between events
MIN_GAP_TWITCH_S = 1.5   # rest between two twitches


def _posture_quat(rng, posture):
    """Body orientation of a posture (before heading), with a little jitter."""
    d = math.radians
    qx, qy, qz = (lambda a: m.quat_axis("x", a)), (lambda a: m.quat_axis("y", a)), (lambda a: m.quat_axis("z", a))
    if posture == "standing":      # trunk within ~10 deg of vertical
        return m.quat_mul(qx(d(rng.uniform(-4, 8))), qz(d(rng.uniform(-3, 3))))
    if posture == "sitting":       # reclined backward 20-35 deg: acc_z = +g sin
        return m.quat_mul(qx(-d(rng.uniform(20, 35))), qz(d(rng.uniform(-3, 3))))
    if posture == "supine":        # acc ~ (0, 0, +g)
        return m.quat_mul(qx(-d(rng.uniform(80, 92))), qy(d(rng.uniform(-8, 8))))
    if posture == "side_left":     # lying on the left side: right side up, acc ~ (+g, 0, 0)
        return m.quat_mul(qx(-d(90)), qy(-d(90 + rng.uniform(-10, 10))))
    if posture == "side_right":    # acc ~ (-g, 0, 0)
        return m.quat_mul(qx(-d(90)), qy(d(90 + rng.uniform(-10, 10))))
    raise ValueError("unknown posture %r" % posture)


def _pitch_of(q):
    """Forward flexion of the trunk from vertical (rad), from the gravity direction."""
    up = m.world_up_in_body(q)
    return math.atan2(-up[2], up[1])


class Scene:
    def __init__(self, name, seed, rate_hz=1000, imu=True, posture="supine", mains_hz=None,
                 n_pops=None, note=""):
        if posture not in POSTURES:
            raise ValueError(posture)
        self.name = name
        self.seed = seed
        self.fs = float(rate_hz)
        self.imu = imu
        self.note = note
        self.rng = np.random.default_rng(seed)
        rng = self.rng
        self.t = 0.0                       # the script's cursor, seconds
        self.posture = posture
        self.heading = 0.0                 # yaw, rad, about world up
        self.q = _posture_quat(rng, posture)
        self.moves = []                    # base orientation moves: (t0, t1, q0, q1)
        self.levels = {"tone": [(0.0, 1.0 if posture in UPRIGHT else 0.0)],
                       "standing": [(0.0, 1.0 if posture == "standing" else 0.0)]}
        # Per-channel constants of this recording.
        self.sigma_n = rng.uniform(1.5, 5.0, 2)             # amplifier noise, uV RMS
        self.tone_uv = rng.uniform(1.0, 2.0, 2) * self.sigma_n
        self.emg_fl = rng.uniform(50, 70, 2)
        self.emg_fh = rng.uniform(100, 140, 2)
        self.mains_hz = mains_hz or int(rng.choice((50, 60)))
        self.n_pops = n_pops                # None: 3-7 per 4 min
        self.bursts = []     # muscle activity: dict(t0, t1, amps, ron, roff, mod)
        self.rotvec = []     # IMU perturbations: (t0, t1, fn(t) -> (n, 3) rad, body frame)
        self.linacc = []     # body-frame linear acceleration: (t0, t1, fn(t) -> (n, 3) m/s^2)
        self.motion = []     # motion artefact envelopes: (t0, t1, fn(t) -> (n, 2) uV)
        self.adds = []       # additive EMG waveforms: (channel, t0, samples)
        self.impedance = []  # (channel, t0, t1, factor, ramp_in, ramp_out)
        self.labels = []     # dict(onset_s, offset_s, class, kind, ...)
        self.meta = {}

    # ------------------------------------------------------------------
    # helpers

    def _u(self, val, lo, hi):
        return self.rng.uniform(lo, hi) if val is None else val

    def _level_now(self, key):
        return self.levels[key][-1][1]

    def floor(self):
        """Rest floor per channel at the cursor, uV RMS."""
        tone = self.tone_uv * self._level_now("tone")
        return np.sqrt(self.sigma_n ** 2 + tone ** 2)

    def _gains(self, side):
        """Channel gains for a side: one channel, or both with different gains."""
        if side is None:
            side = str(self.rng.choice(SIDES))
        if side == "left":
            return side, np.array([1.0, 0.0])
        if side == "right":
            return side, np.array([0.0, 1.0])
        g = np.array([1.0, self.rng.uniform(0.3, 1.0)])
        return side, (g if self.rng.random() < 0.5 else g[::-1])

    def _amp(self, amp, lo, hi):
        """Amplitude as a multiple of the rest floor: a number, a range or a word."""
        named = {"weak": (3.0, 5.0), "moderate": (5.0, 15.0), "strong": (15.0, 40.0)}
        if amp is None:
            return m.log_uniform(self.rng, lo, hi)
        if isinstance(amp, str):
            return m.log_uniform(self.rng, *named[amp])
        if isinstance(amp, tuple):
            return m.log_uniform(self.rng, *amp)
        return float(amp)

    def _burst(self, t0, t1, amps, ron, roff, mod=None):
        self.bursts.append(dict(t0=t0, t1=t1, amps=np.asarray(amps, float), ron=ron, roff=roff, mod=mod))

    def _label(self, t0, t1, cls, kind, **info):
        self.labels.append(dict(onset_s=t0, offset_s=t1, cls=cls, kind=kind,
                                posture=self.posture, **info))

    def _move(self, t0, t1, q1):
        self.moves.append((t0, t1, self.q.copy(), q1))
        self.q = q1

    def _set_level(self, key, t0, t1, value):
        keys = self.levels[key]
        keys.append((t0, keys[-1][1]))
        keys.append((t1, value))

    def _muscle_motion_artefact(self, t0, t1, amp_uv, ramp):
        amps = amp_uv * self.rng.uniform(0.5, 1.0, 2)
        self.motion.append((t0, t1, lambda t: np.outer(m.plateau(t, t0, t1, ramp, ramp), amps)))

    # ------------------------------------------------------------------
    # script: rest and confounders

    def rest(self, lo, hi=None):
        """Stay still for lo seconds, or for a random time between lo and hi."""
        self.t += lo if hi is None else self.rng.uniform(lo, hi)

    def impedance_change(self, ch=None, factor=3.0, dur=60.0):
        """One channel's amplifier noise rises by `factor` for dur seconds,
        ramping in and out over 0.2-2 s; nothing else happens meanwhile."""
        ch = int(self.rng.integers(0, 2)) if ch is None else ch
        self.impedance.append((ch, self.t, self.t + dur, factor,
                               self.rng.uniform(0.2, 2.0), self.rng.uniform(0.2, 2.0)))
        self.meta.setdefault("impedance_change", []).append(
            "ch%d x%g %.1f-%.1fs" % (ch, factor, self.t, self.t + dur))
        self.t += dur

    def cable_artefact(self, dur=None, amp_uv=None):
        """Cable or electrode movement with the person still: low-frequency
        (< 10 Hz) artefact of 50-300 uV on the EMG only, no muscle activity."""
        dur = self._u(dur, 1.0, 4.0)
        amp = self._u(amp_uv, 50.0, 300.0)
        t0, t1 = self.t, self.t + dur
        amps = amp * np.array([1.0, self.rng.uniform(0.0, 1.0)])[self.rng.permutation(2)]
        self.motion.append((t0, t1, lambda t: np.outer(m.plateau(t, t0, t1, 0.3, 0.3), amps)))
        self.t = t1

    # ------------------------------------------------------------------
    # script: involuntary events

    def spasm(self, dur, amp=None, side=None, pulse=None, jerk=False, ramp_on=None, ramp_off=None):
        """A sustained involuntary contraction at rest.

        amp: multiple of the rest floor (3-40, log-uniform) or 'weak' (3-5),
        'moderate' (5-15), 'strong' (15-40). side: left, right or both.
        pulse: True or (depth, freq_hz) for an envelope x (1 + m sin 2 pi f t);
        at >= 3 Hz the trunk visibly twitches at that rate (small IMU
        oscillation). jerk: a brief trunk jerk at onset that returns to the
        same posture."""
        rng = self.rng
        t0, t1 = self.t, self.t + dur
        k = self._amp(amp, 3.0, 40.0)
        side, gains = self._gains(side)
        amps = k * gains * self.floor()
        ron, roff = self._u(ramp_on, 0.03, 0.3), self._u(ramp_off, 0.03, 0.3)
        mods = []
        info = dict(amp_x=round(k, 2), side=side, jerk=bool(jerk))
        if pulse:
            depth, freq = (rng.uniform(0.4, 0.9), rng.uniform(1.0, 8.0)) if pulse is True else pulse
            phase = rng.uniform(0, 2 * np.pi)
            mods.append(lambda t, depth=depth, freq=freq, phase=phase: m.pulsing(t, t0, depth, freq, phase))
            info.update(pulse_hz=round(freq, 2), pulse_depth=round(depth, 2))
            if freq >= 3.0:
                self._tremor(t0, t1, ron, roff, freq)
        if dur > 10.0:   # long spasms wax and wane a little
            slow = m.slow_noise(rng, int(dur * 20) + 2, 20.0, 0.2)
            mods.append(lambda t, slow=slow: np.clip(1.0 + 0.15 * np.interp((t - t0) * 20.0,
                                                                           np.arange(len(slow)), slow), 0.5, None))
        mod = None
        if mods:
            mod = lambda t, mods=tuple(mods): np.prod([f(t) for f in mods], axis=0)  # noqa: E731
        self._burst(t0, t1, amps, ron, roff, mod)
        if jerk:
            self._jerk(t0 + rng.uniform(0.0, 0.05), side)
        self._label(t0, t1, "spasm", "spasm", **info)
        self.t = t1

    def _tremor(self, t0, t1, ron, roff, freq):
        """Visible twitching at the pulsing rate: gyro 0.05-0.2 rad/s, acc 0.1-0.3 m/s^2."""
        rng = self.rng
        w = rng.uniform(0.05, 0.2)
        ang = w / (2 * np.pi * freq)
        axis = rng.normal(size=3) * np.array([1.0, 0.3, 0.6])
        axis /= np.linalg.norm(axis)
        # largest component (forward-backward) 0.1-0.3 m/s^2
        acc = rng.uniform(0.1, 0.3) * np.array([rng.uniform(0.2, 0.6), rng.uniform(0.2, 0.6), 1.0])
        ph = rng.uniform(0, 2 * np.pi)

        def env(t):
            return m.plateau(t, t0, t1, ron, roff)

        self.rotvec.append((t0, t1, lambda t: np.outer(env(t) * ang * np.sin(2 * np.pi * freq * (t - t0) + ph), axis)))
        self.linacc.append((t0, t1, lambda t: np.outer(env(t) * np.sin(2 * np.pi * freq * (t - t0) + ph + 1.3), acc)))

    def _jerk(self, tj, side):
        """A 150-300 ms trunk jerk: out and back (same posture after), gyro peak
        0.5-2 rad/s, acceleration transient 1-3 m/s^2."""
        rng = self.rng
        T = rng.uniform(0.15, 0.3)
        rate = rng.uniform(0.5, 2.0)
        ang = rate / m.bump_peak_rate(T)
        # back extensors pull the trunk backward (negative flexion); one-sided ones also bend it sideways
        lateral = {"left": -1.0, "right": 1.0}.get(side, rng.uniform(-0.3, 0.3))
        axis = np.array([-1.0, rng.uniform(-0.2, 0.2), 0.6 * lateral])
        axis /= np.linalg.norm(axis)
        acc_pk = rng.uniform(1.0, 3.0)
        acc_dir = np.array([0.4 * lateral, rng.uniform(-0.5, 0.5), -1.0])
        acc_dir /= np.abs(acc_dir).max()
        self.rotvec.append((tj, tj + T, lambda t: np.outer(ang * m.bump((t - tj) / T), axis)))
        self.linacc.append((tj, tj + T, lambda t: np.outer(acc_pk * m.biphasic((t - tj) / T), acc_dir)))

    def twitch(self, dur=None, amp=None, side=None, blip=None):
        """A brief involuntary burst (120-900 ms), 4-30 x the rest floor; the
        IMU stays still but for an occasional tiny blip."""
        rng = self.rng
        dur = self._u(dur, 0.12, 0.9)
        t0, t1 = self.t, self.t + dur
        k = self._amp(amp, 4.0, 30.0)
        side, gains = self._gains(side)
        ron = min(rng.uniform(0.01, 0.04), 0.3 * dur)
        roff = min(rng.uniform(0.02, 0.08), 0.4 * dur)
        self._burst(t0, t1, k * gains * self.floor(), ron, roff)
        if blip if blip is not None else rng.random() < 0.3:
            T = rng.uniform(0.1, 0.25)
            ang = rng.uniform(0.01, 0.05) / m.bump_peak_rate(T)
            axis = rng.normal(size=3)
            axis /= np.linalg.norm(axis)
            tb = t0 + rng.uniform(0.0, 0.05)
            self.rotvec.append((tb, tb + T, lambda t: np.outer(ang * m.bump((t - tb) / T), axis)))
        self._label(t0, t1, "twitch", "twitch", amp_x=round(k, 2), side=side)
        self.t = t1

    # ------------------------------------------------------------------
    # script: voluntary movements

    def walk(self, dur=None, step_hz=None, amp=None, turn=None):
        """Walking (standing only): 10-60 s at 1.6-2.2 steps/s. Vertical (y)
        acceleration at the step rate, lateral (x) at half of it, gyro
        0.3-0.8 rad/s; EMG bursts of 150-350 ms alternating left/right at each
        step, 4-15 x the rest floor; motion artefact on the EMG."""
        assert self.posture == "standing", "walk from standing"
        rng = self.rng
        dur = self._u(dur, 10.0, 60.0)
        fs_ = self._u(step_hz, 1.6, 2.2)
        k = self._amp(amp, 4.0, 15.0)
        t0, t1 = self.t, self.t + dur
        floor = self.floor()
        # EMG: one burst per step, alternating sides
        first = int(rng.integers(0, 2))
        width = rng.uniform(0.15, 0.35)
        n_steps = max(2, int(dur * fs_))
        last_end = t0
        for i in range(n_steps):
            tb = t0 + i / fs_ + (rng.uniform(-0.02, 0.02) if i else 0.0)
            w = width * rng.uniform(0.85, 1.15)
            if tb + w > t1 and i:
                break
            ch = (first + i) % 2
            amps = np.zeros(2)
            amps[ch] = k * rng.uniform(0.8, 1.2) * floor[ch]
            amps[1 - ch] = 0.15 * amps[ch]            # a little co-contraction
            self._burst(tb, tb + w, amps, 0.04, 0.06)
            last_end = max(last_end, tb + w)
        # IMU: gait oscillations under a ramp of about one step
        m0, m1 = t0 + 0.05, max(t1, last_end)
        ramp = 1.0 / fs_
        f_str = fs_ / 2.0
        yaw = rng.uniform(0.3, 0.8) / (2 * np.pi * f_str)
        roll = rng.uniform(0.2, 0.5) / (2 * np.pi * f_str)
        pitch = rng.uniform(0.1, 0.3) / (2 * np.pi * fs_)
        ay, ax, az = rng.uniform(1.0, 3.0), rng.uniform(0.5, 1.5), rng.uniform(0.5, 1.2)
        ph = rng.uniform(0, 2 * np.pi)

        def env(t):
            return m.plateau(t, m0, m1, ramp, ramp)

        def rot(t):
            s = 2 * np.pi * f_str * (t - m0) + ph
            e = env(t)
            return np.stack((e * pitch * np.sin(2 * s + 0.5), e * yaw * np.sin(s), e * roll * np.sin(s + 0.3)), axis=1)

        def acc(t):
            s = 2 * np.pi * f_str * (t - m0) + ph
            e = env(t)
            return np.stack((e * ax * np.sin(s + 1.0),
                             e * ay * (np.sin(2 * s) + 0.25 * np.sin(4 * s + 0.7)),
                             e * az * np.sin(2 * s + 1.9)), axis=1)

        self.rotvec.append((m0, m1, rot))
        self.linacc.append((m0, m1, acc))
        info = dict(step_hz=round(fs_, 2), amp_x=round(k, 2))
        if turn if turn is not None else (dur >= 20 and rng.random() < 0.5):
            tt = t0 + dur * rng.uniform(0.35, 0.65)
            td = rng.uniform(1.5, 2.5)
            self.heading += np.pi
            self._move(tt, tt + td, m.quat_mul(m.quat_axis("y", np.pi), self.q))
            info["turn"] = True
        # step-locked and cable motion artefact
        amp_ma = rng.uniform(50.0, 300.0)
        self._muscle_motion_artefact(m0, m1, amp_ma, ramp)
        for i in range(n_steps):
            ts = m0 + i / fs_
            if ts > m1 - 0.2:
                break
            sig = rng.uniform(0.03, 0.06)
            n = int(6 * sig * self.fs)
            g = np.exp(-0.5 * ((np.arange(n) / self.fs - 3 * sig) / sig) ** 2)
            for ch in range(2):
                self.adds.append((ch, ts, rng.uniform(-0.5, 0.5) * amp_ma * g))
        self._label(t0, m1, "voluntary", "walk", **info)
        self.t = m1

    def bend(self, angle_deg=None, t_down=None, hold=None, t_up=None, amp=None):
        """Forward bending from standing (or sitting) to 40-80 deg of trunk
        flexion over 0.8-2 s, hold 0-3 s, return over 0.8-2 s; both back
        muscles active through the movement and the hold (3-15 x floor)."""
        assert self.posture in UPRIGHT, "bend from standing or sitting"
        rng = self.rng
        target = math.radians(self._u(angle_deg, 40.0, 80.0))
        td, th, tu = self._u(t_down, 0.8, 2.0), self._u(hold, 0.0, 3.0), self._u(t_up, 0.8, 2.0)
        k = self._amp(amp, 3.0, 15.0)
        t0 = self.t
        mv0 = t0 + rng.uniform(0.0, 0.1)            # EMG leads the movement
        mv1 = mv0 + td + th + tu
        ang = target - _pitch_of(self.q)
        roll = math.radians(rng.uniform(-5, 5))

        def prof(t):
            return np.where(t < mv0 + td, m.smoothstep((t - mv0) / td),
                            np.where(t < mv0 + td + th, 1.0, 1.0 - m.smoothstep((t - mv0 - td - th) / tu)))

        self.rotvec.append((mv0, mv1, lambda t: np.outer(prof(t), (ang, 0.0, roll))))
        acc = rng.uniform(0.3, 0.8)
        self.linacc.append((mv0, mv0 + td, lambda t: np.outer(acc * m.biphasic((t - mv0) / td), (0, 0.3, -1))))
        self.linacc.append((mv1 - tu, mv1, lambda t: np.outer(acc * m.biphasic((t - mv1 + tu) / tu), (0, 0.3, 1))))
        t1 = mv1 + rng.uniform(0.0, 0.2)
        side, gains = self._gains("both")
        lv = (rng.uniform(0.6, 0.9), rng.uniform(0.5, 0.9), 1.0)   # down, hold, up

        def mod(t):
            return np.where(t < mv0 + td, lv[0], np.where(t < mv0 + td + th, lv[1], lv[2]))

        self._burst(t0, t1, k * gains * self.floor(), 0.15, 0.2, mod)
        self._muscle_motion_artefact(mv0, mv1, rng.uniform(50.0, 300.0), 0.3)
        self._label(t0, t1, "voluntary", "bend", angle_deg=round(math.degrees(target), 1), amp_x=round(k, 2))
        self.t = t1

    def lean_hold(self, angle_deg=None, hold=None, amp=None):
        """Leaning forward 15-35 deg over ~1 s to hold a load for 4-20 s with
        sustained EMG (3-12 x floor), then back; labelled lean start to return end."""
        assert self.posture == "standing", "lean from standing"
        rng = self.rng
        target = math.radians(self._u(angle_deg, 15.0, 35.0))
        tl, tr = rng.uniform(0.7, 1.5), rng.uniform(0.7, 1.5)
        th = self._u(hold, 4.0, 20.0)
        k = self._amp(amp, 3.0, 12.0)
        t0 = self.t
        mv0 = t0 + rng.uniform(0.0, 0.1)
        mv1 = mv0 + tl + th + tr
        ang = target - _pitch_of(self.q)

        def prof(t):
            return np.where(t < mv0 + tl, m.smoothstep((t - mv0) / tl),
                            np.where(t < mv0 + tl + th, 1.0, 1.0 - m.smoothstep((t - mv0 - tl - th) / tr)))

        sway = m.slow_noise(rng, int((mv1 - mv0) * 50) + 2, 50.0, 0.5)
        sway_amp = math.radians(rng.uniform(0.3, 1.0))

        def rot(t):
            s = np.interp((t - mv0) * 50.0, np.arange(len(sway)), sway)
            return np.stack((prof(t) * (ang + sway_amp * s), 0 * t, prof(t) * 0.3 * sway_amp * s), axis=1)

        self.rotvec.append((mv0, mv1, rot))
        t1 = mv1 + rng.uniform(0.0, 0.2)
        side, gains = self._gains("both")
        wob = m.slow_noise(rng, int((t1 - t0) * 20) + 2, 20.0, 0.3)
        self._burst(t0, t1, k * gains * self.floor(), 0.3, 0.3,
                    lambda t: np.clip(1.0 + 0.1 * np.interp((t - t0) * 20.0, np.arange(len(wob)), wob), 0.5, None))
        self._label(t0, t1, "voluntary", "lean_hold", angle_deg=round(math.degrees(target), 1),
                    hold_s=round(th, 2), amp_x=round(k, 2))
        self.t = t1

    # posture transitions -------------------------------------------------

    _TRANSITIONS = {
        # (from, to): (duration range s, EMG burst start as a fraction of the move, burst length range s)
        ("supine", "sitting"): ((1.5, 3.0), 0.0, (0.4, 1.2)),
        ("sitting", "supine"): ((1.5, 3.0), 0.05, (0.5, 1.5)),
        ("sitting", "standing"): ((1.5, 3.0), 0.3, (0.6, 1.5)),
        ("standing", "sitting"): ((1.5, 3.0), 0.2, (0.6, 1.5)),
        ("supine", "side_left"): ((1.0, 2.5), 0.0, (0.3, 1.0)),
        ("supine", "side_right"): ((1.0, 2.5), 0.0, (0.3, 1.0)),
        ("side_left", "supine"): ((1.0, 2.5), 0.0, (0.3, 1.0)),
        ("side_right", "supine"): ((1.0, 2.5), 0.0, (0.3, 1.0)),
        ("side_left", "sitting"): ((2.0, 3.5), 0.0, (0.5, 1.2)),
        ("side_right", "sitting"): ((2.0, 3.5), 0.0, (0.5, 1.2)),
        ("sitting", "side_left"): ((2.0, 3.5), 0.1, (0.5, 1.2)),
        ("sitting", "side_right"): ((2.0, 3.5), 0.1, (0.5, 1.2)),
    }

    def transition(self, to, amp=None):
        """Voluntary posture change(s): `to` is a posture or a list done in
        one go (e.g. ["sitting", "standing"] to get up from lying). Each leg
        rotates the trunk, with a short EMG burst (4-15 x floor), linear
        acceleration and motion artefact; one label spans the whole."""
        rng = self.rng
        legs = [to] if isinstance(to, str) else list(to)
        t_start = self.t
        end = self.t
        kinds = [self.posture]
        for dest in legs:
            src = self.posture
            (dlo, dhi), b_at, (blo, bhi) = self._TRANSITIONS[(src, dest)]
            T = rng.uniform(dlo, dhi)
            ta, tb = self.t, self.t + T
            q1 = m.quat_mul(m.quat_axis("y", self.heading), _posture_quat(rng, dest))
            self._move(ta, tb, q1)
            if {src, dest} == {"sitting", "standing"}:
                # the trunk leans forward to move the weight over the feet, then straightens
                lean = math.radians(rng.uniform(20, 40))
                c0, c1 = (ta, ta + 0.75 * T) if dest == "standing" else (ta + 0.15 * T, tb)
                self.rotvec.append((c0, c1, lambda t, c0=c0, c1=c1, lean=lean:
                                    np.outer(lean * m.bump((t - c0) / (c1 - c0)), (1.0, 0.0, 0.0))))
                up = rng.uniform(1.5, 3.0) * (1 if dest == "standing" else -1)
                r0, r1 = ta + 0.3 * T, tb
                self.linacc.append((r0, r1, lambda t, r0=r0, r1=r1, up=up:
                                    np.outer(up * m.biphasic((t - r0) / (r1 - r0)), (0.0, 1.0, 0.3))))
            else:
                a = rng.uniform(1.0, 2.0)
                d = rng.normal(size=3)
                d /= np.abs(d).max()
                self.linacc.append((ta, tb, lambda t, ta=ta, tb=tb, a=a, d=d:
                                    np.outer(a * m.biphasic((t - ta) / (tb - ta)), d)))
            k = self._amp(amp, 4.0, 15.0)
            floor = self.floor()
            if "side" in src or "side" in dest:
                side, gains = self._gains(str(rng.choice(("left", "right"))))
                gains = np.maximum(gains, 0.3)
            else:
                side, gains = self._gains("both")
            e0 = ta + b_at * T - rng.uniform(0.0, 0.1)
            e0 = max(e0, ta - 0.1)
            e1 = min(e0 + rng.uniform(blo, bhi), tb + 0.3)
            self._burst(e0, e1, k * gains * floor, 0.08, 0.15)
            self._muscle_motion_artefact(ta, tb, rng.uniform(50.0, 300.0), 0.3)
            self._set_level("tone", ta, tb, 1.0 if dest in UPRIGHT else 0.0)
            self._set_level("standing", ta, tb, 1.0 if dest == "standing" else 0.0)
            t_start = min(t_start, e0)
            end = max(tb, e1)
            self.posture = dest
            kinds.append(dest)
            self.t = tb
        self.labels.append(dict(onset_s=t_start, offset_s=end, cls="voluntary",
                                kind="transition", posture="->".join(kinds)))
        self.t = end

    # ------------------------------------------------------------------
    # rendering

    def _schedule_pops(self, dur):
        """Electrode pops on one channel at random times, at least 1.5 s away from any event."""
        rng = self.rng
        if self.n_pops is None:
            self.n_pops = int(round(rng.integers(3, 8) * max(1.0, dur / 240.0)))
        spans = [(e["onset_s"] - 1.5, e["offset_s"] + 1.5) for e in self.labels]
        spans += [(c0, c1) for (_, c0, c1, _, _, _) in self.impedance]
        times = []
        for _ in range(self.n_pops * 50):
            if len(times) >= self.n_pops:
                break
            tp = rng.uniform(5.0, max(5.0, dur - 2.0))
            if all(not (a <= tp <= b) for a, b in spans) and all(abs(tp - x) > 2.0 for x in times):
                times.append(tp)
        for tp in sorted(times):
            ch = int(rng.integers(0, 2))
            step = rng.choice((-1, 1)) * m.log_uniform(rng, 300.0, 3000.0)
            tau = m.log_uniform(rng, 0.03, 0.3)
            spike = rng.random() < 0.5
            w = m.electrode_pop(self.fs, step, tau,
                                rng.choice((-1, 1)) * rng.uniform(500.0, 2000.0) if spike else 0.0,
                                int(rng.integers(1, 4)) if spike else 0)
            self.adds.append((ch, tp, w))
        self.meta["pops"] = len(times)

    def _levels(self, key, t):
        keys = self.levels[key]
        return np.interp(t, [k[0] for k in keys], [k[1] for k in keys])

    def _slice(self, t0, t1, n):
        i0 = max(0, int(math.floor(t0 * self.fs)))
        i1 = min(n, int(math.ceil(t1 * self.fs)) + 1)
        return i0, max(i0, i1)

    def render(self):
        """Samples of the whole scene. Returns a dict: t (n), emg (n, 2) uV,
        imu (n, 6) or None, labels, meta."""
        try:
            validate_labels(self.labels)
        except ValueError as e:
            raise ValueError("scene %s: %s" % (self.name, e)) from None
        rng = self.rng
        fs = self.fs
        dur = self.t
        n = int(round(dur * fs))
        t = np.arange(n) / fs
        self._schedule_pops(dur)

        # --- EMG -----------------------------------------------------------
        power = np.zeros((n, 2))
        tone = self._levels("tone", t)
        power += np.outer(tone, self.tone_uv) ** 2
        for b in self.bursts:
            i0, i1 = self._slice(b["t0"], b["t1"], n)
            ts = t[i0:i1]
            shape = m.plateau(ts, b["t0"], b["t1"], b["ron"], b["roff"])
            if b["mod"] is not None:
                shape = shape * b["mod"](ts)
            power[i0:i1] += np.outer(shape, b["amps"]) ** 2
        emg = np.zeros((n, 2))
        for c in range(2):
            emg[:, c] = m.shaped_noise(rng, n, fs, m.emg_psd_shwedyk(self.emg_fl[c], self.emg_fh[c]))
        emg *= np.sqrt(power)
        # amplifier noise, with impedance changes
        sigma = np.tile(self.sigma_n, (n, 1))
        for ch, c0, c1, factor, rin, rout in self.impedance:
            i0, i1 = self._slice(c0, c1, n)
            sigma[i0:i1, ch] *= 1.0 + (factor - 1.0) * m.plateau(t[i0:i1], c0, c1, rin, rout)
        emg += rng.standard_normal((n, 2)) * sigma
        # ECG
        ecg_peaks = rng.uniform(40.0, 160.0, 2) * np.where(rng.random(2) < 0.3, -1.0, 1.0)
        hr = rng.uniform(50.0, 110.0)
        sigma_r = rng.uniform(0.006, 0.010)   # R wave sigma; see README (ECG)
        emg += m.ecg(rng, n, fs, ecg_peaks, hr, sigma_r)
        # mains
        mains_amp = rng.uniform(5.0, 60.0, 2)
        emg += m.mains(rng, n, fs, self.mains_hz, mains_amp)
        # baseline wander
        wander = rng.uniform(50.0, 500.0, 2)
        for c in range(2):
            emg[:, c] += m.baseline_wander(rng, n, fs, wander[c], drifts=int(rng.integers(1, 3)))
        # motion artefact
        if self.motion:
            menv = np.zeros((n, 2))
            for c0, c1, fn in self.motion:
                i0, i1 = self._slice(c0, c1, n)
                menv[i0:i1] += fn(t[i0:i1])
            for c in range(2):
                emg[:, c] += m.motion_artefact(rng, n, fs) * menv[:, c]
        # pops, step-locked artefacts
        for ch, ta, w in self.adds:
            i = int(round(ta * fs))
            j = min(n, i + len(w))
            if j > i:
                emg[i:j, ch] += w[:j - i]

        # --- IMU -----------------------------------------------------------
        imu = None
        if self.imu:
            q = np.tile(self.moves[0][2] if self.moves else self.q, (n, 1))
            for (c0, c1, q0, q1) in self.moves:
                i0 = int(math.floor(c0 * fs))
                i1 = min(n, int(math.ceil(c1 * fs)))
                q[i0:i1] = m.quat_slerp(q0, q1, m.smoothstep((t[i0:i1] - c0) / (c1 - c0)))
                q[i1:] = q1
            rv = np.zeros((n, 3))
            # breathing and standing sway
            br_f = rng.uniform(0.2, 0.35)
            rv[:, 0] += math.radians(rng.uniform(0.1, 0.4)) * np.sin(2 * np.pi * br_f * t + rng.uniform(0, 6.3))
            stand = self._levels("standing", t)
            sway = math.radians(rng.uniform(0.3, 0.8))
            rv[:, 0] += sway * stand * m.slow_noise(rng, n, fs, 0.4)
            rv[:, 2] += 0.6 * sway * stand * m.slow_noise(rng, n, fs, 0.4)
            for c0, c1, fn in self.rotvec:
                i0, i1 = self._slice(c0, c1, n)
                rv[i0:i1] += fn(t[i0:i1])
            q = m.quat_mul(q, m.quat_from_rotvec(rv))
            acc = m.G * m.world_up_in_body(q)
            for c0, c1, fn in self.linacc:
                i0, i1 = self._slice(c0, c1, n)
                acc[i0:i1] += fn(t[i0:i1])
            gyr = m.body_rate(q, fs)
            acc += rng.uniform(-0.05, 0.05, 3) + rng.standard_normal((n, 3)) * rng.uniform(0.015, 0.04)
            gyr += rng.uniform(-0.01, 0.01, 3) + rng.standard_normal((n, 3)) * rng.uniform(0.002, 0.006)
            imu = np.concatenate((acc, gyr), axis=1)

        meta = {
            "scene": self.name,
            "seed": ":".join(str(s) for s in self.seed) if isinstance(self.seed, (list, tuple)) else str(self.seed),
            "generator": "spasmd tests/sim",
            "duration_s": "%.3f" % (n / fs),
            "imu": "yes" if self.imu else "no",
            "imu_frame": "x right y up(cranial) z forward(anterior); acc specific force",
            "sigma_n_uv": "%.2f/%.2f" % tuple(self.sigma_n),
            "tone_uv": "%.2f/%.2f" % tuple(self.tone_uv),
            "ecg_peak_uv": "%.0f/%.0f" % tuple(ecg_peaks),
            "heart_bpm": "%.0f" % hr,
            "mains_hz": str(self.mains_hz),
            "mains_uv": "%.1f/%.1f" % tuple(mains_amp),
            "wander_uv": "%.0f/%.0f" % tuple(wander),
        }
        for k, v in self.meta.items():
            meta[k] = "; ".join(v) if isinstance(v, list) else str(v)
        if self.note:
            meta["note"] = self.note
        return dict(name=self.name, fs=fs, t=t, emg=emg, imu=imu,
                    labels=sorted(self.labels, key=lambda e: e["onset_s"]), meta=meta)


def validate_labels(labels):
    """Events must not overlap and must leave rest between them."""
    ev = sorted(labels, key=lambda e: e["onset_s"])
    for a, b in zip(ev, ev[1:]):
        gap = b["onset_s"] - a["offset_s"]
        need = MIN_GAP_TWITCH_S if a["cls"] == b["cls"] == "twitch" else MIN_GAP_S
        if gap < need - 1e-9:
            raise ValueError("events too close: %s %.2f-%.2f and %s %.2f-%.2f (gap %.2f s < %.1f s)"
                             % (a["kind"], a["onset_s"], a["offset_s"], b["kind"], b["onset_s"],
                                b["offset_s"], gap, need))


# --------------------------------------------------------------------------
# Writing


def write_recording(path, rec, emg_decimals=3, imu_decimals=4, truth=True, chunk=100000):
    """Write a recording in spasmd-recording v1, its NAME.labels.csv beside it
    and, with truth, NAME.truth.jsonl (the labels with their details)."""
    fs = rec["fs"]
    t_dec = 4 if fs <= 2000 else 5
    cols = ["t_s", "emg_left", "emg_right"]
    fmt = ["%%.%df" % t_dec, "%%.%df" % emg_decimals, "%%.%df" % emg_decimals]
    data = [rec["t"][:, None], rec["emg"]]
    if rec["imu"] is not None:
        cols += ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
        fmt += ["%%.%df" % imu_decimals] * 6
        data.append(rec["imu"])
    arr = np.concatenate(data, axis=1)
    line = ",".join(fmt)
    with open(path, "w") as f:
        f.write("# spasmd-recording v1\n# rate_hz=%g\n" % fs)
        for k, v in rec["meta"].items():
            f.write("# %s=%s\n" % (k, v))
        f.write(",".join(cols) + "\n")
        for i in range(0, len(arr), chunk):
            f.write("\n".join(map(line.__mod__, map(tuple, arr[i:i + chunk].tolist()))))
            f.write("\n")
    write_labels(labels_path(path), rec["labels"])
    if truth:
        write_truth(labels_path(path, ".truth.jsonl"), rec["labels"])


def labels_path(path, suffix=".labels.csv"):
    p = str(path)
    return (p[:-4] if p.endswith(".csv") else p) + suffix


def write_truth(path, labels):
    """NAME.truth.jsonl: every label with what the scene knows about it (kind,
    posture, amplitude as a multiple of the rest floor, side, pulsing, ...)."""
    with open(path, "w") as f:
        for e in labels:
            d = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in e.items()}
            d["class"] = d.pop("cls")
            f.write(json.dumps(d, sort_keys=True) + "\n")


def write_labels(path, labels):
    with open(path, "w") as f:
        f.write("onset_s,offset_s,class\n")
        for e in labels:
            f.write("%.3f,%.3f,%s\n" % (e["onset_s"], e["offset_s"], e["cls"]))
