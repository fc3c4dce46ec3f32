/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The detector's contract on small synthetic signals: what it reports, when,
 * and that it stays deterministic and sane on hostile input. Quality on
 * realistic scenes is measured by tests/sim. */

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "detector.h"
#include "synth.h"

#define RATE 1000.0
#define NOISE_UV 3.0
#define MAX_EVENTS 64

/* A scene: noise everywhere, and muscle bursts and trunk movements at given times. */
struct burst {
        double onset_s, offset_s, amplitude_uv;
        unsigned channel_mask;
};

struct movement {
        double onset_s, offset_s; /* trunk turning at 0.6 rad/s, acc swinging */
};

struct scene {
        double duration_s;
        unsigned n_emg;
        bool imu;
        const struct burst *bursts;
        size_t n_bursts;
        const struct movement *moves;
        size_t n_moves;
        double mains_hz, mains_uv;
        double ecg_uv, ecg_bpm;
        unsigned ecg_tall_every;                     /* every Nth beat twice as tall */
        double noisy_from_s, noisy_to_s, noisy_gain; /* an electrode getting noisier */
        double pop_at_s, pop_uv;                     /* an electrode pop: step, then decay */
        unsigned pop_channel;
        double pop_tau_s;                            /* 0: 0.1 s */
        double spike_at_s, spike_uv;                 /* one sample off by spike_uv ... */
        unsigned spike_mask;                         /* ... on these channels */
        double rate_hz;                              /* 0: RATE */
        double lying;                                /* gravity along z instead of y */
        uint64_t seed;
};

struct outcome {
        struct spasm_event ended[MAX_EVENTS];
        size_t n_ended;
        struct spasm_event onsets[MAX_EVENTS];
        size_t n_onsets;
        struct spasm_event classified[MAX_EVENTS];
        size_t n_classified;
        float mains_hz;
        enum spasm_posture posture;
};

static double envelope_at(const struct scene *s, double t, unsigned ch) {
        double a = 0.0;
        for (size_t i = 0; i < s->n_bursts; i++) {
                const struct burst *b = &s->bursts[i];
                if (t >= b->onset_s && t < b->offset_s && (b->channel_mask & (1u << ch)))
                        a = fmax(a, b->amplitude_uv);
        }
        return a;
}

static bool moving_at(const struct scene *s, double t) {
        for (size_t i = 0; i < s->n_moves; i++)
                if (t >= s->moves[i].onset_s && t < s->moves[i].offset_s)
                        return true;
        return false;
}

static double ecg_at(const struct scene *s, double t) {
        if (s->ecg_uv <= 0)
                return 0.0;
        double period = 60.0 / s->ecg_bpm, phase = fmod(t, period) - 0.3;
        double uv = s->ecg_tall_every && (unsigned) (t / period) % s->ecg_tall_every == 0 ? 2.0 * s->ecg_uv : s->ecg_uv;
        return uv * (exp(-phase * phase / (2 * 0.008 * 0.008)) - 0.25 * exp(-(phase - 0.025) * (phase - 0.025) / (2 * 0.01 * 0.01)));
}

static struct detector *new_detector(double rate_hz, unsigned n_emg, bool imu) {
        struct detector_config cfg;
        struct detector *d = NULL;

        detector_config_defaults(&cfg);
        cfg.rate_hz = rate_hz;
        cfg.n_emg = n_emg;
        cfg.has_imu = imu;
        assert_int_equal(detector_new(&cfg, &d), 0);
        return d;
}

static void collect(struct outcome *o, const struct spasm_notice *n, int count) {
        for (int i = 0; i < count; i++) {
                switch (n[i].kind) {
                case SPASM_NOTICE_ONSET:
                        if (o->n_onsets < MAX_EVENTS)
                                o->onsets[o->n_onsets++] = n[i].event;
                        break;
                case SPASM_NOTICE_CLASSIFIED:
                        if (o->n_classified < MAX_EVENTS)
                                o->classified[o->n_classified++] = n[i].event;
                        break;
                case SPASM_NOTICE_ENDED:
                        if (o->n_ended < MAX_EVENTS)
                                o->ended[o->n_ended++] = n[i].event;
                        break;
                }
        }
}

