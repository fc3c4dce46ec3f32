/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "detector.h"
#include "ecg.h"
#include "frontend.h"
#include "imu.h"

/* The decision logic runs on ticks of about this length: fine enough for
 * onset timing, coarse enough that it costs nothing per sample. */
#define TICK_TARGET_S 0.010

/* What a channel's envelope and noise floor look like now. */
struct channel_track {
        float env;            /* in-band power, smoothed, uV^2 */
        float env_high;       /* high-band power, smoothed */
        float env_teager;
        float floor;          /* in-band power at rest */
        float floor_high;
        float floor_teager;
        float ratio;          /* env / floor */
        bool active;          /* above on_ratio, held until below off_ratio */
        bool noise_like;      /* the rise looks like amplifier noise, not muscle */
        uint64_t last_quiet_tick;
        /* Pulsing: peaks of a fast envelope over a slow one. */
        float env_fast, env_slow;
        float mvc_uv;         /* 0 when uncalibrated */
};

enum activation_state {
        ACT_IDLE,
        ACT_CANDIDATE,   /* above threshold, not yet long enough to announce */
        ACT_ANNOUNCED,
        ACT_ARTIFACT,    /* a pop or a noise spell: wait for quiet, report nothing */
};

struct activation {
        enum activation_state state;
        struct spasm_event ev;
        uint64_t start_tick, last_active_tick, last_busy_tick;
        uint32_t ticks, active_ticks, busy_ticks, quiet_ticks, noise_ticks;
        uint32_t after_beat_ticks; /* busy after the beat it started on was over */
        double after_beat_onset_s; /* where that run started */
        uint64_t beat_over_tick, last_after_beat_tick;
        float energy_sum, energy_max;
        double power_sum[DETECTOR_MAX_EMG];
        float level;          /* slow level of the summed ratios over the activation */
        uint32_t power_n;
        float ref_gravity[3];
        uint32_t moving_ticks, shaking_ticks;
        uint32_t tremor_crossings_at_start;
        uint32_t pulse_peaks;
        bool beat_due;        /* started when a heartbeat was expected */
        bool beat_over;       /* ... and that beat's transient has ended */
        bool pulse_high;
        uint64_t last_moving_tick;
};

struct detector {
        struct detector_config cfg;
        unsigned n;
        double rate_hz;
        uint32_t tick_len, in_tick;
        double tick_s;
        uint64_t frames;          /* stream position, gaps included */
        uint64_t ticks;
        uint64_t learn_from_tick; /* floors are learnt afresh from then ... */
        uint64_t warm_until_tick; /* ... until then, and nothing is detected */
        uint32_t warm_ticks_seen;

        struct frontend fe;
        struct frontend_tick tick;
        struct imu_tracker imu;
        struct ecg_gate ecg;
        struct channel_track ch[DETECTOR_MAX_EMG];
        struct activation act;
        float gravity_history[8][3]; /* one snapshot per 100 ms, oldest first */
        uint64_t moving_history;     /* bit i: the trunk was moving i ticks ago */
        uint32_t next_id;

        float a_env, a_fast, a_slow, a_floor, a_floor_down, a_floor_noise, a_level, a_level_decay;
};

/* classify.c: the activation state machine, one tick at a time. */
int activation_tick(struct detector *d, struct spasm_notice *out, size_t n_out);
int activation_end(struct detector *d, double offset_s, struct spasm_notice *out, size_t n_out);
double activation_offset_s(const struct detector *d);
/* Learn the noise floors afresh, detecting nothing meanwhile. */
void detector_learn_floor(struct detector *d, double skip_s, double learn_s);
