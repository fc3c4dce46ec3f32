/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "detector.h"
#include "event-json.h"
#include "frames.h"
#include "hotplug.h"
#include "journal.h"
#include "log.h"
#include "manager.h"
#include "sensor.h"

#define NOTICE_ROOM 64

/* One detector per sensor that carries EMG. */
struct monitor {
        struct sensor *sensor;
        struct detector *det;
        struct frame_aligner frames;
        unsigned n_emg;
        unsigned emg_map[DETECTOR_MAX_EMG];
        const char *names[DETECTOR_MAX_EMG];
        char name_buf[DETECTOR_MAX_EMG][64]; /* outlive the source, which may go first */
        bool own_imu;                   /* the IMU columns come in the same blocks */
        bool have_origin;
        int64_t origin_ns;              /* CLOCK_REALTIME of stream time 0 */
        unsigned imu_map[6];
        struct spasm_notice notices[NOTICE_ROOM];
};

struct manager {
        sd_event *event;
        struct manager_options opts;
        struct spasmd_config cfg;
        struct sensor *sensors[CONFIG_MAX_SENSORS];
        struct monitor *monitors[CONFIG_MAX_SENSORS];
        unsigned n_sensors;
        struct hotplug *hotplug;
        unsigned spasms, events;
};

static unsigned sensor_index(const struct manager *m, const struct sensor *s) {
        for (unsigned i = 0; i < m->n_sensors; i++)
                if (m->sensors[i] == s)
                        return i;
        return m->n_sensors;
}

static void update_status(struct manager *m) {
        unsigned streaming = 0;
        for (unsigned i = 0; i < m->n_sensors; i++)
                streaming += sensor_state(m->sensors[i]) == SENSOR_STREAMING;
        sd_notifyf(false, "STATUS=monitoring %u of %u sensors, %u spasms, %u events", streaming, m->n_sensors,
                   m->spasms, m->events);
}

static void handle_notice(struct manager *m, struct monitor *mon, const struct spasm_notice *n) {
        const struct spasm_event *e = &n->event;
        const char *name = sensor_name(mon->sensor);

        switch (n->kind) {
        case SPASM_NOTICE_ONSET:
                log_info("[sensor.%s] activity started at %.3f s (event %u)", name, e->onset_s, e->id);
                break;
        case SPASM_NOTICE_CLASSIFIED:
                log_info("[sensor.%s] event %u is a %s", name, e->id, spasm_class_to_string(e->class));
                break;
        case SPASM_NOTICE_ENDED:
                if (e->class == SPASM_CLASS_WITHDRAWN) {
                        log_info("[sensor.%s] event %u withdrawn: electrode noise, not muscle", name, e->id);
                        break;
                }
                m->events++;
                m->spasms += e->class == SPASM_CLASS_SPASM;
                journal_event(name, e, mon->origin_ns, mon->names, mon->n_emg);
                if (m->opts.events_json) {
                        event_json_write(stdout, "sensor", name, e, mon->names, mon->n_emg);
                        fflush(stdout);
                }
                update_status(m);
                break;
        }
}

static int64_t realtime_ns(void) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        return (int64_t) t.tv_sec * 1000000000 + t.tv_nsec;
}

/* From the sample that tipped the decision to the decision: since the device
 * stamped it (first_ns), and since the reader got it from the device. */
static void trace_latency(struct monitor *mon, const struct spasm_notice *n, const struct sample_block *b, uint32_t i) {
        if (n->kind == SPASM_NOTICE_ENDED)
                return;
        int64_t now = realtime_ns();
        printf("{\"latency\":\"%s\",\"sensor\":\"%s\",\"id\":%u,\"arrival_ms\":%.3f",
               n->kind == SPASM_NOTICE_ONSET ? "onset" : "class", sensor_name(mon->sensor), n->event.id,
               (double) (now - b->arrival_ns) / 1e6);
        if (b->first_ns >= 0)
                printf(",\"sample_ms\":%.3f",
                       (double) (now - b->first_ns - (int64_t) (i * 1e9 / mon->frames.emg_rate)) / 1e6);
        printf("}\n");
        fflush(stdout);
}

