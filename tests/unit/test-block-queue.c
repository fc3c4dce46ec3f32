/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "block-queue.h"

static bool readable(const struct block_queue *q) {
        struct pollfd p = { .fd = block_queue_fd(q), .events = POLLIN };
        return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void push(struct block_queue *q, uint64_t first, uint32_t n) {
        struct sample_block *b = block_queue_reserve(q);
        assert_non_null(b);
        b->first_index = first;
        b->dropped = 0;
        b->first_ns = -1;
        b->n_samples = n;
        b->n_channels = 1;
        for (uint32_t i = 0; i < n; i++)
                b->data[i] = (float) (first + i);
        block_queue_commit(q);
}

static void test_bad_size(void **state) {
        (void) state;
        struct block_queue *q = NULL;
        assert_int_equal(block_queue_new(0, &q), -EINVAL);
        assert_int_equal(block_queue_new(1, &q), -EINVAL);
        assert_null(q);
}

static void test_order(void **state) {
        (void) state;
        struct block_queue *q = NULL;
        assert_int_equal(block_queue_new(4, &q), 0);
        assert_null(block_queue_peek(q));
        for (uint64_t i = 0; i < 3; i++)
                push(q, i * 10, 10);
        for (uint64_t i = 0; i < 3; i++) {
                struct sample_block *b = block_queue_peek(q);
                assert_non_null(b);
                /* peek again: the same block until it is released */
                assert_ptr_equal(block_queue_peek(q), b);
                assert_int_equal(b->first_index, i * 10);
                assert_int_equal(b->dropped, 0);
                assert_true(b->data[9] == (float) (i * 10 + 9));
                block_queue_release(q);
        }
        assert_null(block_queue_peek(q));
        /* the ring wraps many times over */
        for (uint64_t i = 0; i < 1000; i++) {
                push(q, i, 1);
                assert_int_equal(block_queue_peek(q)->first_index, i);
                block_queue_release(q);
        }
        block_queue_free(q);
}

static void test_full_ring(void **state) {
        (void) state;
        struct block_queue *q = NULL;
        assert_int_equal(block_queue_new(3, &q), 0);
        push(q, 0, 5);
        push(q, 5, 5);
        push(q, 10, 5);
        /* full: the producer gets nothing and counts what it loses */
        assert_null(block_queue_reserve(q));
        block_queue_overrun(q, 5);
        assert_null(block_queue_reserve(q));
        block_queue_overrun(q, 7);
        /* the consumer takes one; the next block reports the 12 lost samples */
        assert_int_equal(block_queue_peek(q)->first_index, 0);
        block_queue_release(q);
        push(q, 27, 5);
        assert_int_equal(block_queue_peek(q)->dropped, 0);
        block_queue_release(q);
        assert_int_equal(block_queue_peek(q)->dropped, 0);
        block_queue_release(q);
        struct sample_block *b = block_queue_peek(q);
        assert_int_equal(b->first_index, 27);
        assert_int_equal(b->dropped, 12);
        block_queue_release(q);
        /* reported once only */
        push(q, 32, 5);
        assert_int_equal(block_queue_peek(q)->dropped, 0);
        block_queue_release(q);
        /* a producer's own count (a timestamp gap) adds to the overrun */
        push(q, 37, 1);
        block_queue_release(q);
        block_queue_overrun(q, 3);
        b = block_queue_reserve(q);
        assert_non_null(b);
        *b = (struct sample_block) { .first_index = 45, .dropped = 4, .n_samples = 1, .n_channels = 1 };
        block_queue_commit(q);
        assert_int_equal(block_queue_peek(q)->dropped, 7);
        block_queue_release(q);
        block_queue_free(q);
}

/* While the consumer keeps up, the producer keeps to the lowest slots: a deep queue costs memory
 * only when the loop really fell behind. */
static void test_lowest_slot(void **state) {
        (void) state;
        struct block_queue *q = NULL;
        assert_int_equal(block_queue_new_sized(64, 100, &q), 0);
        struct sample_block *first = block_queue_reserve(q);
        assert_non_null(first);
        /* reserved, not committed: the same block again */
        assert_ptr_equal(block_queue_reserve(q), first);
        for (uint64_t i = 0; i < 200; i++) {
                struct sample_block *b = block_queue_reserve(q);
                assert_ptr_equal(b, first);
                b->first_index = i;
                b->dropped = 0;
                b->n_samples = 1;
                b->n_channels = 1;
                block_queue_commit(q);
                assert_int_equal(block_queue_peek(q)->first_index, i);
                block_queue_release(q);
        }
        /* three behind: three slots; once drained, back to the first */
        struct sample_block *seen[3];
        for (uint64_t i = 0; i < 3; i++) {
                seen[i] = block_queue_reserve(q);
                seen[i]->first_index = 1000 + i;
                seen[i]->n_samples = 1;
                seen[i]->n_channels = 1;
                block_queue_commit(q);
        }
        assert_ptr_equal(seen[0], first);
        assert_ptr_not_equal(seen[1], first);
        assert_ptr_not_equal(seen[2], seen[1]);
        /* release the first only: its slot is the lowest free one again, order is kept */
        assert_int_equal(block_queue_peek(q)->first_index, 1000);
        block_queue_release(q);
        struct sample_block *b = block_queue_reserve(q);
        assert_ptr_equal(b, first);
        b->first_index = 1003;
        b->n_samples = 1;
        b->n_channels = 1;
        block_queue_commit(q);
        for (uint64_t i = 1; i <= 3; i++) {
                assert_int_equal(block_queue_peek(q)->first_index, 1000 + i);
                block_queue_release(q);
        }
        assert_null(block_queue_peek(q));
        block_queue_free(q);
}

static void test_eventfd(void **state) {
        (void) state;
        struct block_queue *q = NULL;
        assert_int_equal(block_queue_new(4, &q), 0);
        assert_true(block_queue_fd(q) >= 0);
        assert_false(readable(q));
        push(q, 0, 1);
        assert_true(readable(q));
        push(q, 1, 1);
        block_queue_ack(q);
        assert_false(readable(q));
        /* the blocks are still there after the ack */
        assert_non_null(block_queue_peek(q));
        block_queue_notify(q);
        assert_true(readable(q));
        block_queue_reset(q);
        assert_false(readable(q));
        assert_null(block_queue_peek(q));
        block_queue_free(q);
}

#define STRESS_BLOCKS 100000

struct stress {
        struct block_queue *q;
        uint64_t produced;      /* samples */
        uint64_t lost;          /* samples the producer could not hand over */
};

static void *producer(void *userdata) {
        struct stress *st = userdata;
        uint64_t idx = 0;

        for (unsigned i = 0; i < STRESS_BLOCKS; i++) {
                uint32_t n = 1 + (i * 7u) % 32u;
                /* Mostly wait a little for room, so that most blocks get
                 * through and some do not: both paths run interleaved. */
                struct sample_block *b = block_queue_reserve(st->q);
                for (unsigned spin = 0; !b && i % 16 != 0 && spin < 2000; spin++) {
                        sched_yield();
                        b = block_queue_reserve(st->q);
                }
                if (!b) {
                        block_queue_overrun(st->q, n);
                        st->lost += n;
                } else {
                        b->first_index = idx;
                        b->dropped = 0;
                        b->first_ns = -1;
                        b->n_samples = n;
                        b->n_channels = 1;
                        for (uint32_t k = 0; k < n; k++)
                                b->data[k] = (float) ((idx + k) % 1000000u);
                        block_queue_commit(st->q);
                }
                idx += n;
        }
        /* A last block so that a trailing overrun is reported too. */
        struct sample_block *b;
        while (!(b = block_queue_reserve(st->q)))
                ;
        *b = (struct sample_block) { .first_index = idx, .first_ns = -1, .n_samples = 0, .n_channels = 1 };
        block_queue_commit(st->q);
        st->produced = idx;
        return NULL;
}

static void test_two_threads(void **state) {
        (void) state;
        struct stress st = { 0 };
        pthread_t t;
        uint64_t expect = 0, delivered = 0, dropped = 0, blocks = 0;
        bool done = false;

        assert_int_equal(block_queue_new(8, &st.q), 0);
        assert_int_equal(pthread_create(&t, NULL, producer, &st), 0);
        while (!done) {
                struct pollfd p = { .fd = block_queue_fd(st.q), .events = POLLIN };
                (void) poll(&p, 1, 100);
                block_queue_ack(st.q);
                struct sample_block *b;
                while ((b = block_queue_peek(st.q))) {
                        /* in order, and every gap is accounted for */
                        assert_true(b->first_index == expect + b->dropped);
                        for (uint32_t k = 0; k < b->n_samples; k++)
                                if (b->data[k] != (float) ((b->first_index + k) % 1000000u))
                                        fail_msg("block %ju sample %u torn", (uintmax_t) b->first_index, k);
                        delivered += b->n_samples;
                        dropped += b->dropped;
                        expect = b->first_index + b->n_samples;
                        done = b->n_samples == 0;
                        blocks++;
                        block_queue_release(st.q);
                }
        }
        assert_int_equal(pthread_join(t, NULL), 0);
        assert_true(delivered + dropped == st.produced);
        assert_true(dropped == st.lost);
        assert_true(blocks > STRESS_BLOCKS / 2);
        print_message("stress: %ju blocks delivered, %ju of %ju samples lost to a full ring\n", (uintmax_t) blocks,
                      (uintmax_t) dropped, (uintmax_t) st.produced);
        block_queue_free(st.q);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bad_size),
                cmocka_unit_test(test_order),
                cmocka_unit_test(test_full_ring),
                cmocka_unit_test(test_lowest_slot),
                cmocka_unit_test(test_eventfd),
                cmocka_unit_test(test_two_threads),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
