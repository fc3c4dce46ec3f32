/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iio-format.h"

static struct iio_format parse_ok(const char *s) {
        struct iio_format f;
        assert_int_equal(iio_format_parse(s, &f), 0);
        return f;
}

static int64_t decode(const char *fmt, const uint8_t *bytes) {
        struct iio_format f = parse_ok(fmt);
        int64_t v = 0;
        assert_int_equal(iio_format_decode(&f, bytes, &v), 0);
        return v;
}

static void test_parse(void **state) {
        (void) state;
        struct iio_format f = parse_ok("le:s24/32>>0");
        assert_false(f.be);
        assert_true(f.is_signed);
        assert_false(f.fully_defined);
        assert_int_equal(f.bits, 24);
        assert_int_equal(f.storage, 32);
        assert_int_equal(f.shift, 0);
        assert_int_equal(f.repeat, 1);
        assert_int_equal(iio_format_size(&f), 4);

        f = parse_ok("be:u12/16>>4");
        assert_true(f.be);
        assert_false(f.is_signed);
        assert_int_equal(f.bits, 12);
        assert_int_equal(f.storage, 16);
        assert_int_equal(f.shift, 4);

        f = parse_ok("le:s16/16X3>>0");
        assert_int_equal(f.repeat, 3);
        assert_int_equal(iio_format_size(&f), 6);

        /* libiio's XML spells a fully defined element in capitals */
        f = parse_ok("le:S64/64>>0");
        assert_true(f.is_signed && f.fully_defined);
        f = parse_ok("be:U8/8>>0");
        assert_true(!f.is_signed && f.fully_defined && f.be);
}

static void test_parse_bad(void **state) {
        (void) state;
        static const char *const bad[] = {
                "", "le", "le:", "xx:s16/16>>0", "LE:s16/16>>0", "le:x16/16>>0", "le:s16/16", "le:s16/16>>",
                "le:s16/16>>0 ", " le:s16/16>>0", "le:s/16>>0", "le:s16/>>0", "le:s16/16>>x", "le:s16/16>0",
                "le:s16/16>>0x", "le:s16/16X>>0", "le:s-1/16>>0", "le:s+8/16>>0", "le:s16:16>>0",
                "le:s99999/16>>0", "le:s16/16>>99999", "le:s16/16X2X2>>0",
                /* bounds */
                "le:s16/72>>0",   /* storage over 64 bits */
                "le:s16/128>>0",
                "le:s33/32>>0",   /* more bits than storage */
                "le:s16/12>>0",   /* storage not whole bytes */
                "le:s0/16>>0",    /* no bits */
                "le:s12/16>>8",   /* shifted out of its storage */
                "le:u8/8>>8",
                "le:s16/16X0>>0", /* repeat 0 */
                "le:s16/0>>0",
        };
        struct iio_format f = { .bits = 77 };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (iio_format_parse(bad[i], &f) != -EINVAL)
                        fail_msg("\"%s\" parsed", bad[i]);
                assert_int_equal(f.bits, 77); /* untouched on error */
        }
        assert_int_equal(iio_format_parse(NULL, &f), -EINVAL);

        /* decode refuses a format that does not validate */
        struct iio_format wide = { .bits = 8, .storage = 72, .repeat = 1 };
        int64_t v;
        uint8_t buf[16] = { 0 };
        assert_int_equal(iio_format_decode(&wide, buf, &v), -EINVAL);
        struct iio_format tall = { .bits = 17, .storage = 16, .repeat = 1 };
        assert_int_equal(iio_format_decode(&tall, buf, &v), -EINVAL);
}

