/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "calibration.h"

int calibration_start(struct calibration *c, const char *kind) {
        bool max = strcmp(kind, "max") == 0;
        if (!max && strcmp(kind, "rest") != 0)
                return -EINVAL;
        memset(c, 0, sizeof(*c));
        c->running = true;
        c->max = max;
        return 0;
}

unsigned calibration_seconds(const struct calibration *c) {
        return c->max ? CALIBRATION_MAX_S : CALIBRATION_REST_S;
}

void calibration_sample(struct calibration *c, unsigned slot, const char *sensor, const struct detector *d) {
        struct detector_channel_status st;

        if (!c->running || slot >= CONFIG_MAX_SENSORS)
                return;
        snprintf(c->sensor[slot], sizeof(c->sensor[slot]), "%s", sensor);
        for (unsigned ch = 0; ch < DETECTOR_MAX_EMG && detector_channel_status(d, ch, &st) == 0; ch++) {
                struct calibration_channel *k = &c->ch[slot][ch];
                k->sum += st.level_uv;
                k->n++;
                if (st.level_uv > k->peak)
                        k->peak = st.level_uv;
        }
}

size_t calibration_apply(struct calibration *c, unsigned slot, struct detector *d, const char *const *names,
                         struct calibration_level *out, size_t n_out) {
        struct detector_channel_status st;
        size_t n = 0;

        if (slot >= CONFIG_MAX_SENSORS || !c->sensor[slot][0])
                return 0;
        if (!c->max && detector_rebaseline(d) < 0)
                c->refused = true; /* a contraction was going on: that is no resting level */
        for (unsigned ch = 0; ch < DETECTOR_MAX_EMG && n < n_out && detector_channel_status(d, ch, &st) == 0; ch++) {
                const struct calibration_channel *k = &c->ch[slot][ch];
                if (k->n == 0)
                        continue;
                double level = c->max ? k->peak : k->sum / k->n;
                if (c->max)
                        (void) detector_set_mvc(d, ch, (float) level);
                snprintf(out[n].sensor, sizeof(out[n].sensor), "%s", c->sensor[slot]);
                snprintf(out[n].channel, sizeof(out[n].channel), "%s", names[ch]);
                out[n].level_uv = level;
                n++;
        }
        return n;
}
