/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * spasmctl report: the spasms of the last days, summed up for a person or
 * a carer to take to an appointment: per day, by time of day, and whether
 * they come more often than before.
 *
 * The report says when its numbers are a reason to contact a doctor, by
 * fixed rules a reader can check (REPORT_* below, and spasmctl(1)), and
 * always that spasmd gives no medical advice. Days run from local
 * midnight to midnight, so "Tuesday" means what the reader thinks it does,
 * summer time or not.
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

#define DEFAULT_DAYS 7
#define MAX_DAYS 366
#define MAX_EVENTS 10000 /* GetEvents' limit */

/* More spasms than this in one day, or one longer than this, is a reason to contact a doctor. */
#define REPORT_SPASMS_PER_DAY 5
#define REPORT_LONG_USEC (10 * 60 * UINT64_C(1000000))
/* Rising: the later half has at least this many more spasms than the earlier, and half as many again. */
#define TREND_MIN_DIFFERENCE 3

#define URGENT_SIGNS \
        "Seek urgent care for numbness, loss of bladder or bowel control, fever, weakness in the legs, " \
        "or pain after a fall: the sensors cannot see these."
#define NOT_ADVICE "spasmd informs; it does not diagnose and does not give medical advice."

struct day {
        uint64_t start_usec;
        unsigned spasms, twitches, voluntary;
        uint64_t total_usec, longest_usec;
};

enum trend {
        TREND_NONE,     /* a period of one day has no halves */
        TREND_UNKNOWN,  /* the history begins within the period */
        TREND_STEADY,
        TREND_RISING,
        TREND_FALLING,
};

static const char *const trend_names[] = {
        [TREND_NONE] = "", [TREND_UNKNOWN] = "unknown", [TREND_STEADY] = "steady", [TREND_RISING] = "rising", [TREND_FALLING] = "falling",
};

enum { NIGHT, MORNING, AFTERNOON, EVENING, N_PARTS };

static const char *const part_names[N_PARTS] = { "night", "morning", "afternoon", "evening" };
static const char *const part_hours[N_PARTS] = { "0-6 h", "6-12 h", "12-18 h", "18-24 h" };

struct report {
        struct bus_target target;
        bool json;
        unsigned n_days;
        struct day *days;
        uint64_t end_usec;              /* the start of tomorrow */
        bool complete;                  /* false when GetEvents' limit cut off the oldest */
        bool covered;                   /* the history goes back beyond the period */
        unsigned spasms;
        uint64_t total_usec;
        const struct spasmd_event *longest;
        unsigned parts[N_PARTS];
        unsigned hours[24];
        unsigned half_days, first_half, last_half;
        enum trend trend;
        struct event_list events;
        struct monitor_props props;
};

static int setup_days(struct report *rp) {
        uint64_t now = time_now_usec();
        int r;

        rp->days = calloc(rp->n_days, sizeof *rp->days);
        if (!rp->days)
                return -ENOMEM;
        for (unsigned k = 0; k < rp->n_days; k++) {
                r = time_local_day_start(now, (int) k - (int) (rp->n_days - 1), &rp->days[k].start_usec);
                if (r < 0)
                        return r;
        }
        return time_local_day_start(now, 1, &rp->end_usec);
}

/* The day an onset falls on, or -1 outside the period. */
static int day_of(const struct report *rp, uint64_t onset) {
        if (onset < rp->days[0].start_usec || onset >= rp->end_usec)
                return -1;
        for (unsigned k = rp->n_days; k-- > 0;)
                if (onset >= rp->days[k].start_usec)
                        return (int) k;
        return -1;
}

static void tally(struct report *rp) {
        rp->complete = rp->events.n < MAX_EVENTS;
        for (size_t i = 0; i < rp->events.n; i++) {
                const struct spasmd_event *e = &rp->events.events[i];
                int k = day_of(rp, e->onset_usec), hour;
                struct day *d;

                if (k < 0)
                        continue;
                d = &rp->days[k];
                if (strcmp(e->class, "twitch") == 0)
                        d->twitches++;
                else if (strcmp(e->class, "voluntary") == 0)
                        d->voluntary++;
                if (strcmp(e->class, "spasm") != 0)
                        continue;
                d->spasms++;
                d->total_usec += e->duration_usec;
                if (e->duration_usec > d->longest_usec)
                        d->longest_usec = e->duration_usec;
                rp->spasms++;
                rp->total_usec += e->duration_usec;
                if (!rp->longest || e->duration_usec > rp->longest->duration_usec)
                        rp->longest = e;
                hour = time_local_hour(e->onset_usec);
                if (hour >= 0 && hour < 24) {
                        rp->hours[hour]++;
                        rp->parts[hour / 6]++;
                }
        }

        /* With an odd number of days the middle one is in neither half, so both halves are as long. */
        rp->half_days = rp->n_days / 2;
        if (rp->half_days == 0)
                return;
        for (unsigned k = 0; k < rp->half_days; k++) {
                rp->first_half += rp->days[k].spasms;
                rp->last_half += rp->days[rp->n_days - 1 - k].spasms;
        }
        /*
         * A history that begins within the period has an empty start because
         * spasmd was not watching yet: that is no rise.
         */
        if (!rp->covered)
                rp->trend = TREND_UNKNOWN;
        else if (rp->last_half >= rp->first_half + TREND_MIN_DIFFERENCE && 2 * rp->last_half >= 3 * rp->first_half)
                rp->trend = TREND_RISING;
        else if (rp->first_half >= rp->last_half + TREND_MIN_DIFFERENCE && 2 * rp->first_half >= 3 * rp->last_half)
                rp->trend = TREND_FALLING;
        else
                rp->trend = TREND_STEADY;
}

