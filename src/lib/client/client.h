/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The client library: what maelstrom-run and the test runners use to run jobs.  It starts a transient local
 * worker (maelstrom-worker --local on a socketpair) and reaps it, prepares each job's layers (hashing a file
 * once and reusing that), submits the jobs, and delivers their state changes and results through callbacks
 * on the caller's sd-event loop. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "spec/spec.h"

typedef struct Client Client;
typedef struct ClientJob ClientJob;

typedef struct ClientOptions {
        const char *project_dir; /* relative paths in layers and bind mounts are relative to it */
        const char *cache_dir;   /* the client's cache: manifests/, cached-digests, local-worker/ */
        unsigned slots;          /* of the local worker */
        uint64_t cache_size;     /* of the local worker */
        uint64_t inline_limit;
        const char *log_level;   /* passed to the local worker; NULL = its default */
        const char *worker_path; /* NULL: maelstrom-worker next to this program, else in the installed
                                  * bindir */
        char *const *template_vars; /* "name=value" for layer paths (e.g. "build-dir=..."); may be NULL */
        const char *broker;      /* "host:port": jobs run on the broker's cluster, except those with a bind
                                  * mount, the local network or a tty, which run on the local worker; NULL =
                                  * everything on the local worker */
} ClientOptions;

typedef enum ClientJobState {
        CLIENT_JOB_PENDING,
        CLIENT_JOB_RUNNING,
        _CLIENT_JOB_STATE_MAX,
        _CLIENT_JOB_STATE_INVALID = -EINVAL,
} ClientJobState;

typedef enum ClientJobOutcome {
        CLIENT_JOB_EXITED,    /* status = exit code */
        CLIENT_JOB_SIGNALED,  /* status = signal number */
        CLIENT_JOB_TIMED_OUT,
        CLIENT_JOB_ERROR,     /* error says what failed */
        _CLIENT_JOB_OUTCOME_MAX,
        _CLIENT_JOB_OUTCOME_INVALID = -EINVAL,
} ClientJobOutcome;

typedef struct ClientJobOutput {
        const void *data;
        size_t size;
        uint64_t truncated;
} ClientJobOutput;

typedef struct ClientJobResult {
        ClientJobOutcome outcome;
        int status;
        const char *error; /* CLIENT_JOB_ERROR: "<step>: <reason>" */
        ClientJobOutput out, err;
        usec_t queued_usec, setup_usec, run_usec;
} ClientJobResult;

typedef struct ClientJobHandlers {
        void (*state)(ClientJob *j, ClientJobState state, void *userdata);
        /* Called exactly once; the job is freed when it returns.  The result is valid during the call
         * only. */
        void (*result)(ClientJob *j, const ClientJobResult *result, void *userdata);
        void (*tty_output)(ClientJob *j, const void *data, size_t size, void *userdata);
} ClientJobHandlers;

/* Starts the local worker.  Call before anything else starts threads in this process (the worker is forked
 * before gRPC starts its own); blocks SIGCHLD, SIGTERM, SIGINT and SIGHUP for the loop to handle. */
int client_new(sd_event *event, const ClientOptions *options, Client **ret, char **reterr_message);
/* Cancels what still runs, closes the session, waits for the local worker to exit, saves the digest
 * cache. */
Client *client_free(Client *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Client *, client_free);

/* A layer is made once per run from the files it names, for every job that names the same spec.  When those
 * files may have changed (a test binary rebuilt while jobs ran), this makes each layer again for the next
 * job that names it; the jobs already submitted keep theirs. */
int client_forget_layers(Client *c);

/* Prepares the job's layers and submits it.  Errors in the job itself (a missing layer file, a bad path) are
 * returned with *reterr_message saying what is wrong; nothing is submitted then. */
int client_submit(Client *c, const ResolvedJob *job, const ClientJobHandlers *handlers, void *userdata,
                  ClientJob **ret, char **reterr_message);
/* Cancels and frees the job: no result is delivered. */
void client_job_cancel(ClientJob *j);
int client_job_tty_write(ClientJob *j, const void *data, size_t size);
int client_job_tty_resize(ClientJob *j, unsigned short rows, unsigned short columns);

/* Jobs submitted whose result has not been delivered yet. */
size_t client_jobs_outstanding(const Client *c);
/* The bytes of the distinct files (blobs) that this client's layers have named to the local worker. */
uint64_t client_local_blob_bytes(const Client *c);

/* Why the local worker, or the client's session with it, ended; NULL while both are there. */
const char *client_local_worker_gone(const Client *c);
