/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One function per subcommand; each gets argv from its own name on and returns a sysexits.h code. */

int verb_analyze(int argc, char **argv);
int verb_monitor(int argc, char **argv);
