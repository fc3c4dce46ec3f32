/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <math.h>
#include <string.h>

#include "ecg.h"

#define BEAT_ON 5.0f
#define BEAT_OFF 2.0f
#define BEAT_MAX_S 0.13        /* a QRS residue; a burst of EMG lasts longer */
#define RR_MIN_S 0.33          /* 180 bpm */
#define RR_MAX_S 1.6           /* 37 bpm */
#define RR_AGREE 0.15
#define WINDOW_BEFORE_S 0.04
#define WINDOW_MARGIN_S 0.04
#define MISSES_TO_UNLOCK 4

void ecg_gate_init(struct ecg_gate *g, double tick_s) {
        memset(g, 0, sizeof(*g));
        g->tick_s = tick_s;
}

static void try_lock(struct ecg_gate *g) {
        if (g->n_beats < 3)
                return;
        /* The last two intervals agree and are a heart's: lock. */
        double i1 = (double) (g->beats[g->n_beats - 1] - g->beats[g->n_beats - 2]);
        double i2 = (double) (g->beats[g->n_beats - 2] - g->beats[g->n_beats - 3]);
        double lo = RR_MIN_S / g->tick_s, hi = RR_MAX_S / g->tick_s;
        if (i1 < lo || i1 > hi || i2 < lo || i2 > hi)
                return;
        if (fabs(i1 - i2) > RR_AGREE * 0.5 * (i1 + i2))
                return;
        g->locked = true;
        g->rr_ticks = 0.5 * (i1 + i2);
        g->last_beat = g->beats[g->n_beats - 1];
        g->missed = 0;
}

static void record_beat(struct ecg_gate *g, uint64_t tick, uint64_t width) {
        g->width_ticks += (g->n_beats ? 0.25 : 1.0) * ((double) width - g->width_ticks);
        if (g->n_beats == ECG_HISTORY) {
                memmove(g->beats, g->beats + 1, sizeof(g->beats[0]) * (ECG_HISTORY - 1));
                g->n_beats--;
        }
        g->beats[g->n_beats++] = tick;
        if (!g->locked) {
                try_lock(g);
                return;
        }
        double interval = (double) (tick - g->last_beat);
        double beats = floor(interval / g->rr_ticks + 0.5);
        if (beats >= 1.0 && fabs(interval / beats - g->rr_ticks) < RR_AGREE * g->rr_ticks) {
                g->rr_ticks += 0.2 * (interval / beats - g->rr_ticks);
                g->last_beat = tick;
                g->missed = 0;
        }
}

static bool in_window(const struct ecg_gate *g, uint64_t tick) {
        if (!g->locked)
                return false;
        double since = (double) (tick - g->last_beat);
        double phase = fmod(since, g->rr_ticks);
        return phase >= g->rr_ticks - WINDOW_BEFORE_S / g->tick_s || phase <= g->width_ticks + WINDOW_MARGIN_S / g->tick_s;
}

bool ecg_gate_tick(struct ecg_gate *g, uint64_t tick, float x) {
        if (!g->above && x > BEAT_ON) {
                g->above = true;
                g->rise_tick = tick;
        } else if (g->above && x < BEAT_OFF) {
                g->above = false;
                if ((double) (tick - g->rise_tick) * g->tick_s <= BEAT_MAX_S)
                        record_beat(g, g->rise_tick, tick - g->rise_tick);
        }
        if (g->locked) {
                double since = (double) (tick - g->last_beat);
                if (since > (g->missed + 1.5) * g->rr_ticks && ++g->missed >= MISSES_TO_UNLOCK)
                        g->locked = false;
        }
        return in_window(g, tick);
}
