/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The history's recovery: torn tails, bit flips, garbage, damaged headers, and the parser under them. */

#include <errno.h>

#include "history-test-util.h"

static void test_torn_tail(void **state) {
        const char *dir = *state;
        size_t len;
        uint8_t *bytes = make_file(dir, 3, &len);
        char msg[512];

        for (size_t cut = len - RS; cut < len; cut++) {
                write_file(dir, HISTORY_FILE, bytes, cut);
                struct history *h = open_ok(dir, &no_limits, msg, sizeof(msg));
                if (cut == len - RS)
                        assert_string_equal(msg, ""); /* on a record boundary nothing is torn */
                else
                        assert_contains(msg, "cut");
                assert_string_equal(ids_of(h), "1,2");
                assert_int_equal(history_next_id(h), 3);
                history_free(h);
                assert_int_equal(file_size(dir, HISTORY_FILE), len - RS);
        }
        /* And the next append lands where the torn one began. */
        struct history *h = open_clean(dir, &no_limits);
        append_n(h, 1);
        history_free(h);
        h = open_clean(dir, &no_limits);
        assert_string_equal(ids_of(h), "1,2,3");
        history_free(h);
        free(bytes);
}

static void test_bit_flip_middle(void **state) {
        const char *dir = *state;
        size_t len;
        uint8_t *bytes = make_file(dir, 5, &len);
        char msg[512];

        /* Every byte of the third record's frame, magic and length included. */
        for (size_t i = 0; i < RS; i++) {
                size_t at = HS + 2 * RS + i;
                bytes[at] ^= (uint8_t) (1u << (i % 8));
                write_file(dir, HISTORY_FILE, bytes, len);
                bytes[at] ^= (uint8_t) (1u << (i % 8));

                struct history *h = open_ok(dir, &no_limits, msg, sizeof(msg));
                assert_contains(msg, "skipped");
                assert_string_equal(ids_of(h), "1,2,4,5");
                assert_int_equal(history_count(h), 4);
                assert_int_equal(history_next_id(h), 6);
                history_free(h);
                /* Rewritten without it: the next start has nothing to say. */
                assert_int_equal(file_size(dir, HISTORY_FILE), HS + 4 * RS);
        }

        /* Two neighbours at once, and the last record: that one is a corrupt tail. */
        bytes[HS + 1 * RS + 40] ^= 0x10;
        bytes[HS + 2 * RS + 40] ^= 0x10;
        bytes[HS + 4 * RS + 40] ^= 0x10;
        write_file(dir, HISTORY_FILE, bytes, len);
        struct history *h = open_ok(dir, &no_limits, msg, sizeof(msg));
        assert_contains(msg, "skipped");
        assert_contains(msg, "cut");
        assert_string_equal(ids_of(h), "1,4");
        history_free(h);
        h = open_clean(dir, &no_limits);
        assert_string_equal(ids_of(h), "1,4");
        history_free(h);
        free(bytes);
}

static void test_garbage_appended(void **state) {
        const char *dir = *state;
        size_t len;
        uint8_t *bytes = make_file(dir, 3, &len);
        uint8_t *junk = malloc(len + 1000);
        char msg[512];

        assert_non_null(junk);
        memcpy(junk, bytes, len);
        srand(7);
        for (size_t i = len; i < len + 1000; i++)
                junk[i] = (uint8_t) rand();
        /* Record magics and a record's first 100 bytes in the garbage must not fool the reader. */
        memcpy(junk + len + 10, bytes + HS, 100);
        memcpy(junk + len + 300, bytes + HS, 4);
        write_file(dir, HISTORY_FILE, junk, len + 1000);

        struct history *h = open_ok(dir, &no_limits, msg, sizeof(msg));
        assert_contains(msg, "cut 1000 bytes");
        assert_string_equal(ids_of(h), "1,2,3");
        append_n(h, 1);
        history_free(h);
        h = open_clean(dir, &no_limits);
        assert_string_equal(ids_of(h), "1,2,3,4");
        history_free(h);
        free(junk);
        free(bytes);
}

