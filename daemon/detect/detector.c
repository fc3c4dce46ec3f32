/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detector-internal.h"

/* ECG lives mostly below 30 Hz and surface EMG mostly above; 4th order so
 * that a 160 uV QRS leaves little behind. */
#define HIGHPASS_HZ 35.0
/* Below this rate the Teager weighting no longer favours EMG over the ECG
 * residue (both sit high in a narrow band), so the high-pass moves up. */
#define LOW_RATE_HZ 800.0
#define HIGHPASS_LOW_RATE_HZ 55.0
#define ENV_TAU_S 0.030
#define ENV_FULL_BAND_RATE_HZ 600.0
#define TICK_MIN_SAMPLES 6
#define FAST_TAU_S 0.020
#define SLOW_TAU_S 0.400
#define FLOOR_TAU_S 4.0
#define FLOOR_DOWN_TAU_S 0.5
#define FLOOR_NOISE_TAU_S 1.0
#define WARMUP_S 2.0
#define WARMUP_SKIP_S 0.4   /* filter transients at start are not the floor */
#define MIN_FLOOR 1e-6f
#define DETECTOR_ALIGN 64
#define NOISE_INDEX 0.5f
#define LEVEL_TAU_S 1.0
#define LEVEL_DECAY_TAU_S 20.0

void detector_config_defaults(struct detector_config *cfg) {
        *cfg = (struct detector_config) {
                .rate_hz = 1000.0,
                .n_emg = 1,
                .on_ratio = 4.0,
                .off_ratio = 2.0,
                .min_on_s = 0.060,
                .min_off_s = 0.250,
                .spasm_min_s = 1.0,
        };
}

static void fill_defaults(struct detector_config *cfg) {
        struct detector_config def;
        detector_config_defaults(&def);
        if (cfg->on_ratio <= 0)
                cfg->on_ratio = def.on_ratio;
        if (cfg->off_ratio <= 0)
                cfg->off_ratio = def.off_ratio;
        if (cfg->min_on_s <= 0)
                cfg->min_on_s = def.min_on_s;
        if (cfg->min_off_s <= 0)
                cfg->min_off_s = def.min_off_s;
        if (cfg->spasm_min_s <= 0)
                cfg->spasm_min_s = def.spasm_min_s;
}

void detector_learn_floor(struct detector *d, double skip_s, double learn_s) {
        d->learn_from_tick = d->ticks + (uint64_t) llround(skip_s / d->tick_s);
        d->warm_until_tick = d->learn_from_tick + (uint64_t) llround(learn_s / d->tick_s);
        d->warm_ticks_seen = 0;
}

static void start_warmup(struct detector *d) {
        detector_learn_floor(d, WARMUP_SKIP_S, WARMUP_S - WARMUP_SKIP_S);
        for (unsigned c = 0; c < d->n; c++) {
                struct channel_track *t = &d->ch[c];
                t->floor = t->floor_high = t->floor_teager = 0.0f;
                t->env = t->env_high = t->env_teager = t->env_fast = t->env_slow = 0.0f;
                t->active = t->noise_like = false;
        }
}

