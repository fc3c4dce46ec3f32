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
        uint64_t rise_tick, fall_tick;
        uint64_t beats[ECG_HISTORY];   /* rise ticks of beat-like transients, newest last */
        unsigned n_beats;
        bool locked;
        double rr_ticks;
        uint64_t last_beat;
        double width_ticks;            /* how long a beat's residue lasts */
        float peak, beat_peak;         /* this transient's peak; beats' typical peak */
        float last_peak;               /* the newest beat's peak */
        uint64_t hidden_ticks;         /* since the newest beat, ticks spent under a burst */
        uint64_t shown_ticks;          /* since the last burst ended (or the newest beat) */
};

void ecg_gate_init(struct ecg_gate *g, double tick_s);
/* One tick: x is the tick's strongest energy over the floor; hidden: an
 * activation is under way, so beats may go unseen. */
void ecg_gate_tick(struct ecg_gate *g, uint64_t tick, float x, bool hidden);
/* A beat is due around this tick (the beats are locked onto). */
bool ecg_gate_beat_due(const struct ecg_gate *g, uint64_t tick);
/* How long a beat's residue lasts, in ticks. */
double ecg_gate_beat_ticks(const struct ecg_gate *g);
/* A beat-like transient ended at or after this tick. */
bool ecg_gate_ended_since(const struct ecg_gate *g, uint64_t tick);
