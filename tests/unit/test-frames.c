/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frames.h"

static const unsigned imu_map[6] = { 0, 1, 2, 3, 4, 5 };
static const unsigned emg_map[2] = { 1, 0 };

static struct sample_block *block(uint64_t first, uint32_t n, unsigned channels, int64_t first_ns, float base) {
        struct sample_block *b = calloc(1, sizeof(*b));
        assert_non_null(b);
        *b = (struct sample_block) { .first_index = first, .first_ns = first_ns, .n_samples = n, .n_channels = channels };
        for (uint32_t i = 0; i < n; i++)
                for (unsigned c = 0; c < channels; c++)
                        b->data[i * channels + c] = base + (float) (first + i) + 0.1f * (float) c;
        return b;
}

static void test_emg_only(void **state) {
        (void) state;
        struct frame_aligner a;
        float emg[2], imu[6] = { 0 };
        frame_aligner_init(&a, 1000, 2);
        struct sample_block *b = block(0, 10, 2, -1, 0);
        assert_false(frame_aligner_frame(&a, b, 3, emg_map, emg, imu));
        /* channels come out in the map's order */
        assert_true(fabsf(emg[0] - 3.1f) < 1e-5f && fabsf(emg[1] - 3.0f) < 1e-5f);
        free(b);
}

static void test_imu_held_by_count(void **state) {
        (void) state;
        struct frame_aligner a;
        float emg[2], imu[6];
        frame_aligner_init(&a, 1000, 2);
        frame_aligner_set_imu(&a, 100);
        struct sample_block *e = block(0, 100, 2, -1, 0);
        struct sample_block *m = block(0, 10, 6, -1, 1000); /* 0.1 s of IMU: samples 0..9 */
        assert_false(frame_aligner_frame(&a, e, 0, emg_map, emg, imu)); /* nothing from the IMU yet */
        frame_aligner_push_imu(&a, m, imu_map);
        assert_true(frame_aligner_frame(&a, e, 95, emg_map, emg, imu));
        assert_true(fabsf(imu[0] - 1009.0f) < 1e-3f); /* the newest: IMU sample 9 */
        assert_true(fabsf(imu[5] - 1009.5f) < 1e-3f);
        /* an EMG frame 0.6 s later than the newest IMU sample goes without */
        struct sample_block *late = block(700, 10, 2, -1, 0);
        assert_false(frame_aligner_frame(&a, late, 0, emg_map, emg, imu));
        /* unplugged IMU: frames go without */
        frame_aligner_set_imu(&a, 0);
        frame_aligner_push_imu(&a, m, imu_map);
        assert_false(frame_aligner_frame(&a, e, 95, emg_map, emg, imu));
        free(e);
        free(m);
        free(late);
}

static void test_timestamps(void **state) {
        (void) state;
        /* The IMU started 2 s after the EMG: by timestamps its sample 0 is EMG time 2 s. */
        struct frame_aligner a;
        float emg[2], imu[6];
        const int64_t t0 = INT64_C(1700000000000000000);
        frame_aligner_init(&a, 1000, 2);
        frame_aligner_set_imu(&a, 100);
        struct sample_block *e0 = block(0, 10, 2, t0, 0);
        assert_false(frame_aligner_frame(&a, e0, 0, emg_map, emg, imu));
        struct sample_block *m = block(0, 5, 6, t0 + INT64_C(2000000000), 0);
        frame_aligner_push_imu(&a, m, imu_map);
        struct sample_block *e1 = block(2000, 50, 2, t0 + INT64_C(2000000000), 0);
        assert_true(frame_aligner_frame(&a, e1, 40, emg_map, emg, imu));
        assert_true(fabsf(imu[0] - 4.0f) < 1e-3f);
        /* by count it would have been 2 s stale; by timestamps it is fresh */
        struct sample_block *e2 = block(2600, 10, 2, t0 + INT64_C(2600000000), 0);
        assert_false(frame_aligner_frame(&a, e2, 0, emg_map, emg, imu));
        free(e0);
        free(e1);
        free(e2);
        free(m);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_emg_only),
                cmocka_unit_test(test_imu_held_by_count),
                cmocka_unit_test(test_timestamps),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
