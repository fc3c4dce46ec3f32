/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Turns blocks from an EMG sensor and (optionally) an IMU sensor, sampled at
 * different rates, into the detector's frames at the EMG rate. Streams are
 * put on one time line by their timestamp channels, or by sample count since
 * each stream started when a device has none. Each frame carries the newest
 * IMU sample at or before its time: a lumbar IMU changes slowly next to EMG,
 * and holding never waits for data that may come late.
 */

#include <stdbool.h>
#include <stdint.h>

#include "detector.h"
#include "sample-block.h"

#define FRAMES_IMU_STALE_S 0.5 /* older IMU data than this is no IMU data */

struct frame_aligner {
        double emg_rate;
        unsigned n_emg;
        double imu_rate;
        bool imu_by_count;      /* no timestamps: align by sample count */
        int64_t emg_origin_ns;  /* time of EMG sample 0 */
        int64_t imu_origin_ns;
        bool emg_started, imu_started;
        float imu_last[6];
        double imu_last_s;      /* stream time of imu_last, s since EMG sample 0 */
        bool have_imu;
};

void frame_aligner_init(struct frame_aligner *a, double emg_rate, unsigned n_emg);
/* An IMU stream is present at imu_rate; forget it with imu_rate 0 (unplugged). */
void frame_aligner_set_imu(struct frame_aligner *a, double imu_rate);
/* Take an IMU block whose channels are acc_x..z, gyr_x..z in map[0..5] order. */
void frame_aligner_push_imu(struct frame_aligner *a, const struct sample_block *b, const unsigned map[6]);
/*
 * Frame sample i of an EMG block (its channels in emg_map order) into emg
 * (n_emg values) and imu (6 values); returns false when there is no fresh
 * IMU sample for it (then imu is left as is and the frame goes without).
 */
bool frame_aligner_frame(struct frame_aligner *a, const struct sample_block *b, uint32_t i, const unsigned *emg_map,
                         float *emg, float *imu);
