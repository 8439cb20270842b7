/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* Clients (JobService Session), workers (WorkerService Attach) and the jobs between them. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "broker-manager.h"
#include "maelstrom/v1/cluster.pb-c.h"
#include "maelstrom/v1/job.pb-c.h"
#include "proto/proto-util.h"

/* Caps on what a peer can make us keep. */
#define CLIENT_MAX_JOBS 1000000U
#define JOB_MAX_LAYERS 4096U
#define WORKER_MAX_SLOTS 4096U
#define MAX_CLIENTS 1024U
#define MAX_WORKERS 1024U

static const RpcMethod method_session = { "/maelstrom.v1.JobService/Session", RPC_METHOD_BIDI_STREAMING };
static const RpcMethod method_attach = { "/maelstrom.v1.WorkerService/Attach", RPC_METHOD_BIDI_STREAMING };

typedef enum BrokerJobState {
        BROKER_JOB_AWAITING_ARTIFACTS,
        BROKER_JOB_PENDING,
        BROKER_JOB_RUNNING,
} BrokerJobState;

struct BrokerClient {
        Manager *manager;
        RpcCall *call;
        BrokerJob *jobs;         /* list */
        size_t n_jobs;
        uint64_t last_id;
        BrokerClient *prev, *next;
};

struct BrokerWorker {
        Manager *manager;
        RpcCall *call;
        char *name;
        bool attached;           /* said hello */
        bool drained;            /* DrainWorker: no new jobs, whatever slots it announces */
        SchedWorker sched;
        BrokerWorker *prev, *next;
};

struct BrokerJob {
        BrokerClient *client;
        uint64_t id;             /* the client's */
        uint64_t worker_job_id;  /* on the worker it runs on */
        Maelstrom__V1__Submit *submit; /* owned, as unpacked */
        BrokerJobState state;
        Digest *layers;
        CacheEntry **pins;       /* the layer blobs, pinned while the job needs them */
        BrokerManifest **manifests; /* of manifest layers, once their blob is there: their file blobs */
        size_t n_layers;
        SchedJob sched;
        BrokerJob *prev, *next;  /* in the client's list */
        BrokerJob *aprev, *anext; /* in the manager's awaiting list */
};

#define JOB_FROM_SCHED(j) ((BrokerJob *) ((char *) (j) - offsetof(BrokerJob, sched)))
#define WORKER_FROM_SCHED(w) ((BrokerWorker *) ((char *) (w) - offsetof(BrokerWorker, sched)))

/* r is what sending a message on call returned. */
static void send_checked(RpcCall *call, int r, const char *peer) {
        if (r < 0) {
                log_warning_errno(r, "Failed to send to a %s, closing its connection: %m", peer);
                (void) rpc_call_cancel(call);
        }
}

static void client_send(BrokerClient *c, const Maelstrom__V1__ServerMessage *msg) {
        send_checked(c->call, blob_call_send_message(c->call, msg), "client");
}

/* A batch of one item (see job.proto): results are paced, states may wait for company. */
static void client_send_result(BrokerClient *c, Maelstrom__V1__JobResult *result) {
        Maelstrom__V1__ServerMessage msg = MAELSTROM__V1__SERVER_MESSAGE__INIT;

        msg.n_results = 1;
        msg.results = &result;
        send_checked(c->call, blob_call_send_paced(c->call, &msg, JOB_RESULT_PACE_USEC), "client");
}

static void client_send_state(BrokerClient *c, uint64_t id, Maelstrom__V1__JobState state) {
        Maelstrom__V1__JobStateChange change = MAELSTROM__V1__JOB_STATE_CHANGE__INIT;
        Maelstrom__V1__JobStateChange *changes[] = { &change };
        Maelstrom__V1__ServerMessage msg = MAELSTROM__V1__SERVER_MESSAGE__INIT;

        change.job_id = id;
        change.state = state;
        msg.n_states = 1;
        msg.states = changes;
        send_checked(c->call, blob_call_send_batched(c->call, &msg, JOB_STATE_HOLD_USEC), "client");
}

