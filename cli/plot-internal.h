/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What plot.c (collecting, the output file) and plot-svg.c (drawing) share. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "plot.h"

/* Even, so buckets merge in pairs; about two per pixel of a lane. */
#define PLOT_BUCKETS 2048
/* The detector decides on ~10 ms ticks: its envelope changes no faster than that. */
#define SAMPLE_S 0.010

#define WIDTH 1200
#define MARGIN_L 92
#define MARGIN_R 24
#define PLOT_W (WIDTH - MARGIN_L - MARGIN_R)
#define LANE_GAP 14
#define LANE_PAD_T 20           /* room for the lane's title above the data */
#define LANE_PAD_B 4
#define IMU_LANE_H 110

struct bucket {
        float lo, hi;
        double sum;
        uint64_t n;
};

struct plot {
        const struct recording *rec;
        const char *name;
        unsigned n_emg;
        bool has_imu;
        double rate_hz;

        size_t step;            /* frames per sample */
        size_t in_step;         /* frames of the current sample seen so far */
        double motion_sum;      /* rotation rate over those frames, deg/s */
        size_t motion_n;
        uint64_t frames;
        bool warm;              /* the detector has learnt its floors ... */
        uint64_t warm_frame;    /* ... by this frame */

        uint64_t width;         /* samples per bucket */
        uint64_t fill;          /* samples in the last bucket */
        size_t n_buckets;
        uint64_t *end_frame;    /* frames seen at each bucket's last sample */
        struct bucket *level;   /* [bucket * n_emg + channel] */
        struct bucket *floor;
        struct bucket *motion;

        struct spasm_event *events;
        size_t n_events, cap_events;

        char *path, *tmp;       /* tmp is NULL when path is written in place */
        FILE *out;
        bool committed;
};

/* Writes the whole picture to f. */
void plot_draw(FILE *f, const struct plot *p);
