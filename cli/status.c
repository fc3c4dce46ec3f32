/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * spasmctl status: spasmd at a glance, for the person wearing the sensors
 * or a carer: is it watching, is every sensor on the skin and streaming,
 * what happened today, and any advisory, whole.
 *
 * Today's counts come from the history, so they cover twitches and
 * voluntary movements too; SpasmsToday alone is the fallback when the
 * history cannot be read.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "bus.h"
#include "json.h"
#include "props.h"
#include "spasmctl.h"
#include "time-parse.h"

#define TODAY_LIMIT 10000
/* A no-break space, so that wrapping never parts a number from its unit. */
#define NBSP "\xc2\xa0"
#define LABEL_WIDTH 13

struct today {
        bool known;             /* false: the history could not be read */
        uint64_t since_usec;
        unsigned spasm, twitch, voluntary;
        bool truncated;         /* more than TODAY_LIMIT events today */
};

struct status {
        struct bus_target target;
        bool json;
        sd_bus *bus;
        struct monitor_props props;
        struct sensor_list sensors;
        struct today today;
};

static int count_today(struct status *st) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        struct event_list l = { .reply = NULL };
        int r;

        r = time_local_day_start(time_now_usec(), 0, &st->today.since_usec);
        if (r < 0)
                return EX_OK; /* no local midnight to count from: SpasmsToday says enough */
        r = props_get_events(st->bus, st->today.since_usec, TODAY_LIMIT, &error, &l);
        if (r < 0) {
                /* No history is news for the History line, not a failure of status. */
                if (sd_bus_error_has_name(&error, "org.spasmd.Error.HistoryUnavailable")) {
                        sd_bus_error_free(&error);
                        return EX_OK;
                }
                r = props_failed(&st->target, "status", "reading today's events", r, &error);
                sd_bus_error_free(&error);
                return r;
        }
        st->today.known = true;
        st->today.truncated = l.n >= TODAY_LIMIT;
        for (size_t i = 0; i < l.n; i++) {
                const char *c = l.events[i].class;

                if (strcmp(c, "spasm") == 0)
                        st->today.spasm++;
                else if (strcmp(c, "twitch") == 0)
                        st->today.twitch++;
                else if (strcmp(c, "voluntary") == 0)
                        st->today.voluntary++;
        }
        event_list_done(&l);
        return EX_OK;
}

static int gather(struct status *st) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = bus_connect(&st->target, "status", &st->bus);
        if (r != EX_OK)
                return r;
        r = props_get_monitor(st->bus, &error, &st->props);
        if (r < 0) {
                r = props_failed(&st->target, "status", "reading spasmd's properties", r, &error);
                sd_bus_error_free(&error);
                return r;
        }
        r = props_get_sensors(st->bus, &error, &st->sensors);
        if (r < 0) {
                r = props_failed(&st->target, "status", "listing spasmd's sensors", r, &error);
                sd_bus_error_free(&error);
                return r;
        }
        return count_today(st);
}

/* --- human output ------------------------------------------------------------------ */

static void label(const char *name) {
        printf("%*s%s ", LABEL_WIDTH - (int) strlen(name), "", name);
}

static const char *plural(unsigned n, const char *one, const char *many) {
        return n == 1 ? one : many;
}

/* "today 10:22:03" or "2026-11-24 10:22:03". */
static const char *when(char buf[static TIME_TEXT_MAX], uint64_t usec) {
        uint64_t today;
        char t[TIME_TEXT_MAX];

        if (time_local_day_start(time_now_usec(), 0, &today) >= 0 && usec >= today)
                snprintf(buf, TIME_TEXT_MAX, "today %s", time_format(t, TIME_CLOCK, usec));
        else
                time_format(buf, TIME_DATE_CLOCK, usec);
        return buf;
}

static const char *describe_state(const char *state) {
        if (strcmp(state, "idle") == 0)
                return "idle (paused, or no EMG sensor streaming)";
        if (strcmp(state, "activity") == 0)
                return "monitoring, an activation under way";
        if (strcmp(state, "spasm") == 0)
                return "monitoring, a spasm under way";
        return state;
}

