/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Blocks from one reader thread to the event loop: a bounded queue of
 * preallocated sample blocks, one producer, one consumer, no locks, and an
 * eventfd that the loop watches. Blocks come out in the order they were
 * committed; the producer always fills the lowest free slot, so that only
 * as many slots are ever resident as the consumer fell behind by. A full ring never blocks the reader: the
 * samples it could not hand over are counted and reported with the next
 * block that gets through, so the detector is told of the gap.
 *
 * A ring made by block_queue_new() holds whole struct sample_blocks. One
 * made by block_queue_new_sized() (or resized) holds blocks of only
 * block_floats floats of data each, laid end to end, so that its memory is
 * what the device's refills need and not SAMPLE_BLOCK_MAX_SAMPLES x
 * SAMPLE_BLOCK_MAX_CHANNELS floats a block: fill such a block's fields and
 * data[0 .. block_floats), never assign or copy the struct whole.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sample-block.h"

#define BLOCK_QUEUE_MAX_BLOCKS 4096u
#define BLOCK_QUEUE_MAX_FLOATS ((size_t) SAMPLE_BLOCK_MAX_SAMPLES * SAMPLE_BLOCK_MAX_CHANNELS)

struct block_queue;

/* 2 to 64 whole blocks. */
int block_queue_new(unsigned n_blocks, struct block_queue **ret);
/* 2 to BLOCK_QUEUE_MAX_BLOCKS blocks of 1 to BLOCK_QUEUE_MAX_FLOATS floats. */
int block_queue_new_sized(unsigned n_blocks, size_t block_floats, struct block_queue **ret);
/* New blocks, all empty; only while no producer runs (the eventfd stays). */
int block_queue_resize(struct block_queue *q, unsigned n_blocks, size_t block_floats);
struct block_queue *block_queue_free(struct block_queue *q);
/* Readable when blocks (or news from the reader) wait: add it to sd-event. */
int block_queue_fd(const struct block_queue *q);
/* Floats of data each block holds: samples x channels. */
size_t block_queue_block_floats(const struct block_queue *q);

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
