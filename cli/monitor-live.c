/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * spasmctl monitor's live line. Sensor1.Activity changes with every block
 * and is not announced, so it is polled, ten times a second and
 * asynchronously: a slow answer delays the bar, never an event line.
 *
 * The line never reaches the terminal's last column: a line that wrapped
 * could not be redrawn with \r.
 */

#include <errno.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "monitor-live.h"
#include "props.h"
#include "time-parse.h"

#define LIVE_SENSORS 16
#define LIVE_ACTIVE 8
#define POLL_USEC (100 * UINT64_C(1000))
/* A full bar is this many times the resting level (amplitude, as event intensity: a strong spasm is 20-50x);
 * logarithmic. */
#define BAR_FULL_SCALE 50.0

/* A sensor of the line, from GetManagedObjects and InterfacesAdded. */
struct live_sensor {
        bool used;
        char *path, *name;
        bool emg;
        bool unsupported;       /* a spasmd without Activity: stop asking */
        double activity;        /* NAN until known */
        sd_bus_slot *call;      /* the Get under way */
};

/* An activation under way, followed through the signals. */
struct live_event {
        uint64_t id;            /* 0: a free slot */
        bool spasm;
        uint64_t onset_usec;
};

struct live {
        sd_bus *bus;
        sd_event *event;
        sd_event_source *poll;
        sd_bus_slot *added, *removed;
        bool utf8;
        bool drawn;             /* the line is on the screen, the cursor at its end */
        struct live_sensor sensors[LIVE_SENSORS];
        struct live_event active[LIVE_ACTIVE];
};

/* A line that stops at the terminal's width: one that wrapped could not be redrawn with \r. */
struct line {
        char buf[1024];
        size_t len;
        unsigned cols, max_cols;
};

static void line_add(struct line *l, const char *s) {
        for (; *s; s++) {
                bool starts_char = ((unsigned char) *s & 0xC0) != 0x80;

                if (starts_char && l->cols >= l->max_cols)
                        return;
                if (l->len + 1 >= sizeof l->buf)
                        return;
                l->buf[l->len++] = *s;
                l->cols += starts_char;
        }
        l->buf[l->len] = '\0';
}

static unsigned text_cols(const char *s) {
        unsigned n = 0;

        for (; *s; s++)
                n += ((unsigned char) *s & 0xC0) != 0x80;
        return n;
}

/* The bar of a multiple of the resting level, width cells between brackets. */
static void add_bar(struct live *lv, struct line *l, double activity, unsigned width) {
        static const char *const eighths[8] = { "", "▏", "▎", "▍", "▌", "▋", "▊", "▉" };
        double f = activity > 1 ? log10(activity) / log10(BAR_FULL_SCALE) : 0;
        unsigned filled, cells = 0;

        if (!(f >= 0)) /* NaN: not known yet */
                f = 0;
        if (f > 1)
                f = 1;
        filled = (unsigned) lround(f * width * (lv->utf8 ? 8 : 1));
        line_add(l, "[");
        if (lv->utf8) {
                for (; filled >= 8; filled -= 8, cells++)
                        line_add(l, "█");
                if (filled > 0) {
                        line_add(l, eighths[filled]);
                        cells++;
                }
        } else
                for (; cells < filled; cells++)
                        line_add(l, "#");
        for (; cells < width; cells++)
                line_add(l, " ");
        line_add(l, "]");
}

/* What is going on: the spasm under way before any other activation. */
static const struct live_event *live_main_event(const struct live *lv) {
        const struct live_event *best = NULL;

        for (unsigned i = 0; i < LIVE_ACTIVE; i++)
                if (lv->active[i].id && (!best || (lv->active[i].spasm && !best->spasm)))
                        best = &lv->active[i];
        return best;
}

void live_clear(struct live *lv) {
        if (lv && lv->drawn) {
                fputs("\r\033[K", stdout);
                lv->drawn = false;
        }
}

