/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Streaming reader for "spasmd recording v1" files.
 *
 *   # spasmd-recording v1          exactly this, on line 1
 *   # rate_hz=1000                 required, 50 .. 20000
 *   # units=uV                     optional: uV or µV (default), mV, V; anything
 *                                  else means "scale unknown": values pass
 *                                  unscaled and recording_emg_units_known()
 *                                  is false
 *   # note=...                     other "# key=value" lines, up to 128 in all:
 *                                  kept as metadata, keys may repeat
 *   t_s,emg_left,emg_right,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z
 *   0.000,12.5,-3.0,0.1,0.0,9.8,0.0,0.0,0.0
 *
 * Columns: t_s (seconds, optional), emg_<site> (1 .. DETECTOR_MAX_EMG), and
 * the six acc_x..gyr_z (m/s^2, rad/s), all or none. Other columns are
 * skipped; recording_warning() names them. At most 64 columns, lines at most
 * 64 KiB, LF or CRLF endings, the last newline may be missing. A '#' line
 * without '=' after line 1 is a plain comment; '#' lines after the header row
 * are errors. A header row with no data rows is a valid, empty recording.
 *
 * Blank lines after line 1 are errors, not skipped: a recording is machine
 * written, so a blank line more likely means a damaged or spliced file than
 * an intended gap, and skipping it would quietly shift index-based time.
 *
 * Numbers go through strtod(), so LC_NUMERIC must stay "C" (never call
 * setlocale() with it). NaN, infinities and overflow are errors: the format
 * has no missing-value marker.
 *
 * Errors come back as a negative errno (-EBADMSG for malformed content, the
 * open(2)/read(2) errno otherwise) plus a message "PATH:LINE:COL: what; fix"
 * in the caller's buffer (":COL" is left out when no single field is at
 * fault). The library prints nothing. It allocates only while opening, so
 * recording_read_frame() is safe in a loop that must not allocate.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define RECORDING_MAX_COLUMNS 64
#define RECORDING_MAX_LINE (64u * 1024u)
#define RECORDING_MAX_META 128
#define RECORDING_MIN_RATE_HZ 50.0
#define RECORDING_MAX_RATE_HZ 20000.0
#define RECORDING_IMU_VALUES 6

struct recording;

/* -ENOENT, -EACCES, ... when the file cannot be opened; -EBADMSG when its head is malformed. */
int recording_open(const char *path, struct recording **ret, char *err, size_t errlen);

/* As recording_open(), on a stream the caller keeps owning (and closes after recording_free()). */
int recording_open_stream(FILE *f, const char *name, struct recording **ret, char *err, size_t errlen);

struct recording *recording_free(struct recording *r);

/*
 * Read the next sample: emg gets recording_n_emg() values in microvolts (or
 * the recording's own unit if unknown), imu (may be NULL) gets acc_xyz +
 * gyr_xyz or six NaNs when there is no IMU, t_s (may be NULL) the t_s column
 * or else frame index / rate. Returns 1 for a frame, 0 at the end, negative
 * errno on error; after an error every further call fails too.
 */
int recording_read_frame(struct recording *r, float *emg, float *imu, double *t_s, char *err, size_t errlen);

double recording_rate_hz(const struct recording *r);
unsigned recording_n_emg(const struct recording *r);
const char *recording_emg_name(const struct recording *r, unsigned i);
bool recording_has_imu(const struct recording *r);
bool recording_emg_units_known(const struct recording *r);
/* The last value given for key, or NULL. */
const char *recording_meta(const struct recording *r, const char *key);
/* NULL, or one line naming the columns that are ignored. */
const char *recording_warning(const struct recording *r);
/* Lines consumed so far (1-based number of the last line read). */
unsigned long recording_line(const struct recording *r);
