/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The bits of JSON output spasmctl's subcommands share. */

#include <stdio.h>

/*
 * Write s as a JSON string literal, quotes included. Valid UTF-8 passes
 * through; bytes that are not valid UTF-8 (file names can hold anything)
 * become U+FFFD, so the output stays valid JSON. 0 or -EIO.
 */
int json_write_string(FILE *f, const char *s);

/* v with the given decimals, or null when v is not finite (JSON has no NaN). */
int json_write_number(FILE *f, double v, int decimals);