static double artefact_at(const struct scene *s, double t) {
        if (s->pop_uv > 0 && t >= s->pop_at_s)
                return s->pop_uv * exp(-(t - s->pop_at_s) / (s->pop_tau_s > 0 ? s->pop_tau_s : 0.1));
        return 0.0;
}

static double noise_gain_at(const struct scene *s, double t) {
        return s->noisy_gain > 0 && t >= s->noisy_from_s && t < s->noisy_to_s ? s->noisy_gain : 1.0;
}

static void run_scene(const struct scene *s, struct outcome *o) {
        struct detector *d = NULL;
        struct synth rng = { .state = s->seed ? s->seed : 0x9e3779b97f4a7c15ULL };
        struct synth_emg muscle[DETECTOR_MAX_EMG];
        struct spasm_notice notices[DETECTOR_MAX_NOTICES_PER_FRAME];

        memset(o, 0, sizeof(*o));
        double rate = s->rate_hz > 0 ? s->rate_hz : RATE;
        d = new_detector(rate, s->n_emg, s->imu);
        for (unsigned c = 0; c < s->n_emg; c++)
                synth_emg_init(&muscle[c], rate);

        size_t frames = (size_t) (s->duration_s * rate);
        for (size_t i = 0; i < frames; i++) {
                double t = (double) i / rate;
                float emg[DETECTOR_MAX_EMG], imu[6];
                for (unsigned c = 0; c < s->n_emg; c++) {
                        double v = NOISE_UV * noise_gain_at(s, t) * synth_gauss(&rng) +
                                   envelope_at(s, t, c) * synth_emg_next(&muscle[c], &rng);
                        v += c == s->pop_channel ? artefact_at(s, t) : 0.0;
                        if (s->spike_uv != 0 && (s->spike_mask & (1u << c)) && i == (size_t) lround(s->spike_at_s * rate))
                                v += s->spike_uv;
                        v += s->mains_uv * sin(2 * M_PI * s->mains_hz * t) + ecg_at(s, t) * (c + 1) / s->n_emg;
                        emg[c] = (float) (v + 120.0); /* an electrode offset */
                }
                bool moving = moving_at(s, t);
                imu[0] = (float) (0.02 * synth_gauss(&rng) + (moving ? 1.5 * sin(2 * M_PI * 1.0 * t) : 0));
                imu[1] = (float) ((s->lying ? 0.0 : 9.81) + 0.02 * synth_gauss(&rng) + (moving ? 2.0 * sin(2 * M_PI * 2.0 * t) : 0));
                imu[2] = (float) ((s->lying ? 9.81 : 0.0) + 0.02 * synth_gauss(&rng));
                imu[3] = (float) (0.01 * synth_gauss(&rng) + (moving ? 0.6 : 0));
                imu[4] = (float) (0.01 * synth_gauss(&rng));
                imu[5] = (float) (0.01 * synth_gauss(&rng));
                int r = detector_push(d, emg, s->imu ? imu : NULL, notices, DETECTOR_MAX_NOTICES_PER_FRAME);
                assert_true(r >= 0);
                collect(o, notices, r);
        }
        int r = detector_flush(d, notices, DETECTOR_MAX_NOTICES_PER_FRAME);
        assert_true(r >= 0);
        collect(o, notices, r);
        struct detector_channel_status st;
        assert_int_equal(detector_channel_status(d, 0, &st), 0);
        o->mains_hz = st.mains_hz;
        o->posture = detector_posture(d);
        detector_free(d);
}

static void test_rest_is_quiet(void **state) {
        (void) state;
        struct scene s = { .duration_s = 60, .n_emg = 2, .imu = true, .mains_hz = 50, .mains_uv = 30 };
        struct outcome o;
        run_scene(&s, &o);
        assert_int_equal(o.n_onsets, 0);
        assert_int_equal(o.n_ended, 0);
}

