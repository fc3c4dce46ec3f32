/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "frames.h"

void frame_aligner_init(struct frame_aligner *a, double emg_rate, unsigned n_emg) {
        *a = (struct frame_aligner) { .emg_rate = emg_rate, .n_emg = n_emg };
}

void frame_aligner_set_imu(struct frame_aligner *a, double imu_rate) {
        a->imu_rate = imu_rate;
        a->imu_started = false;
        a->have_imu = false;
}

/* Seconds since EMG sample 0 of sample idx of a block that starts at first_ns / first_index. */
static double emg_time(struct frame_aligner *a, const struct sample_block *b, uint32_t i) {
        if (!a->emg_started) {
                a->emg_started = true;
                a->emg_origin_ns = b->first_ns >= 0 ? b->first_ns - (int64_t) (b->first_index * 1e9 / a->emg_rate) : -1;
        }
        if (b->first_ns >= 0 && a->emg_origin_ns >= 0)
                return (double) (b->first_ns - a->emg_origin_ns) * 1e-9 + i / a->emg_rate;
        return (double) (b->first_index + i) / a->emg_rate;
}

void frame_aligner_push_imu(struct frame_aligner *a, const struct sample_block *b, const unsigned map[6]) {
        if (a->imu_rate <= 0 || b->n_samples == 0)
                return;
        if (!a->imu_started) {
                a->imu_started = true;
                a->imu_by_count = b->first_ns < 0 || a->emg_origin_ns < 0;
                a->imu_origin_ns = b->first_ns >= 0 ? b->first_ns - (int64_t) (b->first_index * 1e9 / a->imu_rate) : -1;
        }
        uint32_t last = b->n_samples - 1;
        const float *row = b->data + (size_t) last * b->n_channels;
        for (unsigned k = 0; k < 6; k++)
                a->imu_last[k] = map[k] < b->n_channels ? row[map[k]] : 0.0f;
        if (!a->imu_by_count && b->first_ns >= 0)
                a->imu_last_s = (double) (b->first_ns - a->emg_origin_ns) * 1e-9 + last / a->imu_rate;
        else
                a->imu_last_s = (double) (b->first_index + last) / a->imu_rate;
        a->have_imu = true;
}

bool frame_aligner_frame(struct frame_aligner *a, const struct sample_block *b, uint32_t i, const unsigned *emg_map,
                         float *emg, float *imu) {
        const float *row = b->data + (size_t) i * b->n_channels;
        for (unsigned c = 0; c < a->n_emg; c++)
                emg[c] = emg_map[c] < b->n_channels ? row[emg_map[c]] : 0.0f;

        if (!a->have_imu) {
                /* Without an IMU sample no time is needed, but the first frame still sets the origin. */
                if (!a->emg_started)
                        (void) emg_time(a, b, i);
                return false;
        }
        double t = emg_time(a, b, i);
        /* The newest IMU sample is usually a little behind or ahead of this
         * frame; either way it stands for it unless it is stale. */
        double age = t - a->imu_last_s;
        if (age > FRAMES_IMU_STALE_S || age < -FRAMES_IMU_STALE_S)
                return false;
        memcpy(imu, a->imu_last, sizeof(a->imu_last));
        return true;
}
