/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The history's API: what goes in comes out, ids, queries, retention, failing appends, files. */

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "history-test-util.h"

static void test_crc32c(void **state) {
        (void) state;
        assert_int_equal(history_crc32c(0, "123456789", 9), 0xe3069283);
        assert_int_equal(history_crc32c(history_crc32c(0, "1234", 4), "56789", 5), 0xe3069283);
        assert_int_equal(history_crc32c(0, "", 0), 0);
}

static void test_round_trip(void **state) {
        const char *dir = *state;
        struct event_record in[3], *out;
        size_t n;

        in[0] = make_record(1, BASE_USEC);
        in[1] = make_record(2, BASE_USEC + 5 * SEC);
        in[2] = make_record(7, BASE_USEC + 9 * SEC);
        memset(in[2].sensor, 'x', sizeof(in[2].sensor) - 1); /* the longest name there is */
        in[2].sensor[sizeof(in[2].sensor) - 1] = '\0';
        in[2].class = SPASM_CLASS_WITHDRAWN;
        in[2].posture = SPASM_POSTURE_STANDING;
        in[2].channel_mask = UINT32_MAX;
        in[2].duration_usec = UINT64_MAX;

        struct history *h = open_clean(dir, &no_limits);
        for (int i = 0; i < 3; i++)
                assert_int_equal(history_append(h, &in[i]), 0);
        assert_int_equal(history_count(h), 3);
        assert_int_equal(history_query(h, 0, 0, &out, &n), 0);
        assert_int_equal(n, 3);
        for (int i = 0; i < 3; i++)
                assert_record_equal(&in[i], &out[i]);
        free(out);
        assert_string_equal(history_path(h), path_in(dir, HISTORY_FILE));
        history_free(h);

        /* From disk, not from memory. */
        assert_int_equal(file_size(dir, HISTORY_FILE), HS + 3 * RS);
        h = open_clean(dir, &no_limits);
        assert_int_equal(history_query(h, 0, 0, &out, &n), 0);
        assert_int_equal(n, 3);
        for (int i = 0; i < 3; i++)
                assert_record_equal(&in[i], &out[i]);
        free(out);
        history_free(h);
}

static void test_ids_continue(void **state) {
        const char *dir = *state;
        struct history_limits lim = { .max_age_usec = SEC };
        struct history *h = open_clean(dir, &lim);

        assert_int_equal(history_next_id(h), 1);
        append_n(h, 2);
        assert_int_equal(history_next_id(h), 3);
        history_free(h);
        h = open_clean(dir, &lim);
        assert_int_equal(history_next_id(h), 3);
        /* Once compaction has dropped every record, the header still remembers. */
        assert_int_equal(history_compact(h, BASE_USEC + 100 * SEC), 2);
        assert_int_equal(history_count(h), 0);
        history_free(h);
        h = open_clean(dir, &lim);
        assert_int_equal(history_count(h), 0);
        assert_int_equal(history_next_id(h), 3);
        history_free(h);
}

static void test_retention_age(void **state) {
        const char *dir = *state;
        struct history_limits lim = { .max_age_usec = 10 * SEC };
        struct history *h = open_clean(dir, &lim);

        append_n(h, 12); /* onsets BASE + 1..12 s */
        assert_int_equal(history_compact(h, BASE_USEC + 15 * SEC), 4);
        assert_string_equal(ids_of(h), "5,6,7,8,9,10,11,12");
        assert_int_equal(history_count(h), 8);
        assert_int_equal(history_compact(h, BASE_USEC + 15 * SEC), 0);
        append_n(h, 1); /* the swapped-in file takes appends */
        history_free(h);
        assert_int_equal(file_size(dir, HISTORY_FILE), HS + 9 * RS);
        h = open_clean(dir, &lim);
        assert_string_equal(ids_of(h), "5,6,7,8,9,10,11,12,13");
        assert_int_equal(history_next_id(h), 14);
        history_free(h);
}