/* Submit and Cancel, batched. */
static void worker_send_job_message(BrokerWorker *w, Maelstrom__V1__ClientMessage *job_msg) {
        Maelstrom__V1__BrokerMessage msg = MAELSTROM__V1__BROKER_MESSAGE__INIT;

        msg.n_jobs = 1;
        msg.jobs = &job_msg;
        send_checked(w->call, blob_call_send_batched(w->call, &msg, /* hold= */ 0), "worker");
}

static void awaiting_unlink(Manager *m, BrokerJob *j) {
        if (j->aprev)
                j->aprev->anext = j->anext;
        else
                m->awaiting = j->anext;
        if (j->anext)
                j->anext->aprev = j->aprev;
        j->aprev = j->anext = NULL;
        m->n_awaiting--;
}

/* Frees the job; a running one is cancelled on its worker first. */
static BrokerJob *job_free(BrokerJob *j) {
        if (!j)
                return NULL;
        Manager *m = j->client->manager;

        if (j->sched.worker) {
                Maelstrom__V1__ClientMessage msg = MAELSTROM__V1__CLIENT_MESSAGE__INIT;
                Maelstrom__V1__Cancel cancel = MAELSTROM__V1__CANCEL__INIT;
                BrokerWorker *w = WORKER_FROM_SCHED(j->sched.worker);

                cancel.job_id = j->worker_job_id;
                msg.kind_case = MAELSTROM__V1__CLIENT_MESSAGE__KIND_CANCEL;
                msg.cancel = &cancel;
                worker_send_job_message(w, &msg);
        }
        sched_job_remove(&m->scheduler, &j->sched);
        if (j->state == BROKER_JOB_AWAITING_ARTIFACTS)
                awaiting_unlink(m, j);
        for (size_t i = 0; i < j->n_layers; i++) {
                if (j->pins && j->pins[i])
                        cache_unpin(j->pins[i]);
                if (j->manifests && j->manifests[i])
                        manifest_table_release(m->manifests, j->manifests[i]);
        }
        free(j->pins);
        free(j->manifests);
        free(j->layers);
        if (j->prev)
                j->prev->next = j->next;
        else
                j->client->jobs = j->next;
        if (j->next)
                j->next->prev = j->prev;
        j->client->n_jobs--;
        if (j->submit)
                protobuf_c_message_free_unpacked(&j->submit->base, NULL);
        free(j);
        return NULL;
}

static int job_make_pending(BrokerJob *j) {
        Manager *m = j->client->manager;
        int r = sched_job_enqueue(&m->scheduler, &j->sched);
        if (r < 0)
                return r;
        if (j->state == BROKER_JOB_AWAITING_ARTIFACTS)
                awaiting_unlink(m, j);
        j->state = BROKER_JOB_PENDING;
        client_send_state(j->client, j->id, MAELSTROM__V1__JOB_STATE__JOB_STATE_PENDING);
        return 0;
}

static void job_fail(BrokerClient *c, uint64_t id, const char *step, const char *message) {
        Maelstrom__V1__JobResult result = MAELSTROM__V1__JOB_RESULT__INIT;
        Maelstrom__V1__ExecutionError e = MAELSTROM__V1__EXECUTION_ERROR__INIT;

        e.step = (char *) step;
        e.error_number = EINVAL;
        e.message = (char *) strempty(message);
        result.job_id = id;
        result.outcome_case = MAELSTROM__V1__JOB_RESULT__OUTCOME_ERROR;
        result.error = &e;
        client_send_result(c, &result);
        c->manager->n_completed++;
}

/* Takes what the job needs from the cache, pinned: its layer blobs, and the file blobs that its manifest
 * layers name.  Returns 1 once everything is there, 0 while something is missing, or a negative errno when a
 * layer is bad, with *reterr_message saying why (NULL if out of memory). */
