/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* Internal to lib/cache: the objects, shared between cache.c (the table, the index, eviction),
 * cache-blob.c and cache-layer.c; and the layer builders, which use no Cache state, only the fds they are
 * given, so that a child process can run them. */

#include <stdbool.h>
#include <stdint.h>

#include "basic/time-util.h"
#include "cache/cache.h"
#include "manifest/manifest.h"

struct CacheEntry {
        Cache *cache;
        CacheEntryKind kind;
        Digest digest;
        uint64_t size;
        unsigned n_pins;
        bool seen;                     /* found on disk (start-up only) */
        usec_t recorded;               /* when its last index record was appended (CLOCK_MONOTONIC), or 0 */
        CacheEntry *older, *newer;     /* the LRU list */
        CacheEntry *hash_next;
};

struct Cache {
        char *root;
        int root_fd, tmp_fd, lock_fd, index_fd;
        uint64_t size_target, bytes;
        CacheLimits limits;
        CacheEntry **buckets;
        size_t n_buckets, n_entries;
        CacheEntry *oldest, *newest;
        uint64_t n_index_records;
};

/* A unique name for something new in root/tmp: "prefix-0123456789abcdef". */
#define CACHE_TMP_NAME_MAX 32
void cache_tmp_name(const char *prefix, char ret[static CACHE_TMP_NAME_MAX]);

CacheEntry *cache_find(const Cache *c, CacheEntryKind kind, const Digest *d);
/* Marks e used now (the LRU list and the index). */
void cache_touch(Cache *c, CacheEntry *e);
/* cache_touch(), and pins e into *ret if ret is not NULL. */
void cache_use(Cache *c, CacheEntry *e, CacheEntry **ret);
/* Renames the finished file or directory tmp (in root/tmp) into place, adds its entry and uses it as
 * above, then evicts as needed.  If the entry is there already, tmp is removed and the existing entry
 * used. */
int cache_commit(Cache *c, CacheEntryKind kind, const Digest *d, const char *tmp, uint64_t size,
                 CacheEntry **ret);

/* "blob/ab/abcd..." (kind, fan-out directory, hex digest), relative to the cache root. */
#define CACHE_RELATIVE_PATH_MAX 96
void cache_relative_path(CacheEntryKind kind, const Digest *d, char ret[static CACHE_RELATIVE_PATH_MAX]);

/* Copies size bytes from src to dst (both at their current offsets): copy_file_range() where possible, else
 * read() and write().  -EBADMSG if src ends early. */
int copy_bytes(int src, int dst, uint64_t size);

/* Extracts the tar (optionally compressed) read from tar_fd into the empty directory dir_fd.  reterr_message
 * names the faulty member. */
int layer_extract_tar(int tar_fd, int dir_fd, const CacheLimits *limits, uint64_t *ret_usage,
                      char **reterr_message);

/* Builds manifest m into the empty directory dir_fd, taking file data from the blobs under the cache root
 * root_fd, which must all be present.  A file is a hard link to its blob when the blob's inode can carry the
 * file's mode and mtime, else a copy.  Its usage excludes the hard links. */
int layer_build_manifest(const Manifest *m, int root_fd, int dir_fd, const CacheLimits *limits,
                         uint64_t *ret_usage, char **reterr_message);
