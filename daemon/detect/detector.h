/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The spasm detector: pure, causal, streaming.
 *
 * It is fed frames (one sample of every EMG channel, plus an optional IMU
 * sample, all at one rate) and hands back notices about muscle activations.
 * It does no I/O, keeps no globals and allocates only in detector_new(), so
 * the daemon, `spasmctl analyze` and the tests run the very same code and get
 * the very same answer for the same input.
 *
 * Units: EMG in microvolts, acceleration in m/s^2, angular rate in rad/s.
 * Time is stream time in seconds: frames seen (plus reported gaps) / rate.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DETECTOR_MAX_EMG 16
#define DETECTOR_MIN_RATE_HZ 200.0
#define DETECTOR_MAX_RATE_HZ 4000.0

enum spasm_class {
        SPASM_CLASS_PENDING = 0, /* an activation whose class is not decided yet */
        SPASM_CLASS_SPASM,
        SPASM_CLASS_TWITCH,
        SPASM_CLASS_VOLUNTARY,
        /* Withdrawn: an announced activation that turned out to be electrode
         * noise, not muscle. Only ever in an ENDED notice, never classified. */
        SPASM_CLASS_WITHDRAWN,
};

enum spasm_posture {
        SPASM_POSTURE_UNKNOWN = 0, /* no IMU, or not settled yet */
        SPASM_POSTURE_LYING,
        SPASM_POSTURE_SITTING,
        SPASM_POSTURE_STANDING,
};

enum spasm_notice_kind {
        SPASM_NOTICE_ONSET = 1,  /* an activation began; class still pending */
        SPASM_NOTICE_CLASSIFIED, /* the class is known (the activation may go on) */
        SPASM_NOTICE_ENDED,      /* the activation is over; all fields final */
};

enum spasm_contact {
        SPASM_CONTACT_GOOD = 0,
        SPASM_CONTACT_POOR,
        SPASM_CONTACT_OFF,
};

struct spasm_event {
        uint32_t id;             /* 1, 2, ... per detector instance */
        enum spasm_class class;
        double onset_s;
        double offset_s;         /* < 0 while the activation goes on */
        double announced_s;      /* when SPASM_NOTICE_ONSET was emitted */
        double detected_at_s;    /* when the class was first emitted; < 0 if not yet */
        uint32_t channel_mask;   /* bit i: EMG channel i took part */
        float peak_uv;           /* highest envelope, microvolts RMS */
        float mean_uv;           /* mean envelope over the activation, microvolts RMS */
        float intensity;         /* mean envelope as a multiple of the noise floor */
        float intensity_mvc_pct; /* % of a calibrated maximum contraction, < 0 if uncalibrated */
        float pulse_hz;          /* pulsing rate, 0 when none was seen */
        enum spasm_posture posture;
};

struct spasm_notice {
        enum spasm_notice_kind kind;
        struct spasm_event event;
};

struct detector_config {
        double rate_hz;          /* DETECTOR_MIN_RATE_HZ .. DETECTOR_MAX_RATE_HZ */
        unsigned n_emg;          /* 1 .. DETECTOR_MAX_EMG */
        bool has_imu;            /* frames carry acc_xyz + gyr_xyz */
        /* Tunables; 0 picks the default. */
        double on_ratio;         /* onset threshold, multiple of the noise floor power */
        double off_ratio;        /* offset threshold, multiple of the noise floor power */
        double min_on_s;         /* activity needed before an onset is announced */
        double min_off_s;        /* quiet needed before an activation ends */
        double spasm_min_s;      /* sustained this long at rest: a spasm */
};

struct detector_channel_status {
        float noise_floor_uv;    /* RMS of the conditioned signal at rest */
        float level_uv;          /* current envelope, RMS */
        float mains_hz;          /* 0 until mains is seen, else 50 or 60 */
        enum spasm_contact contact;
};

struct detector;

/* Room a caller must leave for notices from one push: never more than this. */
#define DETECTOR_MAX_NOTICES_PER_FRAME 3

void detector_config_defaults(struct detector_config *cfg);
int detector_new(const struct detector_config *cfg, struct detector **ret);
struct detector *detector_free(struct detector *d);

/*
 * Feed one frame. emg has cfg.n_emg values; imu is NULL or 6 values
 * (acc_x, acc_y, acc_z, gyr_x, gyr_y, gyr_z). Non-finite samples are treated
 * as missing. Writes up to DETECTOR_MAX_NOTICES_PER_FRAME notices into out
 * and returns how many, or a negative errno.
 */
int detector_push(struct detector *d, const float *emg, const float *imu,
                  struct spasm_notice *out, size_t n_out);

/*
 * Feed n frames at once, interleaved by frame (emg: n * n_emg values, imu:
 * NULL or n * 6). Returns the number of notices written; stops early, with
 * *consumed < n, when out has less than DETECTOR_MAX_NOTICES_PER_FRAME left.
 */
int detector_push_block(struct detector *d, size_t n, const float *emg, const float *imu,
                        struct spasm_notice *out, size_t n_out, size_t *consumed);

/*
 * n frames were lost (overrun, unplug). Ends any activation at the gap
 * without inventing samples, advances stream time and lets the filters settle
 * again. Returns notices as detector_push() does.
 */
int detector_gap(struct detector *d, uint64_t n_frames, struct spasm_notice *out, size_t n_out);

/* End any running activation now (end of stream). */
int detector_flush(struct detector *d, struct spasm_notice *out, size_t n_out);

double detector_time_s(const struct detector *d);
/* Bytes of state the detector holds, all allocated by detector_new(). */
size_t detector_state_size(const struct detector *d);
int detector_channel_status(const struct detector *d, unsigned ch, struct detector_channel_status *ret);
enum spasm_posture detector_posture(const struct detector *d);
/* Current muscle activity, as a multiple of the noise floor (max over channels). */
float detector_activity(const struct detector *d);

/* Calibration: a maximum voluntary contraction level per channel, microvolts RMS. */
int detector_set_mvc(struct detector *d, unsigned ch, float mvc_uv);
void detector_clear_calibration(struct detector *d);
/*
 * The person says they are at rest now (a "rest" calibration): take the
 * current levels as the resting floors. -EBUSY while an activation runs or
 * the detector is still warming up.
 */
int detector_rebaseline(struct detector *d);

const char *spasm_class_to_string(enum spasm_class c);
const char *spasm_posture_to_string(enum spasm_posture p);
const char *spasm_contact_to_string(enum spasm_contact c);
