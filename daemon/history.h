/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The durable event history: finished events in DIR/events.log, an
 * append-only file that survives crashes, full disks and bit rot.
 *
 * File format (all integers little-endian, floats IEEE-754 binary32):
 *
 *   header, HISTORY_HEADER_SIZE bytes
 *     0  magic "SPASMHIS"
 *     8  u32 version, 1
 *    12  u64 id floor: every id ever handed out is below it (ids of
 *        records that compaction dropped still count)
 *    20  u32 CRC-32C of bytes 0..19
 *   then records, each
 *     0  u32 magic HISTORY_RECORD_MAGIC
 *     4  u32 payload length, HISTORY_PAYLOAD_V1 .. HISTORY_PAYLOAD_MAX
 *     8  u32 CRC-32C of the length field and the payload
 *    12  payload: u64 id, u64 onset_usec, u64 duration_usec, u32 class,
 *        u32 posture, u32 channel_mask, f32 peak_uv, mean_uv, intensity,
 *        mvc_pct, pulse_hz, char sensor[64], char side[8] (NUL-padded);
 *        a longer payload (a later version) has more after these fields.
 *
 * A record is written with one pwrite() and fdatasync()ed before
 * history_append() returns, so a crash leaves at most one torn record,
 * at the end. Opening cuts a torn or corrupt tail; a corrupt record in the
 * middle is skipped (the reader resyncs on the next record magic whose
 * checksum holds) and the file is rewritten without it. Compaction and
 * every rewrite go through DIR/events.log.tmp and rename(), so the file is
 * always either the old or the new one.
 *
 * Not thread-safe: one struct history belongs to one thread (the
 * manager's event loop). An exclusive flock() on DIR keeps a second
 * daemon out. The history does not log: failures and recoveries come back
 * as -errno and a sentence in the caller's message buffer.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define HISTORY_FILE "events.log"
#define HISTORY_TMP_FILE "events.log.tmp"
#define HISTORY_VERSION 1
#define HISTORY_HEADER_SIZE 24
#define HISTORY_RECORD_MAGIC UINT32_C(0x5ce57a9d)
#define HISTORY_FRAME_HEAD 12          /* magic, length, CRC */
#define HISTORY_PAYLOAD_V1 128
#define HISTORY_PAYLOAD_MAX 512        /* the reader rejects longer records as corrupt */
#define HISTORY_RECORD_SIZE (HISTORY_FRAME_HEAD + HISTORY_PAYLOAD_V1)
/* history_open() refuses a bigger file rather than read it all into memory. */
#define HISTORY_FILE_MAX (UINT64_C(1) << 30)

struct history_limits {
        uint64_t max_age_usec;  /* 0: keep records of any age */
        uint64_t max_bytes;     /* 0: no size limit; else the whole file, header included */
};

struct history;

/*
 * Opens DIR/events.log, creating it (mode 0640) if it is missing; DIR must
 * exist. Removes a temp file left by a crash during compaction, cuts a torn
 * or corrupt tail (ftruncate + fsync) and rewrites the file without corrupt
 * records found in the middle. msg gets a sentence saying what was repaired,
 * or "" when nothing was; on failure it says what went wrong. Returns 0,
 * -EBUSY if another process has DIR open, -EBADMSG if events.log is not an
 * event history, -EPROTONOSUPPORT for a later version, or another -errno.
 * Retention is not applied here: call history_compact() after opening.
 */
int history_open(const char *dir, const struct history_limits *lim, struct history **ret, char *msg,
                 size_t msglen);
struct history *history_free(struct history *h);

/* Takes effect at the next history_compact(). */
void history_set_limits(struct history *h, const struct history_limits *lim);

/*
 * Appends r and syncs it: when this returns 0 the record survives a crash.
 * On failure (-ENOSPC, -EIO, -EFBIG, ...) whatever part of the record got
 * written is cut off again, earlier records are untouched and a later call
 * may succeed. -EINVAL for a record the reader would reject (enum out of
 * range, unterminated string). r->id is the caller's, normally
 * history_next_id().
 */
int history_append(struct history *h, const struct event_record *r);

/* 1 + the highest id ever stored (compacted records included), 1 for a new history. */
uint64_t history_next_id(const struct history *h);

/*
 * Ids below upto are handed out, whether or not their events are ever
 * stored (an activation still running at a crash, one withdrawn as noise):
 * raises the header's id floor and syncs it, so that history_next_id()
 * after a restart never gives them again.
 */
int history_reserve_ids(struct history *h, uint64_t upto);

/* Records in the file now, corrupt ones not counted. */
size_t history_count(const struct history *h);

/*
 * The newest `limit` records (0: all) with onset_usec >= since_usec, oldest
 * first, in the order they were stored. *ret is malloc()ed, or NULL when
 * *n is 0; the caller frees it.
 */
int history_query(struct history *h, uint64_t since_usec, unsigned limit, struct event_record **ret, size_t *n);

/*
 * Drops the records with onset_usec < now_usec - max_age and then the
 * oldest ones until the file fits max_bytes. The file is rewritten only if
 * something goes, through a temp file, fsync, rename and a directory fsync.
 * Returns the number of records dropped or -errno; on failure the old file
 * stays in use, untouched.
 */
int history_compact(struct history *h, uint64_t now_usec);

/* DIR/events.log, for messages. */
const char *history_path(const struct history *h);

/* --- the parser, shared by history_open() and the fuzz target ----------------------- */

struct history_scan {
        uint32_t version;
        uint64_t id_floor;       /* from the header; 0 if its checksum failed */
        bool header_ok;          /* false: torn (buffer shorter than a header) or checksum failed */
        size_t valid_len;        /* where the last sound record ends; what follows is torn or garbage */
        size_t n_records;        /* records passed to the callback */
        size_t n_skipped;        /* corrupt stretches skipped before valid_len */
        uint64_t max_id;         /* highest id among the records, 0 if none */
};

/*
 * Called for each good record, in file order, with its decoded form and its
 * raw bytes (frame head included) inside the buffer. A negative return stops
 * the scan and is returned by history_scan_buffer().
 */
typedef int (*history_record_cb)(const struct event_record *r, const void *raw, size_t raw_len, void *userdata);

/*
 * Parses the bytes of a history file; pure, no I/O, bounded work
 * (O(len * HISTORY_PAYLOAD_MAX) at worst). A record whose checksum holds
 * but whose fields do not (an enum out of range) is skipped and counted.
 * A buffer shorter than a header that begins like one returns 0 with
 * valid_len 0 and header_ok false. cb may be NULL. Returns 0, -EBADMSG if
 * the magic is wrong, -EPROTONOSUPPORT for another version, or cb's error.
 */
int history_scan_buffer(const void *buf, size_t len, history_record_cb cb, void *userdata,
                        struct history_scan *ret);

/*
 * The same for a stretch of records with no header (the file from a record's
 * start on): what history_query() reads back through its index.
 */
int history_scan_records(const void *buf, size_t len, history_record_cb cb, void *userdata,
                         struct history_scan *ret);

/* CRC-32C (Castagnoli), as in iSCSI and ext4; chain by passing the previous result as crc, 0 to start. */
uint32_t history_crc32c(uint32_t crc, const void *buf, size_t len);

/* The writer's side, for history.c and for tests that build files by hand. */
void history_encode_header(uint8_t b[static HISTORY_HEADER_SIZE], uint64_t id_floor);
/* False for what the reader would reject: an enum out of range, an unterminated string. */
bool history_record_storable(const struct event_record *r);
/* A whole v1 frame, head and payload; r must be storable. */
void history_encode_record(uint8_t frame[static HISTORY_RECORD_SIZE], const struct event_record *r);
