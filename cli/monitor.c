/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * spasmctl monitor: follow spasmd's signals live, one line each.
 *
 * Each line is flushed as it is written: the reader may be a pipe into a
 * logger or a script that reacts, and a spasm reported when the buffer
 * happens to fill is reported too late. spasmd leaving the bus ends the
 * monitor with status 1, so a script following it learns the daemon is gone
 * rather than waiting on a silence that looks like "no spasms".
 *
 * On a terminal a live line under the events shows each sensor's muscle
 * activity now. Sensor1.Activity changes with every block and is not
 * announced, so it is polled, ten times a second, asynchronously: a slow
 * answer delays the bar, never an event line.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus.h"
#include "json.h"
#include "monitor-live.h"
#include "spasmctl.h"
#include "time-parse.h"

#define MAX_ARGS 10

/* The signals of org.spasmd.Monitor1 and their arguments, as in the XML. */
struct signal_desc {
        const char *member;
        const char *signature;
        const char *args[MAX_ARGS];
};

static const struct signal_desc signals[] = {
        { "ActivityStarted", "tsts", { "id", "sensor", "onset_usec", "side" } },
        { "SpasmStarted", "tstsd", { "id", "sensor", "onset_usec", "side", "intensity" } },
        { "SpasmEnded", "tsttddddss",
          { "id", "sensor", "onset_usec", "duration_usec", "peak_uv", "intensity", "mvc_pct", "pulse_hz",
            "side", "posture" } },
        { "Twitch", "tsttddddss",
          { "id", "sensor", "onset_usec", "duration_usec", "peak_uv", "intensity", "mvc_pct", "pulse_hz",
            "side", "posture" } },
        { "ActivityEnded", "tsstt", { "id", "sensor", "class", "onset_usec", "duration_usec" } },
        { "Advisory", "sst", { "kind", "message", "time_usec" } },
};

struct arg {
        char type;
        union {
                uint64_t t;
                double d;
                const char *s;  /* points into the message */
        };
};

/* One received signal, its arguments in the XML's order. */
struct received {
        const struct signal_desc *desc;
        struct arg args[MAX_ARGS];
        unsigned n_args;
};

struct monitor {
        struct bus_target target;
        bool json;
        sd_event *event;
        sd_bus *bus;
        bool warned_signature;
        bool want_live;         /* a terminal: show the live line */
        struct live *live;
        struct {                /* ActiveEvent at the start, for the live line */
                uint64_t id, onset_usec;
                bool spasm;
        } active;
};

/* --- reading ----------------------------------------------------------------------- */

static const struct arg *arg_of(const struct received *rc, const char *name) {
        for (unsigned i = 0; i < rc->n_args; i++)
                if (strcmp(rc->desc->args[i], name) == 0)
                        return &rc->args[i];
        return NULL; /* only reached by a typo here: the table and the format code agree */
}

static uint64_t u64(const struct received *rc, const char *name) {
        const struct arg *a = arg_of(rc, name);

        return a && a->type == 't' ? a->t : 0;
}

static double dbl(const struct received *rc, const char *name) {
        const struct arg *a = arg_of(rc, name);

        return a && a->type == 'd' ? a->d : 0;
}

static const char *str(const struct received *rc, const char *name) {
        const struct arg *a = arg_of(rc, name);

        return a && a->type == 's' && a->s ? a->s : "";
}

static int read_args(sd_bus_message *m, const struct signal_desc *desc, struct received *rc) {
        int r;

        *rc = (struct received) { .desc = desc };
        for (const char *t = desc->signature; *t; t++) {
                struct arg *a = &rc->args[rc->n_args++];

                a->type = *t;
                switch (*t) {
                case 't':
                        r = sd_bus_message_read_basic(m, 't', &a->t);
                        break;
                case 'd':
                        r = sd_bus_message_read_basic(m, 'd', &a->d);
                        break;
                default:
                        r = sd_bus_message_read_basic(m, 's', &a->s);
                        break;
                }
                if (r <= 0)
                        return r < 0 ? r : -EBADMSG;
        }
        return 0;
}

/* --- human output ------------------------------------------------------------------ */

/* Local wall-clock time of usec (CLOCK_REALTIME µs), or of now when it is 0. */
static const char *clock_time(char buf[static TIME_TEXT_MAX], uint64_t usec) {
        return time_format(buf, TIME_CLOCK, usec ? usec : time_now_usec());
}

static bool known(const char *s) {
        return *s && strcmp(s, "unknown") != 0;
}

