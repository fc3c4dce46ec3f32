/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One configured sensor on the event loop: it opens its source (a libiio
 * device, local or remote, or a replayed recording), starts the reader
 * thread, takes its blocks off the queue when the eventfd fires, and when
 * the source fails it says why, closes it, and tries again with exponential
 * backoff from 1 s to 60 s. A hot-plug add can ask for an immediate retry.
 */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "config.h"
#include "sample-block.h"

enum sensor_state {
        SENSOR_DISCONNECTED = 0, /* waiting to (re)try */
        SENSOR_STREAMING,
        SENSOR_ENDED,            /* a replay reached the end of its file */
};

struct sensor;

struct sensor_callbacks {
        /* A block of converted samples, in order. */
        void (*block)(struct sensor *s, const struct sample_block *b, void *userdata);
        /* Connected, disconnected, ended: see sensor_state() and sensor_status(). */
        void (*state)(struct sensor *s, void *userdata);
};

int sensor_new(sd_event *event, const struct sensor_config *cfg, const struct sensor_callbacks *cb, void *userdata,
               struct sensor **ret);
struct sensor *sensor_free(struct sensor *s);
/* Try to open the source now (also after a hot-plug add). */
int sensor_connect(struct sensor *s);
/* Close the source (hot-plug remove); retries follow the backoff. */
void sensor_disconnect(struct sensor *s, int error, const char *why);

const struct sensor_config *sensor_config(const struct sensor *s);
const char *sensor_name(const struct sensor *s);
enum sensor_state sensor_state(const struct sensor *s);
const char *sensor_state_to_string(enum sensor_state st);
const char *sensor_status(const struct sensor *s); /* a sentence a person can read */
uint64_t sensor_dropped(const struct sensor *s);
double sensor_rate(const struct sensor *s);
unsigned sensor_n_channels(const struct sensor *s);
const char *sensor_channel_name(const struct sensor *s, unsigned i);
enum sample_role sensor_channel_role(const struct sensor *s, unsigned i);
unsigned sensor_n_emg(const struct sensor *s);
bool sensor_has_imu(const struct sensor *s);
/* Seconds until the next retry, or a negative number if none is due. */
double sensor_retry_in(const struct sensor *s);
