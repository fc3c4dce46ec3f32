/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "bus.h"
#include "calibration.h"
#include "detector.h"
#include "events.h"
#include "hotplug.h"
#include "journal.h"
#include "log.h"
#include "manager-internal.h"
#include "manager.h"
#include "monitor.h"
#include "sensor.h"

#define SENSOR_PUBLISH_NS 1000000000LL /* sensor quality on D-Bus: at most once a second */

static unsigned sensor_index(const struct manager *m, const struct sensor *s) {
        for (unsigned i = 0; i < m->n_sensors; i++)
                if (m->sensors[i] == s)
                        return i;
        return m->n_sensors;
}

static int64_t clock_ns(clockid_t id) {
        struct timespec t;
        clock_gettime(id, &t);
        return (int64_t) t.tv_sec * 1000000000 + t.tv_nsec;
}

/* When the loop woke up: read once a wake-up, where a clock read would be once a block. */
static int64_t loop_now_ns(const struct manager *m) {
        uint64_t usec = 0;
        if (sd_event_now(m->event, CLOCK_MONOTONIC, &usec) < 0)
                return clock_ns(CLOCK_MONOTONIC);
        return (int64_t) usec * 1000;
}

unsigned n_monitors(const struct manager *m) {
        unsigned n = 0;
        for (unsigned i = 0; i < m->n_sensors; i++)
                n += m->monitors[i] != NULL;
        return n;
}

void update_status(struct manager *m) {
        unsigned streaming = 0, spasms = events_spasms_today(m->events);
        for (unsigned i = 0; i < m->n_sensors; i++)
                streaming += sensor_state(m->sensors[i]) == SENSOR_STREAMING;
        if (!m->monitoring)
                sd_notifyf(false, "STATUS=paused: %u of %u sensors connected, %u spasm%s today", streaming,
                           m->n_sensors, spasms, spasms == 1 ? "" : "s");
        else if (m->n_sensors == 0)
                sd_notifyf(false, "STATUS=waiting for a sensor, %u spasm%s today", spasms, spasms == 1 ? "" : "s");
        else
                sd_notifyf(false, "STATUS=monitoring %u of %u sensors, %u spasm%s today", streaming, m->n_sensors,
                           spasms, spasms == 1 ? "" : "s");
        events_set_idle(m->events, !m->monitoring || n_monitors(m) == 0);
}

void update_calibrated(struct manager *m) {
        /* Every streaming EMG sensor has a maximum contraction, paused or not. */
        bool all = false;
        for (unsigned i = 0; i < m->n_sensors; i++) {
                const struct sensor *s = m->sensors[i];
                if (sensor_state(s) != SENSOR_STREAMING || sensor_n_emg(s) == 0)
                        continue;
                bool found = false;
                for (unsigned k = 0; k < m->n_mvc; k++)
                        found = found || strcmp(m->mvc[k].sensor, sensor_name(s)) == 0;
                if (!found) {
                        all = false;
                        break;
                }
                all = true;
        }
        bus_set_calibrated(m->bus, all);
}

/* --- sensors on D-Bus --------------------------------------------------------------- */

static const char *sensor_role(const struct sensor *s) {
        const struct sensor_config *c = sensor_config(s);
        if (c->role != SENSOR_ROLE_AUTO)
                return sensor_role_to_string(c->role);
        if (sensor_state(s) != SENSOR_STREAMING)
                return "auto";
        return sensor_n_emg(s) > 0 ? "emg" : sensor_has_imu(s) ? "imu" : "auto";
}

