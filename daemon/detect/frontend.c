/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <math.h>
#include <string.h>

#include "frontend.h"

/* Harmonics beyond this carry little mains power and share the band with
 * little EMG; each notch also costs a few operations per sample. */
#define NOTCH_MAX_HZ 400.0
/* Listen this long (and always until mains is found), then rest this long. */
#define MAINS_LISTEN_S 4
#define MAINS_QUIET_S 56
/* Where surface EMG has faded: the in-band / high-band split. */
#define EMG_TOP_HZ 300.0
#define SPLIT_MIN_RATE_HZ 450.0
/* A spike (electrostatic discharge, a tug on the leads) departs from the
 * signal in a sample and is back within a couple of milliseconds. Through
 * the filters its energy is white: it reads as an electrode gone noisy, and
 * the noise floor, following it, is dragged up by orders of magnitude for
 * seconds. Surface EMG never changes by this much from one sample to the
 * next (the public recordings reach 3.1 mV at 250 Hz), nor by this many
 * times its own typical change: such a departure is held at the last good
 * value like an unusable sample. One that lasts past SPIKE_MAX_S is a step
 * (an electrode pop) and is let through, that much later; the way back from
 * a longer pulse is a departure too, so a pulse keeps its width. */
#define SPIKE_MIN_UV 5000.0f
#define SPIKE_OVER_TYPICAL 32.0f
#define SPIKE_MAX_S 0.002
#define SPIKE_TYPICAL_TAU_S 1.0

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
        for (unsigned g = 0; g < FRONTEND_GROUPS; g++)
                memset(f->group[g].notch_z, 0, sizeof(f->group[g].notch_z));
}

/* What white noise puts in the high band for every unit in the EMG band,
 * from the filters' own responses: the reference a rise in power is held
 * against to tell a noisier electrode from a muscle. */
static float white_high_share(const struct frontend *f) {
        double in = 0.0, high = 0.0;
        for (unsigned i = 1; i < 512; i++) {
                double w = M_PI * i / 512.0, g = 1.0;
                for (unsigned s = 0; s < FRONTEND_HP_STAGES; s++)
                        g *= biquad_power_gain(&f->hp[s], w);
                double gin = g, ghigh = g * biquad_power_gain(&f->high, w);
                for (unsigned s = 0; s < FRONTEND_LP_STAGES; s++)
                        gin *= biquad_power_gain(&f->lp[s], w);
                in += gin;
                high += ghigh;
        }
        return in > 0.0 ? (float) (high / in) : 0.0f;
}

void frontend_init(struct frontend *f, unsigned n_channels, double rate_hz, double highpass_hz) {
        memset(f, 0, sizeof(*f));
        f->n = n_channels;
        f->groups = (n_channels + FRONTEND_LANES - 1) / FRONTEND_LANES;
        f->rate_hz = rate_hz;
        biquad_highpass(&f->hp[0], rate_hz, highpass_hz, BUTTERWORTH4_Q1);
        biquad_highpass(&f->hp[1], rate_hz, highpass_hz, BUTTERWORTH4_Q2);
        double top = fmin(EMG_TOP_HZ, 0.35 * rate_hz);
        f->split = rate_hz >= SPLIT_MIN_RATE_HZ;
        biquad_lowpass(&f->lp[0], rate_hz, top, BUTTERWORTH4_Q1);
        biquad_lowpass(&f->lp[1], rate_hz, top, BUTTERWORTH4_Q2);
        biquad_highpass(&f->high, rate_hz, fmin(1.2 * top, 0.45 * rate_hz), M_SQRT1_2);
        f->white_high_share = white_high_share(f);
        set_notches(f, 0);
        mains_finder_init(&f->mains, rate_hz);
        f->mains_listen = (uint32_t) (MAINS_LISTEN_S * rate_hz);
        f->spike_run_max = (int32_t) fmax(1.0, floor(SPIKE_MAX_S * rate_hz));
        for (unsigned g = 0; g < FRONTEND_GROUPS; g++)
                f->group[g].spike_thr = (lanes) { 0 } + SPIKE_MIN_UV;
}

void frontend_restart(struct frontend *f) {
        for (unsigned g = 0; g < FRONTEND_GROUPS; g++) {
                struct frontend_group *grp = &f->group[g];
                memset(grp->hp_z, 0, sizeof(grp->hp_z));
                memset(grp->notch_z, 0, sizeof(grp->notch_z));
                memset(grp->lp_z, 0, sizeof(grp->lp_z));
                memset(grp->high_z, 0, sizeof(grp->high_z));
                grp->prev1 = grp->prev2 = (lanes) { 0 };
                grp->last = grp->typical_jump = grp->sum_jump = (lanes) { 0 };
                grp->spike_thr = (lanes) { 0 } + SPIKE_MIN_UV;
                grp->spike_run = (ilanes) { 0 };
        }
        f->started = false;
}

/* Vectors pass by pointer: an AVX-sized value in a call would change the ABI. */
static inline void section(const struct biquad *q, lanes *z, lanes *v) {
        lanes x = *v, y = q->b0 * x + z[0];
        z[0] = q->b1 * x - q->a1 * y + z[1];
        z[1] = q->b2 * x - q->a2 * y;
        *v = y;
}

/* |v| per lane (a macro: an AVX-sized return value would change the ABI). */
#define LANES_ABS(v) ((lanes) ((ilanes) (v) & 0x7fffffff))

/* Hold each lane's sample at its last good value while it is (so far) a
 * spike; a lane back near where it left counts what it held as bad. */
