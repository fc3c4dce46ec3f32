/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What manager.c and manager-bus.c (the D-Bus methods) share. */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "bus.h"
#include "calibration.h"
#include "config.h"
#include "events.h"
#include "hotplug.h"
#include "manager.h"
#include "monitor.h"
#include "sensor.h"

/* A maximum contraction, kept by sensor name so that a replugged sensor keeps it. */
struct mvc_entry {
        char sensor[CONFIG_NAME_MAX];
        unsigned n;
        float mvc_uv[DETECTOR_MAX_EMG];
};

struct manager {
        sd_event *event;
        struct manager_options opts;
        struct spasmd_config cfg;
        struct sensor *sensors[CONFIG_MAX_SENSORS];
        struct monitor *monitors[CONFIG_MAX_SENSORS];
        int64_t published_ns[CONFIG_MAX_SENSORS];
        unsigned n_sensors;
        struct hotplug *hotplug;
        struct bus *bus;
        struct events *events;
        bool monitoring;
        struct calibration calibration;
        sd_event_source *calibration_timer;
        struct mvc_entry mvc[CONFIG_MAX_SENSORS];
        unsigned n_mvc;
};

extern const struct bus_ops manager_bus_ops;

unsigned n_monitors(const struct manager *m);
void update_status(struct manager *m);
void update_calibrated(struct manager *m);
/* Start the detector of sensor idx if it streams EMG and monitoring is on. */
void start_monitor(struct manager *m, unsigned idx);
/* Stop it, ending its running activation. */
void finish_monitor(struct manager *m, unsigned idx);
/* Fail the Calibrate call in progress, if any, saying why. */
void cancel_calibration(struct manager *m, const char *why);
void cancel_calibration_with(struct manager *m, int error, const char *why);