/* What a person can do about the electrodes, from ElectrodeContact. */
static const char *describe_contact(const char *contact) {
        if (strcmp(contact, "good") == 0)
                return "electrode contact good";
        if (strcmp(contact, "poor") == 0)
                return "electrode contact POOR (check the electrodes sit firmly)";
        if (strcmp(contact, "off") == 0)
                return "electrodes OFF (not on the skin, or a lead is loose)";
        return "electrode contact not known yet";
}

static void print_sensor(const struct sensor_props *s, bool first) {
        unsigned indent = LABEL_WIDTH + 1;
        char text[512];
        size_t len;

        if (first)
                label("Sensors:");
        else
                printf("%*s", (int) indent, "");
        len = (size_t) snprintf(text, sizeof text, "%s: ", s->name);
        if (!s->connected)
                len += (size_t) snprintf(text + len, sizeof text - len, "NOT CONNECTED");
        else {
                len += (size_t) snprintf(text + len, sizeof text - len, "connected (%s)", s->role);
                if (strcmp(s->role, "imu") != 0) {
                        len += (size_t) snprintf(text + len, sizeof text - len, ", %s", describe_contact(s->contact));
                        if (s->noise_floor_uv > 0)
                                len += (size_t) snprintf(text + len, sizeof text - len, ", resting level %.1f" NBSP "µV",
                                                         s->noise_floor_uv);
                        if (s->mains_hz > 0)
                                len += (size_t) snprintf(text + len, sizeof text - len, ", %.0f" NBSP "Hz mains hum",
                                                         s->mains_hz);
                }
        }
        if (len < sizeof text)
                snprintf(text + len, sizeof text - len, ", %" PRIu64 " %s dropped", s->dropped,
                         s->dropped == 1 ? "sample" : "samples");
        props_print_wrapped(stdout, text, indent, indent + 2, 80);
        if (*s->status) {
                printf("%*s", (int) indent + 2, "");
                props_print_wrapped(stdout, s->status, indent + 2, indent + 2, 80);
        }
}

static void print_human(const struct status *st) {
        const struct monitor_props *p = &st->props;
        char a[TIME_TEXT_MAX], b[TIME_TEXT_MAX];

        printf("spasmd %s on %s\n", *p->version ? p->version : "(version unknown)", bus_target_describe(&st->target));
        label("State:");
        printf("%s\n", describe_state(p->state));
        label("Monitoring:");
        printf("%s\n", p->monitoring ? "on" : "PAUSED");
        label("Now:");
        if (p->active.id == 0)
                printf("nothing going on\n");
        else
                printf("#%" PRIu64 " %s on %s since %s (%s)\n", p->active.id,
                       strcmp(p->active.class, "pending") == 0 ? "activity, class not decided yet" : p->active.class,
                       p->active.sensor, time_format(a, TIME_CLOCK, p->active.onset_usec),
                       time_format_duration(b, time_now_usec() > p->active.onset_usec
                                                       ? time_now_usec() - p->active.onset_usec : 0));
        label("Today:");
        if (st->today.known)
                printf("%u %s, %u %s, %u voluntary %s%s\n", st->today.spasm, plural(st->today.spasm, "spasm", "spasms"),
                       st->today.twitch, plural(st->today.twitch, "twitch", "twitches"), st->today.voluntary,
                       plural(st->today.voluntary, "movement", "movements"),
                       st->today.truncated ? " (at least: too many to count)" : "");
        else
                printf("%" PRIu32 " %s (the history cannot be read for more)\n", p->spasms_today,
                       plural(p->spasms_today, "spasm", "spasms"));
        label("Last event:");
        if (p->last.id == 0)
                printf("none yet\n");
        else
                printf("#%" PRIu64 " %s on %s, %s, %s\n", p->last.id, p->last.class, p->last.sensor,
                       when(a, p->last.onset_usec), time_format_duration(b, p->last.duration_usec));
        label("Calibrated:");
        printf("%s\n", p->calibrated ? "yes (events show % of the maximum contraction)"
                                     : "no ('spasmctl calibrate max' measures the maximum contraction)");
        label("History:");
        printf("%s\n", p->history_status);
        if (st->sensors.n == 0) {
                label("Sensors:");
                printf("none (spasmd waits for a sensor to be configured or plugged in)\n");
        }
        for (size_t i = 0; i < st->sensors.n; i++)
                print_sensor(&st->sensors.sensors[i], i == 0);
        label("Advisory:");
        if (!*p->advisory.kind)
                printf("none\n");
        else {
                printf("%s, %s\n%*s", p->advisory.kind, when(a, p->advisory.time_usec), LABEL_WIDTH + 1, "");
                props_print_wrapped(stdout, p->advisory.message, LABEL_WIDTH + 1, LABEL_WIDTH + 1, 80);
        }
}