static void test_checksummed_but_invalid(void **state) {
        const char *dir = *state;
        size_t len;
        uint8_t *bytes = make_file(dir, 4, &len);
        uint8_t *frame = bytes + HS + RS; /* id 2 */
        struct history_scan scan;
        char msg[512];

        /* An enum out of range is corrupt even though its checksum holds. */
        frame[HISTORY_FRAME_HEAD + 24] = 99;
        reseal(frame);
        /* A name that fills its field comes back cut to fit, NUL-terminated. */
        memset(bytes + HS + 2 * RS + HISTORY_FRAME_HEAD + 56, 'n', 64);
        reseal(bytes + HS + 2 * RS);
        assert_int_equal(history_scan_buffer(bytes, len, NULL, NULL, &scan), 0);
        assert_int_equal(scan.n_records, 3);
        assert_int_equal(scan.n_skipped, 1);
        assert_int_equal(scan.valid_len, len);
        write_file(dir, HISTORY_FILE, bytes, len);

        struct history *h = open_ok(dir, &no_limits, msg, sizeof(msg));
        assert_contains(msg, "skipped");
        assert_string_equal(ids_of(h), "1,3,4");
        struct event_record *v;
        size_t n;
        assert_int_equal(history_query(h, 0, 0, &v, &n), 0);
        assert_int_equal(strlen(v[1].sensor), EVENT_SENSOR_MAX - 1);
        free(v);
        history_free(h);
        free(bytes);
}

static void test_length_bound(void **state) {
        (void) state;
        size_t len = HS + HISTORY_FRAME_HEAD + HISTORY_PAYLOAD_MAX + 1;
        uint8_t *b = calloc(1, len);
        struct history_scan scan;

        /* A well-sealed record one byte over the bound is still rejected. */
        assert_non_null(b);
        history_encode_header(b, 1);
        uint8_t *frame = b + HS;
        for (int i = 0; i < 4; i++) {
                frame[i] = (uint8_t) (HISTORY_RECORD_MAGIC >> (8 * i));
                frame[4 + i] = (uint8_t) ((HISTORY_PAYLOAD_MAX + 1) >> (8 * i));
        }
        reseal(frame);
        assert_int_equal(history_scan_buffer(b, len, NULL, NULL, &scan), 0);
        assert_true(scan.header_ok);
        assert_int_equal(scan.n_records, 0);
        assert_int_equal(scan.valid_len, HS);
        free(b);
}

static int stop_at_second(const struct event_record *r, const void *raw, size_t raw_len, void *userdata) {
        (void) raw;
        assert_int_equal(raw_len, RS);
        (*(unsigned *) userdata)++;
        return r->id == 2 ? -ECANCELED : 0;
}

static void test_scan_buffer(void **state) {
        const char *dir = *state;
        struct history_scan scan;
        size_t len;
        unsigned calls = 0;
        uint8_t *bytes = make_file(dir, 3, &len);

        assert_int_equal(history_scan_buffer(NULL, 0, NULL, NULL, &scan), 0);
        assert_int_equal(scan.valid_len, 0);
        assert_int_equal(history_scan_buffer("SPASM", 5, NULL, NULL, &scan), 0);
        assert_false(scan.header_ok);
        assert_int_equal(history_scan_buffer("SPAXM", 5, NULL, NULL, &scan), -EBADMSG);
        assert_int_equal(history_scan_buffer(bytes, HS, NULL, NULL, &scan), 0);
        assert_true(scan.header_ok);
        assert_int_equal(scan.id_floor, 1);
        assert_int_equal(scan.valid_len, HS);
        assert_int_equal(history_scan_buffer(bytes, len, NULL, NULL, &scan), 0);
        assert_int_equal(scan.n_records, 3);
        assert_int_equal(scan.max_id, 3);
        assert_int_equal(scan.n_skipped, 0);
        assert_int_equal(history_scan_buffer(bytes, len, stop_at_second, &calls, &scan), -ECANCELED);
        assert_int_equal(calls, 2);
        bytes[8] = 2;
        assert_int_equal(history_scan_buffer(bytes, len, NULL, NULL, &scan), -EPROTONOSUPPORT);
        free(bytes);
}

