/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* JobService as the worker serves it: one Session stream per client, plus PutBlob and MissingBlobs. */
#include "basic/log.h"
#include "basic/string-util.h"
#include "digest/digest-map.h"
#include "maelstrom/v1/job.pb-c.h"
#include "proto/proto-util.h"
#include "worker-job.h"
#include "worker-manager.h"

struct Session {
        Manager *manager;
        RpcCall *call;
        DigestMap *local_blobs; /* digest → host path (char *), for a local client */
        SessionJobs jobs;
        Session *prev, *next;
};

static const RpcMethod method_session = { "/maelstrom.v1.JobService/Session", RPC_METHOD_BIDI_STREAMING };
static const RpcMethod method_put_blob = { "/maelstrom.v1.JobService/PutBlob", RPC_METHOD_CLIENT_STREAMING };
static const RpcMethod method_missing_blobs = { "/maelstrom.v1.JobService/MissingBlobs", RPC_METHOD_UNARY };

/* Local clients name at most this many blobs per session: a cap on what a peer can make us keep. */
#define SESSION_MAX_LOCAL_BLOBS 4000000U

Manager *session_manager(Session *s) {
        return s->manager;
}

SessionJobs *session_jobs(Session *s) {
        return &s->jobs;
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

/* Pack a protobuf message and queue it on the call. */
static int call_send_message(RpcCall *call, const void *message) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r;

        r = proto_pack(message, &data, &size);
        if (r < 0)
                return r;
        return rpc_call_send(call, data, size);
}

/* The one response of a unary or client-streaming call, and its OK status. */
static int call_reply(RpcCall *call, const void *message) {
        int r = call_send_message(call, message);
        if (r < 0)
                return r;
        return rpc_call_finish(call, RPC_STATUS_OK, NULL);
}

void session_send(Session *s, const void *server_message) {
        int r = call_send_message(s->call, server_message);
        if (r < 0) {
                log_warning_errno(r, "Failed to send to a client, closing its session: %m");
                (void) rpc_call_cancel(s->call);
        }
}

void session_send_state(Session *s, uint64_t job_id, int state) {
        Maelstrom__V1__JobStateChange change = MAELSTROM__V1__JOB_STATE_CHANGE__INIT;
        Maelstrom__V1__ServerMessage msg = MAELSTROM__V1__SERVER_MESSAGE__INIT;

        change.job_id = job_id;
        change.state = state;
        msg.kind_case = MAELSTROM__V1__SERVER_MESSAGE__KIND_STATE;
        msg.state = &change;
        session_send(s, &msg);
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

static int on_session_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        Session *s = userdata;
        _cleanup_(proto_freep) Maelstrom__V1__ClientMessage *msg = NULL;
        int r;

        r = proto_unpack(&maelstrom__v1__client_message__descriptor, data, size, (void **) &msg);
        if (r < 0)
                return log_warning_errno(r, "Malformed message from a client, closing its session: %m");

        switch (msg->kind_case) {
        case MAELSTROM__V1__CLIENT_MESSAGE__KIND_SUBMIT:
                if (!msg->submit->spec)
                        return log_warning_errno(SYNTHETIC_ERRNO(EBADMSG), "Submit without a job spec, closing.");
                /* The job keeps the message. */
                r = job_submit(s, msg->submit);
                if (r < 0)
                        return log_warning_errno(r, "Failed to take a job: %m");
                msg->submit = NULL;
                msg->kind_case = MAELSTROM__V1__CLIENT_MESSAGE__KIND__NOT_SET;
                return 0;
        case MAELSTROM__V1__CLIENT_MESSAGE__KIND_CANCEL:
                return job_cancel(s, msg->cancel->job_id);
        case MAELSTROM__V1__CLIENT_MESSAGE__KIND_LOCAL_BLOB:
                r = session_local_blob_add(s, msg->local_blob);
                if (r < 0)
                        return log_warning_errno(r, "Bad local blob from a client, closing its session: %m");
                return 0;
        case MAELSTROM__V1__CLIENT_MESSAGE__KIND_TTY_INPUT:
        case MAELSTROM__V1__CLIENT_MESSAGE__KIND_TTY_RESIZE:
                return job_tty(s, msg);
        case MAELSTROM__V1__CLIENT_MESSAGE__KIND__NOT_SET:
        case _MAELSTROM__V1__CLIENT_MESSAGE__KIND__CASE_IS_INT_SIZE:
                break;
        }
        return log_warning_errno(SYNTHETIC_ERRNO(EBADMSG), "Unknown message from a client, closing its session.");
}

static int on_session_end(RpcCall *call, void *userdata) {
        Session *s = userdata;
        /* The client will submit nothing more; it still waits for its results. */
        (void) s;
        return 0;
}