static void test_sustained_burst_is_spasm(void **state) {
        (void) state;
        const struct burst b[] = { { 10.0, 14.0, 15.0, 1 } };
        struct scene s = { .duration_s = 20, .n_emg = 2, .imu = true, .bursts = b, .n_bursts = 1 };
        struct outcome o;
        run_scene(&s, &o);
        assert_int_equal(o.n_ended, 1);
        assert_int_equal(o.ended[0].class, SPASM_CLASS_SPASM);
        /* early news: onset announced fast, class as soon as 1 s has passed */
        assert_true(fabs(o.ended[0].onset_s - 10.0) < 0.15);
        assert_true(o.ended[0].announced_s - 10.0 < 0.3);
        assert_true(o.ended[0].detected_at_s - 10.0 < 1.3);
        assert_true(o.ended[0].detected_at_s - 10.0 >= 0.9);
        assert_true(fabs(o.ended[0].offset_s - 14.0) < 0.3);
        assert_int_equal(o.ended[0].channel_mask & 1u, 1u);
        assert_true(o.ended[0].intensity > 2.0f);
        assert_true(o.ended[0].mean_uv > 8.0f && o.ended[0].mean_uv < 25.0f);
        /* the onset notice came first, with the class still pending */
        assert_int_equal(o.n_onsets, 1);
        assert_int_equal(o.onsets[0].class, SPASM_CLASS_PENDING);
        assert_int_equal(o.n_classified, 1);
        assert_int_equal(o.classified[0].offset_s < 0, true);
}

static void test_short_burst_is_twitch(void **state) {
        (void) state;
        const struct burst b[] = { { 8.0, 8.4, 20.0, 2 }, { 12.0, 12.6, 12.0, 3 } };
        struct scene s = { .duration_s = 16, .n_emg = 2, .imu = true, .bursts = b, .n_bursts = 2 };
        struct outcome o;
        run_scene(&s, &o);
        assert_int_equal(o.n_ended, 2);
        for (size_t i = 0; i < 2; i++) {
                assert_int_equal(o.ended[i].class, SPASM_CLASS_TWITCH);
                assert_true(o.ended[i].offset_s - o.ended[i].onset_s < 1.0);
        }
        assert_int_equal(o.ended[0].channel_mask, 2u);
}

static void test_movement_makes_voluntary(void **state) {
        (void) state;
        const struct burst b[] = { { 10.0, 14.0, 15.0, 3 } };
        const struct movement m[] = { { 9.8, 14.0 } };
        struct scene s = { .duration_s = 20, .n_emg = 2, .imu = true, .bursts = b, .n_bursts = 1, .moves = m, .n_moves = 1 };
        struct outcome o;
        run_scene(&s, &o);
        assert_true(o.n_ended >= 1);
        for (size_t i = 0; i < o.n_ended; i++)
                assert_int_equal(o.ended[i].class, SPASM_CLASS_VOLUNTARY);
}

static void test_without_imu_never_voluntary(void **state) {
        (void) state;
        const struct burst b[] = { { 10.0, 14.0, 15.0, 3 } };
        const struct movement m[] = { { 9.8, 14.0 } };
        struct scene s = { .duration_s = 20, .n_emg = 2, .imu = false, .bursts = b, .n_bursts = 1, .moves = m, .n_moves = 1 };
        struct outcome o;
        run_scene(&s, &o);
        assert_int_equal(o.n_ended, 1);
        assert_int_equal(o.ended[0].class, SPASM_CLASS_SPASM);
}

