/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <assert.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "layer/layer-digest-cache.h"

/* The file cache/cached-digests.  All integers little-endian:
 *
 *     8 bytes   magic "MAELDGST"
 *     u32       version = 1
 *     u32       number of entries (at most DIGEST_CACHE_MAX_ENTRIES)
 *     entry, repeated:
 *         u64       size
 *         i64       mtime, ns since the epoch
 *         u64       inode
 *         32 bytes  SHA-256 of the data
 *         u8        age: saves in a row that did not use the entry
 *         u16       path length (1 to 4096), then the path (absolute, no NUL)
 *     32 bytes  SHA-256 of everything before it
 *
 * Any deviation (bad magic or version, truncation, trailing bytes, a bad path, a path twice, a wrong
 * checksum) makes the whole file be ignored. */

#define CACHE_MAGIC "MAELDGST"
#define CACHE_VERSION 1
#define CACHE_HEADER_SIZE 16
#define CACHE_ENTRY_FIXED (8 + 8 + 8 + DIGEST_SIZE + 1 + 2)
#define CACHE_MAX_PATH 4096
#define NSEC_PER_SEC INT64_C(1000000000)
/* A file that changes while it is hashed is hashed again, after 10, 20, 40 ms. */
#define DIGEST_HASH_ATTEMPTS 4U
#define DIGEST_HASH_PAUSE_USEC 10000U

typedef struct Entry {
        uint64_t hash;
        uint64_t size;
        int64_t mtime_ns;
        uint64_t ino;
        Digest digest;
        uint8_t age;
        bool used;   /* looked up or hashed by this process */
        bool stable; /* safe to save (see digest_cache_save()) */
        char path[];
} Entry;

struct DigestCache {
        Entry **slots; /* open addressing with linear probing; n_slots is a power of two */
        size_t n_slots, n_entries;
        uint64_t n_hashed;
};

