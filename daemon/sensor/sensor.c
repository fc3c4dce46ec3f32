/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block-queue.h"
#include "iio-source.h"
#include "log.h"
#include "replay-source.h"
#include "sensor.h"

/* A replay waits for room rather than drop: its queue needs no sizing. */
#define REPLAY_QUEUE_BLOCKS 64
/* A device's queue holds this much of its samples, and at least two refills:
 * the loop may be busy that long before a sample is lost. */
#define QUEUE_MIN_USEC (1 * 1000000ULL)
#define BACKOFF_MIN_USEC (1 * 1000000ULL)
#define BACKOFF_MAX_USEC (60 * 1000000ULL)

/* What the sensor needs of a source; replay and libiio sources both fit. */
struct source_ops {
        double (*rate)(const void *src);
        unsigned (*n_channels)(const void *src);
        const char *(*channel_name)(const void *src, unsigned i);
        enum sample_role (*channel_role)(const void *src, unsigned i);
        int (*start)(void *src, struct block_queue *q);
        int (*stop)(void *src);
        int (*status)(const void *src, char *msg, size_t len); /* 0 running, 1 ended, < 0 failed */
        void *(*free)(void *src);
};

static double replay_rate(const void *p) { return replay_source_rate(p); }
static unsigned replay_n(const void *p) { return replay_source_n_channels(p); }
static const char *replay_name(const void *p, unsigned i) { return replay_source_channel_name(p, i); }
static enum sample_role replay_role(const void *p, unsigned i) { return replay_source_channel_role(p, i); }
static int replay_start(void *p, struct block_queue *q) { return replay_source_start(p, q); }
static int replay_stop(void *p) { return replay_source_stop(p); }
static int replay_status(const void *p, char *m, size_t l) { return replay_source_status(p, m, l); }
static void *replay_free(void *p) { return replay_source_free(p); }

static const struct source_ops replay_ops = {
        replay_rate, replay_n, replay_name, replay_role, replay_start, replay_stop, replay_status, replay_free,
};

static double iio_rate(const void *p) { return iio_source_rate(p); }
static unsigned iio_n(const void *p) { return iio_source_n_channels(p); }
static const char *iio_name(const void *p, unsigned i) { return iio_source_channel_name(p, i); }
static enum sample_role iio_role(const void *p, unsigned i) { return iio_source_channel_role(p, i); }
static int iio_start(void *p, struct block_queue *q) { return iio_source_start(p, q); }
static int iio_stop(void *p) { return iio_source_stop(p); }
static int iio_status(const void *p, char *m, size_t l) { return iio_source_status(p, m, l); }
static void *iio_free(void *p) { return iio_source_free(p); }

static const struct source_ops iio_ops = {
        iio_rate, iio_n, iio_name, iio_role, iio_start, iio_stop, iio_status, iio_free,
};

struct sensor {
        sd_event *event;
        struct sensor_config cfg;
        struct sensor_callbacks cb;
        void *userdata;

        const struct source_ops *ops;
        void *src;
        struct block_queue *queue;
        sd_event_source *io, *retry;
        uint64_t backoff_usec, retry_at_usec;

        enum sensor_state state;
        char status[700];
        uint64_t dropped;
};

/*
 * The queue's blocks hold a refill's samples (up to SAMPLE_BLOCK_MAX_SAMPLES)
 * of this device's channels, no more. 16 sensors of 8 channels at 2 kHz,
 * buffer_ms 50: 16 x 22 blocks of 3.2 kB, 1.1 MB reserved in all, of which
 * only the blocks the loop ever fell behind by become resident (the queue
 * fills its lowest free block first): two or three a sensor while the loop
 * keeps up. 64 whole blocks a sensor, of which each refill touched the
 * first one or two 4 kB pages of 64 kB, came to 6.9 MB.
 */
static int size_queue(struct sensor *s, struct iio_source *src, char *err, size_t errlen) {
        size_t refill = iio_source_buffer_samples(src);
        size_t block = refill < SAMPLE_BLOCK_MAX_SAMPLES ? refill : SAMPLE_BLOCK_MAX_SAMPLES;
        size_t per_refill = (refill + block - 1) / block;
        double refills = ceil(iio_source_rate(src) * (double) QUEUE_MIN_USEC / 1e6 / (double) refill);
        /* Two spare blocks: a refill where timestamps jump makes more than per_refill. */
        double n = fmax(refills, 2.0) * (double) per_refill + 2.0;

        if (n > BLOCK_QUEUE_MAX_BLOCKS) {
                snprintf(err, errlen, "%s: buffer_ms=%u at %g Hz makes a queue of %.0f blocks, more than %u; "
                         "choose another buffer_ms in [sensor.%s]", iio_source_describe(src), s->cfg.buffer_ms,
                         iio_source_rate(src), n, BLOCK_QUEUE_MAX_BLOCKS, s->cfg.name);
                return -E2BIG;
        }
        int r = block_queue_resize(s->queue, (unsigned) n, block * iio_source_n_channels(src));
        if (r < 0)
                snprintf(err, errlen, "%s: cannot allocate a queue of %.0f blocks of %zu samples: %s",
                         iio_source_describe(src), n, block, strerror(-r));
        return r;
}

