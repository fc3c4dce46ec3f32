/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Heartbeats on lumbar electrodes: short transients that come back at a
 * steady interval. Whatever the high-pass leaves of a large QRS would read
 * as a train of twitches, so once the beats are locked onto, the ticks
 * around each expected beat are blanked: the detector holds its envelopes
 * and floors through them and judges only what lies between.
 */

#include <stdbool.h>
#include <stdint.h>

#define ECG_HISTORY 4

struct ecg_gate {
        double tick_s;
        bool above;
        uint64_t rise_tick, last_fall_tick;
        uint64_t beats[ECG_HISTORY];   /* rise ticks of beat-like transients, newest last */
        unsigned n_beats;
        bool locked;
        double rr_ticks;
        uint64_t last_beat;
        unsigned missed;
        double width_ticks;            /* how long a beat's residue lasts */
};

void ecg_gate_init(struct ecg_gate *g, double tick_s);
/* One tick: x is the tick's strongest energy over the floor. Returns true
 * when this tick lies in an expected beat and should be ignored. */
bool ecg_gate_tick(struct ecg_gate *g, uint64_t tick, float x);
