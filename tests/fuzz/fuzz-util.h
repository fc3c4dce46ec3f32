/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Shared by the fuzz targets: the libFuzzer entry points, a reader that
 * turns the input into numbers (zeros once it runs dry, so every input is
 * a valid program), invariant checks that abort like a sanitizer does, and
 * a scratch directory per process.
 *
 * The same target files build two ways: with clang -fsanitize=fuzzer for
 * `make fuzz`, and with gcc plus replay-main.c for `make fuzz-replay`, which
 * feeds the committed corpora through them without needing clang.
 */

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant that does not hold is a finding like a sanitizer report:
 * say what and where, then abort so that libFuzzer keeps the input. */
#define fuzz_check(cond, ...)                                                                     \
        do {                                                                                      \
                if (!(cond)) {                                                                    \
                        fprintf(stderr, "%s:%d: invariant '%s' does not hold: ", __FILE__, __LINE__, \
                                #cond);                                                           \
                        fprintf(stderr, __VA_ARGS__);                                             \
                        fputc('\n', stderr);                                                      \
                        abort();                                                                  \
                }                                                                                 \
        } while (0)

struct fuzz_in {
        const uint8_t *p;
        size_t n;
};

static inline size_t fuzz_left(const struct fuzz_in *in) {
        return in->n;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in) {
        if (in->n == 0)
                return 0;
        in->n--;
        return *in->p++;
}

/* One call per statement: the order of calls within an expression is unspecified, and gcc
 * and clang must read an input the same way for the replay to mean anything. */
static inline uint16_t fuzz_u16(struct fuzz_in *in) {
        uint16_t lo = fuzz_u8(in);
        return (uint16_t) (lo | fuzz_u8(in) << 8);
}

static inline uint32_t fuzz_u32(struct fuzz_in *in) {
        uint32_t lo = fuzz_u16(in);
        return lo | (uint32_t) fuzz_u16(in) << 16;
}

static inline uint64_t fuzz_u64(struct fuzz_in *in) {
        uint64_t lo = fuzz_u32(in);
        return lo | (uint64_t) fuzz_u32(in) << 32;
}

static inline bool fuzz_bool(struct fuzz_in *in) {
        return fuzz_u8(in) & 1;
}

/* lo .. hi inclusive; a modulo bias does not matter to a fuzzer. */
static inline unsigned fuzz_range(struct fuzz_in *in, unsigned lo, unsigned hi) {
        uint32_t span = hi - lo + 1;
        uint32_t v = span <= 0x100 ? fuzz_u8(in) : span <= 0x10000 ? fuzz_u16(in) : fuzz_u32(in);
        return span == 0 ? v : lo + v % span;
}

/* Any bit pattern, NaN and infinities included. */
static inline float fuzz_float_bits(struct fuzz_in *in) {
        uint32_t u = fuzz_u32(in);
        float f;
        memcpy(&f, &u, sizeof(f));
        return f;
}

static inline double fuzz_double_bits(struct fuzz_in *in) {
        uint64_t u = fuzz_u64(in);
        double d;
        memcpy(&d, &u, sizeof(d));
        return d;
}

/* Up to max bytes (fewer if the input runs out) as a NUL-terminated string in buf[max + 1]. */
static inline size_t fuzz_string(struct fuzz_in *in, char *buf, size_t max) {
        size_t n = fuzz_range(in, 0, (unsigned) max);
        if (n > in->n)
                n = in->n;
        memcpy(buf, in->p, n);
        buf[n] = '\0';
        in->p += n;
        in->n -= n;
        return n;
}

/* --- a scratch directory for targets that need files ------------------------------ */

/* snprintf() into a path buffer; a path that does not fit is a broken setup, not a finding. */
#define fuzz_path(buf, ...)                                                                       \
        do {                                                                                      \
                int n_ = snprintf((buf), sizeof(buf), __VA_ARGS__);                               \
                if (n_ < 0 || (size_t) n_ >= sizeof(buf))                                         \
                        abort();                                                                  \
        } while (0)

/* rm -r of a directory that holds only plain files and plain subdirectories. */
static inline void fuzz_remove_tree(const char *path) {
        DIR *d = opendir(path);
        struct dirent *e;

        if (d) {
                while ((e = readdir(d))) {
                        char sub[4096];
                        struct stat st;
                        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                                continue;
                        fuzz_path(sub, "%s/%s", path, e->d_name);
                        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
                                fuzz_remove_tree(sub);
                        else
                                unlink(sub);
                }
                closedir(d);
        }
        rmdir(path);
}

static char fuzz_tmpdir_path[4096];

static inline void fuzz_tmpdir_cleanup(void) {
        if (fuzz_tmpdir_path[0])
                fuzz_remove_tree(fuzz_tmpdir_path);
}

/*
 * One directory per process, made on first use and removed at exit. Under
 * $TMPDIR (tests/fuzz/run.sh points it at /dev/shm, where the fsync()s of
 * the history cost nothing), else /tmp.
 */
static inline const char *fuzz_tmpdir(const char *tag) {
        if (!fuzz_tmpdir_path[0]) {
                const char *base = getenv("TMPDIR");
                snprintf(fuzz_tmpdir_path, sizeof(fuzz_tmpdir_path), "%s/spasmd-fuzz-%s-XXXXXX",
                         base && *base ? base : "/tmp", tag);
                if (!mkdtemp(fuzz_tmpdir_path)) {
                        perror("fuzz: mkdtemp");
                        abort();
                }
                atexit(fuzz_tmpdir_cleanup);
        }
        return fuzz_tmpdir_path;
}

/* Write exactly len bytes to path, replacing it. */
static inline void fuzz_write_file(const char *path, const void *buf, size_t len) {
        FILE *f = fopen(path, "we");
        if (!f || (len > 0 && fwrite(buf, 1, len, f) != len) || fclose(f) != 0) {
                perror(path);
                abort();
        }
}
