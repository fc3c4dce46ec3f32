/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plot-internal.h"

/* --- output file ------------------------------------------------------------------ */

static int open_output(struct plot *p, const char *path) {
        const char *slash = strrchr(path, '/');
        struct stat st;
        mode_t mask;
        int fd, r;

        /* "" would pass for the current directory until the final rename. */
        if (!*path)
                return -ENOENT;
        p->path = strdup(path);
        if (!p->path)
                return -ENOMEM;
        if (lstat(path, &st) == 0) {
                if (S_ISDIR(st.st_mode))
                        return -EISDIR;
                if (!S_ISREG(st.st_mode)) {
                        /* A rename would replace /dev/stdout or the symlink itself, not write to it. */
                        p->out = fopen(path, "we");
                        return p->out ? 0 : -errno;
                }
        }
        if (asprintf(&p->tmp, "%.*s.%s.XXXXXX", slash ? (int) (slash - path + 1) : 0, path,
                     slash ? slash + 1 : path) < 0) {
                p->tmp = NULL;
                return -ENOMEM;
        }
        fd = mkostemp(p->tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                free(p->tmp);
                p->tmp = NULL;
                return r;
        }
        /* mkstemp() makes the file 0600; the picture should be as readable as anything else the user writes. */
        mask = umask(0);
        umask(mask);
        (void) fchmod(fd, 0666 & ~mask);
        p->out = fdopen(fd, "we");
        if (!p->out) {
                r = -errno;
                close(fd);
                return r;
        }
        return 0;
}

struct plot *plot_free(struct plot *p) {
        if (!p)
                return NULL;
        if (p->out)
                fclose(p->out);
        if (p->tmp && !p->committed)
                unlink(p->tmp);
        free(p->tmp);
        free(p->path);
        free(p->end_frame);
        free(p->level);
        free(p->floor);
        free(p->motion);
        free(p->events);
        free(p);
        return NULL;
}

int plot_new(const struct recording *rec, const char *name, const char *path, struct plot **ret) {
        struct plot *p;
        int r;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->rec = rec;
        p->name = name;
        p->n_emg = recording_n_emg(rec);
        p->has_imu = recording_has_imu(rec);
        p->rate_hz = recording_rate_hz(rec);
        p->step = (size_t) fmax(1.0, round(p->rate_hz * SAMPLE_S));
        p->width = 1;
        p->end_frame = calloc(PLOT_BUCKETS, sizeof *p->end_frame);
        p->level = calloc((size_t) PLOT_BUCKETS * p->n_emg, sizeof *p->level);
        p->floor = calloc((size_t) PLOT_BUCKETS * p->n_emg, sizeof *p->floor);
        p->motion = calloc(PLOT_BUCKETS, sizeof *p->motion);
        r = p->end_frame && p->level && p->floor && p->motion ? open_output(p, path) : -ENOMEM;
        if (r < 0) {
                plot_free(p);
                return r;
        }
        *ret = p;
        return 0;
}

/* --- collecting ------------------------------------------------------------------- */

static void bucket_add(struct bucket *b, float v) {
        if (!isfinite(v))
                return;
        b->lo = fminf(b->lo, v);
        b->hi = fmaxf(b->hi, v);
        b->sum += v;
        b->n++;
}

static struct bucket bucket_merge(const struct bucket *a, const struct bucket *b) {
        return (struct bucket) {
                .lo = fminf(a->lo, b->lo),
                .hi = fmaxf(a->hi, b->hi),
                .sum = a->sum + b->sum,
                .n = a->n + b->n,
        };
}

