/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advisory.h"

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MINUTE (60 * USEC_PER_SEC)
#define USEC_PER_DAY (24 * 60 * USEC_PER_MINUTE)
/* The trend looks 7 days back; one more keeps a clock stepped back a little from losing data. */
#define HORIZON_USEC (8 * USEC_PER_DAY)
#define TREND_DAYS 7

/* Said after every observation, the same each time, so it reads as the product's voice and not a verdict. */
#define ADVICE " This is a reason to contact a doctor. Seek urgent care for numbness, loss of bladder or bowel" \
               " control, fever, weakness in the legs, or pain after a fall: sensors cannot see these." \
               " spasmd informs and does not give medical advice."

struct raised {
        bool raised;
        struct advisory_notice notice;
};

struct advisory {
        struct advisory_config config;
        bool have_first;
        uint64_t first_onset_usec;    /* start of the record without a break, kept when pruned */
        uint64_t latest_onset_usec;
        bool dropped;
        uint64_t dropped_until_usec;  /* latest onset thrown away; windows before it are incomplete */
        struct raised raised[ADVISORY_RISING + 1];
        /* Onsets only: the counts need no more, and a long spasm is judged as it comes. Unordered. */
        unsigned n_onsets;
        uint64_t onsets[ADVISORY_SPASMS_MAX];
};

static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t distance(uint64_t a, uint64_t b) {
        return a > b ? a - b : b - a;
}

static const char *plural(uint64_t n) {
        return n == 1 ? "" : "s";
}

void advisory_config_defaults(struct advisory_config *c) {
        *c = (struct advisory_config) {
                .max_spasms_per_day = 5,
                .max_spasm_minutes = 10,
                .trend = true,
        };
}

static bool config_valid(const struct advisory_config *c) {
        /* A limit the store cannot exceed could never be crossed. */
        return c && c->max_spasms_per_day >= 1 && c->max_spasms_per_day < ADVISORY_SPASMS_MAX &&
               c->max_spasm_minutes >= 1 && c->max_spasm_minutes <= ADVISORY_MINUTES_MAX;
}

int advisory_new(const struct advisory_config *c, struct advisory **ret) {
        struct advisory *a;

        if (!ret || !config_valid(c))
                return -EINVAL;
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->config = *c;
        *ret = a;
        return 0;
}

struct advisory *advisory_free(struct advisory *a) {
        free(a);
        return NULL;
}

int advisory_set_config(struct advisory *a, const struct advisory_config *c) {
        if (!a || !config_valid(c))
                return -EINVAL;
        a->config = *c;
        return 0;
}

const char *advisory_kind_to_string(enum advisory_kind k) {
        switch (k) {
        case ADVISORY_FREQUENT:
                return "frequent";
        case ADVISORY_LONG:
                return "long";
        case ADVISORY_RISING:
                return "rising";
        case ADVISORY_NONE:
        default:
                return "";
        }
}

/* c[k]: onsets in (t - (7 - k) days, t - (6 - k) days], so c[6] is the last 24 hours. */
static void count_days(const struct advisory *a, uint64_t t, unsigned c[TREND_DAYS]) {
        memset(c, 0, TREND_DAYS * sizeof(c[0]));
        for (unsigned i = 0; i < a->n_onsets; i++) {
                uint64_t onset = a->onsets[i], age;

                if (onset > t)
                        continue;
                age = (t - onset) / USEC_PER_DAY;
                if (age < TREND_DAYS)
                        c[TREND_DAYS - 1 - age]++;
        }
}

