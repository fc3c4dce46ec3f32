/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The activation state machine: when an activation starts, whether it is
 * real muscle, what class it is, and when it ends. One call per tick.
 *
 *   idle -> candidate -> announced -> (classified) -> ended -> idle
 *                    \-> artifact (pop, ECG beat, noise spell) -> idle
 */

#include <math.h>
#include <string.h>

#include "detector-internal.h"

/* A deliberate movement keeps the trunk turning or accelerating for well
 * over the length of the jerk that may start a spasm. */
/* A jerk at the onset of a spasm shakes the trunk for a few tenths of a
 * second (longer through the motion filters) and leaves it where it was;
 * walking, bending and leaning keep it moving or leave it elsewhere. */
#define MOVING_EARLY_S 0.8
#define MOVING_TWITCH_SHARE 0.5f
#define MOVING_TWITCH_MIN_S 0.2
#define POSTURE_CHANGE_DEG 8.0f
#define POSTURE_CHANGE_EARLY_DEG 20.0f
/* Still moving when the spasm class would be due: wait this much longer to
 * see whether the movement goes on. */
#define MOVING_DEFER_S 0.5
#define PRE_ONSET_TICKS 30           /* motion this close before onset counts */
/* One tick holding most of a candidate's energy is a pop or a QRS, not a burst. */
#define CONCENTRATION_MAX 0.5f
#define BUSY_MIN 0.3f
#define NOISE_SHARE_MAX 0.5f
#define ARTIFACT_HOLD_S 0.3
#define MIN_OFF_SPASM_S 0.5
#define MIN_OFF_MOVING_S 1.0
/* After a deliberate change of posture the resting level may be the new
 * posture's tone; re-learn it when it stays this low and still. */
#define REBASELINE_STILL_S 1.5
#define REBASELINE_MAX_RATIO 6.0f
/* A muscle that lets go drops far below the level it held, even when the
 * resting level is not back to the floor learnt before (a floor learnt in an
 * unusually quiet moment, a recording whose rest is not quiet). */
#define RELEASE_DROP 0.08f
#define BEAT_MARGIN_S 0.08
/* Mean amplitude over the noise floor's: the weakest real bursts seen in
 * the simulated scenes hold about 1.9x over their whole length. */
#define TWITCH_MIN_INTENSITY 1.7f
#define TAIL_SHARE 0.1f
#define RELEARN_SKIP_S 0.3
#define RELEARN_S 1.2
#define PULSE_UP 1.25f
#define PULSE_DOWN 0.8f
#define PULSE_MIN_PEAKS 3

/* How far above rest all channels are together. */
static float summed_ratio(const struct detector *d) {
        float sum = 0.0f;
        for (unsigned c = 0; c < d->n; c++)
                sum += d->ch[c].ratio;
        return sum;
}

static bool is_noise_spell(const struct detector *d);

static double tick_start_s(const struct detector *d, uint64_t tick) {
        return (double) tick * d->tick_s;
}

static uint32_t ticks_for(const struct detector *d, double s) {
        return (uint32_t) lround(s / d->tick_s);
}

/* Where the muscle let go: the last tick whose own energy was above the
 * onset threshold. The smoothed envelope's tail would add up to 0.2 s. */
double activation_offset_s(const struct detector *d) {
        const struct activation *a = &d->act;
        uint64_t last = a->busy_ticks ? a->last_busy_tick : a->last_active_tick;
        return tick_start_s(d, last + 1);
}

static bool motion_evidence(const struct detector *d, double need_s, float angle_deg) {
        const struct activation *a = &d->act;
        if (!d->cfg.has_imu)
                return false;
        if (a->moving_ticks >= ticks_for(d, need_s))
                return true;
        return imu_tracker_angle_to(&d->imu, a->ref_gravity) > angle_deg;
}

static float channel_mean_uv(const struct activation *a, unsigned c) {
        return a->power_n ? sqrtf((float) (a->power_sum[c] / a->power_n)) : 0.0f;
}

