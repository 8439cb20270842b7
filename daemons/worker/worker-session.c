/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* JobService as the worker serves it: one Session stream per client, plus PutBlob and MissingBlobs. */
#include "basic/log.h"
#include "basic/string-util.h"
#include "blobrpc/blobrpc.h"
#include "digest/digest-map.h"
#include "maelstrom/v1/cluster.pb-c.h"
#include "maelstrom/v1/job.pb-c.h"
#include "proto/proto-util.h"
#include "worker-job.h"
#include "worker-manager.h"

struct Session {
        Manager *manager;
        RpcCall *call;
        DigestMap *local_blobs; /* digest → host path (char *), for a local client */
        SessionJobs jobs;
        bool broker; /* the broker's Attach stream, in cluster mode */
        Session *prev, *next;
};

static const RpcMethod method_session = { "/maelstrom.v1.JobService/Session", RPC_METHOD_BIDI_STREAMING };

/* Local clients name at most this many blobs per session: a cap on what a peer can make us keep. */
#define SESSION_MAX_LOCAL_BLOBS 4000000U

Manager *session_manager(Session *s) {
        return s->manager;
}

SessionJobs *session_jobs(Session *s) {
        return &s->jobs;
}

bool session_is_broker(Session *s) {
        return s->broker;
}

const char *session_local_blob(Session *s, const Digest *d) {
        return digest_map_get(s->local_blobs, d);
}

static Session *session_free(Session *s) {
        if (!s)
                return NULL;
        Manager *m = s->manager;

        jobs_drop_session(s);
        rpc_call_free(s->call);
        digest_map_free(s->local_blobs);
        if (s->prev)
                s->prev->next = s->next;
        else
                m->sessions = s->next;
        if (s->next)
                s->next->prev = s->prev;
        m->n_sessions--;
        if (s->broker) {
                m->broker_session = NULL;
                manager_broker_lost(m);
        }
        free(s);

        /* A transient local worker lives as long as its one client. */
        if (m->local && m->n_sessions == 0) {
                log_debug("The client went away, exiting.");
                (void) sd_event_exit(m->event, 0);
        }
        manager_dispatch(m);
        return NULL;
}

void sessions_free_all(Manager *m) {
        while (m->sessions)
                session_free(m->sessions);
}

static void session_send_checked(Session *s, int r) {
        if (r < 0) {
                log_warning_errno(r, "Failed to send to a client, closing its session: %m");
                (void) rpc_call_cancel(s->call);
        }
}

void session_send_message(Session *s, const void *message) {
        session_send_checked(s, blob_call_send_message(s->call, message));
}

void session_send(Session *s, const void *server_message) {
        Maelstrom__V1__WorkerMessage wrapped = MAELSTROM__V1__WORKER_MESSAGE__INIT;

        if (s->broker) {
                /* To the broker, the same messages travel inside a WorkerMessage. */
                wrapped.kind_case = MAELSTROM__V1__WORKER_MESSAGE__KIND_JOB;
                wrapped.job = (Maelstrom__V1__ServerMessage *) server_message;
                server_message = &wrapped;
        }
        session_send_message(s, server_message);
}

/* A ServerMessage that is a batch of one item (see job.proto): to the broker in a WorkerMessage's jobs. */
static void session_send_item(Session *s, const Maelstrom__V1__ServerMessage *item, usec_t hold,
                              bool paced) {
        Maelstrom__V1__WorkerMessage wrapped = MAELSTROM__V1__WORKER_MESSAGE__INIT;
        Maelstrom__V1__ServerMessage *items[] = { (Maelstrom__V1__ServerMessage *) item };
        const void *message = item;

        if (s->broker) {
                wrapped.n_jobs = 1;
                wrapped.jobs = items;
                message = &wrapped;
        }
        session_send_checked(s, paced ? blob_call_send_paced(s->call, message, hold)
                                      : blob_call_send_batched(s->call, message, hold));
}

void session_send_result(Session *s, void *result) {
        Maelstrom__V1__ServerMessage msg = MAELSTROM__V1__SERVER_MESSAGE__INIT;
        Maelstrom__V1__JobResult *results[] = { result };

        msg.n_results = 1;
        msg.results = results;
        /* Paced to the broker too: it fills the slot again on a result, but the worker runs the jobs it has
         * prepared ahead meanwhile (the broker gives it as many again as it has slots). */
        session_send_item(s, &msg, s->broker ? JOB_RESULT_PACE_BROKER_USEC : JOB_RESULT_PACE_USEC,
                          /* paced= */ true);
}

