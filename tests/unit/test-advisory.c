/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "advisory.h"

#define SEC UINT64_C(1000000)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
/* 2023-11-14, a realistic CLOCK_REALTIME. */
#define T0 (UINT64_C(1700000000) * SEC)

static struct event_record spasm_at(uint64_t onset, uint64_t duration) {
        struct event_record r;

        memset(&r, 0, sizeof(r));
        r.class = SPASM_CLASS_SPASM;
        snprintf(r.sensor, sizeof(r.sensor), "lumbar");
        snprintf(r.side, sizeof(r.side), "left");
        r.onset_usec = onset;
        r.duration_usec = duration;
        return r;
}

static struct advisory *new_advisory(unsigned per_day, unsigned minutes, bool trend) {
        struct advisory_config c = { .max_spasms_per_day = per_day, .max_spasm_minutes = minutes, .trend = trend };
        struct advisory *a = NULL;

        assert_int_equal(advisory_new(&c, &a), 0);
        assert_non_null(a);
        return a;
}

static struct advisory *new_default(void) {
        struct advisory_config c;
        struct advisory *a = NULL;

        advisory_config_defaults(&c);
        assert_int_equal(advisory_new(&c, &a), 0);
        return a;
}

/* A live spasm, seen as it ends. Returns how many advisories it raised. */
static int live(struct advisory *a, uint64_t onset, uint64_t duration, struct advisory_notice out[]) {
        struct event_record r = spasm_at(onset, duration);
        int n = advisory_add(a, &r, onset + duration, false, out);

        assert_in_range(n, 0, ADVISORY_NOTICES_MAX);
        return n;
}

static int live_now(struct advisory *a, uint64_t onset, uint64_t duration, uint64_t now,
                    struct advisory_notice out[]) {
        struct event_record r = spasm_at(onset, duration);
        int n = advisory_add(a, &r, now, false, out);

        assert_in_range(n, 0, ADVISORY_NOTICES_MAX);
        return n;
}

static void replay(struct advisory *a, uint64_t onset, uint64_t duration, uint64_t now) {
        struct event_record r = spasm_at(onset, duration);

        assert_int_equal(advisory_add(a, &r, now, true, NULL), 0);
}

static bool has_kind(const struct advisory_notice out[], int n, enum advisory_kind k) {
        for (int i = 0; i < n; i++)
                if (out[i].kind == k)
                        return true;
        return false;
}

static const struct advisory_notice *find_kind(const struct advisory_notice out[], int n, enum advisory_kind k) {
        for (int i = 0; i < n; i++)
                if (out[i].kind == k)
                        return &out[i];
        return NULL;
}

static void assert_contains(const char *s, const char *needle) {
        if (!strstr(s, needle))
                fail_msg("\"%s\" not in \"%s\"", needle, s);
}

static void test_defaults(void **state) {
        struct advisory_config c, bad;
        struct advisory *a = NULL;

        (void) state;
        memset(&c, 0xff, sizeof(c));
        advisory_config_defaults(&c);
        assert_int_equal(c.max_spasms_per_day, 5);
        assert_int_equal(c.max_spasm_minutes, 10);
        assert_true(c.trend);

        assert_string_equal(advisory_kind_to_string(ADVISORY_NONE), "");
        assert_string_equal(advisory_kind_to_string(ADVISORY_FREQUENT), "frequent");
        assert_string_equal(advisory_kind_to_string(ADVISORY_LONG), "long");
        assert_string_equal(advisory_kind_to_string(ADVISORY_RISING), "rising");
        assert_string_equal(advisory_kind_to_string((enum advisory_kind) 42), "");

        bad = c;
        bad.max_spasms_per_day = 0;
        assert_int_equal(advisory_new(&bad, &a), -EINVAL);
        bad.max_spasms_per_day = ADVISORY_SPASMS_MAX;
        assert_int_equal(advisory_new(&bad, &a), -EINVAL);
        bad = c;
        bad.max_spasm_minutes = 0;
        assert_int_equal(advisory_new(&bad, &a), -EINVAL);
        bad.max_spasm_minutes = ADVISORY_MINUTES_MAX + 1;
        assert_int_equal(advisory_new(&bad, &a), -EINVAL);
        assert_int_equal(advisory_new(NULL, &a), -EINVAL);
        assert_null(a);

        a = new_default();
        bad.max_spasm_minutes = 0;
        assert_int_equal(advisory_set_config(a, &bad), -EINVAL);
        assert_null(advisory_free(a));
        assert_null(advisory_free(NULL));
}

