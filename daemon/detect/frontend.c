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
}

void frontend_restart(struct frontend *f) {
        for (unsigned g = 0; g < FRONTEND_GROUPS; g++) {
                struct frontend_group *grp = &f->group[g];
                memset(grp->hp_z, 0, sizeof(grp->hp_z));
                memset(grp->notch_z, 0, sizeof(grp->notch_z));
                memset(grp->lp_z, 0, sizeof(grp->lp_z));
                memset(grp->high_z, 0, sizeof(grp->high_z));
                grp->prev1 = grp->prev2 = (lanes) { 0 };
        }
        f->started = false;
}

/* No electrode gives a volt; a sample that far out is a broken reading, and
 * its square would overflow the filters' floats and blind the channel. */
#define SAMPLE_MAX_UV 1e7f

static bool usable(float x) {
        return isfinite(x) && fabsf(x) <= SAMPLE_MAX_UV;
}

/* Vectors pass by pointer: an AVX-sized value in a call would change the ABI. */
static inline void load_group(lanes *v, const float *p, unsigned used) {
        if (used == FRONTEND_LANES) {
                memcpy(v, p, sizeof(*v));
                return;
        }
        *v = (lanes) { 0 };
        for (unsigned i = 0; i < used; i++)
                (*v)[i] = p[i];
}

/*
 * A group's cascade, a block of frames at a time. Frame by frame, each
 * section would wait for the one before it on the same sample (some 6
 * cycles a section, 11 deep), and the next frame's sections for these:
 * little would run side by side. Instead the sections go in passes of up
 * to PASS_STAGES over the block, each pass a pipeline ("wavefront"): in
 * step j, the pass's stage k works on frame j - k, from what stage k - 1
 * made of that frame in step j - 1, so the stages of a step do not wait
 * for each other. A pass's filter state stays in registers for the whole
 * block; between passes the block's samples wait in buf.
 *
 * Stages: the two high-pass sections, the notches, then, when split, the
 * two low-pass sections, the first with the high band's section beside it
 * on the same input. Every lane sees the very same IEEE operations, in the
 * very same order, as frame by frame.
 */
#define STAGES_MAX (FRONTEND_HP_STAGES + FRONTEND_NOTCHES + FRONTEND_LP_STAGES)
#define PASS_STAGES 5

struct wave {
        lanes b0[STAGES_MAX], b1[STAGES_MAX], b2[STAGES_MAX], a1[STAGES_MAX], a2[STAGES_MAX];
        lanes z0[STAGES_MAX], z1[STAGES_MAX];
        lanes hb0, hb1, hb2, ha1, ha2, hz0, hz1;
        lanes sum_high;
};

static inline void broadcast(lanes *v, float x) {
        for (unsigned i = 0; i < FRONTEND_LANES; i++)
                (*v)[i] = x;
}

static inline void wave_load(struct wave *w, unsigned k, const struct biquad *q) {
        broadcast(&w->b0[k], q->b0);
        broadcast(&w->b1[k], q->b1);
        broadcast(&w->b2[k], q->b2);
        broadcast(&w->a1[k], q->a1);
        broadcast(&w->a2[k], q->a2);
}

/*
 * One step of a pass over stages K0 .. K0 + W - 1: frame j enters stage K0,
 * frame j - (W - 1) leaves the last. MODE 0: all stages busy; 1: filling,
 * stages up to D busy (j == D); 2: draining, stages after D busy (j == n + D);
 * 3: check each stage (a block too short for a steady state).
 */
