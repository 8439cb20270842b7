/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* Jobs on the worker: queued by priority and estimated duration, their layers made ready in the cache, run
 * in the container, and their results sent back. */
#include <stdio.h>
#include <stdlib.h>

#include "basic/log.h"
#include "basic/prioq.h"
#include "basic/string-util.h"
#include "basic/time-util.h"
#include "maelstrom/v1/job.pb-c.h"
#include "proto/proto-util.h"
#include "worker-job.h"
#include "worker-manager.h"

/* Jobs one client may have queued or running: a cap on what a peer can make us keep. */
#define SESSION_MAX_JOBS 1000000U
/* Below this estimate, a job's place in the queue hardly changes when the run ends (see job_compare()): run
 * last, it ends the run at most this much later.  Sub-millisecond Go cases measure 3 to 40 ms on a loaded
 * machine (go-playground/locales: 2,105 of 19,865 cases at 10 ms or more, 5 at 50 ms or more). */
#define SHORT_JOB_USEC (50 * USEC_PER_MSEC)

struct Job {
        Session *session;
        Maelstrom__V1__Submit *submit; /* owned, as unpacked */
        uint64_t id;
        usec_t submitted;
        usec_t started;
        uint64_t seq;        /* order of arrival, among equals */
        unsigned queue_idx;  /* position in the manager's queue */
        Execution *execution;
        CacheEntry **layers; /* pinned while the job runs */
        size_t n_layers;
        Job *prev, *next;    /* in the session's list */

        /* Prepared ahead (see manager_dispatch()): holding a place among the prepared rather than a slot */
        bool prepared;
        Job *pprev, *pnext;  /* in the manager's prepared list */

        /* Cluster mode: holding a slot (or a prepared place) while blobs arrive from the broker */
        bool fetching;
        Digest *waiting_for;
        size_t n_waiting_for;
        Job *wprev, *wnext;  /* in the manager's fetch_waiters */
        /* What making its layers found in the cache or added to it (and, while it waits, the layers made and
         * the blobs fetched so far), pinned until it starts over or ends: adding a blob may evict others. */
        CacheLayerError pins;
};

static void job_unpin_layers(Job *j) {
        for (size_t i = 0; i < j->n_layers; i++)
                if (j->layers[i])
                        cache_unpin(j->layers[i]);
        j->layers = mfree(j->layers);
        j->n_layers = 0;
}

static void job_unprepare(Job *j) {
        Manager *m = session_manager(j->session);

        if (!j->prepared)
                return;
        if (j->pprev)
                j->pprev->pnext = j->pnext;
        else
                m->prepared_head = j->pnext;
        if (j->pnext)
                j->pnext->pprev = j->pprev;
        else
                m->prepared_tail = j->pprev;
        j->pprev = j->pnext = NULL;
        j->prepared = false;
        m->n_prepared--;
}

/* Into the prepared list, best first (a better job may have arrived since the others were taken). */
static void job_prepare(Job *j) {
        Manager *m = session_manager(j->session);
        Job *after = m->prepared_tail;

        assert(!j->prepared);
        while (after && job_compare(j, after) < 0)
                after = after->pprev;
        j->prepared = true;
        j->pprev = after;
        j->pnext = after ? after->pnext : m->prepared_head;
        if (j->pnext)
                j->pnext->pprev = j;
        else
                m->prepared_tail = j;
        if (after)
                after->pnext = j;
        else
                m->prepared_head = j;
        m->n_prepared++;
}

/* The job stops waiting for fetches (and gives its slot back). */
static void job_unwait(Job *j) {
        Manager *m = session_manager(j->session);

        if (!j->fetching)
                return;
        if (j->wprev)
                j->wprev->wnext = j->wnext;
        else
                m->fetch_waiters = j->wnext;
        if (j->wnext)
                j->wnext->wprev = j->wprev;
        j->wprev = j->wnext = NULL;
        j->waiting_for = mfree(j->waiting_for);
        j->n_waiting_for = 0;
        j->fetching = false;
        if (!j->prepared)
                m->running--;
}

