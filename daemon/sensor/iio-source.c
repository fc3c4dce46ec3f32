/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Opening a libiio source: context, device, channels, scale and offset,
 * rate, buffer. Every failure message names the URI and device and says
 * what to change. The reader thread is in iio-reader.c.
 */

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iio-source-internal.h"

int iio_source_fail(char *err, size_t errlen, int r, const char *fmt, ...) {
        va_list ap;

        if (err && errlen > 0) {
                va_start(ap, fmt);
                vsnprintf(err, errlen, fmt, ap);
                va_end(ap);
        }
        return r < 0 ? r : -EINVAL;
}

const char *iio_source_errstr(int r, char *buf, size_t len) {
        /* Thread-safe and without iio_strerror()'s " (errno)" tail. */
        const char *d = strerrordesc_np(r < 0 ? -r : r);
        if (d)
                return d;
        snprintf(buf, len, "error %d", r < 0 ? -r : r);
        return buf;
}

/* Appends to a list in buf, keeping it terminated; stops quietly when full. */
void iio_source_append(char *buf, size_t len, const char *sep, const char *s) {
        size_t used = strlen(buf);
        if (used + 1 >= len)
                return;
        snprintf(buf + used, len - used, "%s%s", used > 0 ? sep : "", s);
}

static void list_devices(const struct iio_context *ctx, char *buf, size_t len) {
        buf[0] = '\0';
        for (unsigned i = 0; i < iio_context_get_devices_count(ctx); i++) {
                const struct iio_device *d = iio_context_get_device(ctx, i);
                const char *name = iio_device_get_name(d), *label = iio_device_get_label(d);
                char one[200];
                snprintf(one, sizeof(one), "%s%s%s (%s)", name ? name : "unnamed", label ? " label " : "",
                         label ? label : "", iio_device_get_id(d));
                iio_source_append(buf, len, ", ", one);
        }
        if (!buf[0])
                snprintf(buf, len, "none");
}

/* Name first, then label, then iio:deviceN; a name two devices share is an error. */
static int find_device(struct iio_source *s, const char *want, char *err, size_t errlen) {
        struct iio_context *ctx = s->ctx;
        unsigned n = iio_context_get_devices_count(ctx);
        char list[400];

        for (int pass = 0; pass < 3; pass++) {
                struct iio_device *found = NULL;
                unsigned hits = 0;
                list[0] = '\0';
                for (unsigned i = 0; i < n; i++) {
                        struct iio_device *d = iio_context_get_device(ctx, i);
                        const char *v = pass == 0 ? iio_device_get_name(d)
                                        : pass == 1 ? iio_device_get_label(d) : iio_device_get_id(d);
                        if (!v || strcmp(v, want) != 0)
                                continue;
                        found = found ? found : d;
                        hits++;
                        iio_source_append(list, sizeof(list), ", ", iio_device_get_id(d));
                }
                if (hits > 1)
                        return iio_source_fail(err, errlen, -ENOTUNIQ,
                                               "%s: %u devices are %s %s (%s); fix device=%s%s: use a label or "
                                               "iio:deviceN", s->desc, hits, pass == 0 ? "named" : "labelled", want,
                                               list, want, s->section);
                if (found) {
                        s->dev = found;
                        return 0;
                }
        }
        list_devices(ctx, list, sizeof(list));
        return iio_source_fail(err, errlen, -ENODEV, "%s: no such device (found: %s); fix device=%s%s", s->desc, list,
                               want, s->section);
}

/* A rate attribute: the device's sampling_frequency, else the channels' (some drivers have it per type). */
struct rate_attr {
        const struct iio_channel *ch; /* NULL: the device attribute */
};

static int rate_read(struct iio_source *s, struct rate_attr a, double *ret) {
        if (a.ch)
                return iio_channel_attr_read_double(a.ch, "sampling_frequency", ret);
        return iio_device_attr_read_double(s->dev, "sampling_frequency", ret);
}

static int rate_write(struct iio_source *s, struct rate_attr a, double v) {
        if (a.ch)
                return iio_channel_attr_write_double(a.ch, "sampling_frequency", v);
        return iio_device_attr_write_double(s->dev, "sampling_frequency", v);
}

static void rate_available(struct iio_source *s, struct rate_attr a, char *buf, size_t len) {
        ssize_t r = a.ch ? iio_channel_attr_read(a.ch, "sampling_frequency_available", buf, len)
                         : iio_device_attr_read(s->dev, "sampling_frequency_available", buf, len);
        if (r <= 0)
                snprintf(buf, len, "not listed by the driver");
        buf[strcspn(buf, "\n")] = '\0';
}

