/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * replay:PATH — a recording v1 file played into the same path live samples
 * take: a reader thread, blocks through a block_queue, at `speed` times real
 * time (0: as fast as the loop takes them). Unlike a device, a file can
 * wait, so a full queue makes the reader wait instead of dropping.
 */

#include <stddef.h>

#include "block-queue.h"
#include "sample-block.h"

struct replay_source;

int replay_source_open(const char *path, double speed, unsigned block_ms, struct replay_source **ret, char *err,
                       size_t errlen);
struct replay_source *replay_source_free(struct replay_source *s);
double replay_source_rate(const struct replay_source *s);
unsigned replay_source_n_channels(const struct replay_source *s);
const char *replay_source_channel_name(const struct replay_source *s, unsigned i);
enum sample_role replay_source_channel_role(const struct replay_source *s, unsigned i);
int replay_source_start(struct replay_source *s, struct block_queue *q);
int replay_source_stop(struct replay_source *s);
/* 0 while playing, 1 at the end of the file, < 0 on an error (message in msg). */
int replay_source_status(const struct replay_source *s, char *msg, size_t len);
