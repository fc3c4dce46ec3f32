/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "bus.h"
#include "spasmctl.h"

#ifndef SPASMD_VERSION
#define SPASMD_VERSION "unknown"
#endif

static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
} verbs[] = {
        { "analyze", verb_analyze },
        { "calibrate", verb_calibrate },
        { "events", verb_events },
        { "monitor", verb_monitor },
        { "report", verb_report },
        { "sensors", verb_sensors },
        { "status", verb_status },
};

static void usage(FILE *f) {
        fputs("Usage: spasmctl [--help] [--version] COMMAND [ARGS...]\n"
              "\n"
              "Commands:\n"
              "  status                    spasmd's state, its sensors, today's counts and any advisory\n"
              "  sensors                   one line per sensor, with its properties\n"
              "  events [--since TIME] [--limit N]\n"
              "                            the event history\n"
              "  report [--days N]         a daily summary of the spasms, with the trend\n"
              "  monitor                   follow spasmd's events live, until Ctrl-C\n"
              "  calibrate rest|max        measure the resting level or the maximum contraction\n"
              "  analyze FILE...           list the spasms, twitches and voluntary movements\n"
              "                            in recordings (spasmd recording v1 files)\n"
              "\n"
              "All but analyze talk to spasmd: on the system bus, or with --user or\n"
              "--address=ADDR on another one. Each takes --json, for scripts.\n"
              "spasmd informs; it does not diagnose and gives no medical advice.\n"
              "\n"
              "Run 'spasmctl COMMAND --help' for a command's options.\n", f);
}

int verb_bad_option(const char *verb, int c, char **argv, void (*usage_of)(FILE *f)) {
        /*
         * optopt names an unknown short option even inside a cluster like
         * -jx, where argv[optind - 1] is not the word it came from; a long
         * option only has its word.
         */
        const char *word = argv[optind - 1];
        bool short_opt = optopt > 0 && optopt < 0x100 && isalnum(optopt) && strncmp(word, "--", 2) != 0;

        if (c == ':') {
                if (short_opt)
                        fprintf(stderr, "spasmctl %s: option '-%c' needs a value\n", verb, optopt);
                else
                        fprintf(stderr, "spasmctl %s: option '%s' needs a value\n", verb, word);
        } else if (short_opt)
                fprintf(stderr, "spasmctl %s: unknown option '-%c'\n", verb, optopt);
        else
                fprintf(stderr, "spasmctl %s: unknown option '%s'\n", verb, word);
        usage_of(stderr);
        return EX_USAGE;
}

int verb_json_options(const char *verb, int argc, char **argv, struct bus_target *target, bool *json,
                      void (*usage_of)(FILE *f)) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                BUS_GETOPT_OPTIONS,
                { NULL, 0, NULL, 0 },
        };
        int c;

        opterr = 0;
        /* Leading ':' so a missing ADDR comes back as ':', not as an unknown option. */
        while ((c = getopt_long(argc, argv, ":jh", options, NULL)) >= 0) {
                if (bus_parse_option(target, c, optarg))
                        continue;
                switch (c) {
                case 'j':
                        *json = true;
                        break;
                case 'h':
                        usage_of(stdout);
                        return EX_OK;
                default:
                        return verb_bad_option(verb, c, argv, usage_of);
                }
        }
        if (optind < argc) {
                fprintf(stderr, "spasmctl %s: unexpected argument '%s'\n", verb, argv[optind]);
                usage_of(stderr);
                return EX_USAGE;
        }
        return -1;
}

int verb_parse_unsigned(const char *verb, const char *option, const char *arg, unsigned min, unsigned max,
                        unsigned *ret) {
        unsigned long v;
        char *end;

        errno = 0;
        /* strtoul() takes "-1" as a huge number, and leading blanks: neither is what was meant. */
        if (arg[0] >= '0' && arg[0] <= '9') {
                v = strtoul(arg, &end, 10);
                if (errno == 0 && *end == '\0' && v >= min && v <= max) {
                        *ret = (unsigned) v;
                        return EX_OK;
                }
        }
        fprintf(stderr, "spasmctl %s: %s '%s' is not a whole number from %u to %u\n", verb, option, arg, min, max);
        return EX_USAGE;
}

/* Output that never reached its reader must not look like success. */
static int finish(int r) {
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "spasmctl: cannot write output: %s\n", strerror(errno));
                if (r == EXIT_SUCCESS)
                        r = EX_IOERR;
        }
        return r;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { NULL, 0, NULL, 0 },
        };
        int c;

        /* "+": stop at the command, whose options are its own. */
        while ((c = getopt_long(argc, argv, "+hV", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        usage(stdout);
                        return finish(EXIT_SUCCESS);
                case 'V':
                        puts("spasmctl " SPASMD_VERSION);
                        return finish(EXIT_SUCCESS);
                default: /* getopt_long() has said what is wrong */
                        usage(stderr);
                        return EX_USAGE;
                }
        if (optind >= argc) {
                fputs("spasmctl: no command given\n", stderr);
                usage(stderr);
                return EX_USAGE;
        }
        for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
                if (strcmp(argv[optind], verbs[i].name) == 0) {
                        argc -= optind;
                        argv += optind;
                        optind = 0; /* glibc: start getopt afresh for the command */
                        return finish(verbs[i].run(argc, argv));
                }
        fprintf(stderr, "spasmctl: unknown command '%s'\n", argv[optind]);
        usage(stderr);
        return EX_USAGE;
}