static void test_mains_found(void **state) {
        (void) state;
        struct outcome o;
        struct scene s50 = { .duration_s = 8, .n_emg = 1, .mains_hz = 50, .mains_uv = 20 };
        run_scene(&s50, &o);
        assert_true(o.mains_hz == 50.0f);
        assert_int_equal(o.n_ended, 0);
        struct scene s60 = { .duration_s = 8, .n_emg = 1, .mains_hz = 60, .mains_uv = 20 };
        run_scene(&s60, &o);
        assert_true(o.mains_hz == 60.0f);
        struct scene none = { .duration_s = 8, .n_emg = 1 };
        run_scene(&none, &o);
        assert_true(o.mains_hz == 0.0f);
}

static void test_heartbeats_are_not_events(void **state) {
        (void) state;
        struct outcome o;
        for (double uv = 40; uv <= 160; uv += 60) {
                struct scene s = { .duration_s = 40, .n_emg = 2, .ecg_uv = uv, .ecg_bpm = 72 };
                run_scene(&s, &o);
                for (size_t i = 0; i < o.n_ended; i++)
                        print_message("ecg %.0f uV: %s %.2f-%.2f peak %.1f\n", uv, spasm_class_to_string(o.ended[i].class),
                                      o.ended[i].onset_s, o.ended[i].offset_s, o.ended[i].peak_uv);
                assert_int_equal(o.n_onsets, 0);
        }
}

static void test_heartbeats_around_contractions(void **state) {
        (void) state;
        /* 250 Hz, a QRS far above the floor, some beats twice as tall; beats
         * go unseen under a contraction and must not become events after it;
         * a twitch soon after a beat keeps its own onset. Beats at 0.3 s +
         * k x 0.8 s: 19.5, 20.3 ... 23.5, 24.3 ... 29.9, 30.7. */
        const struct burst b[] = { { 20.0, 23.0, 40.0, 1 }, { 30.15, 30.65, 40.0, 1 } };
        for (double uv = 100; uv <= 400; uv += 100) {
                struct scene s = { .duration_s = 40, .n_emg = 1, .ecg_uv = uv, .ecg_bpm = 75, .ecg_tall_every = 3,
                                   .bursts = b, .n_bursts = 2, .rate_hz = 250 };
                struct outcome o;
                run_scene(&s, &o);
                for (size_t i = 0; i < o.n_ended; i++)
                        print_message("ecg %.0f uV: %s %.2f-%.2f\n", uv, spasm_class_to_string(o.ended[i].class),
                                      o.ended[i].onset_s, o.ended[i].offset_s);
                assert_int_equal(o.n_onsets, 2);
                assert_int_equal(o.n_ended, 2);
                assert_int_equal(o.ended[0].class, SPASM_CLASS_SPASM);
                assert_true(fabs(o.ended[0].onset_s - 20.0) < 0.15);
                assert_int_equal(o.ended[1].class, SPASM_CLASS_TWITCH);
                assert_true(fabs(o.ended[1].onset_s - 30.15) < 0.1);
        }
}

static void test_noisier_electrode_is_not_muscle(void **state) {
        (void) state;
        /* Amplifier noise x3 for 20 s: whatever gets announced must end withdrawn. */
        struct scene s = { .duration_s = 40, .n_emg = 2, .imu = true, .noisy_from_s = 8, .noisy_to_s = 28, .noisy_gain = 3 };
        struct outcome o;
        run_scene(&s, &o);
        for (size_t i = 0; i < o.n_ended; i++)
                assert_int_equal(o.ended[i].class, SPASM_CLASS_WITHDRAWN);
        assert_int_equal(o.n_classified, 0);
}

static void test_pop_is_not_an_event(void **state) {
        (void) state;
        struct scene s = { .duration_s = 15, .n_emg = 2, .pop_at_s = 7.0, .pop_uv = 2000 };
        struct outcome o;
        run_scene(&s, &o);
        assert_int_equal(o.n_onsets, 0);
}

