/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The daemon's side of the D-Bus methods: history queries, calibration, pausing. */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "manager-internal.h"

/* --- D-Bus methods ------------------------------------------------------------------ */

static int op_get_events(void *userdata, uint64_t since_usec, unsigned limit, struct event_record **ret, size_t *n) {
        struct manager *m = userdata;
        return events_query(m->events, since_usec, limit, ret, n);
}

static int on_calibration_done(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;
        struct calibration_level levels[CONFIG_MAX_SENSORS * 4];
        size_t n = 0;
        (void) s;
        (void) usec;

        m->calibration_timer = sd_event_source_disable_unref(m->calibration_timer);
        for (unsigned i = 0; i < m->n_sensors; i++) {
                struct monitor *mon = m->monitors[i];
                if (!mon)
                        continue;
                size_t k = calibration_apply(&m->calibration, i, monitor_detector(mon), monitor_channel_names(mon),
                                             levels + n, sizeof(levels) / sizeof(levels[0]) - n);
                if (k > 0 && m->calibration.max && m->n_mvc < CONFIG_MAX_SENSORS) {
                        struct mvc_entry *e = NULL;
                        for (unsigned j = 0; j < m->n_mvc && !e; j++)
                                if (strcmp(m->mvc[j].sensor, sensor_name(m->sensors[i])) == 0)
                                        e = &m->mvc[j];
                        if (!e)
                                e = &m->mvc[m->n_mvc++];
                        snprintf(e->sensor, sizeof(e->sensor), "%s", sensor_name(m->sensors[i]));
                        e->n = (unsigned) k < DETECTOR_MAX_EMG ? (unsigned) k : DETECTOR_MAX_EMG;
                        for (unsigned c = 0; c < e->n; c++)
                                e->mvc_uv[c] = (float) levels[n + c].level_uv;
                }
                n += k;
        }
        m->calibration.running = false;
        if (n == 0) {
                bus_calibration_failed(m->bus, -ENODEV, "no EMG data arrived during the calibration");
                return 0;
        }
        if (m->calibration.refused) {
                bus_calibration_failed(m->bus, -EBUSY, "the muscles were not at rest during the calibration; "
                                       "relax and try again");
                return 0;
        }
        for (size_t i = 0; i < n; i++)
                log_info("calibration (%s): [sensor.%s] %s %.2f uV", m->calibration.max ? "max" : "rest",
                         levels[i].sensor, levels[i].channel, levels[i].level_uv);
        bus_calibration_done(m->bus, levels, n);
        update_calibrated(m);
        return 0;
}

static int op_calibrate(void *userdata, const char *kind) {
        struct manager *m = userdata;
        struct calibration c;
        int r;

        if (!m->monitoring)
                return -ESRCH;
        if (n_monitors(m) == 0)
                return -ENODEV;
        if (m->calibration.running)
                return -EBUSY;
        r = calibration_start(&c, kind);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(m->event, &m->calibration_timer, CLOCK_MONOTONIC,
                                       (uint64_t) calibration_seconds(&c) * 1000000, 0, on_calibration_done, m);
        if (r < 0)
                return r;
        m->calibration = c;
        log_info("calibration (%s) started for %u s", kind, calibration_seconds(&c));
        return 0;
}

static int op_reset_calibration(void *userdata) {
        struct manager *m = userdata;
        m->n_mvc = 0;
        for (unsigned i = 0; i < m->n_sensors; i++)
                if (m->monitors[i])
                        detector_clear_calibration(monitor_detector(m->monitors[i]));
        log_info("the maximum-contraction calibration was reset");
        update_calibrated(m);
        return 0;
}

static int op_set_monitoring(void *userdata, bool on) {
        struct manager *m = userdata;

        if (m->monitoring == on)
                return 0;
        m->monitoring = on;
        if (on)
                for (unsigned i = 0; i < m->n_sensors; i++)
                        start_monitor(m, i);
        else {
                cancel_calibration_with(m, -ESRCH, "monitoring was paused");
                for (unsigned i = 0; i < m->n_sensors; i++)
                        finish_monitor(m, i);
        }
        log_notice("monitoring %s", on ? "resumed" : "paused: sensors stay connected, nothing is detected");
        bus_set_monitoring(m->bus, on);
        update_calibrated(m);
        update_status(m);
        return 0;
}

static double op_activity(void *userdata, const char *sensor) {
        struct manager *m = userdata;
        for (unsigned i = 0; i < m->n_sensors; i++)
                if (m->monitors[i] && strcmp(sensor_name(m->sensors[i]), sensor) == 0)
                        /* The detector's ratio is of energies; an amplitude is what people
                         * compare with an event's intensity. */
                        return sqrt(detector_activity(monitor_detector(m->monitors[i])));
        return 0.0;
}

const struct bus_ops manager_bus_ops = {
        .activity = op_activity,
        .get_events = op_get_events,
        .calibrate = op_calibrate,
        .reset_calibration = op_reset_calibration,
        .set_monitoring = op_set_monitoring,
};

