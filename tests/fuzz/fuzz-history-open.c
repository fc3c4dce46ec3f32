/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The event history's recovery (daemon/history.c): history_open() on a
 * directory whose events.log is the input, then what the daemon does next.
 *
 * Input: flags, a retention byte, a size-limit byte, then events.log.
 *
 * Checked beyond the sanitizers:
 *   - a file that is not a history is refused and left exactly as it was;
 *   - an opened history holds exactly the records the parser finds in the
 *     input, in order, and ids go on above all of them and the floor;
 *   - one open repairs everything: opening again reports nothing, and
 *     gives the same records and next id;
 *   - append, compaction and id reservation leave a file that opens clean
 *     and holds what they say;
 *   - a second open of the same directory is refused while the first holds it.
 */

#include <fcntl.h>

#include "fuzz-util.h"
#include "history.h"

enum {
        F_NO_FILE = 1 << 0,      /* no events.log: a new history */
        F_TMP_LEFT = 1 << 1,     /* an events.log.tmp from an interrupted compaction */
        F_APPEND = 1 << 2,
        F_COMPACT = 1 << 3,
        F_RESERVE = 1 << 4,
        F_BUSY = 1 << 5,         /* try a second open while the first is held */
};

#define SEC UINT64_C(1000000)
#define DAY (86400 * SEC)

static char dir[4096], log_path[4096], tmp_path[4096];

struct list {
        struct event_record *v;
        size_t n, cap;
};

static int collect(const struct event_record *r, const void *raw, size_t raw_len, void *userdata) {
        struct list *l = userdata;
        (void) raw;
        (void) raw_len;
        if (l->n == l->cap) {
                l->cap = l->cap ? 2 * l->cap : 16;
                l->v = realloc(l->v, l->cap * sizeof(*l->v));
                if (!l->v)
                        abort();
        }
        l->v[l->n++] = *r;
        return 0;
}

static uint8_t *read_all(const char *path, size_t *len) {
        FILE *f = fopen(path, "re");
        uint8_t *buf = NULL;
        size_t cap = 0;

        *len = 0;
        if (!f)
                return NULL;
        for (;;) {
                if (*len == cap) {
                        cap = cap ? 2 * cap : 4096;
                        buf = realloc(buf, cap);
                        if (!buf)
                                abort();
                }
                size_t k = fread(buf + *len, 1, cap - *len, f);
                if (k == 0)
                        break;
                *len += k;
        }
        fclose(f);
        return buf;
}

static void same_records(const struct event_record *a, size_t na, const struct event_record *b, size_t nb,
                         const char *what) {
        fuzz_check(na == nb, "%s: %zu records, then %zu", what, na, nb);
        for (size_t i = 0; i < na; i++) {
                const uint8_t *x = (const uint8_t *) &a[i], *y = (const uint8_t *) &b[i];
                size_t at = 0;
                while (at < sizeof(a[i]) && x[at] == y[at])
                        at++;
                fuzz_check(at == sizeof(a[i]), "%s: record %zu (id %ju) differs at byte %zu of the struct", what, i,
                           (uintmax_t) a[i].id, at);
        }
}

/* Open, expecting success with nothing to repair; hand out its records. */
static struct history *open_clean(const struct history_limits *lim, struct list *out, const char *when) {
        struct history *h = NULL;
        char msg[1024];
        int k = history_open(dir, lim, &h, msg, sizeof(msg));