static int busiest_hour(const struct report *rp) {
        int best = -1;

        for (int h = 0; h < 24; h++)
                if (rp->hours[h] > 0 && (best < 0 || rp->hours[h] > rp->hours[best]))
                        best = h;
        return best;
}

/*
 * Calls reason() once per reason to contact a doctor; returns how many.
 * The same rules for the text and the JSON, so they cannot disagree.
 */
static unsigned reasons(const struct report *rp, void (*reason)(const char *text, void *userdata), void *userdata) {
        char text[256], a[TIME_TEXT_MAX], b[TIME_TEXT_MAX];
        unsigned n = 0;

        for (unsigned k = 0; k < rp->n_days; k++)
                if (rp->days[k].spasms > REPORT_SPASMS_PER_DAY) {
                        snprintf(text, sizeof text, "%u spasms on %s, more than %d in a day", rp->days[k].spasms,
                                 time_format(a, TIME_DAY, rp->days[k].start_usec), REPORT_SPASMS_PER_DAY);
                        reason(text, userdata);
                        n++;
                }
        for (size_t i = 0; i < rp->events.n; i++) {
                const struct spasmd_event *e = &rp->events.events[i];

                if (strcmp(e->class, "spasm") == 0 && e->duration_usec > REPORT_LONG_USEC &&
                    day_of(rp, e->onset_usec) >= 0) {
                        snprintf(text, sizeof text, "a spasm of %s on %s, longer than %u minutes",
                                 time_format_duration(a, e->duration_usec),
                                 time_format(b, TIME_DAY, e->onset_usec),
                                 (unsigned) (REPORT_LONG_USEC / 60000000));
                        reason(text, userdata);
                        n++;
                }
        }
        if (rp->trend == TREND_RISING) {
                snprintf(text, sizeof text, "spasms are becoming more frequent: %u in the last %u %s, %u in the first",
                         rp->last_half, rp->half_days, rp->half_days == 1 ? "day" : "days", rp->first_half);
                reason(text, userdata);
                n++;
        }
        return n;
}

/* --- human output ------------------------------------------------------------------ */

static void count_reason(const char *text, void *userdata) {
        (void) text;
        (void) userdata;
}

static void print_reason(const char *text, void *userdata) {
        (void) userdata;
        printf("  - ");
        props_print_wrapped(stdout, text, 4, 4, 80);
}

static void print_days(const struct report *rp) {
        char d[TIME_TEXT_MAX], t[TIME_TEXT_MAX], l[TIME_TEXT_MAX];

        printf("  %-15s %6s  %-11s %-11s %8s  %9s\n", "DAY", "SPASMS", "TOTAL", "LONGEST", "TWITCHES", "VOLUNTARY");
        for (unsigned k = 0; k < rp->n_days; k++) {
                const struct day *day = &rp->days[k];

                printf("  %-15s %6u  %-11s %-11s %8u  %9u\n", time_format(d, TIME_DAY, day->start_usec), day->spasms,
                       day->spasms ? time_format_duration(t, day->total_usec) : "-",
                       day->spasms ? time_format_duration(l, day->longest_usec) : "-", day->twitches,
                       day->voluntary);
        }
}