/* ", 42% of max, pulsing 3.1 Hz, lying": what is known beyond size and length. */
static void print_extras(const struct received *rc) {
        if (dbl(rc, "mvc_pct") >= 0)
                printf(", %.0f%% of max", dbl(rc, "mvc_pct"));
        if (dbl(rc, "pulse_hz") > 0)
                printf(", pulsing %.1f Hz", dbl(rc, "pulse_hz"));
        if (known(str(rc, "posture")))
                printf(", %s", str(rc, "posture"));
}

static void print_human(const struct received *rc) {
        const char *member = rc->desc->member;
        const char *side = str(rc, "side");
        uint64_t id = u64(rc, "id");
        char clock[TIME_TEXT_MAX];

        /*
         * The time an event happened, where the signal says it, rather than
         * when it reached us: ends are announced after the history is synced,
         * and these times then match what spasmd's history will show.
         * SpasmStarted carries no "known at", so it gets the time it arrived.
         */
        if (strcmp(member, "ActivityStarted") == 0) {
                printf("%s  #%" PRIu64 " activity started", clock_time(clock, u64(rc, "onset_usec")), id);
                if (known(side))
                        printf(" (%s)", side);
                fputc('\n', stdout);
        } else if (strcmp(member, "SpasmStarted") == 0) {
                printf("%s  #%" PRIu64 " SPASM (", clock_time(clock, 0), id);
                if (known(side))
                        printf("%s, ", side);
                printf("%.1f× resting level)\n", dbl(rc, "intensity"));
        } else if (strcmp(member, "SpasmEnded") == 0) {
                printf("%s  #%" PRIu64 " spasm ended after %.1f s, peak %.1f µV",
                       clock_time(clock, u64(rc, "onset_usec") + u64(rc, "duration_usec")), id,
                       u64(rc, "duration_usec") / 1e6, dbl(rc, "peak_uv"));
                print_extras(rc);
                fputc('\n', stdout);
        } else if (strcmp(member, "Twitch") == 0) {
                printf("%s  #%" PRIu64 " twitch (", clock_time(clock, u64(rc, "onset_usec") + u64(rc, "duration_usec")),
                       id);
                if (known(side))
                        printf("%s, ", side);
                printf("%.1f s, peak %.1f µV", u64(rc, "duration_usec") / 1e6, dbl(rc, "peak_uv"));
                print_extras(rc);
                fputs(")\n", stdout);
        } else if (strcmp(member, "ActivityEnded") == 0) {
                const char *class = str(rc, "class");
                const char *at = clock_time(clock, u64(rc, "onset_usec") + u64(rc, "duration_usec"));

                /* A spasm's or twitch's own line has just said it all. */
                if (strcmp(class, "spasm") == 0 || strcmp(class, "twitch") == 0)
                        return;
                if (strcmp(class, "voluntary") == 0)
                        printf("%s  #%" PRIu64 " voluntary movement ended (%.1f s)\n", at, id,
                               u64(rc, "duration_usec") / 1e6);
                else if (strcmp(class, "withdrawn") == 0)
                        printf("%s  #%" PRIu64 " withdrawn (electrode noise)\n", at, id);
                else
                        printf("%s  #%" PRIu64 " activity ended (%s, %.1f s)\n", at, id, class,
                               u64(rc, "duration_usec") / 1e6);
        } else if (strcmp(member, "Advisory") == 0)
                printf("%s  advisory (%s): %s\n", clock_time(clock, u64(rc, "time_usec")), str(rc, "kind"),
                       str(rc, "message"));
}

/* --- JSON output ------------------------------------------------------------------- */

static void print_json(const struct received *rc) {
        fputs("{\"signal\":", stdout);
        json_write_string(stdout, rc->desc->member);
        for (unsigned i = 0; i < rc->n_args; i++) {
                const struct arg *a = &rc->args[i];

                fputc(',', stdout);
                json_write_string(stdout, rc->desc->args[i]);
                fputc(':', stdout);
                if (a->type == 't')
                        printf("%" PRIu64, a->t);
                else if (a->type == 'd')
                        json_write_number(stdout, a->d, 3);
                else
                        json_write_string(stdout, a->s);
        }
        fputs("}\n", stdout);
}

/* --- the loop ---------------------------------------------------------------------- */

