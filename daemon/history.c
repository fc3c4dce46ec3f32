/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history.h"
#include "history-internal.h"

/* --- file I/O ------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static void note(char *msg, size_t msglen, const char *fmt, ...) {
        size_t used;
        va_list ap;

        if (!msg || msglen == 0)
                return;
        used = strnlen(msg, msglen);
        if (used + 3 >= msglen)
                return;
        if (used > 0) {
                memcpy(msg + used, "; ", 3);
                used += 2;
        }
        va_start(ap, fmt);
        vsnprintf(msg + used, msglen - used, fmt, ap);
        va_end(ap);
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off) {
        const uint8_t *p = buf;

        while (len > 0) {
                ssize_t k = pwrite(fd, p, len, (off_t) off);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO;
                p += k;
                len -= (size_t) k;
                off += (uint64_t) k;
        }
        return 0;
}

int history_pread(int fd, uint8_t *buf, size_t len, uint64_t off, size_t *got) {
        *got = 0;
        while (*got < len) {
                ssize_t k = pread(fd, buf + *got, len - *got, (off_t) (off + *got));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                *got += (size_t) k;
        }
        return 0;
}

/* Up to size bytes from the start; fewer if the file is shorter. The buffer has room for a header at least. */
int history_read_file(int fd, uint64_t size, uint8_t **ret, size_t *retlen) {
        uint8_t *buf = malloc(size > HISTORY_HEADER_SIZE ? size : HISTORY_HEADER_SIZE);

        if (!buf)
                return -ENOMEM;
        int k = history_pread(fd, buf, size, 0, retlen);
        if (k < 0) {
                free(buf);
                return k;
        }
        *ret = buf;
        return 0;
}

/*
 * Makes buf (a header's room, then records) the new events.log: written to
 * the temp file, synced, renamed over, directory synced. Until the rename
 * the old file is untouched and stays in use.
 */
static int replace_file(struct history *h, uint8_t *buf, size_t len, size_t n_records) {
        int fd, k = 0;

        history_encode_header(buf, h->next_id);
        if (unlinkat(h->dir_fd, HISTORY_TMP_FILE, 0) < 0 && errno != ENOENT)
                return -errno;
        fd = openat(h->dir_fd, HISTORY_TMP_FILE, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0)
                return -errno;
        k = pwrite_all(fd, buf, len, 0);
        if (k == 0 && fsync(fd) < 0)
                k = -errno;
        if (k == 0 && renameat(h->dir_fd, HISTORY_TMP_FILE, h->dir_fd, HISTORY_FILE) < 0)
                k = -errno;
        if (k < 0) {
                close(fd);
                (void) unlinkat(h->dir_fd, HISTORY_TMP_FILE, 0);
                return k;
        }
        /* The new file has the name now: use it even if the directory sync fails. */
        if (h->fd >= 0)
                close(h->fd);
        h->fd = fd;
        h->size = len;
        h->n_records = n_records;
        (void) history_index_from_buffer(h, buf, len); /* if it fails, it stays stale and the next query rebuilds it */
        return fsync(h->dir_fd) < 0 ? -errno : 0;
}

/* --- compaction ----------------------------------------------------------------- */

struct span {
        size_t off, len;
        uint64_t onset_usec;
};

struct spans {
        const uint8_t *base;
        struct span *v;
        size_t n, cap;
};

static int collect_span(const struct event_record *r, const void *raw, size_t raw_len, void *userdata) {
        struct spans *s = userdata;

        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 64;
                struct span *v = reallocarray(s->v, cap, sizeof(*v));
                if (!v)
                        return -ENOMEM;
                s->v = v;
                s->cap = cap;
        }
        s->v[s->n++] = (struct span) {
                .off = (size_t) ((const uint8_t *) raw - s->base),
                .len = raw_len,
                .onset_usec = r->onset_usec,
        };
        return 0;
}

/* Marks what retention drops (len = 0) and returns how many. */
static size_t apply_limits(const struct history_limits *lim, struct span *v, size_t n, uint64_t now_usec) {
        uint64_t total = HISTORY_HEADER_SIZE;
        size_t dropped = 0;

        for (size_t i = 0; i < n; i++) {
                if (lim->max_age_usec > 0 && now_usec > lim->max_age_usec &&
                    v[i].onset_usec < now_usec - lim->max_age_usec) {
                        v[i].len = 0;
                        dropped++;
                }
                total += v[i].len;
        }
        /* Oldest first: appends come in time order. */
        for (size_t i = 0; lim->max_bytes > 0 && total > lim->max_bytes && i < n; i++)
                if (v[i].len > 0) {
                        total -= v[i].len;
                        v[i].len = 0;
                        dropped++;
                }
        return dropped;
}