static void test_frequent(void **state) {
        struct advisory_notice out[ADVISORY_NOTICES_MAX];
        struct advisory *a = new_default();
        int n;

        (void) state;
        /* Five an hour apart: at the limit, not over it. */
        for (int i = 0; i < 5; i++)
                assert_int_equal(live(a, T0 + (uint64_t) i * HOUR, 30 * SEC, out), 0);

        n = live(a, T0 + 5 * HOUR, 30 * SEC, out);
        assert_int_equal(n, 1);
        assert_int_equal(out[0].kind, ADVISORY_FREQUENT);
        assert_true(out[0].time_usec == T0 + 5 * HOUR + 30 * SEC);
        assert_contains(out[0].message, "6 spasms in the last 24 hours, more than the limit of 5.");

        /* Still over the limit, but said once a day. */
        assert_int_equal(live(a, T0 + 6 * HOUR, 30 * SEC, out), 0);
        for (int h = 24; h <= 28; h++)
                assert_int_equal(live(a, T0 + (uint64_t) h * HOUR, 30 * SEC, out), 0);

        /* 24 hours after it was raised, and (5 h, 29 h] still holds 7: said again. */
        n = live(a, T0 + 29 * HOUR, 30 * SEC, out);
        assert_int_equal(n, 1);
        assert_int_equal(out[0].kind, ADVISORY_FREQUENT);
        assert_contains(out[0].message, "7 spasms in the last 24 hours");
        advisory_free(a);
}

static void test_frequent_window_edge(void **state) {
        struct advisory_notice out[ADVISORY_NOTICES_MAX];
        struct advisory *a = new_default();

        (void) state;
        /* The window is (t - 24 h, t]: a spasm exactly 24 h old has left it. */
        for (int i = 0; i < 5; i++)
                assert_int_equal(live(a, T0 + (uint64_t) i * HOUR, 0, out), 0);
        assert_int_equal(live(a, T0 + DAY, 0, out), 0);
        /* One microsecond earlier and six fall inside. */
        advisory_free(a);

        a = new_default();
        for (int i = 0; i < 5; i++)
                assert_int_equal(live(a, T0 + (uint64_t) i * HOUR, 0, out), 0);
        assert_int_equal(live(a, T0 + DAY - 1, 0, out), 1);
        assert_int_equal(out[0].kind, ADVISORY_FREQUENT);
        advisory_free(a);
}

static void test_other_classes_ignored(void **state) {
        static const enum spasm_class classes[] = {
                SPASM_CLASS_PENDING, SPASM_CLASS_TWITCH, SPASM_CLASS_VOLUNTARY, SPASM_CLASS_WITHDRAWN,
        };
        struct advisory_notice out[ADVISORY_NOTICES_MAX];
        struct advisory *a = new_default();

        (void) state;
        for (unsigned i = 0; i < 40; i++) {
                struct event_record r = spasm_at(T0 + i * MIN, 20 * MIN);
                r.class = classes[i % 4];
                assert_int_equal(advisory_add(a, &r, T0 + i * MIN + 20 * MIN, false, out), 0);
        }
        /* None of them counted: five spasms are still within the limit. */
        for (int i = 0; i < 5; i++)
                assert_int_equal(live(a, T0 + HOUR + (uint64_t) i * MIN, 10 * SEC, out), 0);
        assert_int_equal(live(a, T0 + 2 * HOUR, 10 * SEC, out), 1);
        advisory_free(a);
}

static void test_long(void **state) {
        struct advisory_notice out[ADVISORY_NOTICES_MAX];
        struct advisory *a = new_default();
        int n;

        (void) state;
        assert_int_equal(live(a, T0, 10 * MIN, out), 0);

        n = live(a, T0 + HOUR, 10 * MIN + SEC, out);
        assert_int_equal(n, 1);
        assert_int_equal(out[0].kind, ADVISORY_LONG);
        assert_true(out[0].time_usec == T0 + HOUR + 10 * MIN + SEC);
        assert_contains(out[0].message, "A spasm lasted 10 minutes 1 second, longer than the limit of 10 minutes.");

        /* Once a day. */
        assert_int_equal(live(a, T0 + 3 * HOUR, 14 * MIN, out), 0);
        n = live(a, T0 + 26 * HOUR, 14 * MIN, out);
        assert_int_equal(n, 1);
        assert_int_equal(out[0].kind, ADVISORY_LONG);
        assert_contains(out[0].message, "A spasm lasted 14 minutes, longer");
        advisory_free(a);
}