static void handle_notices(struct manager *m, struct monitor *mon, int n, const struct sample_block *b, uint32_t i) {
        for (int k = 0; k < n; k++) {
                if (m->opts.trace_latency && b)
                        trace_latency(mon, &mon->notices[k], b, i);
                handle_notice(m, mon, &mon->notices[k]);
        }
}

static struct monitor *monitor_free(struct monitor *mon) {
        if (!mon)
                return NULL;
        detector_free(mon->det);
        free(mon);
        return NULL;
}

static double imu_rate_elsewhere(const struct manager *m) {
        for (unsigned i = 0; i < m->n_sensors; i++)
                if (!m->monitors[i] && sensor_state(m->sensors[i]) == SENSOR_STREAMING &&
                    sensor_has_imu(m->sensors[i]))
                        return sensor_rate(m->sensors[i]);
        return 0.0;
}

static int monitor_new(struct manager *m, struct sensor *s, struct monitor **ret) {
        struct monitor *mon = calloc(1, sizeof(*mon));
        if (!mon)
                return -ENOMEM;
        mon->sensor = s;
        for (unsigned i = 0; i < sensor_n_channels(s); i++) {
                enum sample_role role = sensor_channel_role(s, i);
                if (role == SAMPLE_ROLE_EMG && mon->n_emg < DETECTOR_MAX_EMG) {
                        snprintf(mon->name_buf[mon->n_emg], sizeof(mon->name_buf[0]), "%s", sensor_channel_name(s, i));
                        mon->names[mon->n_emg] = mon->name_buf[mon->n_emg];
                        mon->emg_map[mon->n_emg++] = i;
                } else if (role >= SAMPLE_ROLE_ACC_X && role <= SAMPLE_ROLE_GYR_Z)
                        mon->imu_map[role - SAMPLE_ROLE_ACC_X] = i;
        }
        mon->own_imu = sensor_has_imu(s);
        double imu_rate = mon->own_imu ? 0.0 : imu_rate_elsewhere(m);

        struct detector_config dc = m->cfg.detector;
        dc.rate_hz = sensor_rate(s);
        dc.n_emg = mon->n_emg;
        /* An IMU configured anywhere counts: it may connect after this sensor. */
        dc.has_imu = mon->own_imu;
        for (unsigned i = 0; i < m->n_sensors; i++)
                dc.has_imu = dc.has_imu || m->cfg.sensors[i].role == SENSOR_ROLE_IMU;
        int r = detector_new(&dc, &mon->det);
        if (r < 0) {
                free(mon);
                return log_error_errno(r, "[sensor.%s]: the detector cannot run at %g Hz with %u EMG channels "
                                       "(it needs %g-%g Hz and 1-%d channels): %s", sensor_name(s), dc.rate_hz,
                                       dc.n_emg, DETECTOR_MIN_RATE_HZ, DETECTOR_MAX_RATE_HZ, DETECTOR_MAX_EMG,
                                       strerror(-r));
        }
        frame_aligner_init(&mon->frames, dc.rate_hz, mon->n_emg);
        frame_aligner_set_imu(&mon->frames, imu_rate);
        *ret = mon;
        return 0;
}

