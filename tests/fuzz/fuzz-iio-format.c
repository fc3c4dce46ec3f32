/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * IIO scan formats, scan layout and the demultiplexer
 * (daemon/sensor/iio-format.c): the pure part of the sensor layer, the one
 * that turns a kernel or iiod buffer into microvolts.
 *
 * Input: a format string for iio_format_parse(), then a layout (element
 * formats, columns, a timestamp, offsets and scales), then the buffer.
 *
 * Checked beyond the sanitizers:
 *   - a parsed format is valid, and printed and parsed again is the same;
 *   - iio_layout_compute() accepts exactly the layouts its contract allows,
 *     and lays them out as the kernel does (aligned, in order, padded);
 *   - every demuxed value and timestamp equals a bit-by-bit reference
 *     decode written from the IIO ABI, not from iio-format.c.
 */

#include <math.h>

#include "fuzz-util.h"
#include "iio-format.h"

#define MAX_SAMPLES 256

static void format_to_string(const struct iio_format *f, char *buf, size_t len) {
        char sign = f->is_signed ? (f->fully_defined ? 'S' : 's') : (f->fully_defined ? 'U' : 'u');
        char rep[16] = "";
        if (f->repeat != 1)
                snprintf(rep, sizeof(rep), "X%u", f->repeat);
        snprintf(buf, len, "%s:%c%u/%u%s>>%u", f->be ? "be" : "le", sign, f->bits, f->storage, rep, f->shift);
}

static bool same_format(const struct iio_format *a, const struct iio_format *b) {
        return a->be == b->be && a->is_signed == b->is_signed && a->fully_defined == b->fully_defined &&
               a->bits == b->bits && a->storage == b->storage && a->shift == b->shift && a->repeat == b->repeat;
}

/* The contract of iio_format_validate(), restated. */
static bool format_ok(const struct iio_format *f) {
        return f->storage >= 8 && f->storage <= 64 && f->storage % 8 == 0 && f->bits >= 1 && f->bits <= f->storage &&
               f->shift < f->storage && f->shift + f->bits <= f->storage && f->repeat >= 1 && f->repeat <= 64;
}

/*
 * The reference decode: the storage word is bytes in the given order; bit
 * shift+i of the word is bit i of the value, for the valid bits (all bits
 * above the shift when fully defined), then sign extension.
 */
static int64_t ref_decode(const struct iio_format *f, const uint8_t *p) {
        unsigned nbytes = f->storage / 8, nbits = f->fully_defined ? f->storage - f->shift : f->bits;
        uint64_t u = 0;
        int64_t v;

        for (unsigned i = 0; i < nbits; i++) {
                unsigned bit = f->shift + i, byte = f->be ? nbytes - 1 - bit / 8 : bit / 8;
                if ((p[byte] >> (bit % 8)) & 1)
                        u |= UINT64_C(1) << i;
        }
        if (f->is_signed && nbits < 64 && (u >> (nbits - 1)) & 1)
                u |= UINT64_MAX << nbits;
        memcpy(&v, &u, sizeof(v));
        return v;
}

static bool same_float(float a, float b) {
        return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof(a)) == 0;
}

static void random_format(struct fuzz_in *in, struct iio_format *f) {
        uint8_t how = fuzz_u8(in);

        f->be = how & 1;
        f->is_signed = how & 2;
        f->fully_defined = how & 4;
        /* Mostly well-formed, sometimes anything, so that both sides of validation get tried. */
        f->storage = how & 8 ? fuzz_u8(in) : 8 * fuzz_range(in, 1, 8);
        f->bits = how & 16 ? fuzz_u8(in) : fuzz_range(in, 1, f->storage ? f->storage : 1);
        f->shift = how & 32 ? fuzz_u8(in) : f->storage >= f->bits ? fuzz_range(in, 0, f->storage - f->bits) : 0;
        f->repeat = how & 64 ? fuzz_range(in, 0, 70) : 1;
}

