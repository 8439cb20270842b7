/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* All return 0 or -EINVAL (malformed) / -ERANGE (out of range).  Surrounding whitespace is not accepted. */
int safe_atou64(const char *s, uint64_t *ret);
int safe_atoi64(const char *s, int64_t *ret);
int safe_atou(const char *s, unsigned *ret);
/* "true"/"false" (also "yes"/"no", "1"/"0", "on"/"off"). */
int parse_boolean(const char *s, bool *ret);
/* A size: a number followed by an optional unit, B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB
 * (powers of 1024), with optional whitespace between; a bare number is bytes. */
int parse_size(const char *s, uint64_t *ret);