static bool rising(const struct advisory *a, uint64_t t, const unsigned c[TREND_DAYS]) {
        int64_t slope28 = 0;
        uint64_t base4 = 0;

        if (!a->config.trend || t < TREND_DAYS * USEC_PER_DAY)
                return false;
        /* Before the first spasm spasmd may not have been watching: a first day
         * seen in part would make a steady rate look like a rise. */
        if (!a->have_first || a->first_onset_usec > t - TREND_DAYS * USEC_PER_DAY)
                return false;
        if (a->dropped && a->dropped_until_usec > t - TREND_DAYS * USEC_PER_DAY)
                return false;

        /* Least squares over k = 0..6: slope = sum((k - 3) * c[k]) / 28; > 0.5 without floating point. */
        for (int k = 0; k < TREND_DAYS; k++)
                slope28 += (int64_t) (k - 3) * c[k];
        if (slope28 <= 14)
                return false;
        if (c[6] < 3)
                return false;
        for (int k = 0; k < 4; k++)
                base4 += c[k];
        /* Both of the last two days above the first four's mean: a trend, not one bad day. */
        return 4 * (uint64_t) c[5] > base4 && 4 * (uint64_t) c[6] > base4;
}

static void drop(struct advisory *a, uint64_t onset) {
        if (!a->dropped || onset > a->dropped_until_usec) {
                a->dropped = true;
                a->dropped_until_usec = onset;
        }
}

/* Forget what no window can reach any more, and what a badly stepped clock put far ahead. */
static void prune(struct advisory *a, uint64_t t) {
        for (unsigned i = 0; i < a->n_onsets;) {
                uint64_t onset = a->onsets[i];

                if (distance(onset, t) <= HORIZON_USEC) {
                        i++;
                        continue;
                }
                if (onset < t)
                        drop(a, onset);
                a->onsets[i] = a->onsets[--a->n_onsets];
        }
}

/*
 * The trend needs a week watched without a break. A gap longer than the
 * horizon, or a clock stepped far forward (a device without an RTC that got
 * its time late), starts the record anew.
 */
static void note_span(struct advisory *a, uint64_t onset, uint64_t t) {
        if (distance(onset, t) > HORIZON_USEC)
                return;
        if (!a->have_first || onset > add_sat(a->latest_onset_usec, HORIZON_USEC)) {
                a->have_first = true;
                a->first_onset_usec = a->latest_onset_usec = onset;
                return;
        }
        if (onset < a->first_onset_usec)
                a->first_onset_usec = onset;
        if (onset > a->latest_onset_usec)
                a->latest_onset_usec = onset;
}

static void store(struct advisory *a, const struct event_record *r, uint64_t t) {
        unsigned oldest = 0;

        note_span(a, r->onset_usec, t);
        prune(a, t);
        if (distance(r->onset_usec, t) > HORIZON_USEC) {
                if (r->onset_usec < t)
                        drop(a, r->onset_usec);
                return;
        }

        if (a->n_onsets < ADVISORY_SPASMS_MAX) {
                a->onsets[a->n_onsets++] = r->onset_usec;
                return;
        }

        /* Full: keep the latest onsets, they are the ones the windows look at. */
        for (unsigned i = 1; i < a->n_onsets; i++)
                if (a->onsets[i] < a->onsets[oldest])
                        oldest = i;
        if (r->onset_usec <= a->onsets[oldest]) {
                drop(a, r->onset_usec);
                return;
        }
        drop(a, a->onsets[oldest]);
        a->onsets[oldest] = r->onset_usec;
}

static void format_duration(char *buf, size_t size, uint64_t usec) {
        uint64_t min = usec / USEC_PER_MINUTE, sec = usec % USEC_PER_MINUTE / USEC_PER_SEC;

        if (sec == 0)
                snprintf(buf, size, "%" PRIu64 " minute%s", min, plural(min));
        else
                snprintf(buf, size, "%" PRIu64 " minute%s %" PRIu64 " second%s", min, plural(min), sec, plural(sec));
}

static void notice_long(const struct advisory *a, uint64_t duration_usec, struct advisory_notice *n) {
        char d[64];

        format_duration(d, sizeof(d), duration_usec);
        snprintf(n->message, sizeof(n->message), "A spasm lasted %s, longer than the limit of %u minute%s." ADVICE, d,
                 a->config.max_spasm_minutes, plural(a->config.max_spasm_minutes));
}

static void notice_frequent(const struct advisory *a, unsigned count, struct advisory_notice *n) {
        snprintf(n->message, sizeof(n->message),
                 "%u spasm%s in the last 24 hours, more than the limit of %u." ADVICE, count, plural(count),
                 a->config.max_spasms_per_day);
}

