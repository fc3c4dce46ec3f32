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

/* Offsets in the v1 payload. */
enum {
        P_ID = 0,
        P_ONSET = 8,
        P_DURATION = 16,
        P_CLASS = 24,
        P_POSTURE = 28,
        P_CHANNELS = 32,
        P_PEAK = 36,
        P_MEAN = 40,
        P_INTENSITY = 44,
        P_MVC = 48,
        P_PULSE = 52,
        P_SENSOR = 56,
        P_SIDE = 120,
        P_END = 128,
};
#define SENSOR_FIELD (P_SIDE - P_SENSOR)
#define SIDE_FIELD (P_END - P_SIDE)

_Static_assert(P_END == HISTORY_PAYLOAD_V1, "the v1 payload layout and its size disagree");
_Static_assert(sizeof(float) == sizeof(uint32_t), "floats are stored as binary32");
/* A longer name in event.h would not fit the file: that needs a new payload version. */
_Static_assert(EVENT_SENSOR_MAX <= SENSOR_FIELD && EVENT_SIDE_MAX <= SIDE_FIELD, "strings outgrew the v1 payload");

static const uint8_t header_magic[8] = { 'S', 'P', 'A', 'S', 'M', 'H', 'I', 'S' };

struct history {
        int dir_fd;             /* holds the flock; every file is opened relative to it */
        int fd;
        char *path;
        struct history_limits lim;
        uint64_t size;          /* end of the last sound record: appends go here */
        uint64_t next_id;
        size_t n_records;
};

/* --- CRC-32C, reflected polynomial 0x82F63B78, four bits a step ------------------ */

static const uint32_t crc_nibble[16] = {
        0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1, 0x417b1dbc, 0x5125dad3, 0x61c69362, 0x7198540d,
        0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9, 0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
};

uint32_t history_crc32c(uint32_t crc, const void *buf, size_t len) {
        const uint8_t *p = buf;

        crc = ~crc;
        while (len-- > 0) {
                crc ^= *p++;
                crc = (crc >> 4) ^ crc_nibble[crc & 15];
                crc = (crc >> 4) ^ crc_nibble[crc & 15];
        }
        return ~crc;
}

/* --- encoding ------------------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
        p[2] = (uint8_t) (v >> 16);
        p[3] = (uint8_t) (v >> 24);
}

static void put64(uint8_t *p, uint64_t v) {
        put32(p, (uint32_t) v);
        put32(p + 4, (uint32_t) (v >> 32));
}

static void put_float(uint8_t *p, float f) {
        uint32_t u;
        memcpy(&u, &f, sizeof(u));
        put32(p, u);
}

static uint32_t get32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint64_t get64(const uint8_t *p) {
        return (uint64_t) get32(p) | (uint64_t) get32(p + 4) << 32;
}

static float get_float(const uint8_t *p) {
        uint32_t u = get32(p);
        float f;
        memcpy(&f, &u, sizeof(f));
        return f;
}

/* The checksum covers the length too, so a flipped length cannot pass for a shorter record. */
static uint32_t frame_crc(const uint8_t *frame, uint32_t payload_len) {
        return history_crc32c(history_crc32c(0, frame + 4, 4), frame + HISTORY_FRAME_HEAD, payload_len);
}

static void write_header(uint8_t *b, uint64_t id_floor) {
        memcpy(b, header_magic, sizeof(header_magic));
        put32(b + 8, HISTORY_VERSION);
        put64(b + 12, id_floor);
        put32(b + 20, history_crc32c(0, b, 20));
}

static bool record_storable(const struct event_record *r) {
        return (unsigned) r->class <= SPASM_CLASS_WITHDRAWN && (unsigned) r->posture <= SPASM_POSTURE_STANDING &&
               strnlen(r->sensor, sizeof(r->sensor)) < sizeof(r->sensor) &&
               strnlen(r->side, sizeof(r->side)) < sizeof(r->side);
}

static void encode_record(uint8_t frame[static HISTORY_RECORD_SIZE], const struct event_record *r) {
        uint8_t *p = frame + HISTORY_FRAME_HEAD;

        /* Zeroed first: the padding after each string must not carry stack bytes to disk. */
        memset(frame, 0, HISTORY_RECORD_SIZE);
        put32(frame, HISTORY_RECORD_MAGIC);
        put32(frame + 4, HISTORY_PAYLOAD_V1);
        put64(p + P_ID, r->id);
        put64(p + P_ONSET, r->onset_usec);
        put64(p + P_DURATION, r->duration_usec);
        put32(p + P_CLASS, (uint32_t) r->class);
        put32(p + P_POSTURE, (uint32_t) r->posture);
        put32(p + P_CHANNELS, r->channel_mask);
        put_float(p + P_PEAK, r->peak_uv);
        put_float(p + P_MEAN, r->mean_uv);
        put_float(p + P_INTENSITY, r->intensity);
        put_float(p + P_MVC, r->mvc_pct);
        put_float(p + P_PULSE, r->pulse_hz);
        memcpy(p + P_SENSOR, r->sensor, strnlen(r->sensor, sizeof(r->sensor)));
        memcpy(p + P_SIDE, r->side, strnlen(r->side, sizeof(r->side)));
        put32(frame + 8, frame_crc(frame, HISTORY_PAYLOAD_V1));
}

