/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* spasmd: watches lumbar EMG/IMU sensors for muscle spasms. */

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/stat.h>

#include "config.h"
#include "log.h"
#include "manager.h"

static void help(void) {
        printf("Usage: spasmd [OPTIONS]\n\n"
               "Watch lumbar surface-EMG and IMU sensors for muscle spasms.\n"
               "spasmd informs; it does not diagnose.\n\n"
               "  -c, --config=FILE     configuration file (default " CONFIG_DEFAULT_PATH ")\n"
               "      --check-config    print the effective configuration, or the errors, and exit\n"
               "      --bus=BUS         system (default), user, a D-Bus address such as\n"
               "                        unix:path=/run/x, or none (no D-Bus: offline replays)\n"
               "      --events=json     also print each finished event as a JSON line on stdout\n"
               "      --trace-latency   print how long each onset and class took to decide (for make bench)\n"
               "  -h, --help            show this help\n"
               "      --version         show the version\n");
}

int main(int argc, char **argv) {
        enum { ARG_CHECK = 0x100, ARG_VERSION, ARG_EVENTS, ARG_TRACE_LATENCY, ARG_BUS };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, ARG_CHECK },
                { "bus", required_argument, NULL, ARG_BUS },
                { "events", required_argument, NULL, ARG_EVENTS },
                { "trace-latency", no_argument, NULL, ARG_TRACE_LATENCY },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        struct manager_options opts = { .config_path = CONFIG_DEFAULT_PATH, .bus_address = "system" };
        bool check = false;
        int c;

        /* Whatever starts us, nothing we create is group-writable or for others; a stricter
         * umask (systemd's UMask=0077) is kept. Before anything that could create a file. */
        umask(umask(0) | 0027);

        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        opts.config_path = optarg;
                        opts.config_given = true;
                        break;
                case ARG_CHECK:
                        check = true;
                        break;
                case ARG_BUS:
                        if (!*optarg) {
                                fprintf(stderr, "spasmd: --bus= needs system, user, none or a D-Bus address\n");
                                return EX_USAGE;
                        }
                        opts.bus_address = optarg;
                        break;
                case ARG_EVENTS:
                        if (strcmp(optarg, "json") != 0) {
                                fprintf(stderr, "spasmd: --events=%s: only json is known\n", optarg);
                                return EX_USAGE;
                        }
                        opts.events_json = true;
                        break;
                case ARG_TRACE_LATENCY:
                        opts.trace_latency = true;
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case ARG_VERSION:
                        printf("spasmd " SPASMD_VERSION "\n");
                        return EXIT_SUCCESS;
                default:
                        return EX_USAGE;
                }
        if (optind < argc) {
                fprintf(stderr, "spasmd: unexpected argument '%s'; see --help\n", argv[optind]);
                return EX_USAGE;
        }

        log_open();
        /* libiio writes to sockets without MSG_NOSIGNAL: a dead iiod must not kill us. */
        signal(SIGPIPE, SIG_IGN);
        /* One malloc arena: the reader threads allocate one small buffer a refill, which their
         * tcache serves without the lock; an arena each would keep a page or more per thread. */
        mallopt(M_ARENA_MAX, 1);

        /* Configuration first: a bad one stops us before anything is touched. */
        char err[1024];
        struct spasmd_config *cfg = calloc(1, sizeof(*cfg));
        if (!cfg)
                return EX_OSERR;
        int r = config_load(opts.config_path, NULL, !opts.config_given, cfg, err, sizeof(err));
        if (r < 0) {
                log_error("%s", err);
                free(cfg);
                return EX_CONFIG;
        }
        if (check) {
                config_dump(cfg, stdout);
                free(cfg);
                return EXIT_SUCCESS;
        }

        r = manager_run(&opts, cfg);
        free(cfg);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
