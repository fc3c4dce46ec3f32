/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "block-queue.h"

struct block_queue {
        unsigned n;
        size_t floats;          /* data floats per block */
        size_t stride;          /* bytes from one block to the next */
        unsigned char *slots;
        /* Positions count modulo 2n, so that they never wrap unevenly and a
         * full ring (n apart) differs from an empty one (equal). */
        atomic_uint head;       /* next to fill (producer) */
        atomic_uint tail;       /* next to read (consumer) */
        atomic_uint_fast64_t lost; /* samples lost to a full ring, not yet reported */
        int efd;
};

static int alloc_slots(unsigned n_blocks, size_t block_floats, unsigned char **ret, size_t *ret_stride) {
        if (n_blocks < 2 || n_blocks > BLOCK_QUEUE_MAX_BLOCKS || block_floats < 1 ||
            block_floats > BLOCK_QUEUE_MAX_FLOATS)
                return -EINVAL;
        const size_t align = _Alignof(struct sample_block);
        size_t stride = (offsetof(struct sample_block, data) + block_floats * sizeof(float) + align - 1) / align * align;
        /* calloc: large rings come from fresh pages that nothing touches until a block is filled. */
        unsigned char *p = calloc(n_blocks, stride);
        if (!p)
                return -ENOMEM;
        *ret = p;
        *ret_stride = stride;
        return 0;
}

int block_queue_new_sized(unsigned n_blocks, size_t block_floats, struct block_queue **ret) {
        struct block_queue *q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        int r = alloc_slots(n_blocks, block_floats, &q->slots, &q->stride);
        if (r < 0) {
                free(q);
                return r;
        }
        q->n = n_blocks;
        q->floats = block_floats;
        q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (q->efd < 0) {
                r = -errno;
                free(q->slots);
                free(q);
                return r;
        }
        *ret = q;
        return 0;
}

int block_queue_new(unsigned n_blocks, struct block_queue **ret) {
        if (n_blocks > 64)
                return -EINVAL;
        return block_queue_new_sized(n_blocks, BLOCK_QUEUE_MAX_FLOATS, ret);
}

int block_queue_resize(struct block_queue *q, unsigned n_blocks, size_t block_floats) {
        unsigned char *slots;
        size_t stride;

        if (n_blocks == q->n && block_floats == q->floats) {
                block_queue_reset(q);
                return 0;
        }
        int r = alloc_slots(n_blocks, block_floats, &slots, &stride);
        if (r < 0)
                return r;
        free(q->slots);
        q->slots = slots;
        q->stride = stride;
        q->n = n_blocks;
        q->floats = block_floats;
        block_queue_ack(q);
        atomic_store(&q->head, 0);
        atomic_store(&q->tail, 0);
        atomic_store(&q->lost, 0);
        return 0;
}

struct block_queue *block_queue_free(struct block_queue *q) {
        if (!q)
                return NULL;
        if (q->efd >= 0)
                close(q->efd);
        free(q->slots);
        free(q);
        return NULL;
}

int block_queue_fd(const struct block_queue *q) {
        return q->efd;
}

size_t block_queue_block_floats(const struct block_queue *q) {
        return q->floats;
}

static struct sample_block *slot(struct block_queue *q, unsigned pos) {
        return (struct sample_block *) (q->slots + (size_t) (pos < q->n ? pos : pos - q->n) * q->stride);
}

static unsigned advance(const struct block_queue *q, unsigned pos) {
        return pos + 1 == 2 * q->n ? 0 : pos + 1;
}

struct sample_block *block_queue_reserve(struct block_queue *q) {
        unsigned head = atomic_load_explicit(&q->head, memory_order_relaxed);
        unsigned tail = atomic_load_explicit(&q->tail, memory_order_acquire);
        if ((head >= tail ? head - tail : head + 2 * q->n - tail) >= q->n)
                return NULL;
        return slot(q, head);
}

void block_queue_notify(struct block_queue *q) {
        uint64_t one = 1;
        /* EAGAIN only if the counter is about to overflow: the loop is awake anyway. */
        (void) !write(q->efd, &one, sizeof(one));
}

void block_queue_commit(struct block_queue *q) {
        unsigned head = atomic_load_explicit(&q->head, memory_order_relaxed);
        struct sample_block *b = slot(q, head);
        b->dropped += atomic_exchange_explicit(&q->lost, 0, memory_order_relaxed);
        atomic_store_explicit(&q->head, advance(q, head), memory_order_release);
        block_queue_notify(q);
}

void block_queue_overrun(struct block_queue *q, uint32_t n_samples) {
        atomic_fetch_add_explicit(&q->lost, n_samples, memory_order_relaxed);
}

struct sample_block *block_queue_peek(struct block_queue *q) {
        unsigned tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
        unsigned head = atomic_load_explicit(&q->head, memory_order_acquire);
        return head == tail ? NULL : slot(q, tail);
}

void block_queue_release(struct block_queue *q) {
        unsigned tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
        atomic_store_explicit(&q->tail, advance(q, tail), memory_order_release);
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