static inline __attribute__((always_inline)) void pass_step(struct wave *w, lanes *buf, lanes *z0, lanes *z1,
                                                             lanes *pipe, unsigned j, unsigned n, float *probe,
                                                             const unsigned K0, const unsigned W,
                                                             const unsigned HIGH_AT, const bool PROBE,
                                                             const int MODE, const unsigned D) {
#pragma GCC unroll 8
        for (unsigned kk = 0; kk < W; kk++) {
                const unsigned k = W - 1 - kk; /* last first: inputs are read before they are replaced */
                if ((MODE == 1 && k > D) || (MODE == 2 && k <= D) || (MODE == 3 && !(j >= k && j - k < n)))
                        continue;
                lanes v = k == 0 ? buf[j] : pipe[k - 1];
                if (K0 + k == HIGH_AT) {
                        lanes x_ = v, y_ = w->hb0 * x_ + w->hz0;
                        w->hz0 = w->hb1 * x_ - w->ha1 * y_ + w->hz1;
                        w->hz1 = w->hb2 * x_ - w->ha2 * y_;
                        w->sum_high += y_ * y_;
                }
                lanes x_ = v, y_ = w->b0[K0 + k] * x_ + z0[k];
                z0[k] = w->b1[K0 + k] * x_ - w->a1[K0 + k] * y_ + z1[k];
                z1[k] = w->b2[K0 + k] * x_ - w->a2[K0 + k] * y_;
                if (PROBE && K0 + k == FRONTEND_HP_STAGES - 1) {
                        float sum = 0.0f;
                        for (unsigned c = 0; c < FRONTEND_LANES; c++)
                                sum += y_[c];
                        probe[j - k] += sum;
                }
                if (k == W - 1)
                        buf[j - k] = y_;
                else
                        pipe[k] = y_;
        }
}

static inline __attribute__((always_inline)) void run_pass(struct wave *w, lanes *buf, unsigned n, float *probe,
                                                            const unsigned K0, const unsigned W,
                                                            const unsigned HIGH_AT, const bool PROBE) {
        lanes z0[PASS_STAGES], z1[PASS_STAGES], pipe[PASS_STAGES] = { { 0 } };

#pragma GCC unroll 8
        for (unsigned k = 0; k < W; k++) {
                z0[k] = w->z0[K0 + k];
                z1[k] = w->z1[K0 + k];
        }
        if (n >= W - 1) {
#pragma GCC unroll 8
                for (unsigned j = 0; j < W - 1; j++)
                        pass_step(w, buf, z0, z1, pipe, j, n, probe, K0, W, HIGH_AT, PROBE, 1, j);
                for (unsigned j = W - 1; j < n; j++)
                        pass_step(w, buf, z0, z1, pipe, j, n, probe, K0, W, HIGH_AT, PROBE, 0, 0);
#pragma GCC unroll 8
                for (unsigned d = 0; d < W - 1; d++)
                        pass_step(w, buf, z0, z1, pipe, n + d, n, probe, K0, W, HIGH_AT, PROBE, 2, d);
        } else {
                for (unsigned j = 0; j < n + W - 1; j++)
                        pass_step(w, buf, z0, z1, pipe, j, n, probe, K0, W, HIGH_AT, PROBE, 3, 0);
        }
#pragma GCC unroll 8
        for (unsigned k = 0; k < W; k++) {
                w->z0[K0 + k] = z0[k];
                w->z1[K0 + k] = z1[k];
        }
}

/* n frames of one group. probe: where PROBE, gets the sum of the group's
 * high-passed lanes (in lane order, from 0) added to what is there. */
