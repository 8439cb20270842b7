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
