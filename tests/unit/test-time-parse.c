/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* spasmctl's TIME arguments and the local days of `report`, in fixed time zones. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

/* The parser lives with spasmctl, not in a library: test that very file. */
#include "../../cli/time-parse.c"

#define SEC UINT64_C(1000000)
/* Central European time as a POSIX rule, so the test needs no tzdata. */
#define BERLIN "CET-1CEST,M3.5.0,M10.5.0/3"
/* 2026-11-25 10:30:00 UTC, a Wednesday. */
#define NOW (UINT64_C(1795602600) * SEC)

static void set_tz(const char *tz) {
        setenv("TZ", tz, 1);
        tzset();
}

static uint64_t parse_ok(const char *s) {
        uint64_t v = 0;

        assert_int_equal(time_parse(s, NOW, &v), 0);
        return v;
}

static void parse_fails(const char *s, int want) {
        uint64_t v = 12345;

        assert_int_equal(time_parse(s, NOW, &v), want);
        assert_int_equal(v, 12345); /* untouched */
}

static int utc(void **state) {
        (void) state;
        set_tz("UTC");
        return 0;
}

static void test_relative(void **state) {
        (void) state;
        assert_int_equal(parse_ok("30s"), NOW - 30 * SEC);
        assert_int_equal(parse_ok("30m"), NOW - 30 * 60 * SEC);
        assert_int_equal(parse_ok("30min"), NOW - 30 * 60 * SEC);
        assert_int_equal(parse_ok("2h"), NOW - 2 * 3600 * SEC);
        assert_int_equal(parse_ok("3d"), NOW - 3 * 86400 * SEC);
        assert_int_equal(parse_ok("1w"), NOW - 7 * 86400 * SEC);
        assert_int_equal(parse_ok("1h30m"), NOW - 90 * 60 * SEC);
        assert_int_equal(parse_ok("0m"), NOW);
        assert_int_equal(parse_ok("now"), NOW);
}

static void test_named_days(void **state) {
        (void) state;
        assert_int_equal(parse_ok("today"), UINT64_C(1795564800) * SEC);
        assert_int_equal(parse_ok("yesterday"), UINT64_C(1795478400) * SEC);
}

static void test_dates(void **state) {
        (void) state;
        assert_int_equal(parse_ok("2026-11-24"), UINT64_C(1795478400) * SEC);
        assert_int_equal(parse_ok("2026-11-24T08:00"), (UINT64_C(1795478400) + 8 * 3600) * SEC);
        assert_int_equal(parse_ok("2026-11-24 08:00"), (UINT64_C(1795478400) + 8 * 3600) * SEC);
        assert_int_equal(parse_ok("2026-11-24T08:00:15"), (UINT64_C(1795478400) + 8 * 3600 + 15) * SEC);
        assert_int_equal(parse_ok("1970-01-01"), 0);
        assert_int_equal(parse_ok("2024-02-29"), UINT64_C(1709164800) * SEC);
}

static void test_epoch(void **state) {
        (void) state;
        assert_int_equal(parse_ok("@1700000000"), UINT64_C(1700000000) * SEC);
        assert_int_equal(parse_ok("@0"), 0);
}

static void test_rejected(void **state) {
        static const char *const bad[] = {
                "", "2", "h", "2x", "2h3", "-2h", "2 h", " 2h", "2h ", "+2h", "2H", "1.5h", "1e3s",
                "Yesterday", "tomorrow", "todayx",
                "2026-11", "2026-11-", "2026-1-24", "26-11-24", "2026/11/24", "2026-13-01", "2026-00-10",
                "2026-11-00", "2026-11-31", "2026-02-29", "2026-11-24T", "2026-11-24T8:00", "2026-11-24T24:00",
                "2026-11-24T08:60", "2026-11-24T08:00:60", "2026-11-24T08:00+01:00", "2026-11-24x",
                "@", "@-1", "@12a", "@1.5",
        };

        (void) state;
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                uint64_t v = 12345;
                int r = time_parse(bad[i], NOW, &v);

                if (r != -EINVAL)
                        fail_msg("'%s': got %d, expected -EINVAL", bad[i], r);
                assert_int_equal(v, 12345);
        }
        parse_fails(NULL, -EINVAL);
}