/* With limits false, only rewrites a file that has corrupt stretches or a bad header checksum. */
static int compact(struct history *h, uint64_t now_usec, bool limits) {
        struct spans s = { 0 };
        struct history_scan scan;
        uint8_t *buf;
        size_t len, out = HISTORY_HEADER_SIZE, dropped = 0;
        int k;

        k = history_read_file(h->fd, h->size, &buf, &len);
        if (k < 0)
                return k;
        s.base = buf;
        k = history_scan_buffer(buf, len, collect_span, &s, &scan);
        if (k < 0)
                goto out;
        if (limits)
                dropped = apply_limits(&h->lim, s.v, s.n, now_usec);
        if (dropped == 0 && scan.n_skipped == 0 && scan.header_ok && scan.valid_len == len)
                goto out;
        /* Records only move towards the start, so the file is rebuilt in its own buffer. */
        for (size_t i = 0; i < s.n; i++)
                if (s.v[i].len > 0) {
                        memmove(buf + out, buf + s.v[i].off, s.v[i].len);
                        out += s.v[i].len;
                }
        k = replace_file(h, buf, out, s.n - dropped);
out:
        free(s.v);
        free(buf);
        if (k < 0)
                return k;
        return dropped > INT32_MAX ? INT32_MAX : (int) dropped;
}

int history_compact(struct history *h, uint64_t now_usec) {
        return compact(h, now_usec, true);
}

/* --- the public side ------------------------------------------------------------ */

static int start_new(struct history *h) {
        uint8_t header[HISTORY_HEADER_SIZE];

        if (h->next_id == 0)
                h->next_id = 1;
        return replace_file(h, header, sizeof(header), 0);
}

