/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "journal.h"
#include "log.h"

/* Which side of the back: from channel names such as emg_left, emg_right. */
static const char *side(const struct spasm_event *e, const char *const *names, unsigned n) {
        bool left = false, right = false, other = false;
        for (unsigned c = 0; c < n; c++) {
                if (!(e->channel_mask & (1u << c)))
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

void journal_event(const char *sensor, const struct spasm_event *e, int64_t origin_ns, const char *const *names,
                   unsigned n_names) {
        const char *id = e->class == SPASM_CLASS_SPASM ? SPASMD_MESSAGE_SPASM
                       : e->class == SPASM_CLASS_TWITCH ? SPASMD_MESSAGE_TWITCH : SPASMD_MESSAGE_VOLUNTARY;
        unsigned long long onset_usec = (unsigned long long) ((origin_ns + (int64_t) (e->onset_s * 1e9)) / 1000);
        unsigned long long duration_usec = (unsigned long long) ((e->offset_s - e->onset_s) * 1e6);
        const char *where = side(e, names, n_names);
        char msg[256];

        snprintf(msg, sizeof(msg), "%s %u on sensor %s: %.1f s, %s side, peak %.1f uV, %.1fx the resting level",
                 spasm_class_to_string(e->class), e->id, sensor, e->offset_s - e->onset_s, where, e->peak_uv,
                 e->intensity);
        if (!log_to_journal()) {
                log_info("%s", msg);
                return;
        }
        sd_journal_send("MESSAGE=%s", msg,
                        "MESSAGE_ID=%s", id,
                        "PRIORITY=%i", e->class == SPASM_CLASS_SPASM ? LOG_NOTICE : LOG_INFO,
                        "SYSLOG_IDENTIFIER=spasmd",
                        "SPASM_EVENT_ID=%u", e->id,
                        "SPASM_CLASS=%s", spasm_class_to_string(e->class),
                        "SPASM_ONSET_USEC=%llu", onset_usec,
                        "SPASM_DURATION_USEC=%llu", duration_usec,
                        "SPASM_PEAK_UV=%.2f", e->peak_uv,
                        "SPASM_MEAN_UV=%.2f", e->mean_uv,
                        "SPASM_INTENSITY=%.2f", e->intensity,
                        "SPASM_PULSE_HZ=%.2f", e->pulse_hz,
                        "SPASM_POSTURE=%s", spasm_posture_to_string(e->posture),
                        "SPASM_SIDE=%s", where,
                        "SPASM_SENSOR=%s", sensor,
                        NULL);
}

void journal_sensor(const char *sensor, const char *state, const char *status) {
        if (!log_to_journal()) {
                log_info("[sensor.%s] %s: %s", sensor, state, status);
                return;
        }
        sd_journal_send("MESSAGE=sensor %s %s: %s", sensor, state, status,
                        "MESSAGE_ID=%s", SPASMD_MESSAGE_SENSOR,
                        "PRIORITY=%i", strcmp(state, "disconnected") == 0 ? LOG_WARNING : LOG_INFO,
                        "SYSLOG_IDENTIFIER=spasmd",
                        "SPASM_SENSOR=%s", sensor,
                        "SPASM_SENSOR_STATE=%s", state,
                        NULL);
}
