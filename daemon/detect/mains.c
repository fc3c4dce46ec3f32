/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <math.h>

#include "mains.h"

/* Each candidate is judged against lines 4 Hz either side: far enough to
 * be outside a one-second Goertzel's main lobe, near enough to share the
 * broadband EMG and noise level. */
static const float probe_hz[MAINS_PROBES] = { 50.0f, 46.0f, 54.0f, 60.0f, 56.0f, 64.0f };

#define LINE_OVER_NEIGHBOURS 12.0f
#define VOTES_TO_DECIDE 2
#define VOTES_MAX 4

void mains_finder_init(struct mains_finder *m, double rate_hz) {
        *m = (struct mains_finder) { .block_len = (uint32_t) lround(rate_hz) };
        for (unsigned i = 0; i < MAINS_PROBES; i++)
                m->coeff[i] = (float) (2.0 * cos(2.0 * M_PI * probe_hz[i] / rate_hz));
}

static float goertzel_power(const struct mains_finder *m, unsigned i) {
        return m->s1[i] * m->s1[i] + m->s2[i] * m->s2[i] - m->coeff[i] * m->s1[i] * m->s2[i];
}

static int vote(int votes, int up) {
        votes += up ? 1 : -1;
        if (votes < 0)
                return 0;
        return votes > VOTES_MAX ? VOTES_MAX : votes;
}

int mains_finder_sample(struct mains_finder *m, float x) {
        for (unsigned i = 0; i < MAINS_PROBES; i++) {
                float s = x + m->coeff[i] * m->s1[i] - m->s2[i];
                m->s2[i] = m->s1[i];
                m->s1[i] = s;
        }
        if (++m->filled < m->block_len)
                return 0;

        float p[MAINS_PROBES];
        for (unsigned i = 0; i < MAINS_PROBES; i++)
                p[i] = goertzel_power(m, i);
        float score50 = p[0] / (0.5f * (p[1] + p[2]) + 1e-12f);
        float score60 = p[3] / (0.5f * (p[4] + p[5]) + 1e-12f);
        m->votes50 = vote(m->votes50, score50 > LINE_OVER_NEIGHBOURS && score50 >= score60);
        m->votes60 = vote(m->votes60, score60 > LINE_OVER_NEIGHBOURS && score60 > score50);
        for (unsigned i = 0; i < MAINS_PROBES; i++)
                m->s1[i] = m->s2[i] = 0.0f;
        m->filled = 0;

        float hz = m->hz;
        if (m->votes50 >= VOTES_TO_DECIDE && m->votes50 >= m->votes60)
                hz = 50.0f;
        else if (m->votes60 >= VOTES_TO_DECIDE)
                hz = 60.0f;
        if (hz == m->hz)
                return 0;
        m->hz = hz;
        return 1;
}