/* Every line goes out at once; a reader that has gone away ends the monitor. */
static void flush_line(struct monitor *mon) {
        if (fflush(stdout) != 0 || ferror(stdout))
                sd_event_exit(mon->event, EX_IOERR);
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct monitor *mon = userdata;
        const char *member = sd_bus_message_get_member(m);
        struct received rc;
        int r;

        (void) ret_error;
        for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
                if (!member || strcmp(member, signals[i].member) != 0)
                        continue;
                if (!sd_bus_message_has_signature(m, signals[i].signature)) {
                        /* Say it once: a spasmd of another version would repeat it on every event. */
                        if (!mon->warned_signature) {
                                live_clear(mon->live);
                                fflush(stdout);
                                fprintf(stderr, "spasmctl monitor: ignoring %s with arguments (%s), not (%s): "
                                        "is spasmd the same version as spasmctl?\n", member,
                                        sd_bus_message_get_signature(m, true), signals[i].signature);
                                live_draw(mon->live);
                        }
                        mon->warned_signature = true;
                        return 0;
                }
                r = read_args(m, &signals[i], &rc);
                if (r < 0) {
                        live_clear(mon->live);
                        fflush(stdout);
                        fprintf(stderr, "spasmctl monitor: cannot read %s: %s\n", member, strerror(-r));
                        live_draw(mon->live);
                        return 0;
                }
                live_clear(mon->live);
                live_track(mon->live, member, u64(&rc, "id"), u64(&rc, "onset_usec"));
                if (mon->json)
                        print_json(&rc);
                else
                        print_human(&rc);
                flush_line(mon);
                live_draw(mon->live);
                return 0;
        }
        /* A signal newer than this spasmctl: nothing to say about it. */
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct monitor *mon = userdata;
        const char *name, *old_owner, *new_owner;

        (void) ret_error;
        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (strcmp(name, SPASMD_BUS_NAME) != 0 || *new_owner)
                return 0;
        live_clear(mon->live);
        fflush(stdout);
        fprintf(stderr, "spasmctl monitor: spasmd stopped (it left %s)\n",
                bus_target_describe(&mon->target));
        sd_event_exit(mon->event, BUS_EXIT_NOT_RUNNING);
        return 0;
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct monitor *mon = userdata;

        (void) m;
        (void) ret_error;
        live_clear(mon->live);
        fflush(stdout);
        fprintf(stderr, "spasmctl monitor: lost the connection to %s\n", bus_target_describe(&mon->target));
        sd_event_exit(mon->event, BUS_EXIT_NOT_RUNNING);
        return 0;
}

static int on_quit(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) si;
        (void) userdata;
        /* Ctrl-C is how a monitor is meant to end. */
        return sd_event_exit(sd_event_source_get_event(s), EX_OK);
}

static int subscribe(struct monitor *mon) {
        static const char owner_match[] =
                "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" SPASMD_BUS_NAME "'";
        int r;

        /* Before reading the state, so nothing said after that reading is missed. */
        r = sd_bus_add_match(mon->bus, NULL, owner_match, on_owner_changed, mon);
        if (r >= 0)
                r = sd_bus_match_signal(mon->bus, NULL, SPASMD_BUS_NAME, SPASMD_BUS_PATH, SPASMD_BUS_INTERFACE, NULL,
                                        on_signal, mon);
        if (r >= 0)
                r = sd_bus_match_signal(mon->bus, NULL, NULL, "/org/freedesktop/DBus/Local",
                                        "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, mon);
        return r;
}

static const char *describe_state(const char *state) {
        if (strcmp(state, "idle") == 0)
                return "idle (paused, or no EMG sensor streaming)";
        if (strcmp(state, "activity") == 0)
                return "monitoring, an activation under way";
        if (strcmp(state, "spasm") == 0)
                return "monitoring, a spasm under way";
        return state; /* "monitoring", or a state newer than this spasmctl */
}

/* Prints State and the event under way, if any; returns an exit code. */
static int print_state(struct monitor *mon) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *class = "", *sensor = "";
        char *state = NULL;
        uint64_t id = 0, onset = 0;
        char clock[TIME_TEXT_MAX], since[TIME_TEXT_MAX];
        int r;

        r = sd_bus_get_property_string(mon->bus, SPASMD_BUS_NAME, SPASMD_BUS_PATH, SPASMD_BUS_INTERFACE, "State",
                                       &error, &state);
        if (r < 0) {
                r = bus_call_failed(&mon->target, "monitor", "reading spasmd's State", r, &error);
                goto out;
        }
        r = sd_bus_get_property(mon->bus, SPASMD_BUS_NAME, SPASMD_BUS_PATH, SPASMD_BUS_INTERFACE, "ActiveEvent",
                                &error, &reply, "(tsst)");
        if (r >= 0)
                r = sd_bus_message_read(reply, "(tsst)", &id, &class, &sensor, &onset);
        if (r < 0) {
                r = bus_call_failed(&mon->target, "monitor", "reading spasmd's ActiveEvent", r, &error);
                goto out;
        }

        if (mon->json) {
                fputs("{\"properties\":{\"State\":", stdout);
                json_write_string(stdout, state);
                fputs(",\"ActiveEvent\":", stdout);
                if (id == 0)
                        fputs("null", stdout);
                else {
                        printf("{\"id\":%" PRIu64 ",\"class\":", id);
                        json_write_string(stdout, class);
                        fputs(",\"sensor\":", stdout);
                        json_write_string(stdout, sensor);
                        printf(",\"onset_usec\":%" PRIu64 "}", onset);
                }
                fputs("}}\n", stdout);
        } else {
                printf("%s  spasmd on %s is %s; Ctrl-C stops\n", clock_time(clock, 0),
                       bus_target_describe(&mon->target), describe_state(state));
                if (id != 0)
                        printf("%s  #%" PRIu64 " %s under way since %s\n", clock, id,
                               strcmp(class, "pending") == 0 ? "activity" : class, clock_time(since, onset));
        }
        flush_line(mon);
        mon->active.id = id;
        mon->active.onset_usec = onset;
        mon->active.spasm = strcmp(class, "spasm") == 0;
        r = EX_OK;
out:
        sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        free(state);
        return r;
}