/* Fill in the amplitude fields from the strongest channel. */
static void finish_fields(struct detector *d) {
        struct activation *a = &d->act;
        unsigned best = 0;
        for (unsigned c = 1; c < d->n; c++)
                if ((a->ev.channel_mask & (1u << c)) &&
                    (!(a->ev.channel_mask & (1u << best)) || a->power_sum[c] > a->power_sum[best]))
                        best = c;
        float mean_uv = channel_mean_uv(a, best);
        a->ev.mean_uv = mean_uv;
        a->ev.intensity = mean_uv / sqrtf(fmaxf(d->ch[best].floor, 1e-6f));
        a->ev.intensity_mvc_pct = d->ch[best].mvc_uv > 0.0f ? 100.0f * mean_uv / d->ch[best].mvc_uv : -1.0f;

        double duration = (a->ev.offset_s >= 0 ? a->ev.offset_s : detector_time_s(d)) - a->ev.onset_s;
        uint32_t imu_crossings = d->imu.tremor_crossings - a->tremor_crossings_at_start;
        if (d->cfg.has_imu && a->shaking_ticks * 2 > a->ticks && duration > 0)
                a->ev.pulse_hz = (float) (imu_crossings / 2.0 / duration);
        else if (a->pulse_peaks >= PULSE_MIN_PEAKS && duration > 0)
                a->ev.pulse_hz = (float) (a->pulse_peaks / duration);
        else
                a->ev.pulse_hz = 0.0f;
        if (d->cfg.has_imu)
                a->ev.posture = d->imu.posture;
}

static int emit(struct detector *d, enum spasm_notice_kind kind, struct spasm_notice *out) {
        finish_fields(d);
        *out = (struct spasm_notice) { .kind = kind, .event = d->act.ev };
        return 1;
}

static int classify(struct detector *d, enum spasm_class class, struct spasm_notice *out) {
        d->act.ev.class = class;
        d->act.ev.detected_at_s = detector_time_s(d);
        return emit(d, SPASM_NOTICE_CLASSIFIED, out);
}

static bool released(const struct detector *d) {
        return d->act.state == ACT_ANNOUNCED && summed_ratio(d) < RELEASE_DROP * d->act.level;
}

/* Released but still above the floor: what is left is this recording's
 * rest, so learn the floor from it before looking again. */
static void relearn_if_elevated(struct detector *d) {
        for (unsigned c = 0; c < d->n; c++)
                if (d->ch[c].active) {
                        detector_learn_floor(d, RELEARN_SKIP_S, RELEARN_S);
                        return;
                }
}

int activation_end(struct detector *d, double offset_s, struct spasm_notice *out, size_t n_out) {
        struct activation *a = &d->act;
        int n = 0;

        if (n_out < 2)
                return 0;
        if (offset_s < a->ev.onset_s)
                offset_s = a->ev.onset_s;
        a->ev.offset_s = offset_s;
        if (a->ev.class == SPASM_CLASS_PENDING && is_noise_spell(d)) {
                /* Announced, then shown to be a noisier electrode: withdraw it. */
                a->ev.class = SPASM_CLASS_WITHDRAWN;
        } else if (a->ev.class == SPASM_CLASS_PENDING) {
                enum spasm_class class;
                double duration = offset_s - a->ev.onset_s;
                double moving_need = fmax(MOVING_TWITCH_MIN_S, MOVING_TWITCH_SHARE * duration);
                if (motion_evidence(d, moving_need, POSTURE_CHANGE_DEG))
                        class = SPASM_CLASS_VOLUNTARY;
                else if (offset_s - a->ev.onset_s >= d->cfg.spasm_min_s)
                        class = SPASM_CLASS_SPASM;
                else
                        class = SPASM_CLASS_TWITCH;
                finish_fields(d);
                /* A burst that, over its whole length, barely rose above the
                 * floor was the floor's own scatter crossing the threshold. */
                if (class == SPASM_CLASS_TWITCH && a->ev.intensity < TWITCH_MIN_INTENSITY)
                        a->ev.class = SPASM_CLASS_WITHDRAWN;
                else
                        n += classify(d, class, out + n);
        }
        n += emit(d, SPASM_NOTICE_ENDED, out + n);
        a->state = ACT_IDLE;
        relearn_if_elevated(d);
        return n;
}