static void test_decode(void **state) {
        (void) state;
        /* s24 in 32, little endian: sign from bit 23, the top byte is padding */
        assert_int_equal(decode("le:s24/32>>0", (const uint8_t[]) { 0xff, 0xff, 0xff, 0x00 }), -1);
        assert_int_equal(decode("le:s24/32>>0", (const uint8_t[]) { 0xff, 0xff, 0xff, 0xab }), -1);
        assert_int_equal(decode("le:s24/32>>0", (const uint8_t[]) { 0x00, 0x00, 0x80, 0x00 }), -8388608);
        assert_int_equal(decode("le:s24/32>>0", (const uint8_t[]) { 0xff, 0xff, 0x7f, 0xff }), 8388607);
        assert_int_equal(decode("le:s24/32>>0", (const uint8_t[]) { 0x39, 0x30, 0x00, 0x00 }), 12345);
        assert_int_equal(decode("le:u24/32>>0", (const uint8_t[]) { 0xff, 0xff, 0xff, 0xff }), 0xffffff);
        /* the same value big endian */
        assert_int_equal(decode("be:s24/32>>0", (const uint8_t[]) { 0x00, 0x00, 0x30, 0x39 }), 12345);
        assert_int_equal(decode("be:s24/32>>0", (const uint8_t[]) { 0x12, 0xff, 0xff, 0xfe }), -2);
        /* shifts: 12 bits in the top of 16 */
        assert_int_equal(decode("be:u12/16>>4", (const uint8_t[]) { 0xab, 0xcf }), 0xabc);
        assert_int_equal(decode("be:s12/16>>4", (const uint8_t[]) { 0xff, 0xf5 }), -1);
        assert_int_equal(decode("le:s12/16>>4", (const uint8_t[]) { 0x0f, 0x80 }), -2048);
        assert_int_equal(decode("le:u10/16>>2", (const uint8_t[]) { 0xff, 0xff }), 1023);
        /* whole words */
        assert_int_equal(decode("le:s16/16>>0", (const uint8_t[]) { 0x00, 0x80 }), -32768);
        assert_int_equal(decode("be:s16/16>>0", (const uint8_t[]) { 0x80, 0x00 }), -32768);
        assert_int_equal(decode("le:u16/16>>0", (const uint8_t[]) { 0x00, 0x80 }), 32768);
        assert_int_equal(decode("le:s8/8>>0", (const uint8_t[]) { 0x80 }), -128);
        assert_true(decode("le:s64/64>>0", (const uint8_t[]) { 0, 0, 0, 0, 0, 0, 0, 0x80 }) == INT64_MIN);
        assert_true(decode("le:S64/64>>0", (const uint8_t[]) { 1, 2, 3, 4, 5, 6, 7, 8 }) == 0x0807060504030201);
        assert_true(decode("be:s64/64>>0", (const uint8_t[]) { 1, 2, 3, 4, 5, 6, 7, 8 }) == 0x0102030405060708);
        /* 'S': everything above the shift counts, whatever bits says */
        assert_int_equal(decode("le:S16/16>>0", (const uint8_t[]) { 0xfe, 0xff }), -2);
        /* unaligned source */
        uint8_t odd[5] = { 0xee, 0x39, 0x30, 0x00, 0x00 };
        assert_int_equal(decode("le:s24/32>>0", odd + 1), 12345);
}

static void test_physical(void **state) {
        (void) state;
        /* ADS1298-like: raw counts of 0.0001 mV are 0.1 uV */
        assert_true(fabs(iio_to_physical(1234, 0, 0.0001, IIO_QUANTITY_VOLTAGE) - 123.4) < 1e-9);
        assert_true(fabs(iio_to_physical(-8388608, 0, 0.0001, IIO_QUANTITY_VOLTAGE) + 838860.8) < 1e-6);
        /* offset is in raw units, added before scaling */
        assert_true(fabs(iio_to_physical(100, -50, 0.5, IIO_QUANTITY_VOLTAGE) - 25000.0) < 1e-9);
        /* accel and anglvel are in spasmd's units already */
        assert_true(fabs(iio_to_physical(16384, 0, 0.000598, IIO_QUANTITY_ACCEL) - 9.797632) < 1e-9);
        assert_true(fabs(iio_to_physical(-2, 1, 0.25, IIO_QUANTITY_ANGLVEL) + 0.25) < 1e-12);
        assert_true(iio_quantity_factor(IIO_QUANTITY_VOLTAGE) == 1000.0);
}