static void on_session_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        Session *s = userdata;
        if (status != RPC_STATUS_OK && status != RPC_STATUS_CANCELLED)
                log_debug("Client session closed: %s %s", rpc_status_to_string(status), strempty(message));
        session_free(s);
}

static int on_new_session(RpcServer *server, RpcCall *call, void *userdata) {
        Manager *m = userdata;
        static const RpcCallHandlers handlers = {
                .message = on_session_message,
                .end = on_session_end,
                .closed = on_session_closed,
        };
        Session *s;
        int r;

        if (m->local && m->had_session)
                return -EBUSY; /* a transient worker serves its one client */

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
        m->had_session = true;
        rpc_call_set_handlers(call, &handlers, s);
        return 0;
}

/* ---- MissingBlobs and PutBlob ---- */

static int on_missing_blobs_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        Manager *m = userdata;
        _cleanup_(proto_freep) Maelstrom__V1__MissingBlobsRequest *req = NULL;
        Maelstrom__V1__MissingBlobsReply reply = MAELSTROM__V1__MISSING_BLOBS_REPLY__INIT;
        _cleanup_free_ ProtobufCBinaryData *missing = NULL;
        int r;

        r = proto_unpack(&maelstrom__v1__missing_blobs_request__descriptor, data, size, (void **) &req);
        if (r < 0)
                return r;
        missing = calloc(req->n_digests ?: 1, sizeof(ProtobufCBinaryData));
        if (!missing)
                return -ENOMEM;
        for (size_t i = 0; i < req->n_digests; i++) {
                Digest d;
                r = digest_from_bytes(req->digests[i].data, req->digests[i].len, &d);
                if (r < 0)
                        return r;
                if (!cache_has_blob(m->cache, &d))
                        missing[reply.n_digests++] = req->digests[i];
        }
        reply.digests = missing;
        return call_reply(call, &reply);
}

typedef struct Upload {
        Manager *manager;
        RpcCall *call;
        CacheBlobWriter *writer;
} Upload;

static void upload_free(Upload *u) {
        cache_blob_writer_free(u->writer);
        rpc_call_free(u->call);
        free(u);
}

static int on_put_blob_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        Upload *u = userdata;
        _cleanup_(proto_freep) Maelstrom__V1__BlobChunk *chunk = NULL;
        int r;

        r = proto_unpack(&maelstrom__v1__blob_chunk__descriptor, data, size, (void **) &chunk);
        if (r < 0)
                return r;
        if (!u->writer) {
                Digest d;
                r = digest_from_bytes(chunk->digest.data, chunk->digest.len, &d);
                if (r < 0)
                        return r;
                r = cache_blob_begin(u->manager->cache, &d, chunk->size, &u->writer);
                if (r < 0)
                        return r;
        } else if (chunk->digest.len > 0)
                return -EBADMSG;
        return cache_blob_write(u->writer, chunk->data.data, chunk->data.len);
}

static int on_put_blob_end(RpcCall *call, void *userdata) {
        Upload *u = userdata;
        Maelstrom__V1__PutBlobReply reply = MAELSTROM__V1__PUT_BLOB_REPLY__INIT;
        int r;

        if (!u->writer)
                return -EBADMSG;
        r = cache_blob_finish(u->writer, /* ret= */ NULL);
        u->writer = cache_blob_writer_free(u->writer);
        if (r < 0)
                return r;
        return call_reply(call, &reply);
}

static void on_plain_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        rpc_call_free(call);
}

static void on_put_blob_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        upload_free(userdata);
}

static int on_new_missing_blobs(RpcServer *server, RpcCall *call, void *userdata) {
        static const RpcCallHandlers handlers = {
                .message = on_missing_blobs_message,
                .closed = on_plain_closed,
        };
        rpc_call_set_handlers(call, &handlers, userdata);
        return 0;
}

static int on_new_put_blob(RpcServer *server, RpcCall *call, void *userdata) {
        static const RpcCallHandlers handlers = {
                .message = on_put_blob_message,
                .end = on_put_blob_end,
                .closed = on_put_blob_closed,
        };
        Upload *u = calloc(1, sizeof(Upload));
        if (!u)
                return -ENOMEM;
        u->manager = userdata;
        u->call = call;
        rpc_call_set_handlers(call, &handlers, u);
        return 0;
}

int manager_add_methods(Manager *m) {
        int r;

        r = rpc_server_add_method(m->server, &method_session, on_new_session, m);
        if (r < 0)
                return r;
        r = rpc_server_add_method(m->server, &method_put_blob, on_new_put_blob, m);
        if (r < 0)
                return r;
        return rpc_server_add_method(m->server, &method_missing_blobs, on_new_missing_blobs, m);
}
