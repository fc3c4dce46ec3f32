/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The "spasmd recording v1" reader (daemon/recording.c): the input is the
 * file, read through fmemopen() as `spasmctl analyze` and replay: sensors
 * read a real one. Beyond the sanitizers it checks what recording.h
 * promises: values are finite floats, IMU values are NaN without an IMU,
 * an error is sticky and comes with a message naming the file, and the
 * accessors stay in their ranges.
 */

#include <float.h>
#include <math.h>

#include "detector.h"
#include "fuzz-util.h"
#include "recording.h"

#define NAME "fuzz.csv"
/* A row limit keeps a run of tiny rows from turning into a slow input. */
#define MAX_FRAMES 100000

static void check_open(const struct recording *r) {
        unsigned n = recording_n_emg(r);
        double rate = recording_rate_hz(r);
        const char *w = recording_warning(r);

        fuzz_check(n >= 1 && n <= DETECTOR_MAX_EMG, "n_emg %u", n);
        fuzz_check(rate >= RECORDING_MIN_RATE_HZ && rate <= RECORDING_MAX_RATE_HZ, "rate %g", rate);
        for (unsigned i = 0; i < n; i++) {
                const char *name = recording_emg_name(r, i);
                fuzz_check(name && strncmp(name, "emg_", 4) == 0 && name[4], "EMG column %u named %s", i,
                           name ? name : "(null)");
        }
        fuzz_check(!recording_emg_name(r, n), "a name past the last EMG column");
        fuzz_check(!w || strncmp(w, NAME ":", strlen(NAME ":")) == 0, "warning '%s'", w);
        /* rate_hz must have been a key=value line, so the metadata has it. */
        fuzz_check(recording_meta(r, "rate_hz") != NULL, "rate_hz is not in the metadata");
        (void) recording_meta(r, "units");
        (void) recording_emg_units_known(r);
        fuzz_check(recording_line(r) >= 3, "header row on line %lu", recording_line(r));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct recording *r = NULL;
        char err[600];
        float emg[DETECTOR_MAX_EMG], imu[RECORDING_IMU_VALUES];
        double t;
        int k;

        /* glibc's fmemopen() refuses a zero size; an empty file is a short read of nothing. */
        FILE *f = size > 0 ? fmemopen((void *) data, size, "r") : fopen("/dev/null", "re");
        if (!f)
                return 0;

        err[0] = '\0';
        k = recording_open_stream(f, NAME, &r, err, sizeof(err));
        if (k < 0) {
                fuzz_check(!r, "a recording after an error");
                fuzz_check(k == -EBADMSG || k == -ENOMEM || k == -EIO, "open returned %d", k);
                fuzz_check(strncmp(err, NAME ":", strlen(NAME ":")) == 0, "message '%s'", err);
                fclose(f);
                return 0;
        }
        check_open(r);

        unsigned n = recording_n_emg(r);
        bool has_imu = recording_has_imu(r);
        unsigned long frames = 0, line = recording_line(r);
        for (;;) {
                /* Poison, so that a value the reader forgot to write shows. */
                for (unsigned i = 0; i < DETECTOR_MAX_EMG; i++)
                        emg[i] = -12345.0f;
                err[0] = '\0';
                /* Half the frames with imu NULL: both are allowed. */
                k = recording_read_frame(r, emg, frames % 2 ? NULL : imu, &t, err, sizeof(err));
                if (k <= 0)
                        break;
                fuzz_check(k == 1, "read_frame returned %d", k);
                for (unsigned i = 0; i < n; i++)
                        fuzz_check(isfinite(emg[i]) && emg[i] != -12345.0f, "emg[%u] = %g", i, (double) emg[i]);
                for (unsigned i = n; i < DETECTOR_MAX_EMG; i++)
                        fuzz_check(emg[i] == -12345.0f, "emg[%u] written past n_emg %u", i, n);
                if (frames % 2 == 0)
                        for (unsigned i = 0; i < RECORDING_IMU_VALUES; i++)
                                fuzz_check(has_imu ? isfinite(imu[i]) : isnan(imu[i]), "imu[%u] = %g", i,
                                           (double) imu[i]);
                fuzz_check(isfinite(t), "t_s = %g", t);
                fuzz_check(recording_line(r) > line, "line number went from %lu to %lu", line,
                           recording_line(r));
                line = recording_line(r);
                if (++frames >= MAX_FRAMES)
                        break;
        }
        if (k < 0) {
                char again[600];
                fuzz_check(strncmp(err, NAME ":", strlen(NAME ":")) == 0, "message '%s'", err);
                /* Sticky: the same error and message again, and a tiny buffer is no overflow. */
                fuzz_check(recording_read_frame(r, emg, imu, &t, again, sizeof(again)) == k, "error not sticky");
                fuzz_check(strcmp(again, err) == 0, "'%s' then '%s'", err, again);
                fuzz_check(recording_read_frame(r, emg, imu, &t, again, 1) == k && again[0] == '\0',
                           "a one-byte buffer");
        } else if (k == 0)
                fuzz_check(recording_read_frame(r, emg, imu, &t, err, sizeof(err)) == 0, "read after the end");
        recording_free(r);
        fclose(f);
        return 0;
}
