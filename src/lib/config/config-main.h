/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The common start of every program's main(): this is the one place in src/lib that talks to the user, as it
 * implements the options every program shares. */

#include "config/config.h"

/* Exit codes: 1 = the work failed (e.g. a test failed), 2 = usage or configuration error, or a part that is
 * not available yet. */
#define EXIT_USAGE 2
#define EXIT_NOT_AVAILABLE 2

/* Set up logging, parse the configuration, and handle --help, --version and --print-config.  Returns 1 with
 * *ret set when the program should go on; 0 when it should exit with status 0 now; a negative errno, the
 * error already printed, when it should exit with EXIT_USAGE. */
int config_main_load(const ConfigProgram *p, int argc, char **argv, Config **ret);

/* For a daemon's SIGHUP: parses the configuration again (config_reparse()), applies its log level, and logs
 * which values changed, and which of them (not in the NULL-terminated list live) need a restart.  Returns 0
 * with *ret set, and *ret_changed the names of the values that differ from old; on failure, logs why, and
 * the caller keeps old. */
int config_main_reload(const Config *old, const char *const *live, Config **ret, char ***ret_changed);

/* Say plainly that a part of the program is not available yet, and return EXIT_NOT_AVAILABLE. */
int config_main_not_available(const ConfigProgram *p, const char *what);
