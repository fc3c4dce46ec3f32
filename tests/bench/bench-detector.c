/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Detector throughput benchmark.
 *
 * Generates a long deterministic stream in memory (8 EMG channels in
 * microvolts and 6 IMU channels, at 2000 Hz by default): white noise, 50 Hz
 * mains and two harmonics, ECG-like QRS spikes, a few 2 s bursts of muscle
 * activity, and a still IMU reading gravity. Generation is not timed.
 *
 * Then times detector_push_block() over the whole stream, each repeat with a
 * fresh detector, and prints the best and the median in key=value lines (for
 * tests/bench/bench.py) and in one human line.
 *
 * Channel-samples per second count every EMG and IMU channel of a frame:
 * frames * (n_emg + 6) / seconds.
 *
 *   bench-detector [--seconds N] [--repeat R] [--rate HZ] [--seed S] [--dump FILE]
 *
 * --dump writes the generated stream as raw little-endian float32, frame
 * major, n_emg + 6 values per frame (EMG first, then acc xyz, gyr xyz), so
 * tests/bench/reference_scipy.py works on the very same data.
 */

#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detector.h"

#define BENCH_N_EMG 8u
#define BENCH_N_IMU 6u
#define BENCH_NOTICES 4096u
#define BENCH_PI 3.14159265358979323846

#define NOISE_UV_RMS 3.0
#define MAINS_HZ 50.0
#define MAINS_UV 20.0           /* amplitude of the fundamental */
#define BURST_UV_RMS 30.0
#define BURST_S 2.0
#define BURST_EVERY_S 25.0
#define BURST_FIRST_S 15.0
#define BURST_RAMP_S 0.1
#define ECG_BPM 72.0
#define ECG_QRS_UV 120.0        /* R peak on the channel nearest the heart */
#define ACC_NOISE 0.02          /* m/s^2 RMS */
#define GYR_NOISE 0.005         /* rad/s RMS */
#define GRAVITY 9.81

struct options {
        double seconds;
        double rate_hz;
        unsigned repeat;
        uint64_t seed;
        const char *dump;
};

struct stream {
        size_t frames;
        unsigned n_emg;
        double rate_hz;
        float *emg; /* frames * n_emg, frame major */
        float *imu; /* frames * 6 */
        unsigned bursts;
};

struct run_result {
        double seconds;
        uint64_t notices;
        uint64_t ended;
};

/* --- deterministic generator ---------------------------------------------- */

struct rng {
        uint64_t s;
        bool have_spare;
        double spare;
};

static void rng_init(struct rng *r, uint64_t seed) {
        /* splitmix64 of the seed, so small seeds still give a busy state. */
        uint64_t z = seed + 0x9e3779b97f4a7c15ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        *r = (struct rng) { .s = z ? z : 1 };
}

/* xorshift64* */
static uint64_t rng_next(struct rng *r) {
        r->s ^= r->s >> 12;
        r->s ^= r->s << 25;
        r->s ^= r->s >> 27;
        return r->s * 0x2545f4914f6cdd1dull;
}