static void monitor_block(struct manager *m, struct monitor *mon, const struct sample_block *b) {
        float emg[DETECTOR_MAX_EMG], imu[6];
        int n;

        if (!mon->have_origin) {
                /* Stream time 0 on the wall clock: from the device's timestamps,
                 * else from when the first block arrived. */
                double rate = mon->frames.emg_rate;
                mon->origin_ns = b->first_ns >= 0
                        ? b->first_ns - (int64_t) (b->first_index * 1e9 / rate)
                        : b->arrival_ns - (int64_t) ((b->first_index + b->n_samples) * 1e9 / rate);
                mon->have_origin = true;
        }

        if (b->dropped > 0) {
                /* Samples were lost: the detector ends what was going on there
                 * and does not invent anything across the gap. */
                log_warning("[sensor.%s] %llu samples lost before sample %llu", sensor_name(mon->sensor),
                            (unsigned long long) b->dropped, (unsigned long long) b->first_index);
                n = detector_gap(mon->det, b->dropped, mon->notices, NOTICE_ROOM);
                if (n > 0)
                        handle_notices(m, mon, n, NULL, 0);
        }
        for (uint32_t i = 0; i < b->n_samples; i++) {
                bool have_imu;
                if (mon->own_imu) {
                        const float *row = b->data + (size_t) i * b->n_channels;
                        for (unsigned k = 0; k < mon->n_emg; k++)
                                emg[k] = row[mon->emg_map[k]];
                        for (unsigned k = 0; k < 6; k++)
                                imu[k] = row[mon->imu_map[k]];
                        have_imu = true;
                } else
                        have_imu = frame_aligner_frame(&mon->frames, b, i, mon->emg_map, emg, imu);
                n = detector_push(mon->det, emg, have_imu ? imu : NULL, mon->notices, NOTICE_ROOM);
                if (n > 0)
                        handle_notices(m, mon, n, b, i);
                else if (n < 0)
                        log_error_errno(n, "[sensor.%s] detector: %s", sensor_name(mon->sensor), strerror(-n));
        }
}

static void on_block(struct sensor *s, const struct sample_block *b, void *userdata) {
        struct manager *m = userdata;
        unsigned idx = sensor_index(m, s);

        if (idx < m->n_sensors && m->monitors[idx]) {
                monitor_block(m, m->monitors[idx], b);
                return;
        }
        /* An IMU-only sensor feeds every EMG sensor's frames. */
        unsigned map[6] = { 0 };
        for (unsigned i = 0; i < sensor_n_channels(s); i++) {
                enum sample_role role = sensor_channel_role(s, i);
                if (role >= SAMPLE_ROLE_ACC_X && role <= SAMPLE_ROLE_GYR_Z)
                        map[role - SAMPLE_ROLE_ACC_X] = i;
        }
        for (unsigned i = 0; i < m->n_sensors; i++)
                if (m->monitors[i] && !m->monitors[i]->own_imu)
                        frame_aligner_push_imu(&m->monitors[i]->frames, b, map);
}

static void finish_monitor(struct manager *m, unsigned idx) {
        struct monitor *mon = m->monitors[idx];
        if (!mon)
                return;
        int n = detector_flush(mon->det, mon->notices, NOTICE_ROOM);
        if (n > 0)
                handle_notices(m, mon, n, NULL, 0);
        m->monitors[idx] = monitor_free(mon);
}

static void on_state(struct sensor *s, void *userdata) {
        struct manager *m = userdata;
        unsigned idx = sensor_index(m, s);

        if (idx >= m->n_sensors)
                return;
        journal_sensor(sensor_name(s), sensor_state_to_string(sensor_state(s)), sensor_status(s));
        switch (sensor_state(s)) {
        case SENSOR_STREAMING:
                if (sensor_n_emg(s) > 0) {
                        if (monitor_new(m, s, &m->monitors[idx]) < 0)
                                sensor_disconnect(s, -EINVAL, "the detector cannot take this sensor's data");
                } else if (sensor_has_imu(s)) {
                        for (unsigned i = 0; i < m->n_sensors; i++)
                                if (m->monitors[i] && !m->monitors[i]->own_imu)
                                        frame_aligner_set_imu(&m->monitors[i]->frames, sensor_rate(s));
                } else
                        sensor_disconnect(s, -ENODATA, "no EMG and no complete IMU channels; check channels=");
                break;
        case SENSOR_DISCONNECTED:
        case SENSOR_ENDED:
                finish_monitor(m, idx);
                break;
        }
        update_status(m);

        /* A demo or a test replays files: when all of them are done, so are we. */
        bool all_ended = m->n_sensors > 0;
        for (unsigned i = 0; i < m->n_sensors; i++)
                all_ended = all_ended && sensor_state(m->sensors[i]) == SENSOR_ENDED;
        if (all_ended) {
                log_info("every recording has been replayed; exiting");
                sd_event_exit(m->event, 0);
        }
}

