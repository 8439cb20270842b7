/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* A hash table from digests to pointers (open addressing; digests are uniformly distributed already). */

#include <stddef.h>

#include "digest/digest.h"

typedef struct DigestMap DigestMap;

/* free_value (may be NULL) is called on each value when the map is freed or an entry replaced. */
int digest_map_new(void (*free_value)(void *), DigestMap **ret);
DigestMap *digest_map_free(DigestMap *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(DigestMap *, digest_map_free);

/* Sets d → value, replacing (and freeing) any previous value.  Returns 1 if d is new, 0 if replaced. */
int digest_map_put(DigestMap *m, const Digest *d, void *value);
void *digest_map_get(const DigestMap *m, const Digest *d);
/* Takes d out of the map and returns its value, which is not freed; NULL if d is absent. */
void *digest_map_remove(DigestMap *m, const Digest *d);
size_t digest_map_size(const DigestMap *m);
