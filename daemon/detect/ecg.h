/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Heartbeats on lumbar electrodes: short transients that come back at a
 * steady interval. Whatever the high-pass leaves of a large QRS would read
 * as a train of twitches, so the beats are tracked, and a burst that starts
 * when a beat is due must outlast a beat before it counts as muscle.
 */

#include <stdbool.h>
#include <stdint.h>

#define ECG_HISTORY 4

struct ecg_gate {
        double tick_s;
        bool above;
        uint64_t rise_tick;
        uint64_t beats[ECG_HISTORY];   /* rise ticks of beat-like transients, newest last */
        unsigned n_beats;
        bool locked;
        double rr_ticks;
        uint64_t last_beat;
        double width_ticks;            /* how long a beat's residue lasts */
        float peak, beat_peak;         /* this transient's peak; beats' typical peak */
};

void ecg_gate_init(struct ecg_gate *g, double tick_s);
/* One tick: x is the tick's strongest energy over the floor. */
void ecg_gate_tick(struct ecg_gate *g, uint64_t tick, float x);
/* A beat is due around this tick (the beats are locked onto). */
bool ecg_gate_beat_due(const struct ecg_gate *g, uint64_t tick);
/* How long a beat's residue lasts, in ticks. */
double ecg_gate_beat_ticks(const struct ecg_gate *g);
