/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * LD_PRELOAD shim for tests: a wall clock that jumps. Stepping the real
 * CLOCK_REALTIME would step the whole machine, and time namespaces move only
 * CLOCK_MONOTONIC and CLOCK_BOOTTIME; so the process is lied to instead.
 *
 *   SPASMD_FAULT_CLOCK=FILE  FILE holds an offset in seconds ("3600",
 *                            "-3600", "0.5"); CLOCK_REALTIME and its
 *                            variants, gettimeofday(), time() and
 *                            timespec_get() are moved by it. A missing or
 *                            unreadable file is an offset of 0.
 *
 * FILE is read again at most every 10 ms, so a test changes the offset at
 * run time (write a new file and rename it over). CLOCK_MONOTONIC and
 * CLOCK_BOOTTIME are left alone: they are what durations must be measured
 * with. Timers the kernel keeps on CLOCK_REALTIME (timerfd, futex
 * deadlines) do not see the offset; spasmd's only one is the hourly check.
 * The real clock is read with raw system calls, which cannot come back here
 * and allocate nothing.
 */

#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define RECHECK_NS 10000000LL

static _Atomic int64_t offset_ns;
static _Atomic int64_t next_check_ns = INT64_MIN;

static int64_t real_ns(clockid_t id) {
        struct timespec t;
        if (syscall(SYS_clock_gettime, id, &t) < 0)
                return 0;
        return (int64_t) t.tv_sec * 1000000000 + t.tv_nsec;
}

/* "[-+]SECONDS[.FRACTION]", by hand: no locale, no allocation. */
static int64_t parse_offset(const char *s) {
        int64_t sec = 0, frac = 0, scale = 100000000;
        bool neg = false;

        while (*s == ' ' || *s == '\t')
                s++;
        if (*s == '-' || *s == '+')
                neg = *s++ == '-';
        for (; *s >= '0' && *s <= '9'; s++)
                sec = sec * 10 + (*s - '0');
        if (*s == '.')
                for (s++; *s >= '0' && *s <= '9' && scale > 0; s++, scale /= 10)
                        frac += (*s - '0') * scale;
        int64_t ns = sec * 1000000000 + frac;
        return neg ? -ns : ns;
}

static int64_t current_offset(void) {
        int64_t now = real_ns(CLOCK_MONOTONIC);
        if (now < atomic_load(&next_check_ns))
                return atomic_load(&offset_ns);
        atomic_store(&next_check_ns, now + RECHECK_NS);

        const char *path = getenv("SPASMD_FAULT_CLOCK");
        int64_t off = 0;
        char buf[64];
        if (path && *path) {
                int fd = (int) syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
                if (fd >= 0) {
                        ssize_t k = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
                        syscall(SYS_close, fd);
                        if (k > 0) {
                                buf[k] = '\0';
                                off = parse_offset(buf);
                        }
                }
        }
        atomic_store(&offset_ns, off);
        return off;
}

static bool is_wall(clockid_t id) {
        return id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE || id == CLOCK_REALTIME_ALARM || id == CLOCK_TAI;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
        if (syscall(SYS_clock_gettime, id, ts) < 0)
                return -1;
        if (is_wall(id)) {
                int64_t ns = (int64_t) ts->tv_sec * 1000000000 + ts->tv_nsec + current_offset();
                ts->tv_sec = (time_t) (ns / 1000000000);
                ts->tv_nsec = (long) (ns % 1000000000);
                if (ts->tv_nsec < 0) {
                        ts->tv_sec--;
                        ts->tv_nsec += 1000000000;
                }
        }
        return 0;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
        struct timespec ts;
        (void) tz;
        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return -1;
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = ts.tv_nsec / 1000;
        return 0;
}

time_t time(time_t *t) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (t)
                *t = ts.tv_sec;
        return ts.tv_sec;
}

int timespec_get(struct timespec *ts, int base) {
        if (base != TIME_UTC || clock_gettime(CLOCK_REALTIME, ts) < 0)
                return 0;
        return base;
}
