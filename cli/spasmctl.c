/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "spasmctl.h"

#ifndef SPASMD_VERSION
#define SPASMD_VERSION "unknown"
#endif

static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
} verbs[] = {
        { "analyze", verb_analyze },
        { "monitor", verb_monitor },
};

static void usage(FILE *f) {
        fputs("Usage: spasmctl [--help] [--version] COMMAND [ARGS...]\n"
              "\n"
              "Commands:\n"
              "  analyze [--json] FILE...  list the spasms, twitches and voluntary movements\n"
              "                            in recordings (spasmd recording v1 files)\n"
              "  monitor [--json]          follow spasmd's events live, until Ctrl-C\n"
              "\n"
              "Commands that talk to spasmd reach it on the system bus, or with --user or\n"
              "--address=ADDR on another one.\n"
              "\n"
              "Run 'spasmctl COMMAND --help' for a command's options.\n", f);
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