static void publish_sensor(struct manager *m, unsigned idx, bool added) {
        struct sensor *s = m->sensors[idx];
        struct monitor *mon = m->monitors[idx];
        const char *channels[DETECTOR_MAX_EMG + 16];
        bool streaming = sensor_state(s) == SENSOR_STREAMING;
        struct bus_sensor_info info = {
                .uri = sensor_config(s)->uri,
                .role = sensor_role(s),
                .channels = channels,
                .sample_rate = streaming ? sensor_rate(s) : 0.0,
                .connected = streaming,
                .status = sensor_status(s),
                .dropped = sensor_dropped(s),
                .contact = "unknown",
        };

        for (unsigned i = 0; streaming && i < sensor_n_channels(s) && info.n_channels < 32; i++)
                channels[info.n_channels++] = sensor_channel_name(s, i);
        if (mon) {
                struct detector_channel_status st;
                enum spasm_contact worst = SPASM_CONTACT_GOOD;
                bool learnt = true;
                for (unsigned c = 0; detector_channel_status(monitor_detector(mon), c, &st) == 0; c++) {
                        learnt = learnt && st.noise_floor_uv > 0.0f;
                        if (st.noise_floor_uv > info.noise_floor_uv)
                                info.noise_floor_uv = st.noise_floor_uv;
                        info.mains_hz = st.mains_hz;
                        if (st.contact > worst)
                                worst = st.contact;
                }
                /* No floor yet: the detector is still learning it. */
                info.contact = learnt ? spasm_contact_to_string(worst) : "unknown";
        }
        if (added)
                bus_sensor_add(m->bus, sensor_name(s), &info);
        else
                bus_sensor_update(m->bus, sensor_name(s), &info);
        m->published_ns[idx] = loop_now_ns(m);
}

/* --- detectors ---------------------------------------------------------------------- */

/* From the sample that tipped the decision to the decision: since the device
 * stamped it (first_ns), and since the reader got it from the device. */
static void trace_latency(struct monitor *mon, const struct spasm_notice *n, const struct sample_block *b,
                          uint32_t i) {
        if (n->kind == SPASM_NOTICE_ENDED)
                return;
        int64_t now = clock_ns(CLOCK_REALTIME);
        printf("{\"latency\":\"%s\",\"sensor\":\"%s\",\"id\":%u,\"arrival_ms\":%.3f",
               n->kind == SPASM_NOTICE_ONSET ? "onset" : "class", sensor_name(monitor_sensor(mon)), n->event.id,
               (double) (now - b->arrival_ns) / 1e6);
        if (b->first_ns >= 0)
                printf(",\"sample_ms\":%.3f",
                       (double) (now - b->first_ns - (int64_t) (i * 1e9 / monitor_rate(mon))) / 1e6);
        printf("}\n");
        fflush(stdout);
}

static void on_notice(struct monitor *mon, const struct spasm_notice *n, const struct sample_block *b, uint32_t i,
                      void *userdata) {
        struct manager *m = userdata;

        if (m->opts.trace_latency && b)
                trace_latency(mon, n, b, i);
        events_notice(m->events, sensor_name(monitor_sensor(mon)), n, monitor_origin_ns(mon),
                      monitor_channel_names(mon), monitor_n_emg(mon));
        if (n->kind == SPASM_NOTICE_ENDED)
                update_status(m);
}

static double imu_rate_elsewhere(const struct manager *m) {
        for (unsigned i = 0; i < m->n_sensors; i++)
                if (!m->monitors[i] && sensor_state(m->sensors[i]) == SENSOR_STREAMING &&
                    sensor_has_imu(m->sensors[i]) && sensor_n_emg(m->sensors[i]) == 0)
                        return sensor_rate(m->sensors[i]);
        return 0.0;
}

void start_monitor(struct manager *m, unsigned idx) {
        struct sensor *s = m->sensors[idx];
        bool imu_configured = false;

        if (m->monitors[idx] || !m->monitoring || sensor_state(s) != SENSOR_STREAMING || sensor_n_emg(s) == 0)
                return;
        for (unsigned i = 0; i < m->n_sensors; i++)
                imu_configured = imu_configured || sensor_config(m->sensors[i])->role == SENSOR_ROLE_IMU;
        if (monitor_new(s, &m->cfg.detector, imu_configured, imu_rate_elsewhere(m), on_notice, m,
                        &m->monitors[idx]) < 0) {
                sensor_disconnect(s, -EINVAL, "the detector cannot take this sensor's data");
                return;
        }
        for (unsigned k = 0; k < m->n_mvc; k++)
                if (strcmp(m->mvc[k].sensor, sensor_name(s)) == 0)
                        for (unsigned c = 0; c < m->mvc[k].n; c++)
                                detector_set_mvc(monitor_detector(m->monitors[idx]), c, m->mvc[k].mvc_uv[c]);
}