static int job_gather(BrokerJob *j, char **reterr_message) {
        Manager *m = j->client->manager;
        const Maelstrom__V1__JobSpec *spec = j->submit->spec;
        bool complete = true;
        int r;

        for (size_t i = 0; i < j->n_layers; i++) {
                if (!j->pins[i] && cache_get(m->cache, CACHE_BLOB, &j->layers[i], &j->pins[i]) < 0) {
                        complete = false;
                        continue;
                }
                if (spec->layers[i]->kind != MAELSTROM__V1__LAYER_KIND__LAYER_KIND_MANIFEST)
                        continue;
                if (!j->manifests[i]) {
                        r = manifest_table_acquire(m->manifests, &j->layers[i], &j->manifests[i],
                                                   reterr_message);
                        if (r < 0)
                                return r;
                }
                if (broker_manifest_error(j->manifests[i])) {
                        *reterr_message = strdup(broker_manifest_error(j->manifests[i]));
                        return -EBADMSG;
                }
                if (!broker_manifest_complete(j->manifests[i]))
                        complete = false;
        }
        return complete;
}

/* The job left awaiting-artifacts: it is pending now, or failed (then freed) if a layer is bad.  Returns
 * whether it is pending; a negative errno if queueing it failed. */
static int job_gathered(BrokerJob *j, int gathered, const char *message) {
        if (gathered < 0) {
                job_fail(j->client, j->id, "layer", message ?: strerror(-gathered));
                job_free(j);
                return 0;
        }
        int r = job_make_pending(j);
        return r < 0 ? r : 1;
}

void manager_blob_stored(const Digest *d, void *userdata) {
        Manager *m = userdata;
        BrokerJob *next;
        bool any = false;

        bus_service_mark_changed(m->bus); /* CacheBytes */
        manifest_table_blob_stored(m->manifests, d);
        for (BrokerJob *j = m->awaiting; j; j = next) {
                _cleanup_free_ char *message = NULL;
                int r;

                next = j->anext;
                r = job_gather(j, &message);
                if (r == 0)
                        continue;
                BrokerClient *c = j->client;
                r = job_gathered(j, r, message);
                if (r < 0) {
                        log_warning("Out of memory queueing a job, dropping its client.");
                        (void) rpc_call_cancel(c->call);
                        continue;
                }
                any = any || r > 0;
        }
        if (any)
                manager_dispatch(m);
}

