/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* Scratch directories for the unit tests that work on a cache: made under $TMPDIR (or /tmp), removed with
 * everything in them when the variable goes out of scope. */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/tests.h"
#include "cache/cache-tree.h"

static inline char *make_temp_dir(void) {
        char *p = NULL;
        ASSERT_TRUE(asprintf(&p, "%s/maelstrom-test-XXXXXX", getenv("TMPDIR") ?: "/tmp") >= 0);
        ASSERT_TRUE(mkdtemp(p));
        return p;
}

static inline void remove_temp_dir(char **p) {
        if (!*p)
                return;
        ASSERT_OK(rm_rf_at(AT_FDCWD, *p));
        *p = mfree(*p);
}
#define _cleanup_temp_dir_ _cleanup_(remove_temp_dir)
