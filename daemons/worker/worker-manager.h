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
#include "blobrpc/blobrpc.h"
#include "cache/cache.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "executor/executor.h"
#include "rpc/rpc.h"

typedef struct Job Job;
typedef struct Session Session;
typedef struct Fetch Fetch;
typedef struct Copy Copy;

typedef struct Manager {
        sd_event *event;
        RpcContext *rpc;
        RpcServer *server;
        Executor *executor;
        Cache *cache;
        BlobService *blobs;
        char *cache_root;

        unsigned slots;
        unsigned running;
        uint64_t inline_limit;
        bool seccomp;
        bool local;
        DaemonStatus status;    /* STATUS= (rate limited; not for a local worker) */

        Session *sessions;   /* list */
        unsigned n_sessions;
        bool had_session;
        sd_event_source *client_hangup; /* local mode: the client's connection, watched for its end */

        Prioq *queue;        /* jobs waiting for a slot, best first (job_compare) */
        /* Prepared ahead: taken from the queue's head while every slot is busy, their containers set up,
         * each waiting before its execve for a slot (worker-job.c).  Best first, like the queue. */
        Job *prepared_head, *prepared_tail;
        unsigned n_prepared;
        uint64_t next_seq;   /* arrival order of jobs, for fairness among equals */

        /* Cluster mode */
        char *broker;              /* "host:port" */
        RpcChannel *broker_channel;
        Session *broker_session;   /* the Attach stream, while connected */
        sd_event_source *reconnect_timer;
        usec_t backoff;
        bool stopping;
        Fetch *fetches;            /* blobs being fetched from the broker (list) */
        Job *fetch_waiters;        /* jobs holding a slot while their blobs arrive (list) */

        /* Local clients' files being copied into the cache (worker-copy.c) */
        Copy *copies;              /* in the order they came; the first ones run */
        unsigned n_copies_running;
        int copy_pipe[2];          /* the copying threads say here when they are done */
        sd_event_source *copy_source;

        /* Local clients on the sockets from systemd (worker-listen.c) */
        usec_t refusal_log_start;  /* rate limit of the messages about refused peers */
        unsigned n_refusals_logged;

        /* Under systemd and on D-Bus (worker-control.c) */
        DaemonControl *control;    /* SIGHUP and the watchdog; not in local mode */
        BusService *bus;           /* the D-Bus object (worker-dbus.c), or NULL */
        bool draining;             /* finishing what runs, taking nothing new */
} Manager;

