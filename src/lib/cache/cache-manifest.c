/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "cache/cache-internal.h"
#include "cache/cache-tree.h"

static bool inode_matches(const struct stat *st, mode_t mode, int64_t mtime) {
        return (st->st_mode & 07777) == mode && st->st_mtim.tv_sec == mtime && st->st_mtim.tv_nsec == 0;
}

/* A hard link shares the inode, so the blob must carry the file's mode and mtime: a blob that no layer links
 * yet is given them; one that already carries them is linked again; otherwise the data is copied.  The mode
 * must let us read the blob.  Jobs cannot change a linked blob: layers are read-only lower layers (overlayfs
 * copies a file up before writing it). */
static int manifest_file(TreeWriter *t, int root_fd, const ManifestEntry *e, char **reterr_message) {
        char blob[CACHE_RELATIVE_PATH_MAX];
        struct timespec mtime = { .tv_sec = e->mtime };
        mode_t mode = e->mode & 07777;
        struct stat st;
        int r;

        cache_relative_path(CACHE_BLOB, &e->digest, blob);
        if (fstatat(root_fd, blob, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if ((uint64_t) st.st_size != e->size) {
                if (asprintf(reterr_message, "entry '%s': size %" PRIu64 " differs from its blob's", e->path,
                             e->size) < 0)
                        *reterr_message = NULL;
                return -EBADMSG;
        }

        if (mode & 0400) {
                bool same = inode_matches(&st, mode, e->mtime);
                if (!same && st.st_nlink == 1) {
                        struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, mtime };
                        if (fchmodat(root_fd, blob, mode, 0) < 0 ||
                            utimensat(root_fd, blob, ts, AT_SYMLINK_NOFOLLOW) < 0 ||
                            fstatat(root_fd, blob, &st, AT_SYMLINK_NOFOLLOW) < 0)
                                return -errno;
                        /* The kernel may drop S_ISGID. */
                        same = inode_matches(&st, mode, e->mtime);
                }
                if (same) {
                        r = tree_writer_link_from(t, root_fd, blob, e->path);
                        return r < 0 ? tree_writer_error(r, e->path, reterr_message) : 0;
                }
        }

        _cleanup_close_ int src = openat(root_fd, blob, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (src < 0)
                return -errno;
        int fd;
        r = tree_writer_create_file(t, e->path, &fd);
        if (r < 0)
                return tree_writer_error(r, e->path, reterr_message);
        r = copy_bytes(src, fd, e->size);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        return tree_writer_close_file(t, fd, mode, &mtime);
}

int layer_build_manifest(const Manifest *m, int root_fd, int dir_fd, const CacheLimits *limits,
                         uint64_t *ret_usage, char **reterr_message) {
        _cleanup_(tree_writer_done) TreeWriter t;
        uint64_t total = 0;
        int r;

        tree_writer_init(&t, dir_fd, limits->max_layer_depth);

        if (m->n_entries > limits->max_layer_entries) {
                *reterr_message = strdup("more entries than the limit");
                return -E2BIG;
        }
        for (size_t i = 0; i < m->n_entries; i++) {
                if (m->entries[i].size > limits->max_layer_bytes - total) {
                        *reterr_message = strdup("layer is larger than the limit");
                        return -E2BIG;
                }
                total += m->entries[i].size;
        }

        for (size_t i = 0; i < m->n_entries; i++) {
                const ManifestEntry *e = m->entries + i;
                struct timespec mtime = { .tv_sec = e->mtime };

                switch (e->type) {
                case MANIFEST_FILE:
                        r = manifest_file(&t, root_fd, e, reterr_message);
                        if (r < 0)
                                return r;
                        continue;
                case MANIFEST_DIRECTORY:
                        r = tree_writer_mkdir(&t, e->path, e->mode, &mtime);
                        break;
                case MANIFEST_SYMLINK:
                        r = tree_writer_symlink(&t, e->path, e->target, &mtime);
                        break;
                case _MANIFEST_ENTRY_TYPE_INVALID:
                        r = -EINVAL;
                        break;
                }
                if (r < 0)
                        return tree_writer_error(r, e->path, reterr_message);
        }

        r = tree_writer_finish(&t);
        if (r < 0)
                return tree_writer_error(r, "", reterr_message);
        *ret_usage = t.usage;
        return 0;
}
