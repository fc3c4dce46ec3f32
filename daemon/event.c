/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "event.h"

/* Which side of the back: from channel names such as emg_left, emg_right. */
static const char *side(uint32_t mask, const char *const *names, unsigned n) {
        bool left = false, right = false, other = false;
        for (unsigned c = 0; c < n; c++) {
                if (!(mask & (1u << c)))
                        continue;
                if (strstr(names[c], "left"))
                        left = true;
                else if (strstr(names[c], "right"))
                        right = true;
                else
                        other = true;
        }
        if (left && right)
                return "both";
        if (left && !other)
                return "left";
        if (right && !other)
                return "right";
        return "unknown";
}

void event_record_from(struct event_record *r, const char *sensor, const struct spasm_event *e, int64_t origin_ns,
                       const char *const *names, unsigned n_names) {
        int64_t onset_ns = origin_ns + (int64_t) (e->onset_s * 1e9);

        memset(r, 0, sizeof(*r));
        r->class = e->class;
        snprintf(r->sensor, sizeof(r->sensor), "%s", sensor);
        r->onset_usec = onset_ns > 0 ? (uint64_t) onset_ns / 1000 : 0;
        r->duration_usec = e->offset_s >= e->onset_s ? (uint64_t) ((e->offset_s - e->onset_s) * 1e6) : 0;
        r->peak_uv = e->peak_uv;
        r->mean_uv = e->mean_uv;
        r->intensity = e->intensity;
        r->mvc_pct = e->intensity_mvc_pct;
        r->pulse_hz = e->pulse_hz;
        r->posture = e->posture;
        r->channel_mask = e->channel_mask;
        snprintf(r->side, sizeof(r->side), "%s", side(e->channel_mask, names, n_names));
}
