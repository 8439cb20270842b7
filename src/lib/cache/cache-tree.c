/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "cache/cache-tree.h"

#define TREE_PATH_MAX 4096
/* Depth of the recursion in rm_rf_at() and disk_usage_at(): each level holds a directory fd.  Trees made by
 * tree_writer_* are at most max_depth deep, which callers keep below this. */
#define TREE_WALK_MAX_DEPTH 512

void tree_writer_init(TreeWriter *t, int root_fd, unsigned max_depth) {
        *t = (TreeWriter) {
                .root_fd = root_fd,
                .max_depth = max_depth,
                .parent_fd = -EBADF,
        };
}

void tree_writer_done(TreeWriter *t) {
        t->parent_fd = safe_close(t->parent_fd);
        t->parent_path = mfree(t->parent_path);
        for (size_t i = 0; i < t->n_dirs; i++)
                free(t->dirs[i].path);
        t->dirs = mfree(t->dirs);
        t->n_dirs = t->n_dirs_allocated = 0;
}

int tree_path_normalize(const char *name, char **ret) {
        size_t n = strlen(name);
        if (n == 0 || n > TREE_PATH_MAX)
                return -EBADMSG;
        if (name[0] == '/')
                return -EBADMSG;

        _cleanup_free_ char *out = malloc(n + 1);
        if (!out)
                return -ENOMEM;
        size_t len = 0;
        for (const char *p = name; *p;) {
                size_t k = strcspn(p, "/");
                if (k == 2 && p[0] == '.' && p[1] == '.')
                        return -EBADMSG;
                /* Empty and "." components go: "./a//b/" is "a/b". */
                if (k > 0 && !(k == 1 && p[0] == '.')) {
                        if (len > 0)
                                out[len++] = '/';
                        memcpy(out + len, p, k);
                        len += k;
                }
                p += k;
                if (*p == '/')
                        p++;
        }
        out[len] = 0;
        *ret = TAKE_PTR(out);
        return 0;
}

/* The number of components of a normalised path, or -EINVAL if it is not one: the walk without openat2
 * relies on that, as it would follow "..". */
static int path_depth(const char *path) {
        int n = 0;

        if (isempty(path))
                return -EINVAL;
        for (const char *p = path;; p++) {
                size_t k = strcspn(p, "/");
                if (k == 0 || (k == 1 && p[0] == '.') || (k == 2 && p[0] == '.' && p[1] == '.'))
                        return -EINVAL;
                n++;
                p += k;
                if (!*p)
                        return n;
        }
}

static int path_check(const TreeWriter *t, const char *path) {
        int n = path_depth(path);
        if (n < 0)
                return n;
        return (unsigned) n > t->max_depth ? -E2BIG : 0;
}

static int tree_writer_add_dir(TreeWriter *t, const char *path, size_t len, mode_t mode,
                               const struct timespec *mtime, bool created) {
        if (t->n_dirs == t->n_dirs_allocated) {
                size_t n = MAX(t->n_dirs_allocated * 2, (size_t) 64);
                TreeDir *d = reallocarray(t->dirs, n, sizeof(TreeDir));
                if (!d)
                        return -ENOMEM;
                t->dirs = d;
                t->n_dirs_allocated = n;
        }
        char *p = strndup(path, len);
        if (!p)
                return -ENOMEM;
        t->dirs[t->n_dirs++] = (TreeDir) {
                .path = p,
                .mode = mode,
                .mtime = mtime ? *mtime : (struct timespec) { .tv_nsec = UTIME_OMIT },
                .created = created,
        };
        return 0;
}

/* Opens the directory at path (relative, "" = root) for reading without following any symbolic link; with
 * create, missing components are made with mode 0755.  Returns a new fd. */
