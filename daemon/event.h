/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A finished (or running) event as the daemon's sinks see it: the detector's
 * event placed on the wall clock, with a daemon-wide id that stays unique
 * across restarts. The journal, the history and D-Bus all take this one type.
 */

#include <stdint.h>

#include "detector.h"

#define EVENT_SENSOR_MAX 64
#define EVENT_SIDE_MAX 8

struct event_record {
        uint64_t id;                  /* daemon-wide, increasing, never reused */
        enum spasm_class class;
        char sensor[EVENT_SENSOR_MAX];
        uint64_t onset_usec;          /* CLOCK_REALTIME */
        uint64_t duration_usec;       /* 0 while running */
        float peak_uv;
        float mean_uv;
        float intensity;              /* mean level as a multiple of the resting floor */
        float mvc_pct;                /* % of a calibrated maximum, < 0 if uncalibrated */
        float pulse_hz;
        enum spasm_posture posture;
        uint32_t channel_mask;
        char side[EVENT_SIDE_MAX];    /* "left", "right", "both" or "unknown" */
};

/*
 * Fill r from a detector event. origin_ns is CLOCK_REALTIME of the
 * detector's stream time 0; names are the EMG channel names, which say the
 * side ("emg_left"). The id is left to the caller.
 */
void event_record_from(struct event_record *r, const char *sensor, const struct spasm_event *e, int64_t origin_ns,
                       const char *const *names, unsigned n_names);
