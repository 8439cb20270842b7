/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "cache/cache-internal.h"
#include "cache/cache-tree.h"

/* The index is a journal of fixed-size records appended on every use: replaying it gives each entry's size
 * and the LRU order (the last record of an entry is its last use).  A torn last record is ignored; entries
 * found on disk without a record are measured; records of entries no longer on disk are dropped.  It is
 * rewritten compactly at start-up, at exit, and when it grows past twice the entries.
 *
 * An entry gets a record at most once per INDEX_RECORD_INTERVAL: every job touches its layers twice (a
 * broker or a worker running hundreds of jobs a second would append four records a job, a system call
 * each), and after a crash the replayed order is then right to within that interval.  The order in memory
 * is always exact, and a clean exit rewrites the index in it. */
#define INDEX_MAGIC "MAELCIX1"
#define INDEX_RECORD_INTERVAL USEC_PER_SEC
#define INDEX_MAX_SIZE (UINT64_C(1) << 30)

typedef struct IndexRecord {
        uint8_t kind;
        uint8_t reserved[7];
        uint8_t digest[DIGEST_SIZE];
        uint64_t size;  /* little-endian */
} IndexRecord;
_Static_assert(sizeof(IndexRecord) == 48, "IndexRecord must be packed");

#define BOOT_ID_MAX 64

static const char *const kind_table[_CACHE_ENTRY_KIND_MAX] = {
        [CACHE_BLOB] = "blob",
        [CACHE_LAYER_TAR] = "tar",
        [CACHE_LAYER_MANIFEST] = "manifest",
};

const char *cache_entry_kind_to_string(CacheEntryKind k) {
        if (k < 0 || k >= _CACHE_ENTRY_KIND_MAX)
                return NULL;
        return kind_table[k];
}

CacheEntryKind cache_entry_kind_from_string(const char *s) {
        for (CacheEntryKind k = 0; k < _CACHE_ENTRY_KIND_MAX; k++)
                if (streq_ptr(s, kind_table[k]))
                        return k;
        return _CACHE_ENTRY_KIND_INVALID;
}

void cache_relative_path(CacheEntryKind kind, const Digest *d, char ret[static CACHE_RELATIVE_PATH_MAX]) {
        char hex[DIGEST_HEX_SIZE];

        digest_to_hex(d, hex);
        snprintf(ret, CACHE_RELATIVE_PATH_MAX, "%s/%.2s/%s", cache_entry_kind_to_string(kind), hex, hex);
}

void cache_tmp_name(const char *prefix, char ret[static CACHE_TMP_NAME_MAX]) {
        uint64_t n = 0;

        /* Uniqueness only (creation uses O_EXCL): fall back to the time if getrandom() is not there. */
        if (getrandom(&n, sizeof n, GRND_NONBLOCK) != sizeof n)
                n = (uint64_t) getpid() << 32 ^ (uint64_t) clock();
        snprintf(ret, CACHE_TMP_NAME_MAX, "%s-%016" PRIx64, prefix, n);
}

/* ---- The entry table and the LRU list ---- */

static size_t entry_hash(const Cache *c, CacheEntryKind kind, const Digest *d) {
        uint64_t h;

        memcpy(&h, d->bytes, sizeof h);  /* a SHA-256 is uniform enough */
        return (size_t) (h ^ (uint64_t) kind * UINT64_C(0x9e3779b97f4a7c15)) & (c->n_buckets - 1);
}

CacheEntry *cache_find(const Cache *c, CacheEntryKind kind, const Digest *d) {
        for (CacheEntry *e = c->buckets[entry_hash(c, kind, d)]; e; e = e->hash_next)
                if (e->kind == kind && digest_equal(&e->digest, d))
                        return e;
        return NULL;
}

static void lru_unlink(Cache *c, CacheEntry *e) {
        if (e->older)
                e->older->newer = e->newer;
        else
                c->oldest = e->newer;
        if (e->newer)
                e->newer->older = e->older;
        else
                c->newest = e->older;
        e->older = e->newer = NULL;
}