/* All buckets are full: merge them in pairs, so that each now spans twice the time. */
static void halve(struct plot *p) {
        unsigned n = p->n_emg;

        /* Bucket i is written after 2i and 2i + 1 are read, and no later i reads it. */
        for (size_t i = 0; i < PLOT_BUCKETS / 2; i++) {
                for (unsigned c = 0; c < n; c++) {
                        p->level[i * n + c] = bucket_merge(&p->level[2 * i * n + c], &p->level[(2 * i + 1) * n + c]);
                        p->floor[i * n + c] = bucket_merge(&p->floor[2 * i * n + c], &p->floor[(2 * i + 1) * n + c]);
                }
                p->motion[i] = bucket_merge(&p->motion[2 * i], &p->motion[2 * i + 1]);
                p->end_frame[i] = p->end_frame[2 * i + 1];
        }
        p->n_buckets = PLOT_BUCKETS / 2;
        p->width *= 2;
}

static void add_sample(struct plot *p, const struct detector *d) {
        const struct bucket empty = { .lo = INFINITY, .hi = -INFINITY };
        size_t b;

        if (p->n_buckets == 0 || p->fill == p->width) {
                if (p->n_buckets == PLOT_BUCKETS)
                        halve(p);
                b = p->n_buckets++;
                for (unsigned c = 0; c < p->n_emg; c++)
                        p->level[b * p->n_emg + c] = p->floor[b * p->n_emg + c] = empty;
                p->motion[b] = empty;
                p->fill = 0;
        }
        b = p->n_buckets - 1;
        /* Activity reads 0 until the floors are learnt; a flat line may read 0 for ever, and then nothing is shaded. */
        if (!p->warm && detector_activity(d) > 0.0f) {
                p->warm = true;
                p->warm_frame = p->frames;
        }
        for (unsigned c = 0; c < p->n_emg; c++) {
                struct detector_channel_status st;

                if (detector_channel_status(d, c, &st) < 0)
                        continue;
                bucket_add(&p->level[b * p->n_emg + c], st.level_uv);
                /* A floor of 0 is one not learnt yet, not a quiet muscle. */
                if (st.noise_floor_uv > 0.0f)
                        bucket_add(&p->floor[b * p->n_emg + c], st.noise_floor_uv);
        }
        if (p->motion_n > 0)
                bucket_add(&p->motion[b], (float) (p->motion_sum / (double) p->motion_n));
        p->motion_sum = 0;
        p->motion_n = 0;
        p->fill++;
        p->end_frame[b] = p->frames;
}

size_t plot_due(const struct plot *p) {
        return p->step - p->in_step;
}

void plot_take(struct plot *p, const struct detector *d, const float *imu, size_t n) {
        for (size_t i = 0; imu && i < n; i++) {
                const float *g = imu + i * RECORDING_IMU_VALUES + 3;
                double w = sqrt((double) g[0] * g[0] + (double) g[1] * g[1] + (double) g[2] * g[2]);

                if (isfinite(w)) {
                        p->motion_sum += w * (180.0 / M_PI);
                        p->motion_n++;
                }
        }
        p->frames += n;
        p->in_step += n;
        /* A last sample shorter than SAMPLE_S is left out: it would show nothing new. */
        if (p->in_step >= p->step) {
                p->in_step = 0;
                add_sample(p, d);
        }
}

int plot_add_event(struct plot *p, const struct spasm_event *e) {
        if (p->n_events == p->cap_events) {
                size_t cap = p->cap_events ? 2 * p->cap_events : 16;
                struct spasm_event *ev = realloc(p->events, cap * sizeof *ev);

                if (!ev)
                        return -ENOMEM;
                p->events = ev;
                p->cap_events = cap;
        }
        p->events[p->n_events++] = *e;
        return 0;
}

int plot_commit(struct plot *p) {
        int r = 0;

        errno = 0;
        plot_draw(p->out, p);
        if (fflush(p->out) != 0 || ferror(p->out))
                r = errno ? -errno : -EIO;
        if (fclose(p->out) != 0 && r == 0)
                r = -errno;
        p->out = NULL;
        if (r < 0)
                return r;
        if (p->tmp && rename(p->tmp, p->path) < 0)
                return -errno;
        p->committed = true;
        return 0;
}