static void check_parse(struct fuzz_in *in) {
        char s[64], again[64];
        struct iio_format f, g;

        fuzz_string(in, s, 40);
        if (iio_format_parse(s, &f) == 0) {
                fuzz_check(iio_format_validate(&f) == 0 && format_ok(&f), "'%s' parsed into an invalid format", s);
                format_to_string(&f, again, sizeof(again));
                fuzz_check(iio_format_parse(again, &g) == 0 && same_format(&f, &g), "'%s' -> '%s' does not parse back",
                           s, again);
                fuzz_check(iio_format_size(&f) == f.storage / 8 * f.repeat, "size of '%s'", s);
        }
        /* From fields: the printed form parses exactly when the fields are valid. */
        random_format(in, &f);
        format_to_string(&f, again, sizeof(again));
        bool ok = format_ok(&f);
        fuzz_check((iio_format_validate(&f) == 0) == ok, "validate disagrees on '%s'", again);
        fuzz_check((iio_format_parse(again, &g) == 0) == ok, "parse disagrees on '%s'", again);
        if (ok)
                fuzz_check(same_format(&f, &g), "'%s' parses into other fields", again);

        uint8_t word[8];
        int64_t raw;
        for (unsigned i = 0; i < 8; i++)
                word[i] = fuzz_u8(in);
        int k = iio_format_decode(&f, word, &raw);
        fuzz_check((k == 0) == ok, "decode of '%s' returned %d", again, k);
        if (ok)
                fuzz_check(raw == ref_decode(&f, word), "'%s' decodes to %jd, the reference says %jd", again,
                           (intmax_t) raw, (intmax_t) ref_decode(&f, word));
}

