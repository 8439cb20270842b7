/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <assert.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "cache/cache-internal.h"
#include "cache/cache-tree.h"

void cache_layer_error_done(CacheLayerError *e) {
        if (!e)
                return;
        e->missing = mfree(e->missing);
        e->n_missing = 0;
        e->message = mfree(e->message);
        for (size_t i = 0; i < e->n_held; i++)
                cache_unpin(e->held[i]);
        e->held = mfree(e->held);
        e->n_held = 0;
}

int cache_layer_error_keep(CacheLayerError *e, CacheEntry *entry) {
        CacheEntry **held = reallocarray(e->held, e->n_held + 1, sizeof(CacheEntry *));
        if (!held) {
                cache_unpin(entry);
                return -ENOMEM;
        }
        e->held = held;
        e->held[e->n_held++] = entry;
        return 0;
}

static int digest_compare(const void *a, const void *b) {
        return memcmp(a, b, DIGEST_SIZE);
}

/* The file blobs of m that are absent, sorted and without duplicates. */
static int manifest_missing(Cache *c, const Manifest *m, Digest **ret, size_t *ret_n) {
        _cleanup_free_ Digest *missing = NULL;
        size_t n = 0;

        for (size_t i = 0; i < m->n_entries; i++) {
                const ManifestEntry *e = m->entries + i;
                if (e->type != MANIFEST_FILE || cache_find(c, CACHE_BLOB, &e->digest))
                        continue;
                if (!missing) {
                        missing = calloc(m->n_entries, sizeof(Digest));
                        if (!missing)
                                return -ENOMEM;
                }
                missing[n++] = e->digest;
        }
        if (n > 0) {
                qsort(missing, n, sizeof(Digest), digest_compare);
                size_t u = 1;
                for (size_t i = 1; i < n; i++)
                        if (!digest_equal(missing + i, missing + u - 1))
                                missing[u++] = missing[i];
                n = u;
        }
        *ret = TAKE_PTR(missing);
        *ret_n = n;
        return 0;
}

typedef struct PinList {
        CacheEntry **entries;
        size_t n;
} PinList;

/* Without counting a use or evicting: the caller evicts once at the end. */
static void pin_list_done(PinList *p) {
        for (size_t i = 0; i < p->n; i++) {
                assert(p->entries[i]->n_pins > 0);
                p->entries[i]->n_pins--;
        }
        p->entries = mfree(p->entries);
        p->n = 0;
}

static int layer_build(Cache *c, CacheEntryKind kind, CacheEntry *src, int dir_fd, uint64_t *ret_usage,
                       CacheLayerError *err) {
        _cleanup_(manifest_freep) Manifest *m = NULL;
        _cleanup_(pin_list_done) PinList pins = {};
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        _cleanup_close_ int fd = -EBADF;
        r = cache_open_blob(c, &src->digest, &fd);
        if (r < 0)
                return r;
        if (kind == CACHE_LAYER_TAR)
                return layer_extract_tar(fd, dir_fd, &c->limits, ret_usage, &err->message);

        r = read_full_fd(fd, c->limits.max_manifest_size, &data, &size);
        if (r == -E2BIG) {
                err->message = strdup("manifest is larger than the limit");
                return r;
        }
        if (r < 0)
                return r;
        r = manifest_parse(data, size, &m);
        if (r < 0) {
                err->message = strdup("manifest is malformed");
                return r == -ENOMEM ? r : -EBADMSG;
        }
        if (m->n_entries > c->limits.max_layer_entries) {
                err->message = strdup("manifest has more entries than the limit");
                return -E2BIG;
        }

        r = manifest_missing(c, m, &err->missing, &err->n_missing);
        if (r < 0)
                return r;

        /* Held for the build, so that evicting (another process's, some day) cannot take them away; and,
         * when some are missing, until the caller has added those (which may evict). */
        pins.entries = calloc(m->n_entries + 1, sizeof(CacheEntry *));
        if (!pins.entries)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_entries; i++)
                if (m->entries[i].type == MANIFEST_FILE) {
                        CacheEntry *e = cache_find(c, CACHE_BLOB, &m->entries[i].digest);
                        if (!e)
                                continue;
                        cache_pin(e);
                        pins.entries[pins.n++] = e;
                }
        if (err->n_missing > 0) {
                cache_pin(src);
                pins.entries[pins.n++] = src;
                err->held = TAKE_PTR(pins.entries);
                err->n_held = pins.n;
                pins.n = 0;
                return -ENOENT;
        }

        return layer_build_manifest(m, c->root_fd, dir_fd, &c->limits, ret_usage, &err->message);
}

/* Builds the layer in root/tmp and renames it into place. */
static int layer_materialise(Cache *c, CacheEntryKind kind, CacheEntry *src, CacheEntry **ret,
                             CacheLayerError *err) {
        char tmp[CACHE_TMP_NAME_MAX];
        uint64_t usage = 0;
        struct stat st;
        int r;

        cache_tmp_name(cache_entry_kind_to_string(kind), tmp);
        if (mkdirat(c->tmp_fd, tmp, 0755) < 0)
                return -errno;
        _cleanup_close_ int dir_fd = openat(c->tmp_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir_fd < 0 || fchmod(dir_fd, 0755) < 0)  /* whatever the umask; a tar may change it */
                r = -errno;
        else
                r = layer_build(c, kind, src, dir_fd, &usage, err);
        if (r >= 0 && fstat(dir_fd, &st) < 0)
                r = -errno;
        if (r >= 0)
                r = cache_commit(c, kind, &src->digest, tmp, usage + (uint64_t) st.st_blocks * 512, ret);
        if (r < 0)
                (void) rm_rf_at(c->tmp_fd, tmp);
        return r;
}

int cache_get_layer(Cache *c, CacheEntryKind kind, const Digest *d, CacheEntry **ret,
                    CacheLayerError *reterr) {
        _cleanup_(cache_layer_error_done) CacheLayerError err = {};
        CacheEntry *src;
        int r;

        assert(IN_SET(kind, CACHE_LAYER_TAR, CACHE_LAYER_MANIFEST));

        if (cache_get(c, kind, d, ret) >= 0)
                return 0;

        r = cache_get(c, CACHE_BLOB, d, &src);
        if (r == -ENOENT) {
                err.missing = malloc(sizeof(Digest));
                if (!err.missing)
                        return -ENOMEM;
                err.missing[0] = *d;
                err.n_missing = 1;
        } else if (r >= 0) {
                r = layer_materialise(c, kind, src, ret, &err);
                cache_unpin(src);
        }
        if (r < 0 && reterr) {
                *reterr = err;
                err = (CacheLayerError) {};
        }
        return r;
}
