/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A calibration in progress: "rest" averages each EMG channel's level over
 * 10 s and then takes it as the resting floor; "max" takes the highest
 * level held over 3 s as the maximum voluntary contraction, so events get a
 * % of it. Levels come from the detectors' channel status, sampled as blocks
 * arrive; no timer here, the manager owns that.
 */

#include <stdbool.h>
#include <stddef.h>

#include "bus.h"
#include "config.h"
#include "detector.h"

#define CALIBRATION_REST_S 10
#define CALIBRATION_MAX_S 3

struct calibration_channel {
        double sum;
        unsigned n;
        float peak;
};

struct calibration {
        bool running;
        bool max;                  /* kind "max", else "rest" */
        bool refused;              /* "rest": a detector was busy and kept its floor */
        char sensor[CONFIG_MAX_SENSORS][CONFIG_NAME_MAX];
        struct calibration_channel ch[CONFIG_MAX_SENSORS][DETECTOR_MAX_EMG];
};

/* -EINVAL for an unknown kind. */
int calibration_start(struct calibration *c, const char *kind);
unsigned calibration_seconds(const struct calibration *c);
/* Sensor slot `slot` delivered a block; read its detector's levels. */
void calibration_sample(struct calibration *c, unsigned slot, const char *sensor, const struct detector *d);
/*
 * Apply the result to the detector of `slot` and write one level per EMG
 * channel into out (room for n_out); returns how many were written.
 */
size_t calibration_apply(struct calibration *c, unsigned slot, struct detector *d, const char *const *names,
                         struct calibration_level *out, size_t n_out);
