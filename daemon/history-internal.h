/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What history.c (the file) and history-query.c (its index and queries) share; no one else includes this. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "history.h"

/*
 * Where each run of HISTORY_CHUNK records starts and the latest onset among
 * them: a query reads back from the end only the chunks that can hold what
 * it asks for, not the whole file (0.5 s of the event loop for a full
 * 64 MiB one). 24 bytes per 256 records.
 */
#define HISTORY_CHUNK 256

struct chunk {
        uint64_t off;                   /* of its first record */
        uint64_t max_onset_usec;
        uint32_t n;
};

struct history {
        int dir_fd;             /* holds the flock; every file is opened relative to it */
        int fd;
        char *path;
        struct history_limits lim;
        uint64_t size;          /* end of the last sound record: appends go here */
        uint64_t next_id;
        size_t n_records;

        struct chunk *chunks;
        size_t n_chunks, cap_chunks;
        bool index_stale;       /* the file changed without the index: rebuild before use */
};

/* len bytes from off, retrying EINTR; *got is fewer at the end of the file. */
int history_pread(int fd, uint8_t *buf, size_t len, uint64_t off, size_t *got);

/* Up to size bytes from the start; fewer if the file is shorter. The buffer has room for a header at least. */
int history_read_file(int fd, uint64_t size, uint8_t **ret, size_t *retlen);

/* Adds the record at off to the last chunk, or starts one. -ENOMEM leaves the index as it was. */
int history_index_add(struct history *h, uint64_t off, uint64_t onset_usec);

struct history_index_build {
        struct history *h;
        const uint8_t *base;            /* the buffer's offset 0 is the file's */
};

/* A history_record_cb that indexes each record; userdata is a struct history_index_build. */
int history_index_record(const struct event_record *r, const void *raw, size_t raw_len, void *userdata);

/* Replaces the index with one of buf, the whole file as it is now; on failure the index is left stale. */
int history_index_from_buffer(struct history *h, const uint8_t *buf, size_t len);