static inline void reject_spikes(const struct frontend *f, struct frontend_group *grp, lanes *v) {
        lanes last = grp->last;
        ilanes unusable = *v != *v;
        *v = (lanes) ((unusable & (ilanes) last) | (~unusable & (ilanes) *v));
        lanes jump = LANES_ABS(*v - last);
        ilanes departs = jump > grp->spike_thr;
        ilanes hold = departs & (grp->spike_run < f->spike_run_max);

        grp->spike_bad += ~departs & grp->spike_run;
        grp->spike_run = (grp->spike_run + 1) & hold;
        grp->sum_jump += (lanes) ((ilanes) jump & ~hold);
        *v = grp->last = (lanes) ((hold & (ilanes) last) | (~hold & (ilanes) *v));
}

static inline float lane_sum(const lanes *v) {
        float sum = 0.0f;
        for (unsigned i = 0; i < FRONTEND_LANES; i++)
                sum += (*v)[i];
        return sum;
}
/* No electrode gives a volt; a sample that far out is a broken reading, and
 * its square would overflow the filters' floats and blind the channel. */
#define SAMPLE_MAX_UV 1e7f

static bool usable(float x) {
        return isfinite(x) && fabsf(x) <= SAMPLE_MAX_UV;
}


/* Built twice where the compiler can: with AVX2 a group of eight lanes is
 * one register, elsewhere two. Same IEEE operations per lane either way (no
 * FMA contraction), so every machine gets the very same answer. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void frontend_sample(struct frontend *f, const float *emg) {
        const unsigned n = f->n;
        union {
                lanes v[FRONTEND_GROUPS];
                float x[FRONTEND_GROUPS * FRONTEND_LANES];
        } in = { 0 };

        if (!f->started) {
                /* Start the high-pass from the signal's own level, not from a
                 * step up from zero that would ring for a second. */
                for (unsigned c = 0; c < n; c++)
                        f->origin[c] = usable(emg[c]) ? emg[c] : 0.0f;
                f->started = true;
        }

        /* An unusable sample goes on as NaN, to be held at the last good
         * value below. */
        for (unsigned c = 0; c < n; c++) {
                float x = emg[c];
                if (!usable(x)) {
                        f->bad_samples[c]++;
                        x = NAN;
                }
                in.x[c] = x - f->origin[c];
        }

        float mains_probe = 0.0f;
        bool probing = f->mains_listen > 0;
        for (unsigned g = 0; g < f->groups; g++) {
                struct frontend_group *grp = &f->group[g];
                lanes v = in.v[g];

                reject_spikes(f, grp, &v);
                for (unsigned s = 0; s < FRONTEND_HP_STAGES; s++)
                        section(&f->hp[s], grp->hp_z[s], &v);
                if (probing)
                        mains_probe += lane_sum(&v);
                for (unsigned s = 0; s < f->n_notches; s++)
                        section(&f->notch[s], grp->notch_z[s], &v);
                if (f->split) {
                        lanes high = v;
                        section(&f->high, grp->high_z, &high);
                        grp->sum_high += high * high;
                        for (unsigned s = 0; s < FRONTEND_LP_STAGES; s++)
                                section(&f->lp[s], grp->lp_z[s], &v);
                }
                grp->sum_power += v * v;
                grp->sum_teager += grp->prev1 * grp->prev1 - v * grp->prev2;
                grp->prev2 = grp->prev1;
                grp->prev1 = v;
        }

        /* Mains does not change from minute to minute: once found, listen for
         * a few seconds each minute only (a new decision takes effect from
         * the next sample). */
        if (probing) {
                if (mains_finder_sample(&f->mains, mains_probe))
                        set_notches(f, f->mains.hz);
                if (--f->mains_listen == 0)
                        f->mains_quiet = f->mains.hz > 0 ? (uint32_t) (MAINS_QUIET_S * f->rate_hz) : 1;
        } else if (--f->mains_quiet == 0)
                f->mains_listen = (uint32_t) (MAINS_LISTEN_S * f->rate_hz);
}

void frontend_take_tick(struct frontend *f, uint32_t tick_len, struct frontend_tick *out) {
        float inv = 1.0f / (float) tick_len;

        for (unsigned c = 0; c < f->n; c++) {
                struct frontend_group *grp = &f->group[c / FRONTEND_LANES];
                unsigned lane = c % FRONTEND_LANES;
                out->power[c] = grp->sum_power[lane] * inv;
                out->high[c] = grp->sum_high[lane] * inv;
                out->teager[c] = grp->sum_teager[lane] * inv;
                out->bad_samples[c] = f->bad_samples[c] + (uint32_t) grp->spike_bad[lane];
                f->bad_samples[c] = 0;
        }
        /* The typical sample-to-sample change, and the spike threshold it gives. */
        float a = onepole_alpha(tick_len / f->rate_hz, SPIKE_TYPICAL_TAU_S);
        for (unsigned g = 0; g < f->groups; g++) {
                struct frontend_group *grp = &f->group[g];
                grp->sum_power = grp->sum_high = grp->sum_teager = (lanes) { 0 };
                grp->spike_bad = (ilanes) { 0 };
                grp->typical_jump += a * (grp->sum_jump * inv - grp->typical_jump);
                grp->sum_jump = (lanes) { 0 };
                lanes thr = SPIKE_OVER_TYPICAL * grp->typical_jump;
                ilanes low = thr < SPIKE_MIN_UV;
                grp->spike_thr = (lanes) ((low & (ilanes) ((lanes) { 0 } + SPIKE_MIN_UV)) | (~low & (ilanes) thr));
        }
}
