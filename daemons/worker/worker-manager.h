/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The worker's Manager: owns the event loop, the gRPC server, the executor, the cache, the client sessions
 * and the job queue.  In local mode (--local) it serves one client over an inherited socketpair and exits
 * when that client goes away. */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "basic/prioq.h"
#include "cache/cache.h"
#include "config/config.h"
#include "executor/executor.h"
#include "rpc/rpc.h"

typedef struct Job Job;
typedef struct Session Session;

typedef struct Manager {
        sd_event *event;
        RpcContext *rpc;
        RpcServer *server;
        Executor *executor;
        Cache *cache;
        char *cache_root;

        unsigned slots;
        unsigned running;
        uint64_t inline_limit;
        bool seccomp;
        bool local;

        Session *sessions;   /* list */
        unsigned n_sessions;
        bool had_session;

        Prioq *queue;        /* jobs waiting for a slot, best first (job_compare) */
        uint64_t next_seq;   /* arrival order of jobs, for fairness among equals */
} Manager;

int manager_new(const Config *config, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Local mode: serve JobService on the connected socket fd (taken). */
int manager_serve_local_take(Manager *m, int fd);
int manager_run(Manager *m);

/* ---- worker-session.c ---- */
int manager_add_methods(Manager *m);
void sessions_free_all(Manager *m);
void session_send_state(Session *s, uint64_t job_id, int state);
/* Sends the packed ServerMessage; errors are logged and the session is closed. */
void session_send(Session *s, const void *server_message);
/* The host path a local client said holds the blob d, or NULL. */
const char *session_local_blob(Session *s, const Digest *d);
Manager *session_manager(Session *s);

/* ---- worker-job.c ---- */
/* Takes the unpacked Submit message (a Maelstrom__V1__Submit *). */
int job_submit(Session *s, void *submit);
int job_cancel(Session *s, uint64_t job_id);
/* All jobs of a session: dropped if queued, killed if running, without results. */
void jobs_drop_session(Session *s);
void manager_dispatch(Manager *m);
int job_compare(const void *a, const void *b);