int history_open(const char *dir, const struct history_limits *lim, struct history **ret, char *msg,
                 size_t msglen) {
        struct history *h;
        struct history_scan scan;
        struct stat st;
        uint8_t *buf = NULL;
        size_t len = 0;
        int k;

        if (msg && msglen > 0)
                msg[0] = '\0';
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->dir_fd = h->fd = -1;
        if (lim)
                h->lim = *lim;
        if (asprintf(&h->path, "%s/%s", dir, HISTORY_FILE) < 0) {
                h->path = NULL;
                k = -ENOMEM;
                goto fail;
        }

        h->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (h->dir_fd < 0) {
                k = -errno;
                note(msg, msglen, "state directory %s: %s", dir, strerror(-k));
                goto fail;
        }
        /* Two writers would interleave records and undo each other's compactions. */
        if (flock(h->dir_fd, LOCK_EX | LOCK_NB) < 0) {
                k = errno == EWOULDBLOCK ? -EBUSY : -errno;
                note(msg, msglen, "%s is in use by another process", dir);
                goto fail;
        }
        if (unlinkat(h->dir_fd, HISTORY_TMP_FILE, 0) == 0)
                note(msg, msglen, "removed %s/%s, left by an interrupted compaction", dir, HISTORY_TMP_FILE);
        else if (errno != ENOENT) {
                k = -errno;
                note(msg, msglen, "cannot remove %s/%s: %s", dir, HISTORY_TMP_FILE, strerror(-k));
                goto fail;
        }

        h->fd = openat(h->dir_fd, HISTORY_FILE, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (h->fd < 0) {
                k = -errno;
                if (k == -ENOENT) {
                        k = start_new(h);
                        if (k >= 0)
                                goto done;
                }
                note(msg, msglen, "%s: %s", h->path, strerror(-k));
                goto fail;
        }
        if (fstat(h->fd, &st) < 0) {
                k = -errno;
                note(msg, msglen, "%s: %s", h->path, strerror(-k));
                goto fail;
        }
        if (!S_ISREG(st.st_mode)) {
                k = -EBADMSG;
                note(msg, msglen, "%s is not a regular file", h->path);
                goto fail;
        }
        if ((uint64_t) st.st_size > HISTORY_FILE_MAX) {
                k = -EFBIG;
                note(msg, msglen, "%s has %jd bytes, more than the %ju spasmd reads; move it away", h->path,
                     (intmax_t) st.st_size, (uintmax_t) HISTORY_FILE_MAX);
                goto fail;
        }
        k = history_read_file(h->fd, (uint64_t) st.st_size, &buf, &len);
        if (k >= 0) {
                struct history_index_build b = { .h = h, .base = buf };
                k = history_scan_buffer(buf, len, history_index_record, &b, &scan);
        }
        if (k == -EBADMSG)
                note(msg, msglen, "%s is not a spasmd event history; move it away to start a new one", h->path);
        else if (k == -EPROTONOSUPPORT)
                note(msg, msglen, "%s has format version %" PRIu32 ", this spasmd reads version %d", h->path,
                     scan.version, HISTORY_VERSION);
        else if (k < 0)
                note(msg, msglen, "%s: %s", h->path, strerror(-k));
        if (k < 0)
                goto fail;

        if (len < HISTORY_HEADER_SIZE) {
                if (len > 0)
                        note(msg, msglen, "%s: header torn after %zu bytes, started a new history", h->path, len);
                k = start_new(h);
                if (k < 0) {
                        note(msg, msglen, "cannot rewrite %s: %s", h->path, strerror(-k));
                        goto fail;
                }
                goto done;
        }

        h->size = scan.valid_len;
        h->n_records = scan.n_records;
        h->next_id = scan.max_id == UINT64_MAX ? UINT64_MAX : scan.max_id + 1;
        if (scan.id_floor > h->next_id)
                h->next_id = scan.id_floor;
        if (scan.valid_len < len) {
                if (ftruncate(h->fd, (off_t) scan.valid_len) < 0 || fsync(h->fd) < 0) {
                        k = -errno;
                        note(msg, msglen, "cannot cut the torn end of %s: %s", h->path, strerror(-k));
                        goto fail;
                }
                note(msg, msglen, "%s: cut %zu bytes of torn or corrupt data at offset %zu", h->path,
                     len - scan.valid_len, scan.valid_len);
        }
        if (!scan.header_ok)
                note(msg, msglen, "%s: header checksum mismatch; ids go on from the highest one stored", h->path);
        if (scan.n_skipped > 0)
                note(msg, msglen, "%s: skipped corrupt data in %zu place(s); the records around it are kept",
                     h->path, scan.n_skipped);
        if (!scan.header_ok || scan.n_skipped > 0) {
                /* Not fatal: the reader skips the same bytes next time too. */
                k = compact(h, 0, false);
                if (k < 0)
                        note(msg, msglen, "cannot rewrite %s without them: %s", h->path, strerror(-k));
        }
done:
        free(buf);
        *ret = h;
        return 0;
fail:
        free(buf);
        history_free(h);
        return k;
}

struct history *history_free(struct history *h) {
        if (!h)
                return NULL;
        if (h->fd >= 0)
                close(h->fd);
        if (h->dir_fd >= 0)
                close(h->dir_fd);
        free(h->path);
        free(h->chunks);
        free(h);
        return NULL;
}

void history_set_limits(struct history *h, const struct history_limits *lim) {
        h->lim = *lim;
}

int history_append(struct history *h, const struct event_record *r) {
        uint8_t frame[HISTORY_RECORD_SIZE];
        int k;

        if (!history_record_storable(r))
                return -EINVAL;
        /* Past this, history_open() would refuse the file. */
        if (h->size + sizeof(frame) > HISTORY_FILE_MAX)
                return -EFBIG;
        history_encode_record(frame, r);
        k = pwrite_all(h->fd, frame, sizeof(frame), h->size);
        if (k == 0 && fdatasync(h->fd) < 0)
                k = -errno;
        if (k < 0) {
                if (ftruncate(h->fd, (off_t) h->size) < 0) {
                        /* No harm: the next append writes over it from the same offset, a part
                         * record never passes the checksum, and opening cuts anything past the
                         * last sound one. */
                }
                return k;
        }
        if (history_index_add(h, h->size, r->onset_usec) < 0)
                h->index_stale = true;
        h->size += sizeof(frame);
        h->n_records++;
        if (r->id >= h->next_id)
                h->next_id = r->id == UINT64_MAX ? UINT64_MAX : r->id + 1;
        return 0;
}

int history_reserve_ids(struct history *h, uint64_t upto) {
        uint8_t header[HISTORY_HEADER_SIZE];
        int k;

        if (upto <= h->next_id)
                return 0;
        /* One sector, written in place: it is either the old floor or the new one. */
        history_encode_header(header, upto);
        k = pwrite_all(h->fd, header, sizeof(header), 0);
        if (k == 0 && fdatasync(h->fd) < 0)
                k = -errno;
        if (k < 0)
                return k;
        h->next_id = upto;
        return 0;
}

uint64_t history_next_id(const struct history *h) {
        return h->next_id;
}

size_t history_count(const struct history *h) {
        return h->n_records;
}

const char *history_path(const struct history *h) {
        return h->path;
}