static const struct sensor_callbacks sensor_callbacks = { .block = on_block, .state = on_state };

/* Append a sensor (not connected yet); every way a sensor joins goes here. */
static int add_sensor(struct manager *m, const struct sensor_config *c) {
        if (m->n_sensors == CONFIG_MAX_SENSORS)
                return log_warning_errno(ENOSPC, "[sensor.%s] ignored: already %d sensors", c->name,
                                         CONFIG_MAX_SENSORS);
        int r = sensor_new(m->event, c, &sensor_callbacks, m, &m->sensors[m->n_sensors]);
        if (r < 0)
                return log_error_errno(r, "[sensor.%s]: %s", c->name, strerror(-r));
        m->n_sensors++;
        return 0;
}

static bool matches(const struct sensor_config *c, const struct hotplug_device *dev) {
        if (strncmp(c->uri, "local:", 6) != 0)
                return false;
        return strcmp(c->device, dev->sysname) == 0 || (dev->name && strcmp(c->device, dev->name) == 0) ||
               (dev->label && strcmp(c->device, dev->label) == 0);
}

static void add_tagged_sensor(struct manager *m, const struct hotplug_device *dev) {
        struct sensor_config c = { .buffer_ms = 50, .speed = 1.0 };

        /* "iio:device3" is no D-Bus path element: "iio_device3" is. */
        snprintf(c.name, sizeof(c.name), "%s", dev->sysname);
        for (char *q = c.name; *q; q++)
                if (*q == ':')
                        *q = '_';
        snprintf(c.uri, sizeof(c.uri), "local:");
        snprintf(c.device, sizeof(c.device), "%s", dev->sysname);
        snprintf(c.channels, sizeof(c.channels), "auto");
        snprintf(c.file, sizeof(c.file), "udev");
        c.role = strcmp(dev->role, "imu") == 0 ? SENSOR_ROLE_IMU : SENSOR_ROLE_EMG;
        if (add_sensor(m, &c) < 0)
                return;
        log_info("udev-tagged IIO device %s (%s) joins as [sensor.%s], role %s", dev->sysname,
                 dev->name ? dev->name : "?", c.name, dev->role);
        sensor_connect(m->sensors[m->n_sensors - 1]);
}

static void on_hotplug(const struct hotplug_device *dev, bool added, void *userdata) {
        struct manager *m = userdata;
        bool known = false;

        for (unsigned i = 0; i < m->n_sensors; i++) {
                struct sensor *s = m->sensors[i];
                if (!matches(sensor_config(s), dev))
                        continue;
                known = true;
                if (added && sensor_state(s) == SENSOR_DISCONNECTED)
                        sensor_connect(s); /* no need to wait for the backoff */
                else if (!added && sensor_state(s) == SENSOR_STREAMING)
                        sensor_disconnect(s, -ENODEV, "the device was unplugged");
        }
        /* With nothing configured, the devices our udev rules tagged are the sensors. */
        if (added && !known && m->cfg.n_sensors == 0 && dev->role)
                add_tagged_sensor(m, dev);
}

static bool same_sensor(const struct sensor_config *a, const struct sensor_config *b) {
        return strcmp(a->name, b->name) == 0 && strcmp(a->uri, b->uri) == 0 && strcmp(a->device, b->device) == 0 &&
               strcmp(a->channels, b->channels) == 0 && a->sample_rate == b->sample_rate &&
               a->buffer_ms == b->buffer_ms && a->speed == b->speed && a->role == b->role;
}

static void drop_sensor(struct manager *m, unsigned idx) {
        finish_monitor(m, idx);
        sensor_free(m->sensors[idx]);
        memmove(&m->sensors[idx], &m->sensors[idx + 1], (m->n_sensors - idx - 1) * sizeof(m->sensors[0]));
        memmove(&m->monitors[idx], &m->monitors[idx + 1], (m->n_sensors - idx - 1) * sizeof(m->monitors[0]));
        m->n_sensors--;
        m->sensors[m->n_sensors] = NULL;
        m->monitors[m->n_sensors] = NULL;
}

