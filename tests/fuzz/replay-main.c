/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * A main() for the fuzz targets without libFuzzer: feeds every file named
 * on the command line, and every file in every directory named (in name
 * order, so runs repeat), to LLVMFuzzerTestOneInput() once. Built with gcc
 * and ASan+UBSan by `make fuzz-replay`, so `make check` replays the corpora
 * and the crash reproducers without clang.
 *
 * When a sanitizer or an invariant aborts, the SIGABRT handler names the
 * input first: the report alone does not say which file it was.
 */

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz-util.h"

/* Targets that need one-time setup define it; the others leave this weak symbol NULL. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static char current[4096];

static void on_abort(int sig) {
        static const char what[] = "\nfuzz-replay: the input that failed: ";
        /* Only async-signal-safe calls here. */
        if (write(STDERR_FILENO, what, sizeof(what) - 1) > 0 &&
            write(STDERR_FILENO, current, strnlen(current, sizeof(current))) > 0)
                (void) !write(STDERR_FILENO, "\n", 1);
        signal(sig, SIG_DFL);
        raise(sig);
}

static int run_file(const char *path) {
        FILE *f = fopen(path, "re");
        uint8_t *buf = NULL;
        long len;

        if (!f) {
                perror(path);
                return -1;
        }
        if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
                perror(path);
                fclose(f);
                return -1;
        }
        /* One byte more than needed, so that an empty file still gets a non-NULL buffer, as libFuzzer gives. */
        buf = malloc((size_t) len + 1);
        if (!buf || fread(buf, 1, (size_t) len, f) != (size_t) len) {
                perror(path);
                free(buf);
                fclose(f);
                return -1;
        }
        fclose(f);
        snprintf(current, sizeof(current), "%s", path);
        LLVMFuzzerTestOneInput(buf, (size_t) len);
        free(buf);
        return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_hidden(const struct dirent *d) {
        return d->d_name[0] != '.';
}

int main(int argc, char **argv) {
        unsigned long n = 0;
        int failed = 0;

        signal(SIGABRT, on_abort);
        if (LLVMFuzzerInitialize)
                LLVMFuzzerInitialize(&argc, &argv);
        for (int i = 1; i < argc; i++) {
                struct dirent **list = NULL;
                struct stat st;
                int k;

                if (stat(argv[i], &st) < 0) {
                        /* A target with no crash reproducers has no directory for them: nothing to replay. */
                        continue;
                }
                if (!S_ISDIR(st.st_mode)) {
                        failed |= run_file(argv[i]) < 0;
                        n++;
                        continue;
                }
                k = scandir(argv[i], &list, not_hidden, by_name);
                if (k < 0) {
                        perror(argv[i]);
                        failed = 1;
                        continue;
                }
                for (int j = 0; j < k; j++) {
                        char path[4096];
                        struct stat fst;

                        snprintf(path, sizeof(path), "%s/%s", argv[i], list[j]->d_name);
                        if (stat(path, &fst) == 0 && S_ISREG(fst.st_mode)) {
                                failed |= run_file(path) < 0;
                                n++;
                        }
                        free(list[j]);
                }
                free(list);
        }
        printf("%s: %lu inputs replayed\n", argv[0], n);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