/* Whatever the field holds, the result ends in a NUL within dst. */
static void get_string(char *dst, size_t dstlen, const uint8_t *field, size_t fieldlen) {
        size_t n = strnlen((const char *) field, fieldlen < dstlen ? fieldlen : dstlen - 1);
        memcpy(dst, field, n);
        dst[n] = '\0';
}

static bool decode_payload(const uint8_t *p, struct event_record *r) {
        uint32_t class = get32(p + P_CLASS), posture = get32(p + P_POSTURE);

        if (class > SPASM_CLASS_WITHDRAWN || posture > SPASM_POSTURE_STANDING)
                return false;
        memset(r, 0, sizeof(*r));
        r->id = get64(p + P_ID);
        r->onset_usec = get64(p + P_ONSET);
        r->duration_usec = get64(p + P_DURATION);
        r->class = (enum spasm_class) class;
        r->posture = (enum spasm_posture) posture;
        r->channel_mask = get32(p + P_CHANNELS);
        r->peak_uv = get_float(p + P_PEAK);
        r->mean_uv = get_float(p + P_MEAN);
        r->intensity = get_float(p + P_INTENSITY);
        r->mvc_pct = get_float(p + P_MVC);
        r->pulse_hz = get_float(p + P_PULSE);
        get_string(r->sensor, sizeof(r->sensor), p + P_SENSOR, SENSOR_FIELD);
        get_string(r->side, sizeof(r->side), p + P_SIDE, SIDE_FIELD);
        return true;
}

/* --- parsing -------------------------------------------------------------------- */

/* A frame whose magic, length bound and checksum all hold, wholly inside the buffer. */
static bool frame_sound(const uint8_t *b, size_t len, size_t pos, size_t *frame_len) {
        uint32_t n;

        if (len - pos < HISTORY_FRAME_HEAD || get32(b + pos) != HISTORY_RECORD_MAGIC)
                return false;
        n = get32(b + pos + 4);
        if (n < HISTORY_PAYLOAD_V1 || n > HISTORY_PAYLOAD_MAX || len - pos - HISTORY_FRAME_HEAD < n)
                return false;
        if (get32(b + pos + 8) != frame_crc(b + pos, n))
                return false;
        *frame_len = HISTORY_FRAME_HEAD + n;
        return true;
}

/* The next sound frame at or after from, or len. Only candidates at a record magic cost a checksum. */
static size_t resync(const uint8_t *b, size_t len, size_t from) {
        uint8_t magic[4];
        size_t n;

        put32(magic, HISTORY_RECORD_MAGIC);
        for (const uint8_t *q = memmem(b + from, len - from, magic, sizeof(magic)); q;
             q = memmem(q + 1, len - (size_t) (q + 1 - b), magic, sizeof(magic)))
                if (frame_sound(b, len, (size_t) (q - b), &n))
                        return (size_t) (q - b);
        return len;
}

int history_scan_buffer(const void *buf, size_t len, history_record_cb cb, void *userdata,
                        struct history_scan *ret) {
        const uint8_t *b = buf;
        size_t pos, n;
        int k;

        *ret = (struct history_scan) { 0 };
        if (len == 0)
                return 0; /* and b may be NULL */
        if (len < HISTORY_HEADER_SIZE)
                /* Only a rename() publishes a file, so this is no crash of ours; still, a file that
                 * begins like a history has nothing in it to lose. */
                return memcmp(b, header_magic, len < sizeof(header_magic) ? len : sizeof(header_magic)) == 0
                               ? 0 : -EBADMSG;
        if (memcmp(b, header_magic, sizeof(header_magic)) != 0)
                return -EBADMSG;
        ret->version = get32(b + 8);
        if (ret->version != HISTORY_VERSION)
                return -EPROTONOSUPPORT;
        ret->header_ok = get32(b + 20) == history_crc32c(0, b, 20);
        if (ret->header_ok)
                ret->id_floor = get64(b + 12);

        ret->valid_len = pos = HISTORY_HEADER_SIZE;
        while (pos < len) {
                struct event_record r;

                if (!frame_sound(b, len, pos, &n)) {
                        size_t next = resync(b, len, pos + 1);
                        if (next == len)
                                break; /* torn or garbage to the end */
                        ret->n_skipped++;
                        pos = next;
                        continue;
                }
                /* The checksum holds, so the frame's bounds are right even if its fields are not. */
                if (!decode_payload(b + pos + HISTORY_FRAME_HEAD, &r))
                        ret->n_skipped++;
                else {
                        ret->n_records++;
                        if (r.id > ret->max_id)
                                ret->max_id = r.id;
                        if (cb) {
                                k = cb(&r, b + pos, n, userdata);
                                if (k < 0)
                                        return k;
                        }
                }
                pos += n;
                ret->valid_len = pos;
        }
        return 0;
}

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

