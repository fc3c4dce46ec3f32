/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <math.h>
#include <string.h>

#include "imu.h"

/* A bend or a step turns the trunk at several tenths of rad/s for most of
 * a second; a 3-8 Hz tremor of the same size averages out in the 1 Hz
 * low-pass below. */
#define MOVING_TURN_RATE 0.15f
#define MOVING_ACC_DYN 0.6f
#define SHAKING_TREMOR 0.03f
#define GRAVITY_TAU_S 0.25
#define GYR_TAU_S 0.16
#define DYN_TAU_S 0.25
/* Steps and bends live below ~3 Hz; the 4-12 Hz shaking of a pulsing spasm
 * is not trunk movement and is kept out of it. */
#define DYN_BAND_TAU_S 0.053
#define TREMOR_TAU_S 0.3

void imu_tracker_init(struct imu_tracker *t, double tick_s) {
        memset(t, 0, sizeof(*t));
        t->dt = (float) tick_s;
        t->a_gravity = onepole_alpha(tick_s, GRAVITY_TAU_S);
        t->a_gyr = onepole_alpha(tick_s, GYR_TAU_S);
        t->a_dyn = onepole_alpha(tick_s, DYN_TAU_S);
        t->a_dyn_band = onepole_alpha(tick_s, DYN_BAND_TAU_S);
        t->a_tremor = onepole_alpha(tick_s, TREMOR_TAU_S);
        /* 4-12 Hz as a high-pass at 4 and a low-pass at 12 (kept below the
         * tick rate's Nyquist frequency). */
        double rate = 1.0 / tick_s;
        biquad_highpass(&t->tremor_bp[0], rate, 4.0, M_SQRT1_2);
        biquad_lowpass(&t->tremor_bp[1], rate, fmin(12.0, 0.4 * rate), M_SQRT1_2);
}

void imu_tracker_restart(struct imu_tracker *t) {
        double tick_s = t->dt;
        imu_tracker_init(t, tick_s);
}

static enum spasm_posture posture_from(const float g[3]) {
        float norm = sqrtf(g[0] * g[0] + g[1] * g[1] + g[2] * g[2]);
        if (norm < 4.0f)
                return SPASM_POSTURE_UNKNOWN; /* free fall or a broken sensor */
        float up = g[1] / norm, forward = g[2] / norm;
        float tilt = acosf(fmaxf(-1.0f, fminf(1.0f, up))) * (float) (180.0 / M_PI);
        if (tilt > 60.0f)
                return SPASM_POSTURE_LYING;
        /* Seated, the pelvis rolls back and the lumbar sensor reclines. */
        if (tilt > 15.0f && forward > 0.0f)
                return SPASM_POSTURE_SITTING;
        return SPASM_POSTURE_STANDING;
}

void imu_tracker_tick(struct imu_tracker *t) {
        if (t->count == 0)
                return;
        float inv = 1.0f / (float) t->count, acc[3], gyr[3];
        for (unsigned i = 0; i < 3; i++) {
                acc[i] = t->sum[i] * inv;
                gyr[i] = t->sum[3 + i] * inv;
        }
        memset(t->sum, 0, sizeof(t->sum));
        t->count = 0;

        if (!t->settled) {
                memcpy(t->gravity, acc, sizeof(acc));
                t->settled = true;
        }

        float dyn = 0.0f, turn = 0.0f, tremor = 0.0f;
        for (unsigned i = 0; i < 3; i++) {
                t->gravity[i] += t->a_gravity * (acc[i] - t->gravity[i]);
                t->dyn_lp1[i] += t->a_dyn_band * (acc[i] - t->gravity[i] - t->dyn_lp1[i]);
                t->dyn_lp2[i] += t->a_dyn_band * (t->dyn_lp1[i] - t->dyn_lp2[i]);
                dyn += t->dyn_lp2[i] * t->dyn_lp2[i];

                t->gyr_lp1[i] += t->a_gyr * (gyr[i] - t->gyr_lp1[i]);
                t->gyr_lp2[i] += t->a_gyr * (t->gyr_lp1[i] - t->gyr_lp2[i]);
                turn += t->gyr_lp2[i] * t->gyr_lp2[i];

                float b = gyr[i];
                for (unsigned s = 0; s < 2; s++)
                        b = biquad_step(&t->tremor_bp[s], &t->tremor_z[s][0][i], &t->tremor_z[s][1][i], b);
                tremor += b * b;
                if (i == 0) {
                        /* Count the pulsing rate on one axis; the rate is what matters. */
                        if ((b > 0.0f) != (t->tremor_prev > 0.0f))
                                t->tremor_crossings++;
                        t->tremor_prev = b;
                }
        }
        t->acc_dyn_power += t->a_dyn * (dyn - t->acc_dyn_power);
        t->tremor_power += t->a_tremor * (tremor - t->tremor_power);

        t->turn_rate = sqrtf(turn);
        t->acc_dyn_rms = sqrtf(t->acc_dyn_power);
        t->tremor_rms = sqrtf(t->tremor_power);
        t->posture = posture_from(t->gravity);
}

bool imu_tracker_moving(const struct imu_tracker *t) {
        return t->turn_rate > MOVING_TURN_RATE || t->acc_dyn_rms > MOVING_ACC_DYN;
}

bool imu_tracker_shaking(const struct imu_tracker *t) {
        return t->tremor_rms > SHAKING_TREMOR;
}

float imu_tracker_angle_to(const struct imu_tracker *t, const float ref[3]) {
        const float *g = t->gravity;
        float dot = g[0] * ref[0] + g[1] * ref[1] + g[2] * ref[2];
        float n = sqrtf((g[0] * g[0] + g[1] * g[1] + g[2] * g[2]) * (ref[0] * ref[0] + ref[1] * ref[1] + ref[2] * ref[2]));
        if (n <= 0.0f)
                return 0.0f;
        return acosf(fmaxf(-1.0f, fminf(1.0f, dot / n))) * (float) (180.0 / M_PI);
}
