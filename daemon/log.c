/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "journal.h"
#include "log.h"

static bool journal = false;
static int max_level = LOG_INFO;

/* systemd sets JOURNAL_STREAM=dev:ino for a service whose stderr goes to the
 * journal; only then do we talk to the journal directly. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        struct stat st;
        unsigned long long dev, ino;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_open(void) {
        const char *force = getenv("SPASMD_LOG_TARGET");
        if (force && strcmp(force, "journal") == 0)
                journal = true;
        else if (force && strcmp(force, "console") == 0)
                journal = false;
        else
                journal = stderr_is_journal();
        if (getenv("SPASMD_DEBUG"))
                max_level = LOG_DEBUG;
}

bool log_to_journal(void) {
        return journal;
}

int log_internal(int prio, int err, const char *fmt, ...) {
        char msg[1024];
        va_list ap;

        err = err < 0 ? -err : err;
        if (prio > max_level)
                return -err;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (journal) {
                /* Errors share one MESSAGE_ID, so `journalctl -x` can explain what to check. */
                const char *id = prio <= LOG_ERR ? "MESSAGE_ID=" SPASMD_MESSAGE_ERROR : "SYSLOG_IDENTIFIER=spasmd";
                if (err)
                        sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%i", prio, "ERRNO=%i", err, id,
                                        "SYSLOG_IDENTIFIER=spasmd", NULL);
                else
                        sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%i", prio, id, "SYSLOG_IDENTIFIER=spasmd",
                                        NULL);
        } else
                fprintf(stderr, "spasmd: %s\n", msg);
        return -err;
}
