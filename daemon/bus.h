/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * org.spasmd.Monitor1 on D-Bus: the Monitor1 object, one Sensor1 object per
 * sensor under an ObjectManager, the signals, and the methods, which it hands
 * to the manager through bus_ops. It holds the property values so that a
 * setter can tell whether anything changed before it sends
 * PropertiesChanged. conf/org.spasmd.Monitor1.xml is the contract.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "event.h"

#define BUS_NAME "org.spasmd.Monitor1"
#define BUS_PATH "/org/spasmd/Monitor1"
#define BUS_GET_EVENTS_MAX 10000

struct bus;

struct calibration_level {
        char sensor[EVENT_SENSOR_MAX];
        char channel[64];
        double level_uv;
};

/* What the bus asks of the daemon. Errors are -errno; see bus.c for the D-Bus error each becomes. */
struct bus_ops {
        /* The newest `limit` events with onset >= since, oldest first; *ret is malloc'ed. */
        int (*get_events)(void *userdata, uint64_t since_usec, unsigned limit, struct event_record **ret, size_t *n);
        /* Start a calibration; the daemon answers later with bus_calibration_done() or _failed(). */
        int (*calibrate)(void *userdata, const char *kind);
        int (*reset_calibration)(void *userdata);
        int (*set_monitoring)(void *userdata, bool on);
        /* Muscle activity of a sensor now, a multiple of its resting floor; 0 if none. */
        double (*activity)(void *userdata, const char *sensor);
};

struct bus_sensor_info {
        const char *uri;
        const char *role;
        const char *const *channels;
        unsigned n_channels;
        double sample_rate;
        bool connected;
        const char *status;
        uint64_t dropped;
        double noise_floor_uv;
        double mains_hz;
        const char *contact;
};

/* address: "system", "user" or a D-Bus address such as unix:path=/run/x. */
int bus_new(sd_event *event, const char *address, const struct bus_ops *ops, void *userdata, struct bus **ret);
/* Take the well-known name: after every object is in place, so no client sees half of them. */
int bus_request_name(struct bus *b);
struct bus *bus_free(struct bus *b);

void bus_set_state(struct bus *b, const char *state);
void bus_set_monitoring(struct bus *b, bool on);
void bus_set_active_event(struct bus *b, uint64_t id, const char *class, const char *sensor, uint64_t onset_usec);
void bus_set_spasms_today(struct bus *b, unsigned n);
void bus_set_last_event(struct bus *b, const struct event_record *r);
void bus_set_calibrated(struct bus *b, bool on);
void bus_set_advisory(struct bus *b, const char *kind, const char *message, uint64_t time_usec);
void bus_set_history_status(struct bus *b, const char *status);

void bus_emit_activity_started(struct bus *b, uint64_t id, const char *sensor, uint64_t onset_usec, const char *side);
void bus_emit_spasm_started(struct bus *b, uint64_t id, const char *sensor, uint64_t onset_usec, const char *side,
                            double intensity);
/* SpasmEnded or Twitch, by the record's class. */
void bus_emit_event_ended(struct bus *b, const struct event_record *r);
void bus_emit_activity_ended(struct bus *b, uint64_t id, const char *sensor, const char *class, uint64_t onset_usec,
                             uint64_t duration_usec);
void bus_emit_advisory(struct bus *b, const char *kind, const char *message, uint64_t time_usec);

/* The reply to the Calibrate call in progress. */
void bus_calibration_done(struct bus *b, const struct calibration_level *levels, size_t n);
void bus_calibration_failed(struct bus *b, int error, const char *message);

/* Sensor objects, /org/spasmd/Monitor1/sensor/NAME. */
int bus_sensor_add(struct bus *b, const char *name, const struct bus_sensor_info *info);
void bus_sensor_update(struct bus *b, const char *name, const struct bus_sensor_info *info);
void bus_sensor_remove(struct bus *b, const char *name);
