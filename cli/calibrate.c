/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * spasmctl calibrate rest|max: guide the person through a calibration.
 *
 * spasmd measures from the moment Calibrate arrives and answers when it is
 * done, 10 or 3 s later. The call goes out asynchronously so that the
 * countdown runs while spasmd measures: the person sees how long to hold
 * on, and a refusal (busy, no sensor, not allowed) shows at once instead
 * of after a countdown that measured nothing.
 */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus.h"
#include "json.h"
#include "spasmctl.h"

#define USEC_PER_SEC UINT64_C(1000000)
/* Beyond the measurement, for a loaded daemon's reply. */
#define REPLY_MARGIN_USEC (30 * USEC_PER_SEC)

struct kind {
        const char *name;
        unsigned seconds;       /* as spasmd-dbus(5) says */
        const char *intro;
        const char *doing;      /* for the countdown */
        const char *measured;
        const char *after;
};

static const struct kind kinds[] = {
        {
                "rest", 10,
                "Resting calibration: spasmd measures the level of every EMG channel while the\n"
                "muscles rest. Lie or sit comfortably, let your back go loose, and stay still\n"
                "for 10 s, starting now.",
                "Relax",
                "Resting level",
                "spasmd takes these as the resting levels events are measured against.",
        },
        {
                "max", 3,
                "Maximum-contraction calibration: push as hard as you comfortably can, no\n"
                "harder, and hold it for 3 s, starting now. Stop at once if it hurts.",
                "Push",
                "Maximum contraction",
                "From now on events show their size as a percentage of this maximum.",
        },
};

struct calibration {
        struct bus_target target;
        const struct kind *kind;
        bool json;
        bool tty;               /* the countdown redraws one line */
        FILE *out;              /* the countdown's: stderr with --json, so stdout stays one document */
        sd_event *event;
        sd_bus *bus;
        sd_event_source *tick;
        unsigned left;          /* seconds of the countdown */
        bool line_open;         /* a \r countdown line is on the terminal */
        int result;
};

static void close_line(struct calibration *cal) {
        if (cal->line_open) {
                fputs("\r\033[K", cal->out);
                cal->line_open = false;
        }
}

static void show_countdown(struct calibration *cal) {
        if (cal->left > 0) {
                if (cal->tty) {
                        fprintf(cal->out, "\r\033[K  %s… %u s left", cal->kind->doing, cal->left);
                        cal->line_open = true;
                } else
                        fprintf(cal->out, "  %s… %u s left\n", cal->kind->doing, cal->left);
        } else {
                close_line(cal);
                fputs("  Done; waiting for spasmd's result…", cal->out);
                if (cal->tty)
                        cal->line_open = true;
                else
                        fputc('\n', cal->out);
        }
        fflush(cal->out);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct calibration *cal = userdata;
        int r;

        if (cal->left > 0)
                cal->left--;
        show_countdown(cal);
        if (cal->left == 0)
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        r = sd_event_source_set_time(s, usec + USEC_PER_SEC);
        return r < 0 ? r : sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int print_levels(struct calibration *cal, sd_bus_message *reply) {
        const char *sensor, *channel;
        double level;
        unsigned n = 0;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "(ssd)");
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        if (cal->json)
                printf("{\"kind\":\"%s\",\"levels\":[", cal->kind->name);
        else
                printf("%s measured, microvolts RMS:\n", cal->kind->measured);
        while ((r = sd_bus_message_read(reply, "(ssd)", &sensor, &channel, &level)) > 0) {
                if (cal->json) {
                        fputs(n ? ",{\"sensor\":" : "{\"sensor\":", stdout);
                        json_write_string(stdout, sensor);
                        fputs(",\"channel\":", stdout);
                        json_write_string(stdout, channel);
                        fputs(",\"level_uv\":", stdout);
                        json_write_number(stdout, level, 3);
                        fputc('}', stdout);
                } else
                        printf("  %-12s %-12s %8.1f µV\n", sensor, channel, level);
                n++;
        }
        if (r < 0)
                return r;
        if (cal->json)
                fputs("]}\n", stdout);
        else if (n == 0)
                puts("  (no channel was measured)");
        else
                puts(cal->kind->after);
        return sd_bus_message_exit_container(reply);
}

/* What went wrong, with what to do about it; the exit code. */
static int calibration_failed(struct calibration *cal, const sd_bus_error *e, int r) {
        const char *why = e->message ? e->message : "";

        if (sd_bus_error_has_name(e, "org.spasmd.Error.Busy")) {
                fprintf(stderr, "spasmctl calibrate: spasmd cannot calibrate now: %s\n"
                        "Try again once any other calibration is over, with the muscles at rest for 'rest'.\n",
                        why);
                return EX_TEMPFAIL;
        }
        if (sd_bus_error_has_name(e, "org.spasmd.Error.NoSensor")) {
                fprintf(stderr, "spasmctl calibrate: nothing to calibrate: %s\n"
                        "'spasmctl sensors' shows which sensors are connected and streaming.\n", why);
                return EX_UNAVAILABLE;
        }
        if (sd_bus_error_has_name(e, "org.spasmd.Error.NotMonitoring")) {
                fprintf(stderr, "spasmctl calibrate: monitoring is paused (%s).\n"
                        "Calibrating needs the detectors running: resume monitoring (SetMonitoring, see\n"
                        "spasmd-dbus(5)) and try again.\n", why);
                return EX_UNAVAILABLE;
        }
        return bus_call_failed(&cal->target, "calibrate", "Calibrate", r, e);
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct calibration *cal = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        int r;

        (void) ret_error;
        close_line(cal);
        fflush(cal->out);
        if (e)
                cal->result = calibration_failed(cal, e, -sd_bus_message_get_errno(m));
        else {
                r = print_levels(cal, m);
                if (r < 0) {
                        fflush(stdout);
                        fprintf(stderr, "spasmctl calibrate: the reply is not shaped as spasmd-dbus(5) says (%s)\n",
                                strerror(-r));
                        cal->result = EX_DATAERR;
                } else
                        cal->result = EX_OK;
        }
        return sd_event_exit(cal->event, 0);
}