static int setup_rate(struct iio_source *s, double want, char *err, size_t errlen) {
        struct rate_attr attrs[SAMPLE_BLOCK_MAX_CHANNELS];
        unsigned n = 0;
        char eb[128], avail[200];
        int r;

        if (iio_device_find_attr(s->dev, "sampling_frequency"))
                attrs[n++] = (struct rate_attr) { NULL };
        else
                for (unsigned k = 0; k < s->layout.n; k++)
                        if (!s->layout.e[k].is_timestamp && iio_channel_find_attr(s->chan[k], "sampling_frequency"))
                                attrs[n++] = (struct rate_attr) { s->chan[k] };

        if (n == 0) {
                /* A fixed-rate device: only the config can tell. */
                if (!(want > 0))
                        return iio_source_fail(err, errlen, -ENOENT,
                                               "%s: the device has no sampling_frequency attribute; set "
                                               "sample_rate=%s to the rate it samples at", s->desc, s->section);
                s->rate = want;
                return 0;
        }
        s->rate = 0;
        for (unsigned i = 0; i < n; i++) {
                double cur = 0;
                const char *what = attrs[i].ch ? iio_channel_get_id(attrs[i].ch) : "device";
                r = rate_read(s, attrs[i], &cur);
                if (r < 0)
                        return iio_source_fail(err, errlen, r,
                                               "%s: cannot read sampling_frequency (%s): %s; check the driver", s->desc,
                                               what, iio_source_errstr(r, eb, sizeof(eb)));
                if (want > 0 && fabs(cur - want) > 1e-9 * want) {
                        r = rate_write(s, attrs[i], want);
                        if (r >= 0)
                                r = rate_read(s, attrs[i], &cur);
                        if (r < 0 || fabs(cur - want) > 0.01 * want) {
                                char why[160];
                                if (r < 0)
                                        snprintf(why, sizeof(why), "%s", iio_source_errstr(r, eb, sizeof(eb)));
                                else
                                        snprintf(why, sizeof(why), "it runs at %g Hz", cur);
                                rate_available(s, attrs[i], avail, sizeof(avail));
                                return iio_source_fail(err, errlen, r < 0 ? r : -EINVAL,
                                                       "%s: cannot set sampling_frequency (%s) to %g Hz: %s (it "
                                                       "offers: %s); fix sample_rate=%s", s->desc, what, want, why,
                                                       avail, s->section);
                        }
                }
                if (!isfinite(cur) || cur <= 0 || cur > 1e6)
                        return iio_source_fail(err, errlen, -EINVAL,
                                               "%s: sampling_frequency (%s) reads %g Hz; set sample_rate=%s", s->desc,
                                               what, cur, s->section);
                if (s->rate > 0 && fabs(cur - s->rate) > 1e-6 * s->rate)
                        return iio_source_fail(err, errlen, -EINVAL,
                                               "%s: its channels sample at different rates (%g and %g Hz); set "
                                               "sample_rate=%s so they agree", s->desc, s->rate, cur, s->section);
                s->rate = cur;
        }
        return 0;
}

static int create_buffer(struct iio_source *s, unsigned buffer_ms, char *err, size_t errlen) {
        char eb[128];
        double n = floor(s->rate * buffer_ms / 1000.0);

        s->buffer_samples = n < 1 ? 1 : n > 1e6 ? 1000000 : (size_t) n;
        s->buf = iio_device_create_buffer(s->dev, s->buffer_samples, false);
        if (s->buf)
                return 0;
        int r = -errno;
        if (r == -EBUSY)
                return iio_source_fail(err, errlen, r,
                                       "%s: the device is busy: another program (or another [sensor.*] section) "
                                       "streams from it; stop that one", s->desc);
        if (r == -ENOSYS)
                return iio_source_fail(err, errlen, r,
                                       "%s: this context cannot stream samples (an xml: context, or a device without "
                                       "a buffer); fix uri=%s", s->desc, s->section);
        return iio_source_fail(err, errlen, r,
                               "%s: cannot create a buffer of %zu samples: %s; check the device and buffer_ms=%s",
                               s->desc, s->buffer_samples, iio_source_errstr(r, eb, sizeof(eb)), s->section);
}

static int connect_context(struct iio_source *s, const char *uri, char *err, size_t errlen) {
        char eb[128], copy[1024];

        /* libiio 0.24 writes a NUL into the string at the port's colon
         * (network.c): give it a copy, so the caller's URI stays whole for
         * messages and for the next reconnect. */
        if (strlen(uri) >= sizeof(copy))
                return iio_source_fail(err, errlen, -EINVAL, "%.80s...: the URI is too long; fix uri=%s", uri,
                                       s->section);
        snprintf(copy, sizeof(copy), "%s", uri);
        s->local = strncmp(uri, "local:", 6) == 0;
        errno = 0;
        s->ctx = iio_create_context_from_uri(copy);
        if (s->ctx)
                return 0;
        int r = errno ? -errno : -EIO;
        if (strncmp(uri, "ip:", 3) == 0) {
                if (r == -ENXIO || r == -ENOENT)
                        return iio_source_fail(err, errlen, r,
                                               "%s: unknown host or bad port; fix uri=%s, as ip:HOST or ip:HOST:PORT",
                                               uri, s->section);
                return iio_source_fail(err, errlen, r,
                                       "%s: cannot reach iiod: %s; is iiod running there and the address right? fix "
                                       "uri=%s", uri, iio_source_errstr(r, eb, sizeof(eb)), s->section);
        }
        if (s->local)
                return iio_source_fail(err, errlen, r,
                                       "%s: no local IIO devices: %s; is the driver loaded (ls /sys/bus/iio/devices)?",
                                       uri, iio_source_errstr(r, eb, sizeof(eb)));
        return iio_source_fail(err, errlen, r,
                               "%s: cannot create an IIO context: %s; fix uri=%s, as local:, ip:HOST[:PORT] or "
                               "usb:...", uri, iio_source_errstr(r, eb, sizeof(eb)), s->section);
}

