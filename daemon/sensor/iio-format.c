/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <string.h>

#include "iio-format.h"

int iio_format_validate(const struct iio_format *f) {
        if (f->storage < 8 || f->storage > 64 || f->storage % 8 != 0)
                return -EINVAL;
        if (f->bits < 1 || f->bits > f->storage)
                return -EINVAL;
        if (f->shift >= f->storage || f->shift + f->bits > f->storage)
                return -EINVAL;
        /* A scan is at most a few hundred bytes; a huge repeat is a corrupt format. */
        if (f->repeat < 1 || f->repeat > 64)
                return -EINVAL;
        return 0;
}

/* Decimal number of at most 4 digits at *s; advances *s. Avoids strtoul's
 * signs, spaces and overflow, which a format string never has. */
static int parse_small(const char **s, unsigned *ret) {
        const char *p = *s;
        unsigned v = 0, n = 0;

        while (*p >= '0' && *p <= '9') {
                if (++n > 4)
                        return -EINVAL;
                v = v * 10 + (unsigned) (*p - '0');
                p++;
        }
        if (n == 0)
                return -EINVAL;
        *s = p;
        *ret = v;
        return 0;
}

int iio_format_parse(const char *s, struct iio_format *ret) {
        struct iio_format f = { .repeat = 1 };

        if (!s)
                return -EINVAL;
        if (strncmp(s, "le:", 3) == 0)
                f.be = false;
        else if (strncmp(s, "be:", 3) == 0)
                f.be = true;
        else
                return -EINVAL;
        s += 3;

        switch (*s) {
        case 's': f.is_signed = true; break;
        case 'u': f.is_signed = false; break;
        case 'S': f.is_signed = true; f.fully_defined = true; break;
        case 'U': f.is_signed = false; f.fully_defined = true; break;
        default: return -EINVAL;
        }
        s++;

        if (parse_small(&s, &f.bits) < 0 || *s++ != '/' || parse_small(&s, &f.storage) < 0)
                return -EINVAL;
        if (*s == 'X') {
                s++;
                if (parse_small(&s, &f.repeat) < 0)
                        return -EINVAL;
        }
        if (s[0] != '>' || s[1] != '>')
                return -EINVAL;
        s += 2;
        if (parse_small(&s, &f.shift) < 0 || *s != '\0')
                return -EINVAL;

        if (iio_format_validate(&f) < 0)
                return -EINVAL;
        *ret = f;
        return 0;
}

unsigned iio_format_size(const struct iio_format *f) {
        return f->storage / 8 * f->repeat;
}

/* The decode itself, for a format already validated: the demux calls it per value. */
static int64_t decode(const struct iio_format *f, const uint8_t *p) {
        unsigned nbytes = f->storage / 8;
        uint64_t v = 0;

        /* Byte by byte: p may be unaligned and the host order does not matter. */
        if (f->be)
                for (unsigned i = 0; i < nbytes; i++)
                        v = (v << 8) | p[i];
        else
                for (unsigned i = nbytes; i > 0; i--)
                        v = (v << 8) | p[i - 1];

        v >>= f->shift;
        /* 'S'/'U' promise that everything above the shift is data. */
        unsigned bits = f->fully_defined ? f->storage - f->shift : f->bits;
        if (bits < 64) {
                uint64_t mask = (UINT64_C(1) << bits) - 1;
                v &= mask;
                if (f->is_signed && (v >> (bits - 1)) & 1)
                        v |= ~mask;
        }
        /* Two's complement reinterpretation, well defined through memcpy. */
        int64_t r;
        memcpy(&r, &v, sizeof(r));
        return r;
}

int iio_format_decode(const struct iio_format *f, const uint8_t *p, int64_t *ret) {
        if (iio_format_validate(f) < 0)
                return -EINVAL;
        *ret = decode(f, p);
        return 0;
}

double iio_quantity_factor(enum iio_quantity q) {
        switch (q) {
        case IIO_QUANTITY_VOLTAGE:
                return 1000.0; /* mV -> uV */
        case IIO_QUANTITY_ACCEL:
        case IIO_QUANTITY_ANGLVEL:
        default:
                return 1.0;
        }
}

double iio_to_physical(int64_t raw, double offset, double scale, enum iio_quantity q) {
        return ((double) raw + offset) * scale * iio_quantity_factor(q);
}

int iio_layout_compute(struct iio_layout *l) {
        unsigned pos = 0, largest = 1;
        uint64_t seen = 0;
        int ts = -1;

        if (l->n == 0 || l->n > IIO_LAYOUT_MAX || l->n_columns > 64)
                return -EINVAL;

        for (unsigned i = 0; i < l->n; i++) {
                struct iio_layout_elem *e = &l->e[i];
                if (iio_format_validate(&e->fmt) < 0)
                        return -EINVAL;
                if (e->is_timestamp) {
                        if (ts >= 0 || e->column >= 0 || !e->fmt.is_signed || e->fmt.storage != 64)
                                return -EINVAL;
                        ts = (int) i;
                } else if (e->column >= 0) {
                        if ((unsigned) e->column >= l->n_columns || (seen >> e->column) & 1)
                                return -EINVAL;
                        seen |= UINT64_C(1) << e->column;
                }

                /* The kernel aligns an element to its whole size (storage
                 * times repeat); libiio does the same with a modulo, which
                 * also copes with sizes that are not powers of two. */
                unsigned size = iio_format_size(&e->fmt);
                if (pos % size)
                        pos += size - pos % size;
                e->offset = pos;
                pos += size;
                if (size > largest)
                        largest = size;
        }
        if (l->n_columns > 0 && seen != (l->n_columns == 64 ? UINT64_MAX : (UINT64_C(1) << l->n_columns) - 1))
                return -EINVAL;
        if (pos % largest)
                pos += largest - pos % largest;

        l->sample_size = pos;
        l->timestamp = ts;
        return 0;
}

int64_t iio_layout_timestamp(const struct iio_layout *l, const uint8_t *p) {
        if (l->timestamp < 0)
                return -1;
        const struct iio_layout_elem *e = &l->e[l->timestamp];
        return decode(&e->fmt, p + e->offset);
}

void iio_demux_block(const struct iio_layout *l, const uint8_t *buf, size_t n_samples, float *out,
                     int64_t *timestamps) {
        const size_t stride = l->sample_size, cols = l->n_columns;

        for (size_t i = 0; i < n_samples; i++) {
                const uint8_t *p = buf + i * stride;
                float *row = out + i * cols;

                for (unsigned k = 0; k < l->n; k++) {
                        const struct iio_layout_elem *e = &l->e[k];
                        if (e->column < 0)
                                continue;
                        /* Formats were validated by iio_layout_compute(). */
                        int64_t raw = decode(&e->fmt, p + e->offset);
                        row[e->column] = (float) (((double) raw + e->raw_offset) * e->scale);
                }
                if (timestamps)
                        timestamps[i] = iio_layout_timestamp(l, p);
        }
}