        fuzz_check(k == 0, "%s: open failed: %d %s", when, k, msg);
        fuzz_check(msg[0] == '\0', "%s: open repaired again: %s", when, msg);
        out->n = 0;
        struct event_record *v = NULL;
        size_t n = 0;
        k = history_query(h, 0, 0, &v, &n);
        fuzz_check(k == 0 && n == history_count(h), "%s: query gave %d, %zu of %zu records", when, k, n,
                   history_count(h));
        for (size_t i = 0; i < n; i++) {
                collect(&v[i], NULL, 0, out);
                fuzz_check(v[i].id < history_next_id(h), "%s: record id %ju, next id %ju", when,
                           (uintmax_t) v[i].id, (uintmax_t) history_next_id(h));
        }
        /* A window of it, newest records from a middle onset on: the records the full list has, in its order. */
        if (n > 0) {
                uint64_t since = v[n / 2].onset_usec;
                unsigned limit = (unsigned) (n / 3 + 1);
                size_t n_want = 0, n_got = 0, skip;
                struct event_record *w = NULL;
                for (size_t i = 0; i < n; i++)
                        n_want += v[i].onset_usec >= since;
                skip = n_want > limit ? n_want - limit : 0;
                k = history_query(h, since, limit, &w, &n_got);
                fuzz_check(k == 0 && n_got == n_want - skip, "%s: window query gave %d, %zu records, want %zu", when,
                           k, n_got, n_want - skip);
                for (size_t i = 0, j = 0, seen = 0; i < n && j < n_got; i++) {
                        if (v[i].onset_usec < since || seen++ < skip)
                                continue;
                        fuzz_check(w[j].id == v[i].id, "%s: window record %zu is id %ju, want %ju", when, j,
                                   (uintmax_t) w[j].id, (uintmax_t) v[i].id);
                        j++;
                }
                free(w);
        }
        free(v);
        return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct fuzz_in in = { data, size };
        struct history_limits lim = { 0, 0 };
        struct history *h = NULL, *h2 = NULL;
        struct list parsed = { 0 }, first = { 0 }, again = { 0 };
        struct history_scan scan;
        char msg[1024];
        int k, ks;

        uint8_t flags = fuzz_u8(&in), age = fuzz_u8(&in), bytes = fuzz_u8(&in);
        const uint8_t *file = in.p;
        size_t file_len = in.n;
        if (age)
                lim.max_age_usec = (uint64_t) age * DAY;
        if (bytes)
                lim.max_bytes = HISTORY_HEADER_SIZE + (uint64_t) bytes * 97;

        const char *base = fuzz_tmpdir("history");
        fuzz_path(dir, "%s/state", base);
        fuzz_path(log_path, "%s/" HISTORY_FILE, dir);
        fuzz_path(tmp_path, "%s/" HISTORY_TMP_FILE, dir);
        fuzz_remove_tree(dir);
        if (mkdir(dir, 0755) < 0)
                abort();
        if (!(flags & F_NO_FILE))
                fuzz_write_file(log_path, file, file_len);
        if (flags & F_TMP_LEFT)
                fuzz_write_file(tmp_path, file, file_len / 2);

        /* What the parser finds is what the history must hold. */
        ks = flags & F_NO_FILE ? 0 : history_scan_buffer(file, file_len, collect, &parsed, &scan);

        msg[0] = 'x';
        k = history_open(dir, &lim, &h, msg, sizeof(msg));
        fuzz_check(access(tmp_path, F_OK) < 0, "events.log.tmp is still there after open (%d)", k);
        if (k < 0) {
                size_t len;
                uint8_t *now = read_all(log_path, &len);
                fuzz_check(k == -EBADMSG || k == -EPROTONOSUPPORT, "open failed: %d %s", k, msg);
                fuzz_check(k == ks, "open says %d, the parser %d", k, ks);
                fuzz_check(msg[0] && msg[0] != 'x', "no message for %d", k);
                fuzz_check(now && len == file_len && memcmp(now, file, len) == 0,
                           "a file that is not a history was changed");
                free(now);
                goto out;
        }
        fuzz_check(ks == 0, "open took a file the parser refuses (%d)", ks);
        fuzz_check(msg[0] != 'x', "msg not set");
        /* A sound file (or none) needs no repair, and no message says otherwise. */
        if (!(flags & F_TMP_LEFT) && ((flags & F_NO_FILE) || file_len == 0 ||
                                      (file_len >= HISTORY_HEADER_SIZE && scan.header_ok && scan.n_skipped == 0 &&
                                       scan.valid_len == file_len)))
                fuzz_check(msg[0] == '\0', "a sound file, yet: %s", msg);
        uint64_t next = history_next_id(h);
        fuzz_check(next >= 1, "next id 0");
        if (!(flags & F_NO_FILE) && file_len >= HISTORY_HEADER_SIZE) {
                fuzz_check(history_count(h) == scan.n_records, "open kept %zu records, the parser found %zu",
                           history_count(h), scan.n_records);
                fuzz_check(next > scan.max_id || scan.max_id == UINT64_MAX, "next id %ju, max id %ju",
                           (uintmax_t) next, (uintmax_t) scan.max_id);
                fuzz_check(next >= scan.id_floor, "next id %ju below the floor %ju", (uintmax_t) next,
                           (uintmax_t) scan.id_floor);
        } else
                fuzz_check(history_count(h) == 0, "records in a new history");

