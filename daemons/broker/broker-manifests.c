/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "broker-manifests.h"
#include "digest/digest-map.h"
#include "manifest/manifest.h"

struct BrokerManifest {
        Digest digest;
        Digest *files;           /* the file blobs, in the manifest's order (a blob may repeat) */
        uint64_t *sizes;         /* their sizes, as the manifest gives them */
        bool *checked;           /* the blob's size was found right once: it cannot change */
        CacheEntry **pins;       /* while in use: the pinned blob, or NULL while it is missing */
        size_t n_files, n_missing;
        unsigned n_users;
        bool broken;             /* a file blob is wrong, or could not be checked */
        char *error;             /* what is wrong (NULL if out of memory) */
        bool incomplete;         /* in the table's incomplete list */
        BrokerManifest *prev, *next; /* in the idle list (no users) or the incomplete list */
};

struct ManifestTable {
        Cache *cache;
        DigestMap *by_digest;    /* → BrokerManifest, in use or idle */
        BrokerManifest *idle_first, *idle_last; /* least recently used first */
        size_t n_idle;
        BrokerManifest *incomplete; /* in use, with missing file blobs */
};

static BrokerManifest *broker_manifest_free(BrokerManifest *bm) {
        if (!bm)
                return NULL;
        assert(bm->n_users == 0);
        free(bm->files);
        free(bm->sizes);
        free(bm->checked);
        free(bm->pins);
        free(bm->error);
        free(bm);
        return NULL;
}

static void idle_unlink(ManifestTable *t, BrokerManifest *bm) {
        if (bm->prev)
                bm->prev->next = bm->next;
        else
                t->idle_first = bm->next;
        if (bm->next)
                bm->next->prev = bm->prev;
        else
                t->idle_last = bm->prev;
        bm->prev = bm->next = NULL;
        t->n_idle--;
}

static void idle_append(ManifestTable *t, BrokerManifest *bm) {
        bm->prev = t->idle_last;
        bm->next = NULL;
        if (t->idle_last)
                t->idle_last->next = bm;
        else
                t->idle_first = bm;
        t->idle_last = bm;
        t->n_idle++;
}

static void incomplete_set(ManifestTable *t, BrokerManifest *bm, bool incomplete) {
        if (bm->incomplete == incomplete)
                return;
        bm->incomplete = incomplete;
        if (incomplete) {
                bm->prev = NULL;
                bm->next = t->incomplete;
                if (t->incomplete)
                        t->incomplete->prev = bm;
                t->incomplete = bm;
                return;
        }
        if (bm->prev)
                bm->prev->next = bm->next;
        else
                t->incomplete = bm->next;
        if (bm->next)
                bm->next->prev = bm->prev;
        bm->prev = bm->next = NULL;
}

/* Forgets bm, which has no users. */
static void table_drop(ManifestTable *t, BrokerManifest *bm) {
        idle_unlink(t, bm);
        (void) digest_map_remove(t->by_digest, &bm->digest);
        broker_manifest_free(bm);
}

int manifest_table_new(Cache *cache, ManifestTable **ret) {
        ManifestTable *t = calloc(1, sizeof(ManifestTable));
        int r;

        if (!t)
                return -ENOMEM;
        t->cache = cache;
        r = digest_map_new(/* free_value= */ NULL, &t->by_digest);
        if (r < 0) {
                free(t);
                return r;
        }
        *ret = t;
        return 0;
}

ManifestTable *manifest_table_free(ManifestTable *t) {
        if (!t)
                return NULL;
        assert(!t->incomplete);
        while (t->idle_first)
                table_drop(t, t->idle_first);
        assert(digest_map_size(t->by_digest) == 0);
        digest_map_free(t->by_digest);
        free(t);
        return NULL;
}

size_t manifest_table_size(const ManifestTable *t) {
        return digest_map_size(t->by_digest);
}

bool broker_manifest_complete(const BrokerManifest *bm) {
        return bm->n_users > 0 && !bm->broken && bm->n_missing == 0;
}

const char *broker_manifest_error(const BrokerManifest *bm) {
        if (!bm->broken)
                return NULL;
        return bm->error ?: "manifest: a file blob is wrong";
}

/* Sets *ret (if ret is not NULL), freeing what it held; NULL if out of memory. */
static void set_message(char **ret, const char *format, ...) _printf_(2, 3);
static void set_message(char **ret, const char *format, ...) {
        va_list ap;

        if (!ret)
                return;
        free(*ret);
        va_start(ap, format);
        if (vasprintf(ret, format, ap) < 0)
                *ret = NULL;
        va_end(ap);
}

