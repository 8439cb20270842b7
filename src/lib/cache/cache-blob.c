/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <assert.h>
#include <fcntl.h>
#include <stdbool.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "cache/cache-internal.h"

struct CacheBlobWriter {
        Cache *cache;
        Digest digest;
        uint64_t size, written;
        bool overrun;
        int fd;
        char tmp[CACHE_TMP_NAME_MAX];
        DigestContext *context;
};

bool cache_has_blob(Cache *c, const Digest *d) {
        return cache_get(c, CACHE_BLOB, d, /* ret= */ NULL) >= 0;
}

int cache_open_blob(Cache *c, const Digest *d, int *ret_fd) {
        char path[CACHE_RELATIVE_PATH_MAX];

        CacheEntry *e = cache_find(c, CACHE_BLOB, d);
        if (!e)
                return -ENOENT;
        cache_relative_path(CACHE_BLOB, d, path);
        int fd = openat(c->root_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        cache_touch(c, e);
        *ret_fd = fd;
        return 0;
}

static int blob_tmp_create(Cache *c, int flags, char tmp[static CACHE_TMP_NAME_MAX]) {
        cache_tmp_name("blob", tmp);
        /* Read-only from the start: nothing should write a blob once it is in place. */
        int fd = openat(c->tmp_fd, tmp, flags | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
        return fd < 0 ? -errno : fd;
}

int cache_blob_begin(Cache *c, const Digest *d, uint64_t size, CacheBlobWriter **ret) {
        _cleanup_(cache_blob_writer_freep) CacheBlobWriter *w = NULL;
        int r;

        if (size > c->limits.max_blob_size)
                return -E2BIG;
        w = calloc(1, sizeof(CacheBlobWriter));
        if (!w)
                return -ENOMEM;
        *w = (CacheBlobWriter) {
                .cache = c,
                .digest = *d,
                .size = size,
                .fd = -EBADF,
        };
        r = digest_context_new(&w->context);
        if (r < 0)
                return r;
        r = blob_tmp_create(c, O_WRONLY, w->tmp);
        if (r < 0)
                return r;
        w->fd = r;
        *ret = TAKE_PTR(w);
        return 0;
}

int cache_blob_write(CacheBlobWriter *w, const void *data, size_t size) {
        int r;

        if (w->fd < 0)
                return -EBADF;
        if (size > w->size - w->written) {
                /* Longer than announced: the blob can only fail now. */
                w->overrun = true;
                return -EBADMSG;
        }
        r = loop_write(w->fd, data, size);
        if (r < 0)
                return r;
        digest_context_update(w->context, data, size);
        w->written += size;
        return 0;
}

static void blob_writer_discard(CacheBlobWriter *w) {
        if (w->fd < 0)
                return;
        w->fd = safe_close(w->fd);
        (void) unlinkat(w->cache->tmp_fd, w->tmp, 0);
}

int cache_blob_finish(CacheBlobWriter *w, CacheEntry **ret) {
        Digest got;
        struct stat st;

        if (w->fd < 0)
                return -EBADF;
        digest_context_final(w->context, &got);
        if (w->overrun || w->written != w->size || !digest_equal(&got, &w->digest)) {
                blob_writer_discard(w);
                return -EBADMSG;
        }
        if (fstat(w->fd, &st) < 0) {
                int r = -errno;
                blob_writer_discard(w);
                return r;
        }
        w->fd = safe_close(w->fd);
        int r = cache_commit(w->cache, CACHE_BLOB, &w->digest, w->tmp, (uint64_t) st.st_blocks * 512, ret);
        if (r < 0)
                (void) unlinkat(w->cache->tmp_fd, w->tmp, 0);
        return r;
}

CacheBlobWriter *cache_blob_writer_free(CacheBlobWriter *w) {
        if (!w)
                return NULL;
        blob_writer_discard(w);
        digest_context_free(w->context);
        return mfree(w);
}

struct CacheBlobCopy {
        Cache *cache;
        Digest digest;
        uint64_t size;
        int src, dst;
        char tmp[CACHE_TMP_NAME_MAX];
        int result;         /* of cache_blob_copy_run() */
        uint64_t disk_size; /* what the copy takes on disk */
};

CacheBlobCopy *cache_blob_copy_free(CacheBlobCopy *copy) {
        if (!copy)
                return NULL;
        safe_close(copy->src);
        if (copy->dst >= 0) {
                safe_close(copy->dst);
                (void) unlinkat(copy->cache->tmp_fd, copy->tmp, 0);
        }
        return mfree(copy);
}

int cache_blob_copy_begin(Cache *c, const char *path, const Digest *d, CacheEntry **ret_entry,
                          CacheBlobCopy **ret) {
        _cleanup_(cache_blob_copy_freep) CacheBlobCopy *copy = NULL;
        struct stat st;
        int r;

        if (cache_get(c, CACHE_BLOB, d, ret_entry) >= 0) {
                *ret = NULL;
                return 0;
        }
        copy = calloc(1, sizeof(CacheBlobCopy));
        if (!copy)
                return -ENOMEM;
        *copy = (CacheBlobCopy) {
                .cache = c,
                .digest = *d,
                .src = -EBADF,
                .dst = -EBADF,
                .result = -EINPROGRESS,
        };
        copy->src = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (copy->src < 0)
                return -errno;
        if (fstat(copy->src, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if ((uint64_t) st.st_size > c->limits.max_blob_size)
                return -E2BIG;
        copy->size = (uint64_t) st.st_size;
        r = blob_tmp_create(c, O_RDWR, copy->tmp);
        if (r < 0)
                return r;
        copy->dst = r;
        *ret = TAKE_PTR(copy);
        return 0;
}

uint64_t cache_blob_copy_size(const CacheBlobCopy *copy) {
        return copy->size;
}

void cache_blob_copy_run(CacheBlobCopy *copy) {
        struct stat st;
        uint64_t size = copy->size;
        Digest got;
        int r = 0;

        /* A reflink shares the data blocks (btrfs, XFS); else an in-kernel copy.  Either way, what is
         * stored is then hashed from the copy itself (from the page cache), so that a file changing
         * meanwhile cannot slip in unverified. */
        if (ioctl(copy->dst, FICLONE, copy->src) < 0)
                r = copy_bytes(copy->src, copy->dst, size);
        if (r >= 0 && lseek(copy->dst, 0, SEEK_SET) < 0)
                r = -errno;
        if (r >= 0)
                r = digest_fd(copy->dst, &got, &size);
        if (r >= 0 && (!digest_equal(&got, &copy->digest) || size != copy->size))
                r = -EBADMSG;
        if (r >= 0 && fstat(copy->dst, &st) < 0)
                r = -errno;
        if (r >= 0)
                copy->disk_size = (uint64_t) st.st_blocks * 512;
        copy->result = r;
}

int cache_blob_copy_finish(CacheBlobCopy *copy, CacheEntry **ret) {
        int r = copy->result;

        assert(r != -EINPROGRESS);
        if (r < 0)
                return r;
        copy->dst = safe_close(copy->dst);
        r = cache_commit(copy->cache, CACHE_BLOB, &copy->digest, copy->tmp, copy->disk_size, ret);
        if (r < 0)
                (void) unlinkat(copy->cache->tmp_fd, copy->tmp, 0);
        return r;
}

int cache_blob_from_path(Cache *c, const char *path, const Digest *d, CacheEntry **ret) {
        _cleanup_(cache_blob_copy_freep) CacheBlobCopy *copy = NULL;
        int r = cache_blob_copy_begin(c, path, d, ret, &copy);
        if (r < 0 || !copy)
                return r;
        cache_blob_copy_run(copy);
        return cache_blob_copy_finish(copy, ret);
}

int copy_bytes(int src, int dst, uint64_t size) {
        bool use_read = false;
        _cleanup_free_ uint8_t *buf = NULL;
        const size_t buf_size = 128 * 1024;

        while (size > 0) {
                size_t chunk = (size_t) MIN(size, (uint64_t) 1 << 30);
                ssize_t k;

                if (!use_read) {
                        k = copy_file_range(src, NULL, dst, NULL, chunk, 0);
                        if (k < 0 && IN_SET(errno, EXDEV, EINVAL, ENOSYS, EOPNOTSUPP, EPERM, EBADF)) {
                                use_read = true;
                                continue;
                        }
                } else {
                        if (!buf) {
                                buf = malloc(buf_size);
                                if (!buf)
                                        return -ENOMEM;
                        }
                        k = read(src, buf, MIN(chunk, buf_size));
                        if (k > 0) {
                                int r = loop_write(dst, buf, (size_t) k);
                                if (r < 0)
                                        return r;
                        }
                }
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EBADMSG;
                size -= (uint64_t) k;
        }
        return 0;
}