static bool channel_busy(const struct detector *d, unsigned c) {
        return d->ch[c].active && d->tick.teager[c] > (float) d->cfg.on_ratio * d->ch[c].floor_teager;
}

/* Where the channels that are active (busy_only: busy) now left rest. */
static double onset_s(const struct detector *d, bool busy_only) {
        uint64_t first_quiet = d->ticks;
        for (unsigned c = 0; c < d->n; c++)
                if (d->ch[c].active && (!busy_only || channel_busy(d, c)) && d->ch[c].last_quiet_tick < first_quiet)
                        first_quiet = d->ch[c].last_quiet_tick;
        return tick_start_s(d, first_quiet + 1);
}

static void start_candidate(struct detector *d, uint64_t moving_before) {
        struct activation *a = &d->act;

        memset(a, 0, sizeof(*a));
        a->state = ACT_CANDIDATE;
        a->start_tick = d->ticks;
        a->ev.onset_s = onset_s(d, false);
        a->ev.offset_s = -1.0;
        a->ev.detected_at_s = -1.0;
        a->ev.intensity_mvc_pct = -1.0f;
        a->moving_ticks = (uint32_t) moving_before;
        a->level = summed_ratio(d);
        a->tremor_crossings_at_start = d->imu.tremor_crossings;
        a->beat_due = ecg_gate_beat_due(&d->ecg, d->ticks);
        /* Posture as it was before this began, to see if the trunk moved to a new one. */
        memcpy(a->ref_gravity, d->gravity_history[0], sizeof(a->ref_gravity));
}

static void accumulate(struct detector *d, bool any_active, bool moving) {
        struct activation *a = &d->act;
        const struct frontend_tick *k = &d->tick;
        float energy = 0.0f;
        bool busy = false, all_noise = true;
        unsigned strongest = 0;

        a->ticks++;
        for (unsigned c = 0; c < d->n; c++) {
                const struct channel_track *t = &d->ch[c];
                a->power_sum[c] += t->env;
                if (t->env > d->ch[strongest].env)
                        strongest = c;
                if (!t->active)
                        continue;
                a->ev.channel_mask |= 1u << c;
                energy += k->teager[c] / t->floor_teager;
                busy = busy || channel_busy(d, c);
                all_noise = all_noise && t->noise_like;
        }
        for (unsigned c = 0; c < d->n; c++)
                if (a->ev.channel_mask & (1u << c))
                        a->ev.peak_uv = fmaxf(a->ev.peak_uv, sqrtf(d->ch[c].env));
        a->power_n++;
        /* The level a contraction held: quick to rise, slow to forget, so a
         * release is measured against the contraction, not against itself. */
        float sum = summed_ratio(d);
        a->level += (sum > a->level ? d->a_level : d->a_level_decay) * (sum - a->level);
        a->energy_sum += energy;
        a->energy_max = fmaxf(a->energy_max, energy);
        if (busy)
                a->busy_ticks++;
        /* A beat's transient that ended during this candidate: what is busy
         * after it is what outlasts the beat. */
        if (a->beat_due && !a->beat_over && ecg_gate_ended_since(&d->ecg, a->start_tick)) {
                a->beat_over = true;
                a->beat_over_tick = d->ticks;
        } else if (a->beat_over && busy) {
                /* Counted from the start of a run: stray ticks of the beat's
                 * tail, far apart, are not a contraction. */
                if (d->ticks - a->last_after_beat_tick > ticks_for(d, BEAT_MARGIN_S)) {
                        a->after_beat_ticks = 0;
                        a->after_beat_onset_s = onset_s(d, true);
                }
                a->after_beat_ticks++;
                a->last_after_beat_tick = d->ticks;
        }
        /* The filters ring for a while after a strong burst: the muscle let go
         * where its energy fell well below what it held, not where the ringing
         * finally sinks under the floor threshold. */
        float raw_sum = 0.0f;
        for (unsigned c = 0; c < d->n; c++)
                raw_sum += k->teager[c] / d->ch[c].floor_teager;
        if (busy && raw_sum > TAIL_SHARE * a->level)
                a->last_busy_tick = d->ticks;
        if (any_active) {
                a->active_ticks++;
                a->last_active_tick = d->ticks;
                a->quiet_ticks = 0;
                if (all_noise)
                        a->noise_ticks++;
        } else
                a->quiet_ticks++;
        if (moving) {
                a->moving_ticks++;
                a->last_moving_tick = d->ticks;
        }
        if (d->cfg.has_imu && imu_tracker_shaking(&d->imu))
                a->shaking_ticks++;

        /* Pulsing: count rises of a fast envelope over a slow one, with hysteresis. */
        const struct channel_track *s = &d->ch[strongest];
        if (!a->pulse_high && s->env_fast > PULSE_UP * s->env_slow) {
                a->pulse_high = true;
                a->pulse_peaks++;
        } else if (a->pulse_high && s->env_fast < PULSE_DOWN * s->env_slow)
                a->pulse_high = false;
}