static void test_retention_size(void **state) {
        const char *dir = *state;
        struct history_limits lim = { .max_bytes = HS + 3 * RS + RS / 2 };
        struct history *h = open_clean(dir, &lim);
        struct stat before, after;

        append_n(h, 10);
        assert_int_equal(history_compact(h, BASE_USEC), 7);
        assert_string_equal(ids_of(h), "8,9,10");
        assert_int_equal(file_size(dir, HISTORY_FILE), HS + 3 * RS);
        /* Nothing to drop: no rewrite, the same inode stays. */
        assert_int_equal(stat(path_in(dir, HISTORY_FILE), &before), 0);
        assert_int_equal(history_compact(h, BASE_USEC), 0);
        assert_int_equal(stat(path_in(dir, HISTORY_FILE), &after), 0);
        assert_int_equal(before.st_ino, after.st_ino);
        /* Limits change at reload. */
        history_set_limits(h, &(struct history_limits) { .max_bytes = HS + RS });
        assert_int_equal(history_compact(h, BASE_USEC), 2);
        assert_string_equal(ids_of(h), "10");
        history_free(h);
        h = open_clean(dir, &lim);
        assert_string_equal(ids_of(h), "10");
        assert_int_equal(history_next_id(h), 11);
        history_free(h);
}

static void query_ids(struct history *h, uint64_t since, unsigned limit, const char *want) {
        struct event_record *v;
        size_t n;
        char got[256] = "";

        assert_int_equal(history_query(h, since, limit, &v, &n), 0);
        for (size_t i = 0; i < n; i++)
                snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%llu", i ? "," : "",
                         (unsigned long long) v[i].id);
        if (n == 0)
                assert_null(v);
        free(v);
        assert_string_equal(got, want);
}

static void test_query(void **state) {
        const char *dir = *state;
        struct history *h = open_clean(dir, &no_limits);

        query_ids(h, 0, 0, "");
        append_n(h, 10); /* onsets BASE + 1..10 s */
        query_ids(h, 0, 0, "1,2,3,4,5,6,7,8,9,10");
        query_ids(h, 0, 100, "1,2,3,4,5,6,7,8,9,10");
        query_ids(h, BASE_USEC + 5 * SEC, 0, "5,6,7,8,9,10");
        query_ids(h, BASE_USEC + 5 * SEC, 3, "8,9,10");
        query_ids(h, BASE_USEC + 5 * SEC, 6, "5,6,7,8,9,10");
        query_ids(h, 0, 1, "10");
        query_ids(h, 0, 4, "7,8,9,10");
        query_ids(h, BASE_USEC + 11 * SEC, 5, "");
        history_free(h);
}

/* What history_query() must return, worked out from the records as appended (storage order). */
static void query_matches_reference(struct history *h, const struct event_record *all, const bool *gone, size_t n_all,
                                    uint64_t since, unsigned limit) {
        size_t want_idx[2048], n_want = 0;
        struct event_record *v;
        size_t n;

        for (size_t i = 0; i < n_all; i++)
                if (!gone[i] && all[i].onset_usec >= since)
                        want_idx[n_want++] = i;
        size_t first = limit > 0 && n_want > limit ? n_want - limit : 0;

        assert_int_equal(history_query(h, since, limit, &v, &n), 0);
        if (n != n_want - first)
                fail_msg("since %llu limit %u: %zu records, want %zu", (unsigned long long) since, limit, n,
                         n_want - first);
        for (size_t i = 0; i < n; i++)
                assert_record_equal(&v[i], &all[want_idx[first + i]]);
        free(v);
}

static void check_queries(struct history *h, const struct event_record *all, const bool *gone, size_t n_all) {
        static const unsigned limits[] = { 0, 1, 2, 255, 256, 257, 600, 10000 };
        const uint64_t sinces[] = { 0, BASE_USEC + 100 * SEC, BASE_USEC + 256 * SEC, BASE_USEC + 700 * SEC,
                                    BASE_USEC + 1199 * SEC, BASE_USEC + 5000 * SEC };

        for (size_t i = 0; i < sizeof(sinces) / sizeof(sinces[0]); i++)
                for (size_t j = 0; j < sizeof(limits) / sizeof(limits[0]); j++)
                        query_matches_reference(h, all, gone, n_all, sinces[i], limits[j]);
}