static void test_long_and_frequent_together(void **state) {
        struct advisory_notice out[ADVISORY_NOTICES_MAX];
        struct advisory *a = new_default();
        int n;

        (void) state;
        for (int i = 0; i < 5; i++)
                assert_int_equal(live(a, T0 + (uint64_t) i * HOUR, MIN, out), 0);
        /* One spasm crosses two limits: both are said, long first. */
        n = live(a, T0 + 5 * HOUR, 12 * MIN, out);
        assert_int_equal(n, 2);
        assert_int_equal(out[0].kind, ADVISORY_LONG);
        assert_int_equal(out[1].kind, ADVISORY_FREQUENT);
        assert_contains(out[0].message, "12 minutes");
        assert_contains(out[1].message, "6 spasms");
        advisory_free(a);
}

/*
 * counts[d] spasms on day d of n, at hours 1, 2, ... of it, each seen as it
 * ends or, with now set, all at that time. Day 0 is the week before: the
 * trend needs one. Returns how many rising advisories were raised, the last
 * one in *last.
 */
static int feed_days(struct advisory *a, const unsigned *counts, int n_days, uint64_t now,
                     struct advisory_notice *last) {
        struct advisory_notice out[ADVISORY_NOTICES_MAX];
        int risen = 0;

        for (int d = 0; d < n_days; d++)
                for (unsigned j = 0; j < counts[d]; j++) {
                        uint64_t onset = T0 + (uint64_t) d * DAY + (j + 1) * HOUR;
                        int n = live_now(a, onset, 30 * SEC, now ? now : onset + 30 * SEC, out);
                        const struct advisory_notice *x = find_kind(out, n, ADVISORY_RISING);

                        if (x) {
                                risen++;
                                *last = *x;
                        }
                }
        return risen;
}

static const unsigned week_rising[8] = { 1, 1, 1, 2, 2, 3, 4, 5 };

static void test_rising(void **state) {
        struct advisory_notice last;
        struct advisory *a = new_default();

        (void) state;
        /*
         * Raised once, by the fourth spasm of the last day: the windows end at
         * 04:00:30 then and hold 1, 1, 2, 2, 3, 4, 4, slope (4 + 3 * 4) / 28 > 0.5.
         * At the third they held 1, 1, 2, 2, 3, 3, 4: slope exactly 0.5.
         */
        assert_int_equal(feed_days(a, week_rising, 8, 0, &last), 1);
        assert_int_equal(last.kind, ADVISORY_RISING);
        assert_true(last.time_usec == T0 + 7 * DAY + 4 * HOUR + 30 * SEC);
        assert_contains(last.message, "Spasms have become more frequent over the last 7 days: "
                                      "1, 1, 2, 2, 3, 4, 4 per day, oldest first.");
        advisory_free(a);

        /* The same week with the trend switched off. */
        a = new_advisory(5, 10, false);
        assert_int_equal(feed_days(a, week_rising, 8, 0, &last), 0);
        advisory_free(a);
}

