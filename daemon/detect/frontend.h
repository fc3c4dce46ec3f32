/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Per-sample conditioning of every EMG channel, and the per-tick sums the
 * rest of the detector works from.
 *
 *   raw -> minus first sample -> 4th-order Butterworth high-pass (DC,
 *   baseline wander, motion artefact and most of the ECG) -> mains notches
 *   -> split at the top of the EMG band into an in-band and a high band
 *   -> per tick: in-band power, high-band power, Teager-Kaiser energy
 *
 * Surface EMG has little power above ~300 Hz while amplifier noise is
 * white, so the share of a rise in power that lands in the high band tells
 * a noisier electrode from a contracting muscle. TKEO weighs a sinusoid's
 * power by sin^2(w): the low-frequency ECG residue that survives the
 * high-pass counts far less in it than EMG does.
 *
 * State is stored channel-innermost so each stage is one vector loop.
 */

#include <stdbool.h>
#include <stdint.h>

#include "biquad.h"
#include "detector.h"
#include "mains.h"

#define FRONTEND_NOTCHES 6
#define FRONTEND_HP_STAGES 2
#define FRONTEND_LP_STAGES 2

struct frontend {
        unsigned n;
        struct biquad hp[FRONTEND_HP_STAGES];
        struct biquad notch[FRONTEND_NOTCHES];
        unsigned n_notches;
        struct biquad lp[FRONTEND_LP_STAGES];
        bool split;                /* false at low rates: no room above the EMG band */
        float hp_z[FRONTEND_HP_STAGES][2][DETECTOR_MAX_EMG];
        float notch_z[FRONTEND_NOTCHES][2][DETECTOR_MAX_EMG];
        float lp_z[FRONTEND_LP_STAGES][2][DETECTOR_MAX_EMG];
        float origin[DETECTOR_MAX_EMG];
        float last_good[DETECTOR_MAX_EMG];
        float prev1[DETECTOR_MAX_EMG], prev2[DETECTOR_MAX_EMG];
        bool started;

        /* Sums over the current tick. */
        float sum_power[DETECTOR_MAX_EMG];
        float sum_high[DETECTOR_MAX_EMG];
        float sum_teager[DETECTOR_MAX_EMG];
        float peak_abs[DETECTOR_MAX_EMG];
        uint32_t bad_samples[DETECTOR_MAX_EMG];

        struct mains_finder mains;
        double rate_hz;
};

void frontend_init(struct frontend *f, unsigned n_channels, double rate_hz, double highpass_hz);
/* Forget filter history (after a gap); the mains decision is kept. */
void frontend_restart(struct frontend *f);
void frontend_sample(struct frontend *f, const float *emg);
/* Hand out the tick's means and start the next tick. */
struct frontend_tick {
        float power[DETECTOR_MAX_EMG];   /* in-band, uV^2 */
        float high[DETECTOR_MAX_EMG];    /* above the EMG band, uV^2 */
        float teager[DETECTOR_MAX_EMG];
        float peak_abs[DETECTOR_MAX_EMG];
        uint32_t bad_samples[DETECTOR_MAX_EMG];
};
void frontend_take_tick(struct frontend *f, uint32_t tick_len, struct frontend_tick *out);
