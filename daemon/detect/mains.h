/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Finds mains interference (50 or 60 Hz) in the signal itself: Goertzel
 * powers over one-second blocks at each candidate and at its neighbours. A
 * line that stands far above its neighbours, block after block, is mains.
 */

#include <stdint.h>

#define MAINS_PROBES 6

struct mains_finder {
        float coeff[MAINS_PROBES];
        float s1[MAINS_PROBES], s2[MAINS_PROBES];
        uint32_t block_len, filled;
        int votes50, votes60;
        float hz; /* 0 until decided */
};

void mains_finder_init(struct mains_finder *m, double rate_hz);
/* Returns 1 when the decision changed (m->hz is the new answer), else 0. */
int mains_finder_sample(struct mains_finder *m, float x);