int detector_new(const struct detector_config *cfg, struct detector **ret) {
        if (!cfg || !ret)
                return -EINVAL;
        if (!(cfg->rate_hz >= DETECTOR_MIN_RATE_HZ && cfg->rate_hz <= DETECTOR_MAX_RATE_HZ))
                return -ERANGE;
        if (cfg->n_emg < 1 || cfg->n_emg > DETECTOR_MAX_EMG)
                return -ERANGE;

        /* The front end's SIMD groups want their natural (32-byte) alignment. */
        size_t size = (sizeof(struct detector) + DETECTOR_ALIGN - 1) / DETECTOR_ALIGN * DETECTOR_ALIGN;
        struct detector *d = aligned_alloc(DETECTOR_ALIGN, size);
        if (!d)
                return -ENOMEM;
        memset(d, 0, size);
        d->cfg = *cfg;
        fill_defaults(&d->cfg);
        if (d->cfg.off_ratio > d->cfg.on_ratio) {
                free(d);
                return -EINVAL;
        }
        d->n = cfg->n_emg;
        d->rate_hz = cfg->rate_hz;
        /* A tick's own energy is only worth judging over a handful of samples. */
        d->tick_len = (uint32_t) lround(cfg->rate_hz * TICK_TARGET_S);
        if (d->tick_len < TICK_MIN_SAMPLES)
                d->tick_len = TICK_MIN_SAMPLES;
        d->tick_s = d->tick_len / cfg->rate_hz;
        /* The envelope's scatter at rest depends on band x time: at low rates
         * the band shrinks, so the envelope integrates longer to stay as calm. */
        d->a_env = onepole_alpha(d->tick_s, ENV_TAU_S * fmax(1.0, ENV_FULL_BAND_RATE_HZ / cfg->rate_hz));
        d->a_fast = onepole_alpha(d->tick_s, FAST_TAU_S);
        d->a_slow = onepole_alpha(d->tick_s, SLOW_TAU_S);
        d->a_floor = onepole_alpha(d->tick_s, FLOOR_TAU_S);
        d->a_floor_down = onepole_alpha(d->tick_s, FLOOR_DOWN_TAU_S);
        d->a_floor_noise = onepole_alpha(d->tick_s, FLOOR_NOISE_TAU_S);
        d->a_level = onepole_alpha(d->tick_s, LEVEL_TAU_S);
        d->a_level_decay = onepole_alpha(d->tick_s, LEVEL_DECAY_TAU_S);
        frontend_init(&d->fe, d->n, cfg->rate_hz, cfg->rate_hz < LOW_RATE_HZ ? HIGHPASS_LOW_RATE_HZ : HIGHPASS_HZ);
        imu_tracker_init(&d->imu, d->tick_s);
        ecg_gate_init(&d->ecg, d->tick_s);
        start_warmup(d);
        *ret = d;
        return 0;
}

struct detector *detector_free(struct detector *d) {
        free(d);
        return NULL;
}


size_t detector_state_size(const struct detector *d) {
        (void) d;
        return (sizeof(struct detector) + DETECTOR_ALIGN - 1) / DETECTOR_ALIGN * DETECTOR_ALIGN;
}

double detector_time_s(const struct detector *d) {
        return (double) d->frames / d->rate_hz;
}

static void learn_warmup(struct detector *d, struct channel_track *t, const struct frontend_tick *k, unsigned c) {
        /* Mean of the tick powers after the start transient: the first floor. */
        float w = 1.0f / (float) d->warm_ticks_seen;
        t->floor += w * (k->power[c] - t->floor);
        t->floor_high += w * (k->high[c] - t->floor_high);
        t->floor_teager += w * (k->teager[c] - t->floor_teager);
}

/* How much of a rise in power lands above the EMG band, against what white
 * noise would put there: about 1 when an electrode got noisier, near 0 when
 * a muscle adds power, whatever the resting floor was made of. */
static float rise_noise_index(const struct detector *d, const struct channel_track *t) {
        float rise = t->env - t->floor, rise_high = t->env_high - t->floor_high;
        if (rise <= 0.0f || d->fe.white_high_share <= 0.0f)
                return 0.0f;
        return (rise_high / rise) / d->fe.white_high_share;
}

static void update_floor(struct detector *d, struct channel_track *t) {
        bool resting = d->act.state == ACT_IDLE && !t->active;
        float a = 0.0f;

        if (t->env_teager < t->floor_teager)
                a = d->a_floor_down;
        else if (resting)
                a = d->a_floor;
        else if (t->noise_like && (d->act.state != ACT_ANNOUNCED || d->act.ev.class == SPASM_CLASS_PENDING))
                /* More of the same noise: follow it rather than report it (a
                 * decided activation keeps its floor: it was muscle). */
                a = d->a_floor_noise;
        if (a <= 0.0f)
                return;
        t->floor += a * (t->env - t->floor);
        t->floor_high += a * (t->env_high - t->floor_high);
        t->floor_teager += a * (t->env_teager - t->floor_teager);
        t->floor = fmaxf(t->floor, MIN_FLOOR);
        t->floor_high = fmaxf(t->floor_high, 0.0f);
        t->floor_teager = fmaxf(t->floor_teager, MIN_FLOOR);
}

