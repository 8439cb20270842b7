/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* Internal to lib/cache.  Building a directory tree from untrusted entries (tar members, manifest entries)
 * beneath a directory fd, never following a symbolic link, and removing or measuring such trees.  No global
 * state: every call works on the fds it is given, so a child process can run it. */

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "basic/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

typedef struct TreeDir {
        char *path;               /* relative to the tree's root; "" is the root itself */
        mode_t mode;
        struct timespec mtime;    /* tv_nsec = UTIME_OMIT to leave it */
        bool created;             /* made by us: count its disk usage */
} TreeDir;

typedef struct TreeWriter {
        int root_fd;              /* borrowed; opened O_RDONLY|O_DIRECTORY */
        unsigned max_depth;       /* path components */
        char *parent_path;        /* the parent directory opened last, kept for the next entry */
        int parent_fd;
        TreeDir *dirs;            /* directory metadata, applied by tree_writer_finish() */
        size_t n_dirs, n_dirs_allocated;
        uint64_t usage;           /* bytes of disk used by what was created (st_blocks) */
        bool no_openat2;
} TreeWriter;

void tree_writer_init(TreeWriter *t, int root_fd, unsigned max_depth);
void tree_writer_done(TreeWriter *t);

/* Paths are relative and normalised (tree_path_normalize()).  Missing parent directories are created with
 * mode 0755.  An existing entry at the path is replaced (tar semantics: the last member wins), except a
 * non-empty directory (-ENOTEMPTY).  A symbolic link or a non-directory on the way gives -ELOOP or -ENOTDIR;
 * more than max_depth components gives -E2BIG. */

/* Creates an empty regular file and returns it open for writing (mode 0600 until finished). */
int tree_writer_create_file(TreeWriter *t, const char *path, int *ret_fd);
/* Sets the final mode and mtime of a file made by tree_writer_create_file(), counts its usage; closes fd,
 * whatever happens. */
int tree_writer_close_file(TreeWriter *t, int fd, mode_t mode, const struct timespec *mtime);
/* "" for the root.  An existing directory is kept; mode and mtime are applied by tree_writer_finish(). */
int tree_writer_mkdir(TreeWriter *t, const char *path, mode_t mode, const struct timespec *mtime);
int tree_writer_symlink(TreeWriter *t, const char *path, const char *target, const struct timespec *mtime);
/* A hard link to an earlier entry of the tree (not a directory). */
int tree_writer_link(TreeWriter *t, const char *target, const char *path);
/* A hard link to a file outside the tree (a blob); its usage is not counted. */
int tree_writer_link_from(TreeWriter *t, int src_dir_fd, const char *src_path, const char *path);
/* Applies directory modes and mtimes (last entry wins); call once after all entries. */
int tree_writer_finish(TreeWriter *t);

/* Turns a member name of an archive into a tree path: "./a//b/" → "a/b", "." or "./" → "" (the root).
 * -EBADMSG for an absolute path, a ".." component, an empty name or one above 4096 bytes. */
int tree_path_normalize(const char *name, char **ret);

/* Opens the directory name below dir_fd as a stream, not following a symbolic link. */
int opendir_at(int dir_fd, const char *name, DIR **ret);

/* Removes name (below dir_fd) and everything under it, making directories writable as needed; never follows
 * symbolic links.  Missing is not an error. */
int rm_rf_at(int dir_fd, const char *name);
/* Disk usage (st_blocks) of name and everything under it.  A file with several links counts a share per link
 * (exact when all links are inside), or nothing when skip_linked is set (links to blobs, counted there). */
int disk_usage_at(int dir_fd, const char *name, bool skip_linked, uint64_t *ret);

/* Maps an error of a tree_writer_* call on path: what the layer's content caused gives -EBADMSG (a write
 * through a symbolic link, a missing hard link target, ...), anything else stays.  Sets *reterr_message, if
 * still NULL, to a sentence naming path. */
int tree_writer_error(int r, const char *path, char **reterr_message);
