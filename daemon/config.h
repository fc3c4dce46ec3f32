/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * /etc/spasmd/spasmd.conf and its drop-ins, parsed with inih and checked
 * key by key. Any error names the file, the line and what is allowed, and
 * nothing of a bad file is used: a caller keeps its running config.
 */

#include <stdbool.h>
#include <stdio.h>

#include "detector.h"

#define CONFIG_MAX_SENSORS 16
#define CONFIG_NAME_MAX 64
#define CONFIG_VALUE_MAX 512
#define CONFIG_DEFAULT_PATH "/etc/spasmd/spasmd.conf"
#define CONFIG_DEFAULT_STATE_DIR "/var/lib/spasmd"

enum sensor_role {
        SENSOR_ROLE_AUTO = 0, /* from the channels it carries */
        SENSOR_ROLE_EMG,
        SENSOR_ROLE_IMU,
};

struct sensor_config {
        char name[CONFIG_NAME_MAX];
        char uri[CONFIG_VALUE_MAX];      /* local:, ip:HOST[:PORT], usb:..., replay:PATH */
        char device[CONFIG_VALUE_MAX];   /* IIO name, label or iio:deviceN */
        char channels[CONFIG_VALUE_MAX]; /* "auto" or "voltage0:emg_left, ..." */
        double sample_rate;              /* 0: leave the device's rate alone */
        unsigned buffer_ms;
        double speed;                    /* replay only: 1 real time, 0 as fast as possible */
        enum sensor_role role;
        char file[CONFIG_VALUE_MAX];     /* where the section was defined, for messages */
        unsigned line;
};

struct daemon_settings {
        bool monitoring;                 /* detect from the start; SetMonitoring() changes it */
};

struct history_settings {
        char directory[CONFIG_VALUE_MAX]; /* "" : $STATE_DIRECTORY, else /var/lib/spasmd */
        unsigned max_age_days;
        unsigned max_size_mb;
};

struct advisory_settings {
        unsigned max_spasms_per_day;     /* more than this in 24 h */
        unsigned max_spasm_minutes;      /* one spasm longer than this */
        bool trend;                      /* a rising 7-day trend */
};

struct spasmd_config {
        struct daemon_settings daemon;
        struct detector_config detector;
        struct history_settings history;
        struct advisory_settings advisory;
        struct sensor_config sensors[CONFIG_MAX_SENSORS];
        unsigned n_sensors;
};

void config_defaults(struct spasmd_config *c);
/*
 * Parse path, then every *.conf in dropin_dir (NULL: path + ".d") in
 * lexical order; later files override earlier ones key by key. A missing
 * main file is not an error when allow_missing is set (defaults apply).
 * On error returns -EINVAL (or -errno) with the message in err, and leaves
 * *ret untouched.
 */
int config_load(const char *path, const char *dropin_dir, bool allow_missing, struct spasmd_config *ret,
                char *err, size_t errlen);
int config_load_string(const char *text, const char *name, struct spasmd_config *ret, char *err, size_t errlen);
void config_dump(const struct spasmd_config *c, FILE *f);
const char *sensor_role_to_string(enum sensor_role r);
bool sensor_config_is_replay(const struct sensor_config *s);
