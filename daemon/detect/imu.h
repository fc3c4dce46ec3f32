/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What a lumbar IMU says about the trunk, at the detector's tick rate:
 * where gravity points (posture), how much the trunk is moving (deliberate
 * movement, below ~2 Hz), and how much it is shaking in the 4-12 Hz band
 * (the visible twitching and pulsing of a spasm).
 *
 * Body frame: x to the person's right, y up the spine, z forward. An
 * accelerometer reads specific force, so standing still reads (0, +g, 0).
 */

#include <stdbool.h>
#include <stdint.h>

#include "biquad.h"
#include "detector.h"

struct imu_tracker {
        float dt;
        float sum[6];
        uint32_t count;

        bool settled;
        float gravity[3];      /* low-passed acceleration, m/s^2 */
        float gyr_lp1[3], gyr_lp2[3];
        float dyn_lp1[3], dyn_lp2[3];  /* acc - gravity, below the tremor band */
        float acc_dyn_power;   /* low-passed |acc - gravity|^2 */
        struct biquad tremor_bp[2];
        float tremor_z[2][2][3];
        float tremor_power;
        float tremor_prev;
        uint32_t tremor_crossings;

        float a_gravity, a_gyr, a_dyn, a_dyn_band, a_tremor;

        /* Outputs, valid after imu_tracker_tick(). */
        float turn_rate;       /* rad/s, slow trunk rotation */
        float acc_dyn_rms;     /* m/s^2 */
        float tremor_rms;      /* rad/s in 4-12 Hz */
        enum spasm_posture posture;
};

void imu_tracker_init(struct imu_tracker *t, double tick_s);
void imu_tracker_restart(struct imu_tracker *t);

static inline void imu_tracker_sample(struct imu_tracker *t, const float *imu) {
        for (unsigned i = 0; i < 6; i++)
                t->sum[i] += imu[i];
        t->count++;
}

void imu_tracker_tick(struct imu_tracker *t);
/* Deliberate trunk movement right now (not a shake, not sensor noise). */
bool imu_tracker_moving(const struct imu_tracker *t);
bool imu_tracker_shaking(const struct imu_tracker *t);
/* Angle in degrees between the current gravity direction and a stored one. */
float imu_tracker_angle_to(const struct imu_tracker *t, const float ref[3]);
