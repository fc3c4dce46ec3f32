/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * spasmctl events: the durable history, from GetEvents, oldest first.
 *
 * GetEvents answers with the newest LIMIT events from SINCE on. When that
 * cut something off and the user did not choose the limit, say so: a
 * carer reading "12 events since yesterday" must not be shown 100 of 140
 * without knowing.
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
#include "time-parse.h"

#define DEFAULT_LIMIT 100
#define MAX_LIMIT 10000 /* GetEvents' own */

enum {
        COL_ID,
        COL_DATE,
        COL_ONSET,
        COL_CLASS,
        COL_SENSOR,
        COL_DURATION,
        COL_PEAK,
        COL_INTENSITY,
        COL_MVC,
        COL_PULSE,
        COL_SIDE,
        COL_POSTURE,
        N_COLS,
};

static const char *const headers[N_COLS] = {
        "ID", "DATE", "ONSET", "CLASS", "SENSOR", "DURATION", "PEAK", "INTENSITY", "OF MAX", "PULSING", "SIDE",
        "POSTURE",
};

#define RIGHT_ALIGNED \
        (1u << COL_ID | 1u << COL_DURATION | 1u << COL_PEAK | 1u << COL_INTENSITY | 1u << COL_MVC | 1u << COL_PULSE)

struct options {
        struct bus_target target;
        bool json;
        bool have_since;
        const char *since_arg;
        uint64_t since_usec;
        unsigned limit;
        bool limit_given;
};


static int fill_row(const struct spasmd_event *e, char *row[N_COLS]) {
        char t[TIME_TEXT_MAX];
        int r = 0;

        r |= props_cell(&row[COL_ID], "%" PRIu64, e->id);
        r |= props_cell(&row[COL_DATE], "%s", time_format(t, TIME_DATE, e->onset_usec));
        r |= props_cell(&row[COL_ONSET], "%s", time_format(t, TIME_CLOCK, e->onset_usec));
        r |= props_cell(&row[COL_CLASS], "%s", e->class);
        r |= props_cell(&row[COL_SENSOR], "%s", e->sensor);
        r |= props_cell(&row[COL_DURATION], "%s", time_format_duration(t, e->duration_usec));
        r |= props_cell(&row[COL_PEAK], "%.1f µV", e->peak_uv);
        r |= props_cell(&row[COL_INTENSITY], "%.1f×", e->intensity);
        if (e->mvc_pct >= 0)
                r |= props_cell(&row[COL_MVC], "%.0f%%", e->mvc_pct);
        else
                r |= props_cell(&row[COL_MVC], "-");
        if (e->pulse_hz > 0)
                r |= props_cell(&row[COL_PULSE], "%.1f Hz", e->pulse_hz);
        else
                r |= props_cell(&row[COL_PULSE], "-");
        r |= props_cell(&row[COL_SIDE], "%s", props_known(e->side) ? e->side : "-");
        r |= props_cell(&row[COL_POSTURE], "%s", props_known(e->posture) ? e->posture : "-");
        return r < 0 ? -ENOMEM : 0;
}

static const char *plural(size_t n, const char *one, const char *many) {
        return n == 1 ? one : many;
}

static void print_summary(const struct options *o, const struct event_list *l) {
        size_t spasm = 0, twitch = 0, voluntary = 0;
        char t[TIME_TEXT_MAX];

        for (size_t i = 0; i < l->n; i++) {
                if (strcmp(l->events[i].class, "spasm") == 0)
                        spasm++;
                else if (strcmp(l->events[i].class, "twitch") == 0)
                        twitch++;
                else if (strcmp(l->events[i].class, "voluntary") == 0)
                        voluntary++;
        }
        printf("%zu %s", l->n, plural(l->n, "event", "events"));
        if (o->have_since)
                printf(" since %s", time_format(t, TIME_DATE_CLOCK, o->since_usec));
        printf(": %zu %s, %zu %s, %zu voluntary %s\n", spasm, plural(spasm, "spasm", "spasms"), twitch,
               plural(twitch, "twitch", "twitches"), voluntary, plural(voluntary, "movement", "movements"));
}

