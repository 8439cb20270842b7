/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "basic/macro.h"

/* Logging to stderr.  When JOURNAL_STREAM says that stderr is connected to journald, each line gets a "<N>"
 * priority prefix that journald parses; otherwise lines are plain, prefixed with the program name.
 * Levels are the syslog ones; log_set_max_level() filters. */

void log_setup(const char *program_name);
void log_set_max_level(int level);
int log_get_max_level(void);
/* Whether stderr is connected to journald (JOURNAL_STREAM), and the name given to log_setup(). */
bool log_get_journal(void);
const char *log_get_program(void);

/* "error", "warning", "info", "debug" (also "err", "notice"). */
int log_level_from_string(const char *s);
const char *log_level_to_string(int level);

/* Logs and returns -abs(error) (or 0 if error is 0).  %m expands to strerror(error). */
_printf_(3, 4) int log_internal(int level, int error, const char *format, ...);

#define log_full_errno(level, error, ...)                                       \
        ({                                                                      \
                int _level_ = (level), _e_ = (error);                           \
                (log_get_max_level() >= _level_)                                \
                        ? log_internal(_level_, _e_, __VA_ARGS__)               \
                        : -abs(_e_);                                            \
        })
#define log_full(level, ...) (void) log_full_errno(level, 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_notice_errno(e, ...) log_full_errno(LOG_NOTICE, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
