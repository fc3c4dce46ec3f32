/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ratelimit.h"

#define SEC 1000000ULL

/* Small buckets, so that each test can empty them in a few calls; the clock is the test's. */
static const struct ratelimit_config small = {
        .client = {
                [RATELIMIT_CALLS] = { .burst = 3, .per_s = 1 },
                [RATELIMIT_ROWS] = { .burst = 100, .per_s = 50 },
                [RATELIMIT_BUSY] = { .burst = 1000, .per_s = 500 },
        },
        .total_busy = { .burst = 2000, .per_s = 1000 },
};

static struct ratelimit *new_limit(void) {
        /* Large (one entry per client): on the heap, as in struct bus. */
        struct ratelimit *rl = malloc(sizeof(*rl));
        assert_non_null(rl);
        ratelimit_init(rl, &small);
        return rl;
}

static int admit(struct ratelimit *rl, const char *key, uint64_t now, struct ratelimit_client **c, uint64_t *wait,
                 enum ratelimit_kind *why) {
        struct ratelimit_client *dummy_c;
        uint64_t dummy_wait;
        enum ratelimit_kind dummy_why;
        return ratelimit_admit(rl, key, now, c ? c : &dummy_c, wait ? wait : &dummy_wait, why ? why : &dummy_why);
}

static void test_burst_then_rate(void **state) {
        (void) state;
        struct ratelimit *rl = new_limit();
        uint64_t wait;
        enum ratelimit_kind why;

        for (int i = 0; i < 3; i++)
                assert_int_equal(admit(rl, ":1.7", 10 * SEC, NULL, NULL, NULL), 0);
        assert_int_equal(admit(rl, ":1.7", 10 * SEC, NULL, &wait, &why), -EBUSY);
        assert_int_equal(why, RATELIMIT_CALLS);
        /* refused calls cost a token too: 0 - 1 = -1, so two tokens are missing at 1/s */
        assert_true(wait > 1 * SEC && wait <= 2 * SEC);
        assert_int_equal(ratelimit_take_refused(rl), 1);
        assert_int_equal(ratelimit_take_refused(rl), 0);

        /* waiting as told works */
        assert_int_equal(admit(rl, ":1.7", 10 * SEC + wait, NULL, NULL, NULL), 0);
        /* another client has its own buckets */
        assert_int_equal(admit(rl, ":1.8", 10 * SEC + wait, NULL, NULL, NULL), 0);
        free(rl);
}

static void test_hammering_never_passes(void **state) {
        (void) state;
        struct ratelimit *rl = new_limit();
        uint64_t now = 1 * SEC;

        for (int i = 0; i < 3; i++)
                assert_int_equal(admit(rl, ":1.9", now, NULL, NULL, NULL), 0);
        /* four calls a second against a refill of one: the debt grows to a bucketful and stays there */
        int passed = 0;
        for (int i = 0; i < 400; i++) {
                now += SEC / 4;
                if (admit(rl, ":1.9", now, NULL, NULL, NULL) == 0)
                        passed++;
        }
        assert_int_equal(passed, 0);
        /* once it stops for long enough to repay the bucketful of debt and one token, it gets through */
        assert_int_equal(admit(rl, ":1.9", now + 7 * SEC, NULL, NULL, NULL), 0);
        free(rl);
}

static void test_rows_and_busy_are_charged_after(void **state) {
        (void) state;
        struct ratelimit *rl = new_limit();
        struct ratelimit_client *c;
        uint64_t wait;
        enum ratelimit_kind why;

        assert_int_equal(admit(rl, ":1.2", SEC, &c, NULL, NULL), 0);
        ratelimit_charge(rl, c, 300, 0); /* 100 - 300: 200 rows in debt */
        assert_int_equal(admit(rl, ":1.2", SEC, NULL, &wait, &why), -EBUSY);
        assert_int_equal(why, RATELIMIT_ROWS);
        assert_true(wait >= 4 * SEC - 1 && wait <= 4 * SEC + 1); /* 200 rows at 50/s */

        assert_int_equal(admit(rl, ":1.3", SEC, &c, NULL, NULL), 0);
        ratelimit_charge(rl, c, 0, 1500); /* 1000 - 1500 of its own loop time */
        assert_int_equal(admit(rl, ":1.3", SEC, NULL, &wait, &why), -EBUSY);
        assert_int_equal(why, RATELIMIT_BUSY);
        assert_true(wait >= SEC - 1 && wait <= SEC + 1); /* 500 µs at 500/s */

        /* a refused call was charged nothing: the charge of NULL is a no-op */
        ratelimit_charge(rl, NULL, 1000, 1000);
        free(rl);
}