void session_send_state(Session *s, uint64_t job_id, int state) {
        Maelstrom__V1__JobStateChange change = MAELSTROM__V1__JOB_STATE_CHANGE__INIT;
        Maelstrom__V1__JobStateChange *changes[] = { &change };
        Maelstrom__V1__ServerMessage msg = MAELSTROM__V1__SERVER_MESSAGE__INIT;

        change.job_id = job_id;
        change.state = state;
        msg.n_states = 1;
        msg.states = changes;
        session_send_item(s, &msg, JOB_STATE_HOLD_USEC, /* paced= */ false);
}

static int session_local_blob_add(Session *s, const Maelstrom__V1__LocalBlob *b) {
        Digest d;
        int r;

        if (!s->manager->local)
                return -EPERM; /* only a client on this machine may point us at its files */
        r = digest_from_bytes(b->digest.data, b->digest.len, &d);
        if (r < 0)
                return r;
        if (isempty(b->path) || b->path[0] != '/')
                return -EINVAL;
        if (digest_map_size(s->local_blobs) >= SESSION_MAX_LOCAL_BLOBS)
                return -E2BIG;
        char *p = strdup(b->path);
        if (!p)
                return -ENOMEM;
        r = digest_map_put(s->local_blobs, &d, p);
        if (r < 0)
                free(p);
        return r < 0 ? r : 0;
}

/* Takes *submit (sets it to NULL) unless it fails. */
static int session_take_submit(Maelstrom__V1__Submit **submit, void *userdata) {
        Session *s = userdata;
        int r;

        if (!(*submit)->spec)
                return log_warning_errno(SYNTHETIC_ERRNO(EBADMSG), "Submit without a job spec, closing.");
        /* The job keeps the message. */
        r = job_submit(s, *submit);
        if (r < 0)
                return log_warning_errno(r, "Failed to take a job: %m");
        *submit = NULL;
        return 0;
}

static int session_take_local_blob(const Maelstrom__V1__LocalBlob *b, void *userdata) {
        int r = session_local_blob_add(userdata, b);
        if (r < 0)
                return log_warning_errno(r, "Bad local blob from a client, closing its session: %m");
        return 0;
}

static int session_cancel(uint64_t job_id, void *userdata) {
        return job_cancel(userdata, job_id);
}

static int session_tty(const Maelstrom__V1__ClientMessage *msg, void *userdata) {
        return job_tty(userdata, msg);
}

/* Takes what it keeps of msg (submitted jobs): one message or a batch, in the order job.proto gives. */
static int session_handle(Session *s, Maelstrom__V1__ClientMessage *msg) {
        static const ProtoClientMessageHandlers handlers = {
                .submit = session_take_submit,
                .cancel = session_cancel,
                .local_blob = session_take_local_blob,
                .tty = session_tty,
        };

        if (proto_client_message_items(msg) == 0)
                return log_warning_errno(SYNTHETIC_ERRNO(EBADMSG),
                                         "Unknown message from a client, closing its session.");
        return proto_client_message_walk(msg, &handlers, s);
}

static int on_session_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        _cleanup_(proto_freep) Maelstrom__V1__ClientMessage *msg = NULL;
        int r;

        r = proto_unpack_batch(&maelstrom__v1__client_message__descriptor, data, size,
                               RPC_BATCH_MAX_MESSAGES, (void **) &msg);
        if (r == -E2BIG)
                return log_warning_errno(r, "A client sent a batch of more than %u items, closing its "
                                         "session.", RPC_BATCH_MAX_MESSAGES);
        if (r < 0)
                return log_warning_errno(r, "Malformed message from a client, closing its session: %m");
        return session_handle(userdata, msg);
}

/* The broker's jobs: never a local blob, and at most RPC_BATCH_MAX_MESSAGES items in all. */
static int broker_jobs_check(const Maelstrom__V1__BrokerMessage *msg) {
        bool single = msg->kind_case == MAELSTROM__V1__BROKER_MESSAGE__KIND_JOB;
        size_t n = msg->kind_case == MAELSTROM__V1__BROKER_MESSAGE__KIND_STOP;

        for (size_t i = 0; i < msg->n_jobs + single; i++) {
                const Maelstrom__V1__ClientMessage *job = i < msg->n_jobs ? msg->jobs[i] : msg->job;

                if (job->kind_case == MAELSTROM__V1__CLIENT_MESSAGE__KIND_LOCAL_BLOB ||
                    job->n_local_blobs > 0)
                        return log_warning_errno(SYNTHETIC_ERRNO(EBADMSG),
                                                 "The broker sent a local blob, reconnecting.");
                n += proto_client_message_items(job);
        }
        if (n > RPC_BATCH_MAX_MESSAGES)
                return log_warning_errno(SYNTHETIC_ERRNO(E2BIG),
                                         "The broker sent a batch of more than %u items, reconnecting.",
                                         RPC_BATCH_MAX_MESSAGES);
        return 0;
}

