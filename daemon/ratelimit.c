/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ratelimit.h"

static double refill(double tokens, const struct ratelimit_rate *rate, uint64_t elapsed_usec) {
        double t = tokens + rate->per_s * ((double) elapsed_usec / 1e6);
        return t < rate->burst ? t : rate->burst;
}

static void refill_client(struct ratelimit *rl, struct ratelimit_client *c, uint64_t now_usec) {
        /* A clock that went back (it cannot, being monotonic, but a caller may mix clocks) adds nothing. */
        uint64_t dt = now_usec > c->refilled_usec ? now_usec - c->refilled_usec : 0;
        for (unsigned k = 0; k < _RATELIMIT_KIND_MAX; k++)
                c->tokens[k] = refill(c->tokens[k], &rl->cfg.client[k], dt);
        c->refilled_usec = now_usec > c->refilled_usec ? now_usec : c->refilled_usec;
}

static bool client_full(const struct ratelimit *rl, const struct ratelimit_client *c) {
        for (unsigned k = 0; k < _RATELIMIT_KIND_MAX; k++)
                if (c->tokens[k] < rl->cfg.client[k].burst)
                        return false;
        return true;
}

static void client_reset(struct ratelimit *rl, struct ratelimit_client *c, const char *key, uint64_t now_usec) {
        snprintf(c->key, sizeof(c->key), "%s", key);
        for (unsigned k = 0; k < _RATELIMIT_KIND_MAX; k++)
                c->tokens[k] = rl->cfg.client[k].burst;
        c->refilled_usec = c->seen_usec = now_usec;
}

void ratelimit_init(struct ratelimit *rl, const struct ratelimit_config *cfg) {
        memset(rl, 0, sizeof(*rl));
        rl->cfg = *cfg;
        rl->total_busy = cfg->total_busy.burst;
}

static struct ratelimit_client *find_or_take(struct ratelimit *rl, const char *key, uint64_t now_usec) {
        struct ratelimit_client *free_slot = NULL, *idle = NULL, *oldest = NULL;
        char k[RATELIMIT_KEY_MAX];

        snprintf(k, sizeof(k), "%s", key);
        for (unsigned i = 0; i < RATELIMIT_CLIENTS; i++) {
                struct ratelimit_client *c = &rl->clients[i];
                if (!c->key[0]) {
                        if (!free_slot)
                                free_slot = c;
                        continue;
                }
                if (strcmp(c->key, k) == 0)
                        return c;
                if (!oldest || c->seen_usec < oldest->seen_usec)
                        oldest = c;
        }
        if (!free_slot) {
                /* Full: take over a client that has refilled (gone, or calm), else the one seen last longest ago. */
                for (unsigned i = 0; i < RATELIMIT_CLIENTS && !idle; i++) {
                        refill_client(rl, &rl->clients[i], now_usec);
                        if (client_full(rl, &rl->clients[i]))
                                idle = &rl->clients[i];
                }
                if (!idle)
                        rl->n_evicted++;
        }
        struct ratelimit_client *c = free_slot ? free_slot : idle ? idle : oldest;
        client_reset(rl, c, k, now_usec);
        return c;
}

static uint64_t wait_for(double missing, const struct ratelimit_rate *rate) {
        if (missing <= 0)
                return 0;
        if (rate->per_s <= 0)
                return UINT64_MAX;
        return (uint64_t) ceil(missing / rate->per_s * 1e6);
}

int ratelimit_admit(struct ratelimit *rl, const char *key, uint64_t now_usec, struct ratelimit_client **ret_client,
                    uint64_t *ret_wait_usec, enum ratelimit_kind *ret_kind) {
        /* No sender (a direct connection, no bus): one bucket for all such; "" marks a free entry. */
        struct ratelimit_client *c = find_or_take(rl, key && *key ? key : "-", now_usec);
        uint64_t wait = 0, w;
        enum ratelimit_kind why = RATELIMIT_CALLS;

        refill_client(rl, c, now_usec);
        c->seen_usec = now_usec;
        uint64_t dt = now_usec > rl->total_refilled_usec ? now_usec - rl->total_refilled_usec : 0;
        rl->total_busy = refill(rl->total_busy, &rl->cfg.total_busy, dt);
        if (now_usec > rl->total_refilled_usec)
                rl->total_refilled_usec = now_usec;

        /* A whole call token; the other buckets only need to be out of debt. */
        for (unsigned k = 0; k < _RATELIMIT_KIND_MAX; k++) {
                w = wait_for((k == RATELIMIT_CALLS ? 1.0 : 0.0) - c->tokens[k], &rl->cfg.client[k]);
                if (w > wait) {
                        wait = w;
                        why = (enum ratelimit_kind) k;
                }
        }
        /* A client that has not kept the loop busy lately may still go when the others have used up the
         * shared bucket, down to a second bucketful of debt: a flood gets the loop's share and no more,
         * but does not lock out a client that asks now and then. */
        bool light = c->tokens[RATELIMIT_BUSY] >= rl->cfg.client[RATELIMIT_BUSY].burst;
        w = wait_for((light ? -rl->cfg.total_busy.burst : 0.0) - rl->total_busy, &rl->cfg.total_busy);
        if (w > wait) {
                wait = w;
                why = RATELIMIT_TOTAL_BUSY;
        }
        if (wait > 0) {
                /* A refused call costs a call too, down to a bucketful of debt: a client that keeps
                 * asking faster than the refill is never let through, one that waits as told is. */
                struct ratelimit_rate *calls = &rl->cfg.client[RATELIMIT_CALLS];
                c->tokens[RATELIMIT_CALLS] -= 1.0;
                if (c->tokens[RATELIMIT_CALLS] < -calls->burst)
                        c->tokens[RATELIMIT_CALLS] = -calls->burst;
                w = wait_for(1.0 - c->tokens[RATELIMIT_CALLS], calls);
                if (w > wait) {
                        wait = w;
                        why = RATELIMIT_CALLS;
                }
                rl->n_refused++;
                *ret_client = NULL;
                *ret_wait_usec = wait;
                *ret_kind = why;
                return -EBUSY;
        }
        c->tokens[RATELIMIT_CALLS] -= 1.0;
        *ret_client = c;
        *ret_wait_usec = 0;
        *ret_kind = RATELIMIT_CALLS;
        return 0;
}

void ratelimit_charge(struct ratelimit *rl, struct ratelimit_client *c, uint64_t rows, uint64_t busy_usec) {
        if (!c)
                return;
        c->tokens[RATELIMIT_ROWS] -= (double) rows;
        c->tokens[RATELIMIT_BUSY] -= (double) busy_usec;
        rl->total_busy -= (double) busy_usec;
}

uint64_t ratelimit_take_refused(struct ratelimit *rl) {
        uint64_t n = rl->n_refused;
        rl->n_refused = 0;
        return n;
}
