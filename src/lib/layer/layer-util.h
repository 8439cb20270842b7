/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* Helpers shared by the files of lib/layer: error messages and lexical path operations.  (Prefixed with
 * layer_ so that they cannot clash with general ones lib/basic may grow.) */

#include <stdbool.h>
#include <sys/types.h>

#include "basic/macro.h"

/* Formats a message into *reterr_message (if reterr_message is not NULL; a previous message is freed) and
 * returns -abs(error).  %m expands to strerror(abs(error)). */
_printf_(3, 4) int layer_error(char **reterr_message, int error, const char *format, ...);

/* "a" + "/" + "b", with exactly one slash between them (none added if a is empty). */
char *layer_path_join(const char *a, const char *b);

/* Resolves "." and ".." components and duplicate slashes lexically, without looking at the file system;
 * ".." at the root stays at the root.  The result keeps a leading "/" if path has one; a relative path that
 * collapses to nothing gives ".". */
int layer_path_simplify(const char *path, char **ret);

/* path made absolute against the current directory (lexically simplified), unless already absolute. */
int layer_path_make_absolute(const char *path, char **ret);

/* Iterates over the components of a path: returns the next one (not NUL-terminated; its length in *ret_len)
 * and moves *p past it, or returns NULL at the end.  Empty components are skipped. */
const char *layer_path_next_component(const char **p, size_t *ret_len);

/* Sorts a strv and drops repeated strings, in place. */
void layer_strv_sort_unique(char **l);

