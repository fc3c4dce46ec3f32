/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A libiio device (local:, ip:HOST[:PORT], usb:...) read by one thread of
 * its own. iio_source_open() does everything that can fail for a reason a
 * person has to fix (context, device, channels, scale, rate, buffer) and
 * says what to fix; the thread then only refills, converts and hands blocks
 * to a block_queue, allocating nothing.
 *
 * Blocks: channels in the order of the channel list (or scan order for
 * "auto"), in spasmd units (EMG uV, m/s^2, rad/s). first_index counts
 * samples in stream time, lost ones included, so for consecutive blocks
 * first_index(next) = first_index(prev) + n_samples(prev) + dropped(next).
 * first_ns is the device's timestamp channel (the kernel's clock for the
 * device, CLOCK_REALTIME unless changed; the remote host's clock over ip:),
 * -1 without one. A timestamp step over 1.5 sample periods counts the
 * missing samples as dropped and starts a new block.
 *
 * Threads: open, start, stop, status and free are for one thread (the event
 * loop's). The reader thread runs with every signal blocked.
 */

#include <stdbool.h>
#include <stddef.h>

#include "block-queue.h"
#include "sample-block.h"

#define IIO_SOURCE_DEFAULT_BUFFER_MS 50
#define IIO_SOURCE_DEFAULT_TIMEOUT_MS 2000

struct iio_source_config {
        const char *name;       /* config section name, for messages ("lumbar" -> [sensor.lumbar]); NULL: none */
        const char *uri;        /* "local:", "ip:HOST[:PORT]", "usb:..." */
        const char *device;     /* IIO name, label or iio:deviceN */
        const char *channels;   /* "voltage0:emg_left, voltage1:emg_right", "auto" or NULL (auto) */
        double sample_rate;     /* 0: leave the device's rate; else write sampling_frequency if it differs */
        unsigned buffer_ms;     /* latency target that sizes the buffer; 0: 50 */
        unsigned timeout_ms;    /* refill timeout; 0: 2000; raised to at least 4 x buffer_ms */
        double fallback_scale;  /* IIO scale for channels whose driver has none (a future scale= key); 0: error */
};

struct iio_source;

/*
 * Connect, find the device and channels, read scales and offsets, set the
 * rate and create the buffer (the device starts sampling). On failure
 * returns -errno and a message naming the URI, device and the fix in err.
 * May block for libiio's connect timeout (ip:).
 */
int iio_source_open(const struct iio_source_config *cfg, struct iio_source **ret, char *err, size_t errlen);
struct iio_source *iio_source_free(struct iio_source *s);

double iio_source_rate(const struct iio_source *s);
unsigned iio_source_n_channels(const struct iio_source *s);
const char *iio_source_channel_name(const struct iio_source *s, unsigned i);   /* "emg_left", "acc_x", ... */
const char *iio_source_channel_id(const struct iio_source *s, unsigned i);     /* "voltage0", "accel_x", ... */
enum sample_role iio_source_channel_role(const struct iio_source *s, unsigned i);
bool iio_source_has_timestamp(const struct iio_source *s);
/* Samples per refill: a queue of fewer than 2 x ceil(this / SAMPLE_BLOCK_MAX_SAMPLES) + 2 blocks overruns. */
size_t iio_source_buffer_samples(const struct iio_source *s);
/* "ip:127.0.0.1:30431 device ads1298", as used in messages. */
const char *iio_source_describe(const struct iio_source *s);

/* Spawn the reader thread. Once per source: after a stop, free and reopen. */
int iio_source_start(struct iio_source *s, struct block_queue *q);
/*
 * Ask the thread to stop and join it; safe to call twice, or without a start.
 * The refill under way may finish first (while samples flow it ends within a
 * buffer's time, and libiio then closes the buffer cleanly); after
 * 2 x buffer_ms + 100 ms (at most timeout_ms) iio_buffer_cancel() wakes it,
 * which local, ip and usb implement. So it returns within about
 * 2 x buffer_ms + 100 ms (200 ms at 50 ms); on a backend without cancel the
 * refill timeout bounds it.
 */
int iio_source_stop(struct iio_source *s);
/*
 * Why the reader stopped: 0 while it runs (and after a requested stop),
 * else -ENODEV (unplugged), -ETIMEDOUT (no data for timeout_ms), -EPIPE or
 * -ECONNRESET (the remote is gone), or another -errno from libiio; msg gets a
 * sentence naming the sensor and the fix. The queue's eventfd is written
 * once more when the reader stops, so the loop notices.
 */
int iio_source_status(const struct iio_source *s, char *msg, size_t len);