static void test_spike_does_not_blind(void **state) {
        (void) state;
        /* A single sample tens of mV off on both leads (a discharge, a tug on
         * the cable) is no muscle and must not hide the spasm after it. */
        const struct burst b[] = { { 12.5, 16.5, 15.0, 3 } };
        const double rates[] = { 250, 1000, 4000 }, uvs[] = { 30000, -30000, 100000 };
        for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++)
                for (size_t u = 0; u < sizeof(uvs) / sizeof(uvs[0]); u++) {
                        struct scene s = { .duration_s = 20, .n_emg = 2, .imu = true, .bursts = b, .n_bursts = 1,
                                           .rate_hz = rates[r], .spike_at_s = 10.0, .spike_uv = uvs[u], .spike_mask = 3 };
                        struct outcome o;
                        run_scene(&s, &o);
                        for (size_t i = 0; i < o.n_ended; i++)
                                print_message("%.0f Hz, spike %.0f uV: %s %.2f-%.2f\n", rates[r], uvs[u],
                                              spasm_class_to_string(o.ended[i].class), o.ended[i].onset_s, o.ended[i].offset_s);
                        assert_int_equal(o.n_ended, 1);
                        assert_int_equal(o.ended[0].class, SPASM_CLASS_SPASM);
                        assert_true(fabs(o.ended[0].onset_s - 12.5) < 0.1);
                }
}

static void test_spike_on_one_channel(void **state) {
        (void) state;
        /* A spike on one lead, and a pop on the other a moment later: neither
         * is an event, on either channel (the spike's hold-off must not cut
         * the pop in two, its tail judged afresh as a burst). */
        const double uvs[] = { 30000, 100000 };
        for (size_t u = 0; u < sizeof(uvs) / sizeof(uvs[0]); u++) {
                struct scene s = { .duration_s = 15, .n_emg = 2, .imu = true, .mains_hz = 50, .mains_uv = 30,
                                   .spike_at_s = 7.0, .spike_uv = uvs[u], .spike_mask = 1,
                                   .pop_at_s = 7.11, .pop_uv = 2000, .pop_channel = 1 };
                struct outcome o;
                run_scene(&s, &o);
                for (size_t i = 0; i < o.n_ended; i++)
                        print_message("spike %.0f uV: %s %.2f-%.2f on %#x\n", uvs[u], spasm_class_to_string(o.ended[i].class),
                                      o.ended[i].onset_s, o.ended[i].offset_s, o.ended[i].channel_mask);
                assert_int_equal(o.n_onsets, 0);
        }
}

static void test_low_rate_burst(void **state) {
        (void) state;
        /* 250 Hz: the narrow band still finds a spasm and a twitch, and nothing else. */
        const struct burst b[] = { { 8.0, 11.0, 15.0, 1 }, { 15.0, 15.5, 20.0, 2 } };
        struct scene s = { .duration_s = 20, .n_emg = 2, .imu = true, .bursts = b, .n_bursts = 2, .rate_hz = 250 };
        struct outcome o;
        run_scene(&s, &o);
        assert_int_equal(o.n_ended, 2);
        assert_int_equal(o.ended[0].class, SPASM_CLASS_SPASM);
        assert_int_equal(o.ended[1].class, SPASM_CLASS_TWITCH);
}

static void test_posture(void **state) {
        (void) state;
        struct outcome o;
        struct scene up = { .duration_s = 5, .n_emg = 1, .imu = true };
        run_scene(&up, &o);
        assert_int_equal(o.posture, SPASM_POSTURE_STANDING);
        struct scene flat = { .duration_s = 5, .n_emg = 1, .imu = true, .lying = 1 };
        run_scene(&flat, &o);
        assert_int_equal(o.posture, SPASM_POSTURE_LYING);
        struct scene none = { .duration_s = 5, .n_emg = 1 };
        run_scene(&none, &o);
        assert_int_equal(o.posture, SPASM_POSTURE_UNKNOWN);
}

