/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The spasm detector (daemon/detect/): streams of samples built from the
 * input, with NaN, infinities, huge values, flat rails, noise bursts that
 * look like muscle, mains hum, IMU motion, gaps, flushes and calibration
 * calls, under a configuration the input picks.
 *
 * Input: a header (rate 200..4000 Hz, 1..16 EMG channels, IMU or not,
 * tunables in the ranges spasmd.conf allows), then operations; each
 * generates frames with a small PRNG seeded from the input, so that a few
 * bytes make seconds of signal.
 *
 * Checked beyond the sanitizers, for every notice:
 *   - ids run 1, 2, 3 ...; ONSET, then at most one CLASSIFIED, then ENDED,
 *     one activation at a time, and activations do not overlap;
 *   - an ENDED event lasts >= 0 (offset_s >= onset_s), its class is decided
 *     (WITHDRAWN only if it was never classified, else the class given);
 *   - times are finite and not in the future, masks name real channels;
 *   - flush and gaps end a running activation, and the API's return values
 *     are what detector.h promises.
 */

#include <float.h>
#include <math.h>

#include "detector.h"
#include "fuzz-util.h"

/* Enough for several activations at 1 kHz, little enough to stay fast under ASan. */
#define MAX_FRAMES 40000
#define MAX_WORK 100000        /* frames x channels */
#define BLOCK_NOTICES 16

struct rng {
        uint32_t s;
};

static uint32_t rng_next(struct rng *r) {
        /* xorshift32: cheap, and the same on every compiler. */
        uint32_t x = r->s ? r->s : 0x9e3779b9u;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        r->s = x;
        return x;
}

/* Roughly normal, mean 0, deviation 1: the sum of four uniforms, rescaled. */
static float rng_gauss(struct rng *r) {
        float s = 0.0f;
        for (int i = 0; i < 4; i++)
                s += (float) (rng_next(r) >> 8) / 16777216.0f;
        return (s - 2.0f) * 1.7320508f;
}

struct state {
        struct detector *d;
        struct detector_config cfg;
        unsigned n;
        bool block;              /* feed through detector_push_block() */
        bool imu_null;           /* pass imu = NULL even with an IMU */
        size_t frames, work;
        double last_time;

        /* The notice protocol, as seen from outside. */
        uint32_t last_id, open_id;
        bool classified;
        enum spasm_class open_class;
        double open_onset, last_offset;

        /* The IMU's state: gravity direction (posture) and motion. */
        float gravity[3];
        float shake;
};

static void check_event_fields(const struct state *st, const struct spasm_event *e, double now) {
        uint32_t all = st->n >= 32 ? UINT32_MAX : (UINT32_C(1) << st->n) - 1;

        fuzz_check(isfinite(e->onset_s) && e->onset_s >= 0, "event %u onset %g", e->id, e->onset_s);
        fuzz_check(e->onset_s <= now + 1e-9, "event %u starts at %g, in the future of %g", e->id, e->onset_s, now);
        fuzz_check(isfinite(e->announced_s) && e->announced_s >= e->onset_s && e->announced_s <= now + 1e-9,
                   "event %u announced at %g, onset %g, now %g", e->id, e->announced_s, e->onset_s, now);
        fuzz_check((e->channel_mask & ~all) == 0, "event %u mask %#x with %u channels", e->id, e->channel_mask, st->n);
        fuzz_check((unsigned) e->posture <= SPASM_POSTURE_STANDING, "posture %d", (int) e->posture);
        fuzz_check((unsigned) e->class <= SPASM_CLASS_WITHDRAWN, "class %d", (int) e->class);
        fuzz_check(!st->cfg.has_imu ? e->posture == SPASM_POSTURE_UNKNOWN : true, "a posture without an IMU");
}

/* SPASMD_FUZZ_VERBOSE=1: every notice on stderr, to see what an input makes the detector do. */
static bool verbose;
/*
 * Known bugs, reported and not fixed yet, that this target would otherwise
 * hit at once (tests/fuzz/crashes/pending/detector/ reproduces them with
 * SPASMD_FUZZ_PENDING=1): one finite sample above ~2e19 uV (its square
 * overflows a float) leaves Inf/NaN in a channel's filters for good: an
 * activation starts with an infinite peak and never ends (until a flush or
 * a gap, which reports it as lasting 0 s), and the channel takes part in
 * no event after. Checked, when asked for, as: event levels are finite.
 */
static bool pending_bugs;