static double random_double(struct fuzz_in *in, double usual) {
        uint8_t how = fuzz_u8(in);
        if (how < 128)
                return usual;
        if (how < 250)
                return (double) (int16_t) fuzz_u16(in) / (how - 127);
        return fuzz_double_bits(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct fuzz_in in = { data, size };
        struct iio_layout l;
        unsigned next_column = 0, n_timestamps = 0;
        bool expect_ok = true;
        uint64_t columns_seen = 0;

        check_parse(&in);

        memset(&l, 0, sizeof(l));
        uint8_t shape = fuzz_u8(&in);
        l.n = shape & 0x80 ? fuzz_range(&in, 0, 40) : fuzz_range(&in, 1, IIO_LAYOUT_MAX);
        for (unsigned i = 0; i < l.n && i < IIO_LAYOUT_MAX; i++) {
                struct iio_layout_elem *e = &l.e[i];
                uint8_t col = fuzz_u8(&in);

                random_format(&in, &e->fmt);
                e->column = -1;
                if (col < 0xb0)
                        e->column = (int) next_column++;
                else if (col >= 0xf0 && col < 0xf8) {
                        e->is_timestamp = true;
                        if (col < 0xf6)
                                e->fmt = (struct iio_format) { .is_signed = true, .bits = 64, .storage = 64, .repeat = 1 };
                } else if (col >= 0xf8)
                        e->column = (int) fuzz_range(&in, 0, 70) - 3; /* repeats, gaps, out of range */
                e->raw_offset = random_double(&in, 0.0);
                e->scale = random_double(&in, 1.0);

                /* What iio_layout_compute() must make of it. */
                expect_ok = expect_ok && format_ok(&e->fmt);
                if (e->is_timestamp) {
                        n_timestamps++;
                        expect_ok = expect_ok && e->column < 0 && e->fmt.is_signed && e->fmt.storage == 64;
                } else if (e->column >= 0) {
                        if (e->column >= 64 || (columns_seen >> e->column) & 1)
                                expect_ok = false;
                        else
                                columns_seen |= UINT64_C(1) << e->column;
                }
        }
        l.n_columns = shape & 0x40 ? fuzz_range(&in, 0, 70) : next_column;
        if (l.n > IIO_LAYOUT_MAX) {
                /* Elements past the array are never read; only the count is wrong. */
                expect_ok = false;
        }
        expect_ok = expect_ok && l.n >= 1 && l.n_columns <= 64 && n_timestamps <= 1;
        for (unsigned i = 0; expect_ok && i < l.n; i++)
                if (!l.e[i].is_timestamp && l.e[i].column >= (int) l.n_columns)
                        expect_ok = false;
        if (expect_ok && l.n_columns > 0)
                expect_ok = columns_seen == (l.n_columns == 64 ? UINT64_MAX : (UINT64_C(1) << l.n_columns) - 1);

        if (l.n > IIO_LAYOUT_MAX) {
                struct iio_layout big = l;
                fuzz_check(iio_layout_compute(&big) == -EINVAL, "a layout of %u elements", big.n);
                return 0;
        }
        int k = iio_layout_compute(&l);
        fuzz_check((k == 0) == expect_ok, "compute returned %d, expected %s", k, expect_ok ? "success" : "-EINVAL");
        if (k < 0)
                return 0;

        /* The kernel's layout: each element aligned to its size, in scan order, the scan padded to the largest. */
        unsigned end = 0, largest = 1;
        int ts = -1;
        for (unsigned i = 0; i < l.n; i++) {
                const struct iio_layout_elem *e = &l.e[i];
                unsigned sz = iio_format_size(&e->fmt);
                fuzz_check(e->offset % sz == 0 && e->offset >= end && e->offset < end + sz,
                           "element %u of %u bytes at %u, previous end %u", i, sz, e->offset, end);
                end = e->offset + sz;
                largest = sz > largest ? sz : largest;
                if (e->is_timestamp)
                        ts = (int) i;
        }
        fuzz_check(l.sample_size >= end && l.sample_size % largest == 0 && l.sample_size < end + largest,
                   "sample size %u, data ends at %u, largest element %u", l.sample_size, end, largest);
        fuzz_check(l.timestamp == ts, "timestamp index %d, expected %d", l.timestamp, ts);

        /* The rest of the input is the buffer. */
        size_t n_samples = fuzz_left(&in) / l.sample_size;
        if (n_samples > MAX_SAMPLES)
                n_samples = MAX_SAMPLES;
        size_t n_bytes = n_samples * l.sample_size;
        /* Exact sizes, so that ASan sees one byte too far. */
        uint8_t *buf = malloc(n_bytes ? n_bytes : 1);
        float *out = malloc(n_samples * l.n_columns * sizeof(float) + 1);
        int64_t *stamps = malloc(n_samples * sizeof(int64_t) + 1);
        if (!buf || !out || !stamps)
                abort();
        memcpy(buf, in.p, n_bytes);

        iio_demux_block(&l, buf, n_samples, out, stamps);
        for (size_t s = 0; s < n_samples; s++) {
                const uint8_t *p = buf + s * l.sample_size;
                for (unsigned i = 0; i < l.n; i++) {
                        const struct iio_layout_elem *e = &l.e[i];
                        int64_t raw = ref_decode(&e->fmt, p + e->offset);
                        if (e->column >= 0) {
                                float want = (float) (((double) raw + e->raw_offset) * e->scale);
                                float got = out[s * l.n_columns + (unsigned) e->column];
                                fuzz_check(same_float(got, want), "sample %zu column %d: %g, the reference says %g", s,
                                           e->column, (double) got, (double) want);
                        }
                        if (e->is_timestamp)
                                fuzz_check(stamps[s] == raw && iio_layout_timestamp(&l, p) == raw,
                                           "sample %zu: timestamp %jd, the reference says %jd", s,
                                           (intmax_t) stamps[s], (intmax_t) raw);
                }
                if (ts < 0)
                        fuzz_check(stamps[s] == -1 && iio_layout_timestamp(&l, p) == -1, "a timestamp from nowhere");
        }
        /* Without a timestamps array the values are the same. */
        if (n_samples > 0) {
                float *out2 = malloc(n_samples * l.n_columns * sizeof(float) + 1);
                if (!out2)
                        abort();
                iio_demux_block(&l, buf, n_samples, out2, NULL);
                for (size_t i = 0; i < n_samples * l.n_columns; i++)
                        fuzz_check(same_float(out[i], out2[i]), "value %zu depends on the timestamps array", i);
                free(out2);
        }

        int64_t raw;
        uint64_t u = fuzz_u64(&in);
        memcpy(&raw, &u, sizeof(raw));
        double off = random_double(&in, 0.0), sc = random_double(&in, 1.0);
        enum iio_quantity q = (enum iio_quantity) fuzz_range(&in, 0, 2);
        double phys = iio_to_physical(raw, off, sc, q);
        double want = ((double) raw + off) * sc * (q == IIO_QUANTITY_VOLTAGE ? 1000.0 : 1.0);
        fuzz_check((isnan(phys) && isnan(want)) || phys == want, "iio_to_physical %g, expected %g", phys, want);

        free(buf);
        free(out);
        free(stamps);
        return 0;
}
