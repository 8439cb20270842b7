/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The client's cache of file digests, so that an unchanged file is not hashed again: SHA-256 by path, valid
 * while the file's size, mtime (in ns) and inode stay the same.  In memory a hash table on the path; on disk
 * the project's cache/cached-digests (the format is described in layer-digest-cache.c). */

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "basic/macro.h"
#include "digest/digest.h"

#define DIGEST_CACHE_MAX_ENTRIES 4000000U
#define DIGEST_CACHE_MAX_FILE_SIZE (1024U * 1024U * 1024U)
/* An entry not used by this many saves in a row is dropped, so the file does not grow without bound. */
#define DIGEST_CACHE_MAX_AGE 8

typedef struct DigestCache DigestCache;

int digest_cache_new(DigestCache **ret);
DigestCache *digest_cache_free(DigestCache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(DigestCache *, digest_cache_free);

/* Into a cache that is still empty (-EBUSY otherwise).  A missing file is not an error (returns 0).  A
 * corrupt or unreadable file leaves the cache empty and usable, and returns -EBADMSG (or the read error),
 * for the caller to warn and go on. */
int digest_cache_load(DigestCache *c, const char *path);
/* Written atomically (a temporary file, then rename).  Entries for files modified less than a second before
 * they were hashed are not saved: a change within the same timestamp tick would go unnoticed. */
int digest_cache_save(DigestCache *c, const char *path);

/* The SHA-256 of the file at path, which must be absolute (-EINVAL otherwise).  st is what stat() (following
 * symlinks, as the hash does) said about it.  On a cache miss the file is hashed, and *st is refreshed from
 * the opened file, so that the size and mtime the caller records match the data hashed.  A file that changes
 * while it is hashed is hashed again, a few times, with pauses (about 70 ms in all): -EBUSY if it kept
 * changing. */
int digest_cache_get(DigestCache *c, const char *path, struct stat *st, Digest *ret);

size_t digest_cache_size(const DigestCache *c);
/* How many files this cache has hashed since it was created. */
uint64_t digest_cache_n_hashed(const DigestCache *c);
