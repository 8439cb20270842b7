/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* Globs for the "globs" matcher of test filter patterns.  A glob matches a whole name:
 *   *  any run of characters, "/" included (so "**" is the same as "*")
 *   ?  any one character, "/" included
 *   [a-f] [!a-f] [^a-f]   one character in (or not in) the set; a "]" right after the opening "[" or "[!"
 *                         is literal, and so is a "-" first or last
 *   {a,b,...}             any of the alternatives (no nesting; at most PATTERN_GLOB_ALTERNATIVES_MAX
 *                         alternatives and PATTERN_GLOB_ITEMS_MAX characters in all once every group is
 *                         expanded)
 *   \c                    the character c itself
 * Characters are UTF-8 code points; a byte that is not valid UTF-8 stands for itself. */

#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"

typedef struct PatternGlob PatternGlob;

#define PATTERN_GLOB_ALTERNATIVES_MAX 1024U
#define PATTERN_GLOB_ITEMS_MAX (1024U * 1024U)

/* Compiles the len bytes at text.  On an invalid glob returns -EINVAL, with *reterr_offset (the byte offset
 * in text of the problem) and *reterr_reason (a static string, "unclosed character class" etc.); -E2BIG when
 * the braces expand to too many alternatives (also with both reterr_); -ENOMEM. */
int pattern_glob_compile(const char *text, size_t len, PatternGlob **ret, size_t *reterr_offset,
                         const char **reterr_reason);
PatternGlob *pattern_glob_free(PatternGlob *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(PatternGlob *, pattern_glob_free);

/* Whether the whole of s matches.  Linear in the glob times the name for each alternative. */
bool pattern_glob_match(const PatternGlob *g, const char *s);