static int open_source(struct sensor *s, char *err, size_t errlen) {
        int ret;

        if (sensor_config_is_replay(&s->cfg)) {
                struct replay_source *r = NULL;
                ret = replay_source_open(s->cfg.uri + strlen("replay:"), s->cfg.speed, s->cfg.buffer_ms, &r, err,
                                         errlen);
                if (ret < 0)
                        return ret;
                ret = block_queue_resize(s->queue, REPLAY_QUEUE_BLOCKS, BLOCK_QUEUE_MAX_FLOATS);
                if (ret < 0) {
                        snprintf(err, errlen, "%s: cannot allocate its queue: %s", s->cfg.uri, strerror(-ret));
                        replay_source_free(r);
                        return ret;
                }
                s->ops = &replay_ops;
                s->src = r;
                return 0;
        }
        struct iio_source_config ic = {
                .name = s->cfg.name,
                .uri = s->cfg.uri,
                .device = s->cfg.device,
                .channels = s->cfg.channels,
                .sample_rate = s->cfg.sample_rate,
                .buffer_ms = s->cfg.buffer_ms,
        };
        struct iio_source *src = NULL;
        ret = iio_source_open(&ic, &src, err, errlen);
        if (ret < 0)
                return ret;
        ret = size_queue(s, src, err, errlen);
        if (ret < 0) {
                iio_source_free(src);
                return ret;
        }
        s->ops = &iio_ops;
        s->src = src;
        return 0;
}

static void close_source(struct sensor *s) {
        if (!s->src)
                return;
        s->ops->stop(s->src);
        s->src = s->ops->free(s->src);
        block_queue_reset(s->queue);
}

static void set_state(struct sensor *s, enum sensor_state st) {
        s->state = st;
        if (s->cb.state)
                s->cb.state(s, s->userdata);
}

static int on_retry(sd_event_source *es, uint64_t usec, void *userdata) {
        (void) es;
        (void) usec;
        sensor_connect(userdata);
        return 0;
}

static void schedule_retry(struct sensor *s) {
        uint64_t now = 0;
        s->backoff_usec = s->backoff_usec ? s->backoff_usec * 2 : BACKOFF_MIN_USEC;
        if (s->backoff_usec > BACKOFF_MAX_USEC)
                s->backoff_usec = BACKOFF_MAX_USEC;
        sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        s->retry_at_usec = now + s->backoff_usec;
        if (!s->retry) {
                int r = sd_event_add_time(s->event, &s->retry, CLOCK_MONOTONIC, s->retry_at_usec, 100 * 1000, on_retry, s);
                if (r < 0)
                        log_error_errno(r, "[sensor.%s]: cannot schedule a retry: %s", s->cfg.name, strerror(-r));
                return;
        }
        sd_event_source_set_time(s->retry, s->retry_at_usec);
        sd_event_source_set_enabled(s->retry, SD_EVENT_ONESHOT);
}

void sensor_disconnect(struct sensor *s, int error, const char *why) {
        close_source(s);
        snprintf(s->status, sizeof(s->status), "%s", why);
        if (error)
                log_warning_errno(error, "[sensor.%s] disconnected: %s", s->cfg.name, why);
        set_state(s, SENSOR_DISCONNECTED);
        schedule_retry(s);
}

/*
 * Blocks handed to the detector in one wake-up, at most: a replay at full
 * speed refills the queue as fast as the loop empties it, and draining
 * until empty would keep D-Bus (a source of the same priority) waiting
 * until the whole recording was read.
 */
#define DRAIN_MAX_BLOCKS 16

/* True when the queue is empty. */
static bool drain(struct sensor *s, unsigned max_blocks) {
        struct sample_block *b;
        for (unsigned i = 0; i < max_blocks; i++) {
                b = block_queue_peek(s->queue);
                if (!b)
                        return true;
                s->dropped += b->dropped;
                if (s->cb.block)
                        s->cb.block(s, b, s->userdata);
                block_queue_release(s->queue);
        }
        return block_queue_peek(s->queue) == NULL;
}

