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

static void record_beat(struct ecg_gate *g, uint64_t tick, uint64_t width, float peak) {
        if (peak < BEAT_MIN_PEAK || peak < BEAT_PEAK_SHARE * g->beat_peak)
                return;
        if (g->n_beats > 0 && (double) (tick - g->beats[g->n_beats - 1]) * g->tick_s < RR_MIN_S)
                return; /* the same beat seen twice */
        g->beat_peak += (g->n_beats ? 0.25f : 1.0f) * (peak - g->beat_peak);
        g->width_ticks += (g->n_beats ? 0.25 : 1.0) * ((double) width - g->width_ticks);
        if (g->n_beats == ECG_HISTORY) {
                memmove(g->beats, g->beats + 1, sizeof(g->beats[0]) * (ECG_HISTORY - 1));
                g->n_beats--;
        }
        g->beats[g->n_beats++] = tick;
        g->last_beat = tick;
        update_rhythm(g);
}

bool ecg_gate_beat_due(const struct ecg_gate *g, uint64_t tick) {
        if (!g->locked)
                return false;
        double since = (double) (tick - g->last_beat);
        double slack = fmax(DUE_SHARE * g->rr_ticks, DUE_MIN_S / g->tick_s);
        /* The next beat, or the one after if one went unseen under a burst. */
        for (unsigned k = 1; k <= 2; k++)
                if (fabs(since - k * g->rr_ticks) <= k * slack)
                        return true;
        return false;
}

double ecg_gate_beat_ticks(const struct ecg_gate *g) {
        return g->width_ticks;
}

void ecg_gate_tick(struct ecg_gate *g, uint64_t tick, float x) {
        if (!g->above && x > BEAT_ON) {
                g->above = true;
                g->rise_tick = tick;
                g->peak = x;
        } else if (g->above && x < BEAT_OFF) {
                g->above = false;
                if ((double) (tick - g->rise_tick) * g->tick_s <= BEAT_MAX_S)
                        record_beat(g, g->rise_tick, tick - g->rise_tick, g->peak);
        } else if (g->above)
                g->peak = fmaxf(g->peak, x);
        if (g->locked && (double) (tick - g->last_beat) > MISSED_TO_UNLOCK * g->rr_ticks)
                g->locked = false;
}
