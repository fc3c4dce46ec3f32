/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small deterministic signal generators for the detector's unit tests. */

#include <math.h>
#include <stdint.h>

struct synth {
        uint64_t state;
};

static inline double synth_uniform(struct synth *s) {
        /* xorshift64*: deterministic on every platform */
        s->state ^= s->state >> 12;
        s->state ^= s->state << 25;
        s->state ^= s->state >> 27;
        return (double) ((s->state * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}

static inline double synth_gauss(struct synth *s) {
        double u1 = synth_uniform(s), u2 = synth_uniform(s);
        if (u1 < 1e-300)
                u1 = 1e-300;
        return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Band-limited "muscle" noise: white noise through a crude 2nd-order
 * resonance around 80-100 Hz, normalised to about unit RMS. */
struct synth_emg {
        double y1, y2, a1, a2, gain;
};

static inline void synth_emg_init(struct synth_emg *e, double rate_hz) {
        double r = 0.85, w = 2.0 * M_PI * 90.0 / rate_hz;
        e->y1 = e->y2 = 0.0;
        e->a1 = 2.0 * r * cos(w);
        e->a2 = -r * r;
        /* Output variance of an AR(2) driven by unit white noise. */
        double var = (1.0 - e->a2) / ((1.0 + e->a2) * ((1.0 - e->a2) * (1.0 - e->a2) - e->a1 * e->a1));
        e->gain = 1.0 / sqrt(var);
}

static inline double synth_emg_next(struct synth_emg *e, struct synth *s) {
        double y = synth_gauss(s) + e->a1 * e->y1 + e->a2 * e->y2;
        e->y2 = e->y1;
        e->y1 = y;
        return y * e->gain;
}