int manager_new(const Config *config, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Local mode: serve JobService on the connected socket fd (taken). */
int manager_serve_local_take(Manager *m, int fd);
int manager_run(Manager *m);

/* ---- worker-control.c: under systemd, and what the D-Bus object does ---- */
/* The highest slot count (as the slots value allows). */
#define WORKER_SLOTS_MAX 1000U
/* Reloading on SIGHUP and the watchdog (nothing in local mode).  config is borrowed: it must outlive m. */
int manager_control_start(Manager *m, const Config *config);
void manager_control_done(Manager *m);
/* SetSlots: -EINVAL outside 1..WORKER_SLOTS_MAX.  Ends draining; the broker is told. */
int manager_set_slots(Manager *m, unsigned slots);
/* Drain: running (and queued) jobs finish; the broker sends nothing new, local clients' new jobs are
 * refused. */
void manager_drain(Manager *m);
/* PruneCache: evicts every cache entry that no job uses. */
int manager_prune_cache(Manager *m);
/* Stop: exits the loop cleanly (running jobs are killed, the broker runs them elsewhere). */
void manager_stop(Manager *m);

/* ---- worker-dbus.c: org.maelstrom.Worker1 ---- */
/* Exports the object on the bus config's "bus" value names (its name gets the "instance" value as a suffix);
 * m->bus stays NULL without D-Bus.  bus_service_mark_changed(m->bus) when what the properties show
 * changes. */
int manager_dbus_start(Manager *m, const Config *config);

/* ---- worker-listen.c ---- */
/* FileDescriptorName= of maelstrom-worker.socket. */
#define WORKER_LISTEN_FD_NAME "jobs"
/* Serves JobService on the listening sockets systemd passed (named WORKER_LISTEN_FD_NAME; others are
 * closed).  Returns how many it serves. */
int manager_listen_fds(Manager *m);
/* 0 if the peer of the connected unix socket fd may use the worker: root, our own user, or a member of the
 * socket file's group; -EPERM if not.  *ret_uid gets the peer's uid either way (when known). */
int manager_check_peer(int fd, uid_t *ret_uid);
/* A client uploaded the blob d (PutBlob): the jobs waiting for it go on. */
void manager_blob_stored(const Digest *d, void *userdata);

/* ---- worker-broker.c (cluster mode) ---- */
/* Dials the broker and attaches; on failure or when the connection is lost, retries with backoff. */
int manager_connect(Manager *m);
/* The Attach stream is gone: fetches are abandoned, a reconnection is scheduled. */
void manager_broker_lost(Manager *m);
/* Fetches d from the broker unless that is under way; job_fetched() is called when it is over. */
int manager_fetch(Manager *m, const Digest *d);
void fetches_free_all(Manager *m);
/* STATUS= for systemd (see DaemonStatus), and the D-Bus properties, after the state changed. */
void manager_notify_status(Manager *m);
void manager_send_status(void *userdata);
/* Tells the broker our slot count (0 while draining), if attached. */
void manager_send_slots(Manager *m);

/* ---- worker-session.c ---- */
int manager_add_methods(Manager *m);
void sessions_free_all(Manager *m);
/* A job's state, batched and held (JOB_STATE_HOLD_USEC) for its result or other states to go along. */
void session_send_state(Session *s, uint64_t job_id, int state);
/* Sends the ServerMessage; errors are logged and the session is closed. */
void session_send(Session *s, const void *server_message);
/* A job's result (a Maelstrom__V1__JobResult *), batched, and paced (JOB_RESULT_PACE_USEC) to a client. */
void session_send_result(Session *s, void *result);
/* Sends a message as it is (a WorkerMessage to the broker); errors as above. */
void session_send_message(Session *s, const void *message);
/* The host path a local client said holds the blob d, or NULL. */
const char *session_local_blob(Session *s, const Digest *d);
bool session_is_broker(Session *s);
/* The broker's Attach call, as a session whose "client" is the broker. */
int session_new_broker(Manager *m, RpcCall *call, Session **ret);
Manager *session_manager(Session *s);

/* ---- worker-job.c ---- */
/* Takes the unpacked Submit message (a Maelstrom__V1__Submit *). */
int job_submit(Session *s, void *submit);
int job_cancel(Session *s, uint64_t job_id);
/* All jobs of a session: dropped if queued, killed if running, without results. */
void jobs_drop_session(Session *s);
/* Start or release jobs as slots free, and prepare the next ones while none does. */
void manager_dispatch(Manager *m);
/* Size the executor's network namespace pools for the slots (and the jobs prepared ahead). */
void manager_size_netns_pool(Manager *m);
int job_compare(const void *a, const void *b);
/* A fetch or copy of blob d ended (error < 0: failed, failed_step says what failed, or NULL for the fetch
 * from the broker): the jobs waiting for it go on or fail. */
void jobs_fetched(Manager *m, const Digest *d, int error, const char *failed_step);

/* ---- worker-copy.c ---- */
/* Copies the local file path, which should hold blob d, into the cache: 1 when it is there (*ret, which may
 * be NULL, gets the entry, pinned), 0 when a copy is under way (jobs_fetched() is called when it is over),
 * or a negative errno. */
int manager_copy(Manager *m, const char *path, const Digest *d, CacheEntry **ret);
/* Waits for the copies under way and drops the others (at exit). */
void copies_free_all(Manager *m);