/* SIGHUP: read the configuration again. A bad one changes nothing; a good
 * one restarts the sensors whose sections changed, and the detector
 * settings apply to each sensor from its next connection. */
static int on_sighup(sd_event_source *es, const struct signalfd_siginfo *si, void *userdata) {
        struct manager *m = userdata;
        char err[1024];
        (void) es;
        (void) si;

        struct spasmd_config *cfg = calloc(1, sizeof(*cfg));
        if (!cfg)
                return 0;
        int r = config_load(m->opts.config_path, NULL, !m->opts.config_given, cfg, err, sizeof(err));
        if (r < 0) {
                log_error("reload failed, keeping the running configuration: %s", err);
                free(cfg);
                return 0;
        }
        for (unsigned i = m->n_sensors; i-- > 0;) {
                bool kept = false;
                for (unsigned j = 0; j < cfg->n_sensors; j++)
                        kept = kept || same_sensor(sensor_config(m->sensors[i]), &cfg->sensors[j]);
                if (!kept && strcmp(sensor_config(m->sensors[i])->file, "udev") != 0) {
                        log_info("reload: [sensor.%s] removed or changed", sensor_name(m->sensors[i]));
                        drop_sensor(m, i);
                }
        }
        for (unsigned j = 0; j < cfg->n_sensors; j++) {
                bool running = false;
                for (unsigned i = 0; i < m->n_sensors; i++)
                        running = running || same_sensor(sensor_config(m->sensors[i]), &cfg->sensors[j]);
                if (running || add_sensor(m, &cfg->sensors[j]) < 0)
                        continue;
                log_info("reload: [sensor.%s] added", cfg->sensors[j].name);
                sensor_connect(m->sensors[m->n_sensors - 1]);
        }
        m->cfg = *cfg;
        free(cfg);
        log_info("configuration reloaded from %s", m->opts.config_path);
        update_status(m);
        return 0;
}

static void manager_free(struct manager *m) {
        for (unsigned i = 0; i < m->n_sensors; i++) {
                finish_monitor(m, i);
                sensor_free(m->sensors[i]);
        }
        hotplug_free(m->hotplug);
        sd_event_unref(m->event);
        free(m);
}

int manager_run(const struct manager_options *opts, const struct spasmd_config *cfg) {
        struct manager *m = calloc(1, sizeof(*m));
        sigset_t mask;
        int r;

        if (!m)
                return log_error_errno(ENOMEM, "out of memory");
        m->opts = *opts;
        m->cfg = *cfg;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&m->event);
        if (r < 0)
                goto fail;
        r = sd_event_set_signal_exit(m->event, true);
        if (r < 0)
                goto fail;
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                goto fail;
        r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
        if (r < 0)
                goto fail;

        for (unsigned i = 0; i < cfg->n_sensors; i++) {
                r = add_sensor(m, &cfg->sensors[i]);
                if (r < 0)
                        goto fail;
        }
        r = hotplug_new(m->event, on_hotplug, m, &m->hotplug);
        if (r < 0)
                log_warning_errno(r, "no udev monitor (%s): unplugged sensors are retried on a timer only",
                                  strerror(-r));
        if (m->n_sensors == 0)
                log_notice("no sensor configured: waiting for udev-tagged IIO devices");
        for (unsigned i = 0; i < m->n_sensors; i++)
                sensor_connect(m->sensors[i]);
        if (m->hotplug && m->cfg.n_sensors == 0)
                hotplug_enumerate(m->hotplug);

        sd_notify(false, "READY=1");
        update_status(m);
        r = sd_event_loop(m->event);
        sd_notify(false, "STOPPING=1");
        manager_free(m);
        return r < 0 ? log_error_errno(r, "event loop failed: %s", strerror(-r)) : 0;
fail:
        log_error_errno(r, "cannot start: %s", strerror(-r));
        manager_free(m);
        return r;
}
