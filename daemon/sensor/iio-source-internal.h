/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by iio-source.c (open, channels) and iio-reader.c (the thread). */

#include <iio.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "iio-format.h"
#include "iio-source.h"

#define IIO_SOURCE_NAME_MAX 32
#define IIO_SOURCE_DESC_MAX 600

struct iio_source {
        char desc[IIO_SOURCE_DESC_MAX];   /* "ip:127.0.0.1:30431 device ads1298" */
        char section[80];                 /* " in [sensor.lumbar]", or " in the config" */

        struct iio_context *ctx;
        struct iio_device *dev;
        struct iio_buffer *buf;
        bool local;                       /* a local: context */

        /* Output channels, in column order. */
        unsigned n_channels;
        char names[SAMPLE_BLOCK_MAX_CHANNELS][IIO_SOURCE_NAME_MAX];
        enum sample_role roles[SAMPLE_BLOCK_MAX_CHANNELS];

        /* Enabled scan elements in scan order: layout.e[k] is chan[k]. */
        const struct iio_channel *chan[IIO_LAYOUT_MAX];
        struct iio_layout layout;         /* as computed from the formats at open */
        struct iio_layout live;           /* offsets as the buffer of the current refill has them */
        bool has_timestamp;

        double rate;
        size_t buffer_samples;
        unsigned timeout_ms;

        /* Reader thread. */
        struct block_queue *queue;
        pthread_t thread;
        bool started, joined;
        atomic_bool stop_requested;
        atomic_int status;                /* 0, or -errno once the thread failed; msg is set before */
        char msg[IIO_SOURCE_DESC_MAX + 300];
        uint64_t next_index;              /* stream index of the next sample read */
        int64_t last_ns;                  /* timestamp of the last sample read, -1 none yet */
};

/* A channel chosen for output, in column order. */
struct pick {
        struct iio_channel *ch;
        enum iio_quantity q;
};

/* iio-channels.c: fill names/roles/n_channels from "auto" or a list, then
 * enable those channels (and the timestamp) and compute the layout. */
int iio_source_pick_auto(struct iio_source *s, struct pick *picks, char *err, size_t errlen);
int iio_source_pick_list(struct iio_source *s, const char *list, struct pick *picks, char *err, size_t errlen);
int iio_source_build_layout(struct iio_source *s, const struct pick *picks, double fallback_scale, char *err,
                            size_t errlen);

/* iio-source.c: message helpers. fail() writes err and returns r (-EINVAL if r >= 0). */
__attribute__((format(printf, 4, 5)))
int iio_source_fail(char *err, size_t errlen, int r, const char *fmt, ...);
const char *iio_source_errstr(int r, char *buf, size_t len);
void iio_source_append(char *buf, size_t len, const char *sep, const char *s);

/* SIGPIPE from a send() on a closed socket inside libiio would kill the
 * daemon; calls on the loop's thread are wrapped in these. */
struct sigpipe_guard {
        sigset_t old;
        bool was_pending;
};
void sigpipe_guard_begin(struct sigpipe_guard *g);
void sigpipe_guard_end(struct sigpipe_guard *g);
