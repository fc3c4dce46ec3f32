/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A block of converted samples from one sensor, as a reader thread hands it
 * to the event loop: interleaved by sample, in physical units (EMG in
 * microvolts, acceleration in m/s^2, angular rate in rad/s).
 */

#include <stdint.h>
#include <stddef.h>

#define SAMPLE_BLOCK_MAX_CHANNELS 16
#define SAMPLE_BLOCK_MAX_SAMPLES 1024

enum sample_role {
        SAMPLE_ROLE_EMG = 0,
        SAMPLE_ROLE_ACC_X, SAMPLE_ROLE_ACC_Y, SAMPLE_ROLE_ACC_Z,
        SAMPLE_ROLE_GYR_X, SAMPLE_ROLE_GYR_Y, SAMPLE_ROLE_GYR_Z,
};

struct sample_block {
        uint64_t first_index;   /* index of the first sample since the stream started */
        uint64_t dropped;       /* samples lost just before this block (overrun, timestamp gap) */
        int64_t first_ns;       /* timestamp of the first sample, CLOCK_REALTIME ns; -1 if none */
        int64_t arrival_ns;     /* CLOCK_REALTIME when the reader got the data from the device */
        uint32_t n_samples;
        uint32_t n_channels;
        /* n_samples x n_channels of it are used. A block in a sized queue
         * (block-queue.h) ends sooner: never copy or assign one whole. */
        float data[SAMPLE_BLOCK_MAX_SAMPLES * SAMPLE_BLOCK_MAX_CHANNELS];
};
