/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block-queue.h"

struct block_queue {
        unsigned n;
        size_t floats;          /* data floats per block */
        size_t stride;          /* bytes from one block to the next */
        size_t map_len;         /* bytes mapped at slots */
        unsigned char *slots;
        /* Which slots are free, a bit each, and the slots committed, in
         * order. Only the producer clears a free bit, only the consumer sets
         * one; order[] entries are written by the producer before head moves. */
        atomic_uint_fast64_t *free_bits;
        uint16_t *order;
        unsigned reserved;      /* producer's: the slot reserve() gave out, or NO_SLOT */
        /* Positions in order[] count modulo 2n, so that they never wrap
         * unevenly and a full ring (n apart) differs from an empty one (equal). */
        atomic_uint head;       /* next to fill (producer) */
        atomic_uint tail;       /* next to read (consumer) */
        atomic_uint_fast64_t lost; /* samples lost to a full ring, not yet reported */
        int efd;
};

#define NO_SLOT UINT_MAX
#define WORD_BITS 64u

static unsigned n_words(unsigned n) {
        return (n + WORD_BITS - 1) / WORD_BITS;
}

static void free_all(struct block_queue *q) {
        for (unsigned w = 0; w < n_words(q->n); w++) {
                unsigned left = q->n - w * WORD_BITS;
                atomic_store(&q->free_bits[w], left >= WORD_BITS ? UINT64_MAX : (UINT64_C(1) << left) - 1);
        }
        q->reserved = NO_SLOT;
}

/*
 * The slots come straight from mmap(): zero pages that become resident only
 * when a block is first written there. Together with reserve() handing out
 * the lowest free slot, a queue keeps resident only as many blocks as the
 * loop ever fell behind by, not its whole capacity: a ring that went round
 * all its slots had every one of them resident within its first lap
 * (16 sensors x 22 blocks of 3.2 kB: 1.1 MB, where 2 or 3 blocks each are
 * used while the loop keeps up).
 */
static int alloc_slots(struct block_queue *q, unsigned n_blocks, size_t block_floats) {
        if (n_blocks < 2 || n_blocks > BLOCK_QUEUE_MAX_BLOCKS || block_floats < 1 ||
            block_floats > BLOCK_QUEUE_MAX_FLOATS)
                return -EINVAL;
        const size_t align = _Alignof(struct sample_block);
        size_t stride = (offsetof(struct sample_block, data) + block_floats * sizeof(float) + align - 1) / align * align;
        size_t len = (size_t) n_blocks * stride;
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return -errno;
        atomic_uint_fast64_t *bits = calloc(n_words(n_blocks), sizeof(*bits));
        uint16_t *order = calloc(n_blocks, sizeof(*order));
        if (!bits || !order) {
                free(bits);
                free(order);
                munmap(p, len);
                return -ENOMEM;
        }
        if (q->slots)
                munmap(q->slots, q->map_len);
        free(q->free_bits);
        free(q->order);
        q->slots = p;
        q->map_len = len;
        q->stride = stride;
        q->free_bits = bits;
        q->order = order;
        q->n = n_blocks;
        q->floats = block_floats;
        free_all(q);
        return 0;
}

int block_queue_new_sized(unsigned n_blocks, size_t block_floats, struct block_queue **ret) {
        struct block_queue *q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->efd = -1;
        int r = alloc_slots(q, n_blocks, block_floats);
        if (r >= 0) {
                q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
                if (q->efd < 0)
                        r = -errno;
        }
        if (r < 0) {
                block_queue_free(q);
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
        if (n_blocks == q->n && block_floats == q->floats) {
                block_queue_reset(q);
                return 0;
        }
        int r = alloc_slots(q, n_blocks, block_floats);
        if (r < 0)
                return r;
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
        if (q->slots)
                munmap(q->slots, q->map_len);
        free(q->free_bits);
        free(q->order);
        free(q);
        return NULL;
}

int block_queue_fd(const struct block_queue *q) {
        return q->efd;
}

size_t block_queue_block_floats(const struct block_queue *q) {
        return q->floats;
}

static struct sample_block *slot(struct block_queue *q, unsigned i) {
        return (struct sample_block *) (q->slots + (size_t) i * q->stride);
}

static unsigned advance(const struct block_queue *q, unsigned pos) {
        return pos + 1 == 2 * q->n ? 0 : pos + 1;
}

static uint16_t *order_at(struct block_queue *q, unsigned pos) {
        return &q->order[pos < q->n ? pos : pos - q->n];
}

struct sample_block *block_queue_reserve(struct block_queue *q) {
        /* Until it is committed, the same block: a producer may reserve, find nothing to put in it and come back. */
        if (q->reserved != NO_SLOT)
                return slot(q, q->reserved);
        for (unsigned w = 0; w < n_words(q->n); w++) {
                /* Acquire: the consumer is done with a block it set free. */
                uint_fast64_t bits = atomic_load_explicit(&q->free_bits[w], memory_order_acquire);
                if (!bits)
                        continue;
                unsigned bit = (unsigned) __builtin_ctzll(bits);
                atomic_fetch_and_explicit(&q->free_bits[w], ~(UINT64_C(1) << bit), memory_order_relaxed);
                q->reserved = w * WORD_BITS + bit;
                return slot(q, q->reserved);
        }
        return NULL;
}

void block_queue_notify(struct block_queue *q) {
        uint64_t one = 1;
        /* EAGAIN only if the counter is about to overflow: the loop is awake anyway. */
        (void) !write(q->efd, &one, sizeof(one));
}

void block_queue_commit(struct block_queue *q) {
        unsigned head = atomic_load_explicit(&q->head, memory_order_relaxed);
        if (q->reserved == NO_SLOT)
                return; /* nothing was reserved: nothing to commit */
        struct sample_block *b = slot(q, q->reserved);
        b->dropped += atomic_exchange_explicit(&q->lost, 0, memory_order_relaxed);
        *order_at(q, head) = (uint16_t) q->reserved;
        q->reserved = NO_SLOT;
        atomic_store_explicit(&q->head, advance(q, head), memory_order_release);
        block_queue_notify(q);
}

void block_queue_overrun(struct block_queue *q, uint32_t n_samples) {
        atomic_fetch_add_explicit(&q->lost, n_samples, memory_order_relaxed);
}

struct sample_block *block_queue_peek(struct block_queue *q) {
        unsigned tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
        unsigned head = atomic_load_explicit(&q->head, memory_order_acquire);
        return head == tail ? NULL : slot(q, *order_at(q, tail));
}

void block_queue_release(struct block_queue *q) {
        unsigned tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
        unsigned i = *order_at(q, tail);
        /* The position first, then the slot: a slot set free and filled
         * again must not find its old position still counted in order[]. */
        atomic_store_explicit(&q->tail, advance(q, tail), memory_order_release);
        atomic_fetch_or_explicit(&q->free_bits[i / WORD_BITS], UINT64_C(1) << (i % WORD_BITS), memory_order_release);
}

void block_queue_ack(struct block_queue *q) {
        uint64_t v;
        (void) !read(q->efd, &v, sizeof(v));
}

void block_queue_reset(struct block_queue *q) {
        block_queue_ack(q);
        atomic_store(&q->tail, atomic_load(&q->head));
        atomic_store(&q->lost, 0);
        free_all(q);
}
