/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The reader thread of an iio_source: refill, demultiplex into sample
 * blocks, hand them to the queue; on an error, say why and stop. Nothing
 * here allocates: the buffer, the layouts and the queue's blocks all exist
 * from open and start.
 */

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iio-source-internal.h"

void sigpipe_guard_begin(struct sigpipe_guard *g) {
        sigset_t set, pending;

        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        sigemptyset(&pending);
        (void) sigpending(&pending);
        g->was_pending = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

void sigpipe_guard_end(struct sigpipe_guard *g) {
        sigset_t set, pending;

        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        sigemptyset(&pending);
        (void) sigpending(&pending);
        /* Swallow only a SIGPIPE that a call in between raised. */
        if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1) {
                struct timespec zero = { 0, 0 };
                (void) sigtimedwait(&set, NULL, &zero);
        }
        pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

/* Samples missing between two timestamps: none unless the step exceeds 1.5 periods. */
static uint64_t missing_between(int64_t prev_ns, int64_t ns, double period_ns) {
        if (prev_ns < 0 || ns < 0 || ns <= prev_ns)
                return 0;
        double steps = (double) (ns - prev_ns) / period_ns;
        if (steps <= 1.5)
                return 0;
        /* A clock step of years is no reason to overflow. */
        return steps > 1e12 ? (uint64_t) 1e12 : (uint64_t) llround(steps) - 1;
}

/* Hand n samples (stride l->sample_size from p) to the queue, in blocks
 * that break at timestamp gaps and when the queue's blocks are full. */
static void emit(struct iio_source *s, const struct iio_layout *l, const uint8_t *p, size_t n) {
        const double period_ns = 1e9 / s->rate;
        /* The sensor sizes its queue's blocks to a refill; another queue may have bigger ones. */
        size_t per_block = l->n_columns ? block_queue_block_floats(s->queue) / l->n_columns : 0;
        struct timespec now;

        if (per_block > SAMPLE_BLOCK_MAX_SAMPLES)
                per_block = SAMPLE_BLOCK_MAX_SAMPLES;
        if (per_block == 0) {
                /* Not one sample fits: the queue was made for fewer channels. */
                block_queue_overrun(s->queue, n > UINT32_MAX ? UINT32_MAX : (uint32_t) n);
                s->next_index += n;
                return;
        }
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t arrival_ns = (int64_t) now.tv_sec * 1000000000 + now.tv_nsec;

        while (n > 0) {
                size_t k = n < per_block ? n : per_block;
                uint64_t gap = 0;
                int64_t first_ns = -1;

                if (l->timestamp >= 0) {
                        first_ns = iio_layout_timestamp(l, p);
                        gap = missing_between(s->last_ns, first_ns, period_ns);
                        int64_t prev = first_ns;
                        for (size_t i = 1; i < k; i++) {
                                int64_t t = iio_layout_timestamp(l, p + i * l->sample_size);
                                if (missing_between(prev, t, period_ns)) {
                                        k = i; /* the gap opens the next block */
                                        break;
                                }
                                prev = t;
                        }
                        s->last_ns = prev;
                }
                s->next_index += gap;

                struct sample_block *b = block_queue_reserve(s->queue);
                if (b) {
                        iio_demux_block(l, p, k, b->data, NULL);
                        b->first_index = s->next_index;
                        b->dropped = gap;
                        b->first_ns = first_ns;
                        b->arrival_ns = arrival_ns;
                        b->n_samples = (uint32_t) k;
                        b->n_channels = l->n_columns;
                        block_queue_commit(s->queue);
                } else {
                        /* The loop is behind: the device will not wait. */
                        uint64_t lost = gap + k;
                        block_queue_overrun(s->queue, lost > UINT32_MAX ? UINT32_MAX : (uint32_t) lost);
                }
                s->next_index += k;
                p += k * l->sample_size;
                n -= k;
        }
}

/* libiio's buffer may carry more channels than were asked for (iiod sends a
 * scan of every channel some client enabled); where ours are is what
 * iio_buffer_first() says, and the stride is iio_buffer_step(). */
static const struct iio_layout *relayout(struct iio_source *s) {
        const uint8_t *start = iio_buffer_start(s->buf);
        struct iio_layout *l = &s->live;

        for (unsigned k = 0; k < l->n; k++)
                l->e[k].offset = (unsigned) ((const uint8_t *) iio_buffer_first(s->buf, s->chan[k]) - start);
        l->sample_size = (unsigned) iio_buffer_step(s->buf);
        return l;
}

__attribute__((format(printf, 3, 4)))
static void set_status(struct iio_source *s, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
        va_end(ap);
        /* Release: whoever reads the status sees the message. */
        atomic_store_explicit(&s->status, r, memory_order_release);
}

/* Name what went wrong and what to do, from a refill's error. */
static void fail_refill(struct iio_source *s, int r, uint64_t waited_ms) {
        char eb[128];

        /* The network backend says EPIPE both when the peer closed and when
         * its poll() timed out; the time spent waiting tells them apart. */
        if (r == -EPIPE && waited_ms + 100 >= s->timeout_ms)
                r = -ETIMEDOUT;
        /* An unplugged local device does not fail its reads: poll() just
         * never fires. Its sysfs directory going away says what happened. */
        if (r == -ETIMEDOUT && s->local) {
                char path[300];
                snprintf(path, sizeof(path), "/sys/bus/iio/devices/%s", iio_device_get_id(s->dev));
                if (access(path, F_OK) < 0 && errno == ENOENT)
                        r = -ENODEV;
        }

        switch (r) {
        case -ENODEV:
                set_status(s, r, "%s: the device is gone (unplugged, or its driver unbound); reconnect it", s->desc);
                break;
        case -ETIMEDOUT:
                set_status(s, r,
                           "%s: no samples for %u ms; is it unplugged, unpowered or not sampling (trigger, "
                           "sampling_frequency)? check it, or raise buffer_ms%s if it delivers in bursts", s->desc,
                           s->timeout_ms, s->section);
                break;
        case -EPIPE:
        case -ECONNRESET:
        case -ECONNABORTED:
        case -ENOTCONN:
        case -EHOSTUNREACH:
        case -ENETDOWN:
        case -ENETUNREACH:
                set_status(s, r,
                           "%s: lost the connection (%s); is iiod still running on that host, and the network up?",
                           s->desc, iio_source_errstr(r, eb, sizeof(eb)));
                break;
        default:
                set_status(s, r, "%s: reading samples failed: %s; %s", s->desc, iio_source_errstr(r, eb, sizeof(eb)),
                           s->local ? "check the device and the kernel log (dmesg)"
                                    : "check iiod and the device on that host");
                break;
        }
}

static void *reader(void *userdata) {
        struct iio_source *s = userdata;
        uint64_t last_data = now_ms();

        /* "spasmd-rd" in ps and /proc: its CPU time is what `make bench` reports. */
        pthread_setname_np(pthread_self(), "spasmd-rd");

        while (!atomic_load_explicit(&s->stop_requested, memory_order_acquire)) {
                uint64_t before = now_ms();
                ssize_t r = iio_buffer_refill(s->buf);
                uint64_t after = now_ms();

                if (atomic_load_explicit(&s->stop_requested, memory_order_acquire))
                        break; /* a cancelled refill fails (EBADF): that is no error */
                if (r < 0) {
                        fail_refill(s, (int) r, after - before);
                        /* The connection is mid-reply or gone: marked
                         * cancelled, the buffer closes its socket without a
                         * CLOSE that would wait timeout_ms for an answer. */
                        iio_buffer_cancel(s->buf);
                        break;
                }
                const struct iio_layout *l = relayout(s);
                size_t n = l->sample_size ? (size_t) r / l->sample_size : 0;
                if (n == 0) {
                        /* An empty refill must not spin; and a device that only
                         * ever returns empty buffers is stalled. */
                        if (after - last_data >= s->timeout_ms) {
                                fail_refill(s, -ETIMEDOUT, after - last_data);
                                iio_buffer_cancel(s->buf);
                                break;
                        }
                        nanosleep(&(struct timespec) { 0, 1000000 }, NULL);
                        continue;
                }
                last_data = after;
                emit(s, l, iio_buffer_start(s->buf), n);
        }
        block_queue_notify(s->queue);
        return NULL;
}

int iio_source_start(struct iio_source *s, struct block_queue *q) {
        sigset_t all, old;

        if (!s || !q)
                return -EINVAL;
        if (s->started)
                return -EALREADY;
        s->queue = q;
        /* Born with every signal blocked: signals are the loop's business,
         * and a SIGPIPE from libiio's send() then only makes it fail. */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        int r = -pthread_create(&s->thread, NULL, reader, s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return r;
        s->started = true;
        return 0;
}

int iio_source_stop(struct iio_source *s) {
        struct timespec deadline;
        int r;

        if (!s || !s->started || s->joined)
                return 0;
        atomic_store_explicit(&s->stop_requested, true, memory_order_release);
        /* While samples flow, the refill under way ends within a buffer's
         * time and the thread sees the flag: no cancel, so libiio closes
         * the buffer cleanly (and prints no errors about it). */
        /* Monotonic: a wall-clock step during the wait must neither cut the grace short nor stretch it. */
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        uint64_t grace_ns = (uint64_t) (2e9 * (double) s->buffer_samples / s->rate) + 100000000u;
        if (grace_ns > (uint64_t) s->timeout_ms * 1000000u)
                grace_ns = (uint64_t) s->timeout_ms * 1000000u;
        deadline.tv_sec += (time_t) (grace_ns / 1000000000u);
        deadline.tv_nsec += (long) (grace_ns % 1000000000u);
        if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
        }
        r = pthread_clockjoin_np(s->thread, NULL, CLOCK_MONOTONIC, &deadline);
        if (r == ETIMEDOUT) {
                /* Stalled or unplugged: wake the refill; the next one fails at once. */
                iio_buffer_cancel(s->buf);
                r = pthread_join(s->thread, NULL);
        }
        s->joined = true;
        return -r;
}

int iio_source_status(const struct iio_source *s, char *msg, size_t len) {
        int r = atomic_load_explicit(&s->status, memory_order_acquire);

        if (msg && len > 0) {
                if (r < 0)
                        snprintf(msg, len, "%s", s->msg);
                else
                        snprintf(msg, len, "%s: %s", s->desc, s->started && !s->joined ? "streaming" : "stopped");
        }
        return r;
}
