/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The worker's (and the broker's) cache: a content-addressed store of blobs, and of layer directories
 * materialised from tar and manifest blobs, under one root directory:
 *
 *     root/lock                   flock()ed by the one process that owns the root
 *     root/index                  last-use journal: the LRU order and sizes survive restarts
 *     root/dirty                  present while open; holds the boot id (see cache_new())
 *     root/tmp/                   everything is written here first, then renamed into place
 *     root/blob/ab/abcd...        blobs, read-only files named by the SHA-256 of their data
 *     root/tar/ab/abcd...         a layer directory made from the tar blob abcd...
 *     root/manifest/ab/abcd...    a layer directory made from the manifest blob abcd...
 *
 * An entry is a blob or a layer directory, identified by its kind and digest.  Entries are evicted least
 * recently used first whenever the disk usage is above the size target, except pinned ones.  Every call is
 * synchronous and uses no global state: a child process may run one (materialising a large tar blocks).
 *
 * Layer directories are meant to be lower layers of an overlayfs (or other read-only mounts): files of a
 * manifest layer may be hard links to blobs, which a writable mount of the layer itself would let a job
 * change. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/macro.h"
#include "digest/digest.h"

typedef struct Cache Cache;
typedef struct CacheEntry CacheEntry;
typedef struct CacheBlobWriter CacheBlobWriter;

typedef enum CacheEntryKind {
        CACHE_BLOB,
        CACHE_LAYER_TAR,
        CACHE_LAYER_MANIFEST,
        _CACHE_ENTRY_KIND_MAX,
        _CACHE_ENTRY_KIND_INVALID = -EINVAL,
} CacheEntryKind;

/* "blob", "tar", "manifest": also the names of the directories under the root. */
const char *cache_entry_kind_to_string(CacheEntryKind k);
CacheEntryKind cache_entry_kind_from_string(const char *s);

/* What a peer can make the cache allocate.  -E2BIG when exceeded. */
typedef struct CacheLimits {
        uint64_t max_blob_size;       /* one blob */
        uint64_t max_manifest_size;   /* a manifest blob is read into memory whole */
        uint64_t max_layer_entries;   /* tar members or manifest entries, skipped ones included */
        uint64_t max_layer_bytes;     /* file data of one layer */
        unsigned max_layer_depth;     /* path components */
} CacheLimits;

#define CACHE_LIMITS_DEFAULT                                            \
        ((CacheLimits) {                                                \
                .max_blob_size = UINT64_C(64) << 30,                    \
                .max_manifest_size = UINT64_C(256) << 20,               \
                .max_layer_entries = 1000000,                           \
                .max_layer_bytes = UINT64_C(64) << 30,                  \
                .max_layer_depth = 256,                                 \
        })

/* Opens (creating it if needed, mode 0700) the cache at root.  -EBUSY if another Cache holds it.  Removes
 * what an interrupted write left in root/tmp.  If the cache was not closed cleanly before the machine
 * last rebooted (root/dirty names another boot), its entries may have lost data that was never written
 * back, so they are all removed.  Then evicts down to size_target (bytes of disk usage; 0 = keep nothing
 * unpinned). */
int cache_new(const char *root, uint64_t size_target, Cache **ret);
/* Writes the index, syncs the file system and releases the root.  Entries must not be used afterwards, and
 * blob writers must be freed before. */
Cache *cache_free(Cache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Cache *, cache_free);

void cache_set_limits(Cache *c, const CacheLimits *limits);
/* Evicts at once if needed (SIGHUP reload). */
int cache_set_size_target(Cache *c, uint64_t size_target);
/* Disk usage of all entries, in bytes (CacheBytes).  A file of a manifest layer that is a hard link to a
 * blob counts once, with the blob. */
uint64_t cache_get_bytes(const Cache *c);
size_t cache_get_n_entries(const Cache *c);
/* Evicts least recently used, unpinned entries until the usage is at most target (PruneCache: 0).  A blob
 * that layer directories still link to is kept: removing it would free nothing. */
int cache_trim(Cache *c, uint64_t target);

/* Blobs.  Lookups count as uses. */
bool cache_has_blob(Cache *c, const Digest *d);
/* Returns an fd open for reading; -ENOENT if absent. */
int cache_open_blob(Cache *c, const Digest *d, int *ret_fd);