static void test_not_rising(void **state) {
        static const unsigned flat[8] = { 4, 4, 4, 4, 4, 4, 4, 4 };
        static const unsigned flat_high[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };
        static const unsigned falling[8] = { 5, 5, 5, 4, 3, 3, 2, 1 };
        static const unsigned bumpy[8] = { 2, 2, 3, 2, 3, 2, 3, 3 };
        static const unsigned one_bad_day[8] = { 1, 1, 0, 0, 0, 0, 0, 6 };
        static const unsigned fell_back[8] = { 1, 1, 0, 0, 0, 0, 9, 2 };
        struct advisory_notice last;
        struct advisory *a;

        (void) state;
        a = new_default();
        assert_int_equal(feed_days(a, flat, 8, 0, &last), 0);
        advisory_free(a);

        a = new_default();
        assert_int_equal(feed_days(a, flat_high, 8, 0, &last), 0);
        advisory_free(a);

        a = new_default();
        assert_int_equal(feed_days(a, falling, 8, 0, &last), 0);
        advisory_free(a);

        a = new_default();
        assert_int_equal(feed_days(a, bumpy, 8, 0, &last), 0);
        advisory_free(a);

        /* Slope 15/28 and 6 on the last day, but the day before was quiet. */
        a = new_default();
        assert_int_equal(feed_days(a, one_bad_day, 8, 0, &last), 0);
        advisory_free(a);

        /* Seen at one time, days aligned: slope 18/28 with 9 then 1 or 2, under 3 on the last day. */
        a = new_default();
        assert_int_equal(feed_days(a, fell_back, 8, T0 + 7 * DAY + 12 * HOUR, &last), 0);
        advisory_free(a);
}

static void test_rising_needs_a_week(void **state) {
        static const unsigned steep[8] = { 0, 0, 1, 2, 3, 4, 5, 5 };
        struct advisory_notice out[ADVISORY_NOTICES_MAX], last;
        struct advisory *a = new_default();
        uint64_t now = T0 + 7 * DAY + 5 * HOUR + 30 * SEC;
        int n;

        (void) state;
        /* Six days of data: no trend yet. */
        assert_int_equal(feed_days(a, steep, 8, 0, &last), 0);

        /* A spasm from a week ago, reported late, makes it a week. */
        n = live_now(a, T0 + HOUR, 30 * SEC, now, out);
        assert_int_equal(n, 1);
        assert_int_equal(out[0].kind, ADVISORY_RISING);
        assert_contains(out[0].message, ": 0, 1, 2, 3, 4, 5, 5 per day");
        advisory_free(a);

        /* A spasm in 1970, before the clock was set, is no week of data. */
        a = new_default();
        assert_int_equal(live(a, HOUR, 30 * SEC, out), 0);
        assert_int_equal(feed_days(a, steep, 8, 0, &last), 0);
        advisory_free(a);

        /* Nor one more than 8 days old, reported late. */
        a = new_default();
        assert_int_equal(feed_days(a, steep, 8, 0, &last), 0);
        assert_int_equal(live_now(a, T0 - 9 * DAY, 30 * SEC, now, out), 0);
        advisory_free(a);

        /* Nor is a week followed by more than 8 quiet days. */
        a = new_default();
        for (int d = 0; d < 7; d++)
                assert_int_equal(live(a, T0 - 16 * DAY + (uint64_t) d * DAY, 30 * SEC, out), 0);
        assert_int_equal(feed_days(a, steep, 8, 0, &last), 0);
        advisory_free(a);
}

static void test_replay(void **state) {
        struct advisory_notice out[ADVISORY_NOTICES_MAX], cur;
        struct advisory *a = new_default();
        uint64_t now = T0 + 10 * HOUR;

        (void) state;
        /* Six in the history, raised before the restart: not said again... */
        for (int i = 0; i < 6; i++)
                replay(a, T0 + (uint64_t) i * HOUR, MIN, now);
        /* ...but in force. */
        assert_true(advisory_current(a, now, &cur));
        assert_int_equal(cur.kind, ADVISORY_FREQUENT);
        assert_true(cur.time_usec == T0 + 5 * HOUR + MIN);
        assert_contains(cur.message, "6 spasms in the last 24 hours");

        /* Nor by the next live one, within the day. */
        assert_int_equal(live(a, T0 + 11 * HOUR, MIN, out), 0);
        advisory_free(a);

        /* Five in the history rebuild the count: the next live one is the sixth. */
        a = new_default();
        for (int i = 0; i < 5; i++)
                replay(a, T0 + (uint64_t) i * HOUR, MIN, now);
        assert_false(advisory_current(a, now, &cur));
        assert_int_equal(live(a, now, MIN, out), 1);
        assert_int_equal(out[0].kind, ADVISORY_FREQUENT);
        advisory_free(a);

        /* A long spasm and a busy day a week ago are history, not advisories. */
        a = new_default();
        now = T0 + 8 * DAY;
        replay(a, T0, 30 * MIN, now);
        for (int i = 0; i < 8; i++)
                replay(a, T0 + (uint64_t) i * HOUR, MIN, now);
        assert_false(advisory_current(a, now, &cur));
        assert_int_equal(cur.kind, ADVISORY_NONE);
        assert_string_equal(cur.message, "");
        assert_int_equal(live(a, now, MIN, out), 0);
        advisory_free(a);
}

