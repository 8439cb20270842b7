/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The little UTF-8 the pattern language needs: characters for "?" and classes, columns for errors. */

#include <stddef.h>
#include <stdint.h>

/* Decodes the character at s (n > 0 bytes available) into *ret and returns its length in bytes.  A byte
 * that does not start a valid sequence stands for itself, as 0x110000 + byte, so that it never equals a
 * real character. */
size_t utf8_decode(const char *s, size_t n, uint32_t *ret);

/* The 1-based column, in characters, of byte offset pos in s. */
unsigned utf8_column(const char *s, size_t pos);

/* The columns character c takes on a terminal: 2 for wide (East Asian wide and fullwidth characters,
 * most emoji), 1 for everything else.  Combining characters count as 1 too: overestimating a width is
 * harmless where the width is a limit.  Meant for text without control characters. */
unsigned utf8_char_columns(uint32_t c);

/* The length in bytes of the longest prefix of the n bytes at s that takes at most max_columns columns
 * (never splitting a character); the columns it takes go to *ret_columns when that is not NULL. */
size_t utf8_prefix_columns(const char *s, size_t n, size_t max_columns, size_t *ret_columns);