static void track_channels(struct detector *d) {
        const struct frontend_tick *k = &d->tick;
        bool warming = d->ticks < d->warm_until_tick;

        if (warming && d->ticks >= d->learn_from_tick)
                d->warm_ticks_seen++;

        float strongest = 0.0f;
        for (unsigned c = 0; c < d->n; c++)
                if (d->ch[c].floor_teager > 0.0f)
                        strongest = fmaxf(strongest, k->teager[c] / d->ch[c].floor_teager);
        ecg_gate_tick(&d->ecg, d->ticks, strongest, d->act.state == ACT_ANNOUNCED);

        for (unsigned c = 0; c < d->n; c++) {
                struct channel_track *t = &d->ch[c];
                t->env += d->a_env * (k->power[c] - t->env);
                t->env_high += d->a_env * (k->high[c] - t->env_high);
                t->env_teager += d->a_env * (k->teager[c] - t->env_teager);
                t->env_fast += d->a_fast * (k->power[c] - t->env_fast);
                t->env_slow += d->a_slow * (k->power[c] - t->env_slow);

                if (warming) {
                        if (d->warm_ticks_seen > 0)
                                learn_warmup(d, t, k, c);
                        t->active = false;
                        t->last_quiet_tick = d->ticks;
                        continue;
                }

                t->floor = fmaxf(t->floor, MIN_FLOOR);
                t->floor_teager = fmaxf(t->floor_teager, MIN_FLOOR);
                /* Detection runs on Teager energy: it hears EMG as well as
                 * power does but the slow ECG residue several times less. */
                t->ratio = t->env_teager / t->floor_teager;
                if (t->ratio >= d->cfg.on_ratio)
                        t->active = true;
                else if (t->ratio < d->cfg.off_ratio)
                        t->active = false;
                if (t->ratio < d->cfg.off_ratio)
                        t->last_quiet_tick = d->ticks;
                t->noise_like = d->fe.split && t->ratio >= d->cfg.off_ratio && rise_noise_index(d, t) > NOISE_INDEX;
                update_floor(d, t);
        }
}

static int run_tick(struct detector *d, struct spasm_notice *out, size_t n_out) {
        frontend_take_tick(&d->fe, d->tick_len, &d->tick);
        if (d->cfg.has_imu)
                imu_tracker_tick(&d->imu);
        track_channels(d);
        int r = activation_tick(d, out, n_out);
        d->ticks++;
        return r;
}

int detector_push(struct detector *d, const float *emg, const float *imu, struct spasm_notice *out, size_t n_out) {
        if (!d || !emg)
                return -EINVAL;
        if (n_out < DETECTOR_MAX_NOTICES_PER_FRAME)
                return -ENOBUFS;

        frontend_sample(&d->fe, emg);
        if (d->cfg.has_imu && imu) {
                bool finite = true;
                for (unsigned i = 0; i < 6; i++)
                        finite = finite && isfinite(imu[i]);
                if (finite)
                        imu_tracker_sample(&d->imu, imu);
        }
        d->frames++;
        if (++d->in_tick < d->tick_len)
                return 0;
        d->in_tick = 0;
        return run_tick(d, out, n_out);
}

int detector_push_block(struct detector *d, size_t n, const float *emg, const float *imu,
                        struct spasm_notice *out, size_t n_out, size_t *consumed) {
        size_t i, written = 0;

        if (!d || !emg || !consumed)
                return -EINVAL;
        for (i = 0; i < n; i++) {
                if (n_out - written < DETECTOR_MAX_NOTICES_PER_FRAME)
                        break;
                int r = detector_push(d, emg + i * d->n, imu ? imu + i * 6 : NULL, out + written, n_out - written);
                if (r < 0)
                        return r;
                written += (size_t) r;
        }
        *consumed = i;
        return (int) written;
}

