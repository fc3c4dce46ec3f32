/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * IIO scan formats and the layout of one scan ("sample") in a buffer, with
 * no libiio calls, so this part can be unit-tested and fuzzed on its own.
 *
 * A scan element's format is what the kernel prints in
 * scan_elements/in_*_type and libiio carries in its XML:
 *
 *     le:s24/32>>0      little endian, signed, 24 valid bits in 32, no shift
 *     be:u12/16>>4      big endian, unsigned, 12 bits in 16, shifted left by 4
 *     le:s16/16X3>>0    three repeated 16-bit values
 *
 * libiio writes 'S'/'U' for a "fully defined" element (every storage bit is
 * data); both cases are accepted.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iio_format {
        bool be;                /* big endian */
        bool is_signed;
        bool fully_defined;     /* 'S'/'U': no masking to bits after the shift */
        unsigned bits;          /* valid bits, 1..storage */
        unsigned storage;       /* storage bits: 8, 16, 24, ... 64 */
        unsigned shift;         /* right shift before masking; shift + bits <= storage */
        unsigned repeat;        /* >= 1 */
};

/* -EINVAL unless the fields describe an element that can be decoded. */
int iio_format_validate(const struct iio_format *f);
/* Parse "le:s24/32>>0" (optionally "X<repeat>" before ">>"); -EINVAL on anything else. */
int iio_format_parse(const char *s, struct iio_format *ret);
/* Bytes one element occupies in a scan: storage / 8 * repeat. */
unsigned iio_format_size(const struct iio_format *f);
/*
 * The raw integer of the element at p (the first of its repeats): the
 * storage word in its byte order, shifted right, masked to bits and sign
 * extended when signed. p needs no alignment.
 */
int iio_format_decode(const struct iio_format *f, const uint8_t *p, int64_t *ret);

/*
 * IIO ABI: physical = (raw + offset) * scale, where scale and offset are the
 * channel's sysfs attributes, in the ABI's units. spasmd keeps EMG in
 * microvolts; the ABI gives voltage in millivolts, acceleration in m/s^2 and
 * angular velocity in rad/s, which spasmd uses as they are.
 */
enum iio_quantity {
        IIO_QUANTITY_VOLTAGE,   /* ABI mV -> uV */
        IIO_QUANTITY_ACCEL,     /* m/s^2 */
        IIO_QUANTITY_ANGLVEL,   /* rad/s */
};
double iio_quantity_factor(enum iio_quantity q);
double iio_to_physical(int64_t raw, double offset, double scale, enum iio_quantity q);

/* --- layout of a scan ---------------------------------------------------- */

#define IIO_LAYOUT_MAX 32

struct iio_layout_elem {
        struct iio_format fmt;
        unsigned offset;        /* bytes from the start of a scan; set by iio_layout_compute() */
        int column;             /* output column, or -1: skipped (the timestamp, a channel not asked for) */
        bool is_timestamp;      /* at most one: its raw value is a time in ns */
        double raw_offset;      /* IIO offset, in raw units */
        double scale;           /* spasmd units per raw unit: IIO scale * iio_quantity_factor() */
};

struct iio_layout {
        struct iio_layout_elem e[IIO_LAYOUT_MAX];  /* in scan-index order */
        unsigned n;
        unsigned n_columns;     /* output values per sample: columns 0..n_columns-1 */
        int timestamp;          /* index in e[] of the timestamp element, -1: none */
        unsigned sample_size;   /* bytes per scan: the stride between samples */
};

/*
 * Fill in every element's offset, the sample size and the timestamp index
 * from e[0..n-1] (fmt, column, is_timestamp), in scan-index order. Each
 * element is aligned to its own size, and the scan is padded to a multiple
 * of its largest element, as the kernel lays out a scan (iiod forwards the
 * kernel's bytes). Checks that n_columns columns appear exactly once each
 * and that a timestamp is a signed 64-bit element; -EINVAL otherwise.
 */
int iio_layout_compute(struct iio_layout *l);

/*
 * Demultiplex n_samples scans of sample_size bytes at buf into out,
 * interleaved by sample (out[i * n_columns + column]), converted to
 * spasmd units. With timestamps non-NULL and a timestamp element present,
 * timestamps[i] receives its raw value (ns); without one, -1.
 */
void iio_demux_block(const struct iio_layout *l, const uint8_t *buf, size_t n_samples, float *out,
                     int64_t *timestamps);
/* The timestamp of the scan at p, or -1 when the layout has none. */
int64_t iio_layout_timestamp(const struct iio_layout *l, const uint8_t *p);
