/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The event-history parser (daemon/history-format.c): history_scan_buffer()
 * on the input as the bytes of an events.log.
 *
 * Checked beyond the sanitizers:
 *   - every record handed to the callback is storable, lies inside the
 *     sound part of the buffer, and encodes and decodes to itself;
 *   - the counts (records, max id) match what the callback saw;
 *   - the scan is a fixed point: the sound prefix scans the same, which is
 *     what history_open() relies on after it cuts a torn tail;
 *   - a callback's error stops the scan and comes back.
 */

#include "fuzz-util.h"
#include "history.h"

struct seen {
        const uint8_t *buf;
        size_t len;
        size_t n;
        uint64_t max_id;
        size_t last_end;     /* records come in file order, never overlapping */
        size_t stop_after;   /* fail the callback at this record, 0: never */
};

static int capture(const struct event_record *r, const void *raw, size_t raw_len, void *userdata) {
        (void) raw;
        (void) raw_len;
        memcpy(userdata, r, sizeof(*r));
        return 0;
}

static int on_record(const struct event_record *r, const void *raw, size_t raw_len, void *userdata) {
        struct seen *s = userdata;
        const uint8_t *p = raw;

        fuzz_check(p >= s->buf + HISTORY_HEADER_SIZE && raw_len <= s->len && p + raw_len <= s->buf + s->len,
                   "record at %td+%zu outside a buffer of %zu", p - s->buf, raw_len, s->len);
        fuzz_check((size_t) (p - s->buf) >= s->last_end, "records overlap or go backwards");
        fuzz_check(raw_len >= HISTORY_RECORD_SIZE && raw_len <= HISTORY_FRAME_HEAD + HISTORY_PAYLOAD_MAX,
                   "record length %zu", raw_len);
        fuzz_check(history_record_storable(r), "a record the writer would refuse");
        s->last_end = (size_t) (p - s->buf) + raw_len;

        /* Encode it again, read it back: the same record, byte for byte (the decoder zeroes the padding). */
        uint8_t file[HISTORY_HEADER_SIZE + HISTORY_RECORD_SIZE];
        struct history_scan scan;
        struct event_record back;
        history_encode_header(file, 1);
        history_encode_record(file + HISTORY_HEADER_SIZE, r);
        memset(&back, 0xa5, sizeof(back));
        int k = history_scan_buffer(file, sizeof(file), capture, &back, &scan);
        fuzz_check(k == 0 && scan.header_ok && scan.n_records == 1 && scan.valid_len == sizeof(file) &&
                   scan.max_id == r->id && scan.n_skipped == 0, "a re-encoded record does not scan back");
        fuzz_check(memcmp(&back, r, sizeof(back)) == 0, "record %ju changes when encoded and read back",
                   (uintmax_t) r->id);

        s->n++;
        if (r->id > s->max_id)
                s->max_id = r->id;
        if (s->stop_after && s->n == s->stop_after)
                return -ECANCELED;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct history_scan scan, again;
        struct seen s = { .buf = data, .len = size };
        int k;

        k = history_scan_buffer(data, size, on_record, &s, &scan);
        fuzz_check(k == 0 || k == -EBADMSG || k == -EPROTONOSUPPORT, "scan returned %d", k);
        if (k < 0)
                return 0;
        fuzz_check(scan.valid_len <= size, "valid_len %zu of %zu", scan.valid_len, size);
        fuzz_check(scan.n_records == s.n && scan.max_id == s.max_id, "counts: %zu/%zu records, max id %ju/%ju",
                   scan.n_records, s.n, (uintmax_t) scan.max_id, (uintmax_t) s.max_id);
        fuzz_check(s.last_end <= scan.valid_len, "a record past valid_len");
        if (size < HISTORY_HEADER_SIZE) {
                fuzz_check(scan.valid_len == 0 && !scan.header_ok && scan.n_records == 0, "a torn header");
                return 0;
        }
        fuzz_check(scan.valid_len >= HISTORY_HEADER_SIZE, "valid_len %zu inside the header", scan.valid_len);
        fuzz_check(scan.header_ok || scan.id_floor == 0, "an id floor from a bad header");

        /* What history_open() keeps after cutting the tail scans to the same. */
        k = history_scan_buffer(data, scan.valid_len, NULL, NULL, &again);
        fuzz_check(k == 0 && again.valid_len == scan.valid_len && again.n_records == scan.n_records &&
                   again.n_skipped == scan.n_skipped && again.max_id == scan.max_id &&
                   again.header_ok == scan.header_ok,
                   "the sound prefix scans differently: %zu/%zu bytes, %zu/%zu records, %zu/%zu skipped",
                   again.valid_len, scan.valid_len, again.n_records, scan.n_records, again.n_skipped,
                   scan.n_skipped);

        /* A callback error stops the scan at that record and is returned. */
        if (scan.n_records > 0) {
                struct seen stop = { .buf = data, .len = size, .stop_after = 1 + data[size - 1] % scan.n_records };
                k = history_scan_buffer(data, size, on_record, &stop, &again);
                fuzz_check(k == -ECANCELED && stop.n == stop.stop_after, "the callback's error got lost: %d", k);
        }
        return 0;
}