static void test_out_of_range(void **state) {
        (void) state;
        /* Further back than the epoch, or more than fits. */
        parse_fails("100000w", -ERANGE);
        parse_fails("99999999999999999999s", -ERANGE);
        parse_fails("18446744073709551615d", -ERANGE);
        parse_fails("@18446744073709551615", -ERANGE);
        parse_fails("1969-12-31", -ERANGE);
        parse_fails("0000-01-01", -ERANGE);
}

static void test_local_zone(void **state) {
        (void) state;
        /* UTC+1 in winter: local midnight of the 25th is 23:00 UTC on the 24th. */
        set_tz(BERLIN);
        assert_int_equal(parse_ok("today"), (UINT64_C(1795564800) - 3600) * SEC);
        assert_int_equal(parse_ok("2026-11-24T08:00"), (UINT64_C(1795478400) + 7 * 3600) * SEC);
        /* Z means UTC whatever the zone. */
        assert_int_equal(parse_ok("2026-11-24T08:00Z"), (UINT64_C(1795478400) + 8 * 3600) * SEC);
}

static void test_days_across_summer_time(void **state) {
        uint64_t a, b;

        (void) state;
        /* 2026-03-29, when Berlin springs forward: a local day of 23 hours. */
        set_tz(BERLIN);
        assert_int_equal(time_parse("2026-03-29T12:00", 0, &a), 0);
        assert_int_equal(time_local_day_start(a, 0, &a), 0);
        assert_int_equal(time_local_day_start(a, 1, &b), 0);
        assert_int_equal(b - a, UINT64_C(23) * 3600 * SEC);
        assert_int_equal(time_local_hour(b), 0);
        /* And back a week, from a summer-time noon to a winter-time midnight. */
        assert_int_equal(time_parse("2026-04-01T12:00", 0, &a), 0);
        assert_int_equal(time_local_day_start(a, -7, &b), 0);
        assert_int_equal(b, (UINT64_C(1774396800) - 3600) * SEC); /* 2026-03-25 00:00 +01:00 */
}

static void test_format_duration(void **state) {
        char buf[TIME_TEXT_MAX];

        (void) state;
        assert_string_equal(time_format_duration(buf, 0), "0.0 s");
        assert_string_equal(time_format_duration(buf, 420000), "0.4 s");
        assert_string_equal(time_format_duration(buf, 5890000), "5.9 s");
        assert_string_equal(time_format_duration(buf, 59940000), "59.9 s");
        assert_string_equal(time_format_duration(buf, 59960000), "1 min 00 s");
        assert_string_equal(time_format_duration(buf, 605 * SEC), "10 min 05 s");
        assert_string_equal(time_format_duration(buf, 3599 * SEC + 600000), "1 h 00 min");
        assert_string_equal(time_format_duration(buf, (2 * 3600 + 3 * 60) * SEC), "2 h 03 min");
}

static void test_format(void **state) {
        char buf[TIME_TEXT_MAX];

        (void) state;
        assert_string_equal(time_format(buf, TIME_CLOCK, NOW), "10:30:00");
        assert_string_equal(time_format(buf, TIME_HOUR_MINUTE, NOW), "10:30");
        assert_string_equal(time_format(buf, TIME_DATE, NOW), "2026-11-25");
        assert_string_equal(time_format(buf, TIME_DAY, NOW), "Wed 2026-11-25");
        assert_string_equal(time_format(buf, TIME_DATE_CLOCK, NOW), "2026-11-25 10:30:00");
        assert_int_equal(time_local_hour(NOW), 10);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_relative, utc),
                cmocka_unit_test_setup(test_named_days, utc),
                cmocka_unit_test_setup(test_dates, utc),
                cmocka_unit_test_setup(test_epoch, utc),
                cmocka_unit_test_setup(test_rejected, utc),
                cmocka_unit_test_setup(test_out_of_range, utc),
                cmocka_unit_test_setup(test_local_zone, utc),
                cmocka_unit_test_setup(test_days_across_summer_time, utc),
                cmocka_unit_test_setup(test_format_duration, utc),
                cmocka_unit_test_setup(test_format, utc),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
