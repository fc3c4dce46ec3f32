/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What spasmctl reads from spasmd, as structs: the Monitor1 properties, the
 * Sensor1 objects and GetEvents. Strings point into the reply they came
 * from, which the struct holds until its *_done(); they are never NULL.
 * Properties a spasmd does not have keep their zero value, so a spasmctl
 * newer than its daemon still shows what there is.
 *
 * The functions return 0 or a negative errno; on -EBADMSG the reply did
 * not have the contract's shape (props_failed() turns that into "bad
 * data"), anything else comes from the bus, with error set if it said why.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "bus.h"

#define SPASMD_SENSOR_INTERFACE "org.spasmd.Sensor1"

/* The struct (tssttddddss) of GetEvents and LastEvent. */
struct spasmd_event {
        uint64_t id;
        const char *class;
        const char *sensor;
        uint64_t onset_usec;
        uint64_t duration_usec;
        double peak_uv;
        double intensity;
        double mvc_pct;         /* -1 when uncalibrated */
        double pulse_hz;
        const char *side;
        const char *posture;
};

struct monitor_props {
        sd_bus_message *reply;
        const char *state;
        bool monitoring;
        struct {
                uint64_t id;    /* 0: nothing going on */
                const char *class;
                const char *sensor;
                uint64_t onset_usec;
        } active;
        uint32_t spasms_today;
        struct spasmd_event last;
        bool calibrated;
        struct {
                const char *kind; /* "" when none is in force */
                const char *message;
                uint64_t time_usec;
        } advisory;
        const char *history_status;
        const char *version;
};

struct sensor_props {
        const char *path;
        const char *name;
        const char *uri;
        const char *role;
        const char **channels;
        unsigned n_channels;
        double sample_rate;
        bool connected;
        const char *status;
        uint64_t dropped;
        double noise_floor_uv;
        double mains_hz;
        const char *contact;
        double activity;
};

struct sensor_list {
        sd_bus_message *reply;
        struct sensor_props *sensors; /* by name */
        size_t n;
};

struct event_list {
        sd_bus_message *reply;
        struct spasmd_event *events; /* by onset, oldest first */
        size_t n;
};

int props_get_monitor(sd_bus *bus, sd_bus_error *error, struct monitor_props *ret);
void monitor_props_done(struct monitor_props *p);

int props_get_sensors(sd_bus *bus, sd_bus_error *error, struct sensor_list *ret);
void sensor_list_done(struct sensor_list *l);

/*
 * Reads the a{sa{sv}} of one object's interfaces at m, as in
 * GetManagedObjects and InterfacesAdded: appends its Sensor1, if it has
 * one, to l, at path. Strings point into m.
 */
int props_read_object(sd_bus_message *m, const char *path, struct sensor_list *l);

/* Reads a Sensor1 a{sv} at m into s (path not set). Channel names go into a new s->channels. */
int props_read_sensor(sd_bus_message *m, struct sensor_props *s);
void sensor_props_done(struct sensor_props *s);

int props_get_events(sd_bus *bus, uint64_t since_usec, uint32_t limit, sd_bus_error *error,
                     struct event_list *ret);
void event_list_done(struct event_list *l);

/* bus_call_failed(), and "bad data" (EX_DATAERR) for a reply not shaped as the contract says. */
int props_failed(const struct bus_target *t, const char *verb, const char *what, int r, const sd_bus_error *error);

/* As JSON objects: an event by the XML's field names, a sensor by its property names. */
void props_json_event(FILE *f, const struct spasmd_event *e);
void props_json_sensor(FILE *f, const struct sensor_props *s);

/* "left"/"lying" etc. carry news; "" and "unknown" do not. */
bool props_known(const char *s);

/*
 * text on f, words wrapped before column width (80 when 0), every line but
 * the first indented by indent spaces: the first goes on from where the
 * caller left the cursor, at column first_column. Ends with a newline.
 */
void props_print_wrapped(FILE *f, const char *text, unsigned first_column, unsigned indent, unsigned width);

/*
 * Prints n_rows rows of n_cols cells (row-major, none NULL) under headers,
 * in columns two spaces apart; the columns in right_mask (bit c for column
 * c) are right-aligned, the last column is not padded.
 */
/* One table cell, formatted into a new string (*ret NULL and -ENOMEM when out of memory). */
__attribute__((format(printf, 2, 3)))
int props_cell(char **ret, const char *fmt, ...);

void props_print_table(FILE *f, const char *const *headers, unsigned n_cols, uint32_t right_mask,
                       char *const *cells, size_t n_rows);