static int open_locked(struct iio_source *s, const struct iio_source_config *cfg, char *err, size_t errlen) {
        struct pick picks[SAMPLE_BLOCK_MAX_CHANNELS];
        unsigned buffer_ms = cfg->buffer_ms ? cfg->buffer_ms : IIO_SOURCE_DEFAULT_BUFFER_MS;
        int r;

        r = connect_context(s, cfg->uri, err, errlen);
        if (r < 0)
                return r;
        /* Before the buffer: the network backend gives the buffer's socket
         * the context's timeout when it opens it. A server that refuses the
         * TIMEOUT command leaves libiio's default (5 s), which is no reason
         * to fail. */
        s->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : IIO_SOURCE_DEFAULT_TIMEOUT_MS;
        if (s->timeout_ms < 4 * buffer_ms)
                s->timeout_ms = 4 * buffer_ms;
        (void) !iio_context_set_timeout(s->ctx, s->timeout_ms);

        r = find_device(s, cfg->device, err, errlen);
        if (r < 0)
                return r;
        if (!cfg->channels || !*cfg->channels || strcmp(cfg->channels, "auto") == 0)
                r = iio_source_pick_auto(s, picks, err, errlen);
        else
                r = iio_source_pick_list(s, cfg->channels, picks, err, errlen);
        if (r < 0)
                return r;
        r = iio_source_build_layout(s, picks, cfg->fallback_scale, err, errlen);
        if (r < 0)
                return r;
        r = setup_rate(s, cfg->sample_rate, err, errlen);
        if (r < 0)
                return r;
        return create_buffer(s, buffer_ms, err, errlen);
}

int iio_source_open(const struct iio_source_config *cfg, struct iio_source **ret, char *err, size_t errlen) {
        struct sigpipe_guard g;
        struct iio_source *s;

        if (!cfg || !ret || !cfg->uri || !*cfg->uri || !cfg->device || !*cfg->device)
                return iio_source_fail(err, errlen, -EINVAL, "a libiio sensor needs uri= and device=%s%s%s",
                                       cfg && cfg->name ? " in [sensor." : "", cfg && cfg->name ? cfg->name : "",
                                       cfg && cfg->name ? "]" : "");
        s = calloc(1, sizeof(*s));
        if (!s)
                return iio_source_fail(err, errlen, -ENOMEM, "%s: out of memory", cfg->uri);
        snprintf(s->desc, sizeof(s->desc), "%s device %s", cfg->uri, cfg->device);
        /* Messages end in "fix channels= in [sensor.NAME]" */
        if (cfg->name)
                snprintf(s->section, sizeof(s->section), " in [sensor.%.60s]", cfg->name);
        else
                snprintf(s->section, sizeof(s->section), " in the config");
        atomic_init(&s->stop_requested, false);
        atomic_init(&s->status, 0);
        s->last_ns = -1;

        sigpipe_guard_begin(&g);
        int r = open_locked(s, cfg, err, errlen);
        sigpipe_guard_end(&g);
        if (r < 0) {
                iio_source_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

struct iio_source *iio_source_free(struct iio_source *s) {
        struct sigpipe_guard g;

        if (!s)
                return NULL;
        iio_source_stop(s);
        /* Both may send a last command (CLOSE, EXIT) to a remote that is gone. */
        sigpipe_guard_begin(&g);
        if (s->buf)
                iio_buffer_destroy(s->buf);
        if (s->ctx)
                iio_context_destroy(s->ctx);
        sigpipe_guard_end(&g);
        free(s);
        return NULL;
}

double iio_source_rate(const struct iio_source *s) {
        return s->rate;
}

unsigned iio_source_n_channels(const struct iio_source *s) {
        return s->n_channels;
}

const char *iio_source_channel_name(const struct iio_source *s, unsigned i) {
        return i < s->n_channels ? s->names[i] : NULL;
}

const char *iio_source_channel_id(const struct iio_source *s, unsigned i) {
        for (unsigned k = 0; k < s->layout.n; k++)
                if (s->layout.e[k].column == (int) i)
                        return iio_channel_get_id(s->chan[k]);
        return NULL;
}

enum sample_role iio_source_channel_role(const struct iio_source *s, unsigned i) {
        return i < s->n_channels ? s->roles[i] : SAMPLE_ROLE_EMG;
}

bool iio_source_has_timestamp(const struct iio_source *s) {
        return s->has_timestamp;
}

size_t iio_source_buffer_samples(const struct iio_source *s) {
        return s->buffer_samples;
}

const char *iio_source_describe(const struct iio_source *s) {
        return s->desc;
}