static int tree_writer_open_dir(TreeWriter *t, const char *path, bool create, int *ret_fd) {
        int r;

        if (!t->no_openat2) {
                struct open_how how = {
                        .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
                                   RESOLVE_NO_XDEV,
                };
                long fd = syscall(SYS_openat2, t->root_fd, *path ? path : ".", &how, sizeof how);
                if (fd >= 0) {
                        *ret_fd = (int) fd;
                        return 0;
                }
                /* Kernels before 5.6, or a seccomp filter that does not know openat2: walk by hand. */
                if (IN_SET(errno, ENOSYS, EPERM, E2BIG))
                        t->no_openat2 = true;
                else if (errno != ENOENT || !create)
                        return -errno;
        }

        /* One component at a time, each opened with O_NOFOLLOW: a symbolic link gives ELOOP. */
        _cleanup_close_ int fd = fcntl(t->root_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        for (const char *p = path; *p;) {
                size_t k = strcspn(p, "/");
                char name[NAME_MAX + 1];
                if (k > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(name, p, k);
                name[k] = 0;

                int nfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (nfd < 0 && errno == ENOENT && create) {
                        if (mkdirat(fd, name, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        r = tree_writer_add_dir(t, path, (size_t) (p - path) + k, 0755, /* mtime= */ NULL,
                                                /* created= */ true);
                        if (r < 0)
                                return r;
                        nfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                }
                if (nfd < 0 && errno == ENOTDIR) {
                        /* O_NOFOLLOW | O_DIRECTORY on a symbolic link: say so, as openat2 would. */
                        struct stat st;
                        if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISLNK(st.st_mode))
                                return -ELOOP;
                        errno = ENOTDIR;
                }
                if (nfd < 0)
                        return -errno;
                safe_close(fd);
                fd = nfd;
                p += k;
                if (*p == '/')
                        p++;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Finds the directory that holds path (creating it if needed) and the last component.  The fd is borrowed:
 * it stays cached in t for the next entry in the same directory. */
static int tree_writer_parent(TreeWriter *t, const char *path, int *ret_fd, const char **ret_name) {
        int r;

        r = path_check(t, path);
        if (r < 0)
                return r;

        const char *slash = strrchr(path, '/');
        if (!slash) {
                *ret_fd = t->root_fd;
                *ret_name = path;
                return 0;
        }
        size_t len = (size_t) (slash - path);
        if (!t->parent_path || strlen(t->parent_path) != len || !strneq(t->parent_path, path, len)) {
                _cleanup_free_ char *parent = strndup(path, len);
                if (!parent)
                        return -ENOMEM;
                int fd;
                r = tree_writer_open_dir(t, parent, /* create= */ true, &fd);
                if (r < 0)
                        return r;
                safe_close(t->parent_fd);
                t->parent_fd = fd;
                free(t->parent_path);
                t->parent_path = TAKE_PTR(parent);
        }
        *ret_fd = t->parent_fd;
        *ret_name = slash + 1;
        return 0;
}

/* Makes room for a new entry called name: removes what is there (not following it), and forgets its usage if
 * it was ours alone.  A directory is removed only when empty. */
static int tree_writer_remove(TreeWriter *t, int dir_fd, const char *name) {
        struct stat st;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (unlinkat(dir_fd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                /* Its TreeDir records no longer apply; tree_writer_finish() skips what it cannot open. */
                return 0;
        if (st.st_nlink <= 1) {
                uint64_t b = (uint64_t) st.st_blocks * 512;
                t->usage -= MIN(b, t->usage);
        }
        return 0;
}

typedef int (*make_fn)(int dir_fd, const char *name, const void *userdata);

/* Makes the last component of path with make(), which returns >= 0 or -errno.  Whatever is in the way is
 * removed and make() tried once more; with keep_dir, an existing directory is left alone instead and 1
 * returned.  Also returns where the entry is, for what follows. */
static int tree_writer_make(TreeWriter *t, const char *path, make_fn make, const void *userdata,
                            bool keep_dir, int *ret_dir_fd, const char **ret_name) {
        const char *name;
        int dir_fd, r;

        r = tree_writer_parent(t, path, &dir_fd, &name);
        if (r < 0)
                return r;
        for (unsigned attempt = 0;; attempt++) {
                r = make(dir_fd, name, userdata);
                if (r != -EEXIST || attempt > 0)
                        break;
                struct stat st;
                if (keep_dir && fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 &&
                    S_ISDIR(st.st_mode)) {
                        r = 1;
                        break;
                }
                r = tree_writer_remove(t, dir_fd, name);
                if (r < 0)
                        break;
        }
        *ret_dir_fd = dir_fd;
        *ret_name = name;
        return r;
}

static int make_file(int dir_fd, const char *name, const void *userdata) {
        /* O_EXCL never follows a symbolic link in the last component. */
        return RET_NERRNO(openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
}

static int make_dir(int dir_fd, const char *name, const void *userdata) {
        /* Writable for us until tree_writer_finish() sets the real mode. */
        return RET_NERRNO(mkdirat(dir_fd, name, 0700));
}

static int make_symlink(int dir_fd, const char *name, const void *target) {
        return RET_NERRNO(symlinkat(target, dir_fd, name));
}

typedef struct LinkSource {
        int dir_fd;
        const char *name;
} LinkSource;

static int make_link(int dir_fd, const char *name, const void *userdata) {
        const LinkSource *s = userdata;
        /* Without AT_SYMLINK_FOLLOW, linkat() links a symbolic link itself, never its target. */
        return RET_NERRNO(linkat(s->dir_fd, s->name, dir_fd, name, 0));
}

int tree_writer_create_file(TreeWriter *t, const char *path, int *ret_fd) {
        const char *name;
        int dir_fd, r;

        r = tree_writer_make(t, path, make_file, /* userdata= */ NULL, /* keep_dir= */ false, &dir_fd,
                             &name);
        if (r < 0)
                return r;
        *ret_fd = r;
        return 0;
}

int tree_writer_close_file(TreeWriter *t, int fd, mode_t mode, const struct timespec *mtime) {
        struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, *mtime };
        struct stat st;
        int r = 0;

        if (fchmod(fd, mode & 07777) < 0 || futimens(fd, ts) < 0 || fstat(fd, &st) < 0)
                r = -errno;
        else
                t->usage += (uint64_t) st.st_blocks * 512;
        safe_close(fd);
        return r;
}

int tree_writer_mkdir(TreeWriter *t, const char *path, mode_t mode, const struct timespec *mtime) {
        const char *name;
        int dir_fd, r;

        if (isempty(path))
                return tree_writer_add_dir(t, "", 0, mode & 07777, mtime, /* created= */ false);

        r = tree_writer_make(t, path, make_dir, /* userdata= */ NULL, /* keep_dir= */ true, &dir_fd, &name);
        if (r < 0)
                return r;
        return tree_writer_add_dir(t, path, strlen(path), mode & 07777, mtime, /* created= */ r == 0);
}

int tree_writer_symlink(TreeWriter *t, const char *path, const char *target, const struct timespec *mtime) {
        struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, *mtime };
        const char *name;
        struct stat st;
        int dir_fd, r;

        if (isempty(target))
                return -EINVAL;
        r = tree_writer_make(t, path, make_symlink, target, /* keep_dir= */ false, &dir_fd, &name);
        if (r < 0)
                return r;
        if (utimensat(dir_fd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        t->usage += (uint64_t) st.st_blocks * 512;
        return 0;
}

static int tree_writer_link_at(TreeWriter *t, int src_dir_fd, const char *src_name, const char *path) {
        LinkSource s = { .dir_fd = src_dir_fd, .name = src_name };
        const char *name;
        int dir_fd;

        return tree_writer_make(t, path, make_link, &s, /* keep_dir= */ false, &dir_fd, &name);
}

int tree_writer_link(TreeWriter *t, const char *target, const char *path) {
        _cleanup_close_ int src_fd = -EBADF;
        int r;

        r = path_check(t, target);
        if (r < 0)
                return r;

        const char *slash = strrchr(target, '/'), *src_name = target;
        if (slash) {
                _cleanup_free_ char *parent = strndup(target, (size_t) (slash - target));
                if (!parent)
                        return -ENOMEM;
                r = tree_writer_open_dir(t, parent, /* create= */ false, &src_fd);
                if (r < 0)
                        return r;
                src_name = slash + 1;
        }
        return tree_writer_link_at(t, src_fd >= 0 ? src_fd : t->root_fd, src_name, path);
}

int tree_writer_link_from(TreeWriter *t, int src_dir_fd, const char *src_path, const char *path) {
        return tree_writer_link_at(t, src_dir_fd, src_path, path);
}

int tree_writer_finish(TreeWriter *t) {
        int r;

        /* Forward order: for a directory listed twice the last entry wins.  Setting a directory's metadata
         * does not touch its parent's mtime, so the order between directories does not matter. */
        for (size_t i = 0; i < t->n_dirs; i++) {
                TreeDir *d = t->dirs + i;
                _cleanup_close_ int fd = -EBADF;
                int dfd;

                if (isempty(d->path))
                        dfd = t->root_fd;
                else {
                        r = tree_writer_open_dir(t, d->path, /* create= */ false, &fd);
                        /* Replaced by a later entry (a file, a symbolic link): its metadata went with it. */
                        if (IN_SET(r, -ENOENT, -ENOTDIR, -ELOOP))
                                continue;
                        if (r < 0)
                                return r;
                        dfd = fd;
                }

                struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, d->mtime };
                if (fchmod(dfd, d->mode) < 0)
                        return -errno;
                if (d->mtime.tv_nsec != UTIME_OMIT && futimens(dfd, ts) < 0)
                        return -errno;
                if (d->created) {
                        struct stat st;
                        if (fstat(dfd, &st) < 0)
                                return -errno;
                        t->usage += (uint64_t) st.st_blocks * 512;
                }
        }
        return 0;
}

int opendir_at(int dir_fd, const char *name, DIR **ret) {
        int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                safe_close(fd);
                return r;
        }
        *ret = d;
        return 0;
}

typedef int (*walk_fn)(int dir_fd, const char *name, int fd, const struct stat *st, void *userdata);

/* Calls fn for name and each entry under it, children before their directory.  fd is the entry opened as a
 * directory, -EBADF for anything else.  To measure, st is always filled, and what we cannot read is counted
 * without its contents; to remove, st is filled for directories only, and what we cannot read is opened up
 * (layer directories are ours, even with mode 0555 or less). */
static int walk_at(int dir_fd, const char *name, unsigned depth, bool measure, walk_fn fn, void *userdata) {
        struct stat st = {};
        int r;

        if (depth > TREE_WALK_MAX_DEPTH)
                return -E2BIG;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return fn(dir_fd, name, -EBADF, &st, userdata);

        _cleanup_(closedirp) DIR *d = NULL;
        r = opendir_at(dir_fd, name, &d);
        if (r == -EACCES && measure)
                return fn(dir_fd, name, -EBADF, &st, userdata);
        if (r == -EACCES) {
                if (fchmodat(dir_fd, name, 0700, 0) < 0)
                        return -errno;
                st.st_mode = S_IFDIR | 0700;
                r = opendir_at(dir_fd, name, &d);
        }
        if (r < 0)
                return r;
        int fd = dirfd(d);

        r = fn(dir_fd, name, fd, &st, userdata);
        if (r < 0)
                return r;
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de) {
                        if (errno > 0)
                                return -errno;
                        break;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN || measure)
                        r = walk_at(fd, de->d_name, depth + 1, measure, fn, userdata);
                else
                        r = fn(fd, de->d_name, -EBADF, /* st= */ NULL, userdata);
                if (r < 0)
                        return r;
        }
        /* Still open: removing a directory we hold is fine. */
        return fn(dir_fd, name, -EBADF, &st, userdata);
}

/* Called twice for a directory: on the way in with its fd (make it writable), on the way out without. */
static int rm_one(int dir_fd, const char *name, int fd, const struct stat *st, void *userdata) {
        if (fd >= 0) {
                if ((st->st_mode & 0700) != 0700 && fchmod(fd, 0700) < 0)
                        return -errno;
                return 0;
        }
        bool is_dir = st && S_ISDIR(st->st_mode);
        if (unlinkat(dir_fd, name, is_dir ? AT_REMOVEDIR : 0) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int rm_rf_at(int dir_fd, const char *name) {
        return walk_at(dir_fd, name, 0, /* measure= */ false, rm_one, /* userdata= */ NULL);
}

typedef struct UsageWalk {
        uint64_t total;
        bool skip_linked;
} UsageWalk;

static int usage_one(int dir_fd, const char *name, int fd, const struct stat *st, void *userdata) {
        UsageWalk *u = userdata;

        if (fd >= 0)
                return 0;  /* a directory on the way in: counted on the way out */
        uint64_t b = (uint64_t) st->st_blocks * 512;
        if (!S_ISDIR(st->st_mode) && st->st_nlink > 1)
                b = u->skip_linked ? 0 : b / st->st_nlink;
        u->total += b;
        return 0;
}

int disk_usage_at(int dir_fd, const char *name, bool skip_linked, uint64_t *ret) {
        UsageWalk u = { .skip_linked = skip_linked };
        int r;

        r = walk_at(dir_fd, name, 0, /* measure= */ true, usage_one, &u);
        if (r < 0)
                return r;
        *ret = u.total;
        return 0;
}

int tree_writer_error(int r, const char *path, char **reterr_message) {
        const char *why = NULL;
        int ret = -EBADMSG;

        switch (-r) {
        case ELOOP:
                why = "refusing to write through a symbolic link";
                break;
        case ENOTDIR:
                why = "a parent is not a directory";
                break;
        case ENOTEMPTY:
        case EEXIST:
                why = "would replace a non-empty directory";
                break;
        case ENOENT:
                why = "hard link target not found";
                break;
        case EPERM:
        case EISDIR:
        case EMLINK:
                why = "cannot be a hard link to that target";
                break;
        case ENAMETOOLONG:
        case EINVAL:
                why = "invalid name or target";
                break;
        case E2BIG:
                why = "too many path components";
                ret = r;
                break;
        default:
                ret = r;
        }
        if (!*reterr_message && asprintf(reterr_message, "entry '%s': %s", path, why ?: strerror(-r)) < 0)
                *reterr_message = NULL;
        return ret;
}
