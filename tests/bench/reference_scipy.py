#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""NumPy/SciPy reference of the detector's filter chain, for speed only.

It runs the same chain as daemon/detect (frontend.c, imu.c and the per-tick
envelopes of detector.c) on the stream that ``bench-detector --dump FILE``
wrote, written the way a competent SciPy user would write it: whole-array
operations, ``scipy.signal.sosfilt`` / ``lfilter`` over every channel at once,
per-tick means by reshape. It is a yardstick for the C detector's throughput,
NOT a bit-exact port and not a second detector:

* it works in float32, as the C code does, but SciPy's notch design
  (``iirnotch``) differs slightly from the C code's RBJ notch, and the
  results are not compared with the detector's;
* the mains notches are on from the first sample (the C code switches them on
  once its Goertzel mains finder has decided, which this does not do);
* the noise floors follow the envelopes unconditionally (the C code follows
  them only at rest), and there is no activation state machine.

The work it leaves out (mains finder, state machine) is cheap in C; leaving
it out makes the SciPy figure, if anything, flattering to SciPy.

Input: raw little-endian float32, frame major, N_EMG + 6 values per frame
(EMG in microvolts first, then acc xyz in m/s^2, gyr xyz in rad/s).

Prints key=value lines, among them ``scipy_channel_samples_per_s`` counted as
frames * (N_EMG + 6), as bench-detector counts them.
"""

import argparse
import platform
import statistics
import sys
import time

import numpy as np
import scipy
from scipy import signal

# Constants of the C chain (daemon/detect/*.c). The detector is still being
# tuned; these only matter here in so far as they change the amount of work.
TICK_TARGET_S = 0.010      # detector-internal.h
HIGHPASS_HZ = 35.0         # detector.c
MAINS_HZ = 50.0            # the bench stream has 50 Hz mains
NOTCH_MAX_HZ = 400.0       # frontend.c
MAX_NOTCHES = 6            # FRONTEND_NOTCHES, frontend.h: at most 6 harmonics
EMG_TOP_HZ = 300.0         # frontend.c
SPLIT_MIN_RATE_HZ = 450.0  # frontend.c
ENV_TAU_S = 0.030          # detector.c
FAST_TAU_S = 0.020
SLOW_TAU_S = 0.400
FLOOR_TAU_S = 4.0
GRAVITY_TAU_S = 0.25       # imu.c
GYR_TAU_S = 0.16
DYN_TAU_S = 0.25
TREMOR_TAU_S = 0.3
ON_RATIO = 4.0             # detector_config_defaults()
N_IMU = 6

DTYPE = np.float32


def onepole_alpha(step_s, tau_s):
    return 1.0 - np.exp(-step_s / tau_s)


def onepole(x, alpha, y0=None):
    """y[n] = y[n-1] + alpha * (x[n] - y[n-1]) along axis 0, from y[-1] = y0 (or 0)."""
    b = np.array([alpha], dtype=DTYPE)
    a = np.array([1.0, alpha - 1.0], dtype=DTYPE)
    if y0 is None:
        return signal.lfilter(b, a, x, axis=0)
    zi = ((1.0 - alpha) * np.asarray(y0, dtype=DTYPE))[np.newaxis, ...]
    y, _ = signal.lfilter(b, a, x, axis=0, zi=zi)
    return y


class Chain:
    """Filter designs, done once (the C detector does them in detector_new())."""

    def __init__(self, rate_hz, n_emg):
        self.rate_hz = rate_hz
        self.n_emg = n_emg
        self.tick_len = max(1, int(round(rate_hz * TICK_TARGET_S)))
        self.tick_s = self.tick_len / rate_hz

        hp = signal.butter(4, HIGHPASS_HZ, btype="highpass", fs=rate_hz, output="sos")
        notches = []
        for k in range(1, MAX_NOTCHES + 1):
            hz = MAINS_HZ * k
            if hz > 0.45 * rate_hz or hz > NOTCH_MAX_HZ:
                break
            b, a = signal.iirnotch(hz, hz / (2.0 + 0.5 * k), fs=rate_hz)
            notches.append(np.concatenate([b, a]))
        # High-pass and notches as one cascade: one sosfilt pass.
        self.sos_front = np.vstack([hp] + notches).astype(DTYPE)
        self.n_notches = len(notches)
        self.split = rate_hz >= SPLIT_MIN_RATE_HZ
        top = min(EMG_TOP_HZ, 0.35 * rate_hz)
        self.sos_lp = signal.butter(4, top, btype="lowpass", fs=rate_hz, output="sos").astype(DTYPE)

        tick_rate = 1.0 / self.tick_s
        self.a_env = onepole_alpha(self.tick_s, ENV_TAU_S)
        self.a_fast = onepole_alpha(self.tick_s, FAST_TAU_S)
        self.a_slow = onepole_alpha(self.tick_s, SLOW_TAU_S)
        self.a_floor = onepole_alpha(self.tick_s, FLOOR_TAU_S)
        self.a_gravity = onepole_alpha(self.tick_s, GRAVITY_TAU_S)
        self.a_gyr = onepole_alpha(self.tick_s, GYR_TAU_S)
        self.a_dyn = onepole_alpha(self.tick_s, DYN_TAU_S)
        self.a_tremor = onepole_alpha(self.tick_s, TREMOR_TAU_S)
        self.sos_tremor = np.vstack([
            signal.butter(2, 4.0, btype="highpass", fs=tick_rate, output="sos"),
            signal.butter(2, min(12.0, 0.4 * tick_rate), btype="lowpass", fs=tick_rate, output="sos"),
        ]).astype(DTYPE)

    def tick_means(self, x, axis):
        """Means over whole ticks along axis (0 or -1); a trailing partial tick is dropped."""
        if axis == 0:
            n_ticks = x.shape[0] // self.tick_len
            return x[: n_ticks * self.tick_len].reshape(n_ticks, self.tick_len, *x.shape[1:]).mean(axis=1)
        n_ticks = x.shape[-1] // self.tick_len
        return x[..., : n_ticks * self.tick_len].reshape(*x.shape[:-1], n_ticks, self.tick_len).mean(axis=-1)

    def emg(self, emg):
        """emg: (frames, n_emg) float32. Returns the per-tick envelopes and floors.

        The samples are filtered channel-major (one contiguous row per
        channel, axis=-1): sosfilt would otherwise copy to and from that
        layout on every call.
        """
        v = np.ascontiguousarray(emg.T)
        v -= v[:, :1].copy()
        v = signal.sosfilt(self.sos_front, v, axis=-1)
        if self.split:
            band = signal.sosfilt(self.sos_lp, v, axis=-1)
            v -= band  # now the high band
            power_high = self.tick_means(np.square(v, out=v), -1)
        else:
            band = v
            power_high = np.zeros((v.shape[0], v.shape[-1] // self.tick_len), dtype=DTYPE)
        # TKEO x[n-1]^2 - x[n] x[n-2], from zero history as in frontend.c.
        teager = np.empty_like(band)
        teager[:, 0] = 0.0
        teager[:, 1] = band[:, 0] * band[:, 0]
        teager[:, 2:] = band[:, 1:-1] * band[:, 1:-1] - band[:, 2:] * band[:, :-2]
        teager_t = self.tick_means(teager, -1)
        n_ticks = teager_t.shape[-1]
        peak = np.abs(band[:, : n_ticks * self.tick_len]).reshape(-1, n_ticks, self.tick_len).max(axis=-1)
        power = self.tick_means(np.square(band, out=band), -1)

        # Per-tick envelopes (ticks along axis 0 from here on): in-band, high
        # band and TKEO (30 ms), fast and slow in-band (20, 400 ms).
        stacked = np.concatenate([power, power_high, teager_t], axis=0).T
        env = onepole(stacked, self.a_env)
        env_fast = onepole(power.T, self.a_fast)
        env_slow = onepole(power.T, self.a_slow)
        # Noise floors: 4 s one-poles on the three envelopes.
        floor = np.maximum(onepole(env, self.a_floor), 1e-6)
        n = self.n_emg
        ratio = env[:, :n] / floor[:, :n]
        active = ratio >= ON_RATIO
        return env, env_fast, env_slow, floor, peak.T, active

    def imu(self, imu):
        """imu: (frames, 6) float32, acc xyz then gyr xyz."""
        m = self.tick_means(imu, 0)
        acc, gyr = m[:, :3], m[:, 3:]
        gravity = onepole(acc, self.a_gravity, y0=acc[0])
        d = acc - gravity
        dyn = onepole((d * d).sum(axis=1), self.a_dyn)
        lp1 = onepole(gyr, self.a_gyr)
        lp2 = onepole(lp1, self.a_gyr)
        turn = np.sqrt((lp2 * lp2).sum(axis=1))
        tremor = signal.sosfilt(self.sos_tremor, gyr, axis=0)
        tremor_power = onepole((tremor * tremor).sum(axis=1), self.a_tremor)
        crossings = np.count_nonzero(np.diff(tremor[:, 0] > 0))
        return gravity, np.sqrt(dyn), turn, np.sqrt(tremor_power), crossings

    def run(self, frames):
        emg = frames[:, : self.n_emg]
        imu = frames[:, self.n_emg:]
        return self.emg(emg), self.imu(imu)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dump", help="file written by bench-detector --dump")
    ap.add_argument("--rate", type=float, default=2000.0, help="sample rate, Hz (default 2000)")
    ap.add_argument("--n-emg", type=int, default=8, help="EMG channels per frame (default 8)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs, best is reported (default 3)")
    args = ap.parse_args(argv)
    if args.repeat < 1 or args.n_emg < 1 or args.rate <= 0:
        ap.error("--repeat, --n-emg and --rate must be positive")

    channels = args.n_emg + N_IMU
    raw = np.fromfile(args.dump, dtype="<f4")
    if raw.size == 0 or raw.size % channels:
        print(f"reference_scipy: {args.dump}: {raw.size} values is not a whole number of "
              f"{channels}-value frames", file=sys.stderr)
        return 1
    frames = np.ascontiguousarray(raw.reshape(-1, channels), dtype=DTYPE)
    n_frames = frames.shape[0]
    chain = Chain(args.rate, args.n_emg)
    if n_frames < 3 * chain.tick_len:
        print("reference_scipy: stream too short", file=sys.stderr)
        return 1

    times = []
    result = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = chain.run(frames)
        times.append(time.perf_counter() - t0)
    best = min(times)
    median = statistics.median(times)
    (env, _, _, floor, _, active), (_, _, _, _, crossings) = result

    cs = n_frames * channels
    print(f"scipy_python={platform.python_version()}")
    print(f"scipy_numpy={np.__version__}")
    print(f"scipy_scipy={scipy.__version__}")
    print(f"scipy_dtype={np.dtype(DTYPE).name}")
    print(f"scipy_frames={n_frames}")
    print(f"scipy_channels={channels}")
    print(f"scipy_notches={chain.n_notches}")
    print(f"scipy_repeat={args.repeat}")
    print(f"scipy_best_s={best:.6f}")
    print(f"scipy_median_s={median:.6f}")
    print(f"scipy_channel_samples_per_s={cs / best:.4e}")
    print(f"scipy_channel_samples_per_s_median={cs / median:.4e}")
    print(f"scipy_frames_per_s={n_frames / best:.4e}")
    print(f"scipy_active_ticks={int(np.count_nonzero(active.any(axis=1)))}")
    print(f"scipy_tremor_crossings={crossings}")
    print(f"scipy: {n_frames} frames x {channels} channels in {1e3 * best:.2f} ms best of {args.repeat} "
          f"(median {1e3 * median:.2f} ms): {cs / best:.3g} channel-samples/s, "
          f"{n_frames / best:.3g} frames/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
