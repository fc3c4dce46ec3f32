/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * iio-read: read samples from an IIO device through iio_source and the
 * block queue, exactly as the daemon does, and print them as CSV:
 *
 *     iio-read [-n SAMPLES] [-s SECONDS] [-c CHANNELS] [-r RATE] [-b BUFFER_MS]
 *              [-t TIMEOUT_MS] [-q QUEUE_BLOCKS] [-T] URI DEVICE
 *
 * Prints "t_s,<channel names>" and one row per sample; t_s is the stream
 * index over the rate (lost samples included), or with -T the device's
 * timestamp relative to the first sample. A summary goes to stderr:
 * "iio-read: samples=N dropped=D blocks=B rate=R timestamp=yes|no stop_ms=S
 * index_mismatch=M", M counting blocks whose timestamp disagrees with their
 * first_index by over half a period (a device whose clock drifts from its
 * nominal rate shows some on long runs; the test rigs do not drift).
 * -s stops after SECONDS even if fewer samples came (to time a stop while a
 * refill waits). Exit status: 0 when SAMPLES were read or SECONDS passed,
 * 1 when the source failed first (its message on stderr), 2 for bad usage
 * or a failed open (its message on stderr).
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block-queue.h"
#include "iio-source.h"

static void usage(FILE *f) {
        fprintf(f, "usage: iio-read [-n SAMPLES] [-s SECONDS] [-c CHANNELS] [-r RATE] [-b BUFFER_MS] "
                   "[-t TIMEOUT_MS] [-q QUEUE_BLOCKS] [-T] URI DEVICE\n");
}

int main(int argc, char **argv) {
        struct iio_source_config cfg = { .name = "iio-read" };
        unsigned long want = 2000, queue_blocks = 64;
        double seconds = 0;
        bool by_timestamp = false;
        int c;

        while ((c = getopt(argc, argv, "n:s:c:r:b:t:q:Th")) != -1) {
                switch (c) {
                case 'n': want = strtoul(optarg, NULL, 10); break;
                case 's': seconds = strtod(optarg, NULL); break;
                case 'c': cfg.channels = optarg; break;
                case 'r': cfg.sample_rate = strtod(optarg, NULL); break;
                case 'b': cfg.buffer_ms = (unsigned) strtoul(optarg, NULL, 10); break;
                case 't': cfg.timeout_ms = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'q': queue_blocks = strtoul(optarg, NULL, 10); break;
                case 'T': by_timestamp = true; break;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
        }
        if (argc - optind != 2) {
                usage(stderr);
                return 2;
        }
        cfg.uri = argv[optind];
        cfg.device = argv[optind + 1];

        char err[1024];
        struct iio_source *src = NULL;
        int r = iio_source_open(&cfg, &src, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "iio-read: %s\n", err);
                return 2;
        }
        struct block_queue *q = NULL;
        r = block_queue_new((unsigned) queue_blocks, &q);
        if (r < 0) {
                fprintf(stderr, "iio-read: queue of %lu blocks: %s\n", queue_blocks, strerror(-r));
                iio_source_free(src);
                return 2;
        }

        double rate = iio_source_rate(src);
        unsigned n = iio_source_n_channels(src);
        printf("t_s");
        for (unsigned i = 0; i < n; i++)
                printf(",%s", iio_source_channel_name(src, i));
        printf("\n");
        fprintf(stderr, "iio-read: %s: %u channels at %g Hz, %zu samples per refill, timestamp %s\n",
                iio_source_describe(src), n, rate, iio_source_buffer_samples(src),
                iio_source_has_timestamp(src) ? "yes" : "no");

        r = iio_source_start(src, q);
        if (r < 0) {
                fprintf(stderr, "iio-read: cannot start the reader: %s\n", strerror(-r));
                iio_source_free(src);
                block_queue_free(q);
                return 2;
        }

        uint64_t got = 0, dropped = 0, blocks = 0, mismatch = 0, idx0 = 0;
        int64_t ns0 = -1;
        int status = 0;
        bool time_up = false;
        struct timespec start;
        clock_gettime(CLOCK_MONOTONIC, &start);
        while (got < want) {
                struct pollfd p = { .fd = block_queue_fd(q), .events = POLLIN };
                int wait_ms = 1000;
                if (seconds > 0) {
                        struct timespec now;
                        clock_gettime(CLOCK_MONOTONIC, &now);
                        double left = seconds - (double) (now.tv_sec - start.tv_sec) -
                                      (double) (now.tv_nsec - start.tv_nsec) / 1e9;
                        if (left <= 0) {
                                time_up = true;
                                break;
                        }
                        wait_ms = left < 1.0 ? (int) (left * 1000) + 1 : 1000;
                }
                (void) poll(&p, 1, wait_ms);
                block_queue_ack(q);
                struct sample_block *b;
                while (got < want && (b = block_queue_peek(q))) {
                        dropped += b->dropped;
                        blocks++;
                        if (ns0 < 0 && b->first_ns >= 0) {
                                ns0 = b->first_ns;
                                idx0 = b->first_index;
                        }
                        /* The stream index (lost samples included) and the
                         * device's clock must tell the same time: this checks
                         * the gap and overrun accounting from end to end. */
                        if (b->first_ns >= 0 && ns0 >= 0) {
                                double want_ns = (double) ns0 + (double) (b->first_index - idx0) * 1e9 / rate;
                                if (fabs((double) b->first_ns - want_ns) > 0.5e9 / rate)
                                        mismatch++;
                        }
                        for (uint32_t i = 0; i < b->n_samples && got < want; i++, got++) {
                                double t = by_timestamp && b->first_ns >= 0
                                                   ? (double) (b->first_ns - ns0) * 1e-9 + i / rate
                                                   : (double) (b->first_index + i) / rate;
                                printf("%.6f", t);
                                for (unsigned k = 0; k < n; k++)
                                        printf(",%.4f", b->data[(size_t) i * b->n_channels + k]);
                                printf("\n");
                        }
                        block_queue_release(q);
                }
                if (got < want) {
                        status = iio_source_status(src, err, sizeof(err));
                        if (status < 0 && !block_queue_peek(q))
                                break;
                }
        }
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        iio_source_stop(src);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double stop_ms = (double) (t1.tv_sec - t0.tv_sec) * 1e3 + (double) (t1.tv_nsec - t0.tv_nsec) / 1e6;
        fprintf(stderr, "iio-read: samples=%" PRIu64 " dropped=%" PRIu64 " blocks=%" PRIu64 " rate=%g timestamp=%s "
                "stop_ms=%.0f index_mismatch=%" PRIu64 "\n", got, dropped, blocks, rate,
                iio_source_has_timestamp(src) ? "yes" : "no", stop_ms, mismatch);
        if (status < 0)
                fprintf(stderr, "iio-read: stopped early (status %d): %s\n", status, err);
        iio_source_free(src);
        block_queue_free(q);
        return got >= want || (time_up && status == 0) ? 0 : 1;
}
