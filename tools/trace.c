/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Developer tool: print the detector's per-tick internals for a recording,
 * for tuning. Not installed; it reaches into detector-internal.h on purpose. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "detector-internal.h"
#include "recording.h"

int main(int argc, char **argv) {
        char err[512];
        struct recording *r = NULL;
        struct detector *d = NULL;
        struct detector_config cfg;
        unsigned every = argc > 2 ? (unsigned) atoi(argv[2]) : 10;

        if (argc < 2 || recording_open(argv[1], &r, err, sizeof(err)) < 0) {
                fprintf(stderr, "usage: trace FILE [every_ticks]: %s\n", err);
                return 1;
        }
        detector_config_defaults(&cfg);
        cfg.rate_hz = recording_rate_hz(r);
        cfg.n_emg = recording_n_emg(r);
        cfg.has_imu = recording_has_imu(r);
        if (detector_new(&cfg, &d) < 0)
                return 1;
        float emg[DETECTOR_MAX_EMG], imu[6];
        struct spasm_notice n[8];
        uint64_t last_tick = 0;
        while (recording_read_frame(r, emg, imu, NULL, err, sizeof(err)) == 1) {
                int k = detector_push(d, emg, cfg.has_imu ? imu : NULL, n, 8);
                for (int i = 0; i < k; i++)
                        printf("NOTICE %d id=%u class=%s onset=%.3f off=%.3f\n", n[i].kind, n[i].event.id,
                               spasm_class_to_string(n[i].event.class), n[i].event.onset_s, n[i].event.offset_s);
                if (d->ticks != last_tick && d->ticks % every == 0) {
                        last_tick = d->ticks;
                        printf("t=%7.2f lock=%d rr=%.0f w=%.1f ang=%.1f due=%d st=%d mov=%d turn=%.2f dyn=%.2f trem=%.3f post=%d", detector_time_s(d), d->ecg.locked, d->ecg.rr_ticks, d->ecg.width_ticks, cfg.has_imu ? imu_tracker_angle_to(&d->imu, d->act.ref_gravity) : 0.0, ecg_gate_beat_due(&d->ecg, d->ticks), d->act.state,
                               cfg.has_imu && imu_tracker_moving(&d->imu), d->imu.turn_rate, d->imu.acc_dyn_rms,
                               d->imu.tremor_rms, d->imu.posture);
                        for (unsigned c = 0; c < d->n; c++)
                                printf(" | c%u raw=%.1f r=%.1f tk=%.3g fl=%.3g p=%.3g hi=%.2f %c%c", c, d->tick.teager[c] / d->ch[c].floor_teager, d->ch[c].ratio, d->ch[c].env_teager,
                                       d->ch[c].floor_teager, d->ch[c].env,
                                       d->ch[c].floor > 0 ? d->ch[c].floor_high / d->ch[c].floor : 0.0,
                                       d->ch[c].active ? 'A' : '.', d->ch[c].noise_like ? 'N' : '.');
                        printf("\n");
                }
        }
        recording_free(r);
        detector_free(d);
        return 0;
}
