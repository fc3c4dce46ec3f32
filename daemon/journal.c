/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "journal.h"
#include "log.h"

void journal_event(const struct event_record *r) {
        const char *id = r->class == SPASM_CLASS_SPASM ? SPASMD_MESSAGE_SPASM
                       : r->class == SPASM_CLASS_TWITCH ? SPASMD_MESSAGE_TWITCH : SPASMD_MESSAGE_VOLUNTARY;
        char msg[256];

        snprintf(msg, sizeof(msg), "%s %llu on sensor %s: %.1f s, %s, peak %.1f uV, %.1fx the resting level",
                 spasm_class_to_string(r->class), (unsigned long long) r->id, r->sensor, r->duration_usec / 1e6,
                 strcmp(r->side, "both") == 0 ? "both sides" : strcmp(r->side, "unknown") == 0 ? "side unknown"
                 : strcmp(r->side, "left") == 0 ? "left side" : "right side", r->peak_uv, r->intensity);
        if (!log_to_journal()) {
                log_info("%s", msg);
                return;
        }
        sd_journal_send("MESSAGE=%s", msg,
                        "MESSAGE_ID=%s", id,
                        "PRIORITY=%i", r->class == SPASM_CLASS_SPASM ? LOG_NOTICE : LOG_INFO,
                        "SYSLOG_IDENTIFIER=spasmd",
                        "SPASM_EVENT_ID=%llu", (unsigned long long) r->id,
                        "SPASM_CLASS=%s", spasm_class_to_string(r->class),
                        "SPASM_ONSET_USEC=%llu", (unsigned long long) r->onset_usec,
                        "SPASM_DURATION_USEC=%llu", (unsigned long long) r->duration_usec,
                        "SPASM_PEAK_UV=%.2f", r->peak_uv,
                        "SPASM_MEAN_UV=%.2f", r->mean_uv,
                        "SPASM_INTENSITY=%.2f", r->intensity,
                        "SPASM_PULSE_HZ=%.2f", r->pulse_hz,
                        "SPASM_POSTURE=%s", spasm_posture_to_string(r->posture),
                        "SPASM_SIDE=%s", r->side,
                        "SPASM_SENSOR=%s", r->sensor,
                        NULL);
}

void journal_advisory(const char *kind, const char *message) {
        if (!log_to_journal()) {
                log_notice("advisory (%s): %s", kind, message);
                return;
        }
        sd_journal_send("MESSAGE=%s", message,
                        "MESSAGE_ID=%s", SPASMD_MESSAGE_ADVISORY,
                        "PRIORITY=%i", LOG_NOTICE,
                        "SYSLOG_IDENTIFIER=spasmd",
                        "SPASM_ADVISORY=%s", kind,
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
