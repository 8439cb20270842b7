/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* Copies of local clients' files into the cache.  A large file (a test binary of tens of megabytes takes
 * tens of milliseconds to copy and hash) is copied on a thread of its own, so that the loop goes on noticing
 * the ends of jobs and starting others meanwhile (and the jobs' durations are not stretched by the copy):
 * the jobs that want it hold their slots and wait, as for a blob fetched from the broker.  Only the copy and
 * its hash run there; the cache itself is used on the loop alone. */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "worker-manager.h"

/* Copied on the loop below this size: a thread would cost more than the copy. */
#define COPY_INLINE_MAX (256 * 1024)
/* Threads copying at once; further copies wait for one to end. */
#define COPY_THREADS_MAX 4

struct Copy {
        Manager *manager;
        CacheBlobCopy *copy;
        Digest digest;
        char *path;
        bool running;
        pthread_t thread;
        Copy *prev, *next;
};

static Copy *copy_free(Copy *c) {
        if (!c)
                return NULL;
        Manager *m = c->manager;
        if (c->running) {
                /* Only at exit: the copy ends on its own. */
                (void) pthread_join(c->thread, NULL);
                m->n_copies_running--;
        }
        if (c->prev)
                c->prev->next = c->next;
        else
                m->copies = c->next;
        if (c->next)
                c->next->prev = c->prev;
        cache_blob_copy_free(c->copy);
        free(c->path);
        free(c);
        return NULL;
}

void copies_free_all(Manager *m) {
        while (m->copies)
                copy_free(m->copies);
        m->copy_source = sd_event_source_disable_unref(m->copy_source);
        m->copy_pipe[0] = safe_close(m->copy_pipe[0]);
        m->copy_pipe[1] = safe_close(m->copy_pipe[1]);
}

static void *copy_thread(void *userdata) {
        Copy *c = userdata;

        cache_blob_copy_run(c->copy);
        /* The loop joins the thread when it reads c.  A pointer is written whole to a pipe (below PIPE_BUF),
         * and the pipe has room for far more than COPY_THREADS_MAX of them. */
        (void) loop_write(c->manager->copy_pipe[1], &c, sizeof c);
        return NULL;
}

static int copy_start(Copy *c) {
        int r = -pthread_create(&c->thread, NULL, copy_thread, c);
        if (r < 0)
                return r;
        c->running = true;
        c->manager->n_copies_running++;
        return 0;
}

/* The copy is over: it goes into the cache, and the jobs waiting for it go on (or fail). */
static void copy_complete(Copy *c, int error) {
        Manager *m = c->manager;
        Digest d = c->digest;
        char step[PATH_MAX + 64];
        CacheEntry *e = NULL;
        int r = error;

        /* Pinned until the waiting jobs have taken it: a cache smaller than the blob would evict it at
         * once, and the jobs would copy it again, for ever. */
        if (r >= 0)
                r = cache_blob_copy_finish(c->copy, &e);
        if (r < 0) {
                log_debug_errno(r, "Failed to copy '%s' into the cache: %m", c->path);
                snprintf(step, sizeof step, "copy '%s' into the cache", c->path);
        }
        copy_free(c);
        jobs_fetched(m, &d, r, r < 0 ? step : NULL);
        if (e)
                cache_unpin(e);
}

/* Starts the oldest waiting copies (the list is in the order they came) while threads are free. */
static void copies_start_waiting(Manager *m) {
        for (Copy *c = m->copies, *next; c && m->n_copies_running < COPY_THREADS_MAX; c = next) {
                next = c->next; /* copy_complete() frees c alone; new copies go at the end */
                if (c->running)
                        continue;
                int r = copy_start(c);
                if (r < 0)
                        copy_complete(c, r);
        }
}

static int on_copy_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        Copy *done[16];

        for (;;) {
                ssize_t n = read(fd, done, sizeof done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                for (size_t i = 0; i < (size_t) n / sizeof(Copy *); i++) {
                        Copy *c = done[i];
                        (void) pthread_join(c->thread, NULL);
                        c->running = false;
                        m->n_copies_running--;
                        copy_complete(c, 0);
                }
        }
        copies_start_waiting(m);
        return 0;
}

static int copies_setup(Manager *m) {
        int r;

        if (m->copy_source)
                return 0;
        if (pipe2(m->copy_pipe, O_CLOEXEC) < 0)
                return -errno;
        r = fd_nonblock(m->copy_pipe[0], true);
        if (r < 0)
                return r;
        return sd_event_add_io(m->event, &m->copy_source, m->copy_pipe[0], EPOLLIN, on_copy_done, m);
}

int manager_copy(Manager *m, const char *path, const Digest *d, CacheEntry **ret) {
        _cleanup_(cache_blob_copy_freep) CacheBlobCopy *copy = NULL;
        Copy *c, *last = NULL;
        int r;

        for (c = m->copies; c; c = c->next) {
                if (digest_equal(&c->digest, d))
                        return 0;
                last = c;
        }
        r = cache_blob_copy_begin(m->cache, path, d, ret, &copy);
        if (r < 0)
                return r;
        if (!copy)
                return 1;
        if (cache_blob_copy_size(copy) < COPY_INLINE_MAX) {
                cache_blob_copy_run(copy);
                r = cache_blob_copy_finish(copy, ret);
                return r < 0 ? r : 1;
        }
        r = copies_setup(m);
        if (r < 0)
                return r;

        c = calloc(1, sizeof(Copy));
        if (!c)
                return -ENOMEM;
        *c = (Copy) { .manager = m, .digest = *d, .path = strdup(path), .prev = last };
        if (!c->path) {
                free(c);
                return -ENOMEM;
        }
        c->copy = TAKE_PTR(copy);
        if (last)
                last->next = c;
        else
                m->copies = c;
        if (m->n_copies_running < COPY_THREADS_MAX) {
                r = copy_start(c);
                if (r < 0) {
                        copy_free(c);
                        return r;
                }
        }
        return 0;
}