/* The class of an activation that is still going: voluntary as soon as
 * the trunk clearly moves with it, spasm once it has been held for
 * spasm_min_s at rest (or with no more than a jerk at its start). */
static int decide_sustained(struct detector *d, bool moving, struct spasm_notice *out) {
        struct activation *a = &d->act;
        double now = detector_time_s(d), elapsed = now - a->ev.onset_s;

        /* Mostly amplifier noise so far: no class until the floor has caught
         * up with it (it then ends, withdrawn) or muscle shows through. */
        if (is_noise_spell(d))
                return 0;

        if (motion_evidence(d, MOVING_EARLY_S, POSTURE_CHANGE_EARLY_DEG))
                return classify(d, SPASM_CLASS_VOLUNTARY, out);
        /* Held that long means the muscle was busy at least that long. */
        if (tick_start_s(d, a->last_busy_tick + 1) - a->ev.onset_s < d->cfg.spasm_min_s)
                return 0;
        if (motion_evidence(d, MOVING_EARLY_S, POSTURE_CHANGE_DEG))
                return classify(d, SPASM_CLASS_VOLUNTARY, out);
        if (moving && d->cfg.has_imu) {
                if (elapsed < d->cfg.spasm_min_s + MOVING_DEFER_S)
                        return 0;
                return classify(d, SPASM_CLASS_VOLUNTARY, out);
        }
        return classify(d, SPASM_CLASS_SPASM, out);
}

static bool is_concentrated(const struct detector *d) {
        const struct activation *a = &d->act;
        if (a->energy_max > CONCENTRATION_MAX * a->energy_sum)
                return true;
        return (float) a->busy_ticks < BUSY_MIN * (float) a->ticks;
}

static bool is_noise_spell(const struct detector *d) {
        const struct activation *a = &d->act;
        return (float) a->noise_ticks > NOISE_SHARE_MAX * (float) a->active_ticks;
}

static double min_off_s(const struct detector *d) {
        const struct activation *a = &d->act;
        if (a->ev.class == SPASM_CLASS_VOLUNTARY ||
            (a->moving_ticks > 0 && d->ticks - a->last_moving_tick < ticks_for(d, 1.0)))
                return MIN_OFF_MOVING_S;
        if (a->ev.class == SPASM_CLASS_SPASM)
                return MIN_OFF_SPASM_S;
        return d->cfg.min_off_s;
}

static void remember_gravity(struct detector *d) {
        if (!d->cfg.has_imu || d->ticks % ticks_for(d, 0.1) != 0)
                return;
        memmove(d->gravity_history[0], d->gravity_history[1], sizeof(d->gravity_history) - sizeof(d->gravity_history[0]));
        memcpy(d->gravity_history[7], d->imu.gravity, sizeof(d->gravity_history[7]));
}

/* The person got up and stands still; what remains is that posture's tone. */
static bool rebaseline(struct detector *d, struct spasm_notice *out, size_t n_out, int *written) {
        struct activation *a = &d->act;
        if (a->ev.class != SPASM_CLASS_VOLUNTARY || !d->cfg.has_imu)
                return false;
        if (d->ticks - a->last_moving_tick < ticks_for(d, REBASELINE_STILL_S))
                return false;
        if (imu_tracker_angle_to(&d->imu, a->ref_gravity) < POSTURE_CHANGE_EARLY_DEG)
                return false;
        for (unsigned c = 0; c < d->n; c++)
                if (d->ch[c].ratio > REBASELINE_MAX_RATIO)
                        return false;
        *written += activation_end(d, tick_start_s(d, a->last_moving_tick + 1), out, n_out);
        for (unsigned c = 0; c < d->n; c++) {
                struct channel_track *t = &d->ch[c];
                t->floor = t->env;
                t->floor_high = t->env_high;
                t->floor_teager = t->env_teager;
                t->active = false;
        }
        return true;
}