static void lru_append(Cache *c, CacheEntry *e) {
        e->older = c->newest;
        e->newer = NULL;
        if (c->newest)
                c->newest->newer = e;
        else
                c->oldest = e;
        c->newest = e;
}

static int table_grow(Cache *c) {
        size_t n = c->n_buckets * 2;
        CacheEntry **b = calloc(n, sizeof(CacheEntry *));
        if (!b)
                return -ENOMEM;
        CacheEntry **old = c->buckets;
        size_t n_old = c->n_buckets;
        c->buckets = b;
        c->n_buckets = n;
        for (size_t i = 0; i < n_old; i++)
                for (CacheEntry *e = old[i], *next; e; e = next) {
                        next = e->hash_next;
                        size_t h = entry_hash(c, e->kind, &e->digest);
                        e->hash_next = b[h];
                        b[h] = e;
                }
        free(old);
        return 0;
}

/* A new entry, most recently used. */
static int entry_add(Cache *c, CacheEntryKind kind, const Digest *d, uint64_t size, CacheEntry **ret) {
        int r;

        if (c->n_entries >= c->n_buckets) {
                r = table_grow(c);
                if (r < 0)
                        return r;
        }
        CacheEntry *e = calloc(1, sizeof(CacheEntry));
        if (!e)
                return -ENOMEM;
        *e = (CacheEntry) {
                .cache = c,
                .kind = kind,
                .digest = *d,
                .size = size,
        };
        size_t h = entry_hash(c, kind, d);
        e->hash_next = c->buckets[h];
        c->buckets[h] = e;
        lru_append(c, e);
        c->n_entries++;
        c->bytes += size;
        *ret = e;
        return 0;
}

static void entry_remove(Cache *c, CacheEntry *e) {
        for (CacheEntry **p = &c->buckets[entry_hash(c, e->kind, &e->digest)]; *p; p = &(*p)->hash_next)
                if (*p == e) {
                        *p = e->hash_next;
                        break;
                }
        lru_unlink(c, e);
        c->n_entries--;
        c->bytes -= MIN(e->size, c->bytes);
        free(e);
}

/* ---- The index ---- */

