/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* Test filter patterns, as a user or a project's spec file could write them.  The first byte chooses the
 * syntax; the rest is the pattern.  A good pattern is evaluated against a known, a partly known and an
 * unknown case; a bad one must say where and what was expected. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testrunner/testrunner-pattern.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static char *const markers[] = { (char *) "slow", (char *) "", NULL };
        _cleanup_(pattern_freep) Pattern *p = NULL;
        _cleanup_free_ char *text = NULL;
        PatternError e = {};
        int r;

        if (size < 1)
                return 0;
        text = strndup((const char *) data + 1, size - 1);
        if (!text)
                return 0;
        r = pattern_parse((PatternSyntax) (data[0] % _PATTERN_SYNTAX_MAX), text, &p, &e);
        if (r < 0) {
                if (!IN_SET(r, -EINVAL, -E2BIG, -ENOMEM))
                        abort();
                if (r != -ENOMEM && (e.column < 1 || !e.message[0]))
                        abort();
                return 0;
        }

        PatternCase c = {
                .name = "io::read_all", .package = "core", .kind = CARGO_TARGET_TEST, .target = "t/x",
                .package_import_path = "example.com/m/io", .package_path = "io", .package_name = "io",
                .file = "tests/a.py", .node_id = "tests/a.py::test[\xff]", .markers = markers,
        };
        PatternResult known = pattern_evaluate(p, &c);
        if (known == PATTERN_UNKNOWN)
                abort();
        c.name = NULL;
        c.markers = NULL;
        (void) pattern_evaluate(p, &c);
        (void) pattern_evaluate(p, &PATTERN_CASE_UNKNOWN);
        return 0;
}
