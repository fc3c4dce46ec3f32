/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * How spasmctl's bus subcommands reach spasmd: which bus, and what to tell
 * the user when the daemon cannot be reached. Every bus subcommand takes
 * the same --system, --user and --address=ADDRESS, so scripts and the demo
 * can point any of them at a private bus.
 *
 * Exit codes beyond sysexits.h, the same for every bus subcommand so that
 * scripts can tell "start it" from "join the group":
 */

#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#define SPASMD_BUS_NAME "org.spasmd.Monitor1"
#define SPASMD_BUS_PATH "/org/spasmd/Monitor1"
#define SPASMD_BUS_INTERFACE "org.spasmd.Monitor1"

enum {
        BUS_EXIT_NOT_RUNNING = 1,       /* spasmd is not on the bus, or left it */
        BUS_EXIT_ACCESS = 4,            /* the bus or spasmd refused us */
};

enum bus_kind {
        BUS_SYSTEM,
        BUS_USER,
        BUS_ADDRESS,
};

struct bus_target {
        enum bus_kind kind;
        const char *address;    /* BUS_ADDRESS only: a D-Bus address, "unix:path=/run/x" */
};

/* getopt_long() values for the bus options; above any short option's character. */
enum {
        BUS_OPT_SYSTEM = 0x200,
        BUS_OPT_USER,
        BUS_OPT_ADDRESS,
};

/* Put into a subcommand's struct option table, before its terminator. */
#define BUS_GETOPT_OPTIONS                                                      \
        { "system", no_argument, NULL, BUS_OPT_SYSTEM },                        \
        { "user", no_argument, NULL, BUS_OPT_USER },                            \
        { "address", required_argument, NULL, BUS_OPT_ADDRESS }

/* For a subcommand's --help, lined up with analyze's. */
#define BUS_OPTIONS_HELP                                                        \
        "     --system        reach spasmd on the system bus (the default)\n"   \
        "     --user          reach spasmd on your user session's bus\n"        \
        "     --address=ADDR  reach spasmd on the bus at ADDR (unix:path=...)\n"

/*
 * Called from a subcommand's getopt loop with what getopt_long() returned:
 * true when c was a bus option, now recorded in t. The last one given wins,
 * as with systemctl.
 */
bool bus_parse_option(struct bus_target *t, int c, const char *arg);

/* "the system bus", "the user bus" or the address, for messages. */
const char *bus_target_describe(const struct bus_target *t);

/*
 * Connects to the bus t names. Returns 0, or says on stderr why not,
 * prefixed "spasmctl VERB: ", and returns the exit code for it.
 */
int bus_connect(const struct bus_target *t, const char *verb, sd_bus **ret);

/*
 * After a call to spasmd failed with r and error: says why on stderr, with
 * what the user can do about it, and returns the exit code for it:
 * BUS_EXIT_NOT_RUNNING, BUS_EXIT_ACCESS, or EX_UNAVAILABLE for the rest.
 * what names the call for the message ("reading State").
 */
int bus_call_failed(const struct bus_target *t, const char *verb, const char *what, int r,
                    const sd_bus_error *error);

/* The advice printed when spasmd is not on the bus: also for when it leaves. */
void bus_print_start_hint(const struct bus_target *t);
