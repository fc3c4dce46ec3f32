/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * spasmctl sensors: one line per sensor with every Sensor1 property, in
 * columns, so that a carer can see at once which sensor is off the skin
 * or dropping samples, and a script can cut a column.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "bus.h"
#include "props.h"
#include "spasmctl.h"

enum {
        COL_NAME,
        COL_CONNECTED,
        COL_ROLE,
        COL_RATE,
        COL_CONTACT,
        COL_FLOOR,
        COL_MAINS,
        COL_DROPPED,
        COL_ACTIVITY,
        COL_CHANNELS,
        COL_URI,
        COL_STATUS,
        N_COLS,
};

static const char *const headers[N_COLS] = {
        "NAME", "CONNECTED", "ROLE", "RATE", "CONTACT", "FLOOR", "MAINS", "DROPPED", "ACTIVITY", "CHANNELS", "URI",
        "STATUS",
};

/* Columns of numbers line up on the right. */
#define RIGHT_ALIGNED \
        (1u << COL_RATE | 1u << COL_FLOOR | 1u << COL_MAINS | 1u << COL_DROPPED | 1u << COL_ACTIVITY)

static char *joined_channels(const struct sensor_props *s) {
        size_t len = 1;
        char *out;

        for (unsigned i = 0; i < s->n_channels; i++)
                len += strlen(s->channels[i]) + 1;
        out = malloc(len);
        if (!out)
                return NULL;
        out[0] = '\0';
        for (unsigned i = 0; i < s->n_channels; i++) {
                if (i)
                        strcat(out, ",");
                strcat(out, s->channels[i]);
        }
        return out;
}


/* The cells of one sensor; unset ones read "-". */
static int fill_row(const struct sensor_props *s, char *row[N_COLS]) {
        bool emg = strcmp(s->role, "imu") != 0;
        int r = 0;

        r |= props_cell(&row[COL_NAME], "%s", s->name);
        r |= props_cell(&row[COL_CONNECTED], "%s", s->connected ? "yes" : "no");
        r |= props_cell(&row[COL_ROLE], "%s", *s->role ? s->role : "-");
        if (s->sample_rate > 0)
                r |= props_cell(&row[COL_RATE], "%.0f Hz", s->sample_rate);
        else
                r |= props_cell(&row[COL_RATE], "-");
        r |= props_cell(&row[COL_CONTACT], "%s", *s->contact ? s->contact : "-");
        if (emg && s->noise_floor_uv > 0)
                r |= props_cell(&row[COL_FLOOR], "%.1f µV", s->noise_floor_uv);
        else
                r |= props_cell(&row[COL_FLOOR], "-");
        if (s->mains_hz > 0)
                r |= props_cell(&row[COL_MAINS], "%.0f Hz", s->mains_hz);
        else
                r |= props_cell(&row[COL_MAINS], "-");
        r |= props_cell(&row[COL_DROPPED], "%" PRIu64, s->dropped);
        if (emg && s->activity > 0)
                r |= props_cell(&row[COL_ACTIVITY], "%.1f×", s->activity);
        else
                r |= props_cell(&row[COL_ACTIVITY], "-");
        row[COL_CHANNELS] = s->n_channels ? joined_channels(s) : strdup("-");
        r |= props_cell(&row[COL_URI], "%s", *s->uri ? s->uri : "-");
        r |= props_cell(&row[COL_STATUS], "%s", s->status);
        for (int i = 0; i < N_COLS; i++)
                if (!row[i])
                        r = -ENOMEM;
        return r < 0 ? -ENOMEM : 0;
}

static int print_table(const struct sensor_list *l) {
        char **cells;
        int r = 0;

        if (l->n == 0) {
                puts("No sensors: spasmd waits for one to be configured (spasmd.conf(5)) or plugged in.");
                return EX_OK;
        }
        cells = calloc(l->n * N_COLS, sizeof *cells);
        if (!cells)
                return EX_OSERR;
        for (size_t i = 0; i < l->n && r == 0; i++)
                r = fill_row(&l->sensors[i], cells + i * N_COLS);
        if (r == 0)
                props_print_table(stdout, headers, N_COLS, RIGHT_ALIGNED, cells, l->n);
        for (size_t i = 0; i < l->n * N_COLS; i++)
                free(cells[i]);
        free(cells);
        if (r < 0) {
                fputs("spasmctl sensors: out of memory\n", stderr);
                return EX_OSERR;
        }
        return EX_OK;
}

static void print_json(const struct sensor_list *l) {
        fputc('[', stdout);
        for (size_t i = 0; i < l->n; i++) {
                if (i)
                        fputc(',', stdout);
                props_json_sensor(stdout, &l->sensors[i]);
        }
        fputs("]\n", stdout);
}

static void usage(FILE *f) {
        fputs("Usage: spasmctl sensors [--json] [--system|--user|--address=ADDR]\n"
              "\n"
              "List spasmd's sensors, one line each: whether it streams, its role, sample\n"
              "rate, electrode contact, resting level, mains hum, samples dropped, muscle\n"
              "activity now (a multiple of the resting level), channels, URI and status.\n"
              "\n"
              "  -j --json           one JSON array, each sensor's properties by their D-Bus names\n"
              "  -h --help           show this help\n"
              BUS_OPTIONS_HELP, f);
}

int verb_sensors(int argc, char **argv) {
        struct bus_target target = { .kind = BUS_SYSTEM };
        sd_bus_error error = SD_BUS_ERROR_NULL;
        struct sensor_list l = { .reply = NULL };
        sd_bus *bus = NULL;
        bool json = false;
        int r;

        r = verb_json_options("sensors", argc, argv, &target, &json, usage);
        if (r >= 0)
                return r;

        r = bus_connect(&target, "sensors", &bus);
        if (r != EX_OK)
                return r;
        r = props_get_sensors(bus, &error, &l);
        if (r < 0)
                r = props_failed(&target, "sensors", "listing spasmd's sensors", r, &error);
        else if (json) {
                print_json(&l);
                r = EX_OK;
        } else
                r = print_table(&l);
        sensor_list_done(&l);
        sd_bus_error_free(&error);
        sd_bus_flush_close_unref(bus);
        return r;
}