static int write_atomic(Cache *c, const char *name, const void *buf, size_t size, bool sync) {
        char tmp[CACHE_TMP_NAME_MAX];
        int r;

        cache_tmp_name("write", tmp);
        _cleanup_close_ int fd = openat(c->tmp_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        r = loop_write(fd, buf, size);
        if (r >= 0 && sync && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(c->tmp_fd, tmp, c->root_fd, name) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(c->tmp_fd, tmp, 0);
                return r;
        }
        if (sync && fsync(c->root_fd) < 0)
                return -errno;
        return 0;
}

static void index_record(const CacheEntry *e, IndexRecord *ret) {
        *ret = (IndexRecord) {
                .kind = (uint8_t) e->kind,
                .size = htole64(e->size),
        };
        memcpy(ret->digest, e->digest.bytes, DIGEST_SIZE);
}

static int index_rewrite(Cache *c) {
        size_t size = strlen(INDEX_MAGIC) + c->n_entries * sizeof(IndexRecord);
        _cleanup_free_ uint8_t *buf = malloc(size);
        int r;

        if (!buf)
                return -ENOMEM;
        memcpy(buf, INDEX_MAGIC, strlen(INDEX_MAGIC));
        IndexRecord *rec = (IndexRecord *) (buf + strlen(INDEX_MAGIC));
        for (CacheEntry *e = c->oldest; e; e = e->newer)
                index_record(e, rec++);

        r = write_atomic(c, "index", buf, size, /* sync= */ false);
        if (r < 0)
                return r;
        safe_close(c->index_fd);
        c->index_fd = openat(c->root_fd, "index", O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
        if (c->index_fd < 0)
                return -errno;
        c->n_index_records = c->n_entries;
        return 0;
}

/* Marks e as used now.  The index is advisory: failing to write it loses LRU order, nothing else. */
void cache_touch(Cache *c, CacheEntry *e) {
        IndexRecord rec;
        int r;

        lru_unlink(c, e);
        lru_append(c, e);

        if (c->index_fd < 0)
                return;
        usec_t t = now(CLOCK_MONOTONIC);
        if (e->recorded > 0 && t < e->recorded + INDEX_RECORD_INTERVAL)
                return;
        index_record(e, &rec);
        r = loop_write(c->index_fd, &rec, sizeof rec);
        if (r < 0) {
                log_debug_errno(r, "Failed to append to the cache index: %m");
                return;
        }
        e->recorded = t;
        if (++c->n_index_records > 2 * c->n_entries + 1024) {
                r = index_rewrite(c);
                if (r < 0)
                        log_debug_errno(r, "Failed to rewrite the cache index: %m");
        }
}

static int index_load(Cache *c) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        _cleanup_close_ int fd = openat(c->root_fd, "index", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        r = read_full_fd(fd, INDEX_MAX_SIZE, &data, &size);
        if (r == -E2BIG)
                return 0;  /* rebuilt from the disk */
        if (r < 0)
                return r;
        size_t m = strlen(INDEX_MAGIC);
        if (size < m || memcmp(data, INDEX_MAGIC, m) != 0)
                return 0;

        /* A torn last record (a crash while appending) is ignored. */
        for (size_t off = m; off + sizeof(IndexRecord) <= size; off += sizeof(IndexRecord)) {
                IndexRecord rec;
                Digest d;

                memcpy(&rec, data + off, sizeof rec);
                if (rec.kind >= _CACHE_ENTRY_KIND_MAX)
                        continue;
                memcpy(d.bytes, rec.digest, DIGEST_SIZE);
                CacheEntry *e = cache_find(c, rec.kind, &d);
                if (e) {
                        lru_unlink(c, e);
                        lru_append(c, e);
                        continue;
                }
                r = entry_add(c, rec.kind, &d, le64toh(rec.size), &e);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- Start-up ---- */

static int entry_measure(Cache *c, CacheEntryKind kind, int dir_fd, const char *name, uint64_t *ret) {
        struct stat st;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (kind == CACHE_BLOB) {
                if (!S_ISREG(st.st_mode))
                        return -EUCLEAN;
                *ret = (uint64_t) st.st_blocks * 512;
                return 0;
        }
        if (!S_ISDIR(st.st_mode))
                return -EUCLEAN;
        return disk_usage_at(dir_fd, name, /* skip_linked= */ kind == CACHE_LAYER_MANIFEST, ret);
}

static int scan_fanout(Cache *c, CacheEntryKind kind, int dir_fd, const char *fanout) {
        int r;

        _cleanup_(closedirp) DIR *d = NULL;
        r = opendir_at(dir_fd, fanout, &d);
        if (r < 0)
                return r;
        int fd = dirfd(d);
        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                Digest digest;
                CacheEntry *e;
                uint64_t size;

                /* Only names we make: 64 lower-case hex digits in the right fan-out directory. */
                if (strlen(de->d_name) != DIGEST_HEX_SIZE - 1 || !strneq(de->d_name, fanout, 2) ||
                    digest_from_hex(de->d_name, &digest) < 0)
                        continue;
                char hex[DIGEST_HEX_SIZE];
                digest_to_hex(&digest, hex);
                if (!streq(hex, de->d_name))
                        continue;

                e = cache_find(c, kind, &digest);
                if (!e) {
                        r = entry_measure(c, kind, fd, de->d_name, &size);
                        if (r < 0) {
                                log_debug_errno(r, "Ignoring cache entry %s/%s/%s: %m",
                                                cache_entry_kind_to_string(kind), fanout, de->d_name);
                                continue;
                        }
                        r = entry_add(c, kind, &digest, size, &e);
                        if (r < 0)
                                return r;
                }
                e->seen = true;
        }
        return errno > 0 ? -errno : 0;
}

static int scan_kind(Cache *c, CacheEntryKind kind) {
        int r;

        _cleanup_(closedirp) DIR *d = NULL;
        r = opendir_at(c->root_fd, cache_entry_kind_to_string(kind), &d);
        if (r < 0)
                return r;
        int fd = dirfd(d);
        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                if (strlen(de->d_name) != 2 || !isxdigit((unsigned char) de->d_name[0]) ||
                    !isxdigit((unsigned char) de->d_name[1]))
                        continue;
                r = scan_fanout(c, kind, fd, de->d_name);
                if (r < 0)
                        return r;
        }
        return errno > 0 ? -errno : 0;
}

static int cache_load(Cache *c) {
        int r;

        r = index_load(c);
        if (r < 0)
                return r;
        for (CacheEntryKind k = 0; k < _CACHE_ENTRY_KIND_MAX; k++) {
                r = scan_kind(c, k);
                if (r < 0)
                        return r;
        }
        for (CacheEntry *e = c->oldest, *next; e; e = next) {
                next = e->newer;
                if (!e->seen)
                        entry_remove(c, e);
        }
        return index_rewrite(c);
}

static int read_boot_id(char ret[static BOOT_ID_MAX]) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = read_full_file("/proc/sys/kernel/random/boot_id", BOOT_ID_MAX - 1, &s, /* ret_size= */ NULL);
        if (r < 0)
                return r;
        s[strcspn(s, "\n")] = 0;
        strcpy(ret, s);
        return 0;
}

/* Removes every entry: after a crash of the machine, files renamed into place may have lost data that was
 * still in the page cache. */
static int cache_wipe(Cache *c) {
        int r;

        for (CacheEntryKind k = 0; k < _CACHE_ENTRY_KIND_MAX; k++) {
                char tmp[CACHE_TMP_NAME_MAX];
                cache_tmp_name("wipe", tmp);
                if (renameat(c->root_fd, cache_entry_kind_to_string(k), c->tmp_fd, tmp) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return -errno;
                }
                r = rm_rf_at(c->tmp_fd, tmp);
                if (r < 0)
                        return r;
        }
        if (unlinkat(c->root_fd, "index", 0) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/* root/dirty exists while a Cache is open, and names the boot.  Found at start-up with another boot's id,
 * it means that the machine went down with the cache open; with the same id, only the process did (kill
 * -9), and everything renamed into place is complete. */
static int cache_check_clean(Cache *c) {
        char boot_id[BOOT_ID_MAX] = "";
        _cleanup_free_ char *dirty = NULL;
        int r;

        r = read_boot_id(boot_id);
        if (r < 0)
                log_debug_errno(r, "Failed to read the boot id, assuming another boot: %m");

        _cleanup_close_ int fd = openat(c->root_fd, "dirty", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
                r = read_full_fd(fd, BOOT_ID_MAX, &dirty, /* ret_size= */ NULL);
                if (r < 0 && r != -E2BIG)
                        return r;
                if (r < 0 || isempty(boot_id) || !streq(dirty, boot_id)) {
                        log_debug("Cache %s was not closed before a reboot, emptying it.", c->root);
                        r = cache_wipe(c);
                        if (r < 0)
                                return r;
                }
        } else if (errno != ENOENT)
                return -errno;

        return write_atomic(c, "dirty", boot_id, strlen(boot_id), /* sync= */ true);
}

int cache_new(const char *root, uint64_t size_target, Cache **ret) {
        _cleanup_(cache_freep) Cache *c = NULL;
        int r;

        c = calloc(1, sizeof(Cache));
        if (!c)
                return -ENOMEM;
        *c = (Cache) {
                .root_fd = -EBADF,
                .tmp_fd = -EBADF,
                .lock_fd = -EBADF,
                .index_fd = -EBADF,
                .size_target = size_target,
                .limits = CACHE_LIMITS_DEFAULT,
                .n_buckets = 1024,
        };
        c->buckets = calloc(c->n_buckets, sizeof(CacheEntry *));
        if (!c->buckets)
                return -ENOMEM;

        if (mkdir(root, 0700) < 0 && errno != EEXIST)
                return -errno;
        c->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (c->root_fd < 0)
                return -errno;
        /* Absolute: entry paths are handed to mount(). */
        c->root = realpath(root, NULL);
        if (!c->root)
                return -errno;

        c->lock_fd = openat(c->root_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (c->lock_fd < 0)
                return -errno;
        if (flock(c->lock_fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : -errno;

        /* What an interrupted write or eviction left behind. */
        r = rm_rf_at(c->root_fd, "tmp");
        if (r < 0)
                return r;
        if (mkdirat(c->root_fd, "tmp", 0700) < 0)
                return -errno;
        c->tmp_fd = openat(c->root_fd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (c->tmp_fd < 0)
                return -errno;

        r = cache_check_clean(c);
        if (r < 0)
                return r;

        for (CacheEntryKind k = 0; k < _CACHE_ENTRY_KIND_MAX; k++)
                if (mkdirat(c->root_fd, cache_entry_kind_to_string(k), 0700) < 0 && errno != EEXIST)
                        return -errno;

        r = cache_load(c);
        if (r < 0)
                return r;
        r = cache_trim(c, c->size_target);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

Cache *cache_free(Cache *c) {
        int r;

        if (!c)
                return NULL;

        if (c->index_fd >= 0) {
                /* A clean close: the index in LRU order, everything on disk, then no more dirty marker. */
                r = index_rewrite(c);
                if (r < 0)
                        log_debug_errno(r, "Failed to write the cache index: %m");
                if (syncfs(c->root_fd) < 0)
                        log_debug_errno(errno, "Failed to sync the cache: %m");
                else if (unlinkat(c->root_fd, "dirty", 0) < 0 || fsync(c->root_fd) < 0)
                        log_debug_errno(errno, "Failed to mark the cache clean: %m");
        }

        for (CacheEntry *e = c->oldest, *next; e; e = next) {
                next = e->newer;
                free(e);
        }
        free(c->buckets);
        safe_close(c->index_fd);
        safe_close(c->tmp_fd);
        safe_close(c->lock_fd);
        safe_close(c->root_fd);
        free(c->root);
        return mfree(c);
}

void cache_set_limits(Cache *c, const CacheLimits *limits) {
        c->limits = *limits;
}

int cache_set_size_target(Cache *c, uint64_t size_target) {
        c->size_target = size_target;
        return cache_trim(c, size_target);
}

uint64_t cache_get_bytes(const Cache *c) {
        return c->bytes;
}

size_t cache_get_n_entries(const Cache *c) {
        return c->n_entries;
}

/* ---- Eviction ---- */

/* Returns 0 if evicted, 1 if kept because removing it would free nothing. */
static int cache_evict(Cache *c, CacheEntry *e) {
        char path[CACHE_RELATIVE_PATH_MAX], tmp[CACHE_TMP_NAME_MAX];
        int r;

        cache_relative_path(e->kind, &e->digest, path);
        if (e->kind == CACHE_BLOB) {
                struct stat st;
                if (fstatat(c->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT)
                                return -errno;
                } else if (st.st_nlink > 1)
                        return 1;  /* hard-linked into layer directories */
                else if (unlinkat(c->root_fd, path, 0) < 0 && errno != ENOENT)
                        return -errno;
        } else {
                /* Out of sight first, in one step: a crash while deleting leaves no half directory in
                 * place. */
                cache_tmp_name("evict", tmp);
                if (renameat(c->root_fd, path, c->tmp_fd, tmp) < 0) {
                        if (errno != ENOENT)
                                return -errno;
                } else {
                        r = rm_rf_at(c->tmp_fd, tmp);
                        if (r < 0)
                                log_debug_errno(r, "Failed to remove evicted %s: %m", path);
                }
        }
        log_debug("Evicted %s (%" PRIu64 " bytes).", path, e->size);
        entry_remove(c, e);
        return 0;
}

/* A target of 0 also removes the entries that use no blocks (empty blobs, inline data). */
static bool cache_over(const Cache *c, uint64_t target) {
        return target == 0 ? c->n_entries > 0 : c->bytes > target;
}

int cache_trim(Cache *c, uint64_t target) {
        int ret = 0;

        /* Evicting a layer can make the blobs it linked removable: go round again while that helps. */
        for (bool progress = true; progress && cache_over(c, target);) {
                progress = false;
                for (CacheEntry *e = c->oldest, *next; e && cache_over(c, target); e = next) {
                        next = e->newer;
                        if (e->n_pins > 0)
                                continue;
                        bool layer = e->kind != CACHE_BLOB;
                        int r = cache_evict(c, e);
                        if (r < 0) {
                                log_debug_errno(r, "Failed to evict a cache entry, keeping it: %m");
                                if (ret == 0)
                                        ret = r;
                        } else if (r == 0 && layer)
                                progress = true;
                }
        }
        return ret;
}

/* ---- Entries ---- */

void cache_pin(CacheEntry *e) {
        e->n_pins++;
}

void cache_unpin(CacheEntry *e) {
        Cache *c = e->cache;

        assert(e->n_pins > 0);
        /* The end of a use is a use: a job's layers stay the most recent. */
        cache_touch(c, e);
        if (--e->n_pins == 0 && cache_over(c, c->size_target))
                (void) cache_trim(c, c->size_target);
}

CacheEntryKind cache_entry_kind(const CacheEntry *e) {
        return e->kind;
}

const Digest *cache_entry_digest(const CacheEntry *e) {
        return &e->digest;
}

uint64_t cache_entry_size(const CacheEntry *e) {
        return e->size;
}

int cache_entry_path(const CacheEntry *e, char **ret) {
        char path[CACHE_RELATIVE_PATH_MAX];

        cache_relative_path(e->kind, &e->digest, path);
        char *p = strjoin(e->cache->root, "/", path);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

void cache_use(Cache *c, CacheEntry *e, CacheEntry **ret) {
        cache_touch(c, e);
        if (ret) {
                cache_pin(e);
                *ret = e;
        }
}

int cache_get(Cache *c, CacheEntryKind kind, const Digest *d, CacheEntry **ret) {
        CacheEntry *e = cache_find(c, kind, d);
        if (!e)
                return -ENOENT;
        cache_use(c, e, ret);
        return 0;
}

int cache_commit(Cache *c, CacheEntryKind kind, const Digest *d, const char *tmp, uint64_t size,
                 CacheEntry **ret) {
        char path[CACHE_RELATIVE_PATH_MAX];
        CacheEntry *e;
        int r;

        cache_relative_path(kind, d, path);
        for (unsigned attempt = 0;; attempt++) {
                if (renameat2(c->tmp_fd, tmp, c->root_fd, path, RENAME_NOREPLACE) >= 0)
                        break;
                if (errno == EINVAL) {
                        /* A file system without RENAME_NOREPLACE: we are the only writer, so check first. */
                        if (faccessat(c->root_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                                errno = EEXIST;
                        else if (errno == ENOENT && renameat(c->tmp_fd, tmp, c->root_fd, path) >= 0)
                                break;
                }
                if (errno == ENOENT && attempt == 0) {
                        /* The fan-out directory: "blob/ab". */
                        char *slash = strrchr(path, '/');
                        *slash = 0;
                        r = mkdirat(c->root_fd, path, 0700);
                        *slash = '/';
                        if (r < 0 && errno != EEXIST)
                                return -errno;
                        continue;
                }
                if (errno != EEXIST)
                        return -errno;
                /* Already there: complete, since only finished entries are renamed into place. */
                (void) rm_rf_at(c->tmp_fd, tmp);
                e = cache_find(c, kind, d);
                if (e) {
                        cache_use(c, e, ret);
                        return 0;
                }
                r = entry_measure(c, kind, c->root_fd, path, &size);
                if (r < 0)
                        return r;
                break;
        }

        r = entry_add(c, kind, d, size, &e);
        if (r < 0)
                return r;
        cache_use(c, e, ret);
        (void) cache_trim(c, c->size_target);
        return 0;
}