/* Uniform in (0, 1), never 0, so log() below is finite. */
static double rng_uniform(struct rng *r) {
        return ((double) (rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Standard normal, Box-Muller (both outputs used). */
static double rng_gauss(struct rng *r) {
        if (r->have_spare) {
                r->have_spare = false;
                return r->spare;
        }
        double u = rng_uniform(r), v = rng_uniform(r);
        double m = sqrt(-2.0 * log(u));
        r->spare = m * sin(2.0 * BENCH_PI * v);
        r->have_spare = true;
        return m * cos(2.0 * BENCH_PI * v);
}

/* A QRS-like wave: a narrow positive R with small Q and S dips, t in s from
 * the R peak. */
static double qrs_shape(double t) {
        double r = exp(-0.5 * (t / 0.008) * (t / 0.008));
        double q = exp(-0.5 * ((t + 0.020) / 0.008) * ((t + 0.020) / 0.008));
        double s = exp(-0.5 * ((t - 0.022) / 0.010) * ((t - 0.022) / 0.010));
        return r - 0.15 * q - 0.25 * s;
}

/* Muscle: Gaussian noise through two band-pass sections around the
 * surface-EMG peak (RBJ band-pass, transposed direct form II), scaled to
 * unit RMS. Little of it is left above ~300 Hz, as in real surface EMG;
 * white-noise bursts would read as a noisy electrode, not as muscle. */
#define SHAPER_STAGES 2

struct shaper {
        double b0, b2, a1, a2; /* b1 = 0 */
        double z1[SHAPER_STAGES][BENCH_N_EMG], z2[SHAPER_STAGES][BENCH_N_EMG];
        double gain;
};

static double shaper_step(struct shaper *s, unsigned c, double x) {
        for (unsigned k = 0; k < SHAPER_STAGES; k++) {
                double y = s->b0 * x + s->z1[k][c];
                s->z1[k][c] = -s->a1 * y + s->z2[k][c];
                s->z2[k][c] = s->b2 * x - s->a2 * y;
                x = y;
        }
        return s->gain * x;
}

static void shaper_init(struct shaper *s, double rate_hz, double centre_hz, double quality) {
        double w = 2.0 * BENCH_PI * centre_hz / rate_hz, alpha = sin(w) / (2.0 * quality), a0 = 1.0 + alpha;
        *s = (struct shaper) { .b0 = alpha / a0, .b2 = -alpha / a0, .a1 = -2.0 * cos(w) / a0,
                               .a2 = (1.0 - alpha) / a0, .gain = 1.0 };
        /* Unit RMS for unit white noise: 1 / sqrt(sum of h^2). */
        double energy = 0.0;
        for (unsigned i = 0; i < 1u << 16; i++) {
                double h = shaper_step(s, 0, i == 0 ? 1.0 : 0.0);
                energy += h * h;
        }
        memset(s->z1, 0, sizeof(s->z1));
        memset(s->z2, 0, sizeof(s->z2));
        s->gain = energy > 0.0 ? 1.0 / sqrt(energy) : 1.0;
}

/* Raised-cosine envelope of a burst starting at t0, 0..1. */
static double burst_envelope(double t, double t0) {
        double u = t - t0;
        if (u < 0.0 || u > BURST_S)
                return 0.0;
        if (u < BURST_RAMP_S)
                return 0.5 - 0.5 * cos(BENCH_PI * u / BURST_RAMP_S);
        if (u > BURST_S - BURST_RAMP_S)
                return 0.5 - 0.5 * cos(BENCH_PI * (BURST_S - u) / BURST_RAMP_S);
        return 1.0;
}

static int stream_generate(struct stream *st, const struct options *o) {
        const unsigned n = BENCH_N_EMG;
        double frames_d = floor(o->seconds * o->rate_hz);

        if (!(frames_d >= 1.0) || frames_d > (double) (SIZE_MAX / sizeof(float) / (n + BENCH_N_IMU)))
                return -ERANGE;
        *st = (struct stream) { .frames = (size_t) frames_d, .n_emg = n, .rate_hz = o->rate_hz };
        st->emg = malloc(st->frames * n * sizeof(float));
        st->imu = malloc(st->frames * BENCH_N_IMU * sizeof(float));
        if (!st->emg || !st->imu)
                return -ENOMEM;

        struct rng r;
        rng_init(&r, o->seed);

        /* Per-channel constants: electrode offset, mains phase and pick-up,
         * ECG pick-up (strong on even channels of the first half). */
        double offset[BENCH_N_EMG], phase[BENCH_N_EMG], pickup[BENCH_N_EMG], ecg_gain[BENCH_N_EMG];
        for (unsigned c = 0; c < n; c++) {
                offset[c] = 200.0 * (rng_uniform(&r) - 0.5);
                phase[c] = 2.0 * BENCH_PI * rng_uniform(&r);
                pickup[c] = 0.7 + 0.6 * rng_uniform(&r);
                ecg_gain[c] = (c % 2 == 0 ? 1.0 : 0.4) * (c < n / 2 ? 1.0 : 0.3);
        }

        /* Bursts: every BURST_EVERY_S from BURST_FIRST_S, each on two or three
         * neighbouring channels. */
        double burst_t0[64];
        uint32_t burst_mask[64];
        unsigned n_bursts = 0;
        for (double t0 = BURST_FIRST_S; t0 + BURST_S <= o->seconds && n_bursts < 64; t0 += BURST_EVERY_S) {
                unsigned first = (n_bursts * 3u) % n, width = 2u + n_bursts % 2u;
                uint32_t mask = 0;
                for (unsigned k = 0; k < width; k++)
                        mask |= 1u << ((first + k) % n);
                burst_t0[n_bursts] = t0;
                burst_mask[n_bursts++] = mask;
        }
        st->bursts = n_bursts;
        struct shaper emg_shape;
        shaper_init(&emg_shape, o->rate_hz, fmin(100.0, 0.2 * o->rate_hz), 0.8);

        /* Heart beats: 72 bpm with +-5 % beat-to-beat jitter. */
        double beat = 0.5, period = 60.0 / ECG_BPM;
        unsigned next_burst = 0;
        const double dt = 1.0 / o->rate_hz;

        for (size_t i = 0; i < st->frames; i++) {
                double t = (double) i * dt;
                if (t > beat + 0.1)
                        beat += period * (0.95 + 0.1 * rng_uniform(&r));
                double qrs = qrs_shape(t - beat);
                double w = 2.0 * BENCH_PI * MAINS_HZ * t;

                while (next_burst < n_bursts && t > burst_t0[next_burst] + BURST_S)
                        next_burst++;
                double env = 0.0;
                uint32_t mask = 0;
                if (next_burst < n_bursts) {
                        env = burst_envelope(t, burst_t0[next_burst]);
                        mask = burst_mask[next_burst];
                }

                float *e = st->emg + i * n;
                for (unsigned c = 0; c < n; c++) {
                        double x = offset[c] + NOISE_UV_RMS * rng_gauss(&r);
                        x += pickup[c] * MAINS_UV * (sin(w + phase[c]) + 0.10 * sin(3.0 * (w + phase[c]))
                                                     + 0.05 * sin(5.0 * (w + phase[c])));
                        x += ECG_QRS_UV * ecg_gain[c] * qrs;
                        double muscle = shaper_step(&emg_shape, c, rng_gauss(&r));
                        if (env > 0.0 && (mask & (1u << c)))
                                x += env * BURST_UV_RMS * muscle;
                        e[c] = (float) x;
                }

                float *m = st->imu + i * BENCH_N_IMU;
                m[0] = (float) (ACC_NOISE * rng_gauss(&r));
                m[1] = (float) (GRAVITY + ACC_NOISE * rng_gauss(&r));
                m[2] = (float) (ACC_NOISE * rng_gauss(&r));
                for (unsigned k = 3; k < BENCH_N_IMU; k++)
                        m[k] = (float) (GYR_NOISE * rng_gauss(&r));
        }
        return 0;
}

static void stream_free(struct stream *st) {
        free(st->emg);
        free(st->imu);
        st->emg = st->imu = NULL;
}

/* --- dump ------------------------------------------------------------------ */

/* Byte by byte, so the file is little-endian whatever the host is. */
static void put_f32le(unsigned char *p, float v) {
        uint32_t u;
        memcpy(&u, &v, sizeof(u));
        p[0] = (unsigned char) (u & 0xffu);
        p[1] = (unsigned char) ((u >> 8) & 0xffu);
        p[2] = (unsigned char) ((u >> 16) & 0xffu);
        p[3] = (unsigned char) ((u >> 24) & 0xffu);
}

static int stream_dump(const struct stream *st, const char *path) {
        const size_t per_frame = st->n_emg + BENCH_N_IMU, chunk_frames = 4096;
        unsigned char *buf = malloc(chunk_frames * per_frame * 4);
        FILE *f = fopen(path, "wb");
        int r = 0;

        if (!buf || !f) {
                r = -errno;
                if (r == 0)
                        r = -ENOMEM;
                goto out;
        }
        for (size_t i0 = 0; i0 < st->frames; i0 += chunk_frames) {
                size_t nf = st->frames - i0 < chunk_frames ? st->frames - i0 : chunk_frames;
                unsigned char *p = buf;
                for (size_t i = i0; i < i0 + nf; i++) {
                        for (unsigned c = 0; c < st->n_emg; c++, p += 4)
                                put_f32le(p, st->emg[i * st->n_emg + c]);
                        for (unsigned k = 0; k < BENCH_N_IMU; k++, p += 4)
                                put_f32le(p, st->imu[i * BENCH_N_IMU + k]);
                }
                if (fwrite(buf, 4 * per_frame, nf, f) != nf) {
                        r = -EIO;
                        goto out;
                }
        }
out:
        if (f && fclose(f) != 0 && r == 0)
                r = -EIO;
        free(buf);
        return r;
}

/* --- the timed part ---------------------------------------------------------- */

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

static int make_detector(const struct stream *st, struct detector **ret) {
        struct detector_config cfg;
        detector_config_defaults(&cfg);
        cfg.rate_hz = st->rate_hz;
        cfg.n_emg = st->n_emg;
        cfg.has_imu = true;
        return detector_new(&cfg, ret);
}

static void count_notices(const struct spasm_notice *out, int n, struct run_result *res) {
        res->notices += (uint64_t) n;
        for (int i = 0; i < n; i++)
                if (out[i].kind == SPASM_NOTICE_ENDED)
                        res->ended++;
}

static int run_once(const struct stream *st, struct spasm_notice *notices, struct run_result *res) {
        struct detector *d = NULL;
        int r = make_detector(st, &d);
        if (r < 0)
                return r;
        *res = (struct run_result) { 0 };

        double t0 = now_s();
        size_t done = 0;
        while (done < st->frames) {
                size_t consumed = 0;
                r = detector_push_block(d, st->frames - done, st->emg + done * st->n_emg,
                                        st->imu + done * BENCH_N_IMU, notices, BENCH_NOTICES, &consumed);
                if (r < 0)
                        goto out;
                count_notices(notices, r, res);
                if (consumed == 0 && r == 0) {
                        r = -EPROTO; /* no progress: would loop for ever */
                        goto out;
                }
                done += consumed;
        }
        r = detector_flush(d, notices, BENCH_NOTICES);
        if (r < 0)
                goto out;
        count_notices(notices, r, res);
        res->seconds = now_s() - t0;
        r = 0;
out:
        detector_free(d);
        return r;
}

/* One more pass outside the timing, to show what the detector made of it. */
static void print_status(const struct stream *st) {
        struct detector *d = NULL;
        struct spasm_notice *notices = calloc(BENCH_NOTICES, sizeof(*notices));
        if (!notices || make_detector(st, &d) < 0) {
                free(notices);
                return;
        }
        size_t done = 0;
        while (done < st->frames) {
                size_t consumed = 0;
                int r = detector_push_block(d, st->frames - done, st->emg + done * st->n_emg,
                                            st->imu + done * BENCH_N_IMU, notices, BENCH_NOTICES, &consumed);
                if (r < 0 || (consumed == 0 && r == 0))
                        break;
                for (int i = 0; i < r; i++)
                        if (notices[i].kind == SPASM_NOTICE_ENDED)
                                printf("# event %u %s %.2f-%.2f s mask=0x%02x peak=%.1f uV\n",
                                       (unsigned) notices[i].event.id, spasm_class_to_string(notices[i].event.class),
                                       notices[i].event.onset_s, notices[i].event.offset_s,
                                       (unsigned) notices[i].event.channel_mask, (double) notices[i].event.peak_uv);
                done += consumed;
        }
        for (unsigned c = 0; c < st->n_emg; c++) {
                struct detector_channel_status cs;
                if (detector_channel_status(d, c, &cs) == 0)
                        printf("# channel %u noise_floor=%.2f uV mains=%.0f Hz contact=%s\n", c,
                               (double) cs.noise_floor_uv, (double) cs.mains_hz, spasm_contact_to_string(cs.contact));
        }
        printf("# posture %s\n", spasm_posture_to_string(detector_posture(d)));
        detector_free(d);
        free(notices);
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

/* --- main -------------------------------------------------------------------- */

static void usage(FILE *f) {
        fputs("usage: bench-detector [--seconds N] [--repeat R] [--rate HZ] [--seed S] [--dump FILE]\n"
              "  --seconds N   length of the generated stream (default 120)\n"
              "  --repeat R    timed runs, a fresh detector each (default 5)\n"
              "  --rate HZ     sample rate (default 2000)\n"
              "  --seed S      generator seed (default 1)\n"
              "  --dump FILE   write the stream as little-endian float32, frame major,\n"
              "                8 EMG + 6 IMU values per frame\n",
              f);
}

static int parse_double(const char *s, double lo, double hi, double *ret) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi))
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *ret) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 0);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < lo || v > hi)
                return -EINVAL;
        *ret = (uint64_t) v;
        return 0;
}

