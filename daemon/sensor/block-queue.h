/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Blocks from one reader thread to the event loop: a bounded ring of
 * preallocated sample blocks, one producer, one consumer, no locks, and an
 * eventfd that the loop watches. A full ring never blocks the reader: the
 * samples it could not hand over are counted and reported with the next
 * block that gets through, so the detector is told of the gap.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sample-block.h"

struct block_queue;

int block_queue_new(unsigned n_blocks, struct block_queue **ret);
struct block_queue *block_queue_free(struct block_queue *q);
/* Readable when blocks (or news from the reader) wait: add it to sd-event. */
int block_queue_fd(const struct block_queue *q);

/* Producer side. The block to fill, or NULL when the ring is full. */
struct sample_block *block_queue_reserve(struct block_queue *q);
void block_queue_commit(struct block_queue *q);
/* The ring was full: these samples are lost. */
void block_queue_overrun(struct block_queue *q, uint32_t n_samples);
/* Wake the consumer without a block (the reader stopped; read its status). */
void block_queue_notify(struct block_queue *q);

/* Consumer side: the oldest block or NULL; release it when done. */
struct sample_block *block_queue_peek(struct block_queue *q);
void block_queue_release(struct block_queue *q);
/* Clear the eventfd before draining, so nothing committed meanwhile is missed. */
void block_queue_ack(struct block_queue *q);
/* Drop everything (after the producer stopped). */
void block_queue_reset(struct block_queue *q);