static void test_deterministic(void **state) {
        (void) state;
        const struct burst b[] = { { 5.0, 7.5, 10.0, 1 }, { 11.0, 11.3, 25.0, 2 } };
        struct scene s = { .duration_s = 14, .n_emg = 2, .imu = true, .bursts = b, .n_bursts = 2, .seed = 42 };
        struct outcome *a = calloc(1, sizeof(*a)), *c = calloc(1, sizeof(*c));
        assert_non_null(a);
        assert_non_null(c);
        run_scene(&s, a);
        run_scene(&s, c);
        assert_int_equal(a->n_ended, c->n_ended);
        assert_memory_equal(a->ended, c->ended, sizeof(a->ended[0]) * a->n_ended);
        free(a);
        free(c);
}

static void test_gap_ends_activation(void **state) {
        (void) state;
        struct detector *d = NULL;
        struct synth rng = { .state = 7 };
        struct synth_emg m;
        struct spasm_notice n[DETECTOR_MAX_NOTICES_PER_FRAME];
        struct outcome o = { 0 };

        d = new_detector(RATE, 1, false);
        synth_emg_init(&m, RATE);
        for (int i = 0; i < (int) (RATE * 6.5); i++) {
                float x = (float) (NOISE_UV * synth_gauss(&rng) + (i >= 5000 ? 20.0 * synth_emg_next(&m, &rng) : 0.0));
                int r = detector_push(d, &x, NULL, n, DETECTOR_MAX_NOTICES_PER_FRAME);
                assert_true(r >= 0);
                collect(&o, n, r);
        }
        assert_int_equal(o.n_onsets, 1);
        int r = detector_gap(d, (uint64_t) RATE * 3, n, DETECTOR_MAX_NOTICES_PER_FRAME);
        assert_true(r >= 1);
        collect(&o, n, r);
        assert_int_equal(o.n_ended, 1);
        /* ended where the data stopped, not across the gap */
        assert_true(o.ended[0].offset_s <= 6.51);
        assert_true(detector_time_s(d) >= 9.5 - 1e-9);
        detector_free(d);
}

static void test_hostile_samples(void **state) {
        (void) state;
        struct detector *d = NULL;
        struct synth rng = { .state = 99 };
        struct spasm_notice n[DETECTOR_MAX_NOTICES_PER_FRAME];
        const float specials[] = { NAN, INFINITY, -INFINITY, 3e38f, -3e38f, 0.0f, 1e-38f };

        d = new_detector(250, 2, true);
        for (int i = 0; i < 250 * 60; i++) {
                float emg[2], imu[6];
                for (int c = 0; c < 2; c++)
                        emg[c] = (i / 2500) % 2 ? specials[(i + c) % 7] : (float) (5 * synth_gauss(&rng));
                for (int k = 0; k < 6; k++)
                        imu[k] = (i / 3000) % 2 ? specials[(i + k) % 7] : (float) synth_gauss(&rng);
                int r = detector_push(d, emg, imu, n, DETECTOR_MAX_NOTICES_PER_FRAME);
                assert_true(r >= 0 && r <= DETECTOR_MAX_NOTICES_PER_FRAME);
                for (int k = 0; k < r; k++)
                        if (n[k].kind == SPASM_NOTICE_ENDED)
                                assert_true(n[k].event.offset_s >= n[k].event.onset_s);
        }
        assert_true(detector_flush(d, n, DETECTOR_MAX_NOTICES_PER_FRAME) >= 0);
        detector_free(d);
}

