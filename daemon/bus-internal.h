/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "bus.h"
#include "config.h"
#include "ratelimit.h"

#define BUS_SENSOR_CHANNELS 32

struct bus_sensor {
        struct bus *bus;
        bool used;
        char name[CONFIG_NAME_MAX];
        char path[sizeof(BUS_PATH) + 8 + CONFIG_NAME_MAX];
        sd_bus_slot *slot;
        char uri[CONFIG_VALUE_MAX];
        char role[8];
        char channels[BUS_SENSOR_CHANNELS][64];
        unsigned n_channels;
        double sample_rate;
        bool connected;
        char status[256];
        uint64_t dropped;
        double noise_floor_uv;
        double mains_hz;
        char contact[8];
};

struct bus {
        sd_bus *bus;
        const struct bus_ops *ops;
        void *userdata;
        sd_bus_slot *monitor_slot, *manager_slot;
        sd_bus_message *calibrate_call;   /* the Calibrate call waiting for its answer */

        char state[16];
        bool monitoring;
        struct {
                uint64_t id;
                char class[16];
                char sensor[EVENT_SENSOR_MAX];
                uint64_t onset_usec;
        } active;
        unsigned spasms_today;
        struct event_record last;
        bool calibrated;
        struct {
                char kind[16];
                char message[1024];
                uint64_t time_usec;
        } advisory;
        char history_status[256];

        struct bus_sensor sensors[CONFIG_MAX_SENSORS];

        struct ratelimit get_events_limit;
        uint64_t get_events_logged_usec;
};

/* bus-sensor.c */
void bus_sensors_free(struct bus *b);