static void check_notices(struct state *st, const struct spasm_notice *v, int n, size_t room) {
        double now = detector_time_s(st->d);

        for (int i = 0; verbose && i < n; i++)
                fprintf(stderr, "%9.3f s: %s %u %s onset %.3f offset %.3f mask %#x peak %.1f uV\n", now,
                        v[i].kind == SPASM_NOTICE_ONSET ? "onset" : v[i].kind == SPASM_NOTICE_ENDED ? "ended" : "class",
                        v[i].event.id, spasm_class_to_string(v[i].event.class), v[i].event.onset_s,
                        v[i].event.offset_s, v[i].event.channel_mask, (double) v[i].event.peak_uv);

        fuzz_check(n >= 0 && (size_t) n <= room, "%d notices with room for %zu", n, room);
        fuzz_check(isfinite(now) && now >= st->last_time, "time went from %g to %g", st->last_time, now);
        st->last_time = now;
        for (int i = 0; i < n; i++) {
                const struct spasm_event *e = &v[i].event;
                check_event_fields(st, e, now);
                switch (v[i].kind) {
                case SPASM_NOTICE_ONSET:
                        fuzz_check(st->open_id == 0, "onset of %u while %u runs", e->id, st->open_id);
                        fuzz_check(e->id == st->last_id + 1, "id %u after %u", e->id, st->last_id);
                        fuzz_check(e->class == SPASM_CLASS_PENDING && e->offset_s < 0 && e->detected_at_s < 0,
                                   "onset of %u: class %d offset %g detected %g", e->id, (int) e->class, e->offset_s,
                                   e->detected_at_s);
                        fuzz_check(e->onset_s >= st->last_offset, "event %u starts at %g, before the last one ended at %g",
                                   e->id, e->onset_s, st->last_offset);
                        st->last_id = st->open_id = e->id;
                        st->classified = false;
                        st->open_onset = e->onset_s;
                        break;
                case SPASM_NOTICE_CLASSIFIED:
                        fuzz_check(st->open_id == e->id, "class of %u while %u runs", e->id, st->open_id);
                        fuzz_check(!st->classified, "event %u classified twice", e->id);
                        fuzz_check(e->class == SPASM_CLASS_SPASM || e->class == SPASM_CLASS_TWITCH ||
                                   e->class == SPASM_CLASS_VOLUNTARY, "event %u classified as %d", e->id, (int) e->class);
                        fuzz_check(isfinite(e->detected_at_s) && e->detected_at_s >= e->onset_s &&
                                   e->detected_at_s <= now + 1e-9, "event %u decided at %g, onset %g, now %g", e->id,
                                   e->detected_at_s, e->onset_s, now);
                        st->classified = true;
                        st->open_class = e->class;
                        break;
                case SPASM_NOTICE_ENDED:
                        fuzz_check(st->open_id == e->id, "end of %u while %u runs", e->id, st->open_id);
                        if (pending_bugs)
                                fuzz_check(isfinite(e->peak_uv) && isfinite(e->mean_uv) && isfinite(e->intensity),
                                           "event %u: peak %g uV, mean %g uV, intensity %g", e->id,
                                           (double) e->peak_uv, (double) e->mean_uv, (double) e->intensity);
                        fuzz_check(isfinite(e->offset_s) && e->offset_s >= e->onset_s,
                                   "event %u lasts from %g to %g: a negative duration", e->id, e->onset_s, e->offset_s);
                        fuzz_check(e->offset_s <= now + 1e-9, "event %u ends at %g, in the future of %g", e->id,
                                   e->offset_s, now);
                        fuzz_check(e->onset_s == st->open_onset, "event %u's onset moved", e->id);
                        if (e->class == SPASM_CLASS_WITHDRAWN)
                                fuzz_check(!st->classified, "event %u withdrawn after it was classified", e->id);
                        else
                                fuzz_check(st->classified && e->class == st->open_class,
                                           "event %u ended as %d, classified %s %d", e->id, (int) e->class,
                                           st->classified ? "as" : "never, not even", (int) st->open_class);
                        st->open_id = 0;
                        st->last_offset = e->offset_s;
                        break;
                default:
                        fuzz_check(false, "notice kind %d", (int) v[i].kind);
                }
        }
}