static void add(struct iio_layout *l, const char *fmt, int column, bool ts) {
        l->e[l->n] = (struct iio_layout_elem) { .fmt = parse_ok(fmt), .column = column, .is_timestamp = ts,
                                                .scale = 1.0 };
        l->n++;
}

static void test_layout(void **state) {
        (void) state;
        /* three s16 and a trailing s64 timestamp: the timestamp is aligned to 8 */
        struct iio_layout l = { .n_columns = 3 };
        add(&l, "le:s16/16>>0", 0, false);
        add(&l, "le:s16/16>>0", 1, false);
        add(&l, "le:s16/16>>0", 2, false);
        add(&l, "le:s64/64>>0", -1, true);
        assert_int_equal(iio_layout_compute(&l), 0);
        assert_int_equal(l.e[0].offset, 0);
        assert_int_equal(l.e[1].offset, 2);
        assert_int_equal(l.e[2].offset, 4);
        assert_int_equal(l.e[3].offset, 8);
        assert_int_equal(l.sample_size, 16);
        assert_int_equal(l.timestamp, 3);

        /* two s24/32 and a timestamp (the ADS1298 of the rig) */
        l = (struct iio_layout) { .n_columns = 2 };
        add(&l, "le:s24/32>>0", 0, false);
        add(&l, "le:s24/32>>0", 1, false);
        add(&l, "le:s64/64>>0", -1, true);
        assert_int_equal(iio_layout_compute(&l), 0);
        assert_int_equal(l.e[2].offset, 8);
        assert_int_equal(l.sample_size, 16);

        /* each element on its own size; the scan padded to its largest */
        l = (struct iio_layout) { .n_columns = 3 };
        add(&l, "le:u8/8>>0", 0, false);
        add(&l, "le:s16/16>>0", 1, false);
        add(&l, "le:s32/32>>0", 2, false);
        assert_int_equal(iio_layout_compute(&l), 0);
        assert_int_equal(l.e[1].offset, 2);
        assert_int_equal(l.e[2].offset, 4);
        assert_int_equal(l.sample_size, 8);
        assert_int_equal(l.timestamp, -1);
        l = (struct iio_layout) { .n_columns = 2 };
        add(&l, "le:s32/32>>0", 0, false);
        add(&l, "le:s16/16>>0", 1, false);
        assert_int_equal(iio_layout_compute(&l), 0);
        assert_int_equal(l.sample_size, 8);
        /* a repeated element takes storage x repeat */
        l = (struct iio_layout) { .n_columns = 2 };
        add(&l, "le:s16/16>>0", 0, false);
        add(&l, "le:s16/16X2>>0", 1, false);
        assert_int_equal(iio_layout_compute(&l), 0);
        assert_int_equal(l.e[1].offset, 4);
        assert_int_equal(l.sample_size, 8);
        /* a skipped element still takes its place */
        l = (struct iio_layout) { .n_columns = 1 };
        add(&l, "le:s16/16>>0", -1, false);
        add(&l, "le:s16/16>>0", 0, false);
        assert_int_equal(iio_layout_compute(&l), 0);
        assert_int_equal(l.e[1].offset, 2);
}

