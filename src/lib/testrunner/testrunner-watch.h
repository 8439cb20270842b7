/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* --watch: noticing that something changed under the project directory, with inotify.  Every directory
 * below it is watched except the ignored ones (the build and cache directories) and their subtrees; new
 * directories are watched as they appear.  Version control metadata (.git, ...) and editors' scratch files
 * (*.swp, *~, ...) are ignored wherever they are. */

#include "basic/macro.h"

/* Most directories watched; a bigger tree gives -E2BIG. */
#define TEST_WATCH_DIRECTORIES_MAX 65536U

typedef struct TestWatch TestWatch;

/* ignore: absolute paths (NULL-terminated, may be NULL). */
int test_watch_new(const char *dir, char *const *ignore, TestWatch **ret);
TestWatch *test_watch_free(TestWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(TestWatch *, test_watch_free);

/* The inotify fd (non-blocking), to poll for input. */
int test_watch_fd(const TestWatch *w);

/* Reads what is pending: > 0 if something outside the ignored directories changed, 0 if not (or nothing
 * was pending). */
int test_watch_process(TestWatch *w);