/* Streamed: the data is checked against the digest and the size at cache_blob_finish(), which gives -EBADMSG
 * (and discards it) on a mismatch, a short or a long stream.  Finishing a blob that is already present
 * succeeds.  -E2BIG for a size above the limit.  cache_blob_writer_free() discards an unfinished blob. */
int cache_blob_begin(Cache *c, const Digest *d, uint64_t size, CacheBlobWriter **ret);
int cache_blob_write(CacheBlobWriter *w, const void *data, size_t size);
/* ret (may be NULL) receives the entry, pinned. */
int cache_blob_finish(CacheBlobWriter *w, CacheEntry **ret);
CacheBlobWriter *cache_blob_writer_free(CacheBlobWriter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(CacheBlobWriter *, cache_blob_writer_free);

/* From a file on this machine (the local worker reads the client's files): cloned (FICLONE) where the
 * file system can, else copied, and checked against d (-EBADMSG). -EINVAL if path is not a regular file.
 * ret (may be NULL) receives the entry, pinned. */
int cache_blob_from_path(Cache *c, const char *path, const Digest *d, CacheEntry **ret);

/* The same in three steps, so that the copy and its hash can run on another thread: begin and finish on the
 * cache's own thread, run on any (it touches only the copy, never the cache).  cache_blob_copy_begin()
 * opens the file and makes the copy's temporary file; *ret is NULL (and ret_entry, which may be NULL, gets
 * the entry, pinned) if the cache has the blob already.  cache_blob_copy_finish() gives what
 * cache_blob_from_path() would; cache_blob_copy_free() discards an unfinished copy. */
typedef struct CacheBlobCopy CacheBlobCopy;
int cache_blob_copy_begin(Cache *c, const char *path, const Digest *d, CacheEntry **ret_entry,
                          CacheBlobCopy **ret);
uint64_t cache_blob_copy_size(const CacheBlobCopy *copy);
void cache_blob_copy_run(CacheBlobCopy *copy);
int cache_blob_copy_finish(CacheBlobCopy *copy, CacheEntry **ret);
CacheBlobCopy *cache_blob_copy_free(CacheBlobCopy *copy);
DEFINE_TRIVIAL_CLEANUP_FUNC(CacheBlobCopy *, cache_blob_copy_free);

/* Why cache_get_layer() failed, beyond the errno: on -ENOENT, the blobs to fetch (the tar or manifest
 * blob itself, or the file blobs that the manifest names); otherwise a message naming the faulty entry,
 * if any. */
typedef struct CacheLayerError {
        Digest *missing;
        size_t n_missing;
        char *message;
        /* On -ENOENT: the blobs of the layer that are there (the manifest blob and the file blobs it names),
         * pinned until cache_layer_error_done(), so that adding the missing ones cannot evict them. */
        CacheEntry **held;
        size_t n_held;
} CacheLayerError;
/* Unpins what e holds (see cache_layer_error_keep()). */
void cache_layer_error_done(CacheLayerError *e);
/* e takes over the pin of entry (a missing blob once it is added): released with the others. */
int cache_layer_error_keep(CacheLayerError *e, CacheEntry *entry);

/* Returns the layer directory of kind CACHE_LAYER_TAR or CACHE_LAYER_MANIFEST made from blob d,
 * materialising it first if needed; pinned. -ENOENT: blobs are missing (listed in reterr); -EBADMSG: the
 * tar or manifest is malformed or unsafe (an absolute path, a ".." component, a write through a symbolic
 * link of the layer, a manifest file whose blob has another size); -E2BIG: above a limit.  Tar device
 * nodes, FIFOs and sockets are skipped. reterr may be NULL. */
int cache_get_layer(Cache *c, CacheEntryKind kind, const Digest *d, CacheEntry **ret,
                    CacheLayerError *reterr);

/* Any entry, pinned; -ENOENT if absent. */
int cache_get(Cache *c, CacheEntryKind kind, const Digest *d, CacheEntry **ret);

/* A pinned entry is never evicted.  Pins are counted.  After the last cache_unpin(), the entry may be
 * evicted at once: do not use it afterwards. */
void cache_pin(CacheEntry *e);
void cache_unpin(CacheEntry *e);

CacheEntryKind cache_entry_kind(const CacheEntry *e);
const Digest *cache_entry_digest(const CacheEntry *e);
/* Disk usage counted for this entry. */
uint64_t cache_entry_size(const CacheEntry *e);
/* Absolute path of the blob file or of the layer directory. */
int cache_entry_path(const CacheEntry *e, char **ret);
