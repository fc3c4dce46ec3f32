/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <math.h>
#include <string.h>

#include "frontend.h"

/* Harmonics beyond this carry little mains power and share the band with
 * little EMG; each notch also costs a few operations per sample. */
#define NOTCH_MAX_HZ 400.0
/* Where surface EMG has faded: the in-band / high-band split. */
#define EMG_TOP_HZ 300.0
#define SPLIT_MIN_RATE_HZ 450.0

static void set_notches(struct frontend *f, double mains_hz) {
        f->n_notches = 0;
        for (unsigned k = 1; mains_hz > 0 && k <= FRONTEND_NOTCHES; k++) {
                double hz = mains_hz * k;
                if (hz > 0.45 * f->rate_hz || hz > NOTCH_MAX_HZ)
                        break;
                /* Mains drifts by a fraction of a hertz; harmonics by k times that. */
                biquad_notch(&f->notch[f->n_notches++], f->rate_hz, hz, 2.0 + 0.5 * k);
        }
        for (unsigned i = f->n_notches; i < FRONTEND_NOTCHES; i++)
                biquad_identity(&f->notch[i]);
        memset(f->notch_z, 0, sizeof(f->notch_z));
}

void frontend_init(struct frontend *f, unsigned n_channels, double rate_hz, double highpass_hz) {
        memset(f, 0, sizeof(*f));
        f->n = n_channels;
        f->rate_hz = rate_hz;
        biquad_highpass(&f->hp[0], rate_hz, highpass_hz, BUTTERWORTH4_Q1);
        biquad_highpass(&f->hp[1], rate_hz, highpass_hz, BUTTERWORTH4_Q2);
        double top = fmin(EMG_TOP_HZ, 0.35 * rate_hz);
        f->split = rate_hz >= SPLIT_MIN_RATE_HZ;
        biquad_lowpass(&f->lp[0], rate_hz, top, BUTTERWORTH4_Q1);
        biquad_lowpass(&f->lp[1], rate_hz, top, BUTTERWORTH4_Q2);
        set_notches(f, 0);
        mains_finder_init(&f->mains, rate_hz);
}

void frontend_restart(struct frontend *f) {
        memset(f->hp_z, 0, sizeof(f->hp_z));
        memset(f->notch_z, 0, sizeof(f->notch_z));
        memset(f->lp_z, 0, sizeof(f->lp_z));
        memset(f->prev1, 0, sizeof(f->prev1));
        memset(f->prev2, 0, sizeof(f->prev2));
        f->started = false;
}

void frontend_sample(struct frontend *f, const float *emg) {
        const unsigned n = f->n;
        float v[DETECTOR_MAX_EMG];

        if (!f->started) {
                /* Start the high-pass from the signal's own level, not from a
                 * step up from zero that would ring for a second. */
                for (unsigned c = 0; c < n; c++)
                        f->origin[c] = f->last_good[c] = isfinite(emg[c]) ? emg[c] : 0.0f;
                f->started = true;
        }

        for (unsigned c = 0; c < n; c++) {
                float x = emg[c];
                if (!isfinite(x)) {
                        f->bad_samples[c]++;
                        x = f->last_good[c];
                }
                f->last_good[c] = x;
                v[c] = x - f->origin[c];
        }

        for (unsigned s = 0; s < FRONTEND_HP_STAGES; s++) {
                const struct biquad q = f->hp[s];
                float *z1 = f->hp_z[s][0], *z2 = f->hp_z[s][1];
                for (unsigned c = 0; c < n; c++) {
                        float y = q.b0 * v[c] + z1[c];
                        z1[c] = q.b1 * v[c] - q.a1 * y + z2[c];
                        z2[c] = q.b2 * v[c] - q.a2 * y;
                        v[c] = y;
                }
        }

        float sum = 0.0f;
        for (unsigned c = 0; c < n; c++)
                sum += v[c];
        if (mains_finder_sample(&f->mains, sum))
                set_notches(f, f->mains.hz);

        for (unsigned s = 0; s < f->n_notches; s++) {
                const struct biquad q = f->notch[s];
                float *z1 = f->notch_z[s][0], *z2 = f->notch_z[s][1];
                for (unsigned c = 0; c < n; c++) {
                        float y = q.b0 * v[c] + z1[c];
                        z1[c] = q.b1 * v[c] - q.a1 * y + z2[c];
                        z2[c] = q.b2 * v[c] - q.a2 * y;
                        v[c] = y;
                }
        }

        float band[DETECTOR_MAX_EMG];
        if (f->split) {
                for (unsigned c = 0; c < n; c++)
                        band[c] = v[c];
                for (unsigned s = 0; s < FRONTEND_LP_STAGES; s++) {
                        const struct biquad q = f->lp[s];
                        float *z1 = f->lp_z[s][0], *z2 = f->lp_z[s][1];
                        for (unsigned c = 0; c < n; c++) {
                                float y = q.b0 * band[c] + z1[c];
                                z1[c] = q.b1 * band[c] - q.a1 * y + z2[c];
                                z2[c] = q.b2 * band[c] - q.a2 * y;
                                band[c] = y;
                        }
                }
                for (unsigned c = 0; c < n; c++) {
                        float high = v[c] - band[c];
                        f->sum_high[c] += high * high;
                        v[c] = band[c];
                }
        }

        for (unsigned c = 0; c < n; c++) {
                float teager = f->prev1[c] * f->prev1[c] - v[c] * f->prev2[c];
                f->sum_power[c] += v[c] * v[c];
                f->sum_teager[c] += teager;
                f->peak_abs[c] = fmaxf(f->peak_abs[c], fabsf(v[c]));
                f->prev2[c] = f->prev1[c];
                f->prev1[c] = v[c];
        }
}

void frontend_take_tick(struct frontend *f, uint32_t tick_len, struct frontend_tick *out) {
        float inv = 1.0f / (float) tick_len;

        for (unsigned c = 0; c < f->n; c++) {
                out->power[c] = f->sum_power[c] * inv;
                out->high[c] = f->sum_high[c] * inv;
                out->teager[c] = f->sum_teager[c] * inv;
                out->peak_abs[c] = f->peak_abs[c];
                out->bad_samples[c] = f->bad_samples[c];
                f->sum_power[c] = f->sum_high[c] = f->sum_teager[c] = f->peak_abs[c] = 0.0f;
                f->bad_samples[c] = 0;
        }
}