static int on_quit(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct calibration *cal = userdata;

        (void) s;
        (void) si;
        close_line(cal);
        fputs("spasmctl calibrate: stopped; spasmd finishes the measurement by itself\n", stderr);
        cal->result = 130;
        return sd_event_exit(cal->event, 0);
}

static int run(struct calibration *cal) {
        sd_bus_message *call = NULL;
        sigset_t quit;
        uint64_t now;
        int r;

        r = bus_connect(&cal->target, "calibrate", &cal->bus);
        if (r != EX_OK)
                return r;
        sigemptyset(&quit);
        sigaddset(&quit, SIGINT);
        sigaddset(&quit, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &quit, NULL) < 0 || sd_event_new(&cal->event) < 0 ||
            sd_event_add_signal(cal->event, NULL, SIGINT, on_quit, cal) < 0 ||
            sd_event_add_signal(cal->event, NULL, SIGTERM, on_quit, cal) < 0 ||
            sd_bus_attach_event(cal->bus, cal->event, SD_EVENT_PRIORITY_NORMAL) < 0) {
                fputs("spasmctl calibrate: cannot set up an event loop\n", stderr);
                return EX_OSERR;
        }

        fprintf(cal->out, "%s\n", cal->kind->intro);
        r = sd_bus_message_new_method_call(cal->bus, &call, SPASMD_BUS_NAME, SPASMD_BUS_PATH, SPASMD_BUS_INTERFACE,
                                           "Calibrate");
        if (r >= 0)
                r = sd_bus_message_append(call, "s", cal->kind->name);
        if (r >= 0)
                r = sd_bus_call_async(cal->bus, NULL, call, on_reply, cal,
                                      cal->kind->seconds * USEC_PER_SEC + REPLY_MARGIN_USEC);
        sd_bus_message_unref(call);
        if (r < 0) {
                sd_bus_error error = SD_BUS_ERROR_NULL;

                return bus_call_failed(&cal->target, "calibrate", "Calibrate", r, &error);
        }

        cal->left = cal->kind->seconds;
        show_countdown(cal);
        r = sd_event_now(cal->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(cal->event, &cal->tick, CLOCK_MONOTONIC, now + USEC_PER_SEC, 0, on_tick, cal);
        if (r < 0) {
                fputs("spasmctl calibrate: cannot set up the countdown\n", stderr);
                return EX_OSERR;
        }
        r = sd_event_loop(cal->event);
        if (r < 0) {
                fprintf(stderr, "spasmctl calibrate: event loop failed: %s\n", strerror(-r));
                return EX_SOFTWARE;
        }
        return cal->result;
}

static void usage(FILE *f) {
        fputs("Usage: spasmctl calibrate [--json] [--system|--user|--address=ADDR] rest|max\n"
              "\n"
              "Guide a calibration, with a countdown while spasmd measures:\n"
              "  rest   relax for 10 s: the resting level of every EMG channel\n"
              "  max    push as hard as you comfortably can for 3 s: the maximum contraction,\n"
              "         so that events show their size as a percentage of it\n"
              "Needs root or membership of the spasmd group.\n"
              "\n"
              "  -j --json           the levels as one JSON object; the guidance goes to stderr\n"
              "  -h --help           show this help\n"
              BUS_OPTIONS_HELP, f);
}

int verb_calibrate(int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                BUS_GETOPT_OPTIONS,
                { NULL, 0, NULL, 0 },
        };
        struct calibration cal = { .target = { .kind = BUS_SYSTEM }, .result = EX_SOFTWARE };
        int c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":jh", options, NULL)) >= 0) {
                if (bus_parse_option(&cal.target, c, optarg))
                        continue;
                switch (c) {
                case 'j':
                        cal.json = true;
                        break;
                case 'h':
                        usage(stdout);
                        return EX_OK;
                default:
                        return verb_bad_option("calibrate", c, argv, usage);
                }
        }
        if (optind + 1 != argc) {
                fprintf(stderr, "spasmctl calibrate: %s\n", optind >= argc ? "say which: rest or max"
                                                                           : "one kind only: rest or max");
                usage(stderr);
                return EX_USAGE;
        }
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
                if (strcmp(argv[optind], kinds[i].name) == 0)
                        cal.kind = &kinds[i];
        if (!cal.kind) {
                fprintf(stderr, "spasmctl calibrate: unknown kind '%s': rest or max\n", argv[optind]);
                usage(stderr);
                return EX_USAGE;
        }
        cal.out = cal.json ? stderr : stdout;
        cal.tty = isatty(fileno(cal.out)) && getenv("TERM") && strcmp(getenv("TERM"), "dumb") != 0;

        r = run(&cal);
        sd_event_source_unref(cal.tick);
        sd_bus_flush_close_unref(cal.bus);
        sd_event_unref(cal.event);
        return r;
}