static int print_human(const struct options *o, const struct event_list *l) {
        char t[TIME_TEXT_MAX];
        char **cells;
        int r = 0;

        if (l->n == 0) {
                if (o->have_since)
                        printf("No events since %s.\n", time_format(t, TIME_DATE_CLOCK, o->since_usec));
                else
                        puts("No events in the history yet.");
                return EX_OK;
        }
        cells = calloc(l->n * N_COLS, sizeof *cells);
        if (!cells)
                return EX_OSERR;
        for (size_t i = 0; i < l->n && r == 0; i++)
                r = fill_row(&l->events[i], cells + i * N_COLS);
        for (size_t i = 0; i < l->n * N_COLS && r == 0; i++)
                if (!cells[i])
                        r = -ENOMEM;
        if (r == 0) {
                props_print_table(stdout, headers, N_COLS, RIGHT_ALIGNED, cells, l->n);
                print_summary(o, l);
        }
        for (size_t i = 0; i < l->n * N_COLS; i++)
                free(cells[i]);
        free(cells);
        if (r < 0) {
                fputs("spasmctl events: out of memory\n", stderr);
                return EX_OSERR;
        }
        return EX_OK;
}

static int run(const struct options *o) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        struct event_list l = { .reply = NULL };
        sd_bus *bus = NULL;
        int r;

        r = bus_connect(&o->target, "events", &bus);
        if (r != EX_OK)
                return r;
        r = props_get_events(bus, o->since_usec, o->limit, &error, &l);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, "org.spasmd.Error.HistoryUnavailable")) {
                        fprintf(stderr, "spasmctl events: %s\n"
                                "'spasmctl status' shows why the history is not being saved.\n", error.message);
                        r = EX_UNAVAILABLE;
                } else
                        r = props_failed(&o->target, "events", "reading the history", r, &error);
                goto out;
        }
        if (o->json) {
                for (size_t i = 0; i < l.n; i++) {
                        props_json_event(stdout, &l.events[i]);
                        fputc('\n', stdout);
                }
                r = EX_OK;
        } else
                r = print_human(o, &l);
        if (r == EX_OK && l.n >= o->limit && !o->limit_given)
                fprintf(stderr, "spasmctl events: only the newest %u are shown; --limit (up to %d) or --since "
                        "choose others\n", o->limit, MAX_LIMIT);
out:
        event_list_done(&l);
        sd_bus_error_free(&error);
        sd_bus_flush_close_unref(bus);
        return r;
}

static void usage(FILE *f) {
        fputs("Usage: spasmctl events [--since TIME] [--limit N] [--json] [--system|--user|--address=ADDR]\n"
              "\n"
              "Show the event history, oldest first: spasms, twitches and voluntary movements.\n"
              "\n"
              "  -S --since=TIME     only events that began at TIME or later; TIME is like\n"
              "                      30m, 2h, 3d, 1w (that long ago), today, yesterday,\n"
              "                      2026-11-24, 2026-11-24T08:00, or @1700000000 (epoch)\n"
              "  -n --limit=N        the newest N events (1 to 10000; 100 unless given)\n"
              "  -j --json           one JSON object per line and event, by the D-Bus field names\n"
              "  -h --help           show this help\n"
              BUS_OPTIONS_HELP, f);
}

int verb_events(int argc, char **argv) {
        static const struct option options[] = {
                { "since", required_argument, NULL, 'S' },
                { "limit", required_argument, NULL, 'n' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                BUS_GETOPT_OPTIONS,
                { NULL, 0, NULL, 0 },
        };
        struct options o = { .target = { .kind = BUS_SYSTEM }, .limit = DEFAULT_LIMIT };
        int c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":S:n:jh", options, NULL)) >= 0) {
                if (bus_parse_option(&o.target, c, optarg))
                        continue;
                switch (c) {
                case 'S':
                        o.since_arg = optarg;
                        break;
                case 'n':
                        r = verb_parse_unsigned("events", "--limit", optarg, 1, MAX_LIMIT, &o.limit);
                        if (r != EX_OK)
                                return r;
                        o.limit_given = true;
                        break;
                case 'j':
                        o.json = true;
                        break;
                case 'h':
                        usage(stdout);
                        return EX_OK;
                default:
                        return verb_bad_option("events", c, argv, usage);
                }
        }
        if (optind < argc) {
                fprintf(stderr, "spasmctl events: unexpected argument '%s'\n", argv[optind]);
                usage(stderr);
                return EX_USAGE;
        }
        if (o.since_arg) {
                r = time_parse(o.since_arg, time_now_usec(), &o.since_usec);
                if (r < 0) {
                        fprintf(stderr, "spasmctl events: --since '%s' %s; TIME is one of " TIME_FORMS "\n",
                                o.since_arg, r == -ERANGE ? "is out of range" : "is not a time");
                        return EX_USAGE;
                }
                o.have_since = true;
        }
        return run(&o);
}