static int on_queue(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        struct sensor *s = userdata;
        char msg[600];
        (void) es;
        (void) fd;
        (void) revents;

        block_queue_ack(s->queue);
        if (!drain(s, DRAIN_MAX_BLOCKS)) {
                /* The rest after the other sources had their turn. */
                block_queue_notify(s->queue);
                return 0;
        }
        if (!s->src)
                return 0;
        /* Every block wakes us: ask for the message only once the reader stopped. */
        int st = s->ops->status(s->src, NULL, 0);
        if (st == 0)
                return 0;
        st = s->ops->status(s->src, msg, sizeof(msg));
        /* The reader stopped: whatever it committed is all there is. */
        drain(s, UINT_MAX);
        if (st > 0) {
                close_source(s);
                snprintf(s->status, sizeof(s->status), "%s", msg);
                set_state(s, SENSOR_ENDED);
                return 0;
        }
        sensor_disconnect(s, st, msg);
        return 0;
}

int sensor_connect(struct sensor *s) {
        char err[700];

        if (s->state == SENSOR_STREAMING || s->state == SENSOR_ENDED)
                return 0;
        if (s->retry)
                sd_event_source_set_enabled(s->retry, SD_EVENT_OFF);
        s->retry_at_usec = 0;
        int r = open_source(s, err, sizeof(err));
        if (r >= 0) {
                r = s->ops->start(s->src, s->queue);
                if (r < 0)
                        snprintf(err, sizeof(err), "%s: cannot start the reader: %s", s->cfg.uri, strerror(-r));
        }
        if (r < 0) {
                close_source(s);
                snprintf(s->status, sizeof(s->status), "%s", err);
                log_warning("[sensor.%s] %s", s->cfg.name, err);
                set_state(s, SENSOR_DISCONNECTED);
                schedule_retry(s);
                return r;
        }
        s->backoff_usec = 0;
        snprintf(s->status, sizeof(s->status), "streaming %u channels at %g Hz from %s", s->ops->n_channels(s->src),
                 s->ops->rate(s->src), s->cfg.uri);
        set_state(s, SENSOR_STREAMING);
        return 0;
}

int sensor_new(sd_event *event, const struct sensor_config *cfg, const struct sensor_callbacks *cb, void *userdata,
               struct sensor **ret) {
        struct sensor *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        s->cfg = *cfg;
        s->cb = *cb;
        s->userdata = userdata;
        snprintf(s->status, sizeof(s->status), "not connected yet");
        /* Sized when a source opens: see size_queue(). */
        int r = block_queue_new_sized(2, 1, &s->queue);
        if (r >= 0)
                r = sd_event_add_io(event, &s->io, block_queue_fd(s->queue), EPOLLIN, on_queue, s);
        if (r < 0) {
                sensor_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

struct sensor *sensor_free(struct sensor *s) {
        if (!s)
                return NULL;
        if (s->src) {
                s->ops->stop(s->src);
                s->src = s->ops->free(s->src);
        }
        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->retry);
        block_queue_free(s->queue);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

const struct sensor_config *sensor_config(const struct sensor *s) {
        return &s->cfg;
}

const char *sensor_name(const struct sensor *s) {
        return s->cfg.name;
}

enum sensor_state sensor_state(const struct sensor *s) {
        return s->state;
}

const char *sensor_state_to_string(enum sensor_state st) {
        switch (st) {
        case SENSOR_DISCONNECTED:
                return "disconnected";
        case SENSOR_STREAMING:
                return "streaming";
        case SENSOR_ENDED:
                return "ended";
        }
        return "unknown";
}

const char *sensor_status(const struct sensor *s) {
        return s->status;
}

uint64_t sensor_dropped(const struct sensor *s) {
        return s->dropped;
}

double sensor_rate(const struct sensor *s) {
        return s->src ? s->ops->rate(s->src) : 0.0;
}

unsigned sensor_n_channels(const struct sensor *s) {
        return s->src ? s->ops->n_channels(s->src) : 0;
}

const char *sensor_channel_name(const struct sensor *s, unsigned i) {
        return s->src ? s->ops->channel_name(s->src, i) : NULL;
}

enum sample_role sensor_channel_role(const struct sensor *s, unsigned i) {
        return s->src ? s->ops->channel_role(s->src, i) : SAMPLE_ROLE_EMG;
}

unsigned sensor_n_emg(const struct sensor *s) {
        unsigned n = 0;
        for (unsigned i = 0; i < sensor_n_channels(s); i++)
                n += sensor_channel_role(s, i) == SAMPLE_ROLE_EMG;
        return n;
}

bool sensor_has_imu(const struct sensor *s) {
        unsigned found = 0;
        for (unsigned i = 0; i < sensor_n_channels(s); i++)
                if (sensor_channel_role(s, i) != SAMPLE_ROLE_EMG)
                        found |= 1u << sensor_channel_role(s, i);
        return found == 0x7eu; /* all six: acc_x..gyr_z */
}

double sensor_retry_in(const struct sensor *s) {
        uint64_t now = 0;
        if (!s->retry_at_usec)
                return -1.0;
        sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        return s->retry_at_usec > now ? (double) (s->retry_at_usec - now) / 1e6 : 0.0;
}