/* Takes submit on success. */
static int client_submit(BrokerClient *c, Maelstrom__V1__Submit *submit) {
        Manager *m = c->manager;
        const Maelstrom__V1__JobSpec *spec = submit->spec;
        _cleanup_free_ char *message = NULL;
        const char *invalid = NULL;
        BrokerJob *j;
        int r;

        if (submit->job_id <= c->last_id)
                return -EEXIST;
        if (c->n_jobs >= CLIENT_MAX_JOBS)
                return -E2BIG;
        c->last_id = submit->job_id;

        if (spec->n_layers == 0)
                invalid = "no layers";
        else if (spec->n_layers > JOB_MAX_LAYERS)
                invalid = "too many layers";
        else if (spec->priority < -128 || spec->priority > 127)
                invalid = "priority out of range";
        for (size_t i = 0; i < spec->n_mounts && !invalid; i++)
                if (spec->mounts[i]->type == MAELSTROM__V1__MOUNT_TYPE__MOUNT_TYPE_BIND)
                        /* A bind mount names the client's files: only its local worker can run it. */
                        invalid = "bind mounts run on the client's local worker";
        if (invalid) {
                job_fail(c, submit->job_id, "job spec", invalid);
                protobuf_c_message_free_unpacked(&submit->base, NULL);
                return 0;
        }

        j = calloc(1, sizeof(BrokerJob));
        if (!j)
                return -ENOMEM;
        j->client = c;
        j->id = submit->job_id;
        sched_job_init(&j->sched, 0, 0, NULL, 0);
        j->n_layers = spec->n_layers;
        j->layers = calloc(spec->n_layers, sizeof(Digest));
        j->pins = calloc(spec->n_layers, sizeof(CacheEntry *));
        j->manifests = calloc(spec->n_layers, sizeof(BrokerManifest *));
        j->next = c->jobs;
        if (c->jobs)
                c->jobs->prev = j;
        c->jobs = j;
        c->n_jobs++;
        j->state = BROKER_JOB_AWAITING_ARTIFACTS;
        m->n_awaiting++;
        j->anext = m->awaiting;
        if (m->awaiting)
                m->awaiting->aprev = j;
        m->awaiting = j;
        if (!j->layers || !j->pins || !j->manifests) {
                job_free(j);
                return -ENOMEM;
        }
        for (size_t i = 0; i < spec->n_layers; i++) {
                const ProtobufCBinaryData *digest = &spec->layers[i]->digest;
                r = digest_from_bytes(digest->data, digest->len, &j->layers[i]);
                if (r < 0) {
                        job_free(j);
                        return r;
                }
        }
        sched_job_init(&j->sched, spec->priority, spec->estimated_duration_usec, j->layers, j->n_layers);
        j->submit = submit;

        r = job_gather(j, &message);
        if (r == 0) {
                client_send_state(c, j->id, MAELSTROM__V1__JOB_STATE__JOB_STATE_AWAITING_ARTIFACTS);
                return 0;
        }
        r = job_gathered(j, r, message);
        if (r < 0) {
                j->submit = NULL; /* the caller frees it */
                job_free(j);
                return r;
        }
        if (r > 0)
                manager_dispatch(m);
        return 0;
}

static BrokerJob *client_find_job(BrokerClient *c, uint64_t id) {
        for (BrokerJob *j = c->jobs; j; j = j->next)
                if (j->id == id)
                        return j;
        return NULL;
}

static BrokerClient *client_free(BrokerClient *c) {
        if (!c)
                return NULL;
        Manager *m = c->manager;

        while (c->jobs)
                job_free(c->jobs);
        rpc_call_free(c->call);
        if (c->prev)
                c->prev->next = c->next;
        else
                m->clients = c->next;
        if (c->next)
                c->next->prev = c->prev;
        m->n_clients--;
        free(c);
        manager_dispatch(m);
        manager_notify_status(m);
        return NULL;
}

void clients_free_all(Manager *m) {
        while (m->clients)
                client_free(m->clients);
}

/* Takes *submit (sets it to NULL) unless it fails. */
static int client_take_submit(Maelstrom__V1__Submit **submit, void *userdata) {
        BrokerClient *c = userdata;
        int r;

        if (!(*submit)->spec)
                return log_warning_errno(SYNTHETIC_ERRNO(EBADMSG), "Submit without a job spec, closing.");
        r = client_submit(c, *submit);
        if (r < 0)
                return log_warning_errno(r, "Failed to take a job from a client, closing its session: %m");
        *submit = NULL;
        return 0;
}

static int client_cancel(uint64_t id, void *userdata) {
        BrokerClient *c = userdata;
        BrokerJob *j = client_find_job(c, id);

        if (j) {
                job_free(j);
                manager_dispatch(c->manager);
        }
        return 0;
}

static int client_refuse_local_blob(const Maelstrom__V1__LocalBlob *blob, void *userdata) {
        return log_warning_errno(SYNTHETIC_ERRNO(EPERM),
                                 "A client named a local blob, closing its session.");
}