int digest_cache_new(DigestCache **ret) {
        DigestCache *c = calloc(1, sizeof(DigestCache));
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

static void cache_clear(DigestCache *c) {
        for (size_t i = 0; i < c->n_slots; i++)
                free(c->slots[i]);
        c->slots = mfree(c->slots);
        c->n_slots = c->n_entries = 0;
}

DigestCache *digest_cache_free(DigestCache *c) {
        if (!c)
                return NULL;
        cache_clear(c);
        free(c);
        return NULL;
}

size_t digest_cache_size(const DigestCache *c) {
        return c->n_entries;
}

uint64_t digest_cache_n_hashed(const DigestCache *c) {
        return c->n_hashed;
}

/* FNV-1a: paths are the client's own, not chosen by a peer. */
static uint64_t path_hash(const char *s, size_t n) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (size_t i = 0; i < n; i++) {
                h ^= (uint8_t) s[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

/* The slot holding path, or the empty slot where it would go.  The table is never full. */
static size_t find_slot(const DigestCache *c, const char *path, uint64_t hash) {
        size_t mask = c->n_slots - 1;
        for (size_t i = hash & mask;; i = (i + 1) & mask) {
                const Entry *e = c->slots[i];
                if (!e || (e->hash == hash && streq(e->path, path)))
                        return i;
        }
}

static int cache_grow(DigestCache *c) {
        size_t n = c->n_slots ? c->n_slots * 2 : 1024;
        Entry **slots = calloc(n, sizeof(Entry *));
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_slots; i++) {
                Entry *e = c->slots[i];
                if (!e)
                        continue;
                size_t j = e->hash & (n - 1);
                while (slots[j])
                        j = (j + 1) & (n - 1);
                slots[j] = e;
        }
        free(c->slots);
        c->slots = slots;
        c->n_slots = n;
        return 0;
}

/* Finds or creates the entry for path (a new one has only its path and hash set). */
static int cache_entry(DigestCache *c, const char *path, size_t path_len, Entry **ret, bool *ret_new) {
        uint64_t h = path_hash(path, path_len);
        int r;

        if (c->n_slots > 0) {
                size_t i = find_slot(c, path, h);
                if (c->slots[i]) {
                        *ret = c->slots[i];
                        *ret_new = false;
                        return 0;
                }
        }
        if (c->n_entries >= DIGEST_CACHE_MAX_ENTRIES)
                return -E2BIG;
        if ((c->n_entries + 1) * 2 > c->n_slots) {
                r = cache_grow(c);
                if (r < 0)
                        return r;
        }
        Entry *e = calloc(1, sizeof(Entry) + path_len + 1);
        if (!e)
                return -ENOMEM;
        memcpy(e->path, path, path_len);
        e->hash = h;
        c->slots[find_slot(c, e->path, h)] = e;
        c->n_entries++;
        *ret = e;
        *ret_new = true;
        return 0;
}

static int64_t stat_mtime_ns(const struct stat *st) {
        return (int64_t) st->st_mtim.tv_sec * NSEC_PER_SEC + st->st_mtim.tv_nsec;
}

static bool entry_valid_for(const Entry *e, const struct stat *st) {
        return e->size == (uint64_t) st->st_size && e->mtime_ns == stat_mtime_ns(st) &&
                e->ino == (uint64_t) st->st_ino;
}

/* Hash the file at path, which must stay the same size and mtime while it is read: a file being written (an
 * editor's save in place, a build) is read again after a pause, a few times, before -EBUSY.  *ret_st: what
 * fstat() said of it; *ret_now: the time the hashing started. */
static int hash_unchanged(const char *path, struct stat *ret_st, struct timespec *ret_now, Digest *ret) {
        for (unsigned attempt = 1;; attempt++) {
                struct stat before, after;
                uint64_t size;
                int r;

                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return -errno;
                if (fstat(fd, &before) < 0)
                        return -errno;
                if (!S_ISREG(before.st_mode))
                        return S_ISDIR(before.st_mode) ? -EISDIR : -EINVAL;
                if (clock_gettime(CLOCK_REALTIME, ret_now) < 0)
                        return -errno;
                r = digest_fd(fd, ret, &size);
                if (r < 0)
                        return r;
                if (fstat(fd, &after) < 0)
                        return -errno;
                if (size == (uint64_t) before.st_size && after.st_size == before.st_size &&
                    stat_mtime_ns(&after) == stat_mtime_ns(&before)) {
                        *ret_st = before;
                        return 0;
                }
                if (attempt == DIGEST_HASH_ATTEMPTS)
                        return -EBUSY;
                (void) usleep(DIGEST_HASH_PAUSE_USEC << (attempt - 1));
        }
}

int digest_cache_get(DigestCache *c, const char *path, struct stat *st, Digest *ret) {
        struct stat before;
        struct timespec now;
        Digest d;
        Entry *e;
        bool is_new;
        int r;

        size_t l = strlen(path);
        if (path[0] != '/' || l > CACHE_MAX_PATH)
                return -EINVAL;
        if (c->n_slots > 0) {
                e = c->slots[find_slot(c, path, path_hash(path, l))];
                if (e && entry_valid_for(e, st)) {
                        e->used = true;
                        *ret = e->digest;
                        return 0;
                }
        }

        r = hash_unchanged(path, &before, &now, &d);
        if (r < 0)
                return r;
        c->n_hashed++;

        r = cache_entry(c, path, l, &e, &is_new);
        if (r == -E2BIG)
                /* Full: the digest is still right, it is just not remembered. */
                r = 0;
        else if (r >= 0) {
                int64_t now_ns = (int64_t) now.tv_sec * NSEC_PER_SEC + now.tv_nsec;
                e->size = (uint64_t) before.st_size;
                e->mtime_ns = stat_mtime_ns(&before);
                e->ino = (uint64_t) before.st_ino;
                e->digest = d;
                e->age = 0;
                e->used = true;
                e->stable = e->mtime_ns <= now_ns - NSEC_PER_SEC;
        }
        if (r < 0)
                return r;
        *st = before;
        *ret = d;
        return 0;
}

static uint8_t *put_le(uint8_t *p, uint64_t v, size_t n) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (v >> (8 * i));
        return p + n;
}

static uint64_t get_le(const uint8_t *p, size_t n) {
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

static bool entry_saved(const Entry *e) {
        return e->stable && (e->used || e->age < DIGEST_CACHE_MAX_AGE);
}

int digest_cache_save(DigestCache *c, const char *path) {
        size_t size = CACHE_HEADER_SIZE + DIGEST_SIZE, n = 0;

        for (size_t i = 0; i < c->n_slots; i++)
                if (c->slots[i] && entry_saved(c->slots[i])) {
                        size += CACHE_ENTRY_FIXED + strlen(c->slots[i]->path);
                        n++;
                }

        _cleanup_free_ uint8_t *buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        uint8_t *p = buf;
        memcpy(p, CACHE_MAGIC, 8);
        p = put_le(p + 8, CACHE_VERSION, 4);
        p = put_le(p, n, 4);
        for (size_t i = 0; i < c->n_slots; i++) {
                const Entry *e = c->slots[i];
                if (!e || !entry_saved(e))
                        continue;
                size_t l = strlen(e->path);
                p = put_le(p, e->size, 8);
                p = put_le(p, (uint64_t) e->mtime_ns, 8);
                p = put_le(p, e->ino, 8);
                memcpy(p, e->digest.bytes, DIGEST_SIZE);
                p = put_le(p + DIGEST_SIZE, e->used ? 0 : e->age + 1, 1);
                p = put_le(p, l, 2);
                memcpy(p, e->path, l);
                p += l;
        }
        Digest sum;
        digest_buffer(buf, (size_t) (p - buf), &sum);
        memcpy(p, sum.bytes, DIGEST_SIZE);
        p += DIGEST_SIZE;
        assert((size_t) (p - buf) == size);

        return write_file_atomic(path, buf, size, /* mode= */ 0644);
}

static int cache_parse(DigestCache *c, const uint8_t *data, size_t size) {
        Digest sum;
        int r;

        if (size < CACHE_HEADER_SIZE + DIGEST_SIZE || memcmp(data, CACHE_MAGIC, 8) != 0 ||
            get_le(data + 8, 4) != CACHE_VERSION)
                return -EBADMSG;
        size -= DIGEST_SIZE;
        digest_buffer(data, size, &sum);
        if (memcmp(sum.bytes, data + size, DIGEST_SIZE) != 0)
                return -EBADMSG;

        uint64_t n = get_le(data + 12, 4);
        if (n > DIGEST_CACHE_MAX_ENTRIES || n * CACHE_ENTRY_FIXED > size)
                return -EBADMSG;
        const uint8_t *p = data + CACHE_HEADER_SIZE, *end = data + size;
        for (uint64_t i = 0; i < n; i++) {
                Entry *e;
                bool is_new;

                if ((size_t) (end - p) < CACHE_ENTRY_FIXED)
                        return -EBADMSG;
                size_t l = get_le(p + CACHE_ENTRY_FIXED - 2, 2);
                const char *path = (const char *) p + CACHE_ENTRY_FIXED;
                if (l == 0 || l > CACHE_MAX_PATH || (size_t) (end - p) - CACHE_ENTRY_FIXED < l ||
                    path[0] != '/' || memchr(path, 0, l))
                        return -EBADMSG;
                r = cache_entry(c, path, l, &e, &is_new);
                if (r == -E2BIG)
                        return -EBADMSG;
                if (r < 0)
                        return r;
                if (!is_new)
                        return -EBADMSG;
                e->size = get_le(p, 8);
                e->mtime_ns = (int64_t) get_le(p + 8, 8);
                e->ino = get_le(p + 16, 8);
                memcpy(e->digest.bytes, p + 24, DIGEST_SIZE);
                e->age = (uint8_t) get_le(p + 24 + DIGEST_SIZE, 1);
                e->stable = true;
                p += CACHE_ENTRY_FIXED + l;
        }
        return p == end ? 0 : -EBADMSG;
}

int digest_cache_load(DigestCache *c, const char *path) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        if (c->n_entries > 0)
                return -EBUSY;
        r = read_full_file(path, DIGEST_CACHE_MAX_FILE_SIZE, &data, &size);
        if (r == -ENOENT)
                return 0;
        if (r == -E2BIG)
                r = -EBADMSG;
        if (r >= 0)
                r = cache_parse(c, (const uint8_t *) data, size);
        if (r < 0)
                cache_clear(c);
        return r;
}