        if (flags & F_BUSY) {
                k = history_open(dir, &lim, &h2, msg, sizeof(msg));
                fuzz_check(k == -EBUSY && !h2, "a second open gave %d", k);
        }
        h = history_free(h);

        /* Everything was repaired: the same again, quietly. */
        h = open_clean(&lim, &first, "reopen");
        fuzz_check(history_next_id(h) == next, "next id %ju, then %ju", (uintmax_t) next,
                   (uintmax_t) history_next_id(h));
        if (!(flags & F_NO_FILE) && file_len >= HISTORY_HEADER_SIZE)
                same_records(parsed.v, parsed.n, first.v, first.n, "parsed vs opened");

        if (flags & F_APPEND) {
                struct event_record r = {
                        .id = history_next_id(h),
                        .class = (enum spasm_class) fuzz_range(&in, 0, SPASM_CLASS_WITHDRAWN),
                        .onset_usec = fuzz_u64(&in),
                        .duration_usec = fuzz_u32(&in),
                        .peak_uv = fuzz_float_bits(&in),
                        .posture = (enum spasm_posture) fuzz_range(&in, 0, SPASM_POSTURE_STANDING),
                        .channel_mask = fuzz_u32(&in),
                };
                fuzz_string(&in, r.sensor, sizeof(r.sensor) - 1);
                fuzz_string(&in, r.side, sizeof(r.side) - 1);
                size_t before = history_count(h);
                k = history_append(h, &r);
                fuzz_check(k == 0, "append failed: %d", k);
                fuzz_check(history_count(h) == before + 1, "count after append");
                fuzz_check(r.id == UINT64_MAX || history_next_id(h) == r.id + 1, "next id after append");
                next = history_next_id(h);
                h = history_free(h);
                h = open_clean(&lim, &again, "after append");
                fuzz_check(again.n == before + 1, "%zu records after append, %zu before", again.n, before);
                /* The decoder zeroes the padding; so does this copy's memset. */
                struct event_record want;
                memset(&want, 0, sizeof(want));
                want.id = r.id;
                want.class = r.class;
                memcpy(want.sensor, r.sensor, strlen(r.sensor)); /* what follows a NUL is not stored */
                want.onset_usec = r.onset_usec;
                want.duration_usec = r.duration_usec;
                want.peak_uv = r.peak_uv;
                want.posture = r.posture;
                want.channel_mask = r.channel_mask;
                memcpy(want.side, r.side, strlen(r.side)); /* what follows a NUL is not stored */
                same_records(&want, 1, &again.v[again.n - 1], 1, "the appended record");
                fuzz_check(history_next_id(h) == next, "next id after append and reopen");
        }

        if (flags & F_COMPACT) {
                size_t before = history_count(h);
                uint64_t now = fuzz_u64(&in);
                k = history_compact(h, now);
                fuzz_check(k >= 0 && (size_t) k <= before, "compact returned %d of %zu", k, before);
                fuzz_check(history_count(h) == before - (size_t) k, "count after compact");
                next = history_next_id(h);
                h = history_free(h);
                h = open_clean(&lim, &again, "after compact");
                fuzz_check(again.n == before - (size_t) k, "records after compact and reopen");
                fuzz_check(history_next_id(h) == next, "compaction lost the id floor");
                if (lim.max_bytes > 0) {
                        struct stat st;
                        fuzz_check(stat(log_path, &st) == 0 && (uint64_t) st.st_size <= lim.max_bytes,
                                   "%jd bytes over the limit of %ju", (intmax_t) st.st_size,
                                   (uintmax_t) lim.max_bytes);
                }
        }

        if (flags & F_RESERVE) {
                uint64_t upto = history_next_id(h) + fuzz_u16(&in);
                if (upto < history_next_id(h))
                        upto = UINT64_MAX;
                k = history_reserve_ids(h, upto);
                fuzz_check(k == 0 && history_next_id(h) == upto, "reserve gave %d", k);
                h = history_free(h);
                h = open_clean(&lim, &again, "after reserve");
                fuzz_check(history_next_id(h) == upto, "reserved ids %ju, then next id %ju", (uintmax_t) upto,
                           (uintmax_t) history_next_id(h));
        }
out:
        history_free(h);
        free(parsed.v);
        free(first.v);
        free(again.v);
        return 0;
}
