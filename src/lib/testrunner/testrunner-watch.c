/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/string-util.h"
#include "testrunner/testrunner-watch.h"

#define WATCH_MASK                                                                                    \
        (IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | \
         IN_DELETE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

typedef struct WatchDir {
        int wd;
        char *path;
} WatchDir;

struct TestWatch {
        int fd;
        char **ignore;
        WatchDir *dirs;
        size_t n_dirs;
};

TestWatch *test_watch_free(TestWatch *w) {
        if (!w)
                return NULL;
        safe_close(w->fd);
        strv_free(w->ignore);
        for (size_t i = 0; i < w->n_dirs; i++)
                free(w->dirs[i].path);
        free(w->dirs);
        return mfree(w);
}

/* Names that never matter to a run, wherever they are: version control metadata, and the scratch files that
 * editors write beside a file being edited (vim's swap files and the file it writes to probe a directory,
 * emacs's lock and auto-save files, backups ending in '~').  A commit or a keystroke starts no run. */
static bool watch_name_ignored(const char *name) {
        static const char *const patterns[] = {
                ".git", ".hg", ".svn", ".jj", ".bzr", "*.swp", "*.swo", "*.swx", "4913", "*~", ".#*", "#*#",
        };

        for (size_t i = 0; i < ELEMENTSOF(patterns); i++)
                if (fnmatch(patterns[i], name, 0) == 0)
                        return true;
        return false;
}

static bool watch_ignored(const TestWatch *w, const char *path) {
        STRV_FOREACH(i, w->ignore)
                if (streq(*i, path))
                        return true;
        return false;
}

static const char *watch_path(const TestWatch *w, int wd) {
        for (size_t i = 0; i < w->n_dirs; i++)
                if (w->dirs[i].wd == wd)
                        return w->dirs[i].path;
        return NULL;
}

/* Watch path and every directory below it that is not ignored. */
static int watch_add_tree(TestWatch *w, const char *path) {
        _cleanup_(closedirp) DIR *d = NULL;
        int wd;

        if (watch_ignored(w, path))
                return 0;
        if (w->n_dirs >= TEST_WATCH_DIRECTORIES_MAX)
                return -E2BIG;

        wd = inotify_add_watch(w->fd, path, WATCH_MASK);
        if (wd < 0)
                /* Gone already, or not a directory: nothing to watch. */
                return IN_SET(errno, ENOENT, ENOTDIR) ? 0 : -errno;
        if (!watch_path(w, wd)) {
                WatchDir *dirs = reallocarray(w->dirs, w->n_dirs + 1, sizeof(WatchDir));
                if (!dirs)
                        return -ENOMEM;
                w->dirs = dirs;
                w->dirs[w->n_dirs].path = strdup(path);
                if (!w->dirs[w->n_dirs].path)
                        return -ENOMEM;
                w->dirs[w->n_dirs++].wd = wd;
        }

        d = opendir(path);
        if (!d)
                return IN_SET(errno, ENOENT, ENOTDIR) ? 0 : -errno;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *child = NULL;
                int r;

                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, "..") ||
                    watch_name_ignored(de->d_name))
                        continue;
                child = strjoin(path, streq(path, "/") ? "" : "/", de->d_name);
                if (!child)
                        return -ENOMEM;
                r = watch_add_tree(w, child);
                if (r < 0)
                        return r;
        }
        return 0;
}

int test_watch_new(const char *dir, char *const *ignore, TestWatch **ret) {
        _cleanup_(test_watch_freep) TestWatch *w = NULL;
        int r;

        w = calloc(1, sizeof(TestWatch));
        if (!w)
                return -ENOMEM;
        w->fd = -EBADF;
        w->ignore = strv_copy(ignore);
        if (!w->ignore)
                return -ENOMEM;
        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->fd < 0)
                return -errno;
        r = watch_add_tree(w, dir);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

int test_watch_fd(const TestWatch *w) {
        return w->fd;
}

int test_watch_process(TestWatch *w) {
        _Alignas(struct inotify_event) char buf[16384];
        bool changed = false;

        for (;;) {
                ssize_t n = read(w->fd, buf, sizeof buf);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return -errno;
                }
                for (char *p = buf; p < buf + n;) {
                        struct inotify_event *ev = (struct inotify_event *) p;
                        const char *parent = watch_path(w, ev->wd);

                        p += sizeof(struct inotify_event) + ev->len;
                        if (ev->mask & IN_Q_OVERFLOW) {
                                changed = true;
                                continue;
                        }
                        if (!parent || ev->len == 0 || (ev->mask & IN_IGNORED) ||
                            watch_name_ignored(ev->name))
                                continue;

                        _cleanup_free_ char *path = strjoin(parent, streq(parent, "/") ? "" : "/", ev->name);
                        if (!path)
                                return -ENOMEM;
                        if (watch_ignored(w, path))
                                continue;
                        changed = true;
                        if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
                                int r = watch_add_tree(w, path);
                                if (r < 0)
                                        return r;
                        }
                }
        }
        return changed;
}
