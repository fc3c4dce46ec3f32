/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The picture behind `spasmctl analyze --plot`: a plain SVG file with one
 * lane per EMG channel (the detector's envelope and noise floor), one lane
 * for trunk rotation from the IMU, and the events as coloured spans.
 *
 * The series are sampled from the detector while analyze feeds it and kept
 * in a fixed number of buckets whose width doubles when they fill up, so a
 * recording of any length, even one read from a pipe, takes the same memory.
 *
 * The output replaces FILE only once the picture is complete: it is written
 * beside it under a temporary name and renamed. A path that exists and is
 * not a plain file (/dev/stdout, a FIFO, a symlink) is written in place.
 */

#include <stddef.h>

#include "detector.h"
#include "recording.h"

struct plot;

/*
 * Sets up a plot of rec (which must outlive it) titled name, and opens the
 * output for path so that an unwritable path fails before any work is done.
 * Returns 0 or a negative errno.
 */
int plot_new(const struct recording *rec, const char *name, const char *path, struct plot **ret);
/* Frees the plot; an output that was never committed is removed. */
struct plot *plot_free(struct plot *p);

/* Frames the detector may take before plot_take() must look at it again (>= 1). */
size_t plot_due(const struct plot *p);
/* n frames (at most plot_due()) went into d; imu is NULL or n * 6 values. */
void plot_take(struct plot *p, const struct detector *d, const float *imu, size_t n);
/* An ended event, withdrawn ones included. */
int plot_add_event(struct plot *p, const struct spasm_event *e);

/* Draws the picture and puts it in place. Returns 0 or a negative errno. */
int plot_commit(struct plot *p);