void live_draw(struct live *lv) {
        const struct live_event *e;
        struct line l = { .len = 0 };
        char event[64] = "", value[32], t[TIME_TEXT_MAX];
        unsigned n = 0, fixed = 0, width;
        struct winsize ws;

        if (!lv)
                return;
        e = live_main_event(lv);
        l.max_cols = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 ? ws.ws_col - 1u : 79u;
        if (e)
                snprintf(event, sizeof event, "  %s #%" PRIu64 " %s", e->spasm ? "SPASM" : "activity", e->id,
                         time_format_duration(t, time_now_usec() > e->onset_usec ? time_now_usec() - e->onset_usec
                                                                                  : 0));
        for (unsigned i = 0; i < LIVE_SENSORS; i++)
                if (lv->sensors[i].used && lv->sensors[i].emg && !lv->sensors[i].unsupported) {
                        n++;
                        /* "name [" ... "] 100.0×", two spaces apart */
                        fixed += text_cols(lv->sensors[i].name) + 2 + 8 + (n > 1 ? 2 : 0);
                }
        fixed += text_cols(event);
        width = n && l.max_cols > fixed ? (l.max_cols - fixed) / n : 0;
        if (width > 40)
                width = 40;
        if (width < 3)
                width = 3;

        if (n == 0)
                line_add(&l, "no EMG sensor to show");
        for (unsigned i = 0, k = 0; i < LIVE_SENSORS; i++) {
                const struct live_sensor *s = &lv->sensors[i];

                if (!s->used || !s->emg || s->unsupported)
                        continue;
                if (k++)
                        line_add(&l, "  ");
                line_add(&l, s->name);
                line_add(&l, " ");
                add_bar(lv, &l, s->activity, width);
                /* 0 while paused or still learning the resting level: no number to show. */
                if (s->activity > 0)
                        snprintf(value, sizeof value, " %5.1f%s", s->activity, lv->utf8 ? "×" : "x");
                else
                        snprintf(value, sizeof value, "     - ");
                line_add(&l, value);
        }
        line_add(&l, event);
        fputs("\r\033[K", stdout);
        fputs(l.buf, stdout);
        lv->drawn = true;
        if (fflush(stdout) != 0 || ferror(stdout))
                sd_event_exit(lv->event, EX_IOERR);
}

void live_track(struct live *lv, const char *member, uint64_t id, uint64_t onset_usec) {
        struct live_event *free_slot = NULL;

        if (!lv || id == 0)
                return;
        for (unsigned i = 0; i < LIVE_ACTIVE; i++) {
                struct live_event *e = &lv->active[i];

                if (e->id == 0 && !free_slot)
                        free_slot = e;
                if (e->id != id)
                        continue;
                if (strcmp(member, "SpasmStarted") == 0)
                        e->spasm = true;
                else if (strcmp(member, "ActivityEnded") == 0)
                        *e = (struct live_event) { .id = 0 };
                return;
        }
        /* Eight at once is more than any body has muscles for here; a ninth goes unshown. */
        if (free_slot && (strcmp(member, "ActivityStarted") == 0 || strcmp(member, "SpasmStarted") == 0))
                *free_slot = (struct live_event) {
                        .id = id, .spasm = strcmp(member, "SpasmStarted") == 0, .onset_usec = onset_usec,
                };
}

static void live_sensor_free(struct live_sensor *s) {
        sd_bus_slot_unref(s->call);
        free(s->path);
        free(s->name);
        *s = (struct live_sensor) { .used = false };
}

static void live_add_sensor(struct live *lv, const struct sensor_props *p) {
        struct live_sensor *slot = NULL;

        for (unsigned i = 0; i < LIVE_SENSORS; i++) {
                if (lv->sensors[i].used && strcmp(lv->sensors[i].path, p->path) == 0)
                        return;
                if (!lv->sensors[i].used && !slot)
                        slot = &lv->sensors[i];
        }
        if (!slot)
                return; /* more sensors than fit on a line anyway */
        *slot = (struct live_sensor) {
                .used = true, .path = strdup(p->path), .name = strdup(p->name), .activity = NAN,
                .emg = strcmp(p->role, "imu") != 0,
        };
        if (!slot->path || !slot->name)
                live_sensor_free(slot);
}

static int on_interfaces_added(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct live *lv = userdata;
        struct sensor_list l = { .reply = NULL };
        const char *path;

        (void) ret_error;
        if (sd_bus_message_read_basic(m, 'o', &path) >= 0 && props_read_object(m, path, &l) >= 0)
                for (size_t i = 0; i < l.n; i++)
                        live_add_sensor(lv, &l.sensors[i]);
        sensor_list_done(&l);
        return 0;
}