void finish_monitor(struct manager *m, unsigned idx) {
        struct monitor *mon = m->monitors[idx];
        /* Detach first: the flush's notices may look at the others. */
        m->monitors[idx] = NULL;
        monitor_free(mon);
}

static void on_block(struct sensor *s, const struct sample_block *b, void *userdata) {
        struct manager *m = userdata;
        unsigned idx = sensor_index(m, s);

        if (idx >= m->n_sensors)
                return;
        if (m->monitors[idx]) {
                monitor_block(m->monitors[idx], b);
                /* The block's notices may have ended this monitor (never today, but cheap to be sure). */
                if (!m->monitors[idx])
                        return;
                calibration_sample(&m->calibration, idx, sensor_name(s), monitor_detector(m->monitors[idx]));
                if (loop_now_ns(m) - m->published_ns[idx] >= SENSOR_PUBLISH_NS)
                        publish_sensor(m, idx, false);
                return;
        }
        if (sensor_n_emg(s) > 0)
                return; /* monitoring is paused */
        /* An IMU-only sensor feeds every EMG sensor's frames. */
        unsigned map[6] = { 0 };
        for (unsigned i = 0; i < sensor_n_channels(s); i++) {
                enum sample_role role = sensor_channel_role(s, i);
                if (role >= SAMPLE_ROLE_ACC_X && role <= SAMPLE_ROLE_GYR_Z)
                        map[role - SAMPLE_ROLE_ACC_X] = i;
        }
        for (unsigned i = 0; i < m->n_sensors; i++)
                if (m->monitors[i])
                        monitor_push_imu(m->monitors[i], b, map);
}