static void feed(struct state *st, const float *emg, const float *imu) {
        /* Exactly the room detector.h asks for: ASan's redzones around it catch a notice too many. */
        struct spasm_notice out[DETECTOR_MAX_NOTICES_PER_FRAME];
        int k = detector_push(st->d, emg, st->imu_null ? NULL : imu, out, DETECTOR_MAX_NOTICES_PER_FRAME);
        check_notices(st, out, k, DETECTOR_MAX_NOTICES_PER_FRAME);
        st->frames++;
        st->work += st->n;
}

static void feed_block(struct state *st, size_t count, const float *emg, const float *imu) {
        struct spasm_notice out[BLOCK_NOTICES];
        size_t done = 0;

        while (done < count) {
                size_t consumed = 0;
                int k = detector_push_block(st->d, count - done, emg + done * st->n,
                                            imu && !st->imu_null ? imu + done * 6 : NULL, out, BLOCK_NOTICES,
                                            &consumed);
                check_notices(st, out, k, BLOCK_NOTICES);
                fuzz_check(consumed <= count - done, "consumed %zu of %zu", consumed, count - done);
                fuzz_check(consumed > 0, "no progress with room for %d notices", BLOCK_NOTICES);
                done += consumed;
        }
        st->frames += count;
        st->work += count * st->n;
}

static void imu_sample(struct state *st, struct rng *r, float *imu) {
        for (int i = 0; i < 3; i++)
                imu[i] = st->gravity[i] + st->shake * rng_gauss(r);
        for (int i = 3; i < 6; i++)
                imu[i] = 0.2f * st->shake * rng_gauss(r);
}

/* count frames of what make() gives per channel; the IMU from its state. */
static void segment(struct state *st, struct rng *r, size_t count, float (*make)(void *, unsigned, size_t),
                    void *arg) {
        if (count > MAX_FRAMES - st->frames)
                count = MAX_FRAMES - st->frames;
        if (count * st->n > MAX_WORK - st->work)
                count = (MAX_WORK - st->work) / st->n;
        if (count == 0)
                return;
        float *emg = malloc(count * st->n * sizeof(float));
        float *imu = malloc(count * 6 * sizeof(float));
        if (!emg || !imu)
                abort();
        for (size_t i = 0; i < count; i++) {
                for (unsigned c = 0; c < st->n; c++)
                        emg[i * st->n + c] = make(arg, c, i);
                imu_sample(st, r, imu + i * 6);
        }
        if (st->block)
                feed_block(st, count, emg, st->cfg.has_imu ? imu : NULL);
        else
                for (size_t i = 0; i < count; i++)
                        feed(st, emg + i * st->n, st->cfg.has_imu ? imu + i * 6 : NULL);
        free(emg);
        free(imu);
}

/* --- what the segments carry ---------------------------------------------------- */

struct noise {
        struct rng *r;
        float base, burst, mains, dc;
        uint32_t mask;           /* channels with the burst */
        double w;                /* mains, radians per frame */
        size_t t0;
        /* Surface EMG has most of its power below ~150 Hz; white noise bursts look like a
         * noisier electrode to the detector, so a burst is low-passed unless told otherwise. */
        bool white;
        float a, gain, lp[DETECTOR_MAX_EMG];
};

static float make_noise(void *arg, unsigned c, size_t i) {
        struct noise *z = arg;
        float v = z->dc + z->base * rng_gauss(z->r);
        if (z->mask & (UINT32_C(1) << c)) {
                float g = rng_gauss(z->r);
                z->lp[c] += z->a * (g - z->lp[c]);
                v += z->burst * (z->white ? g : z->gain * z->lp[c]);
        }
        if (z->mains != 0.0f)
                v += z->mains * (float) sin(z->w * (double) (z->t0 + i));
        return v;
}

struct rail {
        struct rng *r;
        float value;
        uint32_t mask;
};

static float make_rail(void *arg, unsigned c, size_t i) {
        struct rail *z = arg;
        (void) i;
        return z->mask & (UINT32_C(1) << c) ? z->value : 2.0f * rng_gauss(z->r);
}

struct raw {
        struct fuzz_in *in;
};

static float make_raw(void *arg, unsigned c, size_t i) {
        struct raw *z = arg;
        (void) c;
        (void) i;
        return fuzz_float_bits(z->in);
}

/* 10^(code/32 - 2) microvolts: 0.01 uV to beyond any amplifier's range. */
static float level(uint8_t code) {
        return (float) pow(10.0, code / 32.0 - 2.0);
}

