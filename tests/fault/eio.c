/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * LD_PRELOAD shim for tests: storage that fails with EIO on demand, for the
 * event history. These machines have no device-mapper (dm-error, dm-flakey)
 * and a FUSE file system would be a project of its own; failing the calls
 * in the process is enough to see what spasmd does with the error.
 *
 *   SPASMD_FAULT_EIO=FLAGFILE  while FLAGFILE exists, write(), pwrite(),
 *                              fdatasync() and fsync() on a file whose name
 *                              starts with "events.log" fail with EIO.
 *                              FLAGFILE may list the calls to fail ("pwrite
 *                              fdatasync"); empty, all four.
 *
 * The flag is looked at on every call, so a test turns the fault on and off
 * at run time with touch and rm. The real calls are made as raw system
 * calls: no dlsym() (which may allocate while a sanitizer is starting) and
 * nothing that could come back here.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define TARGET "events.log"

static bool flag_says(const char *call) {
        const char *flag = getenv("SPASMD_FAULT_EIO");
        char buf[256];

        if (!flag || !*flag)
                return false;
        int fd = (int) syscall(SYS_openat, AT_FDCWD, flag, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        ssize_t k = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
        syscall(SYS_close, fd);
        if (k <= 0)
                return true;    /* empty: every call */
        buf[k] = '\0';
        /* A whole word: "pwrite" must not match "write". */
        size_t len = strlen(call);
        for (const char *p = strstr(buf, call); p; p = strstr(p + 1, call))
                if ((p == buf || strchr(" \t\n,", p[-1])) && strchr(" \t\n,", p[len]))
                        return true;
        return false;
}

static bool is_target(int fd) {
        char link[64], path[4096];
        const char *base;

        if (fd < 0)
                return false;
        /* Small, so no snprintf: it is not async-signal-safe and write() may be called anywhere. */
        strcpy(link, "/proc/self/fd/");
        char digits[16];
        int n = 0;
        for (unsigned v = (unsigned) fd; n == 0 || v > 0; v /= 10)
                digits[n++] = (char) ('0' + v % 10);
        size_t l = strlen(link);
        while (n > 0)
                link[l++] = digits[--n];
        link[l] = '\0';
        ssize_t k = syscall(SYS_readlinkat, AT_FDCWD, link, path, sizeof(path) - 1);
        if (k <= 0)
                return false;
        path[k] = '\0';
        base = strrchr(path, '/');
        base = base ? base + 1 : path;
        return strncmp(base, TARGET, strlen(TARGET)) == 0;
}

/* The flag first: it is one failed open() when the fault is off, and write() is everywhere. */
static bool fail(const char *call, int fd) {
        if (!flag_says(call) || !is_target(fd))
                return false;
        errno = EIO;
        return true;
}

ssize_t write(int fd, const void *buf, size_t n) {
        if (fail("write", fd))
                return -1;
        return syscall(SYS_write, fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
        if (fail("pwrite", fd))
                return -1;
        return syscall(SYS_pwrite64, fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off) {
        return pwrite(fd, buf, n, off);
}

int fdatasync(int fd) {
        if (fail("fdatasync", fd))
                return -1;
        return (int) syscall(SYS_fdatasync, fd);
}

int fsync(int fd) {
        if (fail("fsync", fd))
                return -1;
        return (int) syscall(SYS_fsync, fd);
}