/* More records than one index chunk, some stored late (an onset older than the one before), through reopen,
 * compaction and a record that rots after opening. */
static void test_query_index(void **state) {
        enum { N = 1200 };
        const char *dir = *state;
        struct history *h = open_clean(dir, &no_limits);
        static struct event_record all[N];
        static bool gone[N];

        for (size_t i = 0; i < N; i++) {
                uint64_t onset = BASE_USEC + (i + 1) * SEC;
                if (i % 97 == 50)
                        onset -= 400 * SEC; /* long ago: saved from memory after a full disk */
                all[i] = make_record(i + 1, onset);
                gone[i] = false;
                assert_int_equal(history_append(h, &all[i]), 0);
        }
        check_queries(h, all, gone, N);
        history_free(h);

        h = open_clean(dir, &no_limits);
        check_queries(h, all, gone, N);

        /* Retention by age drops the onsets before BASE + 300 s: the index must follow the rewritten file. */
        struct history_limits lim = { .max_age_usec = 100 * SEC };
        history_set_limits(h, &lim);
        assert_true(history_compact(h, BASE_USEC + 400 * SEC) > 0);
        for (size_t i = 0; i < N; i++)
                gone[i] = all[i].onset_usec < BASE_USEC + 300 * SEC;
        check_queries(h, all, gone, N);
        history_set_limits(h, &no_limits);

        /* Appends after the compaction land in the index too. */
        static struct event_record more[N + 100];
        static bool more_gone[N + 100];
        memcpy(more, all, sizeof(all));
        memcpy(more_gone, gone, sizeof(gone));
        for (size_t i = N; i < N + 100; i++) {
                more[i] = make_record(i + 1, BASE_USEC + (i + 1) * SEC);
                more_gone[i] = false;
                assert_int_equal(history_append(h, &more[i]), 0);
        }
        check_queries(h, more, more_gone, N + 100);

        /* A bit flips in a stored record behind the daemon's back: a query skips that record only. */
        size_t victim = 0;
        off_t off = HS;
        for (size_t i = 0; i < N + 100; i++) {
                if (more_gone[i])
                        continue;
                if (more[i].id == 1000) {
                        victim = i;
                        break;
                }
                off += RS;
        }
        int fd = open(path_in(dir, HISTORY_FILE), O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        uint8_t byte;
        assert_int_equal(pread(fd, &byte, 1, off + 40), 1);
        byte ^= 0x10;
        assert_int_equal(pwrite(fd, &byte, 1, off + 40), 1);
        close(fd);
        more_gone[victim] = true;
        check_queries(h, more, more_gone, N + 100);
        history_free(h);
}

static void test_failed_append_efbig(void **state) {
        const char *dir = *state;
        struct history *h = open_clean(dir, &no_limits);
        struct rlimit old, low;
        struct event_record r;
        int k;

        append_n(h, 3);
        off_t size = file_size(dir, HISTORY_FILE);

        /* Room for part of a record: write() stores some bytes, then fails with EFBIG. */
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
        low = old;
        low.rlim_cur = (rlim_t) size + RS / 2;
        signal(SIGXFSZ, SIG_IGN);
        r = make_record(history_next_id(h), BASE_USEC + 100 * SEC);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
        k = history_append(h, &r);
        /* Nothing that might print runs under the low limit: stdout may be a file. */
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
        signal(SIGXFSZ, SIG_DFL);

        assert_int_equal(k, -EFBIG);
        assert_int_equal(file_size(dir, HISTORY_FILE), size);
        assert_int_equal(history_next_id(h), 4);
        assert_int_equal(history_append(h, &r), 0);
        history_free(h);
        h = open_clean(dir, &no_limits);
        assert_string_equal(ids_of(h), "1,2,3,4");
        history_free(h);
}

/* Runs in a child with its own mount namespace; returns an exit code, 77 to skip. */
static int enospc_child(const char *dir) {
        char msg[512];
        struct history *h;
        unsigned stored = 0;
        int k;

        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", dir, "tmpfs", 0, "size=12k") < 0)
                return 77;
        /* One page for the filler, one for the history's start, one more: then the disk is full. */
        char page[4096];
        memset(page, 'f', sizeof(page));
        int fd = open(path_in(dir, "filler"), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, page, sizeof(page)) != (ssize_t) sizeof(page) || close(fd) < 0)
                return 77;
        if (history_open(dir, &no_limits, &h, msg, sizeof(msg)) < 0)
                return 2;
        for (;;) {
                struct event_record r = make_record(history_next_id(h), BASE_USEC);
                k = history_append(h, &r);
                if (k < 0)
                        break;
                if (++stored > 1000)
                        return 3;
        }
        if (k != -ENOSPC || stored < 20)
                return 4;
        if (file_size(dir, HISTORY_FILE) != (off_t) (HS + stored * RS))
                return 5;
        if (unlink(path_in(dir, "filler")) < 0)
                return 6;
        struct event_record r = make_record(history_next_id(h), BASE_USEC);
        if (history_append(h, &r) < 0)
                return 7;
        history_free(h);
        if (history_open(dir, &no_limits, &h, msg, sizeof(msg)) < 0 || msg[0] != '\0')
                return 8;
        k = history_count(h) == stored + 1 && history_next_id(h) == stored + 2 ? 0 : 9;
        history_free(h);
        umount(dir);
        return k;
}