/* --- JSON output ------------------------------------------------------------------- */

static void print_json(const struct status *st) {
        const struct monitor_props *p = &st->props;

        fputs("{\"properties\":{\"State\":", stdout);
        json_write_string(stdout, p->state);
        printf(",\"Monitoring\":%s,\"ActiveEvent\":", p->monitoring ? "true" : "false");
        if (p->active.id == 0)
                fputs("null", stdout);
        else {
                printf("{\"id\":%" PRIu64 ",\"class\":", p->active.id);
                json_write_string(stdout, p->active.class);
                fputs(",\"sensor\":", stdout);
                json_write_string(stdout, p->active.sensor);
                printf(",\"onset_usec\":%" PRIu64 "}", p->active.onset_usec);
        }
        printf(",\"SpasmsToday\":%" PRIu32 ",\"LastEvent\":", p->spasms_today);
        if (p->last.id == 0)
                fputs("null", stdout);
        else
                props_json_event(stdout, &p->last);
        printf(",\"Calibrated\":%s,\"ActiveAdvisory\":", p->calibrated ? "true" : "false");
        if (!*p->advisory.kind)
                fputs("null", stdout);
        else {
                fputs("{\"kind\":", stdout);
                json_write_string(stdout, p->advisory.kind);
                fputs(",\"message\":", stdout);
                json_write_string(stdout, p->advisory.message);
                printf(",\"time_usec\":%" PRIu64 "}", p->advisory.time_usec);
        }
        fputs(",\"HistoryStatus\":", stdout);
        json_write_string(stdout, p->history_status);
        fputs(",\"Version\":", stdout);
        json_write_string(stdout, p->version);
        fputs("},\"today\":", stdout);
        if (!st->today.known)
                fputs("null", stdout);
        else
                printf("{\"since_usec\":%" PRIu64 ",\"spasm\":%u,\"twitch\":%u,\"voluntary\":%u,\"complete\":%s}",
                       st->today.since_usec, st->today.spasm, st->today.twitch, st->today.voluntary,
                       st->today.truncated ? "false" : "true");
        fputs(",\"sensors\":[", stdout);
        for (size_t i = 0; i < st->sensors.n; i++) {
                if (i)
                        fputc(',', stdout);
                props_json_sensor(stdout, &st->sensors.sensors[i]);
        }
        fputs("]}\n", stdout);
}

static void usage(FILE *f) {
        fputs("Usage: spasmctl status [--json] [--system|--user|--address=ADDR]\n"
              "\n"
              "Show spasmd's state: whether it is monitoring, the event under way, today's\n"
              "counts, the last event, each sensor's connection and signal quality, and the\n"
              "advisory in force, if any.\n"
              "\n"
              "  -j --json           one JSON object: the properties by their D-Bus names,\n"
              "                      today's counts and the sensors\n"
              "  -h --help           show this help\n"
              BUS_OPTIONS_HELP, f);
}

int verb_status(int argc, char **argv) {
        struct status st = { .target = { .kind = BUS_SYSTEM } };
        int r;

        r = verb_json_options("status", argc, argv, &st.target, &st.json, usage);
        if (r >= 0)
                return r;

        r = gather(&st);
        if (r == EX_OK) {
                if (st.json)
                        print_json(&st);
                else
                        print_human(&st);
        }
        monitor_props_done(&st.props);
        sensor_list_done(&st.sensors);
        sd_bus_flush_close_unref(st.bus);
        return r;
}
