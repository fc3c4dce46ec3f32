/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * When to tell the person to contact a doctor. Spasms that come often,
 * last long or keep getting worse are a reason to; spasmd says so, once,
 * with the numbers it saw, and names the signs that need urgent care but
 * that no EMG sensor can see. It never says what to take or do beyond that.
 *
 * Pure logic: no I/O, no logging, no clock. The caller passes the time; all
 * memory is taken by advisory_new().
 *
 * The three advisories, t being the time of evaluation (below):
 *
 *   frequent  more than max_spasms_per_day spasms with onsets in (t - 24 h, t].
 *
 *   long      one spasm with duration_usec > max_spasm_minutes minutes.
 *
 *   rising    (only when trend is set) with c[0..6] the spasm counts of the
 *             seven 24-hour windows before t, oldest first, c[k] counting
 *             onsets in (t - (7 - k) * 24 h, t - (6 - k) * 24 h], all of:
 *               - the least-squares slope of c over k exceeds 0.5 spasm/day
 *                 per day, i.e. sum((k - 3) * c[k]) > 14;
 *               - c[6] >= 3;
 *               - c[5] and c[6] are both above the mean of c[0..3], so that
 *                 one bad day after a quiet week is not called a trend;
 *               - there are 7 days of data: the record began at least
 *                 7 * 24 h before t, so that c[0] was watched whole, and no
 *                 spasm inside the seven windows was dropped for lack of
 *                 room. The record begins at the earliest spasm fed, and
 *                 begins again at a spasm more than 8 days after the latest
 *                 one before it (a long pause, or a clock set late).
 *             A day without spasms and a day spasmd was not running look
 *             the same; that is why a week of data is required first.
 *
 * Each kind is raised at most once in 24 hours. The time of evaluation t is
 * now_usec for a live spasm; for one replayed from the history it is the
 * spasm's end (onset + duration), or now_usec if that is earlier, so the
 * replay decides what was raised when, and a restart neither repeats an
 * advisory already given nor loses one in force.
 *
 * Times are CLOCK_REALTIME microseconds and the clock can be stepped: spasms
 * may arrive out of order or from the future. An onset after t is not counted
 * until t reaches it; spasms more than 8 days from t either way are forgotten;
 * the once-in-24-hours rule lets a kind through again when the clock went
 * back by a day or more.
 */

#include <stdbool.h>
#include <stdint.h>

#include "event.h"

/* Spasms remembered. More than this in 8 days and the oldest are dropped. */
#define ADVISORY_SPASMS_MAX 4096u
#define ADVISORY_MINUTES_MAX 1440u
#define ADVISORY_MESSAGE_MAX 1024
/* One spasm can cross every limit at once. */
#define ADVISORY_NOTICES_MAX 3

struct advisory_config {
        unsigned max_spasms_per_day;  /* 1 .. ADVISORY_SPASMS_MAX - 1; more than this in 24 h */
        unsigned max_spasm_minutes;   /* 1 .. ADVISORY_MINUTES_MAX; one spasm longer than this */
        bool trend;                   /* also raise on a rising 7-day trend */
};

/* 5 a day, 10 minutes, trend on. */
void advisory_config_defaults(struct advisory_config *c);

enum advisory_kind {
        ADVISORY_NONE = 0,
        ADVISORY_FREQUENT,
        ADVISORY_LONG,
        ADVISORY_RISING,
};

struct advisory_notice {
        enum advisory_kind kind;
        uint64_t time_usec;           /* when it was raised: the time of evaluation */
        char message[ADVISORY_MESSAGE_MAX];
};

struct advisory;

/* -EINVAL for a limit out of range, -ENOMEM. */
int advisory_new(const struct advisory_config *c, struct advisory **ret);
struct advisory *advisory_free(struct advisory *a);
/* New limits (a reload), keeping what was seen and raised. -EINVAL leaves the old ones. */
int advisory_set_config(struct advisory *a, const struct advisory_config *c);

/*
 * Feed a finished event; anything but a spasm is ignored. Feed them in onset
 * order, the history's at start-up with replaying set: those rebuild the
 * state, and mark what would have been raised then as raised, but return
 * nothing (out may then be NULL). Otherwise returns how many advisories this
 * spasm raised, 0 to ADVISORY_NOTICES_MAX, written to out[] in the order
 * long, frequent, rising; or -EINVAL.
 */
int advisory_add(struct advisory *a, const struct event_record *r, uint64_t now_usec, bool replaying,
                 struct advisory_notice out[]);

/*
 * The advisory in force at now_usec, for the ActiveAdvisory property: of
 * those raised in the 24 hours around now_usec whose condition still holds
 * (a long spasm's holds for those 24 hours), the one raised last. False, and
 * out set to kind ADVISORY_NONE with an empty message, when there is none.
 * Frequent and rising lapse with time alone, so re-read it on each spasm and
 * from a timer (hourly is plenty).
 */
bool advisory_current(const struct advisory *a, uint64_t now_usec, struct advisory_notice *out);

/* "frequent", "long", "rising"; "" for ADVISORY_NONE or anything else. */
const char *advisory_kind_to_string(enum advisory_kind k);