/* Up to size bytes from the start; fewer if the file is shorter. The buffer has room for a header at least. */
static int read_file(int fd, uint64_t size, uint8_t **ret, size_t *retlen) {
        size_t got = 0;
        uint8_t *buf = malloc(size > HISTORY_HEADER_SIZE ? size : HISTORY_HEADER_SIZE);

        if (!buf)
                return -ENOMEM;
        while (got < size) {
                ssize_t k = pread(fd, buf + got, size - got, (off_t) got);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        k = -errno;
                        free(buf);
                        return (int) k;
                }
                if (k == 0)
                        break;
                got += (size_t) k;
        }
        *ret = buf;
        *retlen = got;
        return 0;
}

/*
 * Makes buf (a header's room, then records) the new events.log: written to
 * the temp file, synced, renamed over, directory synced. Until the rename
 * the old file is untouched and stays in use.
 */
static int replace_file(struct history *h, uint8_t *buf, size_t len, size_t n_records) {
        int fd, k = 0;

        write_header(buf, h->next_id);
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

        k = read_file(h->fd, h->size, &buf, &len);
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
        k = read_file(h->fd, (uint64_t) st.st_size, &buf, &len);
        if (k >= 0)
                k = history_scan_buffer(buf, len, NULL, NULL, &scan);
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
        free(h);
        return NULL;
}

void history_set_limits(struct history *h, const struct history_limits *lim) {
        h->lim = *lim;
}

int history_append(struct history *h, const struct event_record *r) {
        uint8_t frame[HISTORY_RECORD_SIZE];
        int k;

        if (!record_storable(r))
                return -EINVAL;
        /* Past this, history_open() would refuse the file. */
        if (h->size + sizeof(frame) > HISTORY_FILE_MAX)
                return -EFBIG;
        encode_record(frame, r);
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
        h->size += sizeof(frame);
        h->n_records++;
        if (r->id >= h->next_id)
                h->next_id = r->id == UINT64_MAX ? UINT64_MAX : r->id + 1;
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

struct ring {
        struct event_record *v;
        size_t cap, seen;
        uint64_t since_usec;
};

static int ring_add(const struct event_record *r, const void *raw, size_t raw_len, void *userdata) {
        struct ring *ring = userdata;

        (void) raw;
        (void) raw_len;
        if (r->onset_usec >= ring->since_usec)
                ring->v[ring->seen++ % ring->cap] = *r;
        return 0;
}

int history_query(struct history *h, uint64_t since_usec, unsigned limit, struct event_record **ret, size_t *n) {
        struct ring ring = { .since_usec = since_usec };
        struct history_scan scan;
        struct event_record *out;
        size_t len, count, first;
        uint8_t *buf;
        int k;

        *ret = NULL;
        *n = 0;
        ring.cap = limit > 0 && limit < h->n_records ? limit : h->n_records;
        if (ring.cap == 0)
                return 0;
        ring.v = calloc(ring.cap, sizeof(*ring.v));
        if (!ring.v)
                return -ENOMEM;
        k = read_file(h->fd, h->size, &buf, &len);
        if (k >= 0) {
                k = history_scan_buffer(buf, len, ring_add, &ring, &scan);
                free(buf);
        }
        if (k < 0) {
                free(ring.v);
                return k;
        }

        count = ring.seen < ring.cap ? ring.seen : ring.cap;
        first = ring.seen > ring.cap ? ring.seen % ring.cap : 0;
        if (first == 0) {
                out = ring.v; /* already oldest first */
        } else {
                out = malloc(count * sizeof(*out));
                if (!out) {
                        free(ring.v);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < count; i++)
                        out[i] = ring.v[(first + i) % ring.cap];
                free(ring.v);
        }
        if (count == 0) {
                free(out);
                return 0;
        }
        *ret = out;
        *n = count;
        return 0;
}
