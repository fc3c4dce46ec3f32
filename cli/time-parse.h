/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Times in and out of spasmctl: the TIME of `events --since`, the local
 * days `report` counts by, and how times and durations are shown. All
 * times are CLOCK_REALTIME microseconds, as on spasmd's bus.
 */

#include <stddef.h>
#include <stdint.h>

/* For messages: every form time_parse() takes. */
#define TIME_FORMS "30m, 2h, 3d, 1w, 1h30m, today, yesterday, 2026-11-24, 2026-11-24T08:00 or @1700000000"

/*
 * Parses a TIME relative to now_usec:
 *   30s 30m 2h 3d 1w 1h30m   that long before now
 *   now today yesterday      now, or the start of that local day
 *   2026-11-24               the start of that local day
 *   2026-11-24T08:00[:SS]    local time; a space may stand for the T,
 *                            and a trailing Z makes it UTC
 *   @1700000000              seconds since the epoch
 * Returns 0, -EINVAL for anything else, or -ERANGE for a time before the
 * epoch or beyond what fits.
 */
int time_parse(const char *s, uint64_t now_usec, uint64_t *ret_usec);

/* The start of the local day days after the one usec falls on (days may be negative). */
int time_local_day_start(uint64_t usec, int days, uint64_t *ret_usec);

/* The local hour 0..23 of usec, or -1 if it cannot be known. */
int time_local_hour(uint64_t usec);

#define TIME_TEXT_MAX 64

enum time_style {
        TIME_CLOCK,             /* 10:22:03 */
        TIME_HOUR_MINUTE,       /* 10:22 */
        TIME_DATE,              /* 2026-11-24 */
        TIME_DAY,               /* Tue 2026-11-24 */
        TIME_DATE_CLOCK,        /* 2026-11-24 10:22:03 */
};

/* usec in local time; "?" when it cannot be shown. Returns buf. */
const char *time_format(char buf[static TIME_TEXT_MAX], enum time_style style, uint64_t usec);

/* "0.4 s", "59.9 s", "1 min 05 s", "2 h 03 min": to the tenth while short, coarser as it grows. */
const char *time_format_duration(char buf[static TIME_TEXT_MAX], uint64_t usec);

/* CLOCK_REALTIME now, in microseconds. */
uint64_t time_now_usec(void);
