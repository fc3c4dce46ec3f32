/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * What a GetEvents call costs the event loop on a big history.
 *
 * Writes DIR/events.log by hand (the encoder history_append() uses, without
 * its fdatasync per record) with N records, one every 90 s of onset, opens
 * it with history_open() and times, best of R:
 *   full-scan   reading and checking the whole file, which is what every
 *               query did before the chunk index;
 *   last        history_query(since 0, limit 1): the newest event
 *               (spasmctl status, the daemon's start);
 *   day         history_query(since the last day, limit 1000): spasmctl
 *               events, an app's usual call;
 *   week        history_query(since 8 days, no limit): the advisory's trend;
 *   all         history_query(since 0, limit 10000): the most one GetEvents
 *               call may ask for.
 * Prints key=value lines (milliseconds) and one human line each.
 *
 *   bench-history DIR [--records N] [--repeat R]
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "history.h"

#define SEC UINT64_C(1000000)

static double now_ms(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double) t.tv_sec * 1e3 + (double) t.tv_nsec / 1e6;
}

static int write_history(const char *dir, size_t n, uint64_t first_onset) {
        char path[4096];
        uint8_t header[HISTORY_HEADER_SIZE], *buf;
        size_t len = HISTORY_HEADER_SIZE + n * HISTORY_RECORD_SIZE;

        buf = malloc(len);
        if (!buf)
                return -ENOMEM;
        history_encode_header(header, n + 1);
        memcpy(buf, header, sizeof(header));
        for (size_t i = 0; i < n; i++) {
                struct event_record r = {
                        .id = i + 1,
                        .onset_usec = first_onset + i * 90 * SEC,
                        .duration_usec = 4 * SEC,
                        .class = SPASM_CLASS_SPASM,
                        .peak_uv = 120.0f,
                        .mean_uv = 60.0f,
                        .intensity = 8.0f,
                        .mvc_pct = -1.0f,
                };
                snprintf(r.sensor, sizeof(r.sensor), "lumbar");
                snprintf(r.side, sizeof(r.side), "left");
                history_encode_record(buf + HISTORY_HEADER_SIZE + i * HISTORY_RECORD_SIZE, &r);
        }
        snprintf(path, sizeof(path), "%s/%s", dir, HISTORY_FILE);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (fd < 0 || write(fd, buf, len) != (ssize_t) len) {
                int k = -errno;
                free(buf);
                if (fd >= 0)
                        close(fd);
                return k ? k : -EIO;
        }
        close(fd);
        free(buf);
        return 0;
}

static double time_full_scan(const char *dir, unsigned repeat) {
        char path[4096];
        double best = 1e30;

        snprintf(path, sizeof(path), "%s/%s", dir, HISTORY_FILE);
        for (unsigned k = 0; k < repeat; k++) {
                double t0 = now_ms();
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                off_t size = lseek(fd, 0, SEEK_END);
                uint8_t *buf = malloc((size_t) size);
                struct history_scan scan;
                if (!buf || pread(fd, buf, (size_t) size, 0) != size) {
                        fprintf(stderr, "bench-history: cannot read %s\n", path);
                        exit(1);
                }
                history_scan_buffer(buf, (size_t) size, NULL, NULL, &scan);
                free(buf);
                close(fd);
                double t = now_ms() - t0;
                if (t < best)
                        best = t;
        }
        return best;
}

static double time_query(struct history *h, uint64_t since, unsigned limit, unsigned repeat, size_t *n_out) {
        double best = 1e30;

        for (unsigned k = 0; k < repeat; k++) {
                struct event_record *v;
                size_t n;
                double t0 = now_ms();
                if (history_query(h, since, limit, &v, &n) < 0) {
                        fprintf(stderr, "bench-history: query failed\n");
                        exit(1);
                }
                double t = now_ms() - t0;
                free(v);
                *n_out = n;
                if (t < best)
                        best = t;
        }
        return best;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "records", required_argument, NULL, 'n' },
                { "repeat", required_argument, NULL, 'r' },
                {},
        };
        size_t records = 470000; /* about 64 MiB, the largest max_size_mb default */
        unsigned repeat = 5;
        char msg[512];
        int c;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (c) {
                case 'n':
                        records = strtoul(optarg, NULL, 10);
                        break;
                case 'r':
                        repeat = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                default:
                        return 64;
                }
        if (optind != argc - 1 || records == 0 || repeat == 0) {
                fprintf(stderr, "usage: bench-history DIR [--records N] [--repeat R]\n");
                return 64;
        }
        const char *dir = argv[optind];
        uint64_t first = UINT64_C(1700000000) * SEC;
        uint64_t last = first + (records - 1) * 90 * SEC;
        int k = write_history(dir, records, first);
        if (k < 0) {
                fprintf(stderr, "bench-history: cannot write %s/%s: %s\n", dir, HISTORY_FILE, strerror(-k));
                return 1;
        }

        double t0 = now_ms();
        struct history *h;
        k = history_open(dir, NULL, &h, msg, sizeof(msg));
        double open_ms = now_ms() - t0;
        if (k < 0) {
                fprintf(stderr, "bench-history: %s\n", msg);
                return 1;
        }
        size_t n_last, n_day, n_week, n_all;
        double full = time_full_scan(dir, repeat);
        double q_last = time_query(h, 0, 1, repeat, &n_last);
        double q_day = time_query(h, last - 86400 * SEC, 1000, repeat, &n_day);
        double q_week = time_query(h, last - 8 * 86400 * SEC, 0, repeat, &n_week);
        double q_all = time_query(h, 0, 10000, repeat, &n_all);
        history_free(h);

        printf("history_records=%zu history_bytes=%zu open_ms=%.2f full_scan_ms=%.3f last_ms=%.3f day_ms=%.3f "
               "week_ms=%.3f all10000_ms=%.3f\n", records, HISTORY_HEADER_SIZE + records * HISTORY_RECORD_SIZE,
               open_ms, full, q_last, q_day, q_week, q_all);
        printf("history: %zu records (%.1f MiB), best of %u: whole-file scan (every query before the index) "
               "%.2f ms; newest event %.3f ms (%zu); last day %.3f ms (%zu); last 8 days %.3f ms (%zu); "
               "10000 newest %.3f ms (%zu); open %.1f ms\n",
               records, (HISTORY_HEADER_SIZE + records * HISTORY_RECORD_SIZE) / 1048576.0, repeat, full, q_last,
               n_last, q_day, n_day, q_week, n_week, q_all, n_all, open_ms);
        return 0;
}