static void test_replay_rising(void **state) {
        struct advisory_notice out[ADVISORY_NOTICES_MAX], cur;
        struct advisory *a = new_default();
        uint64_t now = T0 + 7 * DAY + 6 * HOUR;
        int n;

        (void) state;
        for (int d = 0; d < 8; d++)
                for (unsigned j = 0; j < week_rising[d]; j++)
                        replay(a, T0 + (uint64_t) d * DAY + (j + 1) * HOUR, 30 * SEC, now);
        assert_true(advisory_current(a, now, &cur));
        assert_int_equal(cur.kind, ADVISORY_RISING);
        assert_true(cur.time_usec == T0 + 7 * DAY + 4 * HOUR + 30 * SEC);
        /* Raised in the replay, so a live spasm now repeats nothing (it is the sixth today: frequent). */
        n = live(a, now, 30 * SEC, out);
        assert_false(has_kind(out, n, ADVISORY_RISING));
        assert_true(has_kind(out, n, ADVISORY_FREQUENT));
        advisory_free(a);
}

static void assert_wording(const char *m) {
        static const char *const required[] = {
                "contact a doctor", "urgent care", "numbness", "bladder", "bowel", "fever",
                "weakness in the legs", "pain after a fall", "sensors cannot see", "does not give medical advice",
        };
        static const char *const forbidden[] = {
                "take", "dose", "medication", "medicine", "pill", "tablet", "drug", "exercise", "stretch",
                "diagnos", "mg",
        };

        for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
                if (!strcasestr(m, required[i]))
                        fail_msg("\"%s\" missing from \"%s\"", required[i], m);
        for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
                if (strcasestr(m, forbidden[i]))
                        fail_msg("\"%s\" in \"%s\"", forbidden[i], m);
        assert_true(strlen(m) < ADVISORY_MESSAGE_MAX - 1);
}

static void test_message(void **state) {
        struct advisory_notice out[ADVISORY_NOTICES_MAX], last;
        struct advisory *a = new_default();
        int n;

        (void) state;
        n = live(a, T0, 11 * MIN, out);
        assert_int_equal(n, 1);
        assert_int_equal(out[0].kind, ADVISORY_LONG);
        assert_wording(out[0].message);

        for (int i = 1; i <= 5; i++)
                n = live(a, T0 + (uint64_t) i * HOUR, MIN, out);
        assert_int_equal(n, 1);
        assert_int_equal(out[0].kind, ADVISORY_FREQUENT);
        assert_wording(out[0].message);
        advisory_free(a);

        a = new_default();
        assert_int_equal(feed_days(a, week_rising, 8, 0, &last), 1);
        assert_wording(last.message);
        advisory_free(a);
}

static void test_config_limits(void **state) {
        struct advisory_notice out[ADVISORY_NOTICES_MAX];
        struct advisory_config c;
        struct advisory *a = new_advisory(2, 1, true);
        int n;

        (void) state;
        assert_int_equal(live(a, T0, MIN, out), 0);
        assert_int_equal(live(a, T0 + HOUR, 30 * SEC, out), 0);
        n = live(a, T0 + 2 * HOUR, 61 * SEC, out);
        assert_int_equal(n, 2);
        assert_int_equal(out[0].kind, ADVISORY_LONG);
        assert_contains(out[0].message, "A spasm lasted 1 minute 1 second, longer than the limit of 1 minute.");
        assert_int_equal(out[1].kind, ADVISORY_FREQUENT);
        assert_contains(out[1].message, "3 spasms in the last 24 hours, more than the limit of 2.");
        advisory_free(a);

        /* A reload raises the limits and keeps the count: 3 is under 4. */
        a = new_advisory(2, 10, true);
        assert_int_equal(live(a, T0, MIN, out), 0);
        assert_int_equal(live(a, T0 + HOUR, MIN, out), 0);
        advisory_config_defaults(&c);
        c.max_spasms_per_day = 4;
        assert_int_equal(advisory_set_config(a, &c), 0);
        assert_int_equal(live(a, T0 + 2 * HOUR, MIN, out), 0);
        assert_int_equal(live(a, T0 + 3 * HOUR, MIN, out), 0);
        n = live(a, T0 + 4 * HOUR, MIN, out);
        assert_int_equal(n, 1);
        assert_contains(out[0].message, "5 spasms in the last 24 hours, more than the limit of 4.");
        advisory_free(a);
}