static inline __attribute__((always_inline)) void run_group(struct frontend *f, struct frontend_group *grp,
                                                             const float *emg, unsigned n, unsigned used,
                                                             unsigned bad[FRONTEND_LANES], float *probe,
                                                             bool first, const unsigned NOTCHES, const bool SPLIT,
                                                             const bool PROBE) {
        const unsigned stride = f->n;
        const unsigned DEPTH = FRONTEND_HP_STAGES + NOTCHES + (SPLIT ? FRONTEND_LP_STAGES : 0);
        const unsigned HIGH_AT = SPLIT ? FRONTEND_HP_STAGES + NOTCHES : STAGES_MAX; /* none */
        const lanes limit = { SAMPLE_MAX_UV, SAMPLE_MAX_UV, SAMPLE_MAX_UV, SAMPLE_MAX_UV,
                              SAMPLE_MAX_UV, SAMPLE_MAX_UV, SAMPLE_MAX_UV, SAMPLE_MAX_UV };
        const lane_mask magnitude = { INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX,
                                      INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX };
        lanes buf[FRONTEND_RUN_MAX];
        struct wave w;

#pragma GCC unroll 16
        for (unsigned k = 0; k < DEPTH; k++) {
                const struct biquad *q;
                lanes *z;
                if (k < FRONTEND_HP_STAGES) {
                        q = &f->hp[k];
                        z = grp->hp_z[k];
                } else if (k < FRONTEND_HP_STAGES + NOTCHES) {
                        q = &f->notch[k - FRONTEND_HP_STAGES];
                        z = grp->notch_z[k - FRONTEND_HP_STAGES];
                } else {
                        q = &f->lp[k - FRONTEND_HP_STAGES - NOTCHES];
                        z = grp->lp_z[k - FRONTEND_HP_STAGES - NOTCHES];
                }
                wave_load(&w, k, q);
                w.z0[k] = z[0];
                w.z1[k] = z[1];
        }
        broadcast(&w.hb0, f->high.b0);
        broadcast(&w.hb1, f->high.b1);
        broadcast(&w.hb2, f->high.b2);
        broadcast(&w.ha1, f->high.a1);
        broadcast(&w.ha2, f->high.a2);
        w.hz0 = grp->high_z[0];
        w.hz1 = grp->high_z[1];
        w.sum_high = grp->sum_high;

        /* The samples in: a broken reading repeats the last good one. */
        lanes origin = grp->origin, last_good = grp->last_good;
        lane_mask nbad = { 0 };
        if (first) {
                /* Start the high-pass from the signal's own level, not from a
                 * step up from zero that would ring for a second. */
                for (unsigned c = 0; c < used; c++)
                        origin[c] = last_good[c] = usable(emg[c]) ? emg[c] : 0.0f;
        }
        for (unsigned j = 0; j < n; j++) {
                lanes x;
                load_group(&x, emg + (size_t) j * stride, used);
                /* |x| <= max is false for NaN and infinities too. */
                lane_mask ok = (lanes) ((lane_mask) x & magnitude) <= limit;
                x = (lanes) (((lane_mask) x & ok) | ((lane_mask) last_good & ~ok));
                nbad += ok + 1;
                last_good = x;
                buf[j] = x - origin;
        }
        grp->origin = origin;
        grp->last_good = last_good;
        for (unsigned c = 0; c < FRONTEND_LANES; c++)
                bad[c] = (unsigned) nbad[c];

#pragma GCC unroll 4
        for (unsigned k0 = 0; k0 < DEPTH; k0 += PASS_STAGES)
                run_pass(&w, buf, n, probe, k0, DEPTH - k0 < PASS_STAGES ? DEPTH - k0 : PASS_STAGES, HIGH_AT, PROBE);

        lanes prev1 = grp->prev1, prev2 = grp->prev2, sum_power = grp->sum_power, sum_teager = grp->sum_teager;
        for (unsigned j = 0; j < n; j++) {
                lanes v = buf[j];
                sum_power += v * v;
                sum_teager += prev1 * prev1 - v * prev2;
                prev2 = prev1;
                prev1 = v;
        }
        grp->prev1 = prev1;
        grp->prev2 = prev2;
        grp->sum_power = sum_power;
        grp->sum_teager = sum_teager;

#pragma GCC unroll 16
        for (unsigned k = 0; k < DEPTH; k++) {
                lanes *z;
                if (k < FRONTEND_HP_STAGES)
                        z = grp->hp_z[k];
                else if (k < FRONTEND_HP_STAGES + NOTCHES)
                        z = grp->notch_z[k - FRONTEND_HP_STAGES];
                else
                        z = grp->lp_z[k - FRONTEND_HP_STAGES - NOTCHES];
                z[0] = w.z0[k];
                z[1] = w.z1[k];
        }
        grp->high_z[0] = w.hz0;
        grp->high_z[1] = w.hz1;
        grp->sum_high = w.sum_high;
}

static inline __attribute__((always_inline)) void run_all(struct frontend *f, const float *emg, unsigned n,
                                                           float *probe, const unsigned NOTCHES, const bool SPLIT,
                                                           const bool PROBE) {
        bool first = !f->started;
        f->started = true;
        for (unsigned g = 0; g < f->groups; g++) {
                unsigned used = f->n - g * FRONTEND_LANES, bad[FRONTEND_LANES];
                if (used > FRONTEND_LANES)
                        used = FRONTEND_LANES;
                run_group(f, &f->group[g], emg + (size_t) g * FRONTEND_LANES, n, used, bad, probe, first, NOTCHES, SPLIT,
                          PROBE);
                for (unsigned c = 0; c < used; c++)
                        f->bad_samples[g * FRONTEND_LANES + c] += bad[c];
        }
}