static void test_layout_bad(void **state) {
        (void) state;
        struct iio_layout l = { .n_columns = 2 };
        add(&l, "le:s16/16>>0", 0, false);
        add(&l, "le:s16/16>>0", 0, false); /* column twice */
        assert_int_equal(iio_layout_compute(&l), -EINVAL);
        l = (struct iio_layout) { .n_columns = 2 };
        add(&l, "le:s16/16>>0", 0, false); /* column 1 missing */
        assert_int_equal(iio_layout_compute(&l), -EINVAL);
        l = (struct iio_layout) { .n_columns = 1 };
        add(&l, "le:s16/16>>0", 1, false); /* out of range */
        assert_int_equal(iio_layout_compute(&l), -EINVAL);
        l = (struct iio_layout) { .n_columns = 1 };
        add(&l, "le:s16/16>>0", 0, false);
        add(&l, "le:s32/32>>0", -1, true); /* a timestamp is s64 */
        assert_int_equal(iio_layout_compute(&l), -EINVAL);
        l = (struct iio_layout) { .n_columns = 1 };
        add(&l, "le:s16/16>>0", 0, false);
        add(&l, "le:s64/64>>0", -1, true);
        add(&l, "le:s64/64>>0", -1, true); /* two timestamps */
        assert_int_equal(iio_layout_compute(&l), -EINVAL);
        l = (struct iio_layout) { .n_columns = 0 };
        assert_int_equal(iio_layout_compute(&l), -EINVAL); /* empty */
        l = (struct iio_layout) { .n_columns = 1 };
        add(&l, "le:s16/16>>0", 0, false);
        l.e[0].fmt.storage = 80; /* corrupt */
        assert_int_equal(iio_layout_compute(&l), -EINVAL);
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes) {
        for (unsigned i = 0; i < bytes; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static void test_demux(void **state) {
        (void) state;
        /* scan order: voltage0, voltage1, timestamp; output columns swapped */
        struct iio_layout l = { .n_columns = 2 };
        add(&l, "le:s24/32>>0", 1, false);
        add(&l, "le:s24/32>>0", 0, false);
        add(&l, "le:s64/64>>0", -1, true);
        l.e[0].scale = 0.0001 * iio_quantity_factor(IIO_QUANTITY_VOLTAGE);
        l.e[1].scale = 0.0001 * iio_quantity_factor(IIO_QUANTITY_VOLTAGE);
        l.e[1].raw_offset = 10;
        assert_int_equal(iio_layout_compute(&l), 0);

        uint8_t buf[3 * 16];
        memset(buf, 0xa5, sizeof(buf)); /* padding must not matter */
        for (int i = 0; i < 3; i++) {
                put_le(buf + 16 * i, (uint32_t) (-1000 * (i + 1)) & 0xffffffu, 3);
                put_le(buf + 16 * i + 4, (uint32_t) (2000 * (i + 1)), 3);
                put_le(buf + 16 * i + 8, (uint64_t) (1700000000000000000LL + i * 1000000LL), 8);
        }
        float out[6];
        int64_t ts[3];
        iio_demux_block(&l, buf, 3, out, ts);
        for (int i = 0; i < 3; i++) {
                /* column 1 is voltage0: -1000 * (i+1) counts of 0.1 uV */
                assert_true(fabsf(out[2 * i + 1] - (float) (-100.0 * (i + 1))) < 1e-3f);
                /* column 0 is voltage1, with its offset of 10 counts */
                assert_true(fabsf(out[2 * i] - (float) ((2000.0 * (i + 1) + 10) * 0.1)) < 1e-3f);
                assert_true(ts[i] == 1700000000000000000LL + i * 1000000LL);
        }
        assert_true(iio_layout_timestamp(&l, buf + 16) == 1700000000001000000LL);

        /* timestamps NULL is fine; a layout without a timestamp gives -1 */
        iio_demux_block(&l, buf, 3, out, NULL);
        struct iio_layout n = { .n_columns = 1 };
        add(&n, "le:s16/16>>0", 0, false);
        assert_int_equal(iio_layout_compute(&n), 0);
        iio_demux_block(&n, buf, 2, out, ts);
        assert_true(ts[0] == -1 && ts[1] == -1);
        assert_true(iio_layout_timestamp(&n, buf) == -1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_parse_bad),
                cmocka_unit_test(test_decode),
                cmocka_unit_test(test_physical),
                cmocka_unit_test(test_layout),
                cmocka_unit_test(test_layout_bad),
                cmocka_unit_test(test_demux),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