static void test_current(void **state) {
        struct advisory_notice out[ADVISORY_NOTICES_MAX], cur;
        struct advisory *a = new_default();
        uint64_t raised;

        (void) state;
        memset(&cur, 'x', sizeof(cur));
        assert_false(advisory_current(a, T0, &cur));
        assert_int_equal(cur.kind, ADVISORY_NONE);
        assert_string_equal(cur.message, "");

        /* Frequent: in force while more than 5 remain in the last 24 h. */
        for (int i = 0; i < 6; i++)
                live(a, T0 + (uint64_t) i * HOUR, MIN, out);
        raised = T0 + 5 * HOUR + MIN;
        assert_true(advisory_current(a, raised, &cur));
        assert_int_equal(cur.kind, ADVISORY_FREQUENT);
        assert_true(cur.time_usec == raised);
        assert_true(advisory_current(a, T0 + DAY - 1, &cur));
        /* The first has left the window: 5 remain. */
        assert_false(advisory_current(a, T0 + DAY, &cur));

        /* Long: in force for 24 hours; the latest raised wins. */
        live(a, T0 + 6 * HOUR, 15 * MIN, out);
        assert_true(advisory_current(a, T0 + 7 * HOUR, &cur));
        assert_int_equal(cur.kind, ADVISORY_LONG);
        assert_contains(cur.message, "15 minutes");
        assert_true(advisory_current(a, T0 + 30 * HOUR + 15 * MIN - 1, &cur));
        assert_int_equal(cur.kind, ADVISORY_LONG);
        assert_false(advisory_current(a, T0 + 30 * HOUR + 15 * MIN, &cur));

        /* Asking does not change anything. */
        assert_true(advisory_current(a, T0 + 7 * HOUR, &cur));
        assert_int_equal(cur.kind, ADVISORY_LONG);
        advisory_free(a);
}

static void test_current_rising_lapses(void **state) {
        struct advisory_notice last, cur;
        struct advisory *a = new_default();

        (void) state;
        assert_int_equal(feed_days(a, week_rising, 8, 0, &last), 1);
        assert_true(advisory_current(a, last.time_usec + HOUR, &cur));
        assert_int_equal(cur.kind, ADVISORY_RISING);
        /* No spasm since: by 03:00:30 the next day the last 24 hours hold 2, and the trend is gone. */
        assert_false(advisory_current(a, last.time_usec + 22 * HOUR + 30 * MIN, &cur));
        advisory_free(a);
}

static void test_overflow(void **state) {
        struct advisory_notice out[ADVISORY_NOTICES_MAX];
        struct advisory *a = new_default();
        const struct advisory_notice *x;
        unsigned frequent = 0, rising = 0, spacing = DAY / 600;
        char last[ADVISORY_MESSAGE_MAX] = "";

        (void) state;
        /*
         * 600 a day, evenly, for 8 days: 4800 spasms, more than are kept. The
         * oldest go, and a week whose first days are missing must not read as
         * rising; the daily count must stay right.
         */
        for (unsigned i = 0; i < 8 * 600; i++) {
                int n = live(a, T0 + (uint64_t) i * spacing, SEC, out);

                assert_false(has_kind(out, n, ADVISORY_LONG));
                rising += has_kind(out, n, ADVISORY_RISING);
                x = find_kind(out, n, ADVISORY_FREQUENT);
                if (x) {
                        frequent++;
                        snprintf(last, sizeof(last), "%s", x->message);
                }
        }
        assert_int_equal(rising, 0);
        /* At spasms 6, 606, ..., 4206: once a day for 8 days. */
        assert_int_equal(frequent, 8);
        assert_contains(last, "600 spasms in the last 24 hours");
        advisory_free(a);

        /* A burst of more than fit in one hour: bounded, and still counted as too many. */
        a = new_default();
        frequent = 0;
        for (unsigned i = 0; i < ADVISORY_SPASMS_MAX + 500; i++) {
                int n = live(a, T0 + (uint64_t) i * 100000, 50000, out);
                frequent += has_kind(out, n, ADVISORY_FREQUENT);
        }
        assert_int_equal(frequent, 1);
        assert_true(advisory_current(a, T0 + (uint64_t) (ADVISORY_SPASMS_MAX + 500) * 100000, out));
        assert_int_equal(out[0].kind, ADVISORY_FREQUENT);
        advisory_free(a);
}