static int on_client_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        static const ProtoClientMessageHandlers handlers = {
                .submit = client_take_submit,
                .cancel = client_cancel,
                .local_blob = client_refuse_local_blob,
                /* ttys are not forwarded yet: they run on the local worker */
        };
        _cleanup_(proto_freep) Maelstrom__V1__ClientMessage *msg = NULL;
        int r;

        r = proto_unpack_batch(&maelstrom__v1__client_message__descriptor, data, size,
                               RPC_BATCH_MAX_MESSAGES, (void **) &msg);
        if (r == -E2BIG)
                return log_warning_errno(r, "A client sent a batch of more than %u items, closing its "
                                         "session.", RPC_BATCH_MAX_MESSAGES);
        if (r < 0)
                return log_warning_errno(r, "Malformed message from a client, closing its session: %m");
        if (proto_client_message_items(msg) == 0)
                return log_warning_errno(SYNTHETIC_ERRNO(EBADMSG),
                                         "Unknown message from a client, closing its session.");
        return proto_client_message_walk(msg, &handlers, userdata);
}

static void on_client_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        BrokerClient *c = userdata;
        log_debug("Client session closed: %s %s", rpc_status_to_string(status), strempty(message));
        client_free(c);
}

static int on_new_client(RpcServer *server, RpcCall *call, void *userdata) {
        static const RpcCallHandlers handlers = {
                .message = on_client_message,
                .closed = on_client_closed,
        };
        Manager *m = userdata;
        BrokerClient *c;

        if (m->stopping)
                return -ESHUTDOWN;
        if (m->n_clients >= MAX_CLIENTS)
                return -EUSERS;
        c = calloc(1, sizeof(BrokerClient));
        if (!c)
                return -ENOMEM;
        c->manager = m;
        c->call = call;
        c->next = m->clients;
        if (m->clients)
                m->clients->prev = c;
        m->clients = c;
        m->n_clients++;
        rpc_call_set_handlers(call, &handlers, c);
        manager_notify_status(m);
        return 0;
}

/* ---- workers ---- */

static BrokerJob *worker_find_job(BrokerWorker *w, uint64_t worker_job_id) {
        for (SchedJob *s = w->sched.running; s; s = s->wnext)
                if (JOB_FROM_SCHED(s)->worker_job_id == worker_job_id)
                        return JOB_FROM_SCHED(s);
        return NULL;
}

static BrokerWorker *worker_free(BrokerWorker *w) {
        if (!w)
                return NULL;
        Manager *m = w->manager;

        if (w->attached) {
                /* Its jobs run elsewhere: tell their clients they are pending again. */
                for (SchedJob *s = w->sched.running; s; s = s->wnext) {
                        BrokerJob *j = JOB_FROM_SCHED(s);
                        j->state = BROKER_JOB_PENDING;
                        client_send_state(j->client, j->id, MAELSTROM__V1__JOB_STATE__JOB_STATE_PENDING);
                }
                int r = sched_worker_remove(&m->scheduler, &w->sched);
                if (r < 0)
                        log_error_errno(r, "Failed to requeue the jobs of a worker: %m");
                else if (r > 0)
                        manager_log_worker(LOG_NOTICE, w->name, 0,
                                           "Worker '%s' went away; its %d jobs run elsewhere.",
                                           strna(w->name), r);
                else
                        manager_log_worker(LOG_INFO, w->name, 0, "Worker '%s' detached.", strna(w->name));
                (void) bus_service_emit_signal(m->bus, "WorkerDetached", "s", w->name);
        }
        sched_worker_done(&w->sched);
        rpc_call_free(w->call);
        if (w->prev)
                w->prev->next = w->next;
        else
                m->workers = w->next;
        if (w->next)
                w->next->prev = w->prev;
        free(w->name);
        free(w);
        manager_dispatch(m);
        manager_notify_status(m);
        return NULL;
}

void workers_free_all(Manager *m) {
        while (m->workers)
                worker_free(m->workers);
}