static void test_not_a_history(void **state) {
        const char *dir = *state;
        static const char text[] = "this is somebody else's file\n";
        struct history *h = NULL;
        char msg[512], back[64] = "";
        size_t len;

        write_file(dir, HISTORY_FILE, text, sizeof(text) - 1);
        assert_int_equal(history_open(dir, &no_limits, &h, msg, sizeof(msg)), -EBADMSG);
        assert_null(h);
        assert_contains(msg, "not a spasmd event history");
        int fd = open(path_in(dir, HISTORY_FILE), O_RDONLY | O_CLOEXEC);
        assert_int_equal(read(fd, back, sizeof(back)), sizeof(text) - 1);
        close(fd);
        assert_string_equal(back, text); /* left alone */

        assert_int_equal(unlink(path_in(dir, HISTORY_FILE)), 0);
        uint8_t *bytes = make_file(dir, 1, &len);
        bytes[8] = 9;
        write_file(dir, HISTORY_FILE, bytes, len);
        assert_int_equal(history_open(dir, &no_limits, &h, msg, sizeof(msg)), -EPROTONOSUPPORT);
        assert_contains(msg, "version 9");
        assert_int_equal(file_size(dir, HISTORY_FILE), len);
        free(bytes);

        assert_int_equal(history_open("/nonexistent/spasmd", &no_limits, &h, msg, sizeof(msg)), -ENOENT);
        assert_contains(msg, "/nonexistent/spasmd");
}

static void test_header_damage(void **state) {
        const char *dir = *state;
        size_t len;
        uint8_t *bytes = make_file(dir, 3, &len);
        char msg[512];

        bytes[13] ^= 0x40; /* in the id floor */
        write_file(dir, HISTORY_FILE, bytes, len);
        struct history *h = open_ok(dir, &no_limits, msg, sizeof(msg));
        assert_contains(msg, "header");
        assert_string_equal(ids_of(h), "1,2,3");
        assert_int_equal(history_next_id(h), 4);
        history_free(h);
        h = open_clean(dir, &no_limits);
        assert_int_equal(history_next_id(h), 4);
        history_free(h);

        /* A file shorter than a header that starts like one: nothing to lose, start anew. */
        write_file(dir, HISTORY_FILE, bytes, 10);
        h = open_ok(dir, &no_limits, msg, sizeof(msg));
        assert_contains(msg, "header torn");
        assert_int_equal(history_count(h), 0);
        history_free(h);
        assert_int_equal(file_size(dir, HISTORY_FILE), HS);
        free(bytes);
}

static void test_leftover_temp(void **state) {
        const char *dir = *state;
        size_t len;
        uint8_t *bytes = make_file(dir, 2, &len);
        char msg[512];

        /* A crash after the temp file was written, before the rename: the old file is whole. */
        write_file(dir, HISTORY_TMP_FILE, bytes, len - 7);
        struct history *h = open_ok(dir, &no_limits, msg, sizeof(msg));
        assert_contains(msg, "interrupted compaction");
        assert_int_equal(access(path_in(dir, HISTORY_TMP_FILE), F_OK), -1);
        assert_string_equal(ids_of(h), "1,2");
        history_free(h);
        free(bytes);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_dir)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_torn_tail),
                T(test_bit_flip_middle),
                T(test_garbage_appended),
                T(test_checksummed_but_invalid),
                T(test_length_bound),
                T(test_scan_buffer),
                T(test_not_a_history),
                T(test_header_damage),
                T(test_leftover_temp),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