static int follow(struct monitor *mon) {
        sigset_t quit;
        int r;

        /* sd-event takes signals through a signalfd, which wants them blocked. */
        sigemptyset(&quit);
        sigaddset(&quit, SIGINT);
        sigaddset(&quit, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &quit, NULL) < 0)
                return EX_OSERR;

        r = sd_event_new(&mon->event);
        if (r < 0) {
                fprintf(stderr, "spasmctl monitor: cannot set up an event loop: %s\n", strerror(-r));
                return EX_OSERR;
        }
        if (sd_event_add_signal(mon->event, NULL, SIGINT, on_quit, mon) < 0 ||
            sd_event_add_signal(mon->event, NULL, SIGTERM, on_quit, mon) < 0) {
                fputs("spasmctl monitor: cannot watch for Ctrl-C\n", stderr);
                return EX_OSERR;
        }

        r = bus_connect(&mon->target, "monitor", &mon->bus);
        if (r != EX_OK)
                return r;
        r = subscribe(mon);
        if (r < 0) {
                sd_bus_error error = SD_BUS_ERROR_NULL;

                return bus_call_failed(&mon->target, "monitor", "subscribing to spasmd's signals", r, &error);
        }
        r = print_state(mon);
        if (r == EX_OK && mon->want_live)
                r = live_new(mon->bus, mon->event, &mon->target, &mon->live);
        if (r != EX_OK)
                return r;
        live_track(mon->live, mon->active.spasm ? "SpasmStarted" : "ActivityStarted", mon->active.id,
                   mon->active.onset_usec);

        r = sd_bus_attach_event(mon->bus, mon->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                fprintf(stderr, "spasmctl monitor: cannot attach to the event loop: %s\n", strerror(-r));
                return EX_OSERR;
        }
        r = sd_event_loop(mon->event);
        live_clear(mon->live);
        if (r < 0) {
                fprintf(stderr, "spasmctl monitor: event loop failed: %s\n", strerror(-r));
                return EX_SOFTWARE;
        }
        return r;
}

static void usage(FILE *f) {
        fputs("Usage: spasmctl monitor [--json] [--system|--user|--address=ADDR]\n"
              "\n"
              "Follow spasmd's events live, one line each, until Ctrl-C. Ends with\n"
              "status 1 when spasmd leaves the bus. On a terminal, a line under the\n"
              "events shows each EMG sensor's muscle activity now, as a multiple of its\n"
              "resting level, and the activation under way.\n"
              "\n"
              "  -j --json          one JSON object per line: first the current state,\n"
              "                     then one per signal, its arguments by their D-Bus names\n"
              "  -h --help          show this help\n"
              BUS_OPTIONS_HELP, f);
}

int verb_monitor(int argc, char **argv) {
        struct monitor mon = { .target = { .kind = BUS_SYSTEM } };
        int r;

        r = verb_json_options("monitor", argc, argv, &mon.target, &mon.json, usage);
        if (r >= 0)
                return r;

        /* JSON Lines stay parseable, and a terminal that cannot erase a line gets lines. */
        mon.want_live = !mon.json && isatty(STDOUT_FILENO) && getenv("TERM") && strcmp(getenv("TERM"), "dumb") != 0;

        r = follow(&mon);
        live_free(mon.live);
        sd_bus_flush_close_unref(mon.bus);
        sd_event_unref(mon.event);
        return r;
}
