/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recording.h"
#include "replay-source.h"

static const char *const imu_names[6] = { "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z" };

struct replay_source {
        struct recording *rec;
        char path[512];
        double speed, rate;
        uint32_t block_samples;
        unsigned n_emg, n_channels;
        bool imu;
        struct block_queue *queue;
        pthread_t thread;
        bool running;
        atomic_bool stop;
        atomic_int status;      /* 0 playing, 1 ended, < 0 error */
        char message[600];      /* written by the thread before status is set */
};

int replay_source_open(const char *path, double speed, unsigned block_ms, struct replay_source **ret, char *err,
                       size_t errlen) {
        struct replay_source *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        int r = recording_open(path, &s->rec, err, errlen);
        if (r < 0) {
                free(s);
                return r;
        }
        snprintf(s->path, sizeof(s->path), "%s", path);
        s->speed = speed;
        s->rate = recording_rate_hz(s->rec);
        s->n_emg = recording_n_emg(s->rec);
        s->imu = recording_has_imu(s->rec);
        s->n_channels = s->n_emg + (s->imu ? 6 : 0);
        double samples = ceil(s->rate * (block_ms ? block_ms : 50) / 1000.0);
        s->block_samples = (uint32_t) fmin(fmax(samples, 1.0), SAMPLE_BLOCK_MAX_SAMPLES);
        if (s->n_channels > SAMPLE_BLOCK_MAX_CHANNELS) {
                snprintf(err, errlen, "%s: %u channels, at most %d can be replayed", path, s->n_channels,
                         SAMPLE_BLOCK_MAX_CHANNELS);
                replay_source_free(s);
                return -E2BIG;
        }
        *ret = s;
        return 0;
}

struct replay_source *replay_source_free(struct replay_source *s) {
        if (!s)
                return NULL;
        replay_source_stop(s);
        recording_free(s->rec);
        free(s);
        return NULL;
}

double replay_source_rate(const struct replay_source *s) {
        return s->rate;
}

unsigned replay_source_n_channels(const struct replay_source *s) {
        return s->n_channels;
}

const char *replay_source_channel_name(const struct replay_source *s, unsigned i) {
        if (i < s->n_emg)
                return recording_emg_name(s->rec, i);
        return i < s->n_channels ? imu_names[i - s->n_emg] : NULL;
}

enum sample_role replay_source_channel_role(const struct replay_source *s, unsigned i) {
        return i < s->n_emg ? SAMPLE_ROLE_EMG : (enum sample_role) (SAMPLE_ROLE_ACC_X + (i - s->n_emg));
}

static void finish(struct replay_source *s, int status, const char *msg) {
        snprintf(s->message, sizeof(s->message), "%s", msg);
        atomic_store(&s->status, status);
        block_queue_notify(s->queue);
}

static void sleep_until(const struct timespec *start, double seconds) {
        struct timespec t = *start;
        double whole = floor(seconds);
        t.tv_sec += (time_t) whole;
        t.tv_nsec += (long) ((seconds - whole) * 1e9);
        if (t.tv_nsec >= 1000000000L) {
                t.tv_sec++;
                t.tv_nsec -= 1000000000L;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
                ;
}

static void *play(void *userdata) {
        struct replay_source *s = userdata;
        struct timespec start;
        uint64_t index = 0;
        char err[600];

        clock_gettime(CLOCK_MONOTONIC, &start);
        while (!atomic_load(&s->stop)) {
                struct sample_block *b;
                /* A file can wait: hold back rather than drop. */
                while (!(b = block_queue_reserve(s->queue))) {
                        if (atomic_load(&s->stop))
                                return NULL;
                        struct timespec ms = { 0, 1000000L };
                        nanosleep(&ms, NULL);
                }
                b->first_index = index;
                b->first_ns = -1;
                b->dropped = 0;
                b->n_channels = s->n_channels;
                uint32_t n = 0;
                int r = 1;
                for (; n < s->block_samples; n++) {
                        float *row = b->data + (size_t) n * s->n_channels;
                        r = recording_read_frame(s->rec, row, s->imu ? row + s->n_emg : NULL, NULL, err, sizeof(err));
                        if (r <= 0)
                                break;
                }
                b->n_samples = n;
                if (n > 0) {
                        if (s->speed > 0)
                                sleep_until(&start, (double) (index + n) / s->rate / s->speed);
                        struct timespec now;
                        clock_gettime(CLOCK_REALTIME, &now);
                        b->arrival_ns = (int64_t) now.tv_sec * 1000000000 + now.tv_nsec;
                        index += n;
                        block_queue_commit(s->queue);
                }
                if (r < 0) {
                        finish(s, -EBADMSG, err);
                        return NULL;
                }
                if (r == 0) {
                        char msg[600];
                        snprintf(msg, sizeof(msg), "%s: end of recording after %.3f s", s->path, index / s->rate);
                        finish(s, 1, msg);
                        return NULL;
                }
        }
        return NULL;
}

int replay_source_start(struct replay_source *s, struct block_queue *q) {
        if (s->running)
                return -EBUSY;
        s->queue = q;
        atomic_store(&s->stop, false);
        atomic_store(&s->status, 0);
        int r = pthread_create(&s->thread, NULL, play, s);
        if (r != 0)
                return -r;
        s->running = true;
        return 0;
}

int replay_source_stop(struct replay_source *s) {
        if (!s->running)
                return 0;
        atomic_store(&s->stop, true);
        pthread_join(s->thread, NULL);
        s->running = false;
        return 0;
}

int replay_source_status(const struct replay_source *s, char *msg, size_t len) {
        int st = atomic_load(&s->status);
        if (msg && len)
                snprintf(msg, len, "%s", st != 0 ? s->message : "playing");
        return st;
}
