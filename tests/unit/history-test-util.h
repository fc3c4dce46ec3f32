/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Fixtures and helpers shared by test-history.c and test-history-recovery.c: each test gets a fresh directory. */

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "history.h"

#define RS HISTORY_RECORD_SIZE
#define HS HISTORY_HEADER_SIZE
#define SEC UINT64_C(1000000)
#define BASE_USEC (UINT64_C(1700000000) * SEC)

#define assert_contains(hay, needle)                                                    \
        do {                                                                            \
                if (!strstr((hay), (needle)))                                           \
                        fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle));    \
        } while (0)

static const struct history_limits no_limits = { 0, 0 };

/* --- fixtures ------------------------------------------------------------------- */

static inline int setup_dir(void **state) {
        char *dir = strdup("/tmp/test-history-XXXXXX");

        if (!dir || !mkdtemp(dir)) {
                free(dir);
                return -1;
        }
        *state = dir;
        return 0;
}

static inline int teardown_dir(void **state) {
        char *dir = *state;
        DIR *d = opendir(dir);
        struct dirent *de;

        while (d && (de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        unlinkat(dirfd(d), de->d_name, 0);
        if (d)
                closedir(d);
        rmdir(dir);
        free(dir);
        return 0;
}

static inline const char *path_in(const char *dir, const char *name) {
        static char buf[PATH_MAX];
        snprintf(buf, sizeof(buf), "%s/%s", dir, name);
        return buf;
}

/* Every field differs with the id, so a record read back in the wrong slot shows. */
static inline struct event_record make_record(uint64_t id, uint64_t onset_usec) {
        static const char *const sides[] = { "left", "right", "both", "unknown" };
        struct event_record r;

        memset(&r, 0, sizeof(r));
        r.id = id;
        r.class = (enum spasm_class) (id % (SPASM_CLASS_WITHDRAWN + 1));
        snprintf(r.sensor, sizeof(r.sensor), "sensor-%llu", (unsigned long long) id);
        r.onset_usec = onset_usec;
        r.duration_usec = 1500000 + id;
        r.peak_uv = 120.25f + (float) id;
        r.mean_uv = 40.5f + (float) id;
        r.intensity = 3.75f * (float) id;
        r.mvc_pct = id % 2 ? -1.0f : 55.5f;
        r.pulse_hz = 0.125f * (float) id;
        r.posture = (enum spasm_posture) (id % (SPASM_POSTURE_STANDING + 1));
        r.channel_mask = (uint32_t) (id * 0x01010101u);
        snprintf(r.side, sizeof(r.side), "%s", sides[id % 4]);
        return r;
}

static inline void assert_record_equal(const struct event_record *a, const struct event_record *b) {
        assert_int_equal(a->id, b->id);
        assert_int_equal(a->class, b->class);
        assert_string_equal(a->sensor, b->sensor);
        assert_int_equal(a->onset_usec, b->onset_usec);
        assert_int_equal(a->duration_usec, b->duration_usec);
        assert_memory_equal(&a->peak_uv, &b->peak_uv, sizeof(float));
        assert_memory_equal(&a->mean_uv, &b->mean_uv, sizeof(float));
        assert_memory_equal(&a->intensity, &b->intensity, sizeof(float));
        assert_memory_equal(&a->mvc_pct, &b->mvc_pct, sizeof(float));
        assert_memory_equal(&a->pulse_hz, &b->pulse_hz, sizeof(float));
        assert_int_equal(a->posture, b->posture);
        assert_int_equal(a->channel_mask, b->channel_mask);
        assert_string_equal(a->side, b->side);
}

static inline struct history *open_ok(const char *dir, const struct history_limits *lim, char *msg, size_t msglen) {
        struct history *h = NULL;
        int k = history_open(dir, lim, &h, msg, msglen);
        if (k < 0)
                fail_msg("history_open(%s): %s: %s", dir, strerror(-k), msg);
        assert_non_null(h);
        return h;
}

static inline struct history *open_clean(const char *dir, const struct history_limits *lim) {
        char msg[512];
        struct history *h = open_ok(dir, lim, msg, sizeof(msg));
        assert_string_equal(msg, "");
        return h;
}

/* Records id next_id.., onsets one second apart from BASE_USEC + id seconds. */
static inline void append_n(struct history *h, unsigned n) {
        for (unsigned i = 0; i < n; i++) {
                uint64_t id = history_next_id(h);
                struct event_record r = make_record(id, BASE_USEC + id * SEC);
                assert_int_equal(history_append(h, &r), 0);
        }
}

/* A fresh history in dir holding ids 1..n; returns the file's bytes. */
static inline uint8_t *make_file(const char *dir, unsigned n, size_t *len) {
        struct history *h = open_clean(dir, &no_limits);
        append_n(h, n);
        history_free(h);

        int fd = open(path_in(dir, HISTORY_FILE), O_RDONLY | O_CLOEXEC);
        struct stat st;
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        assert_int_equal(st.st_size, HS + n * RS);
        uint8_t *buf = malloc((size_t) st.st_size);
        assert_non_null(buf);
        assert_int_equal(read(fd, buf, (size_t) st.st_size), st.st_size);
        close(fd);
        *len = (size_t) st.st_size;
        return buf;
}

static inline void write_file(const char *dir, const char *name, const void *buf, size_t len) {
        int fd = open(path_in(dir, name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, buf, len), (ssize_t) len);
        assert_int_equal(close(fd), 0);
}

static inline off_t file_size(const char *dir, const char *name) {
        struct stat st;
        assert_int_equal(stat(path_in(dir, name), &st), 0);
        return st.st_size;
}

/* The ids the history holds, oldest first, as "1,2,4". */
static inline const char *ids_of(struct history *h) {
        static char buf[512];
        struct event_record *v;
        size_t n, used = 0;

        assert_int_equal(history_query(h, 0, 0, &v, &n), 0);
        buf[0] = '\0';
        for (size_t i = 0; i < n; i++)
                used += (size_t) snprintf(buf + used, sizeof(buf) - used, "%s%llu", i ? "," : "",
                                          (unsigned long long) v[i].id);
        free(v);
        return buf;
}

/* Patches one record's payload and gives it a checksum that holds again. */
static inline void reseal(uint8_t *frame) {
        uint32_t n = (uint32_t) frame[4] | (uint32_t) frame[5] << 8 | (uint32_t) frame[6] << 16 |
                     (uint32_t) frame[7] << 24;
        uint32_t crc = history_crc32c(history_crc32c(0, frame + 4, 4), frame + HISTORY_FRAME_HEAD, n);
        for (int i = 0; i < 4; i++)
                frame[8 + i] = (uint8_t) (crc >> (8 * i));
}
