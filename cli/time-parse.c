/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * TIME arguments. The forms are few and strict on purpose: a carer typing
 * "--since 2h" or "--since 2026-11-24" should get exactly that, and a typo
 * should be an error naming the forms, never a silently different window
 * of the history.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "time-parse.h"

#define USEC_PER_SEC UINT64_C(1000000)

uint64_t time_now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* Exactly n digits at *p, moved past them. */
static bool fixed_digits(const char **p, unsigned n, int *ret) {
        int v = 0;

        for (unsigned i = 0; i < n; i++) {
                if ((*p)[i] < '0' || (*p)[i] > '9')
                        return false;
                v = v * 10 + ((*p)[i] - '0');
        }
        *p += n;
        *ret = v;
        return true;
}

/* One or more digits at *p, moved past them; -ERANGE when they would not fit. */
static int number(const char **p, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (**p < '0' || **p > '9')
                return -EINVAL;
        for (; **p >= '0' && **p <= '9'; (*p)++) {
                unsigned d = (unsigned) (**p - '0');

                if (v > (max - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

static int to_usec(time_t t, uint64_t *ret) {
        if (t < 0)
                return -ERANGE;
        if ((uint64_t) t > UINT64_MAX / USEC_PER_SEC)
                return -ERANGE;
        *ret = (uint64_t) t * USEC_PER_SEC;
        return 0;
}

int time_local_day_start(uint64_t usec, int days, uint64_t *ret_usec) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (!localtime_r(&t, &tm))
                return -ERANGE;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_mday += days;
        /* Let mktime() work out whether that midnight is in summer time. */
        tm.tm_isdst = -1;
        t = mktime(&tm);
        if (t == (time_t) -1)
                return -ERANGE;
        return to_usec(t, ret_usec);
}

int time_local_hour(uint64_t usec) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        return localtime_r(&t, &tm) ? tm.tm_hour : -1;
}

static bool leap(int y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m) {
        static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* YYYY-MM-DD, optionally [T ]HH:MM[:SS], optionally Z. */
static int parse_date(const char *s, uint64_t *ret) {
        int y, mo, d, h = 0, mi = 0, sec = 0;
        bool utc = false;
        struct tm tm;
        time_t t;

        if (!fixed_digits(&s, 4, &y) || *s++ != '-' || !fixed_digits(&s, 2, &mo) || *s++ != '-' ||
            !fixed_digits(&s, 2, &d))
                return -EINVAL;
        if (*s == 'T' || *s == ' ') {
                s++;
                if (!fixed_digits(&s, 2, &h) || *s++ != ':' || !fixed_digits(&s, 2, &mi))
                        return -EINVAL;
                if (*s == ':') {
                        s++;
                        if (!fixed_digits(&s, 2, &sec))
                                return -EINVAL;
                }
                if (*s == 'Z') {
                        utc = true;
                        s++;
                }
        }
        if (*s != '\0')
                return -EINVAL;
        /* mktime() would turn 2026-02-30 into March 2nd: a typo must not become another day. */
        if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
                return -EINVAL;
        if (y < 1970)
                return -ERANGE;

        tm = (struct tm) {
                .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                .tm_hour = h, .tm_min = mi, .tm_sec = sec, .tm_isdst = -1,
        };
        t = utc ? timegm(&tm) : mktime(&tm);
        if (t == (time_t) -1)
                return -ERANGE;
        return to_usec(t, ret);
}

static uint64_t unit_usec(const char **p) {
        static const struct {
                const char *name;
                uint64_t usec;
        } units[] = {
                /* Longest first, so "min" is not read as "m" followed by "in". */
                { "min", 60 * USEC_PER_SEC },
                { "s", USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC },
                { "d", 86400 * USEC_PER_SEC },
                { "w", 7 * 86400 * USEC_PER_SEC },
        };

        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
                size_t n = strlen(units[i].name);

                if (strncmp(*p, units[i].name, n) == 0) {
                        *p += n;
                        return units[i].usec;
                }
        }
        return 0;
}

/* 30m, 2h, 1h30m: that long before now. */
static int parse_ago(const char *s, uint64_t now_usec, uint64_t *ret) {
        uint64_t total = 0;

        do {
                uint64_t n, unit;
                int r;

                r = number(&s, UINT64_MAX, &n);
                if (r < 0)
                        return r;
                unit = unit_usec(&s);
                if (unit == 0)
                        return -EINVAL;
                if (n > (UINT64_MAX - total) / unit)
                        return -ERANGE;
                total += n * unit;
        } while (*s);

        if (total > now_usec)
                return -ERANGE;
        *ret = now_usec - total;
        return 0;
}

int time_parse(const char *s, uint64_t now_usec, uint64_t *ret_usec) {
        if (!s || !*s)
                return -EINVAL;
        if (strcmp(s, "now") == 0) {
                *ret_usec = now_usec;
                return 0;
        }
        if (strcmp(s, "today") == 0)
                return time_local_day_start(now_usec, 0, ret_usec);
        if (strcmp(s, "yesterday") == 0)
                return time_local_day_start(now_usec, -1, ret_usec);
        if (s[0] == '@') {
                const char *p = s + 1;
                uint64_t sec;
                int r;

                r = number(&p, UINT64_MAX / USEC_PER_SEC, &sec);
                if (r < 0)
                        return r;
                if (*p != '\0')
                        return -EINVAL;
                *ret_usec = sec * USEC_PER_SEC;
                return 0;
        }
        /* A date starts with four digits and a dash; a duration never has a dash. */
        if (strlen(s) >= 5 && s[4] == '-')
                return parse_date(s, ret_usec);
        return parse_ago(s, now_usec, ret_usec);
}

const char *time_format(char buf[static TIME_TEXT_MAX], enum time_style style, uint64_t usec) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;
        size_t n = 0;

        if (localtime_r(&t, &tm))
                switch (style) {
                case TIME_CLOCK:
                        n = strftime(buf, TIME_TEXT_MAX, "%H:%M:%S", &tm);
                        break;
                case TIME_HOUR_MINUTE:
                        n = strftime(buf, TIME_TEXT_MAX, "%H:%M", &tm);
                        break;
                case TIME_DATE:
                        n = strftime(buf, TIME_TEXT_MAX, "%Y-%m-%d", &tm);
                        break;
                case TIME_DAY:
                        n = strftime(buf, TIME_TEXT_MAX, "%a %Y-%m-%d", &tm);
                        break;
                case TIME_DATE_CLOCK:
                        n = strftime(buf, TIME_TEXT_MAX, "%Y-%m-%d %H:%M:%S", &tm);
                        break;
                }
        if (n == 0)
                snprintf(buf, TIME_TEXT_MAX, "?");
        return buf;
}

const char *time_format_duration(char buf[static TIME_TEXT_MAX], uint64_t usec) {
        /* Rounded to what is shown, so 59.96 s reads "1 min 00 s", not "60.0 s". */
        uint64_t tenths = (usec + 50000) / 100000;
        uint64_t sec = (usec + 500000) / USEC_PER_SEC;

        if (tenths < 600)
                snprintf(buf, TIME_TEXT_MAX, "%u.%u s", (unsigned) (tenths / 10), (unsigned) (tenths % 10));
        else if (sec < 3600)
                snprintf(buf, TIME_TEXT_MAX, "%u min %02u s", (unsigned) (sec / 60), (unsigned) (sec % 60));
        else {
                uint64_t min = (usec + 30 * USEC_PER_SEC) / (60 * USEC_PER_SEC);

                snprintf(buf, TIME_TEXT_MAX, "%llu h %02u min", (unsigned long long) (min / 60),
                         (unsigned) (min % 60));
        }
        return buf;
}