int detector_gap(struct detector *d, uint64_t n_frames, struct spasm_notice *out, size_t n_out) {
        if (!d)
                return -EINVAL;
        if (n_out < DETECTOR_MAX_NOTICES_PER_FRAME)
                return -ENOBUFS;
        int r = 0;
        if (d->act.state == ACT_ANNOUNCED)
                /* The activation ends where the data ends: nothing is known after. */
                r = activation_end(d, activation_offset_s(d), out, n_out);
        d->act.state = ACT_IDLE;
        d->frames += n_frames + (d->tick_len - d->in_tick) % d->tick_len;
        d->ticks = (d->frames + d->tick_len - 1) / d->tick_len;
        d->frames = d->ticks * d->tick_len;
        d->in_tick = 0;
        frontend_restart(&d->fe);
        frontend_take_tick(&d->fe, d->tick_len, &d->tick);
        imu_tracker_restart(&d->imu);
        ecg_gate_init(&d->ecg, d->tick_s);
        start_warmup(d);
        return r;
}

int detector_flush(struct detector *d, struct spasm_notice *out, size_t n_out) {
        if (!d)
                return -EINVAL;
        if (n_out < DETECTOR_MAX_NOTICES_PER_FRAME)
                return -ENOBUFS;
        if (d->act.state != ACT_ANNOUNCED) {
                d->act.state = ACT_IDLE;
                return 0;
        }
        return activation_end(d, activation_offset_s(d), out, n_out);
}

int detector_channel_status(const struct detector *d, unsigned ch, struct detector_channel_status *ret) {
        if (!d || !ret)
                return -EINVAL;
        if (ch >= d->n)
                return -ERANGE;
        const struct channel_track *t = &d->ch[ch];
        float floor_uv = sqrtf(t->floor);
        *ret = (struct detector_channel_status) {
                .noise_floor_uv = floor_uv,
                .level_uv = sqrtf(fmaxf(t->env, 0.0f)),
                .mains_hz = d->fe.mains.hz,
                /* A flat line or a rail reads as no contact; a floor far above
                 * what a seated electrode gives as poor contact. */
                .contact = floor_uv < 0.05f || floor_uv > 500.0f ? SPASM_CONTACT_OFF
                         : floor_uv > 25.0f ? SPASM_CONTACT_POOR : SPASM_CONTACT_GOOD,
        };
        return 0;
}

enum spasm_posture detector_posture(const struct detector *d) {
        return d && d->cfg.has_imu ? d->imu.posture : SPASM_POSTURE_UNKNOWN;
}

float detector_activity(const struct detector *d) {
        float best = 0.0f;
        if (!d || d->ticks < d->warm_until_tick)
                return 0.0f;
        for (unsigned c = 0; c < d->n; c++)
                best = fmaxf(best, d->ch[c].ratio);
        return best;
}

int detector_set_mvc(struct detector *d, unsigned ch, float mvc_uv) {
        if (!d)
                return -EINVAL;
        if (ch >= d->n)
                return -ERANGE;
        if (!(mvc_uv > 0.0f) || !isfinite(mvc_uv))
                return -EINVAL;
        d->ch[ch].mvc_uv = mvc_uv;
        return 0;
}

int detector_rebaseline(struct detector *d) {
        if (!d)
                return -EINVAL;
        if (d->act.state != ACT_IDLE || d->ticks < d->warm_until_tick)
                return -EBUSY;
        for (unsigned c = 0; c < d->n; c++) {
                struct channel_track *t = &d->ch[c];
                t->floor = fmaxf(t->env, MIN_FLOOR);
                t->floor_high = fmaxf(t->env_high, 0.0f);
                t->floor_teager = fmaxf(t->env_teager, MIN_FLOOR);
        }
        return 0;
}

void detector_clear_calibration(struct detector *d) {
        if (!d)
                return;
        for (unsigned c = 0; c < d->n; c++)
                d->ch[c].mvc_uv = 0.0f;
}
