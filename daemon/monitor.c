/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "monitor.h"

/* Every detector call (push, gap, flush) writes at most this many notices, and each call's are
 * delivered before the next: more room would only be zeroed memory, for every sensor. */
#define NOTICE_ROOM DETECTOR_MAX_NOTICES_PER_FRAME
#define ORIGIN_SLACK_NS 1000000000LL

struct monitor {
        struct sensor *sensor;
        struct detector *det;
        struct frame_aligner frames;
        monitor_notice_cb cb;
        void *userdata;
        unsigned n_emg;
        unsigned emg_map[DETECTOR_MAX_EMG];
        const char *names[DETECTOR_MAX_EMG];
        char name_buf[DETECTOR_MAX_EMG][64]; /* outlive the source, which may go first */
        bool own_imu;                   /* the IMU columns come in the same blocks */
        bool have_origin;
        int64_t origin_ns;
        unsigned imu_map[6];
        struct spasm_notice notices[NOTICE_ROOM];
};

int monitor_new(struct sensor *s, const struct detector_config *base, bool has_imu, double imu_rate,
                monitor_notice_cb cb, void *userdata, struct monitor **ret) {
        struct monitor *mon = calloc(1, sizeof(*mon));
        if (!mon)
                return -ENOMEM;
        mon->sensor = s;
        mon->cb = cb;
        mon->userdata = userdata;
        for (unsigned i = 0; i < sensor_n_channels(s); i++) {
                enum sample_role role = sensor_channel_role(s, i);
                if (role == SAMPLE_ROLE_EMG && mon->n_emg < DETECTOR_MAX_EMG) {
                        snprintf(mon->name_buf[mon->n_emg], sizeof(mon->name_buf[0]), "%s", sensor_channel_name(s, i));
                        mon->names[mon->n_emg] = mon->name_buf[mon->n_emg];
                        mon->emg_map[mon->n_emg++] = i;
                } else if (role >= SAMPLE_ROLE_ACC_X && role <= SAMPLE_ROLE_GYR_Z)
                        mon->imu_map[role - SAMPLE_ROLE_ACC_X] = i;
        }
        mon->own_imu = sensor_has_imu(s);

        struct detector_config dc = *base;
        dc.rate_hz = sensor_rate(s);
        dc.n_emg = mon->n_emg;
        /* An IMU configured anywhere counts: it may connect after this sensor. */
        dc.has_imu = mon->own_imu || has_imu;
        int r = detector_new(&dc, &mon->det);
        if (r < 0) {
                free(mon);
                return log_error_errno(r, "[sensor.%s]: the detector cannot run at %g Hz with %u EMG channels "
                                       "(it needs %g-%g Hz and 1-%d channels): %s", sensor_name(s), dc.rate_hz,
                                       dc.n_emg, DETECTOR_MIN_RATE_HZ, DETECTOR_MAX_RATE_HZ, DETECTOR_MAX_EMG,
                                       strerror(-r));
        }
        frame_aligner_init(&mon->frames, dc.rate_hz, mon->n_emg);
        frame_aligner_set_imu(&mon->frames, mon->own_imu ? 0.0 : imu_rate);
        *ret = mon;
        return 0;
}

static void deliver(struct monitor *mon, int n, const struct sample_block *b, uint32_t i) {
        if (n < 0) {
                log_error_errno(n, "[sensor.%s] detector: %s", sensor_name(mon->sensor), strerror(-n));
                return;
        }
        for (int k = 0; k < n; k++)
                mon->cb(mon, &mon->notices[k], b, i, mon->userdata);
}

struct monitor *monitor_free(struct monitor *mon) {
        if (!mon)
                return NULL;
        deliver(mon, detector_flush(mon->det, mon->notices, NOTICE_ROOM), NULL, 0);
        detector_free(mon->det);
        free(mon);
        return NULL;
}

void monitor_block(struct monitor *mon, const struct sample_block *b) {
        float emg[DETECTOR_MAX_EMG], imu[6];

        /* Stream time 0 on the wall clock: from the device's timestamps, else
         * from when blocks arrive. A replay faster than real time, or a
         * stepped wall clock, moves the arrival-based origin by more than
         * any jitter: follow it then, so that event times stay near now. */
        double rate = mon->frames.emg_rate;
        int64_t origin = b->first_ns >= 0
                ? b->first_ns - (int64_t) (b->first_index * 1e9 / rate)
                : b->arrival_ns - (int64_t) ((b->first_index + b->n_samples) * 1e9 / rate);
        if (!mon->have_origin || llabs(origin - mon->origin_ns) > ORIGIN_SLACK_NS) {
                mon->origin_ns = origin;
                mon->have_origin = true;
        }
        if (b->dropped > 0) {
                /* Samples were lost: the detector ends what was going on there
                 * and does not invent anything across the gap. */
                log_warning("[sensor.%s] %llu samples lost before sample %llu", sensor_name(mon->sensor),
                            (unsigned long long) b->dropped, (unsigned long long) b->first_index);
                deliver(mon, detector_gap(mon->det, b->dropped, mon->notices, NOTICE_ROOM), NULL, 0);
        }
        for (uint32_t i = 0; i < b->n_samples; i++) {
                bool have_imu;
                if (mon->own_imu) {
                        const float *row = b->data + (size_t) i * b->n_channels;
                        for (unsigned k = 0; k < mon->n_emg; k++)
                                emg[k] = row[mon->emg_map[k]];
                        for (unsigned k = 0; k < 6; k++)
                                imu[k] = row[mon->imu_map[k]];
                        have_imu = true;
                } else
                        have_imu = frame_aligner_frame(&mon->frames, b, i, mon->emg_map, emg, imu);
                int n = detector_push(mon->det, emg, have_imu ? imu : NULL, mon->notices, NOTICE_ROOM);
                if (n != 0)
                        deliver(mon, n, b, i);
        }
}

bool monitor_takes_imu(const struct monitor *mon) {
        return !mon->own_imu;
}

void monitor_push_imu(struct monitor *mon, const struct sample_block *b, const unsigned map[6]) {
        if (!mon->own_imu)
                frame_aligner_push_imu(&mon->frames, b, map);
}

void monitor_set_imu_rate(struct monitor *mon, double rate) {
        if (!mon->own_imu)
                frame_aligner_set_imu(&mon->frames, rate);
}

struct sensor *monitor_sensor(const struct monitor *mon) {
        return mon->sensor;
}

struct detector *monitor_detector(const struct monitor *mon) {
        return mon->det;
}

unsigned monitor_n_emg(const struct monitor *mon) {
        return mon->n_emg;
}

const char *const *monitor_channel_names(const struct monitor *mon) {
        return mon->names;
}

int64_t monitor_origin_ns(const struct monitor *mon) {
        return mon->origin_ns;
}

double monitor_rate(const struct monitor *mon) {
        return mon->frames.emg_rate;
}