static int on_broker_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        Session *s = userdata;
        _cleanup_(proto_freep) Maelstrom__V1__BrokerMessage *msg = NULL;
        int r;

        r = proto_unpack_batch(&maelstrom__v1__broker_message__descriptor, data, size,
                               RPC_BATCH_MAX_MESSAGES, (void **) &msg);
        if (r == -E2BIG)
                return log_warning_errno(r, "The broker sent a batch of more than %u items, reconnecting.",
                                         RPC_BATCH_MAX_MESSAGES);
        if (r < 0)
                return log_warning_errno(r, "Malformed message from the broker, reconnecting: %m");
        r = broker_jobs_check(msg);
        if (r < 0)
                return r;
        s->manager->backoff = 0; /* the broker is there */
        switch (msg->kind_case) {
        case MAELSTROM__V1__BROKER_MESSAGE__KIND_JOB:
                r = session_handle(s, msg->job);
                if (r < 0)
                        return r;
                break;
        case MAELSTROM__V1__BROKER_MESSAGE__KIND_STOP:
                log_info("The broker asked us to stop.");
                s->manager->stopping = true;
                (void) sd_event_exit(s->manager->event, 0);
                return 0;
        case MAELSTROM__V1__BROKER_MESSAGE__KIND__NOT_SET:
        case _MAELSTROM__V1__BROKER_MESSAGE__KIND__CASE_IS_INT_SIZE:
                if (msg->n_jobs == 0)
                        return log_warning_errno(SYNTHETIC_ERRNO(EBADMSG),
                                                 "Unknown message from the broker, reconnecting.");
                break;
        }
        for (size_t i = 0; i < msg->n_jobs; i++) {
                r = session_handle(s, msg->jobs[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int on_session_end(RpcCall *call, void *userdata) {
        Session *s = userdata;
        /* The client will submit nothing more; it still waits for its results. */
        (void) s;
        return 0;
}

static void on_session_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        Session *s = userdata;
        if (s->broker && !s->manager->stopping)
                log_notice("Lost the broker: %s %s", rpc_status_to_string(status), strempty(message));
        else if (status != RPC_STATUS_OK && status != RPC_STATUS_CANCELLED)
                log_debug("Client session closed: %s %s", rpc_status_to_string(status), strempty(message));
        session_free(s);
}

static int session_new(Manager *m, RpcCall *call, bool broker, Session **ret) {
        static const RpcCallHandlers handlers = {
                .message = on_session_message,
                .end = on_session_end,
                .closed = on_session_closed,
        }, broker_handlers = {
                .message = on_broker_message,
                .closed = on_session_closed,
        };
        Session *s;
        int r;

        s = calloc(1, sizeof(Session));
        if (!s)
                return -ENOMEM;
        r = digest_map_new(free, &s->local_blobs);
        if (r < 0) {
                free(s);
                return r;
        }
        s->manager = m;
        s->call = call;
        s->next = m->sessions;
        if (m->sessions)
                m->sessions->prev = s;
        m->sessions = s;
        m->n_sessions++;
        s->broker = broker;
        rpc_call_set_handlers(call, broker ? &broker_handlers : &handlers, s);
        if (ret)
                *ret = s;
        return 0;
}

static int on_new_session(RpcServer *server, RpcCall *call, void *userdata) {
        Manager *m = userdata;
        int r;

        if (m->local && m->had_session)
                return -EBUSY; /* a transient worker serves its one client */
        if (m->draining)
                return -ESHUTDOWN;
        r = session_new(m, call, /* broker= */ false, /* ret= */ NULL);
        if (r < 0)
                return r;
        m->had_session = true;
        return 0;
}

int session_new_broker(Manager *m, RpcCall *call, Session **ret) {
        return session_new(m, call, /* broker= */ true, ret);
}

int manager_add_methods(Manager *m) {
        int r;

        r = rpc_server_add_method(m->server, &method_session, on_new_session, m);
        if (r < 0)
                return r;
        return blob_service_add_job_methods(m->blobs, m->server);
}
