# SPDX-License-Identifier: LGPL-2.1-or-later
"""Signal models for the spasmd scene simulator.

Every function here is pure given its numpy Generator: the same seed gives the
same samples. EMG is in microvolts, acceleration in m/s^2, angular rate in
rad/s, time in seconds. Nothing here knows about scenes or labels; see
builder.py for the timeline that combines these models and scenes.py for the
scenes themselves.
"""

import math

import numpy as np

G = 9.81  # m/s^2

# --------------------------------------------------------------------------
# Random helpers


def log_uniform(rng, lo, hi):
    """A draw spread evenly in log between lo and hi (for amplitudes)."""
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def smoothstep(u):
    """Minimum-jerk profile 0..1 for u in 0..1 (zero velocity and acceleration at both ends)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (10.0 - 15.0 * u + 6.0 * u * u)


def raised_cosine(u):
    """0..1 for u in 0..1, zero slope at both ends."""
    u = np.clip(u, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * u)


# --------------------------------------------------------------------------
# Coloured noise by FFT shaping


def shaped_noise(rng, n, fs, psd, fmax=None):
    """Zero-mean Gaussian noise of n samples whose spectrum follows psd(f).

    psd is a function of frequency (Hz, numpy array) giving relative power.
    Everything at or above fmax (default 0.45 fs, the anti-alias band edge)
    is removed. The result is scaled to unit RMS exactly.
    """
    if n == 0:
        return np.zeros(0)
    if fmax is None:
        fmax = 0.45 * fs
    white = rng.standard_normal(n)
    spec = np.fft.rfft(white)
    f = np.fft.rfftfreq(n, 1.0 / fs)
    gain = np.sqrt(np.maximum(psd(f), 0.0))
    gain[f >= fmax] = 0.0
    x = np.fft.irfft(spec * gain, n)
    x -= x.mean()
    rms = math.sqrt(float(np.mean(x * x)))
    return x / rms if rms > 0 else x


def emg_psd_shwedyk(fl, fh):
    """Surface-EMG power spectrum (Shwedyk et al. 1977):
    P(f) = fh^4 f^2 / ((f^2 + fl^2) (f^2 + fh^2)^2), peaking near 60-100 Hz."""
    def psd(f):
        f2 = f * f
        return fh ** 4 * f2 / ((f2 + fl * fl) * (f2 + fh * fh) ** 2)
    return psd


def lowpass_psd(fc, fstop):
    """Flat to about fc, 4th-order roll-off, nothing at or above fstop."""
    def psd(f):
        p = 1.0 / (1.0 + (f / fc) ** 4)
        p[f >= fstop] = 0.0
        p[0] = 0.0
        return p
    return psd


def slow_noise(rng, n, fs, fc):
    """Unit-RMS random fluctuation below about fc Hz (for slow amplitude drifts).
    Generated on a coarse grid and interpolated, so it costs little at any rate."""
    if n == 0:
        return np.zeros(0)
    step = max(1, int(fs / (20.0 * fc)))  # about 20 points per period of fc
    m = n // step + 3
    coarse = shaped_noise(rng, m, fs / step, lowpass_psd(fc, 4.0 * fc), fmax=0.45 * fs / step)
    return np.interp(np.arange(n) / step, np.arange(m), coarse)


# --------------------------------------------------------------------------
# EMG envelopes


def plateau(t, t0, t1, ramp_on, ramp_off):
    """Envelope shape 0..1 on times t: raised-cosine rise from t0 over ramp_on,
    flat, raised-cosine fall ending at t1 over ramp_off. Zero outside [t0, t1]."""
    dur = t1 - t0
    if ramp_on + ramp_off > dur:
        k = dur / (ramp_on + ramp_off)
        ramp_on *= k
        ramp_off *= k
    up = raised_cosine((t - t0) / max(ramp_on, 1e-9))
    down = raised_cosine((t1 - t) / max(ramp_off, 1e-9))
    return np.minimum(up, down) * ((t >= t0) & (t <= t1))


def pulsing(t, t0, depth, freq, phase):
    """Pulsing modulation 1 + m sin(2 pi f (t - t0) + phase), never negative."""
    return np.maximum(1.0 + depth * np.sin(2.0 * np.pi * freq * (t - t0) + phase), 0.0)


# --------------------------------------------------------------------------
# Confounders


def ecg_template(fs, sigma_r, rr_s):
    """One heartbeat as a sum of Gaussians, R peak at index `centre`, R peak 1.0.

    P +0.10 at -160 ms, Q -0.10 at -25 ms, R +1.0 (sigma_r), S -0.25 at +30 ms,
    T +0.25 broad (sigma 40 ms) at about 0.25 s (shorter at fast heart rates).
    """
    t_t = 0.16 + 0.12 * min(max(rr_s, 0.5), 1.2)
    pre, post = 0.25, t_t + 0.2
    t = np.arange(-int(pre * fs), int(post * fs) + 1) / fs
    waves = ((0.10, -0.160, 0.020), (-0.10, -0.025, 0.008), (1.0, 0.0, sigma_r),
             (-0.25, 0.030, 0.010), (0.25, t_t, 0.040))
    w = np.zeros_like(t)
    for a, mu, s in waves:
        w += a * np.exp(-0.5 * ((t - mu) / s) ** 2)
    w /= w.max()
    # Taper the ends so the sum of beats has no steps.
    edge = max(2, int(0.03 * fs))
    ramp = raised_cosine(np.arange(edge) / edge)
    w[:edge] *= ramp
    w[-edge:] *= ramp[::-1]
    return w, int(pre * fs)


def ecg(rng, n, fs, peaks_uv, hr_bpm, sigma_r=0.006, hrv=0.05):
    """ECG artefact on len(peaks_uv) channels: same beats on every channel,
    each channel scaled to its own R peak (a negative peak flips polarity).
    Beat-to-beat RR varies uniformly by +-hrv around a slowly drifting rate."""
    peaks_uv = np.asarray(peaks_uv, float)
    out = np.zeros((n, len(peaks_uv)))
    rr0 = 60.0 / hr_bpm
    tmpl, centre = ecg_template(fs, sigma_r, rr0)
    dur = n / fs
    drift = slow_noise(rng, max(8, int(dur) + 8), 1.0, 0.01)  # one value per second
    t = -rng.uniform(0.0, rr0)
    while t < dur + 1.0:
        i = int(round(t * fs)) - centre
        a, b = max(i, 0), min(i + len(tmpl), n)
        if b > a:
            out[a:b] += np.outer(tmpl[a - i:b - i], peaks_uv)
        k = min(max(int(t), 0), len(drift) - 1)
        t += rr0 * (1.0 + 0.04 * drift[k]) * (1.0 + rng.uniform(-hrv, hrv))
    return out


def mains(rng, n, fs, f0, amps_uv, harmonics=None):
    """Power-line interference on len(amps_uv) channels: f0 (50 or 60 Hz) with
    harmonics 2..5 (the 3rd strongest), a slowly varying amplitude and a small,
    slow frequency wander. Components at or above 0.45 fs are left out, as an
    anti-alias filter would."""
    t = np.arange(n) / fs
    if harmonics is None:
        r3 = rng.uniform(0.2, 0.35)
        harmonics = {2: r3 * rng.uniform(0.5, 0.8), 3: r3,
                     4: r3 * rng.uniform(0.2, 0.4), 5: r3 * rng.uniform(0.3, 0.6)}
    dev = 0.02 * slow_noise(rng, n, fs, 0.02)          # Hz, grid frequency wander
    phase = 2.0 * np.pi * (f0 * t + np.cumsum(dev) / fs)
    out = np.zeros((n, len(amps_uv)))
    for c, a in enumerate(amps_uv):
        env = a * np.clip(1.0 + 0.25 * slow_noise(rng, n, fs, 0.03), 0.3, None)
        ph = rng.uniform(0, 2 * np.pi)
        x = np.sin(phase + ph)
        for h, r in harmonics.items():
            if h * f0 < 0.45 * fs:
                x = x + r * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
        out[:, c] = env * x
    return out


def baseline_wander(rng, n, fs, amp_uv, drifts=1):
    """Electrode baseline wander: a few sinusoids between 0.05 and 0.5 Hz whose
    summed peak is near amp_uv, plus `drifts` slower smooth steps (electrode
    settling) of 0.3-1 x amp_uv over 5-30 s."""
    t = np.arange(n) / fs
    k = int(rng.integers(3, 6))
    freqs = rng.uniform(0.05, 0.5, k)
    w = rng.uniform(0.3, 1.0, k)
    w *= amp_uv / w.sum()
    x = np.zeros(n)
    for f, a in zip(freqs, w):
        x += a * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    dur = n / fs
    for _ in range(drifts):
        tc = rng.uniform(0, dur)
        width = rng.uniform(5, 30)
        x += rng.choice((-1, 1)) * rng.uniform(0.3, 1.0) * amp_uv * (
            1.0 / (1.0 + np.exp(-(t - tc) / (width / 6.0))) - 0.5)
    return x


def motion_artefact(rng, n, fs):
    """Unit-RMS low-frequency (< 10 Hz) artefact, as from cable and electrode
    movement; multiply by an amplitude envelope of 50-300 uV."""
    return shaped_noise(rng, n, fs, lowpass_psd(rng.uniform(3.0, 6.0), 10.0), fmax=10.0)


def electrode_pop(fs, step_uv, tau_s, spike_uv=0.0, spike_len=0):
    """An electrode pop as a waveform starting at its first sample: a step of
    step_uv decaying with time constant tau_s, optionally led by a sharp spike
    of spike_len (1-3) samples."""
    m = int(8 * tau_s * fs) + 1
    w = step_uv * np.exp(-np.arange(m) / (tau_s * fs))
    if spike_len:
        w[:spike_len] += spike_uv
    return w


# --------------------------------------------------------------------------
# Orientation (unit quaternions w, x, y, z; body-to-world)
#
# World frame: X to the person's right when standing facing forward, Y up,
# Z forward. Body frame (the sensor on the lower back): x right, y up along
# the spine, z forward (anterior). Identity = standing upright.


def quat_axis(axis, angle):
    """Rotation by angle (rad) about body axis 'x', 'y' or 'z'."""
    q = np.zeros(4)
    q[0] = math.cos(angle / 2)
    q["xyz".index(axis) + 1] = math.sin(angle / 2)
    return q


def quat_mul(a, b):
    """Hamilton product; a, b are (..., 4)."""
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack((aw * bw - ax * bx - ay * by - az * bz,
                     aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw), axis=-1)


def quat_conj(q):
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def quat_from_rotvec(v):
    """(n, 3) rotation vectors to (n, 4) quaternions."""
    ang = np.linalg.norm(v, axis=-1)
    half = 0.5 * ang
    # sin(half)/ang, with its limit 1/2 near zero
    k = np.where(ang > 1e-9, np.sin(half) / np.maximum(ang, 1e-12), 0.5)
    return np.concatenate((np.cos(half)[..., None], v * k[..., None]), axis=-1)


def quat_slerp(q0, q1, s):
    """Spherical interpolation between unit quaternions q0, q1 at s (array)."""
    d = float(np.dot(q0, q1))
    if d < 0:
        q1, d = -q1, -d
    s = np.asarray(s)[..., None]
    if d > 0.9995:
        q = q0 + s * (q1 - q0)
        return q / np.linalg.norm(q, axis=-1, keepdims=True)
    th = math.acos(d)
    return (np.sin((1 - s) * th) * q0 + np.sin(s * th) * q1) / math.sin(th)


def world_up_in_body(q):
    """The world's up direction expressed in the body frame, R(q)^T (0, 1, 0).
    An accelerometer at rest reads G times this (specific force)."""
    w, x, y, z = np.moveaxis(q, -1, 0)
    # second row of the rotation matrix R(q)
    return np.stack((2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)), axis=-1)


def body_rate(q, fs):
    """Body-frame angular velocity (rad/s) of an (n, 4) quaternion track:
    omega = 2 vec(q^-1 dq/dt)."""
    if len(q) < 2:
        return np.zeros((len(q), 3))
    dq = np.gradient(q, 1.0 / fs, axis=0)
    return 2.0 * quat_mul(quat_conj(q), dq)[:, 1:]


def bump(u):
    """sin^2(pi u) on 0..1: out and back to zero, zero slope at both ends."""
    u = np.clip(u, 0.0, 1.0)
    return np.sin(np.pi * u) ** 2


def bump_peak_rate(T):
    """Peak of d/dt bump(t/T) for unit amplitude: pi / T."""
    return math.pi / T


def biphasic(u):
    """One full sine cycle on 0..1 (zero mean): a push and its counter-push."""
    u = np.clip(u, 0.0, 1.0)
    return np.sin(2 * np.pi * u) * ((u > 0) & (u < 1))