static void test_failed_append_enospc(void **state) {
        const char *dir = *state;
        int status;

        if (geteuid() != 0)
                skip(); /* a tmpfs of its own needs root; the EFBIG test covers the same path */
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(enospc_child(dir));
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77)
                skip();
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void assert_fds_cloexec(const char *dir) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        unsigned found = 0;

        assert_non_null(d);
        while ((de = readdir(d))) {
                char link[PATH_MAX], target[PATH_MAX];
                ssize_t n;
                snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
                n = readlink(link, target, sizeof(target) - 1);
                if (n <= 0)
                        continue;
                target[n] = '\0';
                if (strncmp(target, dir, strlen(dir)) != 0)
                        continue;
                found++;
                assert_true(fcntl(atoi(de->d_name), F_GETFD) & FD_CLOEXEC);
        }
        closedir(d);
        assert_int_equal(found, 2); /* the directory and events.log */
}

static void test_files_and_lock(void **state) {
        const char *dir = *state;
        mode_t old = umask(022);
        struct history *h = open_clean(dir, &no_limits), *h2 = NULL;
        char msg[512];
        struct stat st;

        umask(old);
        assert_int_equal(stat(path_in(dir, HISTORY_FILE), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        assert_fds_cloexec(dir);
        append_n(h, 3);
        history_set_limits(h, &(struct history_limits) { .max_bytes = HS + RS });
        assert_int_equal(history_compact(h, BASE_USEC), 2);
        assert_int_equal(stat(path_in(dir, HISTORY_FILE), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        assert_fds_cloexec(dir);

        /* A second daemon on the same directory is turned away. */
        assert_int_equal(history_open(dir, &no_limits, &h2, msg, sizeof(msg)), -EBUSY);
        assert_null(h2);
        assert_contains(msg, "in use");
        history_free(h);
}

static void test_append_invalid(void **state) {
        const char *dir = *state;
        struct history *h = open_clean(dir, &no_limits);
        struct event_record r = make_record(1, BASE_USEC);

        r.class = (enum spasm_class) 42;
        assert_int_equal(history_append(h, &r), -EINVAL);
        r = make_record(1, BASE_USEC);
        r.posture = (enum spasm_posture) 4;
        assert_int_equal(history_append(h, &r), -EINVAL);
        r = make_record(1, BASE_USEC);
        memset(r.side, 'l', sizeof(r.side));
        assert_int_equal(history_append(h, &r), -EINVAL);
        assert_int_equal(history_count(h), 0);
        assert_int_equal(history_next_id(h), 1);
        history_free(h);
        assert_int_equal(file_size(dir, HISTORY_FILE), HS);
}



#define T(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_dir)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_crc32c),
                T(test_round_trip),
                T(test_ids_continue),
                T(test_retention_age),
                T(test_retention_size),
                T(test_query),
                T(test_query_index),
                T(test_failed_append_efbig),
                T(test_failed_append_enospc),
                T(test_files_and_lock),
                T(test_append_invalid),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