static double tunable(uint8_t b, double lo, double hi) {
        return b == 0 ? 0.0 : lo + (hi - lo) * (b - 1) / 254.0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct fuzz_in in = { data, size };
        struct state st = { .last_offset = 0.0 };
        struct rng r = { 1 };
        int k;

        verbose = getenv("SPASMD_FUZZ_VERBOSE") != NULL;
        pending_bugs = true; /* the bugs once gated here are fixed: every input is checked */
        detector_config_defaults(&st.cfg);
        st.cfg.rate_hz = 200.0 + fuzz_range(&in, 0, 3800) + fuzz_u8(&in) / 256.0;
        if (st.cfg.rate_hz > DETECTOR_MAX_RATE_HZ)
                st.cfg.rate_hz = DETECTOR_MAX_RATE_HZ;
        st.cfg.n_emg = fuzz_range(&in, 1, DETECTOR_MAX_EMG);
        uint8_t flags = fuzz_u8(&in);
        st.cfg.has_imu = flags & 1;
        st.block = flags & 2;
        st.imu_null = (flags & 12) == 12;
        if (flags & 16) {
                /* The ranges spasmd.conf allows; 0 keeps the default. */
                st.cfg.on_ratio = tunable(fuzz_u8(&in), 1.5, 100);
                st.cfg.off_ratio = tunable(fuzz_u8(&in), 1.0, 100);
                st.cfg.min_on_s = tunable(fuzz_u8(&in), 0.01, 1.0);
                st.cfg.min_off_s = tunable(fuzz_u8(&in), 0.05, 5.0);
                st.cfg.spasm_min_s = tunable(fuzz_u8(&in), 0.5, 10.0);
        }
        st.n = st.cfg.n_emg;

        k = detector_new(&st.cfg, &st.d);
        double on = st.cfg.on_ratio > 0 ? st.cfg.on_ratio : 4.0, off = st.cfg.off_ratio > 0 ? st.cfg.off_ratio : 2.0;
        if (off > on) {
                fuzz_check(k == -EINVAL, "off_ratio %g over on_ratio %g gave %d", off, on, k);
                return 0;
        }
        fuzz_check(k == 0, "detector_new: %d", k);
        fuzz_check(detector_time_s(st.d) == 0.0, "a new detector at %g s", detector_time_s(st.d));

        st.gravity[2] = 9.81f;
        while (fuzz_left(&in) > 0 && st.frames < MAX_FRAMES && st.work < MAX_WORK) {
                uint8_t op = fuzz_u8(&in);
                struct spasm_notice out[DETECTOR_MAX_NOTICES_PER_FRAME];

                /* The kind from the low nibble, flags from the high one, so that they do not interfere. */
                switch ((op & 0x0f) % 10) {
                case 0: { /* raw bit patterns: NaN, infinities, denormals, anything */
                        struct raw z = { &in };
                        segment(&st, &r, 1 + fuzz_u8(&in) % 32, make_raw, &z);
                        break;
                }
                case 1:
                case 2: { /* noise, with a burst on some channels: looks like a contraction */
                        struct noise z = { .r = &r, .t0 = st.frames };
                        size_t count = (1 + (size_t) fuzz_u8(&in)) * 32;
                        z.base = level(fuzz_u8(&in));
                        z.burst = level(fuzz_u8(&in));
                        z.mask = fuzz_u16(&in);
                        if (op & 0x80) {
                                z.mains = level(fuzz_u8(&in));
                                z.w = 2.0 * M_PI * (op & 0x40 ? 60.0 : 50.0) / st.cfg.rate_hz;
                        }
                        if (op & 0x20)
                                z.dc = (float) (int16_t) fuzz_u16(&in) * 100.0f;
                        z.white = op & 0x10;
                        z.a = (float) (1.0 - exp(-2.0 * M_PI * 150.0 / st.cfg.rate_hz));
                        /* A one-pole low-pass keeps a/(2-a) of white noise's power. */
                        z.gain = sqrtf((2.0f - z.a) / z.a);
                        r.s = fuzz_u32(&in);
                        segment(&st, &r, count, make_noise, &z);
                        break;
                }
                case 3: { /* a flat line or a rail on some channels */
                        static const float rails[] = { 0.0f, 3.3e6f, -3.3e6f, 1e20f, FLT_MAX, -FLT_MAX, INFINITY, NAN };
                        struct rail z = { .r = &r };
                        size_t count = (1 + (size_t) fuzz_u8(&in)) * 16;
                        z.value = rails[fuzz_u8(&in) % 8];
                        z.mask = fuzz_u16(&in);
                        segment(&st, &r, count, make_rail, &z);
                        break;
                }
                case 4: { /* lost frames; the reader reports at most 1e12 */
                        uint64_t n = (uint64_t) fuzz_u16(&in) << (fuzz_u8(&in) % 25);
                        if (n > UINT64_C(1000000000000))
                                n = UINT64_C(1000000000000);
                        k = detector_gap(st.d, n, out, DETECTOR_MAX_NOTICES_PER_FRAME);
                        check_notices(&st, out, k, DETECTOR_MAX_NOTICES_PER_FRAME);
                        fuzz_check(st.open_id == 0, "event %u still runs after a gap", st.open_id);
                        break;
                }
                case 5:
                        k = detector_flush(st.d, out, DETECTOR_MAX_NOTICES_PER_FRAME);
                        check_notices(&st, out, k, DETECTOR_MAX_NOTICES_PER_FRAME);
                        fuzz_check(st.open_id == 0, "event %u still runs after a flush", st.open_id);
                        break;
                case 6: { /* calibration */
                        unsigned ch = fuzz_range(&in, 0, DETECTOR_MAX_EMG + 1);
                        float mvc = op & 0x80 ? fuzz_float_bits(&in) : level(fuzz_u8(&in));
                        k = detector_set_mvc(st.d, ch, mvc);
                        fuzz_check(k == (ch >= st.n ? -ERANGE : !(mvc > 0.0f) || !isfinite(mvc) ? -EINVAL : 0),
                                   "set_mvc(%u, %g) gave %d", ch, (double) mvc, k);
                        if (op & 0x40)
                                detector_clear_calibration(st.d);
                        break;
                }
                case 7:
                        k = detector_rebaseline(st.d);
                        fuzz_check(k == 0 || k == -EBUSY, "rebaseline gave %d", k);
                        fuzz_check(k == -EBUSY || st.open_id == 0, "rebaselined while event %u runs", st.open_id);
                        break;
                case 8: { /* the status calls the daemon makes */
                        struct detector_channel_status cs;
                        for (unsigned c = 0; c <= st.n; c++) {
                                k = detector_channel_status(st.d, c, &cs);
                                fuzz_check(k == (c < st.n ? 0 : -ERANGE), "channel_status(%u) gave %d", c, k);
                                if (k == 0 && verbose)
                                        fprintf(stderr, "%9.3f s: channel %u floor %g uV level %g uV mains %g contact %s\n",
                                                detector_time_s(st.d), c, (double) cs.noise_floor_uv,
                                                (double) cs.level_uv, (double) cs.mains_hz,
                                                spasm_contact_to_string(cs.contact));
                                if (k == 0)
                                        fuzz_check((unsigned) cs.contact <= SPASM_CONTACT_OFF &&
                                                   (cs.mains_hz == 0 || cs.mains_hz == 50 || cs.mains_hz == 60),
                                                   "channel %u: contact %d mains %g", c, (int) cs.contact,
                                                   (double) cs.mains_hz);
                        }
                        fuzz_check((unsigned) detector_posture(st.d) <= SPASM_POSTURE_STANDING, "posture");
                        fuzz_check(!(detector_activity(st.d) < 0.0f), "activity %g", (double) detector_activity(st.d));
                        fuzz_check(detector_state_size(st.d) > 0, "state size");
                        break;
                }
                case 9: { /* the trunk: a new posture, and how much it moves */
                        float a = (float) fuzz_u8(&in) * (float) M_PI / 255.0f;
                        st.gravity[0] = 9.81f * sinf(a);
                        st.gravity[1] = 0.0f;
                        st.gravity[2] = 9.81f * cosf(a);
                        st.shake = op & 0x80 ? level(fuzz_u8(&in)) * 1e-3f : 0.0f;
                        break;
                }
                }
        }

        struct spasm_notice out[DETECTOR_MAX_NOTICES_PER_FRAME];
        k = detector_flush(st.d, out, DETECTOR_MAX_NOTICES_PER_FRAME);
        check_notices(&st, out, k, DETECTOR_MAX_NOTICES_PER_FRAME);
        fuzz_check(st.open_id == 0, "event %u still runs after the final flush", st.open_id);
        fuzz_check(detector_flush(st.d, out, 1) == -ENOBUFS, "flush with room for one notice");
        detector_free(st.d);
        return 0;
}
