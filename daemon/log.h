/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Messages go to the journal when spasmd runs under systemd (stderr is a
 * journal stream, or the journal socket is there), else to stderr, so a
 * developer's terminal shows them. Returns -abs(err) like systemd's
 * log_*_errno(), so a caller can `return log_error_errno(r, ...)`.
 */

#include <stdbool.h>
#include <syslog.h>

void log_open(void);
bool log_to_journal(void);

__attribute__((format(printf, 3, 4)))
int log_internal(int prio, int err, const char *fmt, ...);

#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)