static int worker_hello(BrokerWorker *w, const Maelstrom__V1__WorkerHello *hello) {
        Manager *m = w->manager;
        int r;

        if (w->attached)
                return -EBADMSG;
        if (hello->slots == 0 || hello->slots > WORKER_MAX_SLOTS)
                return -EINVAL;
        w->name = strndup(strempty(hello->name), 256);
        if (!w->name)
                return -ENOMEM;
        r = sched_worker_init(&w->sched, hello->slots);
        if (r < 0)
                return r;
        sched_worker_add(&m->scheduler, &w->sched);
        w->attached = true;
        manager_log_worker(LOG_INFO, w->name, 0, "Worker '%s' attached with %u slots.", w->name,
                           hello->slots);
        (void) bus_service_emit_signal(m->bus, "WorkerAttached", "su", w->name, hello->slots);
        manager_dispatch(m);
        manager_notify_status(m);
        return 0;
}

/* WorkerSlots: the worker's slot count changed (0: it is draining).  Its running jobs go on either way. */
static int worker_set_slots(BrokerWorker *w, unsigned slots) {
        if (slots > WORKER_MAX_SLOTS)
                return -EINVAL;
        w->sched.slots = w->drained ? 0 : slots;
        manager_log_worker(LOG_INFO, w->name, 0, "Worker '%s' now has %u slots.", w->name, slots);
        manager_dispatch(w->manager);
        return 0;
}

int manager_drain_worker(Manager *m, const char *name) {
        for (BrokerWorker *w = m->workers; w; w = w->next) {
                if (!w->attached || !streq(w->name, name))
                        continue;
                w->drained = true;
                w->sched.slots = 0;
                manager_log_worker(LOG_NOTICE, w->name, 0, "Draining worker '%s': it gets no new jobs.",
                                   w->name);
                manager_notify_status(m);
                return 0;
        }
        return -ENOENT;
}

static void worker_job_state(BrokerWorker *w, const Maelstrom__V1__JobStateChange *state) {
        BrokerJob *j = worker_find_job(w, state->job_id);

        if (j && state->state == MAELSTROM__V1__JOB_STATE__JOB_STATE_RUNNING) {
                j->state = BROKER_JOB_RUNNING;
                client_send_state(j->client, j->id, MAELSTROM__V1__JOB_STATE__JOB_STATE_RUNNING);
        }
}

static void worker_job_result(BrokerWorker *w, Maelstrom__V1__JobResult *result) {
        Manager *m = w->manager;
        BrokerJob *j = worker_find_job(w, result->job_id);

        if (!j)
                return; /* cancelled meanwhile */
        result->job_id = j->id;
        client_send_result(j->client, result);
        m->n_completed++;
        sched_job_remove(&m->scheduler, &j->sched); /* done: nothing to cancel */
        job_free(j);
        manager_dispatch(m);
}

/* A message of the worker about its jobs: one, or a batch (see job.proto for the order). */
static int worker_job_message(BrokerWorker *w, Maelstrom__V1__ServerMessage *msg) {
        BrokerJob *j;

        switch (msg->kind_case) {
        case MAELSTROM__V1__SERVER_MESSAGE__KIND_STATE:
                worker_job_state(w, msg->state);
                break;
        case MAELSTROM__V1__SERVER_MESSAGE__KIND_RESULT:
                worker_job_result(w, msg->result);
                break;
        case MAELSTROM__V1__SERVER_MESSAGE__KIND_TTY_OUTPUT:
                j = worker_find_job(w, msg->tty_output->job_id);
                if (j) {
                        msg->tty_output->job_id = j->id;
                        client_send(j->client, msg);
                }
                break;
        case MAELSTROM__V1__SERVER_MESSAGE__KIND__NOT_SET:
        case _MAELSTROM__V1__SERVER_MESSAGE__KIND__CASE_IS_INT_SIZE:
                if (msg->n_states + msg->n_results == 0)
                        return -EBADMSG;
                break;
        }
        for (size_t i = 0; i < msg->n_states; i++)
                worker_job_state(w, msg->states[i]);
        for (size_t i = 0; i < msg->n_results; i++)
                worker_job_result(w, msg->results[i]);
        return 0;
}