int activation_tick(struct detector *d, struct spasm_notice *out, size_t n_out) {
        struct activation *a = &d->act;
        static const uint64_t one = 1;
        bool moving = d->cfg.has_imu && imu_tracker_moving(&d->imu);
        bool any_active = false;
        int n = 0;

        remember_gravity(d);
        d->moving_history = (d->moving_history << 1) | (moving ? one : 0);
        if (d->ticks < d->warm_until_tick)
                return 0;
        for (unsigned c = 0; c < d->n; c++)
                any_active = any_active || d->ch[c].active;
        any_active = any_active && !released(d);

        if (a->state == ACT_IDLE) {
                if (!any_active)
                        return 0;
                uint64_t mask = PRE_ONSET_TICKS >= 64 ? ~(uint64_t) 0 : ((one << PRE_ONSET_TICKS) - 1);
                start_candidate(d, (uint64_t) __builtin_popcountll((d->moving_history >> 1) & mask));
        }
        accumulate(d, any_active, moving);

        switch (a->state) {
        case ACT_CANDIDATE:
                if (a->quiet_ticks >= ticks_for(d, d->cfg.min_off_s)) {
                        a->state = ACT_IDLE;
                        break;
                }
                /* Busy ticks, not envelope ticks: the envelope's tail would
                 * stretch a 30 ms QRS residue or a pop past any minimum. */
                if (a->busy_ticks < ticks_for(d, d->cfg.min_on_s))
                        break;
                /* Starting on a heartbeat: it must outlast one to be muscle
                 * (a tall beat lasts longer than the usual one: once its
                 * transient is seen to end, what follows must be busy). */
                if (a->beat_due && (a->busy_ticks < ecg_gate_beat_ticks(&d->ecg) + ticks_for(d, BEAT_MARGIN_S) ||
                                    (a->beat_over && a->after_beat_ticks < ticks_for(d, BEAT_MARGIN_S))))
                        break;
                if (is_noise_spell(d)) {
                        a->state = ACT_ARTIFACT;
                        break;
                }
                /* A pop stays concentrated and dies out as a candidate; a
                 * burst spreads its energy as it goes on and is announced. */
                if (is_concentrated(d))
                        break;
                /* What outlasted the beat started well after it was over: a
                 * twitch soon after a heartbeat begins where the twitch does. */
                if (a->beat_due && a->beat_over &&
                    a->after_beat_onset_s >= tick_start_s(d, a->beat_over_tick + ticks_for(d, BEAT_MARGIN_S)))
                        a->ev.onset_s = a->after_beat_onset_s;
                a->state = ACT_ANNOUNCED;
                a->ev.id = ++d->next_id;
                a->ev.announced_s = detector_time_s(d);
                n += emit(d, SPASM_NOTICE_ONSET, out + n);
                break;

        case ACT_ANNOUNCED:
                if (a->quiet_ticks >= ticks_for(d, min_off_s(d))) {
                        n += activation_end(d, activation_offset_s(d), out + n, n_out - (size_t) n);
                        break;
                }
                if (rebaseline(d, out + n, n_out - (size_t) n, &n))
                        break;
                if (a->ev.class != SPASM_CLASS_PENDING)
                        break;
                n += decide_sustained(d, moving, out + n);
                break;

        case ACT_ARTIFACT:
                /* A pop's tail or a beat is over within this; whatever is still
                 * active then is judged afresh, so a contraction that starts
                 * on the heels of an artefact is not swallowed by it. */
                if (a->quiet_ticks >= ticks_for(d, d->cfg.min_off_s) || a->ticks >= ticks_for(d, ARTIFACT_HOLD_S))
                        a->state = ACT_IDLE;
                break;

        case ACT_IDLE:
                break;
        }
        return n;
}
