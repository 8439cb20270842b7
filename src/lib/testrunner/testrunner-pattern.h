/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The test filter pattern language of the test runners (spec/04-test-runners.md, "Test filter patterns").
 *
 *   pattern_parse(PATTERN_SYNTAX_CARGO, "name.starts_with(io::) - package.equals(slow)", &p, &err);
 *   PatternResult r = pattern_evaluate(p, &(PatternCase) { .name = "io::read", .package = "core", ... });
 *
 * Grammar, loosest first:
 *
 *   pattern  = ws* or ws*                      (leading/trailing whitespace is trimmed)
 *   or       = and { ("|" | "||" | ws+ "or" ws+) and }
 *   and      = not { ("&" | "&&" | "+" | ws+ "and" ws+ | "\" | "-" | ws+ "minus" ws+) not }
 *   not      = ("!" | "~") not | "not" ws+ not | simple
 *   simple   = "(" ws* or ws* ")" | SELECTOR "." MATCHER DELIMITED | SIMPLE-SELECTOR ["()"]
 *
 * Symbol operators take optional whitespace around them.  And and difference ("A - B" = "A && !B") share one
 * level and associate to the left.  Keywords may be abbreviated down to a minimum prefix (see the spec's
 * table); a word shorter than that, or a prefix of several keywords, is an error.  A matcher argument is
 * enclosed in (), [], {}, <> or //; the same bracket nests in balanced pairs inside it; there are no
 * escapes.
 *
 * Evaluation is three-valued: a selector whose field is unknown (NULL) yields PATTERN_UNKNOWN, and unknown
 * propagates except through "false && x" (false) and "true || x" (true). */

#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"

typedef struct Pattern Pattern;

/* Which runner's selectors the pattern may use. */
typedef enum PatternSyntax {
        PATTERN_SYNTAX_CARGO,
        PATTERN_SYNTAX_GO,
        PATTERN_SYNTAX_PYTEST,
        _PATTERN_SYNTAX_MAX,
        _PATTERN_SYNTAX_INVALID = -EINVAL,
} PatternSyntax;

const char *pattern_syntax_to_string(PatternSyntax s);
PatternSyntax pattern_syntax_from_string(const char *s);

/* The kind of cargo target a test case lives in. */
typedef enum CargoTargetKind {
        CARGO_TARGET_LIBRARY,
        CARGO_TARGET_BINARY,
        CARGO_TARGET_TEST,
        CARGO_TARGET_EXAMPLE,
        CARGO_TARGET_BENCHMARK,
        _CARGO_TARGET_KIND_MAX,
        _CARGO_TARGET_KIND_INVALID = -EINVAL, /* in a PatternCase: unknown */
} CargoTargetKind;

/* "library", "binary", "test", "example", "benchmark". */
const char *cargo_target_kind_to_string(CargoTargetKind k);
CargoTargetKind cargo_target_kind_from_string(const char *s);

typedef enum PatternResult {
        PATTERN_FALSE,
        PATTERN_TRUE,
        PATTERN_UNKNOWN,
        _PATTERN_RESULT_MAX,
        _PATTERN_RESULT_INVALID = -EINVAL,
} PatternResult;

/* "false", "true", "unknown". */
const char *pattern_result_to_string(PatternResult r);
PatternResult pattern_result_from_string(const char *s);

/* What a pattern is evaluated against.  Every string (and markers) may be NULL: not known yet (before the
 * binary is built or the case is listed).  Only the fields of the pattern's syntax are looked at:
 *   cargo:  name, package, kind, target (the name of the cargo target: binary, test, example, ...)
 *   go:     name, package_import_path, package_path (import path minus the module path, "" at the module
 *           root), package_name (the package clause)
 *   pytest: name, file, package, node_id, markers (NULL-terminated; "markers.contains(X)" is true iff X is
 *           exactly one of them) */
typedef struct PatternCase {
        const char *name;
        const char *package;
        CargoTargetKind kind;
        const char *target;
        const char *package_import_path;
        const char *package_path;
        const char *package_name;
        const char *file;
        const char *node_id;
        char *const *markers;
} PatternCase;

/* An all-unknown case: start from this and fill in what is known. */
#define PATTERN_CASE_UNKNOWN ((PatternCase) { .kind = _CARGO_TARGET_KIND_INVALID })

/* A pattern longer than this is refused (-E2BIG); parentheses and "not" nest at most PATTERN_DEPTH_MAX
 * deep. */
#define PATTERN_LENGTH_MAX (64U * 1024U)
#define PATTERN_DEPTH_MAX 128U

#define PATTERN_ERROR_MESSAGE_MAX 256U

/* Why a pattern was refused.  message reads "expected ... at column N" and column is that N: the 1-based
 * position, in characters, of the offending place in the pattern.  pattern is the text that failed (borrowed
 * from the caller; pattern_filter_new() sets it to the failing list item). */
typedef struct PatternError {
        unsigned column;
        char message[PATTERN_ERROR_MESSAGE_MAX];
        const char *pattern;
} PatternError;

/* Compiles text.  Returns 0 and *ret, or -EINVAL (the text is not a valid pattern for that syntax: *reterr
 * says where and why), -E2BIG (longer than PATTERN_LENGTH_MAX or nested deeper than PATTERN_DEPTH_MAX; also
 * described in *reterr; so is a glob whose braces expand to too many alternatives), -ENOMEM.  reterr may be
 * NULL.  Selectors per syntax (minimum abbreviation in brackets):
 *   all: all(al) any(an) true(tr), none(n) false(f), each optionally followed by "()"
 *   cargo: library(l) binary(bi) benchmark(be) example(e) test(te) as simple selectors; name(n) package(p)
 *          binary(bi) benchmark(be) example(e) test(te) with a matcher
 *   go: name(n) package_import_path(p: any prefix up to "package_i") package_path(package_p)
 *       package_name(package_n)
 *   pytest: name(na) file(f) package(p) node_id(no), and markers (never abbreviated; only "contains", which
 *           may be abbreviated like any matcher)
 *   matchers: equals(eq) contains(c) starts_with(s) ends_with(en) matches(m: PCRE2, searched anywhere)
 *             globs(g: the whole name, see testrunner-glob.h) */
int pattern_parse(PatternSyntax syntax, const char *text, Pattern **ret, PatternError *reterr);

/* Combines the -i and -x lists (NULL-terminated, either may be NULL) of a runner into one pattern:
 * (i1 || i2 || ...) && !(x1 || x2 || ...), where an empty include list means "all".  Fails like
 * pattern_parse() on the first bad item, with reterr->pattern pointing at it. */
int pattern_filter_new(
                PatternSyntax syntax,
                char *const *include,
                char *const *exclude,
                Pattern **ret,
                PatternError *reterr);

Pattern *pattern_free(Pattern *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Pattern *, pattern_free);

PatternSyntax pattern_get_syntax(const Pattern *p);

/* Evaluates p against c (three-valued, see above). */
PatternResult pattern_evaluate(const Pattern *p, const PatternCase *c);
