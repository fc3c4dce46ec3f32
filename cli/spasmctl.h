/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdio.h>

/* One function per subcommand; each gets argv from its own name on and returns a sysexits.h code. */

int verb_analyze(int argc, char **argv);
int verb_calibrate(int argc, char **argv);
int verb_events(int argc, char **argv);
int verb_monitor(int argc, char **argv);
int verb_report(int argc, char **argv);
int verb_sensors(int argc, char **argv);
int verb_status(int argc, char **argv);

/*
 * For a subcommand's getopt_long() loop, run with opterr = 0 and an
 * optstring starting with ':': says what is wrong with the option that
 * made it return c ('?' or ':'), shows usage on stderr and returns
 * EX_USAGE. getopt's own message would start with the command's name
 * alone, as argv[0] is the command.
 */
int verb_bad_option(const char *verb, int c, char **argv, void (*usage)(FILE *f));
/*
 * The options of a command that takes only --json, --help and the bus
 * options, and no arguments: -1 to go on, else the exit status to return.
 */
struct bus_target;
int verb_json_options(const char *verb, int argc, char **argv, struct bus_target *target, bool *json,
                      void (*usage)(FILE *f));

/* arg as a whole number from min to max into *ret; EX_OK, or EX_USAGE after saying why. */
int verb_parse_unsigned(const char *verb, const char *option, const char *arg, unsigned min, unsigned max,
                        unsigned *ret);
