/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Per-sample conditioning of every EMG channel, and the per-tick sums the
 * rest of the detector works from.
 *
 *   raw -> minus first sample -> spikes held out -> 4th-order Butterworth
 *   high-pass (DC, baseline wander, motion artefact and most of the ECG)
 *   -> mains notches
 *   -> split at the top of the EMG band into an in-band and a high band
 *   -> per tick: in-band power, high-band power, Teager-Kaiser energy
 *
 * Surface EMG has little power above ~300 Hz while amplifier noise is
 * white, so the share of a rise in power that lands in the high band tells
 * a noisier electrode from a contracting muscle. TKEO weighs a sinusoid's
 * power by sin^2(w): the low-frequency ECG residue that survives the
 * high-pass counts far less in it than EMG does.
 */

#include <stdbool.h>
#include <stdint.h>

#include "biquad.h"
#include "detector.h"
#include "mains.h"

#define FRONTEND_NOTCHES 6
#define FRONTEND_HP_STAGES 2
#define FRONTEND_LP_STAGES 2

/* Eight channels side by side in SIMD registers (a GCC/Clang vector
 * extension): every stage handles a group at once, and a group's whole
 * cascade runs in registers. */
typedef float lanes __attribute__((vector_size(32)));
typedef int32_t ilanes __attribute__((vector_size(32)));
#define FRONTEND_LANES 8
#define FRONTEND_GROUPS ((DETECTOR_MAX_EMG + FRONTEND_LANES - 1) / FRONTEND_LANES)

struct frontend_group {
        /* Spike rejection: the last good value (minus the origin), the mean
         * sample-to-sample change (over about a second, updated per tick)
         * and the threshold it gives, how many samples in a row are held as
         * a spike, and the held samples that were one. */
        lanes last, typical_jump, spike_thr, sum_jump;
        ilanes spike_run, spike_bad;
        lanes hp_z[FRONTEND_HP_STAGES][2];
        lanes notch_z[FRONTEND_NOTCHES][2];
        lanes lp_z[FRONTEND_LP_STAGES][2];
        lanes high_z[2];
        lanes prev1, prev2;
        /* Sums over the current tick. */
        lanes sum_power, sum_high, sum_teager;
};

struct frontend {
        unsigned n, groups;
        struct biquad hp[FRONTEND_HP_STAGES];
        struct biquad notch[FRONTEND_NOTCHES];
        unsigned n_notches;
        struct biquad lp[FRONTEND_LP_STAGES];
        struct biquad high;        /* a real high-pass: v - lowpass(v) is not one */
        bool split;                /* false at low rates: no room above the EMG band */
        float white_high_share;    /* high-band / in-band power for white noise */
        bool started;
        struct frontend_group group[FRONTEND_GROUPS];
        float origin[DETECTOR_MAX_EMG];
        uint32_t bad_samples[DETECTOR_MAX_EMG];
        int32_t spike_run_max;
        struct mains_finder mains;
        uint32_t mains_listen;     /* samples left to listen for mains */
        uint32_t mains_quiet;      /* samples until it listens again */
        double rate_hz;
};

struct frontend_tick {
        float power[DETECTOR_MAX_EMG];   /* in-band, uV^2 */
        float high[DETECTOR_MAX_EMG];    /* above the EMG band, uV^2 */
        float teager[DETECTOR_MAX_EMG];
        uint32_t bad_samples[DETECTOR_MAX_EMG];
};

void frontend_init(struct frontend *f, unsigned n_channels, double rate_hz, double highpass_hz);
/* Forget filter history (after a gap); the mains decision is kept. */
void frontend_restart(struct frontend *f);
void frontend_sample(struct frontend *f, const float *emg);
/* Hand out the tick's means and start the next tick. */
void frontend_take_tick(struct frontend *f, uint32_t tick_len, struct frontend_tick *out);