static Job *job_free(Job *j) {
        if (!j)
                return NULL;
        Manager *m = session_manager(j->session);
        SessionJobs *jobs = session_jobs(j->session);

        if (j->execution) {
                j->execution = execution_free(j->execution);
                if (!j->prepared)
                        m->running--;
        } else if (j->fetching)
                job_unwait(j);
        else
                (void) prioq_remove(m->queue, j, &j->queue_idx);
        job_unprepare(j);
        job_unpin_layers(j);
        cache_layer_error_done(&j->pins);
        if (j->prev)
                j->prev->next = j->next;
        else
                jobs->head = j->next;
        if (j->next)
                j->next->prev = j->prev;
        jobs->n--;
        if (j->submit)
                protobuf_c_message_free_unpacked(&j->submit->base, NULL);
        free(j);
        return NULL;
}

/* Higher priority first, then the longest estimate first, but short jobs (or new ones, with no estimate) in
 * the order they came: the order of jobs of a few milliseconds hardly changes when the run ends, and a
 * runner submits the cases of each test binary together, which a full cache then keeps together too.
 * Ordered by their estimates, every binary's cases spread over the whole run, and least recently used
 * eviction took each binary out between two of its cases (go-playground/locales: 3.2 GB of test binaries in
 * a 1 GB cache, 219 s against 49 s for go test). */
