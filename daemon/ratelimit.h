/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Token buckets for a D-Bus method that costs the daemon real work: GetEvents
 * reads records back from the history file and checks them, on the event loop
 * that also runs the detectors. Each client (its unique bus name) has three
 * buckets: calls, rows returned, and microseconds the loop spent answering
 * it; all clients together share one more bucket of loop time, because
 * anyone may open many connections and each gets its own buckets.
 *
 * A call is admitted when the client has a whole call token and its other
 * buckets, and the shared one, are not in debt. What the call cost (rows,
 * time) is known only afterwards and is then charged, possibly into debt.
 * A client whose own time bucket is full (it has not kept the loop busy
 * lately) may take the shared bucket down to a second bucketful of debt:
 * when a flood has used up the shared time, a client asking now and then
 * still gets its answer, and in the long run all of them together still
 * get no more than the shared rate. A refused call costs a call token too
 * (down to a bucketful of debt), so that asking again at once, and again,
 * gets nothing, and waiting as told does.
 *
 * The table of clients is bounded. A client whose buckets have all refilled
 * carries no state a fresh entry would not have, so its entry may be taken
 * over at any time: clients that disconnected are forgotten that way, with
 * no NameOwnerChanged match (which would wake us for every connection on
 * the system bus). When every entry is still in use, the least recently
 * seen client is evicted; it starts afresh if it comes back, which the
 * shared bucket keeps harmless.
 *
 * Times are CLOCK_MONOTONIC microseconds, passed in, so a wall-clock step
 * changes nothing and tests can drive the clock.
 */

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_CLIENTS 256
#define RATELIMIT_KEY_MAX 48    /* unique names are ":1.N"; a longer key is cut, sharing a bucket at worst */

enum ratelimit_kind {
        RATELIMIT_CALLS,
        RATELIMIT_ROWS,
        RATELIMIT_BUSY,         /* microseconds of the event loop */
        _RATELIMIT_KIND_MAX,
        RATELIMIT_TOTAL_BUSY = _RATELIMIT_KIND_MAX,     /* only as a reason for refusing */
};

struct ratelimit_rate {
        double burst;           /* the bucket's size */
        double per_s;           /* tokens added per second */
};

struct ratelimit_config {
        struct ratelimit_rate client[_RATELIMIT_KIND_MAX];
        struct ratelimit_rate total_busy;
};

struct ratelimit_client {
        char key[RATELIMIT_KEY_MAX];    /* "" for a free entry */
        double tokens[_RATELIMIT_KIND_MAX];
        uint64_t refilled_usec;
        uint64_t seen_usec;
};

struct ratelimit {
        struct ratelimit_config cfg;
        struct ratelimit_client clients[RATELIMIT_CLIENTS];
        double total_busy;
        uint64_t total_refilled_usec;
        uint64_t n_refused;             /* since the last ratelimit_take_refused() */
        uint64_t n_evicted;             /* clients pushed out while still limited */
};

void ratelimit_init(struct ratelimit *rl, const struct ratelimit_config *cfg);

/*
 * Whether key may call now. Returns 0 and sets *ret_client (valid until the
 * next ratelimit_admit()) with one call token taken; or -EBUSY with
 * *ret_wait_usec, how long until it may, and *ret_kind, which bucket said no.
 */
int ratelimit_admit(struct ratelimit *rl, const char *key, uint64_t now_usec, struct ratelimit_client **ret_client,
                    uint64_t *ret_wait_usec, enum ratelimit_kind *ret_kind);

/* What an admitted call cost. */
void ratelimit_charge(struct ratelimit *rl, struct ratelimit_client *c, uint64_t rows, uint64_t busy_usec);

/* Refusals since the last call, for a log line now and then rather than one per refusal. */
uint64_t ratelimit_take_refused(struct ratelimit *rl);
