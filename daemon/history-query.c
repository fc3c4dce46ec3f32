/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history.h"
#include "history-internal.h"

int history_index_add(struct history *h, uint64_t off, uint64_t onset_usec) {
        if (h->n_chunks == 0 || h->chunks[h->n_chunks - 1].n == HISTORY_CHUNK) {
                if (h->n_chunks == h->cap_chunks) {
                        size_t cap = h->cap_chunks ? h->cap_chunks * 2 : 16;
                        struct chunk *v = reallocarray(h->chunks, cap, sizeof(*v));
                        if (!v)
                                return -ENOMEM;
                        h->chunks = v;
                        h->cap_chunks = cap;
                }
                h->chunks[h->n_chunks++] = (struct chunk) { .off = off, .max_onset_usec = onset_usec };
        }
        struct chunk *c = &h->chunks[h->n_chunks - 1];
        c->n++;
        if (onset_usec > c->max_onset_usec)
                c->max_onset_usec = onset_usec;
        return 0;
}

int history_index_record(const struct event_record *r, const void *raw, size_t raw_len, void *userdata) {
        struct history_index_build *b = userdata;

        (void) raw_len;
        return history_index_add(b->h, (uint64_t) ((const uint8_t *) raw - b->base), r->onset_usec);
}

/* From the bytes of the whole file as it is now. */
int history_index_from_buffer(struct history *h, const uint8_t *buf, size_t len) {
        struct history_index_build b = { .h = h, .base = buf };
        struct history_scan scan;

        h->n_chunks = 0;
        h->index_stale = true;
        int k = history_scan_buffer(buf, len, history_index_record, &b, &scan);
        if (k < 0)
                return k;
        h->index_stale = false;
        return 0;
}

static int index_rebuild(struct history *h) {
        uint8_t *buf;
        size_t len;
        int k = history_read_file(h->fd, h->size, &buf, &len);

        if (k < 0)
                return k;
        k = history_index_from_buffer(h, buf, len);
        free(buf);
        return k;
}

/* --- queries ------------------------------------------------------------------- */

struct pick {
        struct event_record *v;         /* one chunk's matches */
        size_t n;
        uint64_t since_usec;
};

static int pick_record(const struct event_record *r, const void *raw, size_t raw_len, void *userdata) {
        struct pick *p = userdata;

        (void) raw;
        (void) raw_len;
        /* A chunk holds HISTORY_CHUNK records unless the file was changed behind our back. */
        if (r->onset_usec >= p->since_usec && p->n < HISTORY_CHUNK)
                p->v[p->n++] = *r;
        return 0;
}

/* Chunk i's records from since_usec on into pick; buf grows to the largest chunk read. */
static int read_chunk(struct history *h, size_t i, uint8_t **buf, size_t *buf_cap, struct pick *pick) {
        const struct chunk *c = &h->chunks[i];
        uint64_t end = i + 1 < h->n_chunks ? h->chunks[i + 1].off : h->size;
        struct history_scan scan;
        size_t len;
        int k;

        pick->n = 0;
        if (c->max_onset_usec < pick->since_usec || end <= c->off)
                return 0;
        if (end - c->off > *buf_cap) {
                uint8_t *b = realloc(*buf, end - c->off);
                if (!b)
                        return -ENOMEM;
                *buf = b;
                *buf_cap = end - c->off;
        }
        k = history_pread(h->fd, *buf, end - c->off, c->off, &len);
        if (k < 0)
                return k;
        /* Checked again: a record that rotted since opening is skipped, as a full scan would. */
        (void) history_scan_records(*buf, len, pick_record, pick, &scan);
        return 0;
}

int history_query(struct history *h, uint64_t since_usec, unsigned limit, struct event_record **ret, size_t *n) {
        struct pick pick = { .since_usec = since_usec };
        struct event_record *out = NULL;
        uint8_t *buf = NULL;
        size_t cap, filled = 0, buf_cap = 0;
        int k = 0;

        *ret = NULL;
        *n = 0;
        if (h->index_stale) {
                k = index_rebuild(h);
                if (k < 0)
                        return k;
        }
        cap = limit > 0 && limit < h->n_records ? limit : h->n_records;
        if (cap == 0)
                return 0;
        out = calloc(cap, sizeof(*out));
        pick.v = calloc(HISTORY_CHUNK, sizeof(*pick.v));
        if (!out || !pick.v) {
                k = -ENOMEM;
                goto out;
        }
        /* Newest chunks first, each chunk's matches put in front of those already found. */
        for (size_t i = h->n_chunks; i-- > 0 && filled < cap;) {
                k = read_chunk(h, i, &buf, &buf_cap, &pick);
                if (k < 0)
                        goto out;
                size_t take = pick.n < cap - filled ? pick.n : cap - filled;
                memcpy(out + cap - filled - take, pick.v + pick.n - take, take * sizeof(*out));
                filled += take;
        }
        if (filled > 0) {
                memmove(out, out + cap - filled, filled * sizeof(*out));
                *ret = out;
                *n = filled;
                out = NULL;
        }
out:
        free(buf);
        free(pick.v);
        free(out);
        return k;
}