static void print_human(const struct report *rp) {
        char a[TIME_TEXT_MAX], b[TIME_TEXT_MAX];
        int hour = busiest_hour(rp);

        printf("Spasms over the last %u %s, %s to %s (today so far)\n\n", rp->n_days, rp->n_days == 1 ? "day" : "days",
               time_format(a, TIME_DAY, rp->days[0].start_usec),
               time_format(b, TIME_DAY, rp->days[rp->n_days - 1].start_usec));
        print_days(rp);
        putchar('\n');
        if (!rp->complete)
                printf("More than %d events: only the newest are counted, the earliest days are incomplete.\n",
                       MAX_EVENTS);

        printf("In all: %u %s", rp->spasms, rp->spasms == 1 ? "spasm" : "spasms");
        if (rp->longest) {
                printf(", %s together; the longest %s", time_format_duration(a, rp->total_usec),
                       time_format_duration(b, rp->longest->duration_usec));
                printf(", %s", time_format(a, TIME_DAY, rp->longest->onset_usec));
                printf(" at %s", time_format(b, TIME_HOUR_MINUTE, rp->longest->onset_usec));
        }
        printf(".\n");
        if (rp->spasms > 0) {
                char text[256];
                size_t len = 0;

                for (int p = 0; p < N_PARTS; p++)
                        len += (size_t) snprintf(text + len, sizeof text - len, "%s %s (%s) %u", p ? "," : "Time of day:",
                                                 part_names[p], part_hours[p], rp->parts[p]);
                snprintf(text + len, sizeof text - len, "; most in the hour from %02d:00.", hour);
                props_print_wrapped(stdout, text, 0, 2, 80);
        }
        if (rp->trend == TREND_UNKNOWN)
                printf("Trend: not known, as the history begins within these %u days.\n", rp->n_days);
        else if (rp->trend != TREND_NONE)
                printf("Trend: %u %s in the first %u %s, %u in the last %u: %s.\n", rp->first_half,
                       rp->first_half == 1 ? "spasm" : "spasms", rp->half_days, rp->half_days == 1 ? "day" : "days",
                       rp->last_half, rp->half_days, trend_names[rp->trend]);
        else
                printf("Trend: needs a report of 2 days or more.\n");

        if (*rp->props.advisory.kind) {
                printf("\nspasmd's advisory in force (%s, %s %s):\n  ", rp->props.advisory.kind,
                       time_format(a, TIME_DATE, rp->props.advisory.time_usec),
                       time_format(b, TIME_HOUR_MINUTE, rp->props.advisory.time_usec));
                props_print_wrapped(stdout, rp->props.advisory.message, 2, 2, 80);
        }

        putchar('\n');
        if (reasons(rp, count_reason, NULL) == 0) {
                puts(NOT_ADVICE);
                return;
        }
        puts("This is a reason to contact a doctor:");
        reasons(rp, print_reason, NULL);
        props_print_wrapped(stdout, URGENT_SIGNS, 0, 0, 80);
        puts(NOT_ADVICE);
}

/* --- JSON output ------------------------------------------------------------------- */

struct json_reasons {
        unsigned n;
};

static void json_reason(const char *text, void *userdata) {
        struct json_reasons *j = userdata;

        if (j->n++)
                fputc(',', stdout);
        json_write_string(stdout, text);
}

static void print_json(const struct report *rp) {
        struct json_reasons j = { 0 };
        char d[TIME_TEXT_MAX];
        int hour = busiest_hour(rp);

        printf("{\"days\":%u,\"since_usec\":%" PRIu64 ",\"until_usec\":%" PRIu64 ",\"complete\":%s,"
               "\"history_before_period\":%s,\"per_day\":[", rp->n_days, rp->days[0].start_usec, rp->end_usec,
               rp->complete ? "true" : "false", rp->covered ? "true" : "false");
        for (unsigned k = 0; k < rp->n_days; k++) {
                const struct day *day = &rp->days[k];

                printf("%s{\"date\":\"%s\",\"spasms\":%u,\"total_usec\":%" PRIu64 ",\"longest_usec\":%" PRIu64
                       ",\"twitches\":%u,\"voluntary\":%u}", k ? "," : "", time_format(d, TIME_DATE, day->start_usec),
                       day->spasms, day->total_usec, day->longest_usec, day->twitches, day->voluntary);
        }
        printf("],\"spasms\":%u,\"total_usec\":%" PRIu64 ",\"longest\":", rp->spasms, rp->total_usec);
        if (rp->longest)
                props_json_event(stdout, rp->longest);
        else
                fputs("null", stdout);
        fputs(",\"time_of_day\":{", stdout);
        for (int p = 0; p < N_PARTS; p++)
                printf("%s\"%s\":%u", p ? "," : "", part_names[p], rp->parts[p]);
        fputs("},\"busiest_hour\":", stdout);
        if (hour >= 0)
                printf("%d", hour);
        else
                fputs("null", stdout);
        fputs(",\"trend\":", stdout);
        if (rp->trend == TREND_NONE)
                fputs("null", stdout);
        else
                printf("{\"days_per_half\":%u,\"first_half\":%u,\"last_half\":%u,\"direction\":\"%s\"}", rp->half_days,
                       rp->first_half, rp->last_half, trend_names[rp->trend]);
        fputs(",\"reasons\":[", stdout);
        reasons(rp, json_reason, &j);
        printf("],\"contact_doctor\":%s,\"active_advisory\":", j.n ? "true" : "false");
        if (!*rp->props.advisory.kind)
                fputs("null", stdout);
        else {
                fputs("{\"kind\":", stdout);
                json_write_string(stdout, rp->props.advisory.kind);
                fputs(",\"message\":", stdout);
                json_write_string(stdout, rp->props.advisory.message);
                printf(",\"time_usec\":%" PRIu64 "}", rp->props.advisory.time_usec);
        }
        fputs(",\"notice\":", stdout);
        json_write_string(stdout, j.n ? "This is a reason to contact a doctor. " URGENT_SIGNS " " NOT_ADVICE
                                      : NOT_ADVICE);
        fputs("}\n", stdout);
}