/* The items of a worker's message, batches included. */
static size_t worker_message_items(const Maelstrom__V1__WorkerMessage *msg) {
        size_t n = 1;

        if (msg->kind_case == MAELSTROM__V1__WORKER_MESSAGE__KIND_JOB)
                n = proto_server_message_items(msg->job);
        for (size_t i = 0; i < msg->n_jobs; i++)
                n += proto_server_message_items(msg->jobs[i]);
        return n;
}

static int on_worker_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        BrokerWorker *w = userdata;
        _cleanup_(proto_freep) Maelstrom__V1__WorkerMessage *msg = NULL;
        int r;

        r = proto_unpack_batch(&maelstrom__v1__worker_message__descriptor, data, size,
                               RPC_BATCH_MAX_MESSAGES, (void **) &msg);
        if (r >= 0 && worker_message_items(msg) > RPC_BATCH_MAX_MESSAGES)
                r = -E2BIG;
        if (r == -E2BIG)
                return log_warning_errno(r, "Worker '%s' sent a batch of more than %u items, detaching it.",
                                         strna(w->name), RPC_BATCH_MAX_MESSAGES);
        if (r >= 0) {
                if (msg->kind_case == MAELSTROM__V1__WORKER_MESSAGE__KIND_HELLO)
                        r = worker_hello(w, msg->hello);
                else if (msg->kind_case == MAELSTROM__V1__WORKER_MESSAGE__KIND_JOB && w->attached)
                        r = worker_job_message(w, msg->job);
                else if (msg->kind_case == MAELSTROM__V1__WORKER_MESSAGE__KIND_SLOTS && w->attached)
                        r = worker_set_slots(w, msg->slots->slots);
                else if (msg->kind_case != MAELSTROM__V1__WORKER_MESSAGE__KIND__NOT_SET || msg->n_jobs == 0)
                        r = -EBADMSG;
        }
        for (size_t i = 0; r >= 0 && i < msg->n_jobs; i++)
                r = w->attached ? worker_job_message(w, msg->jobs[i]) : -EBADMSG;
        if (r < 0)
                return log_warning_errno(r, "Bad message from worker '%s', detaching it: %m",
                                         strna(w->name));
        return 0;
}

static void on_worker_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        BrokerWorker *w = userdata;
        log_debug("Worker stream closed: %s %s", rpc_status_to_string(status), strempty(message));
        worker_free(w);
}

static int on_new_worker(RpcServer *server, RpcCall *call, void *userdata) {
        static const RpcCallHandlers handlers = {
                .message = on_worker_message,
                .closed = on_worker_closed,
        };
        Manager *m = userdata;
        BrokerWorker *w;
        unsigned n = 0;

        if (m->stopping)
                return -ESHUTDOWN;
        for (w = m->workers; w; w = w->next)
                n++;
        if (n >= MAX_WORKERS)
                return -EUSERS;
        w = calloc(1, sizeof(BrokerWorker));
        if (!w)
                return -ENOMEM;
        w->manager = m;
        w->call = call;
        w->next = m->workers;
        if (m->workers)
                m->workers->prev = w;
        m->workers = w;
        rpc_call_set_handlers(call, &handlers, w);
        return 0;
}