static void test_clock(void **state) {
        struct advisory_notice out[ADVISORY_NOTICES_MAX], cur;
        struct advisory *a = new_default();
        struct event_record r;
        uint64_t now = T0 + 12 * HOUR;

        (void) state;
        /* Onsets ahead of the clock count once it gets there. */
        for (int i = 1; i <= 6; i++)
                assert_int_equal(live_now(a, now + (uint64_t) i * MIN, 10 * SEC, now, out), 0);
        assert_int_equal(live_now(a, now - HOUR, 10 * SEC, now + 7 * MIN, out), 1);
        assert_int_equal(out[0].kind, ADVISORY_FREQUENT);
        assert_contains(out[0].message, "7 spasms");

        /* Out of order, far off, absurd: no crash, nothing counted twice or below zero. */
        r = spasm_at(0, UINT64_MAX);
        assert_int_equal(advisory_add(a, &r, now, false, out), 1);
        assert_int_equal(out[0].kind, ADVISORY_LONG);
        r = spasm_at(UINT64_MAX, UINT64_MAX);
        assert_in_range(advisory_add(a, &r, 0, false, out), 0, ADVISORY_NOTICES_MAX);
        assert_int_equal(advisory_add(a, &r, UINT64_MAX, true, NULL), 0);
        r = spasm_at(now + 365 * DAY, SEC);
        assert_in_range(advisory_add(a, &r, now, false, out), 0, ADVISORY_NOTICES_MAX);
        assert_false(advisory_current(a, 0, &cur));
        advisory_current(a, UINT64_MAX, &cur);
        assert_int_equal(advisory_add(NULL, &r, now, false, out), -EINVAL);
        assert_int_equal(advisory_add(a, NULL, now, false, out), -EINVAL);
        assert_int_equal(advisory_add(a, &r, now, false, NULL), -EINVAL);

        /* Stepped back by a month: what lies beyond 8 days ahead is forgotten, not kept for later. */
        advisory_free(a);
        a = new_default();
        for (int i = 0; i < 6; i++)
                live(a, T0 + 30 * DAY + (uint64_t) i * MIN, SEC, out);
        assert_true(advisory_current(a, T0 + 30 * DAY + HOUR, &cur));
        assert_int_equal(live(a, T0, SEC, out), 0);
        assert_int_equal(live(a, T0 + 30 * DAY + HOUR, SEC, out), 0);
        assert_false(advisory_current(a, T0 + 30 * DAY + HOUR, &cur));

        /* A clock stepped back by two days does not keep the frequent advisory silent. */
        advisory_free(a);
        a = new_default();
        for (int i = 0; i < 6; i++)
                live(a, T0 + 3 * DAY + (uint64_t) i * MIN, SEC, out);
        for (int i = 0; i < 5; i++)
                assert_int_equal(live(a, T0 + DAY + (uint64_t) i * MIN, SEC, out), 0);
        assert_int_equal(live(a, T0 + DAY + HOUR, SEC, out), 1);
        assert_int_equal(out[0].kind, ADVISORY_FREQUENT);
        advisory_free(a);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_frequent),
                cmocka_unit_test(test_frequent_window_edge),
                cmocka_unit_test(test_other_classes_ignored),
                cmocka_unit_test(test_long),
                cmocka_unit_test(test_long_and_frequent_together),
                cmocka_unit_test(test_rising),
                cmocka_unit_test(test_not_rising),
                cmocka_unit_test(test_rising_needs_a_week),
                cmocka_unit_test(test_replay),
                cmocka_unit_test(test_replay_rising),
                cmocka_unit_test(test_message),
                cmocka_unit_test(test_config_limits),
                cmocka_unit_test(test_current),
                cmocka_unit_test(test_current_rising_lapses),
                cmocka_unit_test(test_overflow),
                cmocka_unit_test(test_clock),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