static void test_shared_bucket_spares_light_clients(void **state) {
        (void) state;
        struct ratelimit *rl = new_limit();
        struct ratelimit_client *c;
        uint64_t wait;
        enum ratelimit_kind why;
        char key[16];

        /* Many connections, each within its own busy bucket, together use up the shared one and then a second
         * bucketful of debt, which only light clients may use. */
        for (int i = 0; i < 5; i++) {
                snprintf(key, sizeof(key), ":1.%d", 100 + i);
                assert_int_equal(admit(rl, key, SEC, &c, NULL, NULL), 0);
                ratelimit_charge(rl, c, 0, 900);
        }
        /* 2000 - 4500 = -2500: past the light clients' limit of -2000 too */
        assert_int_equal(admit(rl, ":1.200", SEC, NULL, &wait, &why), -EBUSY);
        assert_int_equal(why, RATELIMIT_TOTAL_BUSY);
        /* half a second later the shared bucket is at -2000 + ... = -2000: a fresh client may go */
        assert_int_equal(admit(rl, ":1.201", SEC + SEC / 2 + 1, NULL, NULL, NULL), 0);
        /* but a heavy one (its own busy bucket not full) must wait for the shared bucket to be out of debt */
        assert_int_equal(admit(rl, ":1.100", SEC + SEC / 2 + 1, NULL, &wait, &why), -EBUSY);
        assert_int_equal(why, RATELIMIT_TOTAL_BUSY);
        assert_true(wait > SEC && wait <= 2 * SEC + 1);
        free(rl);
}

static void test_table_is_bounded(void **state) {
        (void) state;
        struct ratelimit *rl = new_limit();
        struct ratelimit_client *c;
        char key[16];

        /* Fill every entry with a client that is still limited (one token used). */
        for (int i = 0; i < RATELIMIT_CLIENTS; i++) {
                snprintf(key, sizeof(key), ":1.%d", i);
                assert_int_equal(admit(rl, key, SEC + (uint64_t) i, NULL, NULL, NULL), 0);
        }
        /* A new one, at once, evicts the least recently seen (":1.0") and counts it. */
        assert_int_equal(admit(rl, ":2.0", SEC + RATELIMIT_CLIENTS, &c, NULL, NULL), 0);
        assert_int_equal(rl->n_evicted, 1);
        for (int i = 0; i < RATELIMIT_CLIENTS; i++)
                assert_string_not_equal(rl->clients[i].key, ":1.0");

        /* Ten seconds on, every bucket has refilled: taking over such an entry is not an eviction. */
        assert_int_equal(admit(rl, ":3.0", 12 * SEC, NULL, NULL, NULL), 0);
        assert_int_equal(rl->n_evicted, 1);

        /* A key longer than an entry is cut, not overflowed; no sender shares one bucket. */
        assert_int_equal(admit(rl, ":1.99999999999999999999999999999999999999999999999999999", 12 * SEC, &c, NULL,
                               NULL), 0);
        assert_int_equal(strlen(c->key), RATELIMIT_KEY_MAX - 1);
        assert_int_equal(admit(rl, NULL, 12 * SEC, &c, NULL, NULL), 0);
        assert_string_equal(c->key, "-");
        free(rl);
}

static void test_clock_going_back_adds_nothing(void **state) {
        (void) state;
        struct ratelimit *rl = new_limit();

        for (int i = 0; i < 3; i++)
                assert_int_equal(admit(rl, ":1.5", 100 * SEC, NULL, NULL, NULL), 0);
        assert_int_equal(admit(rl, ":1.5", 10 * SEC, NULL, NULL, NULL), -EBUSY);
        assert_int_equal(admit(rl, ":1.5", 99 * SEC, NULL, NULL, NULL), -EBUSY);
        free(rl);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_burst_then_rate),
                cmocka_unit_test(test_hammering_never_passes),
                cmocka_unit_test(test_rows_and_busy_are_charged_after),
                cmocka_unit_test(test_shared_bucket_spares_light_clients),
                cmocka_unit_test(test_table_is_bounded),
                cmocka_unit_test(test_clock_going_back_adds_nothing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
