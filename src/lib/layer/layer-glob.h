/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* Brace expansion, and glob patterns over relative paths.
 *
 * Pattern syntax: '/' separates components.  Within one component, '*' matches any run of characters and '?'
 * any one character (both match a leading '.' too), "[...]" a character class ("[a-z]", "[[:digit:]]",
 * negated with "[!...]" or "[^...]"), and '\' makes the next character literal.  A component that is exactly
 * "**" matches any number of whole components, zero included: "**" then "/x" matches x at any depth.  A
 * trailing "**" matches at least one component: "a/" then "**" is everything under a, but not a.  "{a,b}"
 * alternatives may hold '/' and nest.  Empty and "." components are ignored. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/macro.h"

#define BRACE_EXPAND_MAX 4096              /* results of one expansion */
#define BRACE_EXPAND_MAX_BYTES (1U << 20)  /* their total size */

typedef enum BraceFlags {
        BRACE_GLOB = 1 << 0, /* braces inside a "[...]" class are literal */
} BraceFlags;

/* "a{b,c{d,e}}f" gives "abf", "acdf", "acef", in that order.  A group may hold a single alternative or empty
 * ones ("a{,b}" gives "a", "ab").  A backslash escapes the next character and is kept in the output.
 * -EINVAL for an unbalanced brace, -E2BIG past the limits above. */
int brace_expand(const char *s, BraceFlags flags, char ***ret);

typedef struct PathGlob PathGlob;

/* -EINVAL for an unbalanced brace, -E2BIG when the braces expand too far. */
int path_glob_new(const char *pattern, PathGlob **ret);
PathGlob *path_glob_free(PathGlob *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(PathGlob *, path_glob_free);

/* path is relative, components separated by '/'.  Returns 1 on a match, 0 otherwise, or -ENOMEM. */
int path_glob_match(const PathGlob *g, const char *path);

/* Matching one component at a time, for walking a tree: the state after a directory's components says
 * whether anything below it can match, so that a walk does not descend where nothing can. */
typedef struct PathGlobState {
        uint32_t *positions;
        size_t n_positions;
} PathGlobState;

int path_glob_state_start(const PathGlob *g, PathGlobState *ret);
int path_glob_state_step(const PathGlob *g, const PathGlobState *s, const char *name, PathGlobState *ret);
/* A path that ends here matches. */
bool path_glob_state_matches(const PathGlob *g, const PathGlobState *s);
/* A longer path, with at least one more component, could match. */
bool path_glob_state_can_continue(const PathGlob *g, const PathGlobState *s);
void path_glob_state_done(PathGlobState *s);