/* Reads and parses the manifest blob d, and adds it to the table, idle. */
static int manifest_load(ManifestTable *t, const Digest *d, BrokerManifest **ret, char **reterr_message) {
        _cleanup_(manifest_freep) Manifest *manifest = NULL;
        _cleanup_free_ char *data = NULL;
        _cleanup_close_ int fd = -EBADF;
        char hex[DIGEST_HEX_SIZE];
        BrokerManifest *bm;
        size_t size, n = 0;
        int r;

        digest_to_hex(d, hex);
        r = cache_open_blob(t->cache, d, &fd);
        if (r >= 0)
                r = read_full_fd(fd, BROKER_MAX_MANIFEST_SIZE, &data, &size);
        if (r == -E2BIG)
                set_message(reterr_message, "manifest %s: larger than %zu bytes", hex,
                            BROKER_MAX_MANIFEST_SIZE);
        else if (r < 0)
                set_message(reterr_message, "manifest %s: cannot read its blob: %s", hex, strerror(-r));
        if (r < 0)
                return r;
        r = manifest_parse(data, size, &manifest);
        if (r < 0) {
                set_message(reterr_message, "manifest %s: malformed", hex);
                return r;
        }

        for (size_t i = 0; i < manifest->n_entries; i++)
                if (manifest->entries[i].type == MANIFEST_FILE)
                        n++;
        bm = calloc(1, sizeof(BrokerManifest));
        if (!bm)
                return -ENOMEM;
        bm->digest = *d;
        bm->files = calloc(n ?: 1, sizeof(Digest));
        bm->sizes = calloc(n ?: 1, sizeof(uint64_t));
        bm->checked = calloc(n ?: 1, sizeof(bool));
        bm->pins = calloc(n ?: 1, sizeof(CacheEntry *));
        if (!bm->files || !bm->sizes || !bm->checked || !bm->pins) {
                broker_manifest_free(bm);
                return -ENOMEM;
        }
        for (size_t i = 0; i < manifest->n_entries; i++) {
                const ManifestEntry *e = &manifest->entries[i];
                if (e->type != MANIFEST_FILE)
                        continue;
                bm->files[bm->n_files] = e->digest;
                bm->sizes[bm->n_files++] = e->size;
        }
        r = digest_map_put(t->by_digest, d, bm);
        if (r < 0) {
                broker_manifest_free(bm);
                return r;
        }
        idle_append(t, bm);
        *ret = bm;
        return 0;
}

/* Pins file blob i if the cache has it: 1 if pinned, 0 if missing, <0 (with bm->error set) if it cannot be
 * checked or has another size than the manifest says. */
static int manifest_pin_file(ManifestTable *t, BrokerManifest *bm, size_t i) {
        char hex[DIGEST_HEX_SIZE], blob_hex[DIGEST_HEX_SIZE];
        _cleanup_free_ char *path = NULL;
        CacheEntry *e;
        struct stat st;
        int r;

        assert(!bm->pins[i]);
        if (cache_get(t->cache, CACHE_BLOB, &bm->files[i], &e) < 0)
                return 0;
        if (!bm->checked[i]) {
                r = cache_entry_path(e, &path);
                if (r >= 0)
                        r = RET_NERRNO(stat(path, &st));
                digest_to_hex(&bm->digest, hex);
                digest_to_hex(&bm->files[i], blob_hex);
                if (r >= 0 && (uint64_t) st.st_size != bm->sizes[i]) {
                        r = -EBADMSG;
                        set_message(&bm->error, "manifest %s: file blob %s has %" PRIu64 " bytes, "
                                    "the manifest says %" PRIu64,
                                    hex, blob_hex, (uint64_t) st.st_size, bm->sizes[i]);
                } else if (r < 0)
                        set_message(&bm->error, "manifest %s: cannot check file blob %s: %s", hex, blob_hex,
                                    strerror(-r));
                if (r < 0) {
                        cache_unpin(e);
                        bm->broken = true;
                        return r;
                }
                bm->checked[i] = true;
        }
        bm->pins[i] = e;
        return 1;
}

static void manifest_unpin_all(BrokerManifest *bm) {
        for (size_t i = 0; i < bm->n_files; i++)
                if (bm->pins[i]) {
                        cache_unpin(bm->pins[i]);
                        bm->pins[i] = NULL;
                }
}

int manifest_table_acquire(ManifestTable *t, const Digest *d, BrokerManifest **ret, char **reterr_message) {
        BrokerManifest *bm = digest_map_get(t->by_digest, d);
        int r;

        if (!bm) {
                r = manifest_load(t, d, &bm, reterr_message);
                if (r < 0)
                        return r;
        }
        if (bm->n_users == 0) {
                idle_unlink(t, bm);
                bm->n_missing = 0;
                for (size_t i = 0; i < bm->n_files && !bm->broken; i++) {
                        r = manifest_pin_file(t, bm, i);
                        if (r == 0)
                                bm->n_missing++;
                }
                if (bm->broken) {
                        /* Not kept: a failure to check may be passing. */
                        set_message(reterr_message, "%s", broker_manifest_error(bm));
                        manifest_unpin_all(bm);
                        (void) digest_map_remove(t->by_digest, &bm->digest);
                        broker_manifest_free(bm);
                        return -EBADMSG;
                }
                incomplete_set(t, bm, bm->n_missing > 0);
        } else if (bm->broken) {
                set_message(reterr_message, "%s", broker_manifest_error(bm));
                return -EBADMSG;
        }
        bm->n_users++;
        *ret = bm;
        return 0;
}

void manifest_table_release(ManifestTable *t, BrokerManifest *bm) {
        assert(bm->n_users > 0);
        if (--bm->n_users > 0)
                return;
        incomplete_set(t, bm, false);
        manifest_unpin_all(bm);
        idle_append(t, bm);
        if (bm->broken)
                table_drop(t, bm);
        while (t->n_idle > BROKER_MAX_IDLE_MANIFESTS)
                table_drop(t, t->idle_first);
}

void manifest_table_blob_stored(ManifestTable *t, const Digest *d) {
        BrokerManifest *next;

        for (BrokerManifest *bm = t->incomplete; bm; bm = next) {
                next = bm->next;
                for (size_t i = 0; i < bm->n_files && !bm->broken; i++) {
                        if (bm->pins[i] || !digest_equal(&bm->files[i], d))
                                continue;
                        if (manifest_pin_file(t, bm, i) > 0)
                                bm->n_missing--;
                }
                if (bm->n_missing == 0 || bm->broken)
                        incomplete_set(t, bm, false);
        }
}