static int parse_options(int argc, char **argv, struct options *o) {
        static const struct option longopts[] = {
                { "seconds", required_argument, NULL, 's' },
                { "repeat", required_argument, NULL, 'r' },
                { "rate", required_argument, NULL, 'f' },
                { "seed", required_argument, NULL, 'S' },
                { "dump", required_argument, NULL, 'd' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        int opt;
        uint64_t u;

        *o = (struct options) { .seconds = 120.0, .rate_hz = 2000.0, .repeat = 5, .seed = 1 };
        while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                switch (opt) {
                case 's':
                        if (parse_double(optarg, 1.0, 86400.0, &o->seconds) < 0) {
                                fprintf(stderr, "bench-detector: --seconds wants 1..86400, got '%s'\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case 'r':
                        if (parse_u64(optarg, 1, 1000, &u) < 0) {
                                fprintf(stderr, "bench-detector: --repeat wants 1..1000, got '%s'\n", optarg);
                                return -EINVAL;
                        }
                        o->repeat = (unsigned) u;
                        break;
                case 'f':
                        if (parse_double(optarg, DETECTOR_MIN_RATE_HZ, DETECTOR_MAX_RATE_HZ, &o->rate_hz) < 0) {
                                fprintf(stderr, "bench-detector: --rate wants %g..%g, got '%s'\n",
                                        DETECTOR_MIN_RATE_HZ, DETECTOR_MAX_RATE_HZ, optarg);
                                return -EINVAL;
                        }
                        break;
                case 'S':
                        if (parse_u64(optarg, 0, UINT64_MAX, &o->seed) < 0) {
                                fprintf(stderr, "bench-detector: bad --seed '%s'\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case 'd':
                        o->dump = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        exit(EXIT_SUCCESS);
                default:
                        usage(stderr);
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "bench-detector: unexpected argument '%s'\n", argv[optind]);
                usage(stderr);
                return -EINVAL;
        }
        return 0;
}

int main(int argc, char **argv) {
        struct options o;
        struct stream st = { 0 };
        struct spasm_notice *notices = NULL;
        double *times = NULL;
        int r, ret = EXIT_FAILURE;

        if (parse_options(argc, argv, &o) < 0)
                return 2;

        r = stream_generate(&st, &o);
        if (r < 0) {
                fprintf(stderr, "bench-detector: cannot generate the stream: %s\n", strerror(-r));
                goto out;
        }
        if (o.dump) {
                r = stream_dump(&st, o.dump);
                if (r < 0) {
                        fprintf(stderr, "bench-detector: cannot write %s: %s\n", o.dump, strerror(-r));
                        goto out;
                }
        }

        notices = calloc(BENCH_NOTICES, sizeof(*notices));
        times = calloc(o.repeat, sizeof(*times));
        if (!notices || !times) {
                fprintf(stderr, "bench-detector: out of memory\n");
                goto out;
        }

        struct run_result first = { 0 };
        for (unsigned k = 0; k < o.repeat; k++) {
                struct run_result res;
                r = run_once(&st, notices, &res);
                if (r < 0) {
                        fprintf(stderr, "bench-detector: detector failed: %s\n", strerror(-r));
                        goto out;
                }
                if (k == 0)
                        first = res;
                else if (res.notices != first.notices || res.ended != first.ended) {
                        fprintf(stderr, "bench-detector: run %u gave %llu notices, run 0 gave %llu: not deterministic\n",
                                k, (unsigned long long) res.notices, (unsigned long long) first.notices);
                        goto out;
                }
                times[k] = res.seconds;
        }
        qsort(times, o.repeat, sizeof(*times), cmp_double);
        double best = times[0];
        double median = o.repeat % 2 ? times[o.repeat / 2] : 0.5 * (times[o.repeat / 2 - 1] + times[o.repeat / 2]);
        if (!(best > 0.0)) {
                fprintf(stderr, "bench-detector: the clock did not advance; use a longer --seconds\n");
                goto out;
        }

        const unsigned channels = st.n_emg + BENCH_N_IMU;
        const double frames = (double) st.frames, signal_s = frames / st.rate_hz;
        const double cs_best = frames * channels / best, cs_median = frames * channels / median;

        print_status(&st);
#ifdef __VERSION__
        printf("bench_compiler=%s\n", __VERSION__);
#endif
        printf("bench_rate_hz=%g\n", st.rate_hz);
        printf("bench_n_emg=%u\n", st.n_emg);
        printf("bench_n_imu=%u\n", BENCH_N_IMU);
        printf("bench_channels=%u\n", channels);
        printf("bench_frames=%zu\n", st.frames);
        printf("bench_signal_s=%g\n", signal_s);
        printf("bench_bursts=%u\n", st.bursts);
        printf("bench_seed=%llu\n", (unsigned long long) o.seed);
        printf("bench_repeat=%u\n", o.repeat);
        if (o.dump)
                printf("bench_dump=%s\n", o.dump);
        printf("detector_best_s=%.6f\n", best);
        printf("detector_median_s=%.6f\n", median);
        printf("detector_channel_samples_per_s=%.4e\n", cs_best);
        printf("detector_channel_samples_per_s_median=%.4e\n", cs_median);
        printf("detector_frames_per_s=%.4e\n", frames / best);
        printf("detector_ns_per_frame=%.2f\n", 1e9 * best / frames);
        printf("detector_realtime_factor=%.1f\n", signal_s / best);
        printf("detector_notices=%llu\n", (unsigned long long) first.notices);
        printf("detector_events=%llu\n", (unsigned long long) first.ended);
        {
                struct detector_config cfg;
                struct detector *probe = NULL;
                detector_config_defaults(&cfg);
                cfg.rate_hz = st.rate_hz;
                cfg.n_emg = st.n_emg;
                cfg.has_imu = true;
                if (detector_new(&cfg, &probe) == 0) {
                        size_t bytes = detector_state_size(probe);
                        printf("detector_state_bytes=%zu\n", bytes);
                        printf("detector_state_bytes_per_emg_channel=%zu\n", bytes / st.n_emg);
                        detector_free(probe);
                }
        }
        printf("detector: %zu frames x %u channels (%g s at %g Hz) in %.2f ms best of %u (median %.2f ms): "
               "%.3g channel-samples/s, %.3g frames/s, %.0fx real time\n",
               st.frames, channels, signal_s, st.rate_hz, 1e3 * best, o.repeat, 1e3 * median, cs_best,
               frames / best, signal_s / best);
        ret = EXIT_SUCCESS;
out:
        free(times);
        free(notices);
        stream_free(&st);
        return ret;
}