static void notice_rising(const unsigned c[TREND_DAYS], struct advisory_notice *n) {
        /* Seven counts of at most ADVISORY_SPASMS_MAX each: fits with room to spare. */
        char list[TREND_DAYS * 12];
        size_t len = 0;

        list[0] = '\0';
        for (int k = 0; k < TREND_DAYS && len < sizeof(list); k++)
                len += (size_t) snprintf(list + len, sizeof(list) - len, "%s%u", k ? ", " : "", c[k]);
        snprintf(n->message, sizeof(n->message),
                 "Spasms have become more frequent over the last 7 days: %s per day, oldest first." ADVICE, list);
}

/* At most once a day per kind; a clock stepped back by a day or more does not silence it. */
static bool may_raise(const struct advisory *a, enum advisory_kind k, uint64_t t) {
        return !a->raised[k].raised || distance(t, a->raised[k].notice.time_usec) >= USEC_PER_DAY;
}

static struct advisory_notice *mark_raised(struct advisory *a, enum advisory_kind k, uint64_t t) {
        struct advisory_notice *n = &a->raised[k].notice;

        a->raised[k].raised = true;
        n->kind = k;
        n->time_usec = t;
        n->message[0] = '\0';
        return n;
}

int advisory_add(struct advisory *a, const struct event_record *r, uint64_t now_usec, bool replaying,
                 struct advisory_notice out[]) {
        unsigned c[TREND_DAYS];
        uint64_t t, max_usec;
        int n = 0;

        if (!a || !r || (!replaying && !out))
                return -EINVAL;
        if (r->class != SPASM_CLASS_SPASM)
                return 0;

        t = now_usec;
        if (replaying) {
                uint64_t end = add_sat(r->onset_usec, r->duration_usec);
                if (end < t)
                        t = end;
        }

        store(a, r, t);
        count_days(a, t, c);

        max_usec = a->config.max_spasm_minutes * USEC_PER_MINUTE;
        if (r->duration_usec > max_usec && may_raise(a, ADVISORY_LONG, t)) {
                struct advisory_notice *x = mark_raised(a, ADVISORY_LONG, t);
                notice_long(a, r->duration_usec, x);
                if (!replaying)
                        out[n++] = *x;
        }
        if (c[TREND_DAYS - 1] > a->config.max_spasms_per_day && may_raise(a, ADVISORY_FREQUENT, t)) {
                struct advisory_notice *x = mark_raised(a, ADVISORY_FREQUENT, t);
                notice_frequent(a, c[TREND_DAYS - 1], x);
                if (!replaying)
                        out[n++] = *x;
        }
        if (rising(a, t, c) && may_raise(a, ADVISORY_RISING, t)) {
                struct advisory_notice *x = mark_raised(a, ADVISORY_RISING, t);
                notice_rising(c, x);
                if (!replaying)
                        out[n++] = *x;
        }
        return n;
}

bool advisory_current(const struct advisory *a, uint64_t now_usec, struct advisory_notice *out) {
        const struct advisory_notice *best = NULL;
        unsigned c[TREND_DAYS];

        count_days(a, now_usec, c);
        for (enum advisory_kind k = ADVISORY_FREQUENT; k <= ADVISORY_RISING; k++) {
                const struct raised *x = &a->raised[k];
                bool holds;

                if (!x->raised || distance(now_usec, x->notice.time_usec) >= USEC_PER_DAY)
                        continue;
                switch (k) {
                case ADVISORY_FREQUENT:
                        holds = c[TREND_DAYS - 1] > a->config.max_spasms_per_day;
                        break;
                case ADVISORY_RISING:
                        holds = rising(a, now_usec, c);
                        break;
                default:
                        holds = true;
                        break;
                }
                if (holds && (!best || x->notice.time_usec >= best->time_usec))
                        best = &x->notice;
        }

        if (!best) {
                out->kind = ADVISORY_NONE;
                out->time_usec = 0;
                out->message[0] = '\0';
                return false;
        }
        *out = *best;
        return true;
}