#define RUN_NOTCHES(SPLIT, PROBE)                                                       \
        switch (f->n_notches) {                                                         \
        case 0: run_all(f, emg, n, probe, 0, SPLIT, PROBE); break;                      \
        case 1: run_all(f, emg, n, probe, 1, SPLIT, PROBE); break;                      \
        case 2: run_all(f, emg, n, probe, 2, SPLIT, PROBE); break;                      \
        case 3: run_all(f, emg, n, probe, 3, SPLIT, PROBE); break;                      \
        case 4: run_all(f, emg, n, probe, 4, SPLIT, PROBE); break;                      \
        case 5: run_all(f, emg, n, probe, 5, SPLIT, PROBE); break;                      \
        default: run_all(f, emg, n, probe, FRONTEND_NOTCHES, SPLIT, PROBE); break;      \
        }

/* Built twice where the compiler can: with AVX2 a group of eight lanes is
 * one register, elsewhere two. Same IEEE operations per lane either way (no
 * FMA contraction), so every machine gets the very same answer. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void run(struct frontend *f, const float *emg, unsigned n, float *probe, bool probing) {
        if (probing) {
                if (f->split)
                        RUN_NOTCHES(true, true)
                else
                        RUN_NOTCHES(false, true)
        } else {
                if (f->split)
                        RUN_NOTCHES(true, false)
                else
                        RUN_NOTCHES(false, false)
        }
}

/* How many of n frames the next run takes: the notches and the mains finder
 * change only between runs, so a run ends where listening starts or stops
 * and where the finder closes a block (a decision takes effect from the
 * next sample). */
static unsigned run_length(const struct frontend *f, unsigned n, bool probing) {
        unsigned m = n < FRONTEND_RUN_MAX ? n : FRONTEND_RUN_MAX;
        if (!probing)
                return m < f->mains_quiet ? m : f->mains_quiet;
        m = m < f->mains_listen ? m : f->mains_listen;
        uint32_t left = f->mains.block_len - f->mains.filled;
        return m < left ? m : left;
}

/* Mains does not change from minute to minute: once found, listen for a
 * few seconds each minute only. */
static void follow_mains(struct frontend *f, const float *probe, unsigned m, bool probing) {
        if (!probing) {
                f->mains_quiet -= m;
                if (f->mains_quiet == 0)
                        f->mains_listen = (uint32_t) (MAINS_LISTEN_S * f->rate_hz);
                return;
        }
        int changed = 0;
        for (unsigned i = 0; i < m; i++)
                changed |= mains_finder_sample(&f->mains, probe[i]);
        if (changed)
                set_notches(f, f->mains.hz);
        f->mains_listen -= m;
        if (f->mains_listen == 0)
                f->mains_quiet = f->mains.hz > 0 ? (uint32_t) (MAINS_QUIET_S * f->rate_hz) : 1;
}

void frontend_block(struct frontend *f, const float *emg, unsigned n) {
        float probe[FRONTEND_RUN_MAX] = { 0 };

        while (n > 0) {
                bool probing = f->mains_listen > 0;
                unsigned m = run_length(f, n, probing);
                if (probing)
                        memset(probe, 0, m * sizeof(probe[0]));
                run(f, emg, m, probe, probing);
                follow_mains(f, probe, m, probing);
                emg += (size_t) m * f->n;
                n -= m;
        }
}

void frontend_take_tick(struct frontend *f, uint32_t tick_len, struct frontend_tick *out) {
        float inv = 1.0f / (float) tick_len;

        for (unsigned c = 0; c < f->n; c++) {
                struct frontend_group *grp = &f->group[c / FRONTEND_LANES];
                unsigned lane = c % FRONTEND_LANES;
                out->power[c] = grp->sum_power[lane] * inv;
                out->high[c] = grp->sum_high[lane] * inv;
                out->teager[c] = grp->sum_teager[lane] * inv;
                out->bad_samples[c] = f->bad_samples[c];
                f->bad_samples[c] = 0;
        }
        for (unsigned g = 0; g < f->groups; g++)
                f->group[g].sum_power = f->group[g].sum_high = f->group[g].sum_teager = (lanes) { 0 };
}
