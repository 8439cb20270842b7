/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* Tar layers, read with libarchive: the only file that includes its headers.
 *
 * libarchive only reads here.  Its archive_write_disk resolves member names against the process's working
 * directory (chdir is global state, and wrong in a threaded daemon), and checks for symbolic links with
 * lstat() from user space.  The members are written with the TreeWriter instead, as for manifests: every
 * path opened beneath the layer directory with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, absolute names and
 * ".." refused as an error for the whole layer, modes and mtimes kept, owners not (all files belong to the
 * worker's user). */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "cache/cache-internal.h"
#include "cache/cache-tree.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive *, archive_read_free);

/* libarchive's errno is ARCHIVE_ERRNO_FILE_FORMAT (EILSEQ) or ARCHIVE_ERRNO_MISC (-1) for a malformed
 * archive. */
static int tar_error(struct archive *a, const char *member, char **reterr_message) {
        int e = archive_errno(a);
        const char *s = archive_error_string(a) ?: "unknown error";
        int r;

        if (member)
                r = asprintf(reterr_message, "member '%s': %s", member, s);
        else
                r = asprintf(reterr_message, "%s", s);
        if (r < 0)
                *reterr_message = NULL;
        if (e <= 0 || IN_SET(e, EILSEQ, EINVAL))
                return -EBADMSG;
        return -e;
}

static int tar_message(char **reterr_message, int r, const char *member, const char *why) {
        if (asprintf(reterr_message, "member '%s': %s", member, why) < 0)
                *reterr_message = NULL;
        return r;
}

/* The size the member claims, which must fit in what is left of the layer's budget. */
static int tar_declared_size(struct archive_entry *e, uint64_t budget, uint64_t *ret,
                             char **reterr_message) {
        uint64_t declared = archive_entry_size_is_set(e) ? (uint64_t) MAX(archive_entry_size(e), 0) : 0;

        if (declared > budget)
                return tar_message(reterr_message, -E2BIG, archive_entry_pathname(e),
                                   "layer is larger than the limit");
        *ret = declared;
        return 0;
}

/* Writes the member's data into fd: its blocks at their offsets (a sparse member leaves holes), then the
 * size.  The declared size counts against the layer's budget before anything is written. */
static int tar_write_data(struct archive *a, struct archive_entry *e, int fd, uint64_t *budget,
                          char **reterr_message) {
        const char *member = archive_entry_pathname(e);
        uint64_t declared = 0, end = 0;
        int r;

        r = tar_declared_size(e, *budget, &declared, reterr_message);
        if (r < 0)
                return r;
        for (;;) {
                const void *buf;
                size_t size;
                la_int64_t offset;

                r = archive_read_data_block(a, &buf, &size, &offset);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return tar_error(a, member, reterr_message);
                if (offset < 0 || (uint64_t) offset > *budget || size > *budget - (uint64_t) offset)
                        return tar_message(reterr_message, -E2BIG, member, "layer is larger than the limit");
                for (const uint8_t *p = buf; size > 0;) {
                        ssize_t k = pwrite(fd, p, size, offset);
                        if (k < 0) {
                                if (errno == EINTR)
                                        continue;
                                return -errno;
                        }
                        p += k;
                        offset += k;
                        size -= (size_t) k;
                }
                end = MAX(end, (uint64_t) offset);
        }
        if (declared > end && ftruncate(fd, (off_t) declared) < 0)
                return -errno;
        *budget -= MAX(end, declared);
        return 0;
}

static int tar_member(struct archive *a, struct archive_entry *e, TreeWriter *t, uint64_t *budget,
                      char **reterr_message) {
        const char *member = archive_entry_pathname(e);
        _cleanup_free_ char *path = NULL, *link = NULL;
        int r;

        if (!member)
                return tar_message(reterr_message, -EBADMSG, "", "member without a name");
        r = tree_path_normalize(member, &path);
        if (r < 0)
                return tar_message(reterr_message, r, member,
                                   member[0] == '/' ? "absolute names are refused"
                                                    : "'..' components and empty names are refused");

        struct timespec mtime = { .tv_nsec = UTIME_NOW };
        if (archive_entry_mtime_is_set(e))
                mtime = (struct timespec) {
                        .tv_sec = archive_entry_mtime(e),
                        .tv_nsec = archive_entry_mtime_nsec(e),
                };
        mode_t mode = archive_entry_perm(e) & 07777;
        mode_t type = archive_entry_filetype(e);

        if (isempty(path) && type != AE_IFDIR)
                return tar_message(reterr_message, -EBADMSG, member, "only a directory can be the root");

        const char *hardlink = archive_entry_hardlink(e);
        if (hardlink) {
                r = tree_path_normalize(hardlink, &link);
                if (r < 0 || isempty(link))
                        return tar_message(reterr_message, -EBADMSG, member, "invalid hard link target");
                r = tree_writer_link(t, link, path);
                return r < 0 ? tree_writer_error(r, path, reterr_message) : 0;
        }

        switch (type) {
        case AE_IFDIR:
                r = tree_writer_mkdir(t, path, mode, &mtime);
                break;
        case AE_IFREG: {
                int fd;
                r = tree_writer_create_file(t, path, &fd);
                if (r < 0)
                        break;
                r = tar_write_data(a, e, fd, budget, reterr_message);
                if (r < 0) {
                        safe_close(fd);
                        return r;
                }
                r = tree_writer_close_file(t, fd, mode, &mtime);
                break;
        }
        case AE_IFLNK: {
                const char *target = archive_entry_symlink(e);
                if (isempty(target))
                        return tar_message(reterr_message, -EBADMSG, member, "empty symbolic link target");
                r = tree_writer_symlink(t, path, target, &mtime);
                break;
        }
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO:
        case AE_IFSOCK: {
                /* Devices cannot be made unprivileged; jobs get theirs from `devices` mounts.  Any data it
                 * claims is still read (and decompressed) to skip it: it counts. */
                uint64_t declared = 0;
                r = tar_declared_size(e, *budget, &declared, reterr_message);
                if (r < 0)
                        return r;
                *budget -= declared;
                log_debug("Skipping member '%s': device, FIFO or socket.", member);
                return 0;
        }
        default:
                return tar_message(reterr_message, -EBADMSG, member, "unknown file type");
        }
        return r < 0 ? tree_writer_error(r, path, reterr_message) : 0;
}

int layer_extract_tar(int tar_fd, int dir_fd, const CacheLimits *limits, uint64_t *ret_usage,
                      char **reterr_message) {
        _cleanup_(archive_read_freep) struct archive *a = NULL;
        _cleanup_(tree_writer_done) TreeWriter t;
        uint64_t budget = limits->max_layer_bytes, n = 0;
        int r;

        tree_writer_init(&t, dir_fd, limits->max_layer_depth);

        a = archive_read_new();
        if (!a)
                return -ENOMEM;
        /* Tar only (ustar, pax, GNU): layers are tars, and every other format reader is attack surface.  The
         * decompressors built into libarchive only: the others would run external programs. */
        if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
            archive_read_support_format_empty(a) != ARCHIVE_OK)
                return -ENOMEM;
        int (*const filters[])(struct archive *) = {
                archive_read_support_filter_gzip, archive_read_support_filter_bzip2,
                archive_read_support_filter_xz,   archive_read_support_filter_lzma,
                archive_read_support_filter_lzip, archive_read_support_filter_zstd,
                archive_read_support_filter_lz4,  archive_read_support_filter_compress,
        };
        for (size_t i = 0; i < ELEMENTSOF(filters); i++)
                if (filters[i](a) < ARCHIVE_WARN)
                        return -ENOMEM;

        if (archive_read_open_fd(a, tar_fd, 128 * 1024) != ARCHIVE_OK)
                return tar_error(a, /* member= */ NULL, reterr_message);

        for (;;) {
                struct archive_entry *e;

                r = archive_read_next_header(a, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return tar_error(a, /* member= */ NULL, reterr_message);
                if (++n > limits->max_layer_entries)
                        return tar_message(reterr_message, -E2BIG, strempty(archive_entry_pathname(e)),
                                           "more members than the limit");
                r = tar_member(a, e, &t, &budget, reterr_message);
                if (r < 0)
                        return r;
        }

        r = tree_writer_finish(&t);
        if (r < 0)
                return tree_writer_error(r, "", reterr_message);
        *ret_usage = t.usage;
        return 0;
}