static void on_state(struct sensor *s, void *userdata) {
        struct manager *m = userdata;
        unsigned idx = sensor_index(m, s);

        if (idx >= m->n_sensors)
                return;
        journal_sensor(sensor_name(s), sensor_state_to_string(sensor_state(s)), sensor_status(s));
        switch (sensor_state(s)) {
        case SENSOR_STREAMING:
                if (sensor_n_emg(s) > 0)
                        start_monitor(m, idx);
                else if (sensor_has_imu(s)) {
                        for (unsigned i = 0; i < m->n_sensors; i++)
                                if (m->monitors[i])
                                        monitor_set_imu_rate(m->monitors[i], sensor_rate(s));
                } else
                        sensor_disconnect(s, -ENODATA, "no EMG and no complete IMU channels; check channels=");
                break;
        case SENSOR_DISCONNECTED:
        case SENSOR_ENDED:
                finish_monitor(m, idx);
                break;
        }
        publish_sensor(m, idx, false);
        update_calibrated(m);
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
        m->monitors[m->n_sensors] = NULL;
        publish_sensor(m, m->n_sensors, true);
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

void cancel_calibration_with(struct manager *m, int error, const char *why) {
        if (!m->calibration.running)
                return;
        m->calibration.running = false;
        m->calibration_timer = sd_event_source_disable_unref(m->calibration_timer);
        bus_calibration_failed(m->bus, error, why);
}

void cancel_calibration(struct manager *m, const char *why) {
        cancel_calibration_with(m, -ENODEV, why);
}

static void drop_sensor(struct manager *m, unsigned idx) {
        cancel_calibration(m, "a sensor was removed during the calibration; try again");
        finish_monitor(m, idx);
        bus_sensor_remove(m->bus, sensor_name(m->sensors[idx]));
        sensor_free(m->sensors[idx]);
        size_t tail = m->n_sensors - idx - 1;
        memmove(&m->sensors[idx], &m->sensors[idx + 1], tail * sizeof(m->sensors[0]));
        memmove(&m->monitors[idx], &m->monitors[idx + 1], tail * sizeof(m->monitors[0]));
        memmove(&m->published_ns[idx], &m->published_ns[idx + 1], tail * sizeof(m->published_ns[0]));
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
        events_reconfigure(m->events, &m->cfg);
        log_info("configuration reloaded from %s", m->opts.config_path);
        update_status(m);
        return 0;
}

/* --- life cycle --------------------------------------------------------------------- */

/* Leaving the loop (a signal, the replays' end): end the running
 * activations and answer a pending Calibrate while the bus is still up; it
 * flushes and closes in its own exit handler, which runs after this one. */
static int on_loop_exit(sd_event_source *s, void *userdata) {
        struct manager *m = userdata;
        (void) s;

        cancel_calibration(m, "spasmd is stopping");
        for (unsigned i = 0; i < m->n_sensors; i++)
                finish_monitor(m, i);
        update_status(m);
        return 0;
}

static void manager_free(struct manager *m) {
        cancel_calibration(m, "spasmd is stopping");
        /* Detectors first: their last events go to the history and the bus. */
        for (unsigned i = 0; i < m->n_sensors; i++)
                finish_monitor(m, i);
        for (unsigned i = 0; i < m->n_sensors; i++)
                sensor_free(m->sensors[i]);
        hotplug_free(m->hotplug);
        events_free(m->events);
        bus_free(m->bus);
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
        m->monitoring = cfg->daemon.monitoring;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        /* A loop of our own, not sd_event_default(): on the default loop, sd_event_prepare() checks
         * with a gettid() system call that it runs in its thread, on every one of the hundreds of
         * wake-ups a second that the sensors' blocks cause. */
        r = sd_event_new(&m->event);
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
        sd_event_source *exit_source;
        r = sd_event_add_exit(m->event, &exit_source, on_loop_exit, m);
        if (r >= 0)
                r = sd_event_source_set_priority(exit_source, SD_EVENT_PRIORITY_IMPORTANT);
        if (r < 0)
                goto fail;
        sd_event_source_set_floating(exit_source, true);
        sd_event_source_unref(exit_source);

        if (strcmp(opts->bus_address, "none") != 0) {
                r = bus_new(m->event, opts->bus_address, &manager_bus_ops, m, &m->bus);
                if (r < 0)
                        goto fail_logged;
                bus_set_monitoring(m->bus, m->monitoring);
        }
        r = events_new(m->event, &m->cfg, m->bus, opts->events_json, &m->events);
        if (r < 0)
                goto fail;

        for (unsigned i = 0; i < cfg->n_sensors; i++) {
                r = add_sensor(m, &cfg->sensors[i]);
                if (r < 0)
                        goto fail_logged;
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
        if (m->bus) {
                /* Last: a client that sees the name sees every object. */
                r = bus_request_name(m->bus);
                if (r < 0)
                        goto fail_logged;
        }

        /* Connecting parsed each remote's XML description (libxml2) and freed it again; give the
         * whole free pages that left inside the heap back, once, rather than keep them resident. */
        malloc_trim(0);
        sd_notify(false, "READY=1");
        update_status(m);
        r = sd_event_loop(m->event);
        sd_notify(false, "STOPPING=1");
        manager_free(m);
        if (r < 0)
                return log_error_errno(r, "event loop failed: %s", strerror(-r));
        if (r > 0)
                /* sd-bus leaves the loop with a failure when the bus goes: systemd restarts us. */
                return log_error_errno(ECONNRESET, "the D-Bus connection was lost; exiting so that spasmd is "
                                       "restarted on the new bus");
        return 0;
fail:
        log_error_errno(r, "cannot start: %s", strerror(-r));
fail_logged:
        manager_free(m);
        return r;
}
