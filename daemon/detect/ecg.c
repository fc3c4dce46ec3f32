/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <math.h>
#include <string.h>

#include "ecg.h"

#define BEAT_ON 5.0f
/* Beats are the tallest regular transients: noise spikes well below the
 * usual beat are not beats, or they would lock the rhythm onto noise. */
#define BEAT_MIN_PEAK 8.0f
#define BEAT_PEAK_SHARE 0.3f
#define BEAT_OFF 2.0f
#define BEAT_MAX_S 0.13        /* a QRS residue; a burst of EMG lasts longer */
#define RR_MIN_S 0.33          /* 180 bpm */
#define RR_MAX_S 1.6           /* 37 bpm */
#define RR_AGREE 0.25
/* Beat-to-beat variability: a beat may come this early or late. */
#define DUE_SHARE 0.2
#define DUE_MIN_S 0.08
#define MISSED_TO_UNLOCK 3.5
#define AFTER_BURST_UNLOCK 1.5
/* Once locked, a transient before the next beat is due and well below the
 * usual beat is muscle or noise: taken as a beat it would move the phase off
 * the heart. (A late one may be the heart slowing down: the phase follows.) */
#define EARLY_PEAK_SHARE 0.6f
/* An interval this close to two or three beat intervals is beats missed
 * (a raised floor, a burst over them), not a heart that halved its rate. */
#define MULTIPLE_AGREE 0.15

void ecg_gate_init(struct ecg_gate *g, double tick_s) {
        memset(g, 0, sizeof(*g));
        g->tick_s = tick_s;
}

static double median3(double a, double b, double c) {
        return fmax(fmin(a, b), fmin(fmax(a, b), c));
}

/* Lock onto the rhythm when the last intervals agree; the phase always
 * follows the newest beat, since heart rate drifts beat to beat. */
static void update_rhythm(struct ecg_gate *g) {
        double lo = RR_MIN_S / g->tick_s, hi = RR_MAX_S / g->tick_s, iv[ECG_HISTORY - 1];
        unsigned n = 0;

        for (unsigned i = 1; i < g->n_beats; i++) {
                double v = (double) (g->beats[i] - g->beats[i - 1]);
                for (unsigned k = 2; g->locked && k <= 3; k++)
                        if (fabs(v / k - g->rr_ticks) <= MULTIPLE_AGREE * g->rr_ticks) {
                                v /= k;
                                break;
                        }
                if (v >= lo && v <= hi)
                        iv[n++] = v;
        }
        if (n < 2) {
                g->locked = false;
                return;
        }
        double rr = n == 2 ? 0.5 * (iv[0] + iv[1]) : median3(iv[n - 3], iv[n - 2], iv[n - 1]);
        if (fabs(iv[n - 1] - iv[n - 2]) > RR_AGREE * rr && (n < 3 || fabs(iv[n - 1] - rr) > RR_AGREE * rr))
                return;
        g->rr_ticks = rr;
        g->locked = true;
}

static double due_slack(const struct ecg_gate *g) {
        return fmax(DUE_SHARE * g->rr_ticks, DUE_MIN_S / g->tick_s);
}

static bool early(const struct ecg_gate *g, uint64_t tick) {
        return (double) (tick - g->last_beat) < g->rr_ticks - due_slack(g);
}

static void record_beat(struct ecg_gate *g, uint64_t tick, uint64_t width, float peak) {
        if (peak < BEAT_MIN_PEAK || peak < BEAT_PEAK_SHARE * g->beat_peak)
                return;
        if (g->n_beats > 0 && (double) (tick - g->beats[g->n_beats - 1]) * g->tick_s < RR_MIN_S) {
                /* The same beat seen twice, or a smaller transient just
                 * before it: the taller one is the beat. */
                if (peak <= g->last_peak)
                        return;
                g->n_beats--;
        } else if (g->locked && peak < EARLY_PEAK_SHARE * g->beat_peak && early(g, tick))
                return;
        g->beat_peak += (g->n_beats ? 0.25f : 1.0f) * (peak - g->beat_peak);
        g->width_ticks += (g->n_beats ? 0.25 : 1.0) * ((double) width - g->width_ticks);
        if (g->n_beats == ECG_HISTORY) {
                memmove(g->beats, g->beats + 1, sizeof(g->beats[0]) * (ECG_HISTORY - 1));
                g->n_beats--;
        }
        g->beats[g->n_beats++] = tick;
        g->last_beat = tick;
        g->last_peak = peak;
        g->hidden_ticks = g->shown_ticks = 0;
        update_rhythm(g);
}

bool ecg_gate_beat_due(const struct ecg_gate *g, uint64_t tick) {
        /* From a little before the next beat until one is seen: a beat may
         * come late (the heart slows), or go unseen under a burst. */
        return g->locked && !early(g, tick);
}

double ecg_gate_beat_ticks(const struct ecg_gate *g) {
        return g->width_ticks;
}

bool ecg_gate_ended_since(const struct ecg_gate *g, uint64_t tick) {
        return !g->above && g->fall_tick >= tick && g->fall_tick > g->rise_tick;
}

void ecg_gate_tick(struct ecg_gate *g, uint64_t tick, float x, bool hidden) {
        if (!g->above && x > BEAT_ON) {
                g->above = true;
                g->rise_tick = tick;
                g->peak = x;
        } else if (g->above && x < BEAT_OFF) {
                g->above = false;
                g->fall_tick = tick;
                if ((double) (tick - g->rise_tick) * g->tick_s <= BEAT_MAX_S)
                        record_beat(g, g->rise_tick, tick - g->rise_tick, g->peak);
        } else if (g->above)
                g->peak = fmaxf(g->peak, x);
        /* Beats under a burst cannot be seen, so that time does not count
         * as beats missed: the heart did not stop for the contraction. */
        if (g->locked && hidden) {
                g->hidden_ticks++;
                g->shown_ticks = 0;
        } else if (g->locked)
                g->shown_ticks++;
        /* Once the burst is over the beats show again within about one
         * interval, or the rhythm was lost (or was never the heart's). */
        if (g->locked && ((double) (tick - g->last_beat) - (double) g->hidden_ticks > MISSED_TO_UNLOCK * g->rr_ticks ||
                          (g->hidden_ticks > 0 && (double) g->shown_ticks > AFTER_BURST_UNLOCK * g->rr_ticks)))
                g->locked = false;
}