void manager_dispatch(Manager *m) {
        SchedJob *s;
        SchedWorker *sw;

        while (!m->stopping && sched_next(&m->scheduler, &s, &sw)) {
                Maelstrom__V1__ClientMessage msg = MAELSTROM__V1__CLIENT_MESSAGE__INIT;
                BrokerJob *j = JOB_FROM_SCHED(s);
                BrokerWorker *w = WORKER_FROM_SCHED(sw);
                Maelstrom__V1__Submit submit = MAELSTROM__V1__SUBMIT__INIT;

                /* Ids increase on each worker's stream, as JobService wants. */
                j->worker_job_id = ++m->next_worker_job_id;
                submit.job_id = j->worker_job_id;
                submit.spec = j->submit->spec;
                msg.kind_case = MAELSTROM__V1__CLIENT_MESSAGE__KIND_SUBMIT;
                msg.submit = &submit;
                manager_log_worker(LOG_DEBUG, w->name, j->worker_job_id,
                                   "Job %" PRIu64 " of a client runs on worker "
                                   "'%s' as job %" PRIu64 ".", j->id, w->name, j->worker_job_id);
                /* A failure cancels the worker's stream: its "closed" requeues the job. */
                worker_send_job_message(w, &msg);
        }
        manager_notify_status(m);
}

void manager_stop_all(Manager *m) {
        m->stopping = true;
        for (BrokerWorker *w = m->workers; w; w = w->next) {
                Maelstrom__V1__BrokerMessage msg = MAELSTROM__V1__BROKER_MESSAGE__INIT;
                Maelstrom__V1__StopWorker stop = MAELSTROM__V1__STOP_WORKER__INIT;

                msg.kind_case = MAELSTROM__V1__BROKER_MESSAGE__KIND_STOP;
                msg.stop = &stop;
                send_checked(w->call, blob_call_send_message(w->call, &msg), "worker");
                (void) rpc_call_finish(w->call, RPC_STATUS_OK, /* message= */ NULL);
        }
        for (BrokerClient *c = m->clients; c; c = c->next)
                (void) rpc_call_finish(c->call, RPC_STATUS_UNAVAILABLE, "the broker is stopping");
}

int manager_fill_status(Manager *m, void *reply_ptr) {
        Maelstrom__V1__StatusReply *reply = reply_ptr;
        size_t n = 0, i = 0;

        for (BrokerWorker *w = m->workers; w; w = w->next)
                if (w->attached)
                        n++;
        reply->workers = calloc(n ?: 1,
                                sizeof(Maelstrom__V1__WorkerStatus *) + sizeof(Maelstrom__V1__WorkerStatus));
        if (!reply->workers)
                return -ENOMEM;
        Maelstrom__V1__WorkerStatus *items = (Maelstrom__V1__WorkerStatus *) (reply->workers + (n ?: 1));
        for (BrokerWorker *w = m->workers; w; w = w->next) {
                if (!w->attached)
                        continue;
                items[i] = (Maelstrom__V1__WorkerStatus) MAELSTROM__V1__WORKER_STATUS__INIT;
                items[i].name = w->name;
                items[i].slots = w->sched.slots;
                items[i].used_slots = sched_worker_busy(&w->sched);
                reply->workers[i] = &items[i];
                i++;
        }
        reply->n_workers = n;
        reply->clients = m->n_clients;
        reply->jobs_awaiting_artifacts = m->n_awaiting;
        reply->jobs_pending = sched_n_pending(&m->scheduler);
        reply->jobs_running = m->scheduler.n_running;
        reply->jobs_completed = m->n_completed;
        reply->cache_bytes = cache_get_bytes(m->cache);
        reply->cache_size_target = m->cache_size;
        reply->port = m->port;
        const BlobStats *stats = blob_service_get_stats(m->blobs);
        reply->blobs_received = stats->blobs_received;
        reply->bytes_received = stats->bytes_received;
        reply->blobs_sent = stats->blobs_sent;
        reply->bytes_sent = stats->bytes_sent;
        return 0;
}

int manager_add_job_methods(Manager *m) {
        int r;

        r = rpc_server_add_method(m->server, &method_session, on_new_client, m);
        if (r < 0)
                return r;
        r = rpc_server_add_method(m->server, &method_attach, on_new_worker, m);
        if (r < 0)
                return r;
        r = blob_service_add_job_methods(m->blobs, m->server);
        if (r < 0)
                return r;
        return blob_service_add_get_method(m->blobs, m->server);
}
