/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "block-queue.h"

struct block_queue {
        unsigned n;
        atomic_uint head;       /* next to fill (producer) */
        atomic_uint tail;       /* next to read (consumer) */
        atomic_uint_fast64_t lost; /* samples lost to a full ring, not yet reported */
        int efd;
        struct sample_block blocks[];
};

int block_queue_new(unsigned n_blocks, struct block_queue **ret) {
        if (n_blocks < 2 || n_blocks > 64)
                return -EINVAL;
        struct block_queue *q = calloc(1, sizeof(*q) + n_blocks * sizeof(struct sample_block));
        if (!q)
                return -ENOMEM;
        q->n = n_blocks;
        q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (q->efd < 0) {
                int r = -errno;
                free(q);
                return r;
        }
        *ret = q;
        return 0;
}

struct block_queue *block_queue_free(struct block_queue *q) {
        if (!q)
                return NULL;
        if (q->efd >= 0)
                close(q->efd);
        free(q);
        return NULL;
}

int block_queue_fd(const struct block_queue *q) {
        return q->efd;
}

struct sample_block *block_queue_reserve(struct block_queue *q) {
        unsigned head = atomic_load_explicit(&q->head, memory_order_relaxed);
        unsigned tail = atomic_load_explicit(&q->tail, memory_order_acquire);
        if (head - tail >= q->n)
                return NULL;
        return &q->blocks[head % q->n];
}

void block_queue_notify(struct block_queue *q) {
        uint64_t one = 1;
        /* EAGAIN only if the counter is about to overflow: the loop is awake anyway. */
        (void) !write(q->efd, &one, sizeof(one));
}

void block_queue_commit(struct block_queue *q) {
        unsigned head = atomic_load_explicit(&q->head, memory_order_relaxed);
        struct sample_block *b = &q->blocks[head % q->n];
        b->dropped += atomic_exchange_explicit(&q->lost, 0, memory_order_relaxed);
        atomic_store_explicit(&q->head, head + 1, memory_order_release);
        block_queue_notify(q);
}

void block_queue_overrun(struct block_queue *q, uint32_t n_samples) {
        atomic_fetch_add_explicit(&q->lost, n_samples, memory_order_relaxed);
}

struct sample_block *block_queue_peek(struct block_queue *q) {
        unsigned tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
        unsigned head = atomic_load_explicit(&q->head, memory_order_acquire);
        return head == tail ? NULL : &q->blocks[tail % q->n];
}

void block_queue_release(struct block_queue *q) {
        unsigned tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
        atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
}

void block_queue_ack(struct block_queue *q) {
        uint64_t v;
        (void) !read(q->efd, &v, sizeof(v));
}

void block_queue_reset(struct block_queue *q) {
        block_queue_ack(q);
        atomic_store(&q->tail, atomic_load(&q->head));
        atomic_store(&q->lost, 0);
}