int job_compare(const void *a, const void *b) {
        const Job *x = a, *y = b;
        const Maelstrom__V1__JobSpec *p = x->submit->spec, *q = y->submit->spec;
        if (p->priority != q->priority)
                return p->priority > q->priority ? -1 : 1;
        uint64_t dp = p->estimated_duration_usec >= SHORT_JOB_USEC ? p->estimated_duration_usec : 0,
                 dq = q->estimated_duration_usec >= SHORT_JOB_USEC ? q->estimated_duration_usec : 0;
        if (dp != dq)
                return dp > dq ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void job_send_result(Job *j, Maelstrom__V1__JobResult *result) {
        Maelstrom__V1__Timing timing = MAELSTROM__V1__TIMING__INIT;

        result->job_id = j->id;
        if (!result->timing) {
                timing.queued_usec = (j->started ?: now(CLOCK_MONOTONIC)) - j->submitted;
                result->timing = &timing;
        }
        session_send_result(j->session, result);
}

/* Report an execution error that happened before the container existed, and drop the job. */
static void job_fail(Job *j, const char *step, int error, const char *message) {
        Maelstrom__V1__JobResult result = MAELSTROM__V1__JOB_RESULT__INIT;
        Maelstrom__V1__ExecutionError e = MAELSTROM__V1__EXECUTION_ERROR__INIT;

        e.step = (char *) step;
        e.error_number = abs(error);
        e.message = (char *) (message ?: (error != 0 ? strerror(abs(error)) : ""));
        result.outcome_case = MAELSTROM__V1__JOB_RESULT__OUTCOME_ERROR;
        result.error = &e;
        job_send_result(j, &result);
        job_free(j);
}

static void output_to_proto(ExecOutput *o, Maelstrom__V1__JobOutput *p) {
        p->data.data = (uint8_t *) o->data;
        p->data.len = o->size;
        p->truncated = o->truncated;
}

static void on_job_done(Execution *e, ExecResult *res, void *userdata) {
        Job *j = userdata;
        Manager *m = session_manager(j->session);
        Maelstrom__V1__JobResult result = MAELSTROM__V1__JOB_RESULT__INIT;
        Maelstrom__V1__JobOutput out = MAELSTROM__V1__JOB_OUTPUT__INIT,
                                 err = MAELSTROM__V1__JOB_OUTPUT__INIT;
        Maelstrom__V1__ExecutionError error = MAELSTROM__V1__EXECUTION_ERROR__INIT;
        Maelstrom__V1__Timing timing = MAELSTROM__V1__TIMING__INIT;

        switch (res->outcome) {
        case EXEC_EXITED:
                result.outcome_case = MAELSTROM__V1__JOB_RESULT__OUTCOME_EXITED;
                result.exited = res->status;
                break;
        case EXEC_SIGNALED:
                result.outcome_case = MAELSTROM__V1__JOB_RESULT__OUTCOME_SIGNALED;
                result.signaled = res->status;
                break;
        case EXEC_TIMED_OUT:
                result.outcome_case = MAELSTROM__V1__JOB_RESULT__OUTCOME_TIMED_OUT;
                result.timed_out = true;
                break;
        case EXEC_ERROR:
        case _EXEC_OUTCOME_MAX:
        case _EXEC_OUTCOME_INVALID:
                result.outcome_case = MAELSTROM__V1__JOB_RESULT__OUTCOME_ERROR;
                error.step = res->error_step ?: (char *) "run";
                error.error_number = res->error_errno;
                error.message = (char *) (res->error_errno ? strerror(res->error_errno) : "");
                result.error = &error;
                break;
        }
        output_to_proto(&res->out, &out);
        output_to_proto(&res->err, &err);
        result.standard_output = &out;
        result.standard_error = &err;
        timing.queued_usec = j->started - j->submitted;
        timing.setup_usec = res->setup_usec;
        timing.run_usec = res->run_usec;
        result.timing = &timing;

        /* The execution is over: job_free() must not kill it.  Its slot goes to the next job before the
         * result is sent. */
        j->execution = execution_free(j->execution);
        if (!j->prepared) /* else it failed while waiting for a slot */
                m->running--;
        job_unprepare(j);
        manager_dispatch(m);

        job_send_result(j, &result);
        exec_result_done(res);
        job_free(j);
}

/* The job waits for blob d: fetched from the broker (fetch), or copied from a local client's file
 * (manager_copy() is under way), or uploaded by a client on the worker's socket (manager_blob_stored() says
 * when it is there). */
static int job_wait_for(Job *j, const Digest *d, bool fetch) {
        Digest *w;
        int r;

        for (size_t i = 0; i < j->n_waiting_for; i++)
                if (digest_equal(&j->waiting_for[i], d))
                        return 0;
        if (fetch) {
                r = manager_fetch(session_manager(j->session), d);
                if (r < 0)
                        return r;
        }
        w = reallocarray(j->waiting_for, j->n_waiting_for + 1, sizeof(Digest));
        if (!w)
                return -ENOMEM;
        j->waiting_for = w;
        j->waiting_for[j->n_waiting_for++] = *d;
        return 0;
}

static bool digest_is_empty_data(const Digest *d) {
        Digest empty;
        digest_buffer("", 0, &empty);
        return digest_equal(d, &empty);
}

static int cache_put_empty_blob(Cache *c, const Digest *d, CacheEntry **ret) {
        _cleanup_(cache_blob_writer_freep) CacheBlobWriter *w = NULL;
        int r = cache_blob_begin(c, d, 0, &w);
        if (r < 0)
                return r;
        return cache_blob_finish(w, ret);
}

/* dst takes over src's pins (an entry is unpinned if dst cannot take it). */
static int pins_take(CacheLayerError *dst, CacheLayerError *src) {
        int r = 0;

        for (size_t i = 0; i < src->n_held; i++) {
                int k = cache_layer_error_keep(dst, src->held[i]);
                if (k < 0 && r == 0)
                        r = k;
        }
        src->held = mfree(src->held);
        src->n_held = 0;
        return r;
}

/* Make a layer's directory ready in the cache, taking missing blobs from the local client's files. */
static int job_get_layer(Job *j, const Maelstrom__V1__Layer *l, CacheEntry **ret, char **reterr_step) {
        Manager *m = session_manager(j->session);
        bool waiting = false; /* for a blob of this layer (which another layer of the job may want too) */
        CacheEntryKind kind;
        Digest d;
        int r;

        switch (l->kind) {
        case MAELSTROM__V1__LAYER_KIND__LAYER_KIND_TAR:
                kind = CACHE_LAYER_TAR;
                break;
        case MAELSTROM__V1__LAYER_KIND__LAYER_KIND_MANIFEST:
                kind = CACHE_LAYER_MANIFEST;
                break;
        case MAELSTROM__V1__LAYER_KIND__LAYER_KIND_UNSPECIFIED:
        case _MAELSTROM__V1__LAYER_KIND_IS_INT_SIZE:
        default:
                *reterr_step = strdup("layer: unknown kind");
                return -EBADMSG;
        }
        r = digest_from_bytes(l->digest.data, l->digest.len, &d);
        if (r < 0) {
                *reterr_step = strdup("layer: bad digest");
                return r;
        }

        /* At most two rounds: the layer blob itself, then (for a manifest) the file blobs it names.  What a
         * round found and added stays pinned in j->pins for the rounds after (and while blobs are fetched). */
        for (unsigned round = 0;; round++) {
                _cleanup_(cache_layer_error_done) CacheLayerError e = {};
                char hex[DIGEST_HEX_SIZE];

                if (waiting)
                        return -EAGAIN;
                r = cache_get_layer(m->cache, kind, &d, ret, &e);
                if (r != -ENOENT || round >= 2) {
                        if (r < 0) {
                                digest_to_hex(&d, hex);
                                if (asprintf(reterr_step, "prepare layer %s%s%s", hex, e.message ? ": " : "",
                                             strempty(e.message)) < 0)
                                        *reterr_step = NULL;
                        }
                        return r;
                }
                for (size_t i = 0; i < e.n_missing; i++) {
                        const char *path = session_local_blob(j->session, &e.missing[i]);
                        CacheEntry *added;
                        digest_to_hex(&e.missing[i], hex);
                        if (digest_is_empty_data(&e.missing[i])) {
                                /* No need for a file to copy nothing from (clients name /dev/null). */
                                r = cache_put_empty_blob(m->cache, &e.missing[i], &added);
                                if (r >= 0)
                                        r = cache_layer_error_keep(&e, added);
                                if (r < 0) {
                                        *reterr_step = strdup("store an empty blob");
                                        return r;
                                }
                                continue;
                        }
                        if (!path && !m->local) {
                                /* Fetched from the broker, or uploaded by a client on the worker's socket;
                                 * the job waits (job_start() says -EAGAIN). */
                                r = job_wait_for(j, &e.missing[i], session_is_broker(j->session));
                                if (r < 0) {
                                        if (asprintf(reterr_step, "fetch blob %s from the broker", hex) < 0)
                                                *reterr_step = NULL;
                                        return r;
                                }
                                waiting = true;
                                continue;
                        }
                        if (!path) {
                                if (asprintf(reterr_step, "prepare layer: blob %s is not available",
                                             hex) < 0)
                                        *reterr_step = NULL;
                                return -ENOENT;
                        }
                        r = manager_copy(m, path, &e.missing[i], &added);
                        if (r > 0)
                                r = cache_layer_error_keep(&e, added);
                        else if (r == 0) {
                                /* Copied on a thread: the job waits as for a fetch. */
                                r = job_wait_for(j, &e.missing[i], /* fetch= */ false);
                                waiting = true;
                        }
                        if (r < 0) {
                                if (asprintf(reterr_step, "copy '%s' into the cache", path) < 0)
                                        *reterr_step = NULL;
                                return r;
                        }
                }
                /* (An entry that cannot be kept is only added again.) */
                (void) pins_take(&j->pins, &e);
        }
}

static int mount_from_proto(const Maelstrom__V1__Mount *p, ExecMount *ret) {
        ExecMount x = { .mount_point = p->mount_point, .read_only = p->read_only };

        switch (p->type) {
        case MAELSTROM__V1__MOUNT_TYPE__MOUNT_TYPE_TMP:
                x.type = MOUNT_TMP;
                break;
        case MAELSTROM__V1__MOUNT_TYPE__MOUNT_TYPE_PROC:
                x.type = MOUNT_PROC;
                break;
        case MAELSTROM__V1__MOUNT_TYPE__MOUNT_TYPE_SYS:
                x.type = MOUNT_SYS;
                break;
        case MAELSTROM__V1__MOUNT_TYPE__MOUNT_TYPE_DEVPTS:
                x.type = MOUNT_DEVPTS;
                break;
        case MAELSTROM__V1__MOUNT_TYPE__MOUNT_TYPE_MQUEUE:
                x.type = MOUNT_MQUEUE;
                break;
        case MAELSTROM__V1__MOUNT_TYPE__MOUNT_TYPE_BIND:
                x.type = MOUNT_BIND;
                x.source = p->local_path;
                if (isempty(x.source) || x.source[0] != '/')
                        return -EINVAL;
                break;
        case MAELSTROM__V1__MOUNT_TYPE__MOUNT_TYPE_DEVICES:
                x.type = MOUNT_DEVICES;
                for (size_t i = 0; i < p->n_devices; i++) {
                        Device dev = device_from_string(p->devices[i]);
                        if (dev < 0)
                                return -EINVAL;
                        x.devices |= 1u << dev;
                }
                break;
        case MAELSTROM__V1__MOUNT_TYPE__MOUNT_TYPE_UNSPECIFIED:
        case _MAELSTROM__V1__MOUNT_TYPE_IS_INT_SIZE:
        default:
                return -EINVAL;
        }
        if (x.type != MOUNT_DEVICES && (isempty(x.mount_point) || x.mount_point[0] != '/'))
                return -EINVAL;
        *ret = x;
        return 0;
}

static void on_tty_output(Execution *e, const void *data, size_t size, void *userdata) {
        Job *j = userdata;
        Maelstrom__V1__ServerMessage msg = MAELSTROM__V1__SERVER_MESSAGE__INIT;
        Maelstrom__V1__TtyOutput out = MAELSTROM__V1__TTY_OUTPUT__INIT;

        out.job_id = j->id;
        out.data.data = (uint8_t *) data;
        out.data.len = size;
        msg.kind_case = MAELSTROM__V1__SERVER_MESSAGE__KIND_TTY_OUTPUT;
        msg.tty_output = &out;
        session_send(j->session, &msg);
}

static void job_start(Job *j) {
        Manager *m = session_manager(j->session);
        const Maelstrom__V1__JobSpec *spec = j->submit->spec;
        _cleanup_strv_free_ char **layer_paths = NULL;
        _cleanup_free_ ExecMount *mounts = NULL;
        _cleanup_free_ const char **args = NULL, **env = NULL;
        int r;

        if (j->started == 0 && !j->prepared)
                j->started = now(CLOCK_MONOTONIC);
        /* What the last attempt pinned, until this one has pinned what it uses. */
        _cleanup_(cache_layer_error_done) _unused_ CacheLayerError before = j->pins;
        j->pins = (CacheLayerError) {};

        j->layers = calloc(spec->n_layers ?: 1, sizeof(CacheEntry *));
        layer_paths = calloc(spec->n_layers + 1, sizeof(char *));
        mounts = calloc(spec->n_mounts ?: 1, sizeof(ExecMount));
        args = calloc(spec->n_arguments + 1, sizeof(char *));
        env = calloc(spec->n_environment + 1, sizeof(char *));
        if (!j->layers || !layer_paths || !mounts || !args || !env)
                return job_fail(j, "prepare job", ENOMEM, NULL);
        j->n_layers = spec->n_layers;

        for (size_t i = 0; i < spec->n_layers; i++) {
                _cleanup_free_ char *step = NULL;
                r = job_get_layer(j, spec->layers[i], &j->layers[i], &step);
                if (r == -EAGAIN)
                        continue; /* the other layers' blobs are fetched meanwhile too */
                if (r < 0)
                        return job_fail(j, step ?: "prepare layer", r, NULL);
                r = cache_entry_path(j->layers[i], &layer_paths[i]);
                if (r < 0)
                        return job_fail(j, "prepare layer", r, NULL);
        }
        if (j->n_waiting_for > 0) {
                /* Hold a slot while the blobs arrive, then start over (jobs_fetched()), keeping the layers
                 * made meanwhile. */
                for (size_t i = 0; i < spec->n_layers; i++) {
                        layer_paths[i] = mfree(layer_paths[i]);
                        if (j->layers[i])
                                (void) cache_layer_error_keep(&j->pins, TAKE_PTR(j->layers[i]));
                }
                job_unpin_layers(j);
                j->fetching = true;
                j->wnext = m->fetch_waiters;
                if (m->fetch_waiters)
                        m->fetch_waiters->wprev = j;
                m->fetch_waiters = j;
                if (!j->prepared)
                        m->running++;
                return;
        }
        for (size_t i = 0; i < spec->n_mounts; i++)
                if (mount_from_proto(spec->mounts[i], &mounts[i]) < 0)
                        return job_fail(j, "job spec: invalid mount", EINVAL, NULL);
        for (size_t i = 0; i < spec->n_arguments; i++)
                args[i] = spec->arguments[i];
        for (size_t i = 0; i < spec->n_environment; i++)
                env[i] = spec->environment[i];

        ExecSpec x = {
                .layers = (const char *const *) layer_paths,
                .n_layers = spec->n_layers,
                .mounts = mounts,
                .n_mounts = spec->n_mounts,
                .network = (Network) spec->network,
                .writable = spec->enable_writable_file_system,
                .working_directory = isempty(spec->working_directory) ? NULL : spec->working_directory,
                .user = spec->user,
                .group = spec->group,
                .program = spec->program,
                .arguments = args,
                .environment = env,
                .timeout = spec->timeout_usec,
                .inline_limit = m->inline_limit,
                .tty = spec->tty != NULL,
                .rows = spec->tty ? (unsigned short) spec->tty->rows : 0,
                .columns = spec->tty ? (unsigned short) spec->tty->columns : 0,
                .seccomp = m->seccomp,
                .gated = j->prepared,
        };
        r = executor_start(m->executor, &x, on_job_done, spec->tty ? on_tty_output : NULL, j, &j->execution);
        if (r < 0)
                return job_fail(j, "start the container", r, NULL);
        if (j->prepared)
                return; /* RUNNING once it has a slot */
        m->running++;
        session_send_state(j->session, j->id, MAELSTROM__V1__JOB_STATE__JOB_STATE_RUNNING);
}

/* A prepared job takes a free slot: its container (if it is made yet) goes on to run the job. */
static void job_release(Job *j) {
        Manager *m = session_manager(j->session);
        int r;

        job_unprepare(j);
        m->running++;
        j->started = now(CLOCK_MONOTONIC);
        if (j->execution) {
                r = execution_release(j->execution);
                if (r < 0)
                        return job_fail(j, "release the prepared container", r, NULL);
        } /* else its blobs are still arriving, and it starts at once when they are there */
        session_send_state(j->session, j->id, MAELSTROM__V1__JOB_STATE__JOB_STATE_RUNNING);
}

/* Prepare ahead only jobs that run unattended: a tty job's user is waiting for it to start. */
static bool job_preparable(const Job *j) {
        return !j->submit->spec->tty;
}

void jobs_fetched(Manager *m, const Digest *d, int error, const char *failed_step) {
        Job *next;

        for (Job *j = m->fetch_waiters; j; j = next) {
                bool found = false;

                next = j->wnext;
                for (size_t i = 0; i < j->n_waiting_for; i++)
                        if (digest_equal(&j->waiting_for[i], d)) {
                                j->waiting_for[i] = j->waiting_for[--j->n_waiting_for];
                                found = true;
                                break;
                        }
                if (!found)
                        continue;
                if (error < 0) {
                        char hex[DIGEST_HEX_SIZE], step[128];
                        digest_to_hex(d, hex);
                        snprintf(step, sizeof step, "fetch blob %s from the broker", hex);
                        job_fail(j, failed_step ?: step, error, NULL);
                        continue;
                }
                CacheEntry *e;
                if (cache_get(m->cache, CACHE_BLOB, d, &e) >= 0)
                        (void) cache_layer_error_keep(&j->pins, e);
                if (j->n_waiting_for == 0) {
                        job_unwait(j);
                        job_start(j);
                        next = m->fetch_waiters; /* job_start() may have changed the list */
                }
        }
        manager_dispatch(m);
}

void manager_size_netns_pool(Manager *m) {
        /* Network namespaces for the jobs that run and those prepared (as many again), and a few to spare
         * for those that jobs leave sockets in (thrown away). */
        executor_set_netns_pool_max(m->executor, 2 * (size_t) m->slots + 2);
}

/* Run jobs on the free slots: the prepared ones first (they were the queue's best when taken), unless a
 * better job has arrived since.  Then, while every slot is busy, prepare up to as many jobs again as there
 * are slots: their containers are set up while the slots' jobs run, so that a slot does not idle through the
 * next job's set-up, and each waits before its execve until a slot frees (the job's timeout and its RUNNING
 * state start only then). */
void manager_dispatch(Manager *m) {
        Job *j;

        while (m->running < m->slots) {
                Job *q = prioq_peek(m->queue);
                if (m->prepared_head && (!q || job_compare(m->prepared_head, q) <= 0))
                        job_release(m->prepared_head);
                else if (q) {
                        j = prioq_pop(m->queue);
                        job_start(j);
                } else
                        break;
        }
        while (m->n_prepared < m->slots && (j = prioq_peek(m->queue)) && job_preparable(j)) {
                j = prioq_pop(m->queue);
                job_prepare(j);
                job_start(j);
        }
        manager_notify_status(m);
}

static bool network_valid(int n) {
        return IN_SET(n, MAELSTROM__V1__NETWORK__NETWORK_DISABLED, MAELSTROM__V1__NETWORK__NETWORK_LOOPBACK,
                      MAELSTROM__V1__NETWORK__NETWORK_LOCAL);
}

int job_submit(Session *s, void *submit_message) {
        Maelstrom__V1__Submit *submit = submit_message;
        Manager *m = session_manager(s);
        SessionJobs *jobs = session_jobs(s);
        Job *j;
        int r;

        /* Ids increase within a session, so a repeated one is caught without a lookup. */
        if (submit->job_id <= jobs->last_id)
                return -EEXIST;
        if (jobs->n >= SESSION_MAX_JOBS)
                return -E2BIG;

        j = calloc(1, sizeof(Job));
        if (!j)
                return -ENOMEM;
        j->session = s;
        j->submit = submit;
        j->id = submit->job_id;
        j->submitted = now(CLOCK_MONOTONIC);
        j->seq = ++m->next_seq;
        j->queue_idx = PRIOQ_IDX_NULL;
        j->next = jobs->head;
        if (jobs->head)
                jobs->head->prev = j;
        jobs->head = j;
        jobs->n++;
        jobs->last_id = submit->job_id;

        const Maelstrom__V1__JobSpec *spec = submit->spec;
        const char *problem = NULL;
        if (isempty(spec->program))
                problem = "job spec: no program";
        else if (spec->n_layers == 0)
                problem = "job spec: no layers";
        else if (!network_valid(spec->network))
                problem = "job spec: invalid network";
        else if (spec->priority < -128 || spec->priority > 127)
                problem = "job spec: priority out of range";
        else if (m->draining && !session_is_broker(s))
                problem = "the worker is draining: it takes no new jobs";
        if (problem) {
                /* The peer's mistake costs that job only; the job took the message either way. */
                job_fail(j, problem, EINVAL, NULL);
                return 0;
        }

        r = prioq_put(m->queue, j, &j->queue_idx);
        if (r < 0) {
                j->submit = NULL; /* the caller still owns it on failure */
                job_free(j);
                return r;
        }
        session_send_state(s, j->id, MAELSTROM__V1__JOB_STATE__JOB_STATE_PENDING);
        manager_dispatch(m);
        return 0;
}

static Job *job_find(Session *s, uint64_t id) {
        for (Job *j = session_jobs(s)->head; j; j = j->next)
                if (j->id == id)
                        return j;
        return NULL;
}

int job_cancel(Session *s, uint64_t job_id) {
        Job *j = job_find(s, job_id);
        if (!j)
                return 0; /* finished already */
        Manager *m = session_manager(s);
        job_free(j);
        manager_dispatch(m);
        return 0;
}

int job_tty(Session *s, const void *client_message) {
        const Maelstrom__V1__ClientMessage *msg = client_message;
        Job *j;

        if (msg->kind_case == MAELSTROM__V1__CLIENT_MESSAGE__KIND_TTY_INPUT) {
                j = job_find(s, msg->tty_input->job_id);
                if (!j || !j->execution)
                        return 0;
                return execution_tty_write(j->execution, msg->tty_input->data.data,
                                           msg->tty_input->data.len);
        }
        j = job_find(s, msg->tty_resize->job_id);
        if (!j || !j->execution || !msg->tty_resize->size)
                return 0;
        return execution_tty_resize(j->execution, (unsigned short) msg->tty_resize->size->rows,
                                    (unsigned short) msg->tty_resize->size->columns);
}

void jobs_drop_session(Session *s) {
        SessionJobs *jobs = session_jobs(s);
        while (jobs->head)
                job_free(jobs->head);
}