static void test_config_bounds(void **state) {
        (void) state;
        struct detector_config cfg;
        struct detector *d = NULL;
        struct spasm_notice n[DETECTOR_MAX_NOTICES_PER_FRAME];

        detector_config_defaults(&cfg);
        cfg.rate_hz = 100;
        assert_int_equal(detector_new(&cfg, &d), -ERANGE);
        cfg.rate_hz = 5000;
        assert_int_equal(detector_new(&cfg, &d), -ERANGE);
        cfg.rate_hz = NAN;
        assert_int_equal(detector_new(&cfg, &d), -ERANGE);
        cfg.rate_hz = 1000;
        cfg.n_emg = 0;
        assert_int_equal(detector_new(&cfg, &d), -ERANGE);
        cfg.n_emg = DETECTOR_MAX_EMG + 1;
        assert_int_equal(detector_new(&cfg, &d), -ERANGE);
        cfg.n_emg = 2;
        cfg.on_ratio = 2;
        cfg.off_ratio = 3;
        assert_int_equal(detector_new(&cfg, &d), -EINVAL);
        cfg.off_ratio = 0;
        cfg.on_ratio = 0;
        assert_int_equal(detector_new(&cfg, &d), 0);
        float x[2] = { 0, 0 };
        assert_int_equal(detector_push(d, x, NULL, n, 1), -ENOBUFS);
        assert_int_equal(detector_channel_status(d, 2, &(struct detector_channel_status) { 0 }), -ERANGE);
        assert_int_equal(detector_set_mvc(d, 0, -1.0f), -EINVAL);
        assert_int_equal(detector_set_mvc(d, 0, 200.0f), 0);
        detector_free(d);
}

static void test_mvc_percentage(void **state) {
        (void) state;
        /* Calibrated: intensity is also given as a share of the maximum contraction. */
        struct detector *d = NULL;
        struct synth rng = { .state = 3 };
        struct synth_emg m;
        struct spasm_notice n[DETECTOR_MAX_NOTICES_PER_FRAME];
        struct outcome o = { 0 };

        d = new_detector(RATE, 1, false);
        assert_int_equal(detector_set_mvc(d, 0, 100.0f), 0);
        synth_emg_init(&m, RATE);
        for (int i = 0; i < (int) (RATE * 10); i++) {
                float x = (float) (NOISE_UV * synth_gauss(&rng) + (i >= 4000 && i < 7000 ? 25.0 * synth_emg_next(&m, &rng) : 0.0));
                int r = detector_push(d, &x, NULL, n, DETECTOR_MAX_NOTICES_PER_FRAME);
                collect(&o, n, r);
        }
        assert_int_equal(o.n_ended, 1);
        assert_true(o.ended[0].intensity_mvc_pct > 15.0f && o.ended[0].intensity_mvc_pct < 35.0f);
        detector_clear_calibration(d);
        detector_free(d);
}

static void test_names(void **state) {
        (void) state;
        assert_string_equal(spasm_class_to_string(SPASM_CLASS_SPASM), "spasm");
        assert_string_equal(spasm_class_to_string(SPASM_CLASS_TWITCH), "twitch");
        assert_string_equal(spasm_class_to_string(SPASM_CLASS_VOLUNTARY), "voluntary");
        assert_string_equal(spasm_posture_to_string(SPASM_POSTURE_LYING), "lying");
        assert_string_equal(spasm_contact_to_string(SPASM_CONTACT_POOR), "poor");
        assert_string_equal(spasm_class_to_string(SPASM_CLASS_WITHDRAWN), "withdrawn");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rest_is_quiet),
                cmocka_unit_test(test_sustained_burst_is_spasm),
                cmocka_unit_test(test_short_burst_is_twitch),
                cmocka_unit_test(test_movement_makes_voluntary),
                cmocka_unit_test(test_without_imu_never_voluntary),
                cmocka_unit_test(test_mains_found),
                cmocka_unit_test(test_heartbeats_are_not_events),
                cmocka_unit_test(test_heartbeats_around_contractions),
                cmocka_unit_test(test_noisier_electrode_is_not_muscle),
                cmocka_unit_test(test_pop_is_not_an_event),
                cmocka_unit_test(test_spike_does_not_blind),
                cmocka_unit_test(test_spike_on_one_channel),
                cmocka_unit_test(test_low_rate_burst),
                cmocka_unit_test(test_posture),
                cmocka_unit_test(test_deterministic),
                cmocka_unit_test(test_gap_ends_activation),
                cmocka_unit_test(test_hostile_samples),
                cmocka_unit_test(test_config_bounds),
                cmocka_unit_test(test_mvc_percentage),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