/*
 * Whether the history reaches back beyond the period: the newest n + 1
 * events of all time include one from before it exactly when it does.
 */
static int check_coverage(struct report *rp, sd_bus *bus, sd_bus_error *error) {
        struct event_list l = { .reply = NULL };
        int r;

        if (rp->events.n >= MAX_EVENTS) {
                rp->covered = true; /* that many events in the period: not a new history */
                return 0;
        }
        r = props_get_events(bus, 0, (uint32_t) rp->events.n + 1, error, &l);
        if (r < 0)
                return r;
        rp->covered = l.n > 0 && l.events[0].onset_usec < rp->days[0].start_usec;
        event_list_done(&l);
        return 0;
}

static int run(struct report *rp) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus *bus = NULL;
        int r;

        r = setup_days(rp);
        if (r < 0) {
                fprintf(stderr, "spasmctl report: cannot work out the local days: %s\n", strerror(-r));
                return EX_OSERR;
        }
        r = bus_connect(&rp->target, "report", &bus);
        if (r != EX_OK)
                return r;
        r = props_get_events(bus, rp->days[0].start_usec, MAX_EVENTS, &error, &rp->events);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, "org.spasmd.Error.HistoryUnavailable")) {
                        fprintf(stderr, "spasmctl report: %s\n"
                                "'spasmctl status' shows why the history is not being saved.\n", error.message);
                        r = EX_UNAVAILABLE;
                } else
                        r = props_failed(&rp->target, "report", "reading the history", r, &error);
                goto out;
        }
        r = check_coverage(rp, bus, &error);
        if (r < 0) {
                r = props_failed(&rp->target, "report", "reading the history", r, &error);
                goto out;
        }
        r = props_get_monitor(bus, &error, &rp->props);
        if (r < 0) {
                r = props_failed(&rp->target, "report", "reading spasmd's advisory", r, &error);
                goto out;
        }
        tally(rp);
        if (rp->json)
                print_json(rp);
        else
                print_human(rp);
        r = EX_OK;
out:
        sd_bus_error_free(&error);
        sd_bus_flush_close_unref(bus);
        return r;
}

static void usage(FILE *f) {
        fputs("Usage: spasmctl report [--days N] [--json] [--system|--user|--address=ADDR]\n"
              "\n"
              "Sum up the spasms of the last N days, today included: per day the number,\n"
              "the total and the longest duration; the time of day; and the trend, the\n"
              "later half of the days against the earlier. Says when the numbers are a\n"
              "reason to contact a doctor. spasmd gives no medical advice.\n"
              "\n"
              "  -d --days=N         days to cover, 1 to 366 (7)\n"
              "  -j --json           one JSON object\n"
              "  -h --help           show this help\n"
              BUS_OPTIONS_HELP, f);
}

int verb_report(int argc, char **argv) {
        static const struct option options[] = {
                { "days", required_argument, NULL, 'd' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                BUS_GETOPT_OPTIONS,
                { NULL, 0, NULL, 0 },
        };
        struct report rp = { .target = { .kind = BUS_SYSTEM }, .n_days = DEFAULT_DAYS };
        int c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":d:jh", options, NULL)) >= 0) {
                if (bus_parse_option(&rp.target, c, optarg))
                        continue;
                switch (c) {
                case 'd':
                        r = verb_parse_unsigned("report", "--days", optarg, 1, MAX_DAYS, &rp.n_days);
                        if (r != EX_OK)
                                return r;
                        break;
                case 'j':
                        rp.json = true;
                        break;
                case 'h':
                        usage(stdout);
                        return EX_OK;
                default:
                        return verb_bad_option("report", c, argv, usage);
                }
        }
        if (optind < argc) {
                fprintf(stderr, "spasmctl report: unexpected argument '%s'\n", argv[optind]);
                usage(stderr);
                return EX_USAGE;
        }

        r = run(&rp);
        event_list_done(&rp.events);
        monitor_props_done(&rp.props);
        free(rp.days);
        return r;
}