static int on_interfaces_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct live *lv = userdata;
        const char *path;
        char **ifaces = NULL;

        (void) ret_error;
        if (sd_bus_message_read(m, "o", &path) < 0 || sd_bus_message_read_strv(m, &ifaces) < 0)
                return 0;
        for (char **i = ifaces; *i; i++)
                if (strcmp(*i, SPASMD_SENSOR_INTERFACE) == 0)
                        for (unsigned k = 0; k < LIVE_SENSORS; k++)
                                if (lv->sensors[k].used && strcmp(lv->sensors[k].path, path) == 0)
                                        live_sensor_free(&lv->sensors[k]);
        for (char **i = ifaces; *i; i++)
                free(*i);
        free(ifaces);
        return 0;
}

static int on_activity(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct live_sensor *s = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        double v;

        (void) ret_error;
        s->call = sd_bus_slot_unref(s->call);
        if (e)
                s->unsupported = sd_bus_error_has_names(e, SD_BUS_ERROR_UNKNOWN_PROPERTY,
                                                        SD_BUS_ERROR_UNKNOWN_INTERFACE, SD_BUS_ERROR_UNKNOWN_OBJECT);
        else if (sd_bus_message_read(m, "v", "d", &v) > 0)
                s->activity = v;
        return 0;
}

static int on_poll(sd_event_source *src, uint64_t usec, void *userdata) {
        struct live *lv = userdata;
        int r;

        live_draw(lv);
        for (unsigned i = 0; i < LIVE_SENSORS; i++) {
                struct live_sensor *s = &lv->sensors[i];

                /* One question at a time per sensor: a busy daemon is not sent a queue of them. */
                if (!s->used || !s->emg || s->unsupported || s->call)
                        continue;
                (void) sd_bus_call_method_async(lv->bus, &s->call, SPASMD_BUS_NAME, s->path,
                                                "org.freedesktop.DBus.Properties", "Get", on_activity, s, "ss",
                                                SPASMD_SENSOR_INTERFACE, "Activity");
        }
        /* A time source is one-shot: set it again for the next round. */
        r = sd_event_source_set_time(src, usec + POLL_USEC);
        return r < 0 ? r : sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
}

int live_new(sd_bus *bus, sd_event *event, const struct bus_target *target, struct live **ret) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        struct sensor_list l = { .reply = NULL };
        struct live *lv;
        uint64_t now;
        int r;

        lv = calloc(1, sizeof *lv);
        if (!lv)
                return EX_OSERR;
        lv->bus = sd_bus_ref(bus);
        lv->event = sd_event_ref(event);
        /* Only the character set: LC_NUMERIC would put commas into the numbers. */
        setlocale(LC_CTYPE, "");
        lv->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;

        r = sd_bus_match_signal(bus, &lv->added, SPASMD_BUS_NAME, SPASMD_BUS_PATH,
                                "org.freedesktop.DBus.ObjectManager", "InterfacesAdded", on_interfaces_added, lv);
        if (r >= 0)
                r = sd_bus_match_signal(bus, &lv->removed, SPASMD_BUS_NAME, SPASMD_BUS_PATH,
                                        "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
                                        on_interfaces_removed, lv);
        if (r >= 0)
                r = props_get_sensors(bus, &error, &l);
        if (r < 0) {
                r = props_failed(target, "monitor", "listing spasmd's sensors", r, &error);
                sd_bus_error_free(&error);
                live_free(lv);
                return r;
        }
        for (size_t i = 0; i < l.n; i++)
                live_add_sensor(lv, &l.sensors[i]);
        sensor_list_done(&l);

        r = sd_event_now(event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(event, &lv->poll, CLOCK_MONOTONIC, now, 0, on_poll, lv);
        if (r < 0) {
                fprintf(stderr, "spasmctl monitor: cannot set up the live view: %s\n", strerror(-r));
                live_free(lv);
                return EX_OSERR;
        }
        *ret = lv;
        return EX_OK;
}

struct live *live_free(struct live *lv) {
        if (!lv)
                return NULL;
        for (unsigned i = 0; i < LIVE_SENSORS; i++)
                live_sensor_free(&lv->sensors[i]);
        sd_event_source_disable_unref(lv->poll);
        sd_bus_slot_unref(lv->added);
        sd_bus_slot_unref(lv->removed);
        sd_event_unref(lv->event);
        sd_bus_unref(lv->bus);
        free(lv);
        return NULL;
}
